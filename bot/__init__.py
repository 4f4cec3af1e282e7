"""architect-bot: a team's AI agents, served in Slack threads."""

__version__ = "0.1.0"
