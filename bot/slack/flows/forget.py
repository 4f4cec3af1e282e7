"""Forgetting a thread, asked in any of three ways (the *Forget this thread* message shortcut,
``@architect-bot forget`` in the thread, ``/architect forget <link>``): always confirmed with a
button, shown only to the person asking (:meth:`ForgetFlow.prompt`); the click
(:meth:`ForgetFlow.forget`) checks again that the person started the thread or is an admin, then the
engine deletes the conversation (and every participant's recent-threads entry) and leaves its
tombstone, and the bot deletes what it made for the thread: its messages, the files it shared there
and the thread's canvas (whatever cannot be deleted is named in the confirmation).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.logging import get_logger

if TYPE_CHECKING:
    from bot.core.engine import Engine, ForgetCheck
    from bot.core.policy import Policy
    from bot.core.ports import Clock
    from bot.core.refs import ForgetRef
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
        from bot.core.engine import ForgetCheck  # the answer path's: imported by the lazy listener

        admin = self._policy.is_admin(user)
        check = self._engine.forget_permission(conversation_id, by_user=user, admin=admin)
        if check is not ForgetCheck.ALLOWED:
            text = _forget_refusal(check)
            return text, [{"type": "section", "text": {"type": "mrkdwn", "text": text}}]
        from bot.core.refs import ForgetRef  # button values' models: not on a cold start's first ack

        ref = ForgetRef(conversation_id=conversation_id)
        text = (
            "*Forget this thread?* I will delete my messages in it, the files and canvas I made for it, "
            "and everything I stored about it (the conversation the agents see, its title in recent "
            "threads), and I will not continue or rebuild it. "
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
        """Forget the conversation, then delete what the bot made for the thread: its messages, the files
        it shared there and the thread's canvas; returns what to say (naming anything that stays)."""
        from bot.adapters.slack_history import (
            SlackHistory,  # the answer path's: imported by the lazy listener
        )
        from bot.core.engine import ForgetCheck

        admin = self._policy.is_admin(user)
        forgotten = self._engine.forget(ref.conversation_id, by_user=user, admin=admin)
        if forgotten.check is not ForgetCheck.ALLOWED:
            return _forget_refusal(forgotten.check)
        canvas_id = forgotten.canvas_id
        thread = ref.thread
        history = SlackHistory(self._client, bot_user_id=bot_user_id, clock=self._clock)
        read = history.read(thread.channel_id, thread.thread_ts, deadline=runtime.current().deadline)
        mine = [m for m in read.messages if m.message.from_bot]
        files = [str(f["id"]) for m in mine for f in m.files if f.get("id")]
        deleted = sum(
            self._delete("chat_delete", channel=thread.channel_id, ts=m.message.ts) for m in reversed(mine)
        )
        files_deleted = sum(self._delete("files_delete", file=file_id) for file_id in files)
        canvas_deleted = canvas_id is not None and self._delete("canvases_delete", canvas_id=canvas_id)
        log.info(
            "thread_forgotten",
            deleted=deleted,
            found=len(mine),
            files=files_deleted,
            canvas=canvas_deleted,
            complete=read.complete,
        )
        self._metrics.forgotten(deleted)
        made = f"{deleted} of my messages in it"
        if files_deleted:
            made += f", {files_deleted} file{'s' if files_deleted > 1 else ''} I shared there"
        if canvas_deleted:
            made += " and the thread's canvas"
        text = (
            f"Forgotten. I deleted everything I stored about this thread and {made}, and I won't continue "
            "it. People's own messages stay: only their authors can delete them."
        )
        if read.error or not read.complete or deleted < len(mine) or files_deleted < len(files):
            why = read.error or "some could not be read back or deleted"
            text += f" Some of my messages or files may remain ({why}): delete them from their ⋮ menu."
        if canvas_id is not None and not canvas_deleted:
            text += (
                f" The thread's canvas (id `{canvas_id}`, in the channel's tabs) could not be deleted and "
                "stays: delete it from the canvas's ⋮ menu."
            )
        return text

    def _delete(self, method: str, **args: str) -> bool:
        """One Slack delete call (``chat_delete``, ``files_delete``, ``canvases_delete``); True if done."""
        try:
            getattr(self._client, method)(**args)
        except SlackApiError as error:
            log.warning("forget_delete_failed", method=method, error=str(error.response.get("error")))
            return False
        return True


def _forget_refusal(check: ForgetCheck) -> str:
    from bot.core.engine import ForgetCheck  # the answer path's: imported by the lazy listener

    return {
        ForgetCheck.NOT_ALLOWED: NOT_ALLOWED_TO_FORGET,
        ForgetCheck.NOT_FOUND: NOTHING_TO_FORGET,
        ForgetCheck.ALREADY: ALREADY_FORGOTTEN,
    }.get(check, NOTHING_TO_FORGET)
