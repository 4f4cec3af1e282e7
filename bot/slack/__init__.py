"""The Slack layer: the Bolt app (``app.py``), listeners that parse a request and call one flow
(``listeners/``), the use cases (``flows/``), the one error map (``replies.py``), the typed parse
(``payload.py``), the answer writers (``writers/``) and Block Kit; ``wiring.py`` is the only module
here that sees the services container. See docs/architecture.md, "The request's path through the code".
"""
