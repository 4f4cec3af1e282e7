"""Redis :class:`~bot.core.ports.ConversationStore`: conversation state shared by all Lambda instances.

Key schema (``P`` = the configured prefix, ``ID`` = the conversation id with ``%``, ``{`` and ``}``
percent-encoded so the braces below are always *the* Redis Cluster hash tag; every conversation
key therefore lands in one slot, which Lua scripts and MULTI need on a cluster / ElastiCache
Serverless). Full table, TTLs and writers in ``docs/storage.md``.

=============================  =========  ====================================================
``P:conv:{ID}:meta``           hash       ConversationMeta, one field per model field, each
                                          value JSON-encoded (so Lua can update single fields);
                                          ``_``-prefixed fields are retry nonces, not meta
``P:conv:{ID}:turns``          zset       member = turn id, score = Slack ts in integer µs
                                          (an assistant turn: max(own, last + 1))
``P:conv:{ID}:bodies``         hash       turn id -> Turn JSON (only for kept turns)
``P:conv:{ID}:ids``            hash       turn id -> nonce of the append that stored it; every
                                          id ever appended, also dropped ones (idempotency)
``P:conv:{ID}:handoffs``       list       HandoffRecord JSON, oldest first
``P:conv:{ID}:lock``           string     answer lock owner token, PX = lock ttl
``P:conv:{ID}:forgotten``      string     tombstone of a conversation forgotten on request,
                                          PX = conversation TTL: the id is never reopened
``P:delivery:DID``             string     claim owner token (PX = claim ttl) or ``done``
                                          (EX = conversation TTL)
=============================  =========  ====================================================

Why turn ids as zset members with bodies in a hash (not the turn JSON as member): idempotency and
lookups are O(1) by id, the zset stays small, and a member can never exist twice with two different
serializations of the same turn. Every write to a conversation refreshes the TTL of all five
conversation keys inside the same script, so they live and expire together.

Every mutation is one ``EVALSHA`` (scripts are registered with ``register_script``); ``get`` is one
read-only script. Connection errors are retried a few times by redis-py (see :meth:`from_url`); to
make those retries safe, every mutating script carries a random nonce and recognises its own earlier
success (a reply lost on the wire must not turn "stored" into "already there" or "claimed by
someone else"). All Redis failures surface as :class:`~bot.errors.StoreUnavailableError` whose
detail never contains the URL.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from typing import Any, TypeVar

import redis
from redis.commands.core import Script

from bot.adapters.memory_store import (
    FEEDBACK_TTL_S,
    LOCK_POLL_FACTOR,
    LOCK_POLL_FIRST_S,
    LOCK_POLL_MAX_S,
    OwnerTokens,
    new_token,
    ts_micros,
)
from bot.adapters.redis import calls as redis_calls
from bot.adapters.redis.client import connect
from bot.core.conversation import (
    Conversation,
    ConversationMeta,
    HandoffRecord,
    PendingApproval,
    RecentThread,
    Role,
    ShownAnswer,
    Turn,
    Vote,
    parse_conversation_id,
)
from bot.core.ports import (
    AppendOutcome,
    Clock,
    HandoffStatus,
    LockedConversation,
    Opened,
    SystemClock,
    VoteOutcome,
    VoteStatus,
)
from bot.errors import ConversationBusyError, ConversationNotFoundError, StoreUnavailableError
from bot.logging import get_logger

log = get_logger(__name__)

T = TypeVar("T")

DONE = b"done"
PARK_TTL_S = 600.0  # how long a reply that overtook its conversation's creation waits for it

# Shared Lua: KEYS are always meta turns bodies ids handoffs parked lock forgotten (one slot: the
# hash tag).
# A turn travels as 5 arguments: id json score is_assistant last_answer_json.
# append() returns 1 stored (also when this call's nonce stored it: a retried call), 0 duplicate id.
_LIB = """
local function append(nonce, updated, max_turns, id, body, score, is_answer, last_json)
  local prev = redis.call('HGET', KEYS[4], id)
  if prev then
    if prev == nonce then return 1 end
    return 0
  end
  score = tonumber(score)
  if is_answer == '1' then
    local last = redis.call('ZRANGE', KEYS[2], -1, -1, 'WITHSCORES')
    if last[2] then
      local top = tonumber(last[2])
      if top >= score then score = top + 1 end
    end
    redis.call('HSET', KEYS[1], 'last_answer_id', last_json)
  end
  redis.call('HSET', KEYS[1], 'updated_at', updated)
  redis.call('ZADD', KEYS[2], string.format('%d', score), id)
  redis.call('HSET', KEYS[3], id, body)
  redis.call('HSET', KEYS[4], id, nonce)
  local excess = redis.call('ZCARD', KEYS[2]) - tonumber(max_turns)
  if excess > 0 then
    local dropped = redis.call('ZRANGE', KEYS[2], 1, excess)
    redis.call('ZREMRANGEBYRANK', KEYS[2], 1, excess)
    for _, d in ipairs(dropped) do redis.call('HDEL', KEYS[3], d) end
    redis.call('HINCRBY', KEYS[1], 'dropped_turns', excess)
  end
  return 1
end
local function touch(ttl)
  for i = 1, 5 do redis.call('PEXPIRE', KEYS[i], ttl) end
end
local function release(token)
  if redis.call('GET', KEYS[7]) == token then redis.call('DEL', KEYS[7]) end
