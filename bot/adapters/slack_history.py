"""Reading a thread back from Slack: ``conversations.replies`` with metadata, paginated, rate-limit aware.

:meth:`SlackHistory.read` pages through a thread (``include_all_metadata=true``, ``limit`` per page,
``response_metadata.next_cursor``) oldest first and turns each message into a
:class:`~bot.core.thread_record.ThreadMessage`: who said it, what it says (for the bot's own answers the
Markdown it wrote, without footer or buttons), the bot's :class:`~bot.core.thread_record.Mark` when the
message is the bot's, and the raw ``files`` for :mod:`bot.adapters.slack_files` to read.

Rate limits are part of the plan, not an error: ``conversations.replies`` is Tier 1 for commercially
distributed apps outside the Marketplace (about one call a minute, at most 15 messages per call). A
429 does not wait (its ``Retry-After`` would outlast the answer): the read stops and keeps what it
got, with a notice saying so. Likewise a thread longer than the cap (1,000 messages by default) is
cut with a notice, and the deadline is honoured between pages and in each call's timeout. Errors say
what to do: a missing ``*:history`` scope names the scope to add.

Nothing read is logged: one line per read with counts, calls, milliseconds and the outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import ConnectionErrorRetryHandler

from bot.adapters.slack_block_text import message_markdown
from bot.core.notices import Notice
from bot.core.ports import Clock
from bot.core.thread_record import ThreadMessage, read_mark, strip_mention
from bot.logging import get_logger

log = get_logger(__name__)

DEFAULT_PAGE_SIZE = 200  # Slack's advice for paginated methods; Tier 1 apps get at most 15 anyway
SKIPPED_SUBTYPES = frozenset(
    {
        "channel_join",
        "channel_leave",
        "group_join",
        "group_leave",
        "message_deleted",
        "tombstone",
        "joiner_notification",
        "bot_add",
        "bot_remove",
        "channel_topic",
        "channel_purpose",
        "channel_name",
    }
)
_HISTORY_SCOPES = {"C": "channels:history", "G": "groups:history", "D": "im:history"}


@dataclass(frozen=True, slots=True)
class HistoryMessage:
    """A message read back: the core's view of it, plus its files as Slack describes them."""

    message: ThreadMessage
    files: tuple[Mapping[str, Any], ...] = ()
    subtype: str | None = None

    def with_files(self, **changes: Any) -> HistoryMessage:
        """A copy whose message has ``changes`` (attachments and file notes once read)."""
        return HistoryMessage(replace(self.message, **changes), self.files, self.subtype)


@dataclass
class ThreadRead:
    """What one read of a thread gave."""

    messages: list[HistoryMessage] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    calls: int = 0
    complete: bool = True  # every message of the thread was read
    error: str | None = None  # why nothing could be read (then ``messages`` is empty)
    ms: int = 0


def answer_text(message: Mapping[str, Any]) -> str:
    """What a message says: its Markdown as sent, or as Slack translated it into other blocks (rich
    text, sections, headers), without the footer and buttons; else its ``text``."""
    return message_markdown(message)


