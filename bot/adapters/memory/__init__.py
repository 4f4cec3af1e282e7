"""In-process adapters: the conversation store and the quota store for local runs and fast tests."""
