"""The engine's facade: :class:`Engine` wires the use cases once (see :mod:`bot.core.engine`)."""

from __future__ import annotations

from contextlib import AbstractContextManager

from bot.core.conversation import Conversation, RecentThread, ShownAnswer, Turn, UserMessage
from bot.core.engine.answer import Answering, AnswerStream
from bot.core.engine.deliveries import Deliveries
from bot.core.engine.forget import Forgetting
from bot.core.engine.handoff import Handoffs
from bot.core.engine.images import PromptImages
from bot.core.engine.intake import Intake
from bot.core.engine.model_loop import ModelLoop
from bot.core.engine.outcomes import (
    Adopted,
    Continued,
    EngineConfig,
    ForgetCheck,
    Forgotten,
    HandoffOutcome,
    ReplyOutcome,
)
from bot.core.engine.shown import RECENT_SHOWN, RecentThreads, Shown
from bot.core.governance import Quota
from bot.core.ports import (
    ChatModel,
    Clock,
    ConversationStore,
    FileSource,
    TokenCounter,
    VoteOutcome,
)
from bot.core.refs import ApprovalRef, FeedbackRef, HandoffRef
from bot.core.registry import Registry
from bot.core.thread_record import Rebuilt
from bot.core.tools import ApprovalPolicy, ToolboxFactory, ToolConfig, ToolRules


