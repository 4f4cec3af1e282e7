"""Bolt listeners: parse a Slack payload, call one engine use case, render the outcome."""
