"""Reading what a thread holds, for the flows that store people's messages (reply, mention, side panel).

- :meth:`ThreadReader.message` reads the files of a message (within the answer's deadline) into the
  :class:`~bot.core.conversation.UserMessage` the engine stores; files that could not be read are
  named in its text for the model and returned as notices for the person.
- :meth:`ThreadReader.adopt` reads a thread back (``conversations.replies``, paginated, with
  metadata), reads the files shared in it, and lets the engine create the conversation from it:
  after the store lost a thread the bot owns (the right agent, after handoffs too, the whole history
  including what was written while the store was away), or when the bot is mentioned in a thread
  that already has a discussion. It is called only then: never on every turn.
- :func:`side_talk`: a reply that mentions people but not the bot is kept as context, not answered.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient

from bot.adapters.slack_history import SlackHistory, ThreadRead
from bot.core.conversation import UserMessage
from bot.core.notices import Notice
from bot.core.thread_record import mentions, rebuild
from bot.logging import get_logger

if TYPE_CHECKING:
    from bot.adapters.slack_files import SlackFiles
    from bot.core.engine import Adopted, Engine
    from bot.core.files import Attachment
    from bot.core.ports import Clock

log = get_logger("bot.slack.reading")


def _plain(text: str) -> str:
    """A notice as a note for the model (no Slack emphasis)."""
    return text.replace("*", "")


def side_talk(text: str) -> bool:
    """True for a reply addressed to people only (it mentions someone; replies mentioning the bot
    arrive as mentions, not here): kept as context, not answered."""
    return bool(mentions(text))


@dataclass
class ThreadAdoption:
    """What reading a thread back and adopting it gave."""

    adopted: Adopted | None = None  # None: Slack could not give the thread back, or not ours
    notices: list[Notice] = field(default_factory=list)
    error: str | None = None  # why Slack could not give it back, in plain words
    not_ours: bool = False  # the thread holds no answer, handoff or request of this bot
    calls: int = 0
    messages: int = 0


class ThreadReader:
    """Reads messages and threads for one request (the bot token's client)."""

    def __init__(
        self,
        client: WebClient,
        *,
        files: SlackFiles | None,
        engine: Engine,
        default_agent: str | None,
        clock: Clock,
        page_size: int,
        max_messages: int,
    ) -> None:
        self._client = client
        self._files = files
        self._engine = engine
        self._default_agent = default_agent
        self._clock = clock
        self._page_size = page_size
        self._max_messages = max_messages

    def message(
        self,
        *,
        text: str,
        user_id: str | None,
        ts: str,
        files: Sequence[Mapping[str, Any]],
        deadline: float,
    ) -> tuple[UserMessage, list[Notice]]:
        """The message as the engine stores it, with its files read; plus what to tell the person."""
        if not files:
            return UserMessage(text=text, user_id=user_id, ts=ts, id=ts), []
        reader = self._files
        if reader is None:  # no bot token: cannot happen on Slack, said plainly anyway
            notes = [
                Notice.file_download_failed(str(f.get("name") or "a file"), "no Slack token") for f in files
            ]
            return UserMessage(text=text, user_id=user_id, ts=ts, id=ts), notes
        read = reader.read(files, deadline=deadline)
        body = "\n\n".join([text, *(f"[{_plain(n.text)}]" for n in read.notices)]) if read.notices else text
        message = UserMessage(text=body, user_id=user_id, ts=ts, id=ts, attachments=tuple(read.attachments))
        return message, read.notices

    def _read(
        self, channel: str, thread_ts: str, *, bot_user_id: str | None, bot_id: str | None, deadline: float
    ) -> ThreadRead:
        """The thread as ``conversations.replies`` gives it back (paginated, within the deadline)."""
        history = SlackHistory(
            self._client,
            bot_user_id=bot_user_id,
            bot_id=bot_id,
            clock=self._clock,
            page_size=self._page_size,
            max_messages=self._max_messages,
        )
        return history.read(channel, thread_ts, deadline=deadline)

    def unseen(
        self,
        *,
        channel: str,
        thread_ts: str,
        after_ts: float,
        bot_user_id: str | None,
        deadline: float,
    ) -> list[UserMessage]:
        """People's messages of the thread newer than ``after_ts``, oldest first, with their files read
        (for a catch-up after an outage: what the store never saw). Empty when Slack gives nothing back."""
        read = self._read(channel, thread_ts, bot_user_id=bot_user_id, bot_id=None, deadline=deadline)
        if read.error is not None:
            log.warning("thread_not_read", error=read.error)
        found = []
        for item in read.messages:
            message = item.message
            if message.from_bot or message.ts == thread_ts or float(message.ts) <= after_ts:
                continue
            stored, _notices = self.message(
                text=message.text, user_id=message.user_id, ts=message.ts, files=item.files, deadline=deadline
            )
            found.append(stored)
        return sorted(found, key=lambda m: float(m.ts or 0))

    def adopt(
        self,
        *,
        conversation_id: str,
        team_id: str | None,
        channel: str,
        thread_ts: str,
        bot_user_id: str | None,
        bot_id: str | None,
        known: Mapping[str, tuple[Attachment, ...]] | None = None,
        joining: bool,
        deadline: float,
    ) -> ThreadAdoption:
        """Read the thread back from Slack and create its conversation from it (see the module doc).

        ``known``: attachments already read for some messages (by ts), not downloaded again.
        ``joining``: the bot was called into the thread (a mention): the discussion is taken whoever
        wrote it, and problems with earlier files are told. Otherwise (a rebuild) the thread must carry
        the bot's own marks, else it is not one of its conversations (``not_ours``) and nothing is made.
        """
        read = self._read(channel, thread_ts, bot_user_id=bot_user_id, bot_id=bot_id, deadline=deadline)
        outcome = ThreadAdoption(notices=list(read.notices), calls=read.calls, messages=len(read.messages))
        if read.error is not None:
            outcome.error = read.error
            return outcome
        messages = []
        reader = self._files
        for item in read.messages:
            message = item.message
            if known and message.ts in known:
                message = item.with_files(attachments=known[message.ts]).message
            elif item.files and reader is not None and not message.from_bot:
                files = reader.read(item.files, deadline=deadline)
                notes = tuple(_plain(n.text) for n in files.notices)
                message = item.with_files(attachments=tuple(files.attachments), file_notes=notes).message
                if joining:
                    outcome.notices.extend(files.notices)
            messages.append(message)
        rebuilt = rebuild(messages)
        if rebuilt.agent is None and not joining:
            outcome.not_ours = True
            return outcome
        outcome.adopted = self._engine.adopt(
            conversation_id=conversation_id,
            rebuilt=rebuilt,
            default_agent=self._default_agent,
            team_id=team_id,
            channel_id=channel,
            thread_ts=thread_ts,
        )
        return outcome
