"""Redis-only behaviour of the conversation store, against the real server.

What the contract suite cannot see: every key expires, keys of one conversation share one cluster
slot, retries after a lost reply are safe, and, above all, correctness under real parallelism:
several threads *and* several processes (like concurrent Lambda instances) on one conversation.
"""

from __future__ import annotations

import multiprocessing
import random
import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from multiprocessing.pool import Pool
from typing import Any

import pytest
import redis
from redis.backoff import NoBackoff
from redis.crc import key_slot
from redis.retry import Retry

from bot.adapters.redis.store import RedisConversationStore
from bot.core.conversation import ConversationMeta, HandoffRecord, Role, ShownAnswer, Turn
from bot.core.ports import AppendOutcome, FixedClock, HandedOff, HandoffStatus, SystemClock
from bot.errors import StoreUnavailableError

CONV = "T1:C1:1700000000.000100"
PROCESSES = 4
THREADS = 4
HANDOFF = HandoffRecord(from_agent="director", to_agent="f", label="Build it")


def _store(url: str, prefix: str, *, max_turns: int = 10_000) -> RedisConversationStore:
    return RedisConversationStore.from_url(
        url, prefix=prefix, ttl_s=600, max_turns=max_turns, clock=SystemClock()
    )


def _local(client: redis.Redis, prefix: str, *, ttl_s: int, max_turns: int) -> RedisConversationStore:
    return RedisConversationStore(client, prefix=prefix, ttl_s=ttl_s, max_turns=max_turns, clock=FixedClock())


def _meta(conv_id: str = CONV) -> ConversationMeta:
    return ConversationMeta(id=conv_id, agent="director", created_at=1.0, updated_at=1.0)


def _turn(turn_id: str, ts: str, role: Role = Role.USER) -> Turn:
    return Turn(id=turn_id, role=role, text=f"text of {turn_id}", ts=ts, agent="director")


def _ts(i: int) -> str:
    return f"1700000{i // 1000:03d}.{i % 1000:06d}"


def _sleep_until(wall: float) -> None:
    time.sleep(max(0.0, wall - time.time()))


# --------------------------------------------------- workers (module level: picklable for spawn)


def _warm_up() -> int:
    """Import everything in the worker before a timed test starts."""
    return 1


def _append_worker(url: str, prefix: str, turns: list[tuple[str, str]], start_at: float) -> list[str]:
    """Append turns to CONV from one 'instance'; return the ids this worker stored."""
    store = _store(url, prefix)
    _sleep_until(start_at)
    return [tid for tid, ts in turns if store.append_turn(CONV, _turn(tid, ts)) is AppendOutcome.STORED]


def _claim_worker(url: str, prefix: str, deliveries: list[str], start_at: float) -> list[str]:
    """Claim every delivery id from one 'instance'; return the ones won."""
    store = _store(url, prefix)
    _sleep_until(start_at)
    return [d for d in deliveries if store.claim(d, ttl_s=60)]


def _locked_increment_worker(url: str, prefix: str, counter: str, times: int, start_at: float) -> None:
    """Read-modify-write a counter inside the conversation lock (lost updates without exclusion)."""
    store = _store(url, prefix)
    client = redis.Redis.from_url(url)
    _sleep_until(start_at)
    for _ in range(times):
        with store.locked(CONV, ttl_s=10, wait_s=30):
            value = int(client.get(counter) or 0)
            time.sleep(0.001)
            client.set(counter, value + 1, ex=600)
    client.close()


@pytest.fixture(scope="module")
def pool() -> Iterator[Pool]:
    """Worker processes started with spawn (fresh interpreters, like separate Lambda instances)."""
    with multiprocessing.get_context("spawn").Pool(PROCESSES) as workers:
        assert sum(workers.starmap(_warm_up, [()] * PROCESSES)) == PROCESSES
        yield workers


# ----------------------------------------------------------------------------------------- TTLs


def _assert_every_key_expires(client: redis.Redis, prefix: str, step: str) -> int:
    keys = list(client.scan_iter(match=f"{prefix}:*", count=500))
    assert keys, step
    for key in keys:
        assert client.pttl(key) > 0, f"{key!r} has no TTL after {step}"
    return len(keys)


