"""The store contract's paused answers (:meth:`~bot.core.ports.Conversations.locked`), in both stores:
pausing an answer, and taking its decision exactly once."""

from __future__ import annotations

import threading

from bot.core.conversation import ConversationMeta, PendingApproval, Role, StoredCall, ToolStep, Turn
from bot.core.ports import ConversationStore
from tests.store_harness import CONV, Harness


def pending(approval_id: str = "ap1") -> PendingApproval:
    call = StoredCall(id="call_1", name="tracker__create_ticket", arguments='{"title": "Fix it"}')
    return PendingApproval(
        id=approval_id,
        agent="director",
        model="gpt-4.1",
        requested_by="U1",
        created_at=1_700_000_000.0,
        expires_at=1_700_000_600.0,
        answered=("1700000000.000100",),
        text="Let me file that.",
        steps=(ToolStep(calls=(call,), text="Let me file that."),),
        waiting=(call,),
        tool="tracker/create_ticket",
        reason="tracker/create_ticket can change something",
        calls_used=1,
    )


def opened(store: ConversationStore) -> None:
    meta = ConversationMeta(id=CONV, agent="director", created_at=1.0, updated_at=1.0)
    store.open(
        meta, Turn(id="1700000000.000100", role=Role.USER, text="file a ticket", ts="1700000000.000100")
    )


def test_pausing_keeps_the_waiting_call_and_frees_the_thread(harness: Harness) -> None:
    """A paused answer keeps its state for the click, and the thread is not locked meanwhile."""
    store = harness.make()
    opened(store)
    with store.locked(CONV, ttl_s=60, wait_s=0) as locked:
        locked.pause(pending())
    conversation = store.get(CONV)
    assert conversation is not None
    assert conversation.meta.pending_approval == pending()
    with store.locked(CONV, ttl_s=60, wait_s=0) as again:  # the lock was released by pause
        assert again.conversation is not None
        assert again.conversation.meta.pending_approval == pending()


def test_a_decision_is_taken_once(harness: Harness) -> None:
    """A double click or a re-delivery finds the approval gone: the tool can never run twice."""
    store = harness.make()
    opened(store)
    with store.locked(CONV, ttl_s=60, wait_s=0) as locked:
        locked.pause(pending())
    with store.locked(CONV, ttl_s=60, wait_s=0) as locked:
        assert locked.take_approval("other") is None
        assert locked.take_approval("ap1") == pending()
        assert locked.take_approval("ap1") is None
    conversation = store.get(CONV)
    assert conversation is not None
    assert conversation.meta.pending_approval is None


def test_concurrent_takes_have_one_winner(harness: Harness) -> None:
    """Two clicks at the same moment (two Lambda instances): exactly one gets the call."""
    store = harness.make()
    opened(store)
    with store.locked(CONV, ttl_s=60, wait_s=0) as locked:
        locked.pause(pending())
    handles = []
    with store.locked(CONV, ttl_s=60, wait_s=0) as locked:
        handles = [locked, locked]
        results: list[PendingApproval | None] = []
        barrier = threading.Barrier(2)

        def take(handle: object) -> None:
            barrier.wait()
            results.append(handle.take_approval("ap1"))  # type: ignore[attr-defined]

        threads = [threading.Thread(target=take, args=(h,)) for h in handles]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert sorted(result is not None for result in results) == [False, True]
