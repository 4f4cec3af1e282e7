"""The thread is the record: what the bot's messages carry, and how a thread read back becomes turns.

Pure. Every message the bot posts as part of a conversation carries Slack *message metadata*
(``metadata`` on ``chat.postMessage`` / ``chat.update``, read back by ``conversations.replies`` with
``include_all_metadata``): one :class:`Mark` with ids and names only, never text or secrets (other
apps in the workspace can read metadata):

- :class:`AnswerMark` (``architect_answer``) on each message of an answer: which agent answered, the
  answer's id (the conversation's turn id, so its handoff buttons keep working after a rebuild) and
  whether its handoff buttons are still live;
- :class:`HandoffMark` (``architect_handoff``) on the line that records a handoff: from, to, by whom;
- :class:`RequestMark` (``architect_request``) on the channel message a slash command posts on behalf
  of a person: which agent was asked, by whom.

:func:`rebuild` turns the messages of a thread (oldest first, as ``conversations.replies`` gives
them) into turns, the current agent, the handoff chain and the live answer: enough for the engine to
re-create a conversation the store lost and carry on as if nothing happened. Marks are trusted only
on the bot's own messages; anything else in the thread is what a person (or another app) said.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.core.conversation import HandoffRecord, Role, Turn
from bot.core.files import Attachment

EVENT_ANSWER = "architect_answer"
EVENT_HANDOFF = "architect_handoff"
EVENT_REQUEST = "architect_request"

AgentName = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][A-Za-z0-9._ -]*$")]
Id = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9._:-]+$")]


class _Mark(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class AnswerMark(_Mark):
    """On each message of an answer."""

    agent: AgentName
    answer_id: Id
    buttons: Literal["live", "used", "none"] = "none"


class HandoffMark(_Mark):
    """On the thread line that records a handoff."""

    from_agent: AgentName
    to_agent: AgentName
    answer_id: Id
    label: str = Field(default="", max_length=75)  # the button's label, from the agent file
    by_user: Id | None = None
    model: str | None = Field(default=None, max_length=100, pattern=r"^[A-Za-z0-9._:/-]+$")


class RequestMark(_Mark):
    """On the channel message a slash command posts for a person."""

    agent: AgentName
    user: Id | None = None


Mark = AnswerMark | HandoffMark | RequestMark
_EVENT_TYPES: dict[str, type[_Mark]] = {
    EVENT_ANSWER: AnswerMark,
    EVENT_HANDOFF: HandoffMark,
    EVENT_REQUEST: RequestMark,
}
_TYPE_OF = {cls: name for name, cls in _EVENT_TYPES.items()}


def metadata(mark: Mark) -> dict[str, Any]:
    """Slack's ``metadata`` argument for a message carrying ``mark``."""
    payload = mark.model_dump(exclude_none=True)
    return {"event_type": _TYPE_OF[type(mark)], "event_payload": payload}


def read_mark(raw: object) -> Mark | None:
    """The mark in a message's ``metadata``, or None (absent, another app's, or not valid)."""
    if not isinstance(raw, Mapping):
        return None
    cls = _EVENT_TYPES.get(str(raw.get("event_type") or ""))
    payload = raw.get("event_payload")
    if cls is None or not isinstance(payload, Mapping):
        return None
    try:
        mark = cls.model_validate(dict(payload))
    except ValidationError:
        return None
    assert isinstance(mark, AnswerMark | HandoffMark | RequestMark)
    return mark


# ------------------------------------------------------------------------------------- rebuild


@dataclass(frozen=True, slots=True)
class ThreadMessage:
    """One message of a thread as read back from Slack.

    ``from_bot`` is True for the bot's own messages (only those may carry a :class:`Mark`); ``text``
    is what the message says (for the bot's answers: the answer, without footer or buttons);
    ``attachments`` the files read from it and ``file_notes`` one line per file that could not be.
    """

    ts: str
    text: str
    user_id: str | None = None
    from_bot: bool = False
    mark: Mark | None = None
    attachments: tuple[Attachment, ...] = ()
    file_notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Rebuilt:
    """A conversation as the thread tells it."""

    agent: str | None  # the current agent (None: no agent of this bot ever took part)
    model: str | None  # the model the latest handoff chose for it, if any
    turns: tuple[Turn, ...]
    handoffs: tuple[HandoffRecord, ...]
    last_answer_id: str | None  # the answer whose handoff buttons are live
    messages: int  # messages read
    answers: int = 0
    pending: tuple[str, ...] = field(default=())  # ids of user turns no answer covered


def _ts_seconds(ts: str) -> float:
    try:
        return float(ts)
    except ValueError:
        return 0.0


def _user_text(message: ThreadMessage) -> str:
    text = message.text.strip()
    if message.file_notes:
        notes = "\n".join(f"[{note}]" for note in message.file_notes)
        text = f"{text}\n\n{notes}" if text else notes
    return text