def test_every_key_has_a_ttl_after_each_operation(redis_client: redis.Redis, redis_prefix: str) -> None:
    """Nothing the bot writes stays in Redis forever: abandoned threads cost no memory for long."""
    store = _local(redis_client, redis_prefix, ttl_s=600, max_turns=3)
    check = _assert_every_key_expires
    store.create(_meta())
    check(redis_client, redis_prefix, "create")
    store.append_turn(CONV, _turn("u1", "1.0"))
    check(redis_client, redis_prefix, "append user")
    store.append_turn(CONV, _turn("a1", "2.0", Role.ASSISTANT))
    check(redis_client, redis_prefix, "append answer")
    store.hand_off(
        CONV, expected_answer_id="a1", record=HANDOFF, prompt=_turn("handoff-a1", "3.0"), model=None
    )
    check(redis_client, redis_prefix, "hand_off")
    for i in range(3, 8):
        store.append_turn(CONV, _turn(f"u{i}", f"{i}.0"))
    check(redis_client, redis_prefix, "cap")
    with store.locked(CONV, ttl_s=30, wait_s=0):
        assert check(redis_client, redis_prefix, "lock") == 6  # meta turns bodies ids handoffs lock
    store.claim("Ev1", ttl_s=30)
    check(redis_client, redis_prefix, "claim")
    store.complete("Ev1")
    store.claim("Ev2", ttl_s=30)
    store.release("Ev2")
    assert check(redis_client, redis_prefix, "complete/release") == 6  # 5 conversation keys + Ev1


def test_every_write_refreshes_the_ttl_of_all_conversation_keys(
    redis_client: redis.Redis, redis_prefix: str
) -> None:
    """An active thread is never forgotten part-way: all its pieces live as long as its last write."""
    store = _local(redis_client, redis_prefix, ttl_s=600, max_turns=50)
    store.create(_meta())
    store.append_turn(CONV, _turn("a1", "1.0", Role.ASSISTANT))
    store.hand_off(
        CONV, expected_answer_id="a1", record=HANDOFF, prompt=_turn("handoff-a1", "3.0"), model=None
    )
    keys = store.conversation_keys(CONV)[:5]  # parked and lock have lives of their own
    for key in keys:
        redis_client.pexpire(key, 5_000)
    store.append_turn(CONV, _turn("u2", "2.0"))
    for key in keys:
        assert 590_000 < redis_client.pttl(key) <= 600_000, key
    completed = store.delivery_key("Ev1")
    store.claim("Ev1", ttl_s=5)
    assert redis_client.pttl(completed) <= 5_000
    store.complete("Ev1")
    assert redis_client.pttl(completed) > 590_000


def test_conversation_keys_share_one_cluster_slot(redis_client: redis.Redis, redis_prefix: str) -> None:
    """On a Redis Cluster / ElastiCache Serverless every script touches one slot (or it would fail)."""
    store = _local(redis_client, redis_prefix, ttl_s=60, max_turns=50)
    for conv_id in [CONV, "a{b}c", "}x{", "{}", "%7B", "-:C1:1.2"]:
        keys = [*store.conversation_keys(conv_id), store.conversation_keys(conv_id).lock]
        assert len({key_slot(k.encode()) for k in keys}) == 1, conv_id
    assert store.conversation_keys("a{b}") != store.conversation_keys("a%7Bb%7D")
    with pytest.raises(ValueError, match="braces"):
        RedisConversationStore(redis_client, prefix="ab{x}", ttl_s=60, max_turns=50, clock=FixedClock())


def test_ids_with_braces_are_distinct_conversations(redis_client: redis.Redis, redis_prefix: str) -> None:
    """Odd conversation ids never mix two threads' messages."""
    store = _local(redis_client, redis_prefix, ttl_s=60, max_turns=50)
    for conv_id in ["a{b}", "a%7Bb%7D"]:
        assert store.create(_meta(conv_id)) is True
        store.append_turn(conv_id, _turn(f"t-{conv_id}", "1.0"))
    for conv_id in ["a{b}", "a%7Bb%7D"]:
        conv = store.get(conv_id)
        assert conv is not None
        assert [t.id for t in conv.turns] == [f"t-{conv_id}"]