class SlackHistory:
    """Reads threads back from Slack for :func:`bot.core.thread_record.rebuild`."""

    def __init__(
        self,
        client: WebClient,
        *,
        bot_user_id: str | None,
        bot_id: str | None = None,
        clock: Clock,
        page_size: int = DEFAULT_PAGE_SIZE,
        max_messages: int = 1_000,
        call_timeout_s: float = 10.0,
    ) -> None:
        self._token = client.token
        self._base_url = client.base_url
        self._bot_user_id = bot_user_id
        self._bot_id = bot_id
        self._clock = clock
        self._page_size = max(1, min(page_size, 1000))
        self._max_messages = max_messages
        self._call_timeout_s = call_timeout_s

    def _client(self, left: float) -> WebClient:
        # No rate-limit retries: a Tier 1 Retry-After (about a minute) would outlast the answer.
        return WebClient(
            token=self._token,
            base_url=self._base_url,
            timeout=max(1, int(min(self._call_timeout_s, left))),
            retry_handlers=[ConnectionErrorRetryHandler(max_retry_count=1)],
        )

    def is_ours(self, message: Mapping[str, Any]) -> bool:
        """True for a message the bot posted (only those may carry its marks)."""
        user, bot_id = message.get("user"), message.get("bot_id")
        return bool(
            (self._bot_user_id and user == self._bot_user_id) or (self._bot_id and bot_id == self._bot_id)
        )

    def parse(self, raw: Mapping[str, Any]) -> HistoryMessage | None:
        """One message of ``conversations.replies`` (None for joins, deletions and the like)."""
        subtype = raw.get("subtype")
        ts = raw.get("ts")
        if subtype in SKIPPED_SUBTYPES or not isinstance(ts, str):
            return None
        files = tuple(f for f in raw.get("files") or () if isinstance(f, Mapping))
        if self.is_ours(raw):
            message = ThreadMessage(
                ts=ts,
                text=answer_text(raw),
                user_id=self._bot_user_id,
                from_bot=True,
                mark=read_mark(raw.get("metadata")),
            )
        else:
            user = raw.get("user") or raw.get("bot_id")
            text = strip_mention(str(raw.get("text") or ""), self._bot_user_id)
            message = ThreadMessage(ts=ts, text=text, user_id=str(user) if user else None)
        return HistoryMessage(
            message=message, files=files, subtype=subtype if isinstance(subtype, str) else None
        )

    def read(self, channel: str, thread_ts: str, *, deadline: float) -> ThreadRead:
        """Every message of the thread (parent first), within the cap, the rate limit and ``deadline``."""
        started = self._clock.monotonic()
        result = ThreadRead()
        cursor: str | None = None
        outcome = "complete"
        while True:
            left = deadline - self._clock.monotonic()
            if left <= 0.5:
                outcome = "deadline"
                break
            try:
                result.calls += 1
                response = self._client(left).conversations_replies(
                    channel=channel,
                    ts=thread_ts,
                    include_all_metadata=True,
                    limit=self._page_size,
                    cursor=cursor,
                )
            except SlackApiError as error:
                outcome = self._failed(error, channel, result)
                break
            except (OSError, TimeoutError):
                outcome = "network"
                if not result.messages:
                    result.error = "Slack did not answer in time"
                break
            for raw in response.get("messages") or ():
                if isinstance(raw, Mapping) and (parsed := self.parse(raw)) is not None:
                    result.messages.append(parsed)
            if len(result.messages) > self._max_messages:
                result.messages = result.messages[: self._max_messages]
                outcome = "capped"
                break
            cursor = ((response.get("response_metadata") or {}).get("next_cursor") or "").strip() or None
            if not cursor or not response.get("has_more", True):
                break
        self._finish(result, outcome)
        result.ms = int((self._clock.monotonic() - started) * 1000)
        log.info(
            "thread_read",
            messages=len(result.messages),
            calls=result.calls,
            ms=result.ms,
            outcome=outcome,
        )
        return result

    @staticmethod
    def _finish(result: ThreadRead, outcome: str) -> None:
        """Say what a read that stopped early kept (or why it has nothing)."""
        if outcome == "complete":
            return
        result.complete = False
        if result.messages and outcome == "capped":
            result.notices.append(Notice.thread_capped(len(result.messages)))
        elif result.messages:
            why = "Slack's rate limit" if outcome == "rate_limited" else "time ran out"
            result.notices.append(Notice.thread_partial(len(result.messages), why))
        elif result.error is None:
            result.error = "Slack is rate limiting me" if outcome == "rate_limited" else "no time was left"

    def _failed(self, error: SlackApiError, channel: str, result: ThreadRead) -> str:
        """Note why a call failed; returns the outcome for the log."""
        status = getattr(error.response, "status_code", 200)
        code = str(error.response.get("error") or "")
        if status == 429 or code == "ratelimited":
            if not result.messages:
                result.error = "Slack is rate limiting me"
            return "rate_limited"
        if code == "missing_scope":
            needed = str(error.response.get("needed") or _HISTORY_SCOPES.get(channel[:1], "channels:history"))
            result.notices.append(Notice.missing_scope(needed))
            result.error = f"the app lacks the {needed} scope"
            return "missing_scope"
        result.messages.clear()
        result.error = {
            "thread_not_found": "the thread was deleted",
            "channel_not_found": "I can no longer see this channel",
            "not_in_channel": "I am no longer in this channel",
        }.get(code, f"Slack said {code or 'error'}")
        return code or "error"
