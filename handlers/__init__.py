"""Thin entry points: the Lambda handler, the Bolt app and its listeners, the local server."""
