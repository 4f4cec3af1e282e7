"""The Slack layer's use cases, one module per flow (ask, reply, mention, handoff, approval,
feedback, forget, canvas, home, assistant, usage).

A flow is built per request with the narrow collaborators it uses (the engine, the access gate,
metrics, the Slack client, the settings it needs), never the services container: the wiring in
:mod:`bot.slack.wiring` is the one place that knows the container. Listeners
(:mod:`bot.slack.listeners`) parse a request, call one flow and render what it returns; failures
are told by :mod:`bot.slack.replies`.
"""