def test_slack_ts_scores_are_exact_microseconds(redis_client: redis.Redis, redis_prefix: str) -> None:
    """Messages one microsecond apart keep their order; an answer lands exactly one µs after the last."""
    store = _local(redis_client, redis_prefix, ttl_s=60, max_turns=50)
    store.create(_meta())
    store.append_turn(CONV, _turn("b", "1799999999.999999"))
    store.append_turn(CONV, _turn("a", "1799999999.999998"))
    store.append_turn(CONV, _turn("ans", "1700000000.000000", Role.ASSISTANT))
    scores = redis_client.zrange(store.conversation_keys(CONV)[1], 0, -1, withscores=True)
    assert scores == [(b"a", 1799999999999998.0), (b"b", 1799999999999999.0), (b"ans", 1800000000000000.0)]


class _LosesOneReply(redis.Connection):
    """A connection that, when armed, drops the reply of a command the server already executed."""

    armed = False

    def read_response(self, *args: object, **kwargs: object) -> object:
        response = super().read_response(*args, **kwargs)  # type: ignore[arg-type]
        if _LosesOneReply.armed:
            _LosesOneReply.armed = False
            self.disconnect()
            raise redis.ConnectionError("reply lost (test)")
        return response


def test_a_retry_after_a_lost_reply_reports_the_first_success(redis_url: str, redis_prefix: str) -> None:
    """A network blip after Redis stored a message must not make the bot think it was a duplicate,
    nor lose a claimed event or a handoff click (redis-py retries the same script call)."""
    pool = redis.ConnectionPool.from_url(
        redis_url,
        connection_class=_LosesOneReply,
        retry=Retry(NoBackoff(), 2),
        retry_on_error=[redis.ConnectionError],
    )
    client = redis.Redis(connection_pool=pool)
    store = RedisConversationStore(client, prefix=redis_prefix, ttl_s=60, max_turns=50, clock=FixedClock())
    store.get(CONV)  # scripts loaded, connection open
    handoff_prompt = _turn("handoff-a1", "3.0")
    shown = ShownAnswer(answer_id="a1", message_ts="1.5", restore="[]")
    steps: list[tuple[Any, object]] = [
        (lambda: store.create(_meta()), True),
        (lambda: store.append_turn(CONV, _turn("a1", "1.0", Role.ASSISTANT)), AppendOutcome.STORED),
        (lambda: store.show_answer(CONV, shown), ()),
        (
            lambda: store.hand_off(
                CONV, expected_answer_id="a1", record=HANDOFF, prompt=handoff_prompt, model=None
            ),
            HandedOff(HandoffStatus.DONE, shown),
        ),
        (lambda: store.claim("Ev1", ttl_s=30), True),
        (lambda: store.open(_meta(), _turn("u9", "9.0")).stored, True),
    ]
    try:
        for step, expected in steps:
            _LosesOneReply.armed = True
            assert step() == expected
            assert _LosesOneReply.armed is False  # the reply really was lost once
        with store.locked(CONV, ttl_s=30, wait_s=0):  # the lock, too, recognises its own token
            _LosesOneReply.armed = True
            with store.locked("T1:C1:other", ttl_s=30, wait_s=0):
                pass
    finally:
        _LosesOneReply.armed = False
    conv = store.get(CONV)
    assert conv is not None
    assert conv.agent == "f"
    assert [t.id for t in conv.turns] == ["a1", "handoff-a1", "u9"]
    assert len(conv.handoffs) == 1
    client.close()


# ---------------------------------------------------------------------------------- concurrency


def test_parallel_appends_from_processes_and_threads_lose_nothing(
    pool: Pool, redis_url: str, redis_prefix: str
) -> None:
    """Many Lambda instances storing messages of one thread at once: all kept, once, in Slack order."""
    total = 240
    workers = PROCESSES + THREADS
    turns = [(f"t{i:04d}", _ts(i)) for i in range(total)]
    shuffled = random.Random(7).sample(turns, total)
    shares = [shuffled[w::workers] for w in range(workers)]
    # Each worker also re-delivers a few turns that another worker stores at the same time.
    shares = [share + shares[(w + 1) % workers][:8] for w, share in enumerate(shares)]
    _store(redis_url, redis_prefix).create(_meta())
    start_at = time.time() + 0.3
    procs = pool.starmap_async(
        _append_worker, [(redis_url, redis_prefix, shares[w], start_at) for w in range(PROCESSES)]
    )
    with ThreadPoolExecutor(THREADS) as threads:
        futures = [
            threads.submit(_append_worker, redis_url, redis_prefix, shares[w], start_at)
            for w in range(PROCESSES, workers)
        ]
        stored = [tid for result in procs.get(30) for tid in result]
        stored += [tid for f in futures for tid in f.result(30)]
    assert Counter(stored) == Counter(tid for tid, _ in turns)  # each turn stored exactly once
    conv = _store(redis_url, redis_prefix).get(CONV)
    assert conv is not None
    assert [t.id for t in conv.turns] == [tid for tid, _ in turns]


