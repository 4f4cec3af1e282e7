"""The :class:`~bot.core.ports.ThreadRecords` part of the store contract, against both stores
(in-memory and real Redis): which answer's handoff buttons are on screen, votes on answers, the
thread's canvas, agents' feedback totals and a person's recent threads."""

from __future__ import annotations

import threading

from bot.core.conversation import RecentThread, ShownAnswer
from bot.core.ports import ConversationStore, HandedOff, HandoffStatus, VoteStatus
from tests.store_harness import CONV, Harness, answer, meta, prompt, record, user


def _with_answer(store: ConversationStore, answer_id: str = "a1", ts: str = "1700000002.000000") -> None:
    if store.get(CONV) is None:
        store.create(meta())
    store.append_turn(CONV, user(f"u-{answer_id}", ts))
    store.append_turn(CONV, answer(answer_id, ts))


def _shown(answer_id: str) -> ShownAnswer:
    return ShownAnswer(
        answer_id=answer_id, message_ts=f"1700000099.{answer_id[-1]:0>6}", restore='[{"x": "é ✓"}]'
    )


def test_a_newer_answer_takes_the_buttons_down_from_the_older_one(harness: Harness) -> None:
    """When a new answer is shown, the previous answer's buttons are returned to be removed, once."""
    store = harness.make()
    _with_answer(store, "a1")
    assert store.show_answer(CONV, _shown("a1")) == ()
    _with_answer(store, "a2", "1700000003.000000")
    assert store.show_answer(CONV, _shown("a2")) == (_shown("a1"),)
    assert store.show_answer(CONV, _shown("a2")) == ()  # shown again: nothing more to take down
    conv = store.get(CONV)
    assert conv is not None
    assert list(conv.meta.shown) == ["a2"]


def test_an_answer_superseded_before_it_was_shown_takes_down_its_own_buttons(harness: Harness) -> None:
    """Two answers racing: whichever order they are shown in, each stale button set goes exactly once."""
    store = harness.make()
    _with_answer(store, "a1")
    _with_answer(store, "a2", "1700000003.000000")  # a2 finished before a1 was shown
    assert store.show_answer(CONV, _shown("a2")) == ()
    assert store.show_answer(CONV, _shown("a1")) == (_shown("a1"),)


def test_a_handoff_retires_the_clicked_answers_buttons(harness: Harness) -> None:
    """The handoff itself retires the used buttons, once (a second click of them is stale and retires
    nothing); the next answer does not take them down again."""
    store = harness.make()
    _with_answer(store, "a1")
    store.show_answer(CONV, _shown("a1"))
    handed = store.hand_off(CONV, expected_answer_id="a1", record=record(), prompt=prompt(), model=None)
    assert handed == HandedOff(HandoffStatus.DONE, _shown("a1"))
    again = store.hand_off(CONV, expected_answer_id="a1", record=record(), prompt=prompt("p2"), model=None)
    assert again == HandedOff(HandoffStatus.STALE, None)
    _with_answer(store, "a2", "1700000010.000000")
    assert store.show_answer(CONV, _shown("a2")) == ()


def test_a_handoff_from_an_answer_not_recorded_as_shown_retires_nothing(harness: Harness) -> None:
    """Buttons shown before the bot kept track: the handoff works and says there is nothing recorded
    to take down (the click's own message is updated instead); an older shown answer stays recorded."""
    store = harness.make()
    _with_answer(store, "a1")
    store.show_answer(CONV, _shown("a1"))
    _with_answer(store, "a2", "1700000003.000000")
    handed = store.hand_off(CONV, expected_answer_id="a2", record=record(), prompt=prompt(), model=None)
    assert handed == HandedOff(HandoffStatus.DONE, None)
    conv = store.get(CONV)
    assert conv is not None
    assert list(conv.meta.shown) == ["a1"]


def test_one_vote_per_person_per_answer_changeable(harness: Harness) -> None:
    """A person votes once per answer; a second click of the same thumb changes nothing, the other
    thumb replaces the vote; the counts' deltas say how the answer's totals move."""
    store = harness.make()
    _with_answer(store, "a1")
    first = store.vote(CONV, answer_id="a1", user_id="U1", value=1, comment=None, at=1.5)
    assert first.status is VoteStatus.STORED
    assert first.agent == "director"
    assert first.vote is not None
    assert (first.vote.delta_up, first.vote.delta_down, first.vote.revision) == (1, 0, 1)
    again = store.vote(CONV, answer_id="a1", user_id="U1", value=1, comment=None, at=2.0)
    assert again.status is VoteStatus.UNCHANGED
    down = store.vote(CONV, answer_id="a1", user_id="U1", value=-1, comment=None, at=3.0)
    assert down.vote is not None
    assert (down.previous, down.vote.delta_up, down.vote.delta_down, down.vote.revision) == (1, -1, 1, 2)
    commented = store.vote(CONV, answer_id="a1", user_id="U1", value=-1, comment="too vague 👎", at=4.0)
    assert commented.status is VoteStatus.STORED
    assert commented.vote is not None
    assert (commented.vote.comment, commented.vote.delta_up, commented.vote.delta_down) == (
        "too vague 👎",
        0,
        0,
    )
    store.vote(CONV, answer_id="a1", user_id="U2", value=-1, comment=None, at=5.0)
    conv = store.get(CONV)
    assert conv is not None
    assert {user: v.value for user, v in conv.meta.votes["a1"].items()} == {"U1": -1, "U2": -1}
    assert conv.meta.votes["a1"]["U1"].comment == "too vague 👎"
    up = store.vote(CONV, answer_id="a1", user_id="U1", value=1, comment=None, at=6.0)
    assert up.vote is not None
    assert up.vote.comment is None  # a thumbs up drops the comment


