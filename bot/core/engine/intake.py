"""Intake: what people's messages do to conversations before any answer (each one store operation).

Starting a conversation, storing a reply (or parking it until the conversation it overtook exists),
continuing or starting a thread's conversation atomically, adopting a thread as Slack gives it back,
copying a conversation for the terminal; and the reads those callers need.
"""

from __future__ import annotations

from bot.core.conversation import Conversation, Role, Turn, UserMessage
from bot.core.engine.outcomes import Adopted, Continued, ReplyOutcome
from bot.core.engine.shown import RecentThreads
from bot.core.engine.turns import new_meta, user_turn
from bot.core.ports import AppendOutcome, Clock, Conversations, Opened
from bot.core.registry import Registry
from bot.core.thread_record import Rebuilt
from bot.errors import AgentNotFoundError, ConversationNotFoundError, ThreadForgottenError
from bot.logging import get_logger

log = get_logger("bot.engine")

_REPLY_OUTCOMES = {
    AppendOutcome.STORED: ReplyOutcome.STORED,
    AppendOutcome.DUPLICATE: ReplyOutcome.DUPLICATE,
    AppendOutcome.PARKED: ReplyOutcome.PARKED,
    AppendOutcome.MISSING: ReplyOutcome.NOT_FOUND,
    AppendOutcome.REFUSED: ReplyOutcome.REFUSED,
}


class Intake:
    """People's messages into conversations: start, reply, continue or start, adopt, copy in."""

    def __init__(
        self, *, registry: Registry, store: Conversations, clock: Clock, recents: RecentThreads
    ) -> None:
        self.registry = registry
        self.store = store
        self.clock = clock
        self.recents = recents

    # ------------------------------------------------------------------------------------- read

    def conversation(self, conversation_id: str) -> Conversation | None:
        """The stored conversation (e.g. to continue a Slack thread in the terminal), or None."""
        return self.store.get(conversation_id)

    def find_thread(self, *, channel_id: str, thread_ts: str) -> list[str]:
        """Ids of the stored conversations of a Slack thread, whatever the team (a thread link
        names no team). For tools, not the request path: the Redis store scans for them."""
        return self.store.find(channel_id=channel_id, thread_ts=thread_ts)

    def current_agent(self, conversation_id: str) -> str | None:
        """The conversation's current agent (one read), or None when there is no conversation."""
        conversation = self.store.get(conversation_id)
        return conversation.agent if conversation is not None else None

    def knows(self, conversation_id: str) -> bool:
        """Whether the conversation exists (before doing costly work for a message, e.g. its files)."""
        return self.store.exists(conversation_id)

    # ------------------------------------------------------------------------------------ write

    def copy_in(self, conversation: Conversation, *, conversation_id: str) -> Conversation:
        """Store a copy of ``conversation`` (agent, handoff model, kept turns) as ``conversation_id``.

        The terminal reproduces a Slack thread this way: read from the bot's store, copied into a
        local one, so nothing is written to the thread's own state. Turns not answered there are
        still pending here; a tool call waiting for approval there is not copied. One store
        operation per turn (a new, private conversation).
        """
        now = self.clock.now()
        meta = conversation.meta.model_copy(
            update={
                "id": conversation_id,
                "created_at": now,
                "updated_at": now,
                "last_answer_id": None,
                "pending_approval": None,
            }
        )
        if not self.store.create(meta):
            raise ValueError(f"conversation {conversation_id!r} exists already")
        for turn in conversation.turns:
            self.store.append_turn(conversation_id, turn)
        copied = self.store.get(conversation_id)
        if copied is None:
            raise ConversationNotFoundError(conversation_id)
        log.info("conversation_copied", conversation=conversation_id, turns=len(copied.turns))
        return copied

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
        turn = user_turn(self.clock, spec.name, message)
        meta = new_meta(
            self.clock,
            conversation_id,
            agent=spec.name,
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
        )
        opened = self.store.open(meta, turn)
        if opened.forgotten:
            raise ThreadForgottenError(conversation_id)
        log.info(
            "conversation_started", conversation=conversation_id, agent=opened.agent, created=opened.created
        )
        if opened.stored:
            self.recents.remember(conversation_id, message, opened.agent)
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
        turn = user_turn(self.clock, None, message)
        outcome = self.store.append_turn(
            conversation_id, turn, park_if_missing=park_if_missing, refuse_agents=refuse_agents
        )
        return _REPLY_OUTCOMES[outcome]

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
        turn = user_turn(self.clock, None, message)
        meta = new_meta(
            self.clock,
            conversation_id,
            agent=spec.name,
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
        )
        opened = self.store.open(meta, turn, refuse_agents=refuse_agents)
        if opened.created:
            log.info("conversation_started", conversation=conversation_id, agent=opened.agent)
        if opened.stored:
            self.recents.remember(conversation_id, message, opened.agent)
        return Continued(
            started=opened.created,
            agent=opened.agent,
            stored=opened.stored,
            refused=opened.refused,
            forgotten=opened.forgotten,
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
        """Create the conversation from its thread as read back (:func:`bot.core.thread_record.rebuild`).

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
        meta = new_meta(
            self.clock,
            conversation_id,
            agent=spec.name,
            team_id=team_id,
            channel_id=channel_id,
            thread_ts=thread_ts,
        ).model_copy(update={"last_answer_id": rebuilt.last_answer_id, "model": model})
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
