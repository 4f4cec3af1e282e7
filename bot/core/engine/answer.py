"""Answering: the answer stream, the lock and the one read, the prompt, the quota's reservation and charge.

:meth:`Answering.answer` lets the current agent answer everything not answered yet;
:meth:`Answering.decide` lets an answer paused on a tool call go on after a click. Both take the
conversation's lock and read it once, prepare the answer (tools, prompt, reservation, plan) and
hand it to :class:`~bot.core.engine.model_loop.ModelLoop`; the real usage is charged at the end.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Generator, Iterator
from contextlib import contextmanager

from bot.core.agents import AgentSpec
from bot.core.conversation import Conversation, Turn, Usage
from bot.core.engine.model_loop import AnswerJob, ModelLoop, Resume, decided_approval, lapsed_approval
from bot.core.engine.outcomes import (
    AnswerEvent,
    AnswerPlan,
    AnswerResult,
    ApprovalRequest,
    EngineConfig,
    StopAnswer,
    ToolNotice,
)
from bot.core.governance import Quota
from bot.core.image_cost import accepts_images
from bot.core.notices import Notice
from bot.core.ports import Clock, Conversations, LockedConversation, TokenCounter
from bot.core.prompt_fit import PromptResult, build_prompt
from bot.core.quota import Reservation
from bot.core.refs import ApprovalRef
from bot.core.registry import Registry
from bot.core.tools import Toolbox, ToolboxFactory, ToolConfig, ToolRules, plan_tools
from bot.errors import AgentNotFoundError, BotError, ConversationNotFoundError
from bot.logging import get_logger

log = get_logger("bot.engine")

Answered = Generator[AnswerPlan | AnswerResult | AnswerEvent, None, None]


class AnswerStream:
    """One answer: :meth:`open` (lock + one read), then text deltas, then :attr:`result`.

    Iterating yields the text deltas only; :meth:`events` also yields the tool calls as they happen
    (:class:`~bot.core.engine.outcomes.ToolActivity`, :class:`~bot.core.engine.outcomes.ToolNotice`)
    and, when the answer pauses for approval, one :class:`~bot.core.engine.outcomes.ApprovalRequest` (then
    :attr:`paused` is set and :attr:`result` stays None). Iterating without calling :meth:`open`
    opens implicitly. Closing early (:meth:`close`) releases the lock and stores nothing. Errors
    are the typed errors of :mod:`bot.errors`.
    """

    def __init__(self, generator: Answered) -> None:
        self._generator = generator
        self._opened = False
        self._plan: AnswerPlan | None = None
        self._result: AnswerResult | None = None
        self._paused: ApprovalRequest | None = None

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

    def events(self) -> Iterator[AnswerEvent]:
        """Text deltas, tool activity and (at most one, last) approval request, in order."""
        if self.open() is None:
            return
        for item in self._generator:
            if isinstance(item, AnswerResult):
                self._result = item
            elif isinstance(item, AnswerPlan):
                continue
            else:
                if isinstance(item, ApprovalRequest):
                    self._paused = item
                yield item

    def __iter__(self) -> Iterator[str]:
        for item in self.events():
            if isinstance(item, str):
                yield item

    @property
    def paused(self) -> ApprovalRequest | None:
        """The call this answer waits on (set once the stream ended paused)."""
        return self._paused

    def stop(self) -> list[str]:
        """Stop the answer now: the text so far is stored as cut, with
        :data:`~bot.core.engine.outcomes.STOP_NOTICE`.

        For a :class:`StopAnswer` that arrived while the caller was handling a delta (one that
        arrives while the model or a tool is running stops the answer by itself). Returns the text
        still to show (the notice); :attr:`result` then holds the stored answer. Does nothing
        before the answer started or after it finished.
        """
        if self._plan is None or self._result is not None:
            return []
        rest: list[str] = []
        try:
            item = self._generator.throw(StopAnswer())
            while True:
                if isinstance(item, str):
                    rest.append(item)
                elif isinstance(item, AnswerResult):
                    self._result = item
                item = next(self._generator)
        except (StopIteration, StopAnswer):  # finished; or stopped before the model was called
            pass
        return rest

    def close(self) -> None:
        """Stop early (releases the lock and gives the quota's reservation back)."""
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


class Answering:
    """Answers under the conversation's lock: what is pending, or what a click decided."""

    def __init__(
        self,
        *,
        registry: Registry,
        store: Conversations,
        counter: TokenCounter,
        clock: Clock,
        config: EngineConfig,
        loop: ModelLoop,
        quota: Quota | None = None,
        tools: ToolboxFactory | None = None,
        tool_config: ToolConfig,
        tool_rules: ToolRules,
    ) -> None:
        self.registry = registry
        self.store = store
        self.counter = counter
        self.clock = clock
        self.config = config
        self.loop = loop
        self.quota = quota
        self.tools = tools
        self.tool_config = tool_config
        self.tool_rules = tool_rules

    def answer(self, conversation_id: str, *, deadline: float) -> AnswerStream:
        """Let the current agent answer the turns it has not answered yet.

        ``deadline`` is a ``clock.monotonic()`` value (on Lambda: now + remaining time - margin).
        :meth:`AnswerStream.open` returns None when another answer already covered every pending
        turn; raises :class:`ConversationNotFoundError` when the conversation does not exist.
        """
        return AnswerStream(self._answer(conversation_id, deadline))

    def decide(
        self, *, ref: ApprovalRef, by_user: str | None, approve: bool, admin: bool = False, deadline: float
    ) -> AnswerStream:
        """Approve or deny the tool call an answer waits on, then let the answer go on (streaming).

        Only the person who asked, or an admin, decides; only the conversation's pending approval
        with ``ref.approval_id`` is decided, once (taken atomically): a double click, a re-delivery
        or an old button raises :class:`StaleApprovalError` and runs nothing. A click after the
        time limit is a denial. :meth:`AnswerStream.open` raises those errors.
        """
        return AnswerStream(self._decide(ref, by_user, approve, admin, deadline))

    def _answer(self, conversation_id: str, deadline: float) -> Answered:
        with self._locked(conversation_id, deadline) as locked:
            conversation = locked.conversation
            if conversation is None:
                raise ConversationNotFoundError(conversation_id)
            pending = conversation.pending_user_turns()
            waits, resume = lapsed_approval(locked, conversation, clock=self.clock)
            if waits:
                return
            if not pending:
                log.info("nothing_pending", conversation=conversation_id)
                return
            spec = self._spec(conversation.agent)
            model = conversation.meta.model or self.registry.model_for(spec.name).model
            yield from self._run(
                locked, conversation, spec=spec, model=model, deadline=deadline, resume=resume
            )

    def _decide(
        self, ref: ApprovalRef, by_user: str | None, approve: bool, admin: bool, deadline: float
    ) -> Answered:
        with self._locked(ref.conversation_id, deadline) as locked:
            conversation = locked.conversation
            if conversation is None:
                raise ConversationNotFoundError(ref.conversation_id)
            taken, decision = decided_approval(
                locked, conversation, ref=ref, by_user=by_user, approve=approve, admin=admin, clock=self.clock
            )
            spec = self._spec(taken.agent)
            yield from self._run(
                locked,
                conversation,
                spec=spec,
                model=taken.model,
                deadline=deadline,
                resume=(taken, decision),
            )

    def _spec(self, agent: str) -> AgentSpec:
        spec = self.registry.get(agent)
        if spec is None:
            raise AgentNotFoundError(f"agent {agent!r} is no longer loaded")
        return spec

    @contextmanager
    def _locked(self, conversation_id: str, deadline: float) -> Iterator[LockedConversation]:
        left = deadline - self.clock.monotonic()
        wait_s = max(0.0, min(self.config.lock_wait_s, left - 1.0))
        # the lock must outlive this answer, or a second answer could start in the middle of it
        ttl_s = max(self.config.lock_ttl_s, left + 15.0)
        with self.store.locked(conversation_id, ttl_s=ttl_s, wait_s=wait_s) as locked:
            yield locked

    def _run(
        self,
        locked: LockedConversation,
        conversation: Conversation,
        *,
        spec: AgentSpec,
        model: str,
        deadline: float,
        resume: Resume | None,
    ) -> Answered:
        """Tools and prompt, the quota's reservation, the plan, the answer, then the charge."""
        pending = conversation.pending_user_turns()
        answer_id = f"a-{uuid.uuid4().hex}"
        toolbox, tool_notices, tools_tokens = self._toolbox(spec, model, deadline)
        prompt = self._prompt(
            conversation,
            agent=spec.name,
            instructions=spec.instructions,
            model=model,
            tools_tokens=tools_tokens,
        )
        payer = pending[-1].user_id if pending else None
        channel_id = conversation.meta.channel_id
        # before anything is shown: a refusal here reaches the person without a placeholder
        quota, reservation = self._reserve(
            payer,
            channel_id,
            estimate_tokens=prompt.prompt_tokens + tools_tokens + self.config.reserve_tokens,
        )
        usage: Usage | None = None
        # from here on the reservation is settled exactly once, however the answer ends: charged with
        # the real usage, or given back (usage None) when it fails or is stopped or closed, even at the plan
        try:
            yield AnswerPlan(
                conversation=conversation,
                agent=spec.name,
                model=model,
                pending=pending,
                answer_id=answer_id,
                notices=_images_not_seen(spec.name, model, pending),
                decision=resume[1] if resume is not None else None,
            )
            job = AnswerJob(
                locked=locked,
                conversation=conversation,
                spec=spec,
                model=model,
                deadline=deadline,
                prompt=prompt,
                answer_id=answer_id,
                toolbox=toolbox,
                tool_notices=tuple(tool_notices),
                tools_tokens=tools_tokens,
                resume=resume,
            )
            # `yield from`: a StopAnswer thrown in by AnswerStream.stop() reaches the model loop
            usage = yield from self.loop.generate(job)
        finally:
            if quota is not None and payer and channel_id:
                _charge(quota, reservation, payer=payer, agent=spec.name, channel_id=channel_id, usage=usage)

    def _reserve(
        self, payer: str | None, channel_id: str | None, *, estimate_tokens: int
    ) -> tuple[Quota | None, Reservation | None]:
        """The quota that pays for this answer (None: no quota, or no payer or channel) and its
        reservation of the estimated tokens (raises when a limit stops the answer)."""
        quota = self.quota if payer and channel_id else None
        if quota is None or not payer:
            return quota, None
        return quota, quota.reserve(user_id=payer, estimate_tokens=estimate_tokens)

    def _toolbox(
        self, spec: AgentSpec, model: str, deadline: float
    ) -> tuple[Toolbox | None, list[ToolNotice], int]:
        """The tools this agent may use in this answer (None: a plain answer), and their tokens."""
        if self.tools is None:
            return None, [], 0
        plan = plan_tools(spec, self.tool_config)
        if plan.empty:
            return None, [], 0
        listing_deadline = min(deadline, self.clock.monotonic() + self.tool_rules.call_timeout_s)
        toolbox = Toolbox(self.tools.providers(plan), deadline=listing_deadline)
        notices = []
        for failure in toolbox.failures:
            log.warning("tool_server_unavailable", agent=spec.name)
            notices.append(ToolNotice(line=f"⚠️ {failure}: its tools are not available for this answer"))
        if not toolbox:
            return None, notices, 0
        definitions = [
            {"name": t.name, "description": t.description, "parameters": t.parameters} for t in toolbox.specs
        ]
        return toolbox, notices, self.counter.count(json.dumps(definitions, default=str), model)

    def _prompt(
        self, conversation: Conversation, *, agent: str, instructions: str, model: str, tools_tokens: int = 0
    ) -> PromptResult:
        """The prompt within its token limit, less what the tool definitions take (its size is the
        estimate the quota reserves)."""
        prompt = build_prompt(
            instructions=instructions,
            turns=conversation.turns,
            agent=agent,
            model=model,
            counter=self.counter,
            max_prompt_tokens=max(1, self.config.max_prompt_tokens - tools_tokens),
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


def _images_not_seen(agent: str, model: str, pending: tuple[Turn, ...]) -> tuple[Notice, ...]:
    """The notice for people's images that go to a model that cannot see them (none when it can)."""
    unseen = [
        a.name for t in pending for a in t.attachments if a.kind == "image" and not accepts_images(model)
    ]
    return (Notice.images_not_seen(agent, model, unseen),) if unseen else ()


def _charge(
    quota: Quota,
    reservation: Reservation | None,
    *,
    payer: str,
    agent: str,
    channel_id: str,
    usage: Usage | None,
) -> None:
    """Charge the real usage (None: the answer failed, the reservation is given back)."""
    try:
        quota.charge(reservation, user_id=payer, agent=agent, channel_id=channel_id, usage=usage)
    except BotError as error:  # the answer is out already; the estimate stays counted until midnight
        log.warning("usage_not_charged", kind=error.kind, detail=error.detail)