class Engine:
    """Use cases over a registry, a store, a model, a token counter and a clock.

    The collaborators are wired into the use cases once, here: to answer with another model or
    other limits, build another engine (over the same store, it sees the same conversations).
    """

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
        quota: Quota | None = None,
        tools: ToolboxFactory | None = None,
        tool_config: ToolConfig | None = None,
        tool_rules: ToolRules | None = None,
        approvals: ApprovalPolicy | None = None,
    ) -> None:
        self.registry = registry
        self.store = store
        self.model = model
        self.counter = counter
        self.clock = clock
        self.config = config
        self.files = files
        self.quota = quota
        self.tools = tools
        self.tool_config = tool_config or ToolConfig()
        self.tool_rules = tool_rules or ToolRules()
        self.approvals = approvals or ApprovalPolicy()
        recents = RecentThreads(store=store, clock=clock)
        self._deliveries = Deliveries(store=store, lock_ttl_s=config.lock_ttl_s)
        self._intake = Intake(registry=registry, store=store, clock=clock, recents=recents)
        self._recents = recents
        loop = ModelLoop(
            registry=registry,
            model=model,
            counter=counter,
            clock=clock,
            config=config,
            images=PromptImages(files=files),
            tool_rules=self.tool_rules,
            approvals=self.approvals,
        )
        self._answering = Answering(
            registry=registry,
            store=store,
            counter=counter,
            clock=clock,
            config=config,
            loop=loop,
            quota=quota,
            tools=tools,
            tool_config=self.tool_config,
            tool_rules=self.tool_rules,
        )
        self._handoffs = Handoffs(registry=registry, store=store, clock=clock)
        self._forgetting = Forgetting(store=store, records=store)
        self._shown = Shown(store=store, clock=clock)

    # ------------------------------------------------------------------------------- deliveries

    def once(self, delivery_id: str) -> AbstractContextManager[bool]:
        """Run a delivery at most once across retries and re-deliveries (False: skip it).
        See :meth:`Deliveries.once <bot.core.engine.deliveries.Deliveries.once>`."""
        return self._deliveries.once(delivery_id)

    # ----------------------------------------------------------------------------------- intake

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The stored conversation (e.g. to continue a Slack thread in the terminal), or None."""
        return self._intake.conversation(conversation_id)

    def find_thread(self, *, channel_id: str, thread_ts: str) -> list[str]:
        """Ids of the stored conversations of a Slack thread, whatever the team (for tools)."""
        return self._intake.find_thread(channel_id=channel_id, thread_ts=thread_ts)

    def copy_in(self, conversation: Conversation, *, conversation_id: str) -> Conversation:
        """Store a copy of ``conversation`` as ``conversation_id`` (the terminal reproduces a thread)."""
        return self._intake.copy_in(conversation, conversation_id=conversation_id)

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
        """Open a conversation owned by ``agent`` with the user's first turn (one store operation)."""
        return self._intake.start(
            conversation_id=conversation_id,
            agent=agent,
            message=message,
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
        )

    def reply(
        self,
        *,
        conversation_id: str,
        message: UserMessage,
        park_if_missing: bool = False,
        refuse_agents: frozenset[str] = frozenset(),
    ) -> ReplyOutcome:
        """Store a reply in an existing conversation (or park it): one store operation, no read."""
        return self._intake.reply(
            conversation_id=conversation_id,
            message=message,
            park_if_missing=park_if_missing,
            refuse_agents=refuse_agents,
        )

    def current_agent(self, conversation_id: str) -> str | None:
        """The conversation's current agent (one read), or None when there is no conversation."""
        return self._intake.current_agent(conversation_id)

    def knows(self, conversation_id: str) -> bool:
        """Whether the conversation exists (before doing costly work for a message, e.g. its files)."""
        return self._intake.knows(conversation_id)

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
        """Add the message to the thread's conversation, or start one with ``default_agent`` (atomic)."""
        return self._intake.continue_or_start(
            conversation_id=conversation_id,
            default_agent=default_agent,
            message=message,
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
            refuse_agents=refuse_agents,
        )

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
        """Create the conversation from its thread as read back (one atomic store operation)."""
        return self._intake.adopt(
            conversation_id=conversation_id,
            rebuilt=rebuilt,
            default_agent=default_agent,
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
        )

    # ----------------------------------------------------------------------------------- answer

    def answer(self, conversation_id: str, *, deadline: float) -> AnswerStream:
        """Let the current agent answer the turns it has not answered yet (``deadline``: monotonic)."""
        return self._answering.answer(conversation_id, deadline=deadline)

    def decide(
        self, *, ref: ApprovalRef, by_user: str | None, approve: bool, admin: bool = False, deadline: float
    ) -> AnswerStream:
        """Approve or deny the tool call an answer waits on, then let the answer go on (streaming)."""
        return self._answering.decide(
            ref=ref, by_user=by_user, approve=approve, admin=admin, deadline=deadline
        )

    # ---------------------------------------------------------------------------------- handoff

    def hand_off(self, *, ref: HandoffRef, by_user: str | None, prompt: str | None = None) -> HandoffOutcome:
        """Hand the conversation to ``ref.target`` from the buttons of answer ``ref.answer_id`` (atomic)."""
        return self._handoffs.hand_off(ref=ref, by_user=by_user, prompt=prompt)

    # ----------------------------------------------------------------------------------- forget

    def forget_permission(self, conversation_id: str, *, by_user: str | None, admin: bool) -> ForgetCheck:
        """May ``by_user`` have this conversation forgotten? Its starter or an admin."""
        return self._forgetting.permission(conversation_id, by_user=by_user, admin=admin)

    def forget(self, conversation_id: str, *, by_user: str | None, admin: bool) -> Forgotten:
        """Delete the conversation (starter or admin only) and keep it from ever being reopened; says
        whether it was, and which canvas the bot had made for the thread."""
        return self._forgetting.forget(conversation_id, by_user=by_user, admin=admin)

    def is_forgotten(self, conversation_id: str) -> bool:
        """True when the conversation was forgotten on request (nothing may rebuild it)."""
        return self._forgetting.is_forgotten(conversation_id)

    # -------------------------------------------------- what Slack shows: buttons, votes, canvas

    def show_answer(
        self, conversation_id: str, *, answer_id: str, agent: str | None, message_ts: str, restore: str
    ) -> tuple[ShownAnswer, ...]:
        """Record where ``answer_id``'s handoff buttons are shown; returns the now stale ones."""
        return self._shown.show_answer(
            conversation_id, answer_id=answer_id, agent=agent, message_ts=message_ts, restore=restore
        )

    def vote(
        self, ref: FeedbackRef, *, by_user: str, positive: bool, comment: str | None = None
    ) -> VoteOutcome:
        """A person's thumbs up or down (and comment) on an answer: one vote per person per answer."""
        return self._shown.vote(ref, by_user=by_user, positive=positive, comment=comment)

    def feedback_by_agent(self) -> dict[str, tuple[int, int]]:
        """Thumbs up and down per agent, across all conversations."""
        return self._shown.feedback_by_agent()

    def save_canvas(self, conversation_id: str, canvas_id: str, *, replacing: str | None) -> str | None:
        """Record the thread's canvas (compare-and-set over ``replacing``); returns the one recorded."""
        return self._shown.save_canvas(conversation_id, canvas_id, replacing=replacing)

    def recent_threads(self, user_id: str, limit: int = RECENT_SHOWN) -> tuple[RecentThread, ...]:
        """The Slack threads a person started or mentioned the bot in lately, newest first."""
        return self._recents.recent(user_id, limit)
