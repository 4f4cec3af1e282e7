"""Holding on to a message through a short storage outage, instead of asking the person to retype it.

When the conversation store cannot be reached while a reply is handled, the person is told at once
that the bot is holding on to their message; the same invocation then retries the whole reply with
backoff for up to ``STORE_OUTAGE_RETRY_S`` (within the invocation's deadline). When the store comes
back the reply is stored and answered as usual, and the notice says so; when it does not, the notice
says plainly that the message was not kept and to send it again later. Nothing is half-written
meanwhile: every store operation is atomic, and the delivery stays claimed by this invocation.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.errors import StoreUnavailableError
from bot.logging import get_logger
from bot.metrics import Metrics
from bot.slack.blocks import error_blocks

log = get_logger("bot.slack.outage")

FIRST_DELAY_S = 0.25
MAX_DELAY_S = 4.0

HOLDING = (
    "I can't reach my conversation storage right now. I'm holding on to your message and will "
    "answer as soon as the storage is back (I keep trying for {seconds} seconds)."
)
RECOVERED = "My conversation storage is back: your message is kept and answered below."
GAVE_UP = (
    "I can't reach my conversation storage right now, so your message was not kept. "
    "Please send it again in a few minutes; if it persists, tell the team that runs the bot."
)


def hold_through_outage(
    client: WebClient,
    *,
    metrics: Metrics,
    window_s: float,
    channel: str,
    thread_ts: str,
    work: Callable[[], None],
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Tell the thread, retry ``work`` until the store answers or ``window_s`` (``STORE_OUTAGE_RETRY_S``)
    is over; True if it ran.

    Errors other than the store's propagate (the caller reports them).
    """
    invocation = runtime.current()
    metrics.error(StoreUnavailableError.kind)
    give_up_at = min(time.monotonic() + window_s, invocation.deadline)
    notice_ts = _post(
        client, channel, thread_ts, HOLDING.format(seconds=round(window_s)), invocation.request_id
    )
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
        _update(client, channel, notice_ts, RECOVERED, None)
        return True
    log.warning("store_outage_gave_up", attempts=attempts, window_s=window_s)
    _update(client, channel, notice_ts, GAVE_UP, invocation.request_id)
    return False


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
