"""A local Slack: a Web API emulator and a browser playground that runs the real bot against it.

- :mod:`bot.playground.workspace`: the state of one emulated workspace (people, channels,
  messages, ephemeral messages, modals, response URLs) and a change feed for live pages.
- :mod:`bot.playground.blockkit`: Block Kit validation with Slack's documented limits.
- :mod:`bot.playground.slack_api`: the Web API methods (a method table) over HTTP; the tests' fake
  Slack is this same emulator.

Nothing in the bot depends on this package: the bot is pointed at it by ``SLACK_API_URL``.
"""
