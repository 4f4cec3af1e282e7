"""Slack-facing pieces that are not entry points: Block Kit rendering, streaming into messages."""
