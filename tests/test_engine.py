"""The engine's use cases through its ports: the in-memory store, a fixed clock, a scripted model.

Fast, no network: what a person in a thread (or at a terminal) would notice about starting,
replying, answering and handing off, including races and crashes between store operations.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from bot.adapters.memory.ledger import MemoryLedger
from bot.adapters.memory.store import MemoryConversationStore
from bot.adapters.token_counter import EstimatingCounter
from bot.core.agents import parse_agent
from bot.core.conversation import Role, Turn, Usage, UserMessage
from bot.core.engine import STOP_NOTICE, Engine, EngineConfig, ReplyOutcome, StopAnswer
from bot.core.governance import Quota
from bot.core.policy import Budgets, Policy
from bot.core.ports import (
    Completion,
    ConversationStore,
    FixedClock,
    LockedConversation,
    ModelEvent,
    ModelRequest,
    TextDelta,
)
from bot.core.refs import HandoffRef
from bot.core.registry import Registry, RoutingConfig
from bot.errors import (
    ConversationNotFoundError,
    HandoffNotAllowedError,
    ModelUnavailableError,
    StaleHandoffError,
)

CONV = "T1:C1:1700000000.000100"

DIRECTOR = """---
name: Director
description: Plans the work
model: gpt-4.1
handoffs:
  - label: Build it
    agent: Builder
    prompt: Build what we planned.
    send: true
    model: GPT-4o mini (copilot)
---
You direct."""

BUILDER = """---
name: Builder
description: Builds
model: gpt-4.1
handoffs:
  - label: Back to Director
    agent: Director
    prompt: Review what was built.
---
You build."""


def registry() -> Registry:
    """Two agents that hand off to each other; the Director's handoff names another model."""
    specs = []
    for text, path in ((DIRECTOR, "director.agent.md"), (BUILDER, "builder.agent.md")):
        spec, problems = parse_agent(text, path)
        assert spec is not None, problems
        specs.append(spec)
    return Registry.build(specs, [], RoutingConfig(default_agent="Director"), "gpt-4.1")


@dataclass
class ScriptedModel:
    """A chat model that answers from a script and records every request."""

    requests: list[ModelRequest] = field(default_factory=list)
    fail_with: Exception | None = None
    gate: threading.Event | None = None  # when set, the answer waits for it after the first word

    def stream(self, request: ModelRequest, *, deadline: float) -> Iterator[ModelEvent]:
        """Yield two words naming the model, then the end."""
        self.requests.append(request)
        if self.fail_with is not None:
            raise self.fail_with
        yield TextDelta(f"answer by {request.model}")
        if self.gate is not None:
            assert self.gate.wait(30)
        yield TextDelta(".")
        yield Completion(usage=Usage(model=request.model, input_tokens=10, output_tokens=3))

    def prompt_texts(self, index: int = -1) -> str:
        """The whole prompt of a request, one message per line."""
        return "\n".join(m.content for m in self.requests[index].messages)


def make_engine(
    store: ConversationStore | None = None,
    model: ScriptedModel | None = None,
    clock: FixedClock | None = None,
    config: EngineConfig | None = None,
    quota: Quota | None = None,
) -> tuple[Engine, ScriptedModel, FixedClock]:
    """An engine over the in-memory store (unless given one), without a quota unless given one."""
    clock = clock or FixedClock()
    model = model or ScriptedModel()
    engine = Engine(
        registry=registry(),
        store=store or MemoryConversationStore(ttl_s=3600, max_turns=100, clock=clock),
        model=model,
        counter=EstimatingCounter(),
        clock=clock,
        config=config
        or EngineConfig(max_prompt_tokens=100_000, reserve_tokens=1_000, lock_ttl_s=60, lock_wait_s=5),
        quota=quota,
    )
    return engine, model, clock


def msg(text: str, ts: str, user: str = "U1") -> UserMessage:
    """A Slack message by ``user``."""
    return UserMessage(text=text, user_id=user, ts=ts, id=ts)


def answer(engine: Engine, conv: str = CONV) -> Any:
    """Answer what is pending; the stored result (None if nothing was)."""
    return engine.answer(conv, deadline=engine.clock.monotonic() + 60).drain()


def start(engine: Engine, agent: str = "Director") -> None:
    """A slash command's thread with its first message."""
    engine.start(
        conversation_id=CONV,
        agent=agent,
        message=msg("Design a rate limiter", "1700000000.000100"),
        team_id="T1",
        channel_id="C1",
        thread_ts="1700000000.000100",
    )