end
"""

# ARGV: ttl_ms nonce field1 json1 field2 json2 ...
# A leftover of an expired conversation (keys expire one by one) is wiped before creating.
_CREATE = """
if redis.call('EXISTS', KEYS[1]) == 0 and redis.call('EXISTS', KEYS[8]) == 1 then return 0 end
if redis.call('EXISTS', KEYS[1]) == 1 then
  if redis.call('HGET', KEYS[1], '_create') == ARGV[2] then return 1 end
  return 0
end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
redis.call('HSET', KEYS[1], '_create', ARGV[2], unpack(ARGV, 3))
redis.call('PEXPIRE', KEYS[1], ARGV[1])
return 1
"""

# ARGV: ttl_ms max_turns updated nonce  turn(5)  n_meta_fields field1 json1 ...  refused agent
# (refused: a JSON object whose keys are the agents the writer may not use; agent: meta's agent).
# Returns {created (1/0), agent_json, stored (1/0), 0} or {0, agent_json, 0, 1 refused | 2 forgotten}.
_OPEN = (
    _LIB
    + """
local n = tonumber(ARGV[10])
local refused = cjson.decode(ARGV[11 + 2 * n])
local owner = ARGV[12 + 2 * n]
if redis.call('EXISTS', KEYS[1]) == 1 then
  owner = cjson.decode(redis.call('HGET', KEYS[1], 'agent'))
elseif redis.call('EXISTS', KEYS[8]) == 1 then
  return {0, cjson.encode(owner), 0, 2}
end
if refused[owner] then return {0, cjson.encode(owner), 0, 1} end
local created = 0
if redis.call('EXISTS', KEYS[1]) == 0 then
  redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
  redis.call('HSET', KEYS[1], '_open', ARGV[4], unpack(ARGV, 11, 10 + 2 * tonumber(ARGV[10])))
  local parked = redis.call('HGETALL', KEYS[6])
  for i = 1, #parked, 2 do
    local p = cjson.decode(parked[i + 1])
    append(ARGV[4], ARGV[3], ARGV[2], parked[i], p[1], p[2], '0', '')
  end
  redis.call('DEL', KEYS[6])
  created = 1
elseif redis.call('HGET', KEYS[1], '_open') == ARGV[4] then
  created = 1
