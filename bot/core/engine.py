"""The conversation engine: the only door to conversations, for Slack, the terminal and tests.

Use cases (each one store operation where it can be):

- :meth:`Engine.start` opens a conversation with an agent and stores the first user turn;
- :meth:`Engine.reply` stores a reply in an existing conversation (or parks it until the
  conversation it overtook exists);
- :meth:`Engine.continue_or_start` does either, atomically: a mention in a thread;
- :meth:`Engine.answer` lets the current agent answer everything not answered yet, streaming;
- :meth:`Engine.hand_off` moves the conversation to another agent after a button click;
- :meth:`Engine.adopt` re-creates a conversation from its thread as Slack gives it back (the store
  lost it), or starts one in a thread that already has a discussion, with its history;
- :meth:`Engine.forget` deletes a conversation on request and keeps it from ever being reopened or
  adopted again (:meth:`Engine.is_forgotten`: check it before reading a thread back from Slack).

Governance (optional, :mod:`bot.core.governance`): replies and mentions carry the agents their
author may not use, and the store refuses them in the same atomic write; with a
:class:`~bot.core.governance.Budget`, :meth:`AnswerStream.open` reserves the estimated tokens
before any model call (raising :class:`~bot.errors.BudgetExceededError` when a limit stops it)
and the real usage is charged once the answer is stored.

The engine knows nothing about how an answer is shown. :meth:`Engine.answer` returns an
:class:`AnswerStream`: :meth:`AnswerStream.open` says whether there is anything to answer (and who
answers), iterating yields text deltas, then :attr:`AnswerStream.result` holds the stored answer.

Guarantees (with a store that keeps the :class:`~bot.core.ports.ConversationStore` contract):
- a user's turn is stored *before* the model is called, so an outage loses nothing: the next
  answer in that thread picks it up;
- answers in one conversation never interleave: answering holds the conversation's lock, and a
  second answerer that finds nothing pending does nothing;
- a handoff is one atomic store operation (new agent and model, the handoff record, the prompt
  turn): a crash leaves either the old state or the new one, and the next answer picks it up;
- an answer cut by the deadline is stored with ``status="cut"`` and said to be cut, not lost.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum

from bot.core.budget import PromptResult, build_prompt
from bot.core.context import Attachment, ImageDetail, ImageInput, Notice, accepts_images
from bot.core.conversation import (
    Conversation,
    ConversationMeta,
    HandoffRecord,
    Role,
    Turn,
    Usage,
    UserMessage,
)
from bot.core.governance import Budget
from bot.core.model_names import resolve_model
from bot.core.ports import (
    AppendOutcome,
    ChatMessage,
    ChatModel,
    Clock,
    Completion,
    ConversationStore,
    FileSource,
    HandoffStatus,
    LockedConversation,
    ModelRequest,
    Opened,
    TextDelta,
    TokenCounter,
)
from bot.core.prompts import turn_message
from bot.core.quota import Reservation
from bot.core.record import Rebuilt
from bot.core.refs import HandoffRef
from bot.core.registry import Registry, ResolvedHandoff
from bot.errors import (
    AgentNotFoundError,
    BotError,
    ConversationNotFoundError,
    HandoffNotAllowedError,
    StaleHandoffError,
    ThreadForgottenError,
)
from bot.logging import get_logger

log = get_logger("bot.engine")

CUT_NOTICE = "\n\n_(Answer cut short: it ran out of time. Reply in the thread to continue.)_"
MAX_PROMPT_IMAGE_BYTES = 40_000_000  # OpenAI takes 50 MB per request; the newest images go first


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
    image_detail: ImageDetail = "high"


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
    notices: tuple[Notice, ...] = ()  # what the person should know (an image that could not be fetched)

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


@dataclass(frozen=True, slots=True)
class AnswerPlan:
    """What an answer is about to do: who answers, with which model, covering which turns.

    ``answer_id`` is the id the answer will be stored with (known before the first word, so every
    Slack message of the answer can carry it); ``notices`` what the person should know first (their
    images go to a model that cannot see them).
    """

    conversation: Conversation
    agent: str
    model: str
    pending: tuple[Turn, ...]
    answer_id: str = ""
    notices: tuple[Notice, ...] = ()


class ReplyOutcome(StrEnum):
    """What :meth:`Engine.reply` did with a reply."""

    STORED = "stored"
    DUPLICATE = "duplicate"  # a re-delivery: stored before
    NOT_FOUND = "not_found"  # no conversation in that thread: not ours, or forgotten by the store
    PARKED = "parked"  # the conversation is being created: the reply is adopted by it
    REFUSED = "refused"  # its author may not use the thread's agent: nothing stored


class ForgetCheck(StrEnum):
    """May a person have a conversation forgotten (after :meth:`Engine.forget`: was it forgotten)."""

    ALLOWED = "allowed"  # the starter or an admin: forgotten (or may be)
    NOT_ALLOWED = "not_allowed"  # someone else
    NOT_FOUND = "not_found"  # no conversation (never the bot's, or expired)
    ALREADY = "already"  # forgotten before


@dataclass(frozen=True, slots=True)
class Adopted:
    """What :meth:`Engine.adopt` did."""

    created: bool  # False: the conversation existed (another process re-created it first)
    agent: str
    turns: int  # turns taken over from the thread
    forgotten: bool = False  # the thread was forgotten on request: nothing was stored


@dataclass(frozen=True, slots=True)
class Continued:
    """What :meth:`Engine.continue_or_start` did."""

    started: bool
    agent: str
    stored: bool
    refused: bool = False  # its author may not use ``agent``: nothing stored
    forgotten: bool = False  # the thread was forgotten on request: nothing stored


class AnswerStream:
    """One answer: :meth:`open` (lock + one read), then text deltas, then :attr:`result`.

    Iterating without calling :meth:`open` opens implicitly. Closing early (:meth:`close`) releases
    the lock and stores nothing. Errors are the typed errors of :mod:`bot.errors`.
    """

    def __init__(self, generator: Iterator[AnswerPlan | AnswerResult | str]) -> None:
        self._generator = generator
        self._opened = False
        self._plan: AnswerPlan | None = None
        self._result: AnswerResult | None = None

    def open(self) -> AnswerPlan | None:
        """Take the lock and read the conversation; None (and the lock released) if nothing is pending."""
        if not self._opened:
            self._opened = True
            first = next(self._generator, None)
            self._plan = first if isinstance(first, AnswerPlan) else None
        return self._plan

    @property
    def plan(self) -> AnswerPlan | None:
        """What :meth:`open` found."""
        return self._plan

    def __iter__(self) -> Iterator[str]:
        if self.open() is None:
            return
        for item in self._generator:
            if isinstance(item, str):
                yield item
            elif isinstance(item, AnswerResult):
                self._result = item

    def close(self) -> None:
        """Stop early (releases the lock)."""
        close = getattr(self._generator, "close", None)
        if close is not None:
            close()

    @property
    def result(self) -> AnswerResult | None:
        """The stored answer; None until the stream is exhausted, or if nothing was pending."""
        return self._result

    def drain(self) -> AnswerResult | None:
        """Consume the whole stream (for callers that don't render progressively)."""
        for _ in self:
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
        files: FileSource | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        self.model = model
        self.counter = counter
        self.clock = clock
        self.config = config
        self.files = files
        self.budget = budget

    # ------------------------------------------------------------------------------- deliveries

    @contextmanager
    def once(self, delivery_id: str) -> Iterator[bool]:
        """Run a delivery (a Slack event, click, command) at most once across retries and re-deliveries.

        Yields False when another attempt already claimed ``delivery_id`` (do nothing). A typed
        :class:`~bot.errors.BotError` completes the claim (it was told; a retry would fail the
        same way); any other exception releases it so a retry may do the work.
        """
        # In progress for as long as one attempt can run: a concurrent duplicate is skipped, while
        # Lambda's retry of an attempt that timed out (a minute or more later) finds it expired.
        claim_ttl = max(60.0, self.config.lock_ttl_s)
        if not self.store.claim(delivery_id, ttl_s=claim_ttl):
            log.info("duplicate_delivery_skipped", delivery=delivery_id)
            yield False
            return
        try:
            yield True
        except BotError:
            self.store.complete(delivery_id)
            raise
        except Exception:
            self.store.release(delivery_id)
            raise
        else:
            self.store.complete(delivery_id)

    # ------------------------------------------------------------------------------------- read

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The stored conversation (e.g. to continue a Slack thread in the terminal), or None."""
        return self.store.get(conversation_id)

    # ------------------------------------------------------------------------------------ start

    def start(
        self,
        *,
        conversation_id: str,
        agent: str,
        message: UserMessage,
        team_id: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
    ) -> Turn:
        """Open a conversation owned by ``agent`` with the user's first turn; returns that turn.

        One store operation. Idempotent: starting the same conversation id again keeps the first
        one's agent and stores the turn only once (same message id).
        """
        spec = self.registry.get(agent)
        if spec is None:
            raise AgentNotFoundError(f"unknown agent {agent!r}")
        turn = self._user_turn(spec.name, message)
        opened = self.store.open(self._meta(conversation_id, spec.name, team_id, channel_id, thread_ts), turn)
        if opened.forgotten:
            raise ThreadForgottenError(conversation_id)
        log.info(
            "conversation_started", conversation=conversation_id, agent=opened.agent, created=opened.created
        )
        return turn

    def reply(
        self,
        *,
        conversation_id: str,
        message: UserMessage,
        park_if_missing: bool = False,
        refuse_agents: frozenset[str] = frozenset(),
    ) -> ReplyOutcome:
        """Store a reply in an existing conversation: one store operation, no read.

        ``park_if_missing``: the thread is known to be the bot's (e.g. under its own message) but
        has no conversation yet; the reply is kept aside and adopted when the conversation is
        created, so a reply that overtakes :meth:`start` is answered, not dropped.
        ``refuse_agents``: agents the author may not use; if the thread's agent is one, nothing is
        stored (REFUSED; :meth:`current_agent` names it).
        """
        turn = self._user_turn(None, message)
        outcome = self.store.append_turn(
            conversation_id, turn, park_if_missing=park_if_missing, refuse_agents=refuse_agents
        )
        return {
            AppendOutcome.STORED: ReplyOutcome.STORED,
            AppendOutcome.DUPLICATE: ReplyOutcome.DUPLICATE,
            AppendOutcome.PARKED: ReplyOutcome.PARKED,
            AppendOutcome.MISSING: ReplyOutcome.NOT_FOUND,
            AppendOutcome.REFUSED: ReplyOutcome.REFUSED,
        }[outcome]

    def current_agent(self, conversation_id: str) -> str | None:
        """The conversation's current agent (one read), or None when there is no conversation."""
        conversation = self.store.get(conversation_id)
        return conversation.agent if conversation is not None else None

    def continue_or_start(
        self,
        *,
        conversation_id: str,
        default_agent: str,
        message: UserMessage,
        team_id: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
        refuse_agents: frozenset[str] = frozenset(),
    ) -> Continued:
        """Add the message to the thread's conversation, or start one with ``default_agent``.

        One atomic store operation, so two mentions at the same moment make one conversation.
        Nothing is stored when the agent that would answer is in ``refuse_agents`` (``refused``) or
        the thread was forgotten (``forgotten``).
        """
        spec = self.registry.get(default_agent)
        if spec is None:
            raise AgentNotFoundError(f"unknown agent {default_agent!r}")
        turn = self._user_turn(None, message)
        meta = self._meta(conversation_id, spec.name, team_id, channel_id, thread_ts)
        opened = self.store.open(meta, turn, refuse_agents=refuse_agents)
        if opened.created:
            log.info("conversation_started", conversation=conversation_id, agent=opened.agent)
        return Continued(
            started=opened.created,
            agent=opened.agent,
            stored=opened.stored,
            refused=opened.refused,
            forgotten=opened.forgotten,
        )

    def _meta(
        self,
        conversation_id: str,
        agent: str,
        team_id: str | None,
        channel_id: str | None,
        thread_ts: str | None,
    ) -> ConversationMeta:
        now = self.clock.now()
        return ConversationMeta(
            id=conversation_id,
            agent=agent,
            created_at=now,
            updated_at=now,
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
        )

    def _user_turn(self, agent: str | None, message: UserMessage) -> Turn:
        now = self.clock.now()
        turn_ts = message.ts or slack_ts(now)
        return Turn(
            id=message.id or turn_ts,
            role=Role.USER,
            text=message.text,
            ts=turn_ts,
            user_id=message.user_id,
            agent=agent,
            created_at=now,
            attachments=message.attachments,
        )

    # ------------------------------------------------------------------------------------ adopt

    def adopt(
        self,
        *,
        conversation_id: str,
        rebuilt: Rebuilt,
        default_agent: str | None,
        team_id: str | None = None,
        channel_id: str | None = None,
        thread_ts: str | None = None,
    ) -> Adopted:
        """Create the conversation from its thread as read back (:func:`bot.core.record.rebuild`).

        One atomic store operation. The thread's current agent (after handoffs too) answers from
        now on; when the thread names none (a discussion the bot joins) or names an agent no longer
        loaded, ``default_agent`` does. Handoff prompt turns get the handoff's prompt from the agent
        files. An existing conversation is left alone (``created`` False).
        """
        spec = self.registry.get(rebuilt.agent) if rebuilt.agent else None
        model = rebuilt.model if spec is not None else None
        if spec is None and default_agent is not None:
            spec = self.registry.get(default_agent)
        if spec is None:
            raise AgentNotFoundError(f"no agent for the thread (thread: {rebuilt.agent!r})")
        turns = [
            turn.model_copy(update={"text": self._handoff_prompt(rebuilt, turn)})
            if turn.role is Role.USER and turn.id.startswith("handoff-") and not turn.text
            else turn
            for turn in rebuilt.turns
        ]
        meta = self._meta(conversation_id, spec.name, team_id, channel_id, thread_ts).model_copy(
            update={"last_answer_id": rebuilt.last_answer_id, "model": model}
        )
        opened: Opened = self.store.adopt(meta, turns, rebuilt.handoffs)
        if opened.forgotten:  # forgotten on request: never rebuilt
            log.info("conversation_not_rebuilt_forgotten", conversation=conversation_id)
            return Adopted(created=False, agent=opened.agent, turns=0, forgotten=True)
        log.info(
            "conversation_rebuilt" if rebuilt.answers else "conversation_joined",
            conversation=conversation_id,
            agent=opened.agent,
            created=opened.created,
            messages=rebuilt.messages,
            turns=len(turns),
        )
        return Adopted(created=opened.created, agent=opened.agent, turns=len(turns))

    def _handoff_prompt(self, rebuilt: Rebuilt, turn: Turn) -> str:
        """The prompt of the handoff a rebuilt handoff turn stands for (the agent files say it)."""
        handoff = next(
            (h for h in rebuilt.handoffs if h.to_agent == turn.agent and h.at == turn.created_at), None
        )
        found = self.registry.handoff_to(handoff.from_agent, handoff.to_agent) if handoff else None
        if found is not None:
            return found.handoff.prompt
        return f"(The thread was handed over to {turn.agent}.)"

    # ----------------------------------------------------------------------------------- answer

    def answer(self, conversation_id: str, *, deadline: float) -> AnswerStream:
        """Let the current agent answer the turns it has not answered yet.

        ``deadline`` is a ``clock.monotonic()`` value (on Lambda: now + remaining time - margin).
        :meth:`AnswerStream.open` returns None when another answer already covered every pending
        turn; raises :class:`ConversationNotFoundError` when the conversation does not exist.
        """
        return AnswerStream(self._answer(conversation_id, deadline))

    def _answer(self, conversation_id: str, deadline: float) -> Iterator[AnswerPlan | AnswerResult | str]:
        left = deadline - self.clock.monotonic()
        wait_s = max(0.0, min(self.config.lock_wait_s, left - 1.0))
        # the lock must outlive this answer, or a second answer could start in the middle of it
        ttl_s = max(self.config.lock_ttl_s, left + 15.0)
        with self.store.locked(conversation_id, ttl_s=ttl_s, wait_s=wait_s) as locked:
            conversation = locked.conversation
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
            model = conversation.meta.model or choice.model
            answer_id = f"a-{uuid.uuid4().hex}"
            prompt = self._prompt(conversation, agent=spec.name, instructions=spec.instructions, model=model)
            payer = pending[-1].user_id
            channel_id = conversation.meta.channel_id
            budget = self.budget if payer and channel_id else None
            # before anything is shown: a refusal here reaches the person without a placeholder
            reservation = (
                budget.reserve(
                    user_id=payer, estimate_tokens=prompt.prompt_tokens + self.config.reserve_tokens
                )
                if budget is not None and payer
                else None
            )
            unseen = [
                a.name
                for t in pending
                for a in t.attachments
                if a.kind == "image" and not accepts_images(model)
            ]
            notices = (Notice.images_not_seen(spec.name, model, unseen),) if unseen else ()
            yield AnswerPlan(
                conversation=conversation,
                agent=spec.name,
                model=model,
                pending=pending,
                answer_id=answer_id,
                notices=notices,
            )
            usage: Usage | None = None
            try:
                for item in self._generate(
                    locked=locked,
                    conversation=conversation,
                    agent=spec.name,
                    model=model,
                    prompt=prompt,
                    deadline=deadline,
                    answer_id=answer_id,
                ):
                    if isinstance(item, AnswerResult):
                        usage = item.turn.usage
                    yield item
            finally:
                if budget is not None and payer and channel_id:
                    self._charge(
                        budget, reservation, payer=payer, agent=spec.name, channel_id=channel_id, usage=usage
                    )

    def _charge(
        self,
        budget: Budget,
        reservation: Reservation | None,
        *,
        payer: str,
        agent: str,
        channel_id: str,
        usage: Usage | None,
    ) -> None:
        """Charge the real usage (None: the answer failed, the reservation is given back)."""
        try:
            budget.charge(reservation, user_id=payer, agent=agent, channel_id=channel_id, usage=usage)
        except BotError as error:  # the answer is out already; the estimate stays counted until midnight
            log.warning("usage_not_charged", kind=error.kind, detail=error.detail)

    def _prompt(
        self, conversation: Conversation, *, agent: str, instructions: str, model: str
    ) -> PromptResult:
        """The prompt within the token budget (its size is the estimate a budget reserves)."""
        prompt = build_prompt(
            instructions=instructions,
            turns=conversation.turns,
            agent=agent,
            model=model,
            counter=self.counter,
            max_prompt_tokens=self.config.max_prompt_tokens,
            reserve_tokens=self.config.reserve_tokens,
            vision=accepts_images(model),
            image_detail=self.config.image_detail,
        )
        if prompt.dropped_turns:
            log.info(
                "prompt_trimmed",
                conversation=conversation.meta.id,
                dropped_turns=prompt.dropped_turns,
                prompt_tokens=prompt.prompt_tokens,
                limit=prompt.limit,
            )
        return prompt

    def _generate(
        self,
        *,
        locked: LockedConversation,
        conversation: Conversation,
        agent: str,
        model: str,
        prompt: PromptResult,
        deadline: float,
        answer_id: str,
    ) -> Iterator[AnswerResult | str]:
        conversation_id = conversation.meta.id
        pending = conversation.pending_user_turns()
        messages, notices = self._with_images(
            prompt, agent=agent, vision=accepts_images(model), pending=pending, deadline=deadline
        )
        fallbacks = self.registry.model_for(agent).fallbacks if conversation.meta.model is None else ()
        request = ModelRequest(
            model=model,
            messages=messages,
            max_output_tokens=self.config.reserve_tokens,
            fallback_models=fallbacks,
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
            id=answer_id,
            role=Role.ASSISTANT,
            text=text,
            ts=slack_ts(now),
            agent=agent,
            status="cut" if cut else "complete",
            usage=usage,
            created_at=now,
            answered=tuple(t.id for t in pending),
        )
        locked.finish(turn)
        log.info(
            "answer_stored",
            conversation=conversation_id,
            agent=agent,
            model=usage.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            latency_ms=usage.latency_ms,
            first_token_ms=usage.first_token_ms,
            cut=cut,
            answer_chars=len(text),
        )
        yield AnswerResult(
            conversation_id=conversation_id,
            turn=turn,
            agent=agent,
            handoffs=self.registry.handoffs(agent),
            answered_turn_ids=tuple(t.id for t in pending),
            prompt_tokens=prompt.prompt_tokens,
            dropped_turns=prompt.dropped_turns,
            cut=cut,
            notices=notices,
        )

    def _with_images(
        self, prompt: PromptResult, *, agent: str, vision: bool, pending: tuple[Turn, ...], deadline: float
    ) -> tuple[tuple[ChatMessage, ...], tuple[Notice, ...]]:
        """The prompt's messages with their images fetched (newest first, within the byte cap).

        An image that cannot be fetched (or no longer fits) is left out and said not to be shown to
        the model; the person is told why when it belongs to a message this answer covers.
        """
        messages = list(prompt.messages)
        if not vision:
            return tuple(messages), ()
        notices: list[Notice] = []
        budget = MAX_PROMPT_IMAGE_BYTES
        for index in range(len(messages) - 1, -1, -1):
            turn = prompt.sources[index] if index < len(prompt.sources) else None
            wanted = [a for a in turn.attachments if a.kind == "image"] if turn is not None else []
            if turn is None or not wanted:
                continue
            fetched: list[tuple[str, ImageInput]] = []
            for attachment in wanted:
                image, notice = self._fetch_image(attachment, deadline)
                if image is None or len(image.data) > budget:
                    if notice is not None and turn in pending:
                        notices.append(notice)
                    log.info("image_left_out", file_id=attachment.id, fetched=image is not None)
                    continue
                budget -= len(image.data)
                fetched.append((attachment.id, image))
            message = turn_message(turn, agent, shown_images=frozenset(i for i, _ in fetched))
            messages[index] = ChatMessage(
                role=message.role, content=message.content, images=tuple(i for _, i in fetched)
            )
        return tuple(messages), tuple(notices)

    def _fetch_image(
        self, attachment: Attachment, deadline: float
    ) -> tuple[ImageInput | None, Notice | None]:
        if self.files is None:
            return None, None
        try:
            return self.files.image(attachment, deadline=deadline), None
        except LookupError as error:
            notice = error.args[0] if error.args else None
            return None, notice if isinstance(notice, Notice) else None

    # --------------------------------------------------------------------------------- handoff

    def allowed_handoff(self, agent: str, target: str) -> ResolvedHandoff:
        """The handoff ``agent`` offers to ``target``; raises if it offers none."""
        handoff = self.registry.handoff_to(agent, target)
        if handoff is None:
            raise HandoffNotAllowedError(f"{agent!r} offers no handoff to {target!r}")
        return handoff

    def handoff_model(self, handoff: ResolvedHandoff) -> str | None:
        """The OpenAI model a handoff's ``model`` names (mapped like an agent's), or None."""
        if not handoff.handoff.model:
            return None
        return resolve_model([handoff.handoff.model], self.registry.default_model).model

    def hand_off(self, *, ref: HandoffRef, by_user: str | None, prompt: str | None = None) -> HandoffOutcome:
        """Hand the conversation to ``ref.target`` from the buttons of answer ``ref.answer_id``.

        One atomic store operation, no read. The button's claims are checked against state: the
        handoff must be one ``ref.from_agent`` offers (registry), and the store verifies that the
        answer is the live one and was written by ``ref.from_agent``, so a forged value cannot
        reach an agent the answering agent does not list. Only the latest answer's buttons work,
        once: a second click or an old button raises :class:`StaleHandoffError`. ``prompt`` is the
        (possibly edited) text; None means the handoff's own prompt. The handoff's ``model`` (if
        any) answers from now on, wherever the conversation runs.
        """
        handoff = self.allowed_handoff(ref.from_agent, ref.target)
        text = (prompt if prompt is not None else handoff.handoff.prompt).strip() or handoff.handoff.prompt
        model = self.handoff_model(handoff)
        now = self.clock.now()
        record = HandoffRecord(
            from_agent=ref.from_agent,
            to_agent=handoff.target,
            label=handoff.handoff.label,
            by_user=by_user,
            at=now,
        )
        turn = Turn(
            id=f"handoff-{ref.answer_id}",
            role=Role.USER,
            text=text,
            ts=slack_ts(now),
            user_id=by_user,
            agent=handoff.target,
            created_at=now,
        )
        status = self.store.hand_off(
            ref.conversation_id, expected_answer_id=ref.answer_id, record=record, prompt=turn, model=model
        )
        if status is HandoffStatus.MISSING:
            raise ConversationNotFoundError(ref.conversation_id)
        if status is HandoffStatus.WRONG_AGENT:
            raise HandoffNotAllowedError(f"answer {ref.answer_id!r} was not written by {ref.from_agent!r}")
        if status is HandoffStatus.STALE:
            raise StaleHandoffError(f"answer {ref.answer_id!r} is not the latest or was used")
        log.info(
            "handed_off", conversation=ref.conversation_id, from_agent=ref.from_agent, to_agent=handoff.target
        )
        return HandoffOutcome(
            conversation_id=ref.conversation_id,
            from_agent=ref.from_agent,
            to_agent=handoff.target,
            label=handoff.handoff.label,
            prompt_turn=turn,
            model=model,
        )

    # ---------------------------------------------------------------------------------- forget

    def forget_permission(self, conversation_id: str, *, by_user: str | None, admin: bool) -> ForgetCheck:
        """May ``by_user`` have this conversation forgotten? Its starter (first turn's author) or an admin."""
        if self.store.is_forgotten(conversation_id):
            return ForgetCheck.ALREADY
        conversation = self.store.get(conversation_id)
        if conversation is None:
            return ForgetCheck.NOT_FOUND
        starter = conversation.turns[0].user_id if conversation.turns else None
        if admin or (by_user is not None and by_user == starter):
            return ForgetCheck.ALLOWED
        return ForgetCheck.NOT_ALLOWED

    def forget(self, conversation_id: str, *, by_user: str | None, admin: bool) -> ForgetCheck:
        """Delete the conversation (starter or admin only) and keep it from ever being reopened.

        Returns what happened: ALLOWED means it is forgotten now. Checks the permission again (the
        confirmation button may be clicked long after it was shown).
        """
        check = self.forget_permission(conversation_id, by_user=by_user, admin=admin)
        if check is ForgetCheck.ALLOWED:
            self.store.forget(conversation_id)
            log.info("conversation_forgotten", conversation=conversation_id, by_admin=admin)
        return check

    def is_forgotten(self, conversation_id: str) -> bool:
        """True when the conversation was forgotten on request (nothing may rebuild it)."""
        return self.store.is_forgotten(conversation_id)