# ------------------------------------------------------------------------------------- answering


def test_open_says_there_is_nothing_to_answer_before_anything_is_shown() -> None:
    """A second answerer (a duplicate reply) learns there is nothing to say before posting a placeholder."""
    engine, model, _ = make_engine()
    start(engine)
    assert answer(engine) is not None
    stream = engine.answer(CONV, deadline=engine.clock.monotonic() + 60)
    assert stream.open() is None
    assert list(stream) == []
    assert stream.result is None
    assert len(model.requests) == 1


def test_open_names_the_agent_and_model_before_the_first_word() -> None:
    """The thread can show "<agent> is thinking" with the right name before the model answers."""
    engine, model, _ = make_engine()
    start(engine, agent="builder")
    stream = engine.answer(CONV, deadline=engine.clock.monotonic() + 60)
    plan = stream.open()
    assert plan is not None
    assert (plan.agent, plan.model) == ("Builder", "gpt-4.1")
    assert [t.text for t in plan.pending] == ["Design a rate limiter"]
    assert model.requests == []  # the model is not called until the stream is read
    assert "".join(stream) == "answer by gpt-4.1."
    assert stream.result is not None


def test_answer_on_a_thread_without_conversation_is_not_found() -> None:
    """A thread the bot does not know is reported as such, not answered with an empty context."""
    engine, _, _ = make_engine()
    with pytest.raises(ConversationNotFoundError):
        engine.answer(CONV, deadline=engine.clock.monotonic() + 60).open()


def test_a_failed_answer_keeps_the_message_for_the_next_reply() -> None:
    """When the model is down the question is kept, and the next reply answers both messages."""
    model = ScriptedModel(fail_with=ModelUnavailableError("down"))
    engine, _, _ = make_engine(model=model)
    start(engine)
    with pytest.raises(ModelUnavailableError):
        answer(engine)
    model.fail_with = None
    assert engine.reply(conversation_id=CONV, message=msg("still there?", "1700000001.000000")) is (
        ReplyOutcome.STORED
    )
    result = answer(engine)
    assert result is not None
    assert set(result.answered_turn_ids) == {"1700000000.000100", "1700000001.000000"}
    assert "Design a rate limiter" in model.prompt_texts()


def test_a_failed_answer_releases_the_thread() -> None:
    """After a model error the thread is not stuck: the next answer takes the lock at once."""
    model = ScriptedModel(fail_with=ModelUnavailableError("down"))
    config = EngineConfig(max_prompt_tokens=100_000, reserve_tokens=1_000, lock_ttl_s=60, lock_wait_s=0)
    engine, _, _ = make_engine(model=model, config=config)
    start(engine)
    with pytest.raises(ModelUnavailableError):
        answer(engine)
    model.fail_with = None
    assert answer(engine) is not None


# ------------------------------------------------------------------------------------ replies


def test_reply_to_an_unknown_thread_is_not_found_and_stores_nothing() -> None:
    """People's own threads are left alone: a reply there is not ours and leaves no trace."""
    engine, _, _ = make_engine()
    assert engine.reply(conversation_id=CONV, message=msg("hi", "1.000001")) is ReplyOutcome.NOT_FOUND
    assert engine.store.get(CONV) is None


def test_reply_that_overtakes_the_start_is_answered_with_the_first_answer() -> None:
    """A reply sent while the bot is still creating the thread's conversation is answered, not dropped."""
    engine, model, _ = make_engine()
    early = msg("and make it distributed", "1700000000.500000", user="U2")
    assert engine.reply(conversation_id=CONV, message=early, park_if_missing=True) is ReplyOutcome.PARKED
    start(engine)
    result = answer(engine)
    assert result is not None
    assert set(result.answered_turn_ids) == {"1700000000.000100", "1700000000.500000"}
    assert "and make it distributed" in model.prompt_texts()


def test_a_duplicate_reply_is_stored_once() -> None:
    """Slack delivering the same message twice never doubles it in the agent's context."""
    engine, model, _ = make_engine()
    start(engine)
    reply = msg("more", "1700000002.000000")
    assert engine.reply(conversation_id=CONV, message=reply) is ReplyOutcome.STORED
    assert engine.reply(conversation_id=CONV, message=reply) is ReplyOutcome.DUPLICATE
    answer(engine)
    assert model.prompt_texts().count("<@U1>: more") == 1