def test_votes_only_on_stored_answers(harness: Harness) -> None:
    """A forged answer id, a person's message or an unknown thread are refused."""
    store = harness.make()
    _with_answer(store, "a1")
    assert store.vote(CONV, answer_id="nope", user_id="U1", value=1, comment=None, at=1).status is (
        VoteStatus.NOT_AN_ANSWER
    )
    assert store.vote(CONV, answer_id="u-a1", user_id="U1", value=1, comment=None, at=1).status is (
        VoteStatus.NOT_AN_ANSWER
    )
    assert store.vote("T1:C1:1.000001", answer_id="a1", user_id="U1", value=1, comment=None, at=1).status is (
        VoteStatus.MISSING
    )


def test_concurrent_votes_are_all_kept(harness: Harness) -> None:
    """Twenty people voting at the same moment: every vote is kept."""
    store = harness.make()
    _with_answer(store, "a1")
    threads = [
        threading.Thread(
            target=store.vote,
            args=(CONV,),
            kwargs={
                "answer_id": "a1",
                "user_id": f"U{i}",
                "value": 1 if i % 2 else -1,
                "comment": None,
                "at": 1,
            },
        )
        for i in range(20)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    conv = store.get(CONV)
    assert conv is not None
    assert len(conv.meta.votes["a1"]) == 20


def test_feedback_totals_count_each_change_once(harness: Harness) -> None:
    """An agent's totals move with each vote change, and a retried count does not count twice."""
    store = harness.make()
    store.tally_feedback("c1", agent="director", up=1, down=0)
    store.tally_feedback("c1", agent="director", up=1, down=0)  # retried
    store.tally_feedback("c2", agent="director", up=-1, down=1)
    store.tally_feedback("c3", agent="SE: Security", up=1, down=0)
    assert store.feedback_tallies() == {"director": (0, 1), "SE: Security": (1, 0)}


def test_the_canvas_of_a_thread_is_set_once(harness: Harness) -> None:
    """Two saves at once create one canvas record; the loser learns the winner; it can be replaced."""
    store = harness.make()
    _with_answer(store, "a1")
    assert store.set_canvas(CONV, "F1", expected=None) == "F1"
    assert store.set_canvas(CONV, "F2", expected=None) == "F1"
    assert store.set_canvas(CONV, "F3", expected="F1") == "F3"
    conv = store.get(CONV)
    assert conv is not None
    assert conv.meta.canvas_id == "F3"
    assert store.set_canvas("T1:C1:1.000001", "F4", expected=None) is None


def test_recent_threads_newest_first_first_title_kept(harness: Harness) -> None:
    """A person's recent threads: newest first, at most ``keep``, each with its first title."""
    store = harness.make()
    for i in range(5):
        thread = RecentThread(
            conversation_id=f"T1:C1:17000000{i:02d}.000000", title=f"question {i}", at=100.0 + i
        )
        store.remember_thread("U1", thread, keep=3)
    again = RecentThread(
        conversation_id="T1:C1:1700000002.000000", title="a later reply", agent="director", at=200
    )
    store.remember_thread("U1", again, keep=3)
    found = store.recent_threads("U1", 10)
    assert [t.title for t in found] == ["question 2", "question 4", "question 3"]
    assert found[0].agent == "director"
    assert found[0].at == 200
    assert store.recent_threads("U2", 10) == ()


def test_a_forgotten_thread_leaves_a_persons_recent_threads(harness: Harness) -> None:
    """Forgetting takes the thread (and its title, the request's first words) out of the list; others stay."""
    store = harness.make()
    for i in range(2):
        thread = RecentThread(
            conversation_id=f"T1:C1:17000000{i:02d}.000000", title=f"question {i}", at=100.0 + i
        )
        store.remember_thread("U1", thread, keep=5)
    store.forget_recent("U1", "T1:C1:1700000001.000000")
    store.forget_recent("U1", "T1:C1:1700000099.000000")  # not there: nothing happens
    store.forget_recent("U2", "T1:C1:1700000000.000000")
    assert [t.title for t in store.recent_threads("U1", 10)] == ["question 0"]
