"""Governance in Slack: refusals people see, ``/architect usage``, and forgetting a thread.

- :func:`refuse` tells one person, ephemerally, what the policy does not allow (or which limit
  stopped them), counts ``Rejections{Kind}`` and logs one line; nothing else is posted.
- :func:`usage_message` renders a :class:`~bot.core.quota.UsageReport`.
- Forgetting, asked in any of three ways (the *Forget this thread* message shortcut,
  ``@architect-bot forget`` in the thread, ``/architect forget <link>``), is always confirmed with a
  button (:func:`forget_prompt`); the click runs :func:`perform_forget`: the engine deletes the
  conversation and leaves its tombstone, then the bot deletes its own messages in the thread.
"""

from __future__ import annotations

from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.adapters.slack_history import SlackHistory
from bot.container import Services
from bot.core.engine import ForgetCheck
from bot.core.policy import AccessDecision, Policy, format_reset, format_tokens, format_usd
from bot.core.quota import PeriodUsage, UsageLine, UsageReport, describe_line
from bot.core.refs import ForgetRef
from bot.logging import get_logger
from bot.slack.blocks import SECTION_TEXT_LIMIT, Block, escape_mrkdwn, truncate

log = get_logger("bot.slack.governance")

FORGET_SHORTCUT = "forget_thread"
FORGET_CONFIRM_ACTION = "forget_confirm"
FORGET_CANCEL_ACTION = "forget_cancel"
FORGET_WORD = "forget"

NOT_ALLOWED_TO_FORGET = (
    "Only the person who started this thread, or an admin of the bot, can have it forgotten. "
    "Nothing was deleted."
)
NOTHING_TO_FORGET = (
    "I have nothing stored for this thread: it is not one of mine, or it expired. Nothing was deleted."
)
ALREADY_FORGOTTEN = "This thread was already forgotten."


def access_kind(decision: AccessDecision) -> str:
    """The rejection metric's kind for an access refusal."""
    return f"access_{decision.reason}"


def refuse(
    services: Services,
    client: WebClient,
    *,
    channel: str,
    user: str | None,
    thread_ts: str | None,
    text: str,
    kind: str,
) -> None:
    """Tell ``user`` (only them) what is refused; count and log it. Never raises."""
    services.metrics.rejection(kind)
    log.info("request_refused_by_policy", kind=kind)
    if not user:
        return
    try:
        client.chat_postEphemeral(channel=channel, user=user, text=text, thread_ts=thread_ts)
    except SlackApiError as error:
        log.warning("ephemeral_failed", error=str(error.response.get("error")))


# ------------------------------------------------------------------------------------------- usage


def _lines(title: str, lines: tuple[UsageLine, ...], shown: str) -> str:
    if not lines:
        return ""
    rows = "\n".join(f"• {shown.format(escape_mrkdwn(line.name))}: {describe_line(line)}" for line in lines)
    return f"*{title}*\n{rows}"


def _period(title: str, period: PeriodUsage) -> str:
    if not period.total.requests and not period.total.tokens:
        return f"*{title}*: nothing yet."
    body = _lines(title, period.agents, "{}")
    return truncate(f"{body}\n_Total_: {describe_line(period.total)}", SECTION_TEXT_LIMIT)


def _workspace(title: str, period: PeriodUsage) -> str:
    parts = [
        f"*{title}*: {describe_line(period.total)}",
        _lines("Top people", period.users, "<@{}>"),
        _lines("Top agents", period.agents, "{}"),
        _lines("Top channels", period.channels, "<#{}>"),
    ]
    return truncate("\n".join(p for p in parts if p), SECTION_TEXT_LIMIT)


def _limits(policy: Policy, now: float, reset_at: float) -> str:
    budgets, rate = policy.budgets, policy.rate_limits
    parts = []
    if budgets.user_daily_tokens:
        parts.append(f"{format_tokens(budgets.user_daily_tokens)} tokens per person per UTC day")
    if budgets.workspace_daily_tokens:
        parts.append(f"{format_tokens(budgets.workspace_daily_tokens)} tokens for everyone per UTC day")
    if rate.user_per_minute:
        parts.append(f"{rate.user_per_minute} requests per person per minute")
    if not parts:
        return "_No budgets or rate limits are set._"
    return f"_Limits_: {'; '.join(parts)}. Daily budgets reset at {format_reset(reset_at, now)}."


