"""Bolt listeners, one module per kind of request: ack at once, parse (Bolt's ``context`` and
:mod:`bot.slack.payload`), call one flow (:mod:`bot.slack.flows`), render; every lazy listener's
failures are told by :meth:`bot.slack.replies.Replies.told`. Registered by :mod:`bot.slack.wiring`."""
