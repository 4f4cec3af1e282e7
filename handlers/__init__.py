"""Thin process entry points: the Lambda handler and the local server. The app lives in bot/."""
