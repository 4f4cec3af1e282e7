"""The ConversationStore contract, run against both implementations (in-memory and real Redis).

Organised by the port's parts (``bot/core/ports.py``): here :class:`Conversations` (turns, handoffs,
the answer lock, adopting, access, forgetting) and :class:`DeliveryClaims`;
``test_store_contract_approval.py`` the paused answers under the lock (``Conversations.locked``) and
``test_store_contract_records.py`` :class:`ThreadRecords`. All three use ``tests/store_harness.py``.

Each test pins a behaviour users see in a Slack thread: what the bot remembers, in which order, which
handoff button still works, that a re-delivered event is handled once, and that two replies in one
thread are answered one after the other.

``advance(s)`` moves time without sleeping: the fake clock for both stores, and for Redis (whose
expiry runs on the server's clock) the time to live of this test's keys (``age_redis_keys``).
"""

from __future__ import annotations

import threading
import time

import pytest

from bot.core.conversation import Role, Turn, Usage
from bot.core.files import Attachment
from bot.core.ports import AppendOutcome, HandoffStatus
from bot.errors import ConversationBusyError
from tests.store_harness import CONV, Harness, answer, ids, meta, prompt, record, user

# ---------------------------------------------------------------------------- Conversations: turns


def test_create_then_get_roundtrips_everything(harness: Harness) -> None:
    """A new thread's conversation is remembered exactly as created (agent, Slack ids, timestamps)."""
    store = harness.make()
    created = meta()
    assert store.create(created) is True
    conv = store.get(CONV)
    assert conv is not None
    assert conv.meta == created
    assert conv.turns == ()
    assert conv.handoffs == ()


def test_create_twice_returns_false_and_keeps_the_first(harness: Harness) -> None:
    """A re-delivered 'start' never resets a running conversation or its agent."""
    store = harness.make()
    assert store.create(meta(agent="director")) is True
    store.append_turn(CONV, user("u1", "1700000001.000000"))
    assert store.create(meta(agent="other")) is False
    conv = store.get(CONV)
    assert conv is not None
    assert conv.agent == "director"
    assert [t.id for t in conv.turns] == ["u1"]


def test_unknown_conversation_is_none_and_cannot_be_appended_to(harness: Harness) -> None:
    """A thread the bot never started reads as unknown, and a reply there stores nothing."""
    store = harness.make()
    assert store.get("T9:C9:1.0") is None
    assert store.append_turn("T9:C9:1.0", user("u1", "1.0")) is AppendOutcome.MISSING
    assert store.get("T9:C9:1.0") is None
    handed = store.hand_off(
        "T9:C9:1.0", expected_answer_id="a1", record=record(), prompt=prompt(), model=None
    )
    assert handed.status is HandoffStatus.MISSING


def test_turns_roundtrip_every_field(harness: Harness) -> None:
    """An answer is remembered exactly: its text, status, usage and the messages it covered."""
    store = harness.make()
    store.create(meta())
    asked = user("u1", "1700000001.000100", '¿Qué tal? 🚀 "quoted"\nnew line')
    answered = Turn(
        id="a1",
        role=Role.ASSISTANT,
        text="Part one…",
        ts="1700000002.000200",
        agent="director",
        status="cut",
        usage=Usage(
            model="gpt-4.1", input_tokens=1200, output_tokens=345, latency_ms=2100, first_token_ms=420
        ),
        created_at=1_700_000_002.123456,
        answered=("u1",),
    )
    store.append_turn(CONV, asked)
    store.append_turn(CONV, answered)
    conv = store.get(CONV)
    assert conv is not None
    assert conv.turns == (asked, answered)


def test_append_is_idempotent_by_turn_id(harness: Harness) -> None:
    """Slack re-delivering a message does not store (or answer) it twice."""
    store = harness.make()
    store.create(meta())
    assert store.append_turn(CONV, user("u1", "1700000001.000000", "first")) is AppendOutcome.STORED
    assert store.append_turn(CONV, user("u1", "1700000001.000000", "changed")) is AppendOutcome.DUPLICATE
    conv = store.get(CONV)
    assert conv is not None
    assert [(t.id, t.text) for t in conv.turns] == [("u1", "first")]


def test_turns_follow_slack_order_when_appended_out_of_order(harness: Harness) -> None:
    """Messages that arrive late (Lambda retries, parallel instances) still read in thread order."""
    store = harness.make()
    store.create(meta())
    stamps = ["1700000005.000001", "1700000001.000000", "1700000003.999999", "1700000005.000000"]
    for i, ts in enumerate(stamps):
        store.append_turn(CONV, user(f"u{i}", ts))
    assert ids(store) == ["u1", "u2", "u3", "u0"]