def rebuild(messages: Sequence[ThreadMessage]) -> Rebuilt:
    """Turns, current agent, handoffs and live answer from a thread's messages (oldest first).

    - A person's message (or another app's) is a user turn with the message ts as its id, the same id
      the live path gives it, so a message stored before and read back again is one turn.
    - The messages of one answer (a long answer spans several) become one assistant turn with the
      answer's id; it covers the user turns since the previous answer.
    - A handoff line switches the current agent and records the handoff; it stands for the handoff's
      prompt turn (id ``handoff-<answer id>``, as the live handoff stores it; its text is empty here:
      the engine fills in the handoff's prompt from the agent files). A request message (slash
      command) is the asking person's turn.
    - The bot's messages without a mark (errors, notices, placeholders) are left out.
    """
    reading = _Reading()
    for message in sorted(messages, key=lambda m: _ts_seconds(m.ts)):
        reading.read(message)
    return reading.result(messages=len(messages))


@dataclass(slots=True)
class _Reading:
    """The state of one :func:`rebuild` pass over a thread, oldest message first."""

    turns: list[Turn] = field(default_factory=list)
    handoffs: list[HandoffRecord] = field(default_factory=list)
    answer_index: dict[str, int] = field(default_factory=dict)
    pending: list[str] = field(default_factory=list)  # user turns since the last answer
    agent: str | None = None
    model: str | None = None
    live: str | None = None
    answers: int = 0

    def read(self, message: ThreadMessage) -> None:
        """Take one message into account (marks count only on the bot's own messages)."""
        at = _ts_seconds(message.ts)
        mark = message.mark if message.from_bot else None
        if isinstance(mark, AnswerMark):
            self.answer(message, mark, at)
        elif isinstance(mark, HandoffMark):
            self.handoff(message, mark, at)
        elif isinstance(mark, RequestMark):
            self.agent = self.agent or mark.agent
            self.user_turn(message, at, user_id=mark.user, agent=mark.agent)
        elif not message.from_bot and (_user_text(message) or message.attachments):
            self.user_turn(message, at, user_id=message.user_id, agent=self.agent)

    def answer(self, message: ThreadMessage, mark: AnswerMark, at: float) -> None:
        """A message of an answer: a new assistant turn, or a further part of one already read."""
        if mark.agent != self.agent:
            self.model = None
        self.agent = mark.agent
        self.live = mark.answer_id if mark.buttons == "live" else None
        index = self.answer_index.get(mark.answer_id)
        if index is not None:  # a further part of the same answer
            previous = self.turns[index]
            self.turns[index] = previous.model_copy(update={"text": f"{previous.text}\n\n{message.text}"})
            return
        self.answers += 1
        self.answer_index[mark.answer_id] = len(self.turns)
        self.turns.append(
            Turn(
                id=mark.answer_id,
                role=Role.ASSISTANT,
                text=message.text,
                ts=message.ts,
                agent=mark.agent,
                created_at=at,
                answered=tuple(self.pending),
            )
        )
        self.pending = []

    def handoff(self, message: ThreadMessage, mark: HandoffMark, at: float) -> None:
        """A handoff line: the handoff recorded, the new agent current, its (empty) prompt turn."""
        self.handoffs.append(
            HandoffRecord(
                from_agent=mark.from_agent,
                to_agent=mark.to_agent,
                label=mark.label,
                by_user=mark.by_user,
                at=at,
            )
        )
        self.agent, self.model, self.live = mark.to_agent, mark.model, None
        prompt_id = f"handoff-{mark.answer_id}"
        self.turns.append(
            Turn(
                id=prompt_id,
                role=Role.USER,
                text="",
                ts=message.ts,
                user_id=mark.by_user,
                agent=mark.to_agent,
                created_at=at,
            )
        )
        self.pending.append(prompt_id)

    def user_turn(self, message: ThreadMessage, at: float, *, user_id: str | None, agent: str | None) -> None:
        """A person's message (or a slash command's request) as a user turn with the message ts as id."""
        turn = Turn(
            id=message.ts,
            role=Role.USER,
            text=_user_text(message),
            ts=message.ts,
            user_id=user_id,
            agent=agent,
            created_at=at,
            attachments=message.attachments,
        )
        self.turns.append(turn)
        self.pending.append(turn.id)

    def result(self, *, messages: int) -> Rebuilt:
        """What the thread told."""
        return Rebuilt(
            agent=self.agent,
            model=self.model,
            turns=tuple(self.turns),
            handoffs=tuple(self.handoffs),
            last_answer_id=self.live,
            messages=messages,
            answers=self.answers,
            pending=tuple(self.pending),
        )


def strip_mention(text: str, user_id: str | None) -> str:
    """``text`` without mentions of ``user_id`` (the bot), as the live path stores a mention."""
    if not user_id:
        return text.strip()
    return re.sub(rf"<@{re.escape(user_id)}(?:\|[^>]*)?>", "", text).strip()


def mentions(text: str) -> tuple[str, ...]:
    """The user ids mentioned in a Slack message text (``<@U123>`` or ``<@U123|name>``)."""
    return tuple(dict.fromkeys(re.findall(r"<@([A-Z0-9]+)(?:\|[^>]*)?>", text)))
