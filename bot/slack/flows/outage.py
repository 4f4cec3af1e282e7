"""Holding on to a message through a storage outage, instead of asking the person to retype it.

When the conversation store cannot be reached while a reply is handled, the thread is told at once
that the bot holds on to the message (once per thread and process: a second reply during the same
outage is not told again); the same invocation then retries the whole reply with backoff for up to
``STORE_OUTAGE_RETRY_S`` (within the invocation's deadline). When the store comes back in that window
the reply is stored and answered as usual, and the notice says so. When the outage lasts longer, the
reply is *held* (:mod:`bot.core.held`: Slack ids only, on SQS on Lambda, a timer locally) and the
notice says the answer will come once the storage is back: the catch-up
(:mod:`bot.slack.flows.catch_up`) then takes every message the store never saw from the thread and
answers once. Only when the reply cannot even be held is the person asked to send it again. Nothing
is half-written meanwhile: every store operation is atomic.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.errors import HoldUnavailableError, StoreUnavailableError
from bot.logging import get_logger
from bot.slack.blocks import error_blocks

if TYPE_CHECKING:
    from bot.metrics import Metrics

log = get_logger("bot.slack.outage")

FIRST_DELAY_S = 0.25
MAX_DELAY_S = 4.0

HOLDING = (
    "I can't reach my conversation storage right now. I'm holding on to your message and will "
    "answer as soon as the storage is back; no need to send it again."
)
STILL_AWAY = (
    "My conversation storage is still away. Your message is safe in this thread, and I'll answer "
    "here once the storage is back; no need to send it again."
)
RECOVERED = "My conversation storage is back: your message is kept and answered below."
GAVE_UP = (
    "I can't reach my conversation storage right now, so your message was not kept. "
    "Please send it again in a few minutes; if it persists, tell the team that runs the bot."
)
GAVE_UP_LATE = (
    "My conversation storage was away for too long, and I gave up on your message. It is still in this "
    "thread: please send it again (or mention me) and I'll answer; tell the team that runs the bot."
)


class OutageNotices:
    """The outage notice of each thread in this process: a thread is told once per outage."""

    def __init__(self, *, keep_s: float = 3600.0) -> None:
        self._notices: dict[tuple[str, str], tuple[str, float]] = {}
        self._keep_s = keep_s
        self._lock = threading.Lock()

    def told(self, channel: str, thread_ts: str) -> str | None:
        """The notice already posted in this thread during this outage, if any."""
        with self._lock:
            entry = self._notices.get((channel, thread_ts))
            if entry is None or entry[1] < time.monotonic():
                return None
            return entry[0]

    def remember(self, channel: str, thread_ts: str, notice_ts: str | None) -> None:
        """Keep the thread's notice (None: posting failed, nothing to keep)."""
        if notice_ts is None:
            return
        with self._lock:
            self._notices[(channel, thread_ts)] = (notice_ts, time.monotonic() + self._keep_s)

    def forget(self, channel: str, thread_ts: str) -> None:
        """The outage is over for this thread."""
        with self._lock:
            self._notices.pop((channel, thread_ts), None)


def hold_through_outage(
    client: WebClient,
    *,
    metrics: Metrics,
    window_s: float,
    channel: str,
    thread_ts: str,
    work: Callable[[], None],
    hold: Callable[[str | None], None] | None = None,
    notices: OutageNotices | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Tell the thread, retry ``work`` until the store answers or ``window_s`` (``STORE_OUTAGE_RETRY_S``)
    is over; True if it ran. Past the window ``hold(notice_ts)`` keeps the reply for a later catch-up
    (it raises :class:`~bot.errors.HoldUnavailableError` when it cannot); without it, or when it
    fails, the person is asked to send the message again.

    Errors other than the store's propagate (the caller reports them).
    """
    invocation = runtime.current()
    metrics.error(StoreUnavailableError.kind)
    give_up_at = min(time.monotonic() + window_s, invocation.deadline)
    notices = notices or OutageNotices()
    notice_ts = notices.told(channel, thread_ts)
    if notice_ts is None:
        notice_ts = _post(client, channel, thread_ts, HOLDING, invocation.request_id)
        notices.remember(channel, thread_ts, notice_ts)
    if _retry(work, give_up_at, sleep):
        notices.forget(channel, thread_ts)
        _update(client, channel, notice_ts, RECOVERED, None)
        return True
    log.warning("store_outage_window_over", window_s=window_s)
    if hold is not None:
        try:
            hold(notice_ts)
        except HoldUnavailableError as error:
            log.error("reply_not_held", detail=error.detail)
        else:
            metrics.held_reply("held")
            _update(client, channel, notice_ts, STILL_AWAY, None)
            return False
    notices.forget(channel, thread_ts)
    _update(client, channel, notice_ts, GAVE_UP, invocation.request_id)
    return False


def _retry(work: Callable[[], None], give_up_at: float, sleep: Callable[[float], None]) -> bool:
    """Run ``work`` with backoff until it gets past the store or the time is up; True if it ran."""
    delay = FIRST_DELAY_S
    attempts = 0
    while time.monotonic() + delay < give_up_at:
        sleep(delay)
        delay = min(delay * 2, MAX_DELAY_S)
        attempts += 1
        try:
            work()
        except StoreUnavailableError as error:
            log.info("store_still_unavailable", attempt=attempts, detail=error.detail)
            continue
        log.info("store_back", attempts=attempts)
        return True
    return False


def update_notice(client: WebClient, channel: str, notice_ts: str | None, *, answered: bool) -> None:
    """After a held reply's catch-up: the notice says the storage is back (or that it was given up)."""
    if answered:
        _update(client, channel, notice_ts, RECOVERED, None)
    else:
        _update(client, channel, notice_ts, GAVE_UP_LATE, runtime.current().request_id)


def _post(client: WebClient, channel: str, thread_ts: str, message: str, tracking: str) -> str | None:
    text, blocks = error_blocks(message, tracking)
    try:
        response = client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
    except SlackApiError as error:
        log.error("outage_notice_failed", error=str(error.response.get("error")))
        return None
    ts = response.get("ts")
    return ts if isinstance(ts, str) else None


def _update(client: WebClient, channel: str, ts: str | None, message: str, tracking: str | None) -> None:
    if ts is None:
        return
    if tracking is None:  # the good news: a quiet context line, not a warning
        text, blocks = message, [{"type": "context", "elements": [{"type": "mrkdwn", "text": message}]}]
    else:
        text, blocks = error_blocks(message, tracking)
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except SlackApiError as error:
        log.warning("outage_notice_update_failed", error=str(error.response.get("error")))