end
local stored = append(ARGV[4], ARGV[3], ARGV[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
touch(ARGV[1])
return {created, redis.call('HGET', KEYS[1], 'agent'), stored, 0}
"""
)

# ARGV: ttl_ms max_turns updated nonce n_meta_fields n_turns n_handoffs last_answer_json
#       field1 json1 ...  turn(5) ...  handoff_json ...
# Returns {created (1/0), agent_json}, or {0, false, 2} for a forgotten conversation (never rebuilt).
# Turns come in ts order; parked turns are adopted after them.
_ADOPT = (
    _LIB
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then
  local mine = redis.call('HGET', KEYS[1], '_adopt') == ARGV[4]
  return {mine and 1 or 0, redis.call('HGET', KEYS[1], 'agent')}
end
if redis.call('EXISTS', KEYS[8]) == 1 then return {0, false, 2} end
redis.call('DEL', KEYS[2], KEYS[3], KEYS[4], KEYS[5])
local n_meta, n_turns, n_handoffs = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local at = 9
redis.call('HSET', KEYS[1], '_adopt', ARGV[4], unpack(ARGV, at, at + 2 * n_meta - 1))
at = at + 2 * n_meta
for i = 1, n_turns do
  append(ARGV[4], ARGV[3], ARGV[2], ARGV[at], ARGV[at + 1], ARGV[at + 2], ARGV[at + 3], ARGV[at + 4])
  at = at + 5
end
local parked = redis.call('HGETALL', KEYS[6])
for i = 1, #parked, 2 do
  local p = cjson.decode(parked[i + 1])
  append(ARGV[4], ARGV[3], ARGV[2], parked[i], p[1], p[2], '0', '')
end
redis.call('DEL', KEYS[6])
redis.call('HSET', KEYS[1], 'last_answer_id', ARGV[8])
for i = 1, n_handoffs do
  redis.call('RPUSH', KEYS[5], ARGV[at])
  at = at + 1
end
touch(ARGV[1])
return {1, redis.call('HGET', KEYS[1], 'agent')}
"""
)

# ARGV: ttl_ms max_turns updated nonce  turn(5)  park park_ttl_ms refused (JSON object: agent -> true)
# Returns 1 stored, 0 duplicate id, -1 unknown (or forgotten) conversation, 2 parked, 3 refused.
_APPEND = (
    _LIB
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then
  if ARGV[10] ~= '1' or redis.call('EXISTS', KEYS[8]) == 1 then return -1 end
  redis.call('HSETNX', KEYS[6], ARGV[5], cjson.encode({ARGV[6], ARGV[7]}))
  redis.call('PEXPIRE', KEYS[6], ARGV[11])
  return 2
end
if cjson.decode(ARGV[12])[cjson.decode(redis.call('HGET', KEYS[1], 'agent'))] then return 3 end
local stored = append(ARGV[4], ARGV[3], ARGV[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
touch(ARGV[1])
return stored
"""
)

# ARGV: ttl_ms max_turns updated nonce  prompt turn(5)  expected_id expected_json from_agent
#       to_agent_json model_json record_json
# Returns 1 done, 0 stale, -1 unknown conversation, -2 the answer is not from_agent's.
_HAND_OFF = (
    _LIB
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
if redis.call('HGET', KEYS[1], 'last_answer_id') ~= ARGV[11] then
  if redis.call('HGET', KEYS[1], '_handoff') == ARGV[4] then return 1 end
  return 0
end
local answer = redis.call('HGET', KEYS[3], ARGV[10])
if not answer or cjson.decode(answer)['agent'] ~= ARGV[12] then return -2 end
redis.call('HSET', KEYS[1], 'agent', ARGV[13], 'model', ARGV[14], 'last_answer_id', 'null',
  '_handoff', ARGV[4])
redis.call('RPUSH', KEYS[5], ARGV[15])
append(ARGV[4], ARGV[3], ARGV[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
touch(ARGV[1])
return 1
"""
)

# Take the answer lock (SET NX PX, or ours already: a retried call) and read the conversation.
# ARGV: token lock_ttl_ms. Returns {0} busy, {1} locked but no conversation,
# {1, meta pairs, turn bodies in order, handoffs}.
_LOCK_GET = """
local v = redis.call('GET', KEYS[7])
if v and v ~= ARGV[1] then return {0} end
redis.call('SET', KEYS[7], ARGV[1], 'PX', ARGV[2])
local meta = redis.call('HGETALL', KEYS[1])
if #meta == 0 then return {1} end
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
local pairs_ = redis.call('HGETALL', KEYS[3])
local by_id = {}
for i = 1, #pairs_, 2 do by_id[pairs_[i]] = pairs_[i + 1] end
local bodies = {}
for _, id in ipairs(ids) do
  local body = by_id[id]
  if body then bodies[#bodies + 1] = body end
end
return {1, meta, bodies, redis.call('LRANGE', KEYS[5], 0, -1)}
"""

# Store the answer and release the lock. ARGV: ttl_ms max_turns updated nonce turn(5) token
# Returns 1 stored, 0 duplicate id, -1 unknown conversation (the lock is released in every case).
_FINISH = (
    _LIB
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then
  release(ARGV[10])
  return -1
end
local stored = append(ARGV[4], ARGV[3], ARGV[2], ARGV[5], ARGV[6], ARGV[7], ARGV[8], ARGV[9])
touch(ARGV[1])
release(ARGV[10])
return stored
"""
)

# Store a pending approval and release the lock. ARGV: ttl_ms updated_json pending_json token
# Returns 1 stored, -1 unknown conversation (the lock is released in both cases).
_PAUSE = (
    _LIB
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then
  release(ARGV[4])
  return -1
end
redis.call('HSET', KEYS[1], 'pending_approval', ARGV[3], 'updated_at', ARGV[2])
touch(ARGV[1])
release(ARGV[4])
return 1
"""
)

# Compare-and-clear the pending approval. ARGV: approval_id nonce ttl_ms updated_json
# Returns the approval's JSON when this call took it (also on a retried call), else false.
_TAKE = (
    _LIB
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local raw = redis.call('HGET', KEYS[1], 'pending_approval')
if raw and raw ~= 'null' and cjson.decode(raw)['id'] == ARGV[1] then
  redis.call('HSET', KEYS[1], 'pending_approval', 'null', '_take', ARGV[2], '_taken', raw,
    'updated_at', ARGV[4])
  touch(ARGV[3])
  return raw
end
if redis.call('HGET', KEYS[1], '_take') == ARGV[2] then return redis.call('HGET', KEYS[1], '_taken') end
return false
"""
)

# Read-only: {meta pairs, turn bodies in order, handoffs} or nil.
_GET = """
local meta = redis.call('HGETALL', KEYS[1])
if #meta == 0 then return false end
local ids = redis.call('ZRANGE', KEYS[2], 0, -1)
local pairs_ = redis.call('HGETALL', KEYS[3])
local by_id = {}
for i = 1, #pairs_, 2 do by_id[pairs_[i]] = pairs_[i + 1] end
local bodies = {}
for _, id in ipairs(ids) do
  local body = by_id[id]
  if body then bodies[#bodies + 1] = body end
end
return {meta, bodies, redis.call('LRANGE', KEYS[5], 0, -1)}
"""

# Delete the conversation (not its lock: an answer in flight finds it gone) and leave a tombstone.
# ARGV: ttl_ms. Returns 1 if there was a conversation.
_FORGET = """
local existed = redis.call('EXISTS', KEYS[1])
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3], KEYS[4], KEYS[5], KEYS[6])
redis.call('SET', KEYS[8], '1', 'PX', ARGV[1])
return existed
"""

# SET NX PX, also true if the key already holds our token (a retried call whose reply was lost).
# KEYS: key. ARGV: token ttl_ms
_ACQUIRE = """
local v = redis.call('GET', KEYS[1])
if not v then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
if v == ARGV[1] then return 1 end
return 0
"""

# Compare-and-delete: only the owner's token deletes. KEYS: key. ARGV: token
_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
"""


# ---- what Slack shows: buttons, votes, canvas (conversation keys, one slot) ----------------------

# Make an answer the shown one if it is live. ARGV: ttl_ms nonce answer_id shown_json
# Returns the JSON list of shown answers whose buttons must go (also for a retried call).
_SHOW = (
    _LIB
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return '[]' end
if redis.call('HGET', KEYS[1], '_show') == ARGV[2] then return redis.call('HGET', KEYS[1], '_show_out') end
local live = redis.call('HGET', KEYS[1], 'last_answer_id')
local out = {}
if live and live ~= 'null' and cjson.decode(live) == ARGV[3] then
  local raw = redis.call('HGET', KEYS[1], 'shown')
  if raw and raw ~= 'null' then
    for id, rec in pairs(cjson.decode(raw)) do
      if id ~= ARGV[3] then out[#out + 1] = rec end
    end
  end
  local map = {}
  map[ARGV[3]] = cjson.decode(ARGV[4])
  redis.call('HSET', KEYS[1], 'shown', cjson.encode(map))
else
  out[1] = cjson.decode(ARGV[4])
end
local encoded = '[]'
if #out > 0 then encoded = cjson.encode(out) end
redis.call('HSET', KEYS[1], '_show', ARGV[2], '_show_out', encoded)
touch(ARGV[1])
return encoded
"""
)

# Stop showing an answer. ARGV: ttl_ms nonce answer_id. Returns its JSON (also when retried), or false.
_RETIRE = (
    _LIB
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
if redis.call('HGET', KEYS[1], '_retire') == ARGV[2] then return redis.call('HGET', KEYS[1], '_retired') end
local raw = redis.call('HGET', KEYS[1], 'shown')
if not raw or raw == 'null' then return false end
local map = cjson.decode(raw)
local rec = map[ARGV[3]]
if not rec then return false end
map[ARGV[3]] = nil
local left = '{}'
if next(map) ~= nil then left = cjson.encode(map) end
local encoded = cjson.encode(rec)
redis.call('HSET', KEYS[1], 'shown', left, '_retire', ARGV[2], '_retired', encoded)
touch(ARGV[1])
return encoded
"""
)

# One person's vote on one answer (the same rules as memory_store.vote_change).
# ARGV: ttl_ms answer_id user_id value comment_json at_json
# Returns {status, vote_json, agent_json, previous value or ''}.
_VOTE = (
    _LIB
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return {'missing'} end
local body = redis.call('HGET', KEYS[3], ARGV[2])
if not body then return {'not_an_answer'} end
local turn = cjson.decode(body)
if turn['role'] ~= 'assistant' then return {'not_an_answer'} end
local agent = cjson.encode(turn['agent'])
local raw = redis.call('HGET', KEYS[1], 'votes')
local votes = {}
if raw and raw ~= 'null' then votes = cjson.decode(raw) end
local per = votes[ARGV[2]] or {}
local old = per[ARGV[3]]
local value = tonumber(ARGV[4])
local comment = cjson.decode(ARGV[5])
local has_comment = comment ~= cjson.null
local previous = ''
if old then previous = tostring(old['value']) end
if old and old['value'] == value and ((not has_comment) or old['comment'] == comment) then
  return {'unchanged', cjson.encode(old), agent, previous}
end
local vote = {}
vote['value'] = value
vote['comment'] = cjson.null
if value < 0 then
  if has_comment then
    vote['comment'] = comment
  elseif old and old['value'] == value and old['comment'] then
    vote['comment'] = old['comment']
  end
end
vote['at'] = cjson.decode(ARGV[6])
vote['revision'] = 1
if old then vote['revision'] = old['revision'] + 1 end
local up, down = 0, 0
if value > 0 then up = 1 else down = 1 end
if old and old['value'] == 1 then up = up - 1 end
if old and old['value'] == -1 then down = down - 1 end
vote['delta_up'] = up
vote['delta_down'] = down
per[ARGV[3]] = vote
votes[ARGV[2]] = per
redis.call('HSET', KEYS[1], 'votes', cjson.encode(votes))
touch(ARGV[1])
return {'stored', cjson.encode(vote), agent, previous}
"""
)

# Compare-and-set the canvas id. ARGV: ttl_ms canvas_json expected_json. Returns the recorded JSON.
_CANVAS = (
    _LIB
    + """
if redis.call('EXISTS', KEYS[1]) == 0 then return false end
local current = redis.call('HGET', KEYS[1], 'canvas_id') or 'null'
if current == ARGV[3] then
  redis.call('HSET', KEYS[1], 'canvas_id', ARGV[2])
  touch(ARGV[1])
  return ARGV[2]
end
return current
"""
)

# Count a vote's change once. KEYS: totals, change marker (both in the {tally} slot).
# ARGV: ttl_ms marker_ttl_ms up_field down_field up down
_TALLY = """
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[2]) then
  if tonumber(ARGV[5]) ~= 0 then redis.call('HINCRBY', KEYS[1], ARGV[3], ARGV[5]) end
  if tonumber(ARGV[6]) ~= 0 then redis.call('HINCRBY', KEYS[1], ARGV[4], ARGV[6]) end
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
"""

# A person's recent threads. KEYS: order (zset), entries (hash), in the person's slot.
# ARGV: ttl_ms score conversation_id entry_json keep
_REMEMBER = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[3])
local first = redis.call('HGET', KEYS[2], ARGV[3])
if first then
  local entry = cjson.decode(first)
  local now = cjson.decode(ARGV[4])
  entry['at'] = now['at']
  if now['agent'] ~= cjson.null then entry['agent'] = now['agent'] end
  redis.call('HSET', KEYS[2], ARGV[3], cjson.encode(entry))
else
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
end
local extra = redis.call('ZCARD', KEYS[1]) - tonumber(ARGV[5])
if extra > 0 then
  local old = redis.call('ZRANGE', KEYS[1], 0, extra - 1)
  redis.call('ZREMRANGEBYRANK', KEYS[1], 0, extra - 1)
  for _, id in ipairs(old) do redis.call('HDEL', KEYS[2], id) end
end
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[2], ARGV[1])
return 1
"""

# Read-only. KEYS: order, entries. ARGV: limit. Returns the entries, newest first (nil for a gap).
_RECENT = """
local ids = redis.call('ZREVRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
if #ids == 0 then return {} end
return redis.call('HMGET', KEYS[2], unpack(ids))
"""


def _hash_tag(conversation_id: str) -> str:
    """The id as a cluster hash tag body: injective, never containing ``{`` or ``}``."""
    return conversation_id.replace("%", "%25").replace("{", "%7B").replace("}", "%7D")


def _agent_set(agents: frozenset[str]) -> str:
    """Agent names as a JSON object (name -> true): a set Lua's cjson can look names up in."""
    return json.dumps(dict.fromkeys(sorted(agents), True))


def _glob_escape(text: str) -> str:
    """``text`` as a literal inside a Redis glob pattern (SCAN MATCH)."""
    return "".join(f"\\{ch}" if ch in "*?[]\\" else ch for ch in text)


def _ms(seconds: float) -> int:
    return max(1, int(seconds * 1000))


class RedisConversationStore:
    """The :class:`~bot.core.ports.ConversationStore` contract on Redis (standalone or cluster).

    ``client`` must be created with ``decode_responses=False`` (bytes in, bytes out); use
    :meth:`from_url` for production settings (timeouts, retries, TLS).
    """

    def __init__(self, client: redis.Redis, *, prefix: str, ttl_s: int, max_turns: int, clock: Clock) -> None:
        if not prefix or "{" in prefix or "}" in prefix:
            raise ValueError("prefix must be non-empty and contain no braces (they are the hash tag)")
        if ttl_s <= 0 or max_turns < 2:
            raise ValueError("ttl_s must be > 0 and max_turns >= 2")
        self.client = client
        self.prefix = prefix
        self.ttl_s = ttl_s
        self.max_turns = max_turns
        self.clock = clock
        self._owned = OwnerTokens()
        self._create: Script = client.register_script(_CREATE)
        self._open: Script = client.register_script(_OPEN)
        self._append: Script = client.register_script(_APPEND)
        self._adopt: Script = client.register_script(_ADOPT)
        self._hand_off: Script = client.register_script(_HAND_OFF)
        self._lock_get: Script = client.register_script(_LOCK_GET)
        self._finish: Script = client.register_script(_FINISH)
        self._get: Script = client.register_script(_GET)
        self._pause: Script = client.register_script(_PAUSE)
        self._take: Script = client.register_script(_TAKE)
        self._acquire: Script = client.register_script(_ACQUIRE)
        self._release: Script = client.register_script(_RELEASE)
        self._forget: Script = client.register_script(_FORGET)
        self._show: Script = client.register_script(_SHOW)
        self._retire: Script = client.register_script(_RETIRE)
        self._vote: Script = client.register_script(_VOTE)
        self._canvas: Script = client.register_script(_CANVAS)
        self._tally: Script = client.register_script(_TALLY)
        self._remember: Script = client.register_script(_REMEMBER)
        self._recent: Script = client.register_script(_RECENT)

    @classmethod
    def from_url(
        cls,
        url: str,
        *,
        prefix: str,
        ttl_s: int,
        max_turns: int,
        clock: Clock | None = None,
        connect_timeout_s: float = 2.0,
        socket_timeout_s: float = 5.0,
        retries: int = 2,
        health_check_interval_s: int = 30,
        max_connections: int | None = 50,
    ) -> RedisConversationStore:
        """A store on its own client from :func:`bot.adapters.redis.client.connect` (tools, tests)."""
        client = connect(
            url,
            connect_timeout_s=connect_timeout_s,
            socket_timeout_s=socket_timeout_s,
            retries=retries,
            health_check_interval_s=health_check_interval_s,
            max_connections=max_connections,
        )
        return cls(client, prefix=prefix, ttl_s=ttl_s, max_turns=max_turns, clock=clock or SystemClock())

    # ------------------------------------------------------------------------------------- keys

    def conversation_keys(self, conversation_id: str) -> list[str]:
        """meta, turns, bodies, ids, handoffs, parked, lock, forgotten: one conversation's keys (one slot).

        The first five live and expire together; ``parked`` holds replies that overtook the
        conversation's creation (minutes); ``lock`` is the answer lock; ``forgotten`` the tombstone
        of a conversation deleted on request.
        """
        base = f"{self.prefix}:conv:{{{_hash_tag(conversation_id)}}}"
        names = ("meta", "turns", "bodies", "ids", "handoffs", "parked", "lock", "forgotten")
        return [f"{base}:{name}" for name in names]

    def lock_key(self, conversation_id: str) -> str:
        """The answer lock of one conversation (same slot as its other keys)."""
        return f"{self.prefix}:conv:{{{_hash_tag(conversation_id)}}}:lock"

    def delivery_key(self, delivery_id: str) -> str:
        """The idempotency claim of one delivery."""
        return f"{self.prefix}:delivery:{delivery_id}"

    # ------------------------------------------------------------------------------------ calls

    def _call(self, op: str, fn: Callable[[], T]) -> T:
        return redis_calls.call(op, fn)

    def _run(self, op: str, script: Script, keys: Sequence[str], args: Sequence[str | int]) -> Any:
        return redis_calls.run_script(op, script, keys, args)

    # ------------------------------------------------------------------------------ conversation

    def create(self, meta: ConversationMeta) -> bool:
        """Store a new conversation; False (and nothing changes) if the id exists."""
        fields: list[str] = []
        for name, value in meta.model_dump(mode="json").items():
            fields += [name, json.dumps(value)]
        args: list[str | int] = [_ms(self.ttl_s), new_token(), *fields]
        return bool(self._run("create", self._create, self.conversation_keys(meta.id), args))

    def open(
        self, meta: ConversationMeta, turn: Turn, *, refuse_agents: frozenset[str] = frozenset()
    ) -> Opened:
        """Create if absent (adopting parked turns) and store ``turn``: one round trip."""
        fields: list[str] = []
        for name, value in meta.model_dump(mode="json").items():
            fields += [name, json.dumps(value)]
        args = [*self._head(), *self._turn_args(turn), len(fields) // 2, *fields, _agent_set(refuse_agents)]
        args.append(meta.agent)
        created, agent, stored, status = self._run("open", self._open, self.conversation_keys(meta.id), args)
        return Opened(
            created=bool(created),
            agent=json.loads(agent),
            stored=bool(stored),
            refused=status == 1,
            forgotten=status == 2,
        )

    def adopt(
        self, meta: ConversationMeta, turns: Sequence[Turn], handoffs: Sequence[HandoffRecord]
    ) -> Opened:
        """Create the conversation with its history if absent (adopting parked turns): one round trip."""
        fields: list[str] = []
        for name, value in meta.model_dump(mode="json").items():
            if name != "last_answer_id":
                fields += [name, json.dumps(value)]
        turn_args: list[str | int] = []
        for turn in sorted(turns, key=lambda t: ts_micros(t.ts)):
            turn_args += self._turn_args(turn)
        args: list[str | int] = [
            *self._head(),
            len(fields) // 2,
            len(turns),
            len(handoffs),
            json.dumps(meta.last_answer_id),
            *fields,
            *turn_args,
            *(record.model_dump_json() for record in handoffs),
        ]
        found = self._run("adopt", self._adopt, self.conversation_keys(meta.id), args)
        if len(found) > 2:  # forgotten on request: the thread is never rebuilt
            return Opened(created=False, agent=meta.agent, stored=False, forgotten=True)
        created, agent = found
        return Opened(created=bool(created), agent=json.loads(agent), stored=bool(created))

    def exists(self, conversation_id: str) -> bool:
        """Whether the conversation exists: one EXISTS on its meta key."""
        key = self.conversation_keys(conversation_id)[0]
        return bool(self._call("exists", lambda: self.client.exists(key)))

    def get(self, conversation_id: str) -> Conversation | None:
        """The whole conversation (one round trip), or None if unknown or expired."""
        found = self._run("get", self._get, self.conversation_keys(conversation_id), [])
        return _conversation(*found) if found else None

    def find(self, *, channel_id: str, thread_ts: str) -> list[str]:
        """Ids of the live conversations of a Slack thread, in any team: a SCAN over the prefix's
        conversation keys (a tool's lookup from a thread link, never on the request path)."""
        base = _glob_escape(f"{self.prefix}:conv:{{")
        pattern = f"{base}*:{_glob_escape(channel_id)}:{_glob_escape(thread_ts)}}}:meta"
        keys = self._call("find", lambda: list(self.client.scan_iter(match=pattern, count=1000)))
        found = set()
        for key in keys:
            raw = key.decode() if isinstance(key, bytes) else str(key)
            tag = raw[len(self.prefix) + len(":conv:{") : -len("}:meta")]
            conversation_id = tag.replace("%7D", "}").replace("%7B", "{").replace("%25", "%")
            address = parse_conversation_id(conversation_id)
            if address is not None and (address.channel_id, address.thread_ts) == (channel_id, thread_ts):
                found.add(conversation_id)
        return sorted(found)

    def append_turn(
        self,
        conversation_id: str,
        turn: Turn,
        *,
        park_if_missing: bool = False,
        refuse_agents: frozenset[str] = frozenset(),
    ) -> AppendOutcome:
        """Store a turn in one round trip (parked when the conversation does not exist yet)."""
        args = [
            *self._head(),
            *self._turn_args(turn),
            "1" if park_if_missing else "0",
            _ms(PARK_TTL_S),
            _agent_set(refuse_agents),
        ]
        result = self._run("append_turn", self._append, self.conversation_keys(conversation_id), args)
        outcomes = {1: AppendOutcome.STORED, 0: AppendOutcome.DUPLICATE, 2: AppendOutcome.PARKED}
        return (outcomes | {3: AppendOutcome.REFUSED}).get(result, AppendOutcome.MISSING)

    def forget(self, conversation_id: str) -> bool:
        """Delete the conversation and leave its tombstone for the conversation TTL: one round trip."""
        keys = self.conversation_keys(conversation_id)
        return bool(self._run("forget", self._forget, keys, [_ms(self.ttl_s)]))

    def is_forgotten(self, conversation_id: str) -> bool:
        """True while the tombstone lives (one EXISTS)."""
        key = self.conversation_keys(conversation_id)[7]
        return bool(self._call("is_forgotten", lambda: self.client.exists(key)))

    def hand_off(
        self,
        conversation_id: str,
        *,
        expected_answer_id: str,
        record: HandoffRecord,
        prompt: Turn,
        model: str | None,
    ) -> HandoffStatus:
        """Compare-and-set, handoff record and prompt turn in one script."""
        args = [
            *self._head(),
            *self._turn_args(prompt),
            expected_answer_id,
            json.dumps(expected_answer_id),
            record.from_agent,
            json.dumps(record.to_agent),
            json.dumps(model),
            record.model_dump_json(),
        ]
        result = self._run("hand_off", self._hand_off, self.conversation_keys(conversation_id), args)
        return {
            1: HandoffStatus.DONE,
            0: HandoffStatus.STALE,
            -2: HandoffStatus.WRONG_AGENT,
        }.get(result, HandoffStatus.MISSING)

    def _head(self) -> list[str | int]:
        """The arguments every writing script starts with: ttl, cap, updated_at, retry nonce."""
        return [_ms(self.ttl_s), self.max_turns, json.dumps(self.clock.now()), new_token()]

    @staticmethod
    def _turn_args(turn: Turn) -> list[str | int]:
        is_answer = turn.role is Role.ASSISTANT
        return [
            turn.id,
            turn.model_dump_json(),
            ts_micros(turn.ts),
            "1" if is_answer else "0",
            json.dumps(turn.id) if is_answer else "",
        ]

    # ------------------------------------------------------------------------------------- lock

    def locked(
        self, conversation_id: str, *, ttl_s: float, wait_s: float
    ) -> AbstractContextManager[LockedConversation]:
        """Take the answer lock and read the conversation in one round trip (polled while busy)."""
        return self._locked(conversation_id, ttl_s, wait_s)

    @contextmanager
    def _locked(self, conversation_id: str, ttl_s: float, wait_s: float) -> Iterator[LockedConversation]:
        keys = self.conversation_keys(conversation_id)
        token = new_token()
        deadline = time.monotonic() + wait_s  # real time: a fake clock would never let us stop waiting
        delay = LOCK_POLL_FIRST_S
        while True:
            found = self._run("lock", self._lock_get, keys, [token, _ms(ttl_s)])
            if found[0]:
                break
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ConversationBusyError(f"lock wait exceeded {wait_s:g}s")
            jittered = delay * (0.5 + random.random())  # noqa: S311 - jitter, not a secret
            time.sleep(min(remaining, jittered))
            delay = min(delay * LOCK_POLL_FACTOR, LOCK_POLL_MAX_S)
        locked = _RedisLocked(self, keys, token, _conversation(*found[1:]) if len(found) > 1 else None)
        try:
            yield locked
        finally:
            if not locked.finished:
                try:
                    self._run("unlock", self._release, [keys[6]], [token])
                except StoreUnavailableError as exc:  # it expires after ttl_s; don't mask the outcome
                    log.warning("lock_release_failed", error=exc.detail)

    def finish(self, keys: list[str], token: str, answer: Turn) -> int:
        """Store ``answer`` and release the lock held with ``token`` (one script)."""
        args = [*self._head(), *self._turn_args(answer), token]
        return int(self._run("finish", self._finish, keys, args))

    def pause(self, keys: list[str], token: str, pending: PendingApproval) -> int:
        """Store ``pending`` and release the lock held with ``token`` (one script)."""
        args: list[str | int] = [
            _ms(self.ttl_s),
            json.dumps(self.clock.now()),
            pending.model_dump_json(),
            token,
        ]
        return int(self._run("pause", self._pause, keys, args))

    def take_approval(self, keys: list[str], approval_id: str) -> PendingApproval | None:
        """Compare-and-clear the pending approval (one script, safe to retry)."""
        args: list[str | int] = [approval_id, new_token(), _ms(self.ttl_s), json.dumps(self.clock.now())]
        raw = self._run("take_approval", self._take, keys, args)
        return PendingApproval.model_validate_json(raw) if raw else None

    # ------------------------------------------------------------------------------- deliveries

    def claim(self, delivery_id: str, *, ttl_s: float) -> bool:
        """SET NX PX with an owner token; True exactly once until it expires or is released."""
        token = new_token()
        won = bool(self._run("claim", self._acquire, [self.delivery_key(delivery_id)], [token, _ms(ttl_s)]))
        if won:
            self._owned.remember(delivery_id, token)
        return won

    def complete(self, delivery_id: str) -> None:
        """Mark done for the conversation TTL, whoever holds the claim now (the work is done)."""
        self._owned.take(delivery_id)
        key = self.delivery_key(delivery_id)
        self._call("complete", lambda: self.client.set(key, DONE, ex=self.ttl_s))

    def release(self, delivery_id: str) -> None:
        """Delete the claim only if it still holds *our* token (compare-and-delete).

        After our claim expired and a retry re-claimed the delivery, deleting would let a third
        attempt in; after :meth:`complete` it would undo "done". Neither happens.
        """
        token = self._owned.take(delivery_id)
        if token is not None:
            self._run("release", self._release, [self.delivery_key(delivery_id)], [token])

    # --------------------------------------------------- what Slack shows: buttons, votes, canvas

    def show_answer(self, conversation_id: str, shown: ShownAnswer) -> tuple[ShownAnswer, ...]:
        """Make ``shown`` the shown answer if it is live (one script, safe to retry); the stale ones."""
        args: list[str | int] = [_ms(self.ttl_s), new_token(), shown.answer_id, shown.model_dump_json()]
        raw = self._run("show_answer", self._show, self.conversation_keys(conversation_id), args)
        return tuple(ShownAnswer.model_validate(item) for item in json.loads(raw))

    def retire_answer(self, conversation_id: str, answer_id: str) -> ShownAnswer | None:
        """Forget that ``answer_id`` is shown (one script, safe to retry); it, if it was."""
        args: list[str | int] = [_ms(self.ttl_s), new_token(), answer_id]
        raw = self._run("retire_answer", self._retire, self.conversation_keys(conversation_id), args)
        return ShownAnswer.model_validate_json(raw) if raw else None

    def vote(
        self,
        conversation_id: str,
        *,
        answer_id: str,
        user_id: str,
        value: int,
        comment: str | None,
        at: float,
    ) -> VoteOutcome:
        """Set one person's vote on one answer (one script)."""
        args: list[str | int] = [
            _ms(self.ttl_s),
            answer_id,
            user_id,
            1 if value > 0 else -1,
            json.dumps(comment),
            json.dumps(at),
        ]
        found = self._run("vote", self._vote, self.conversation_keys(conversation_id), args)
        status = VoteStatus(found[0].decode() if isinstance(found[0], bytes) else found[0])
        if len(found) == 1:
            return VoteOutcome(status)
        previous = found[3].decode() if isinstance(found[3], bytes) else str(found[3])
        return VoteOutcome(
            status,
            Vote.model_validate_json(found[1]),
            json.loads(found[2]),
            int(previous) if previous else None,
        )

    def set_canvas(self, conversation_id: str, canvas_id: str, *, expected: str | None) -> str | None:
        """Compare-and-set the conversation's canvas id (one script); the id recorded afterwards."""
        args: list[str | int] = [_ms(self.ttl_s), json.dumps(canvas_id), json.dumps(expected)]
        raw = self._run("set_canvas", self._canvas, self.conversation_keys(conversation_id), args)
        recorded = json.loads(raw) if raw else None
        return str(recorded) if recorded is not None else None

    def _feedback_keys(self, change_id: str) -> list[str]:
        base = f"{self.prefix}:feedback:{{tally}}"
        return [base, f"{base}:change:{change_id}"]

    def tally_feedback(self, change_id: str, *, agent: str, up: int, down: int) -> None:
        """Count a vote's change once per ``change_id`` (one script)."""
        args: list[str | int] = [
            _ms(FEEDBACK_TTL_S),
            _ms(self.ttl_s),
            f"{agent}\n+",
            f"{agent}\n-",
            up,
            down,
        ]
        self._run("tally_feedback", self._tally, self._feedback_keys(change_id), args)

    def feedback_tallies(self) -> dict[str, tuple[int, int]]:
        """Thumbs up and down per agent."""
        key = self._feedback_keys("")[0]
        raw = self._call("feedback_tallies", lambda: self.client.hgetall(key))
        counts: dict[str, list[int]] = {}
        for field_name, value in raw.items():
            name = field_name.decode() if isinstance(field_name, bytes) else field_name
            agent, _, side = name.rpartition("\n")
            counts.setdefault(agent, [0, 0])[0 if side == "+" else 1] = int(value)
        return {agent: (up, down) for agent, (up, down) in counts.items()}

    def _recent_keys(self, user_id: str) -> list[str]:
        base = f"{self.prefix}:user:{{{_hash_tag(user_id)}}}"
        return [f"{base}:recent", f"{base}:threads"]

    def remember_thread(self, user_id: str, thread: RecentThread, *, keep: int) -> None:
        """Move ``thread`` to the front of the person's recent threads (one script)."""
        args: list[str | int] = [
            _ms(self.ttl_s),
            repr(float(thread.at)),
            thread.conversation_id,
            thread.model_dump_json(),
            keep,
        ]
        self._run("remember_thread", self._remember, self._recent_keys(user_id), args)

    def recent_threads(self, user_id: str, limit: int) -> tuple[RecentThread, ...]:
        """The person's recent threads, newest first (one script)."""
        found = self._run("recent_threads", self._recent, self._recent_keys(user_id), [max(1, limit)])
        return tuple(RecentThread.model_validate_json(item) for item in found if item)


class _RedisLocked:
    """A conversation read under the lock; :meth:`finish` stores the answer and releases (one script)."""

    def __init__(
        self, store: RedisConversationStore, keys: list[str], token: str, conversation: Conversation | None
    ) -> None:
        self._store = store
        self._keys = keys
        self._token = token
        self.conversation = conversation
        self.finished = False

    def finish(self, answer: Turn) -> bool:
        """Store the answer and release the lock."""
        result = self._store.finish(self._keys, self._token, answer)
        self.finished = True
        if result == -1:
            raise ConversationNotFoundError(self._keys[0])
        return result == 1

    def pause(self, pending: PendingApproval) -> None:
        """Store the pending approval and release the lock."""
        result = self._store.pause(self._keys, self._token, pending)
        self.finished = True
        if result == -1:
            raise ConversationNotFoundError(self._keys[0])

    def take_approval(self, approval_id: str) -> PendingApproval | None:
        """Remove and return the pending approval if it is ``approval_id``."""
        return self._store.take_approval(self._keys, approval_id)


def _conversation(meta_pairs: list[bytes], bodies: list[bytes], handoffs: list[bytes]) -> Conversation:
    """A conversation from the read scripts' reply (``_``-prefixed meta fields are nonces)."""
    meta_fields: dict[str, Any] = {}
    for i in range(0, len(meta_pairs), 2):
        name = meta_pairs[i].decode()
        if not name.startswith("_"):
            meta_fields[name] = json.loads(meta_pairs[i + 1])
    return Conversation(
        meta=ConversationMeta.model_validate(meta_fields),
        turns=tuple(Turn.model_validate_json(body) for body in bodies),
        handoffs=tuple(HandoffRecord.model_validate_json(item) for item in handoffs),
    )
