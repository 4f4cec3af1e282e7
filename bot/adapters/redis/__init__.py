"""Redis adapters: the conversation store and the usage ledger, their keys and Lua scripts.

Every Redis key is built in :mod:`bot.adapters.redis.keys`; every call goes through
:mod:`bot.adapters.redis.calls` (failures become ``StoreUnavailableError``); the client comes from
:func:`bot.adapters.redis.client.connect`.
"""