def test_assistant_turn_goes_last_and_becomes_the_live_answer(harness: Harness) -> None:
    """An answer shows after every message it answered; its buttons are the live ones."""
    store = harness.make()
    store.create(meta())
    store.append_turn(CONV, user("u1", "1700000010.000000"))
    store.append_turn(CONV, user("u2", "1700000020.000000"))
    harness.clock.advance(5)
    assert store.append_turn(CONV, answer("a1", "1700000015.000000")) is AppendOutcome.STORED
    conv = store.get(CONV)
    assert conv is not None
    assert [t.id for t in conv.turns] == ["u1", "u2", "a1"]
    assert conv.meta.last_answer_id == "a1"
    assert conv.meta.updated_at == harness.clock.now()
    # A later reply follows the answer; a late-delivered older message keeps its Slack place.
    store.append_turn(CONV, user("u3", "1700000030.000000"))
    store.append_turn(CONV, user("u0", "1700000012.000000"))
    assert ids(store) == ["u1", "u0", "u2", "a1", "u3"]
    store.append_turn(CONV, answer("a2", "1700000001.000000"))
    conv = store.get(CONV)
    assert conv is not None
    assert [t.id for t in conv.turns][-1] == "a2"
    assert conv.meta.last_answer_id == "a2"


def test_cap_keeps_the_first_turn_and_the_latest_and_counts_dropped(harness: Harness) -> None:
    """A very long thread keeps its opening message and the recent ones; older ones are counted."""
    store = harness.make(max_turns=5)
    store.create(meta())
    for i in range(12):
        store.append_turn(CONV, user(f"u{i:02d}", f"17000000{i:02d}.000000"))
    conv = store.get(CONV)
    assert conv is not None
    assert [t.id for t in conv.turns] == ["u00", "u08", "u09", "u10", "u11"]
    assert conv.meta.dropped_turns == 7
    # A re-delivered dropped message is still recognised and does not come back.
    assert store.append_turn(CONV, user("u03", "1700000003.000000")) is AppendOutcome.DUPLICATE
    conv = store.get(CONV)
    assert conv is not None
    assert len(conv.turns) == 5
    assert conv.meta.dropped_turns == 7


def test_conversation_expires_after_ttl_without_activity_and_writes_refresh_it(harness: Harness) -> None:
    """A thread is forgotten ttl after its last message, not ttl after it started."""
    store = harness.make(ttl_s=1)
    store.create(meta())
    harness.advance(0.6)
    store.append_turn(CONV, user("u1", "1700000001.000000"))
    harness.advance(0.6)
    assert store.get(CONV) is not None  # 1.2 s after create, 0.6 s after the last write
    harness.advance(1.1)
    assert store.get(CONV) is None
    assert store.create(meta()) is True  # a new conversation starts clean
    conv = store.get(CONV)
    assert conv is not None
    assert conv.turns == ()


def test_find_lists_a_threads_conversations_in_any_team(harness: Harness) -> None:
    """A Slack thread link names channel and thread but no team: `find` returns the ids that match
    exactly (any team, none of another thread or channel, none expired), sorted."""
    store = harness.make(ttl_s=1)
    thread = "1700000000.000100"
    wanted = ["-:C1:" + thread, "T1:C1:" + thread, "T2:C1:" + thread]
    others = ["T1:C1:1700000000.000200", "T1:C12:" + thread, "T1:C:1:" + thread, "cli:abc", "T1:C1:170000"]
    for conv_id in [*others, *reversed(wanted)]:
        assert store.create(meta(conv_id))
    assert store.find(channel_id="C1", thread_ts=thread) == wanted
    assert store.find(channel_id="C9", thread_ts=thread) == []
    harness.advance(1.1)
    assert store.find(channel_id="C1", thread_ts=thread) == []


# -------------------------------------------------------------------------- Conversations: handoff


def test_hand_off_succeeds_once_then_the_same_button_fails(harness: Harness) -> None:
    """Clicking a handoff button switches the agent once; a second click changes nothing."""
    store = harness.make()
    store.create(meta())
    store.append_turn(CONV, user("u1", "1700000001.000000"))
    store.append_turn(CONV, answer("a1", "1700000002.000000"))
    first = record(at=5.0)
    handed = store.hand_off(CONV, expected_answer_id="a1", record=first, prompt=prompt(), model="gpt-4o-mini")
    assert handed.status is HandoffStatus.DONE
    conv = store.get(CONV)
    assert conv is not None
    assert conv.agent == "frontend-builder"
    assert conv.meta.model == "gpt-4o-mini"
    assert conv.meta.last_answer_id is None
    assert conv.handoffs == (first,)
    assert conv.turns[-1].id == "handoff-a1"
    again_handed = store.hand_off(
        CONV, expected_answer_id="a1", record=record("other", at=5.0), prompt=prompt("handoff-x"), model=None
    )
    assert again_handed.status is HandoffStatus.STALE
    again = store.get(CONV)
    assert again is not None
    assert again.agent == "frontend-builder"
    assert again.handoffs == (first,)


