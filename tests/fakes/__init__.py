"""Small fake servers over real HTTP: Slack's Web API and an OpenAI-compatible API."""