def usage_message(report: UsageReport, policy: Policy, now: float) -> tuple[str, list[Block]]:
    """``/architect usage``: the person's day and month per agent; the workspace's top lines for admins."""
    day, month = report.day, report.month
    sections = [
        _period(f"Your usage today ({day.window.key}, UTC)", day),
        _period(f"This month ({month.window.key})", month),
    ]
    if report.workspace_day is not None and report.workspace_month is not None:
        sections.append(_workspace(f"Everyone today ({day.window.key})", report.workspace_day))
        sections.append(_workspace(f"Everyone this month ({month.window.key})", report.workspace_month))
    sections.append(_limits(policy, now, day.window.reset_at))
    if not policy.budgets.prices:
        sections.append("_Costs show once the policy lists model prices (`budgets.prices`)._")
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": text}} for text in sections]
    cost = f", {format_usd(day.total.cost_micro_usd)}" if day.total.cost_micro_usd else ""
    return f"Your usage today: {format_tokens(day.total.tokens)} tokens{cost}", blocks


# ------------------------------------------------------------------------------------------ forget


def forget_prompt(services: Services, *, conversation_id: str, user: str | None) -> tuple[str, list[Block]]:
    """The confirmation (with its button) when ``user`` may have the thread forgotten, else why not."""
    admin = services.policy.is_admin(user)
    check = services.engine.forget_permission(conversation_id, by_user=user, admin=admin)
    if check is not ForgetCheck.ALLOWED:
        text = _forget_refusal(check)
        return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
    ref = ForgetRef(conversation_id=conversation_id)
    text = (
        "*Forget this thread?* I will delete my messages in it and everything I stored about it "
        "(the conversation the agents see), and I will not continue or rebuild it. "
        "People's own messages stay: only their authors can delete them."
    )
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": text}},
        {
            "type": "actions",
            "block_id": "forget",
            "elements": [
                {
                    "type": "button",
                    "action_id": FORGET_CONFIRM_ACTION,
                    "text": {"type": "plain_text", "text": "Forget this thread"},
                    "style": "danger",
                    "value": ref.encode(),
                },
                {
                    "type": "button",
                    "action_id": FORGET_CANCEL_ACTION,
                    "text": {"type": "plain_text", "text": "Cancel"},
                    "value": "cancel",
                },
            ],
        },
    ]
    return "Forget this thread? (confirm with the button)", blocks


def _forget_refusal(check: ForgetCheck) -> str:
    return {
        ForgetCheck.NOT_ALLOWED: NOT_ALLOWED_TO_FORGET,
        ForgetCheck.NOT_FOUND: NOTHING_TO_FORGET,
        ForgetCheck.ALREADY: ALREADY_FORGOTTEN,
    }.get(check, NOTHING_TO_FORGET)


def perform_forget(
    services: Services, client: WebClient, *, ref: ForgetRef, user: str | None, bot_user_id: str | None
) -> str:
    """Forget the conversation, then delete the bot's own messages in its thread; returns what to say."""
    admin = services.policy.is_admin(user)
    check = services.engine.forget(ref.conversation_id, by_user=user, admin=admin)
    if check is not ForgetCheck.ALLOWED:
        return _forget_refusal(check)
    thread = ref.thread
    history = SlackHistory(client, bot_user_id=bot_user_id, clock=services.clock)
    read = history.read(thread.channel_id, thread.thread_ts, deadline=runtime.current().deadline)
    mine = [m.message.ts for m in read.messages if m.message.from_bot]
    deleted = 0
    for ts in reversed(mine):  # answers first, the thread's root (a request message) last
        try:
            client.chat_delete(channel=thread.channel_id, ts=ts)
            deleted += 1
        except SlackApiError as error:
            log.warning("forget_delete_failed", error=str(error.response.get("error")))
    log.info("thread_forgotten", deleted=deleted, found=len(mine), complete=read.complete)
    services.metrics.forgotten(deleted)
    text = (
        f"Forgotten. I deleted everything I stored about this thread and {deleted} of my messages in it, "
        "and I won't continue it. People's own messages stay: only their authors can delete them."
    )
    if read.error or not read.complete or deleted < len(mine):
        why = read.error or "some could not be read back or deleted"
        text += f" Some of my messages may remain ({why}): delete them from their ⋮ menu."
    return text


def forget_ref(value: Any) -> ForgetRef | None:
    """The confirmation button's reference, or None for anything else (a forged or old value)."""
    return ForgetRef.decode(value)