def test_hand_off_from_a_stale_answer_fails(harness: Harness) -> None:
    """Buttons under an older answer do nothing once a newer answer exists."""
    store = harness.make()
    store.create(meta())
    store.append_turn(CONV, answer("a1", "1700000002.000000"))
    store.append_turn(CONV, user("u2", "1700000003.000000"))
    store.append_turn(CONV, answer("a2", "1700000004.000000"))
    stale = store.hand_off(CONV, expected_answer_id="a1", record=record(), prompt=prompt(), model=None)
    assert stale.status is HandoffStatus.STALE
    conv = store.get(CONV)
    assert conv is not None
    assert conv.agent == "director"
    assert conv.handoffs == ()
    assert conv.meta.last_answer_id == "a2"
    live = store.hand_off(
        CONV, expected_answer_id="a2", record=record(), prompt=prompt("handoff-a2"), model=None
    )
    assert live.status is HandoffStatus.DONE


# --------------------------------------------------------------------------------- DeliveryClaims


def test_claim_is_true_once(harness: Harness) -> None:
    """A Slack event delivered twice (retries) is processed once."""
    store = harness.make()
    assert store.claim("Ev1", ttl_s=30) is True
    assert store.claim("Ev1", ttl_s=30) is False
    assert store.claim("Ev2", ttl_s=30) is True


def test_release_lets_a_retry_claim(harness: Harness) -> None:
    """After a failure a retry may fix, Slack's retry is processed."""
    store = harness.make()
    assert store.claim("Ev1", ttl_s=30) is True
    store.release("Ev1")
    assert store.claim("Ev1", ttl_s=30) is True


def test_complete_keeps_it_claimed_past_the_claim_ttl(harness: Harness) -> None:
    """A handled event stays handled: later retries are ignored, and release cannot reopen it."""
    store = harness.make()
    assert store.claim("Ev1", ttl_s=0.3) is True
    store.complete("Ev1")
    store.release("Ev1")
    harness.advance(0.4)
    assert store.claim("Ev1", ttl_s=30) is False


def test_unreleased_claim_expires_so_a_crashed_attempt_is_retried(harness: Harness) -> None:
    """If the instance handling an event dies, a later retry is processed."""
    store = harness.make()
    assert store.claim("Ev1", ttl_s=0.3) is True
    harness.advance(0.4)
    assert store.claim("Ev1", ttl_s=30) is True


def test_late_release_does_not_free_a_retry_s_claim(harness: Harness) -> None:
    """A slow attempt giving up after its claim expired cannot let a third attempt run in parallel."""
    store = harness.make()
    assert store.claim("Ev1", ttl_s=0.3) is True  # slow attempt (this thread)
    harness.advance(0.4)
    retried: list[bool] = []
    retry = threading.Thread(target=lambda: retried.append(store.claim("Ev1", ttl_s=30)))
    retry.start()
    retry.join()
    assert retried == [True]
    store.release("Ev1")  # the slow attempt fails late
    assert store.claim("Ev1", ttl_s=30) is False


# ---------------------------------------------------------------- Conversations: the answer lock


def test_lock_excludes_a_second_holder(harness: Harness) -> None:
    """Two replies in one thread are never answered at the same time."""
    store = harness.make()
    with store.locked(CONV, ttl_s=30, wait_s=0), pytest.raises(ConversationBusyError):
        store.locked(CONV, ttl_s=30, wait_s=0).__enter__()
    with store.locked(CONV, ttl_s=30, wait_s=0):  # free again
        pass


def test_lock_is_per_conversation(harness: Harness) -> None:
    """Answering in one thread never delays another thread."""
    store = harness.make()
    store.create(meta("T1:C1:other"))
    with store.locked(CONV, ttl_s=30, wait_s=0), store.locked("T1:C1:other", ttl_s=30, wait_s=0) as other:
        assert other.conversation is not None
        assert other.conversation.meta.id == "T1:C1:other"
        with pytest.raises(ConversationBusyError):  # while the first thread's lock is really held
            store.locked(CONV, ttl_s=30, wait_s=0).__enter__()


