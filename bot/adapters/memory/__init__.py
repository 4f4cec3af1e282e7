"""In-process adapters: the conversation store and the usage ledger for local runs and fast tests."""
