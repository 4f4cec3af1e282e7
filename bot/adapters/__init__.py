"""Adapters: one outside system per module, each implementing a port from :mod:`bot.core.ports`."""
