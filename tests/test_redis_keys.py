"""The Redis key table: ``docs/storage.md`` lists exactly the keys ``bot/adapters/redis/keys.py`` builds,
and the stores write no key the table does not list (an operator reading the table sees every key)."""

from __future__ import annotations

import re
from pathlib import Path

import redis

from bot.adapters.redis import keys
from bot.adapters.redis.ledger import RedisLedger
from bot.adapters.redis.store import RedisConversationStore
from bot.core.conversation import ConversationMeta, HandoffRecord, RecentThread, Role, ShownAnswer, Turn
from bot.core.ports import FixedClock
from bot.core.quota import Charge, Limits, QuotaRequest, Reservation

DOC = Path(__file__).resolve().parent.parent / "docs" / "storage.md"
CONV = "T1:C1:1700000000.000100"


def _documented() -> list[tuple[str, str]]:
    """(pattern, type) of every key row of storage.md's tables, in order."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if line.startswith("| `P:"):
            cells = [cell.strip() for cell in re.split(r"(?<!\\)\|", line)[1:3]]
            rows.append((cells[0].strip("`"), cells[1]))
    return rows


def _regex(pattern: str) -> re.Pattern[str]:
    """A key pattern as a regex: ``P`` the prefix, upper-case words any value, ``{...}`` a hash tag."""
    parts = re.split(r"(\{[A-Z]+\}|\b[A-Z]+\b)", pattern)
    out = ""
    for part in parts:
        if re.fullmatch(r"\{[A-Z]+\}", part):
            out += r"\{[^{}]+\}"
        elif re.fullmatch(r"[A-Z]+", part):
            out += r"[^{}]+?" if part != "P" else r"[^{}:]+"
        else:
            out += re.escape(part)
    return re.compile(out)


def test_the_storage_doc_lists_every_key_in_the_order_keys_py_builds_them() -> None:
    """The doc's key tables are keys.SCHEMA, row for row: pattern and Redis type."""
    assert _documented() == list(keys.SCHEMA)


def test_the_stores_write_only_documented_keys(redis_client: redis.Redis, redis_prefix: str) -> None:
    """After every kind of write (a thread, a handoff, a vote, a delivery, a lock, a forgotten thread,
    recent threads, budgets and usage), each key under the prefix is one the table lists, with its type."""
    clock = FixedClock()
    store = RedisConversationStore(redis_client, prefix=redis_prefix, ttl_s=60, max_turns=50, clock=clock)
    meta = ConversationMeta(id=CONV, agent="director", created_at=1.0, updated_at=1.0)
    store.create(meta)
    store.append_turn(CONV, Turn(id="u1", role=Role.USER, text="hi", ts="1700000001.000000"))
    store.append_turn("T1:C1:2.0", Turn(id="p1", role=Role.USER, text="x", ts="2.0"), park_if_missing=True)
    answer = Turn(id="a1", role=Role.ASSISTANT, text="yo", ts="1700000002.000000", agent="director")
    store.append_turn(CONV, answer)
    store.show_answer(CONV, ShownAnswer(answer_id="a1", message_ts="1.1", restore="[]"))
    outcome = store.vote(CONV, answer_id="a1", user_id="U1", value=1, comment=None, at=1.0)
    assert outcome.vote is not None
    store.tally_feedback("c1", agent="director", up=1, down=0)
    store.set_canvas(CONV, "F1", expected=None)
    record = HandoffRecord(from_agent="director", to_agent="builder", label="Go", by_user="U1", at=2.0)
    prompt = Turn(id="handoff-a1", role=Role.USER, text="go", ts="1700000003.000000")
    store.hand_off(CONV, expected_answer_id="a1", record=record, prompt=prompt, model=None)
    store.remember_thread("U1", RecentThread(conversation_id=CONV, title="hi", at=1.0), keep=5)
    store.claim("Ev1", ttl_s=30)
    held = store.locked(CONV, ttl_s=30, wait_s=1)
    held.__enter__()
    store.create(ConversationMeta(id="T1:C1:3.0", agent="director", created_at=1.0, updated_at=1.0))
    store.forget("T1:C1:3.0")
    quota = RedisLedger(redis_client, prefix=redis_prefix)
    request = QuotaRequest(id="r1", user_id="U1", estimate_tokens=5, limits=Limits(), now=clock.now())
    reservation = quota.reserve(request)
    assert isinstance(reservation, Reservation)
    charge = Charge(id="r1", user_id="U1", agent="director", channel_id="C1", input_tokens=3,
                    output_tokens=2, cost_micro_usd=7, now=clock.now(), reservation=reservation)  # fmt: skip
    assert quota.charge(charge)
    patterns = [(_regex(pattern.replace("P:", f"{redis_prefix}:", 1)), kind) for pattern, kind in keys.SCHEMA]
    written = sorted(k.decode() for k in redis_client.scan_iter(match=f"{redis_prefix}:*", count=1000))
    kinds = {"string": "string", "hash": "hash", "list": "list", "zset": "sorted set"}
    undocumented = []
    for key in written:
        kind = kinds[redis_client.type(key).decode()]
        if not any(regex.fullmatch(key) and kind == documented for regex, documented in patterns):
            undocumented.append((key, kind))
    held.__exit__(None, None, None)
    assert len(written) >= 16
    assert undocumented == []
