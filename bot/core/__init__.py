"""The pure core: agents, conversations, prompts, and the policy's budgets and quota.

Nothing in this package imports Slack, Redis, OpenAI or boto3 (a test enforces it). Outside systems
reach the core through the Protocols in :mod:`bot.core.ports`.
"""
