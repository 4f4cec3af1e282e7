"""Forgetting a thread, asked in any of three ways (the *Forget this thread* message shortcut,
``@architect-bot forget`` in the thread, ``/architect forget <link>``): always confirmed with a
button, shown only to the person asking (:meth:`ForgetFlow.prompt`); the click
(:meth:`ForgetFlow.forget`) checks again that the person started the thread or is an admin, then the
engine deletes the conversation and leaves its tombstone, and the bot deletes its own messages in
the thread.
"""

from __future__ import annotations

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.adapters.slack_history import SlackHistory
from bot.core.engine import Engine, ForgetCheck
from bot.core.policy import Policy
from bot.core.ports import Clock
from bot.core.refs import ForgetRef
from bot.logging import get_logger
from bot.metrics import Metrics
from bot.slack.blocks import Block

log = get_logger("bot.slack.forget")

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
INVALID = "That button is not valid (it may come from an older version of the bot). Nothing was deleted."
NOT_A_LINK = (
    "That is not a message link. In the thread, open ⋮ on any message → *Copy link*, then "
    "`/architect forget <link>`; or use *Forget this thread* from the message's ⋮ menu."
)
OUTSIDE_THREAD = (
    "Write `@architect-bot forget` inside the thread to forget, or use `/architect forget <link>`."
)


class ForgetFlow:
    """Confirms and forgets threads for one request."""

    def __init__(
        self, client: WebClient, *, engine: Engine, policy: Policy, clock: Clock, metrics: Metrics
    ) -> None:
        self._client = client
        self._engine = engine
        self._policy = policy
        self._clock = clock
        self._metrics = metrics

    def prompt(self, conversation_id: str, user: str | None) -> tuple[str, list[Block]]:
        """The confirmation (with its button) when ``user`` may have the thread forgotten, else why not."""
        admin = self._policy.is_admin(user)
        check = self._engine.forget_permission(conversation_id, by_user=user, admin=admin)
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

    def forget(
        self, delivery_id: str, ref: ForgetRef, user: str | None, bot_user_id: str | None
    ) -> str | None:
        """Claim the click once; forget (see :meth:`_forget`). None: a re-delivery, nothing to say."""
        with self._engine.once(delivery_id) as first:
            return self._forget(ref, user, bot_user_id) if first else None

    def _forget(self, ref: ForgetRef, user: str | None, bot_user_id: str | None) -> str:
        """Forget the conversation, then delete the bot's own messages in its thread; returns what to say."""
        admin = self._policy.is_admin(user)
        check = self._engine.forget(ref.conversation_id, by_user=user, admin=admin)
        if check is not ForgetCheck.ALLOWED:
            return _forget_refusal(check)
        thread = ref.thread
        history = SlackHistory(self._client, bot_user_id=bot_user_id, clock=self._clock)
        read = history.read(thread.channel_id, thread.thread_ts, deadline=runtime.current().deadline)
        mine = [m.message.ts for m in read.messages if m.message.from_bot]
        deleted = 0
        for ts in reversed(mine):  # answers first, the thread's root (a request message) last
            try:
                self._client.chat_delete(channel=thread.channel_id, ts=ts)
                deleted += 1
            except SlackApiError as error:
                log.warning("forget_delete_failed", error=str(error.response.get("error")))
        log.info("thread_forgotten", deleted=deleted, found=len(mine), complete=read.complete)
        self._metrics.forgotten(deleted)
        text = (
            f"Forgotten. I deleted everything I stored about this thread and {deleted} of my messages in it, "
            "and I won't continue it. People's own messages stay: only their authors can delete them."
        )
        if read.error or not read.complete or deleted < len(mine):
            why = read.error or "some could not be read back or deleted"
            text += f" Some of my messages may remain ({why}): delete them from their ⋮ menu."
        return text


def _forget_refusal(check: ForgetCheck) -> str:
    return {
        ForgetCheck.NOT_ALLOWED: NOT_ALLOWED_TO_FORGET,
        ForgetCheck.NOT_FOUND: NOTHING_TO_FORGET,
        ForgetCheck.ALREADY: ALREADY_FORGOTTEN,
    }.get(check, NOTHING_TO_FORGET)