def test_lock_waits_for_the_holder(harness: Harness) -> None:
    """A reply that arrives mid-answer is answered right after, not rejected."""
    store = harness.make()
    held = threading.Event()

    released = threading.Event()

    def holder() -> None:
        with store.locked(CONV, ttl_s=30, wait_s=0):
            held.set()
            time.sleep(0.2)
            released.set()  # set while still holding: the waiter cannot have the lock before this

    thread = threading.Thread(target=holder)
    thread.start()
    assert held.wait(30)
    with store.locked(CONV, ttl_s=30, wait_s=60):
        got_it_after_release = not thread.is_alive() or released.is_set()
    thread.join()
    assert got_it_after_release


def test_lock_gives_up_after_wait_s(harness: Harness) -> None:
    """A reply stuck behind a long answer gets 'busy' after wait_s instead of hanging."""
    store = harness.make()
    with store.locked(CONV, ttl_s=30, wait_s=0):
        started = time.monotonic()
        with pytest.raises(ConversationBusyError):
            store.locked(CONV, ttl_s=30, wait_s=0.3).__enter__()
        waited = time.monotonic() - started
    assert waited >= 0.29  # it did wait (a lower bound only: a busy machine may take longer)


def test_lock_expires_after_ttl_s(harness: Harness) -> None:
    """A crashed instance holding the lock cannot block the thread forever."""
    store = harness.make()
    store.create(meta())
    crashed = store.locked(CONV, ttl_s=0.3, wait_s=0)
    crashed.__enter__()  # never exited: the holder died (held-means-busy: test_lock_excludes_...)
    harness.advance(0.4)
    with store.locked(CONV, ttl_s=30, wait_s=0) as taken:
        assert taken.conversation is not None
        assert taken.conversation.meta.id == CONV


def test_only_the_owner_releases_the_lock(harness: Harness) -> None:
    """A holder that outlived its lock cannot unlock the next holder's answer."""
    store = harness.make()
    slow = store.locked(CONV, ttl_s=0.3, wait_s=0)
    slow.__enter__()
    harness.advance(0.4)
    current = store.locked(CONV, ttl_s=30, wait_s=0)
    current.__enter__()
    slow.__exit__(None, None, None)  # the slow holder finishes late
    with pytest.raises(ConversationBusyError):
        store.locked(CONV, ttl_s=30, wait_s=0).__enter__()
    current.__exit__(None, None, None)
    with store.locked(CONV, ttl_s=30, wait_s=0):
        pass


def test_lock_is_released_when_the_answer_fails(harness: Harness) -> None:
    """An error while answering does not leave the thread locked."""
    store = harness.make()
    with pytest.raises(RuntimeError), store.locked(CONV, ttl_s=30, wait_s=0):
        raise RuntimeError("model failed")
    with store.locked(CONV, ttl_s=30, wait_s=0):
        pass


# ---------------------------------------------------------------------------- Conversations: adopt


def test_adopt_recreates_a_lost_conversation_from_its_thread(harness: Harness) -> None:
    """A thread read back from Slack becomes the conversation again: turns, live answer, handoffs, parked."""
    store = harness.make(max_turns=4)
    assert (
        store.append_turn(CONV, user("late", "1700000020.000000"), park_if_missing=True)
        is AppendOutcome.PARKED
    )
    doc = Attachment(id="F1", name="design.md", kind="text", text="# plan")
    history = [
        user("u1", "1700000001.000000").model_copy(update={"attachments": (doc,)}),
        answer("a1", "1700000002.000000"),
        user("u2", "1700000003.000000"),
        Turn(id="a2", role=Role.ASSISTANT, text="built", ts="1700000004.000000", agent="frontend-builder"),
    ]
    opened = store.adopt(
        meta(agent="frontend-builder", last_answer_id="a2"), list(reversed(history)), [record()]
    )
    assert opened.created
    assert opened.agent == "frontend-builder"
    conv = store.get(CONV)
    assert conv is not None
    assert [t.id for t in conv.turns] == ["u1", "u2", "a2", "late"]  # capped at 4: the first kept
    assert conv.turns[0].attachments == (doc,)
    assert conv.meta.dropped_turns == 1
    assert conv.meta.last_answer_id == "a2"
    assert conv.agent == "frontend-builder"
    assert [h.to_agent for h in conv.handoffs] == ["frontend-builder"]
    assert store.append_turn(CONV, user("u2", "1700000003.000000")) is AppendOutcome.DUPLICATE