def test_two_simultaneous_mentions_start_one_conversation_and_get_one_answer() -> None:
    """Two people mentioning the bot in the same thread at the same moment make one conversation, and
    an answer that already covers both mentions is not followed by a second, empty one."""
    engine, model, _ = make_engine()
    results: list[Any] = []
    barrier = threading.Barrier(2)

    def mention(text: str, ts: str, user: str) -> None:
        barrier.wait(10)
        engine.continue_or_start(
            conversation_id=CONV,
            default_agent="Director",
            message=msg(text, ts, user),
            team_id="T1",
            channel_id="C1",
            thread_ts="1700000000.000100",
        )

    threads = [
        threading.Thread(target=mention, args=("plan A", "1700000001.000000", "U1")),
        threading.Thread(target=mention, args=("plan B", "1700000001.000001", "U2")),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    for _ in range(2):  # each mention's listener asks for an answer
        results.append(answer(engine))
    conversation = engine.store.get(CONV)
    assert conversation is not None
    assert [t.text for t in conversation.turns if t.role is Role.USER] == ["plan A", "plan B"]
    answered = [r for r in results if r is not None]
    assert len(answered) == 1
    assert set(answered[0].answered_turn_ids) == {"1700000001.000000", "1700000001.000001"}
    assert len(model.requests) == 1


def test_continue_or_start_keeps_the_thread_agent() -> None:
    """Mentioning the bot in a thread handed to the Builder reaches the Builder, not the default agent."""
    engine, _, _ = make_engine()
    start(engine, agent="Builder")
    answer(engine)
    continued = engine.continue_or_start(
        conversation_id=CONV, default_agent="Director", message=msg("status?", "1700000003.000000")
    )
    assert (continued.started, continued.agent) == (False, "Builder")


# ------------------------------------------------------------------------------------ handoffs


def _ref(result: Any, target: str, from_agent: str | None = None) -> HandoffRef:
    return HandoffRef(
        conversation_id=CONV, answer_id=result.turn.id, from_agent=from_agent or result.agent, target=target
    )


def test_handoff_model_answers_from_then_on() -> None:
    """A handoff whose frontmatter names another model is answered by that model, and so are the
    replies after it, until the next handoff (which names none) goes back to the agent's model."""
    engine, model, _ = make_engine()
    start(engine)
    first = answer(engine)
    outcome = engine.hand_off(ref=_ref(first, "Builder"), by_user="U1")
    assert outcome.model == "gpt-4o-mini"
    built = answer(engine)
    assert built.agent == "Builder"
    assert model.requests[-1].model == "gpt-4o-mini"
    assert model.requests[-1].fallback_models == ()
    engine.reply(conversation_id=CONV, message=msg("and tests?", "1700000005.000000"))
    answer(engine)
    assert model.requests[-1].model == "gpt-4o-mini"
    engine.hand_off(ref=_ref(answer_of(engine), "Director"), by_user="U1")
    answer(engine)
    assert model.requests[-1].model == "gpt-4.1"


def answer_of(engine: Engine) -> Any:
    """The latest stored answer as a result-like object (turn + agent)."""
    conversation = engine.store.get(CONV)
    assert conversation is not None
    turn = next(t for t in reversed(conversation.turns) if t.role is Role.ASSISTANT)

    @dataclass
    class Latest:
        turn: Turn
        agent: str

    assert turn.agent is not None
    return Latest(turn, turn.agent)


def test_handoff_prompt_is_edited_text_or_the_default() -> None:
    """The edited prompt from the modal reaches the target; an empty edit falls back to the handoff's own."""
    engine, model, _ = make_engine()
    start(engine)
    engine.hand_off(ref=_ref(answer(engine), "Builder"), by_user="U1", prompt="Build only the API")
    answer(engine)
    assert "Build only the API" in model.prompt_texts()
    engine.hand_off(ref=_ref(answer_of(engine), "Director"), by_user="U1", prompt="   ")
    answer(engine)
    assert "Review what was built." in model.prompt_texts()


def test_second_click_and_old_buttons_are_stale() -> None:
    """A button works once, and only under the latest answer."""
    engine, _, _ = make_engine()
    start(engine)
    first = answer(engine)
    engine.hand_off(ref=_ref(first, "Builder"), by_user="U1")
    with pytest.raises(StaleHandoffError):
        engine.hand_off(ref=_ref(first, "Builder"), by_user="U2")
    answer(engine)
    with pytest.raises(StaleHandoffError):
        engine.hand_off(ref=_ref(first, "Builder"), by_user="U1")


def test_forged_button_cannot_reach_an_agent_the_answer_does_not_offer() -> None:
    """A button value claiming another author, or a target not offered, hands nothing off."""
    engine, _, _ = make_engine()
    start(engine)
    first = answer(engine)  # written by the Director, which offers only the Builder
    with pytest.raises(HandoffNotAllowedError):
        engine.hand_off(ref=_ref(first, "Director"), by_user="U1")
    with pytest.raises(HandoffNotAllowedError):  # claims the Builder wrote it, to use its button
        engine.hand_off(ref=_ref(first, "Director", from_agent="Builder"), by_user="U1")
    conversation = engine.store.get(CONV)
    assert conversation is not None
    assert conversation.agent == "Director"
    assert conversation.handoffs == ()


class Crash(Exception):
    """The process died here."""


class CrashingStore:
    """A store that dies at its ``crash_at``-th operation, and stays dead (a killed process)."""

    def __init__(self, inner: MemoryConversationStore, crash_at: int) -> None:
        self.inner = inner
        self.crash_at = crash_at
        self.ops = 0
        self.dead = False

    def _op(self) -> None:
        if self.dead or self.ops == self.crash_at:
            self.dead = True
            raise Crash(f"killed before operation {self.ops}")
        self.ops += 1

    def __getattr__(self, name: str) -> Callable[..., Any]:
        method = getattr(self.inner, name)

        def call(*args: Any, **kwargs: Any) -> Any:
            self._op()
            return method(*args, **kwargs)

        return call

    def locked(self, conversation_id: str, *, ttl_s: float, wait_s: float) -> AbstractContextManager[Any]:
        """The lock and read count as one operation, the answer and unlock as another."""
        self._op()
        return self._locked(self.inner.locked(conversation_id, ttl_s=ttl_s, wait_s=wait_s))

    @contextmanager
    def _locked(self, inner: AbstractContextManager[LockedConversation]) -> Iterator[Any]:
        entered = inner.__enter__()
        store = self

        class Locked:
            conversation = entered.conversation

            def finish(self, turn: Turn) -> bool:
                store._op()
                return entered.finish(turn)

        try:
            yield Locked()
        except Crash:
            raise  # a killed process releases nothing: the lock stays until it expires
        except BaseException:
            inner.__exit__(None, None, None)
            raise
        else:
            inner.__exit__(None, None, None)


def test_killing_the_process_between_any_two_store_operations_of_a_handoff_loses_nothing() -> None:
    """Whatever store operation a click dies at, the next reply in the thread is answered by the
    right agent (the Builder once the handoff was stored, else still the Director) with the
    handoff's prompt and the reply in its context."""
    checked = 0
    for crash_at in range(10):
        clock = FixedClock()
        memory = MemoryConversationStore(ttl_s=3600, max_turns=100, clock=clock)
        engine, _, _ = make_engine(store=memory, clock=clock)
        start(engine)
        first = answer(engine)
        store = CrashingStore(memory, crash_at)
        clicked, _, _ = make_engine(store=store, clock=clock)  # type: ignore[arg-type]
        try:
            with clicked.once("click:1") as go:
                assert go
                clicked.hand_off(ref=_ref(first, "Builder"), by_user="U1")
                clicked.answer(CONV, deadline=clock.monotonic() + 60).drain()
        except Crash:
            pass
        if not store.dead:
            break  # the whole click ran: every crash point was tried
        checked += 1
        clock.advance(120)  # the dead process's lock expires
        after, model, _ = make_engine(store=memory, clock=clock)
        after.reply(conversation_id=CONV, message=msg("any news?", "1700000100.000000"))
        result = answer(after)
        handed = memory.get(CONV).handoffs != ()  # type: ignore[union-attr]
        conversation = memory.get(CONV)
        assert conversation is not None
        assert conversation.pending_user_turns() == ()
        if handed:
            assert result.agent == "Builder", crash_at
            assert "Build what we planned." in model.prompt_texts()
        else:
            assert result.agent == "Director", crash_at
        assert "any news?" in model.prompt_texts()
    assert checked >= 4  # claim, handoff, lock+read, answer+unlock, complete: each was a crash point


# ------------------------------------------------------------------------------------ stopping


@dataclass
class StoppedModel(ScriptedModel):
    """Writes one word, then the person presses Ctrl-C while the model is being read."""

    def stream(self, request: ModelRequest, *, deadline: float) -> Iterator[ModelEvent]:
        self.requests.append(request)
        yield TextDelta("half an")
        raise StopAnswer


def test_stop_while_the_model_is_read_keeps_the_part_so_far_as_cut() -> None:
    """Ctrl-C during an answer: the words written so far are stored, marked cut, with a notice;
    the next answer sees them marked as cut and the thread is not locked."""
    engine, _, clock = make_engine(model=StoppedModel())
    start(engine)
    stream = engine.answer(CONV, deadline=engine.clock.monotonic() + 60)
    assert "".join(stream) == "half an" + STOP_NOTICE
    result = stream.result
    assert result is not None
    assert (result.cut, result.stopped, result.turn.status) == (True, True, "cut")
    conversation = engine.conversation(CONV)
    assert conversation is not None
    assert conversation.turns[-1].text == "half an" + STOP_NOTICE
    assert conversation.pending_user_turns() == ()
    engine, after, _ = make_engine(store=engine.store, clock=clock)  # the same thread, another model
    engine.reply(conversation_id=CONV, message=msg("go on", "1700000002.000000"))
    assert answer(engine) is not None
    assert "half an" in after.prompt_texts()
    assert "[this answer was cut off before it was finished]" in after.prompt_texts()


def test_stop_while_a_word_is_shown_keeps_the_part_so_far_as_cut() -> None:
    """Ctrl-C while the terminal is drawing a word: stream.stop() stores the answer as cut and
    hands back the notice to show; stopping again or after the end does nothing."""
    engine, _, _ = make_engine()
    start(engine)
    stream = engine.answer(CONV, deadline=engine.clock.monotonic() + 60)
    first = next(iter(stream))
    assert first == "answer by gpt-4.1"
    assert stream.stop() == [STOP_NOTICE]
    assert stream.result is not None
    assert stream.result.stopped
    assert stream.result.text == first + STOP_NOTICE
    assert stream.stop() == []


def test_stop_before_the_model_is_asked_keeps_the_message_pending() -> None:
    """Ctrl-C right after the answer opened: nothing is stored, the question waits for the next answer."""
    engine, model, _ = make_engine()
    start(engine)
    stream = engine.answer(CONV, deadline=engine.clock.monotonic() + 60)
    assert stream.open() is not None
    assert stream.stop() == []
    assert stream.result is None
    assert model.requests == []
    assert answer(engine) is not None  # not locked: the next answer covers the question


@pytest.mark.parametrize("end", ["close", "stop"])
def test_an_answer_ended_right_after_it_opened_gives_the_budget_back(end: str) -> None:
    """Ctrl-C (stop) or a stream given up (close) right after the answer opened: the tokens reserved
    for it are given back at once, so the person's next question fits their daily budget instead of
    being refused until midnight; the answer that follows is charged once, for what it used."""
    clock = FixedClock()
    ledger = MemoryLedger(clock=clock)
    # room for one answer's estimate (the 1,000 reserved for the answer and a short prompt), not two
    quota = Quota(Policy(budgets=Budgets(user_daily_tokens=1_500)), ledger, clock)
    engine, model, _ = make_engine(clock=clock, quota=quota)
    start(engine)
    stream = engine.answer(CONV, deadline=engine.clock.monotonic() + 60)
    assert stream.open() is not None
    if end == "stop":
        assert stream.stop() == []
    else:
        stream.close()
    assert model.requests == []
    result = answer(engine)  # refused (BudgetExceededError) while the first estimate stays counted
    assert result is not None
    assert result.turn.text == "answer by gpt-4.1."
    total = quota.usage("U1").day.total
    assert (total.input_tokens, total.output_tokens, total.requests) == (10, 3, 1)


def test_copy_in_reproduces_a_thread_without_touching_it() -> None:
    """A stored thread copied into another store keeps agent, handoff model and pending messages;
    answering the copy writes nothing to the original."""
    source, _, clock = make_engine()
    start(source)
    assert answer(source) is not None
    source.reply(conversation_id=CONV, message=msg("and now?", "1700000003.000000"))
    original = source.conversation(CONV)
    assert original is not None
    assert source.find_thread(channel_id="C1", thread_ts="1700000000.000100") == [CONV]
    local, model, _ = make_engine(clock=clock)
    copied = local.copy_in(original, conversation_id="cli:copy")
    assert [t.id for t in copied.turns] == [t.id for t in original.turns]
    assert copied.agent == "Director"
    assert [t.text for t in copied.pending_user_turns()] == ["and now?"]
    assert answer(local, "cli:copy") is not None
    assert "and now?" in model.prompt_texts()
    assert source.conversation(CONV) == original
