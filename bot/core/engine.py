"""The conversation engine: the use cases Slack and the terminal both drive.

- :meth:`Engine.start` opens a conversation with an agent and stores the first user turn.
- :meth:`Engine.add_user_turn` stores a reply in an existing conversation.
- :meth:`Engine.answer` lets the current agent answer everything not answered yet, streaming.
- :meth:`Engine.hand_off` moves the conversation to another agent after a button click.

The engine knows nothing about how an answer is shown. :meth:`Engine.answer` returns an
:class:`AnswerStream`: iterate it for text deltas, then read :attr:`AnswerStream.result`.

Guarantees (with a store that keeps the :class:`~bot.core.ports.ConversationStore` contract):
- a user's turn is stored *before* the model is called, so an outage loses nothing: the next
  answer in that thread picks it up;
- answers in one conversation never interleave: answering holds the conversation's lock, and a
  second answerer that finds nothing pending does nothing;
- an answer cut by the deadline is stored with ``status="cut"`` and said to be cut, not lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass

from bot.core.budget import build_prompt
from bot.core.conversation import Conversation, ConversationMeta, HandoffRecord, Role, Turn, Usage
from bot.core.ports import (
    ChatModel,
    Clock,
    Completion,
    ConversationStore,
    ModelRequest,
    TextDelta,
    TokenCounter,
)
from bot.core.registry import Registry, ResolvedHandoff
from bot.errors import (
    AgentNotFoundError,
    ConversationNotFoundError,
    HandoffNotAllowedError,
    StaleHandoffError,
)
from bot.logging import get_logger

log = get_logger("bot.engine")

CUT_NOTICE = "\n\n_(Answer cut short: it ran out of time. Reply in the thread to continue.)_"


def slack_ts(seconds: float) -> str:
    """A wall-clock time in Slack's ``ts`` format (microsecond precision)."""
    return f"{seconds:.6f}"


@dataclass(frozen=True, slots=True)
class EngineConfig:
    """Limits the engine works within."""

    max_prompt_tokens: int
    reserve_tokens: int
    lock_ttl_s: float
    lock_wait_s: float


@dataclass(frozen=True, slots=True)
class AnswerResult:
    """A finished (or cut) answer, as stored."""

    conversation_id: str
    turn: Turn
    agent: str
    handoffs: tuple[ResolvedHandoff, ...]
    answered_turn_ids: tuple[str, ...]
    prompt_tokens: int
    dropped_turns: int
    cut: bool

    @property
    def text(self) -> str:
        """The answer's text as stored (with the cut notice if it was cut)."""
        return self.turn.text


@dataclass(frozen=True, slots=True)
class HandoffOutcome:
    """What a handoff did."""

    conversation_id: str
    from_agent: str
    to_agent: str
    label: str
    prompt_turn: Turn
    model: str | None


class AnswerStream:
    """Text deltas of an answer as the model writes them; :attr:`result` once exhausted.

    Iterating drives the whole use case: it takes the conversation's lock, calls the model and
    stores the answer. Closing the iterator early (``close()``) releases the lock and stores
    nothing. Errors are the typed errors of :mod:`bot.errors`.
    """

    def __init__(self, generator: Iterator[str], holder: list[AnswerResult]) -> None:
        self._generator = generator
        self._holder = holder

    def __iter__(self) -> Iterator[str]:
        return self._generator

    def close(self) -> None:
        """Stop early (releases the lock)."""
        close = getattr(self._generator, "close", None)
        if close is not None:
            close()

    @property
    def result(self) -> AnswerResult | None:
        """The stored answer; None until the stream is exhausted, or if nothing was pending."""
        return self._holder[0] if self._holder else None

    def drain(self) -> AnswerResult | None:
        """Consume the whole stream (for callers that don't render progressively)."""
        for _ in self._generator:
            pass
        return self.result