def test_adopt_leaves_an_existing_conversation_alone(harness: Harness) -> None:
    """Two replies rebuilding the same thread at once make one conversation, not two histories."""
    store = harness.make()
    store.create(meta())
    store.append_turn(CONV, user("u1", "1700000001.000000"))
    opened = store.adopt(meta(agent="other"), [user("x", "1700000005.000000")], [])
    assert not opened.created
    assert opened.agent == "director"
    assert ids(store) == ["u1"]


# ------------------------------------------------------------ Conversations: access and forgetting


def test_a_reply_to_an_agent_the_writer_may_not_use_is_refused_and_not_stored(harness: Harness) -> None:
    """Someone the policy keeps away from the thread's agent writes nothing into its conversation."""
    store = harness.make()
    store.create(meta(agent="backend-builder"))
    refused = frozenset({"backend-builder", "tokenomics-builder"})
    assert (
        store.append_turn(CONV, user("u1", "1700000001.000000"), refuse_agents=refused)
        is AppendOutcome.REFUSED
    )
    assert store.append_turn(
        CONV, user("u2", "1700000002.000000"), refuse_agents=frozenset({"director"})
    ) is (AppendOutcome.STORED)
    assert ids(store) == ["u2"]


def test_open_refuses_when_the_owner_would_be_an_agent_the_writer_may_not_use(harness: Harness) -> None:
    """A mention is refused both in a thread owned by a denied agent and when the new owner is denied."""
    store = harness.make()
    opened = store.open(
        meta(agent="director"), user("u1", "1700000001.000000"), refuse_agents=frozenset({"director"})
    )
    assert (opened.refused, opened.stored, opened.created, opened.agent) == (True, False, False, "director")
    assert store.get(CONV) is None
    store.open(meta(agent="backend-builder"), user("u1", "1700000001.000000"))
    opened = store.open(
        meta(agent="director"), user("u2", "1700000002.000000"), refuse_agents=frozenset({"backend-builder"})
    )
    assert (opened.refused, opened.agent) == (True, "backend-builder")
    assert ids(store) == ["u1"]


def test_forget_deletes_everything_and_the_thread_is_never_reopened(harness: Harness) -> None:
    """After "forget", the bot remembers nothing of the thread and will not start it again."""
    store = harness.make(ttl_s=3)
    store.open(meta(), user("u1", "1700000001.000000", "secret plans"))
    assert store.forget(CONV) is True
    assert store.get(CONV) is None
    assert store.is_forgotten(CONV)
    opened = store.open(meta(), user("u2", "1700000002.000000"))
    assert (opened.forgotten, opened.stored, opened.created) == (True, False, False)
    assert store.create(meta()) is False
    assert store.append_turn(CONV, user("u3", "1700000003.000000")) is AppendOutcome.MISSING
    assert (
        store.append_turn(CONV, user("u4", "1700000004.000000"), park_if_missing=True)
        is AppendOutcome.MISSING
    )
    with store.locked(CONV, ttl_s=5, wait_s=0) as locked:
        assert locked.conversation is None
    assert store.get(CONV) is None
    assert store.is_forgotten("T1:C1:1700000099.000100") is False


def test_forget_drops_parked_replies_and_a_tombstone_expires_with_the_conversation_ttl(
    harness: Harness,
) -> None:
    """A reply waiting for its thread is dropped with it; the tombstone itself lasts the conversation TTL."""
    store = harness.make(ttl_s=2)
    assert (
        store.append_turn(CONV, user("u1", "1700000001.000000"), park_if_missing=True) is AppendOutcome.PARKED
    )
    assert store.forget(CONV) is False  # nothing stored yet, the tombstone is set all the same
    harness.advance(1)
    assert store.is_forgotten(CONV)
    harness.advance(1.5)
    assert not store.is_forgotten(CONV)
    opened = store.open(meta(), user("u2", "1700000002.000000"))
    assert opened.created
    assert ids(store) == ["u2"]


def test_a_forgotten_thread_is_never_adopted_from_slack_history(harness: Harness) -> None:
    """Rebuilding a thread from Slack after "forget" stores nothing: the tombstone wins."""
    store = harness.make()
    store.open(meta(), user("u1", "1700000001.000000"))
    store.forget(CONV)
    opened = store.adopt(meta(), [user("u1", "1700000001.000000"), answer("a1", "1700000002.000000")], [])
    assert (opened.forgotten, opened.created, opened.stored) == (True, False, False)
    assert store.get(CONV) is None


def test_exists_tells_a_known_thread_without_reading_it(harness: Harness) -> None:
    """Before downloading a reply's files, the bot can tell whether the thread is one it keeps."""
    store = harness.make()
    assert not store.exists(CONV)
    store.create(meta())
    assert store.exists(CONV)
    assert not store.exists("T1:C1:1700000000.999999")