def test_parallel_claims_of_one_delivery_have_exactly_one_winner(
    pool: Pool, redis_url: str, redis_prefix: str
) -> None:
    """A Slack event retried into several instances at once is processed by exactly one of them."""
    deliveries = [f"Ev{i}" for i in range(60)]
    start_at = time.time() + 0.3
    orders = [random.Random(w).sample(deliveries, len(deliveries)) for w in range(PROCESSES + THREADS)]
    procs = pool.starmap_async(
        _claim_worker, [(redis_url, redis_prefix, orders[w], start_at) for w in range(PROCESSES)]
    )
    shared = _store(redis_url, redis_prefix)  # threads share one instance, as in one Lambda container
    with ThreadPoolExecutor(THREADS) as threads:

        def claim_all(order: list[str]) -> list[str]:
            _sleep_until(start_at)
            return [d for d in order if shared.claim(d, ttl_s=60)]

        futures = [threads.submit(claim_all, orders[w]) for w in range(PROCESSES, PROCESSES + THREADS)]
        won = [d for result in procs.get(30) for d in result]
        won += [d for f in futures for d in f.result(30)]
    assert Counter(won) == Counter(deliveries)


def test_lock_gives_mutual_exclusion_across_processes_and_threads(
    pool: Pool, redis_url: str, redis_prefix: str, redis_client: redis.Redis
) -> None:
    """Only one instance answers in a thread at a time: a read-modify-write inside the lock is exact."""
    counter = f"{redis_prefix}:counter"
    times = 8
    start_at = time.time() + 0.3
    procs = pool.starmap_async(
        _locked_increment_worker, [(redis_url, redis_prefix, counter, times, start_at)] * PROCESSES
    )
    threads = [
        threading.Thread(
            target=_locked_increment_worker, args=(redis_url, redis_prefix, counter, times, start_at)
        )
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    procs.get(60)
    for thread in threads:
        thread.join(60)
    assert int(redis_client.get(counter) or 0) == times * (PROCESSES + 2)


# ---------------------------------------------------------------------------------------- outage


def test_redis_down_fails_fast_without_leaking_the_url(redis_prefix: str) -> None:
    """With Redis unreachable the user promptly gets 'storage unavailable', and logs show no password."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # closed once the block ends: connection refused
    url = f"redis://:hunter2-secret@127.0.0.1:{port}/0"
    store = RedisConversationStore.from_url(url, prefix=redis_prefix, ttl_s=60, max_turns=50)
    calls = [
        lambda: store.get(CONV),
        lambda: store.create(_meta()),
        lambda: store.append_turn(CONV, _turn("u1", "1.0")),
        lambda: store.claim("Ev1", ttl_s=5),
        lambda: store.locked(CONV, ttl_s=5, wait_s=5).__enter__(),
    ]
    for call in calls:
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError) as info:
            call()
        assert time.monotonic() - started < 20  # fails, never hangs (generous: a busy machine is slow)
        assert "hunter2" not in str(info.value)
        assert str(port) not in info.value.detail
        assert info.value.user_message


def test_hung_redis_fails_within_the_socket_timeout(redis_prefix: str) -> None:
    """A Redis that accepts but never answers cannot hang an answer past the socket timeout."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        port = server.getsockname()[1]
        store = RedisConversationStore.from_url(
            f"redis://127.0.0.1:{port}/0",
            prefix=redis_prefix,
            ttl_s=60,
            max_turns=50,
            socket_timeout_s=0.3,
            retries=1,
        )
        started = time.monotonic()
        with pytest.raises(StoreUnavailableError, match="TimeoutError"):
            store.get(CONV)
        assert time.monotonic() - started < 20  # bounded by the socket timeout, never a hang