class Engine:
    """Use cases over a registry, a store, a model, a token counter and a clock."""

    def __init__(
        self,
        *,
        registry: Registry,
        store: ConversationStore,
        model: ChatModel,
        counter: TokenCounter,
        clock: Clock,
        config: EngineConfig,
    ) -> None:
        self.registry = registry
        self.store = store
        self.model = model
        self.counter = counter
        self.clock = clock
        self.config = config

    # ------------------------------------------------------------------------------------ start

    def start(
        self,
        *,
        conversation_id: str,
        agent: str,
        user_id: str | None,
        text: str,
        ts: str | None = None,
        turn_id: str | None = None,
        team_id: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
    ) -> Turn:
        """Open a conversation owned by ``agent`` with the user's first turn; returns that turn.

        Idempotent: starting the same conversation id again keeps the first one's agent and
        stores the turn only once (same ``turn_id``).
        """
        spec = self.registry.get(agent)
        if spec is None:
            raise AgentNotFoundError(f"unknown agent {agent!r}")
        now = self.clock.now()
        self.store.create(
            ConversationMeta(
                id=conversation_id,
                agent=spec.name,
                created_at=now,
                updated_at=now,
                team_id=team_id,
                channel_id=channel_id,
                thread_ts=thread_ts,
            )
        )
        turn = self._store_user_turn(conversation_id, spec.name, user_id, text, ts, turn_id)
        log.info("conversation_started", conversation=conversation_id, agent=spec.name)
        return turn

    def add_user_turn(
        self,
        *,
        conversation_id: str,
        user_id: str | None,
        text: str,
        ts: str | None = None,
        turn_id: str | None = None,
    ) -> Conversation:
        """Store a reply in an existing conversation (idempotent by ``turn_id``).

        Raises :class:`ConversationNotFoundError` for a thread that has no conversation (not the
        bot's, or expired); returns the conversation as it was before the reply.
        """
        conversation = self.store.get(conversation_id)
        if conversation is None:
            raise ConversationNotFoundError(conversation_id)
        self._store_user_turn(conversation_id, conversation.agent, user_id, text, ts, turn_id)
        return conversation

    def _store_user_turn(  # noqa: PLR0917 - private helper, every caller passes all six
        self,
        conversation_id: str,
        agent: str,
        user_id: str | None,
        text: str,
        ts: str | None,
        turn_id: str | None,
    ) -> Turn:
        now = self.clock.now()
        turn_ts = ts or slack_ts(now)
        turn = Turn(
            id=turn_id or turn_ts,
            role=Role.USER,
            text=text,
            ts=turn_ts,
            user_id=user_id,
            agent=agent,
            created_at=now,
        )
        self.store.append_turn(conversation_id, turn)
        return turn

    # ----------------------------------------------------------------------------------- answer

    def answer(
        self, conversation_id: str, *, deadline: float, model_override: str | None = None
    ) -> AnswerStream:
        """Let the current agent answer the turns it has not answered yet.

        ``deadline`` is a ``clock.monotonic()`` value (on Lambda: now + remaining time - margin).
        The stream yields nothing and :attr:`AnswerStream.result` stays None when another answer
        already covered every pending turn.
        """
        holder: list[AnswerResult] = []
        return AnswerStream(self._answer(conversation_id, deadline, model_override, holder), holder)

    def _answer(
        self,
        conversation_id: str,
        deadline: float,
        model_override: str | None,
        holder: list[AnswerResult],
    ) -> Iterator[str]:
        left = deadline - self.clock.monotonic()
        wait_s = max(0.0, min(self.config.lock_wait_s, left - 1.0))
        # the lock must outlive this answer, or a second answer could start in the middle of it
        ttl_s = max(self.config.lock_ttl_s, left + 15.0)
        with self.store.lock(conversation_id, ttl_s=ttl_s, wait_s=wait_s):
            conversation = self.store.get(conversation_id)
            if conversation is None:
                raise ConversationNotFoundError(conversation_id)
            pending = conversation.pending_user_turns()
            if not pending:
                log.info("nothing_pending", conversation=conversation_id)
                return
            spec = self.registry.get(conversation.agent)
            if spec is None:
                raise AgentNotFoundError(f"agent {conversation.agent!r} is no longer loaded")
            choice = self.registry.model_for(spec.name)
            model = model_override or choice.model
            prompt = build_prompt(
                instructions=spec.instructions,
                turns=conversation.turns,
                agent=spec.name,
                model=model,
                counter=self.counter,
                max_prompt_tokens=self.config.max_prompt_tokens,
                reserve_tokens=self.config.reserve_tokens,
            )
            if prompt.dropped_turns:
                log.info(
                    "prompt_trimmed",
                    conversation=conversation_id,
                    dropped_turns=prompt.dropped_turns,
                    prompt_tokens=prompt.prompt_tokens,
                    limit=prompt.limit,
                )
            request = ModelRequest(
                model=model,
                messages=prompt.messages,
                max_output_tokens=self.config.reserve_tokens,
                fallback_models=choice.fallbacks if model_override is None else (),
            )
            parts: list[str] = []
            completion: Completion | None = None
            for event in self.model.stream(request, deadline=deadline):
                if isinstance(event, TextDelta):
                    if event.text:
                        parts.append(event.text)
                        yield event.text
                else:
                    completion = event
            cut = completion is None or completion.cut
            text = "".join(parts)
            if cut:
                yield CUT_NOTICE
                text += CUT_NOTICE
            usage = completion.usage if completion is not None else Usage(model=model)
            now = self.clock.now()
            turn = Turn(
                id=f"a-{uuid.uuid4().hex}",
                role=Role.ASSISTANT,
                text=text,
                ts=slack_ts(now),
                agent=spec.name,
                status="cut" if cut else "complete",
                usage=usage,
                created_at=now,
                answered=tuple(t.id for t in pending),
            )
            self.store.append_turn(conversation_id, turn)
            log.info(
                "answer_stored",
                conversation=conversation_id,
                agent=spec.name,
                model=usage.model,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                latency_ms=usage.latency_ms,
                first_token_ms=usage.first_token_ms,
                cut=cut,
                answer_chars=len(text),
            )
            holder.append(
                AnswerResult(
                    conversation_id=conversation_id,
                    turn=turn,
                    agent=spec.name,
                    handoffs=self.registry.handoffs(spec.name),
                    answered_turn_ids=tuple(t.id for t in pending),
                    prompt_tokens=prompt.prompt_tokens,
                    dropped_turns=prompt.dropped_turns,
                    cut=cut,
                )
            )

    # --------------------------------------------------------------------------------- handoff

    def allowed_handoff(self, agent: str, target: str) -> ResolvedHandoff:
        """The handoff ``agent`` offers to ``target``; raises if it offers none."""
        handoff = self.registry.handoff_to(agent, target)
        if handoff is None:
            raise HandoffNotAllowedError(f"{agent!r} offers no handoff to {target!r}")
        return handoff

    def hand_off(
        self,
        *,
        conversation_id: str,
        answer_id: str,
        target: str,
        by_user: str | None,
        prompt: str | None = None,
    ) -> HandoffOutcome:
        """Hand the conversation to ``target`` from the answer ``answer_id``'s buttons.

        The answering agent is read from the stored answer, never from the button, so a forged
        button value cannot reach an agent that agent does not list. Only the latest answer's
        buttons work, once: a second click or an old button raises :class:`StaleHandoffError`.
        ``prompt`` is the (possibly edited) text; None means the handoff's own prompt.
        """
        conversation = self.store.get(conversation_id)
        if conversation is None:
            raise ConversationNotFoundError(conversation_id)
        answer = conversation.turn(answer_id)
        if answer is None or answer.role is not Role.ASSISTANT or answer.agent is None:
            raise StaleHandoffError(f"answer {answer_id!r} is not in the conversation")
        handoff = self.allowed_handoff(answer.agent, target)
        text = (prompt if prompt is not None else handoff.handoff.prompt).strip() or handoff.handoff.prompt
        now = self.clock.now()
        record = HandoffRecord(
            from_agent=answer.agent,
            to_agent=handoff.target,
            label=handoff.handoff.label,
            by_user=by_user,
            at=now,
        )
        if not self.store.hand_off(conversation_id, expected_answer_id=answer_id, record=record):
            raise StaleHandoffError(f"answer {answer_id!r} is not the latest or was used")
        turn = self._store_user_turn(
            conversation_id, handoff.target, by_user, text, None, f"handoff-{answer_id}"
        )
        log.info("handed_off", conversation=conversation_id, from_agent=answer.agent, to_agent=handoff.target)
        return HandoffOutcome(
            conversation_id=conversation_id,
            from_agent=answer.agent,
            to_agent=handoff.target,
            label=handoff.handoff.label,
            prompt_turn=turn,
            model=handoff.handoff.model,
        )
