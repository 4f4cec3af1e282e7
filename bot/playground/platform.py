"""What Slack does when a person acts: post the message, send the app its command, event or interaction.

:class:`Platform` is Slack's side between a person in the page and the app: it checks what the
person sent as Slack's client would (nothing empty, at most 40,000 characters), stores messages in
the :class:`~bot.playground.workspace.Workspace`, delivers to the app through a
:class:`~bot.playground.delivery.Deliverer` and shows the app's acks the way Slack shows them
(ephemeral answers, modal errors, "failed with the error operation_timeout").
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from bot.logging import get_logger
from bot.playground.blockkit import MESSAGE_TEXT_LIMIT, blocks_problems
from bot.playground.delivery import Ack, Deliverer, event_envelope
from bot.playground.interactions import API_APP_ID, Interactions, Outcome, why
from bot.playground.workspace import SLACKBOT, Message, Workspace, dm_channel

log = get_logger("bot.playground.platform")

SUBSCRIBED_EVENTS = frozenset(
    {
        "app_mention",
        "message.channels",
        "message.groups",
        "message.mpim",
        "message.im",
        "app_home_opened",
    }
)
"""The app's event subscriptions (manifest.yml ``settings.event_subscriptions.bot_events``)."""
COMMANDS = frozenset({"/architect"})
"""The app's slash commands (manifest.yml ``features.slash_commands``)."""


FILE_LIMIT = 5 * 1024 * 1024  # the playground's upload limit (Slack's is 1 GB)


@dataclass(frozen=True)
class Upload:
    """A file a person attaches to a message."""

    name: str
    content: bytes
    mimetype: str


class Platform:
    """Slack's side of the playground."""

    def __init__(self, ws: Workspace, deliverer: Deliverer, *, base_url: str) -> None:
        self.ws = ws
        self.deliverer = deliverer
        self.base_url = base_url
        self._stop = threading.Event()
        self._follower: threading.Thread | None = None
        self.interactions = Interactions(ws, deliverer, base_url=base_url)

    # ------------------------------------------------------------------------- people act

    def send(
        self,
        *,
        user: str,
        channel: str,
        text: str,
        thread_ts: str | None = None,
        upload: Upload | None = None,
    ) -> Outcome:
        """A person sends a message, a slash command or a file (with a comment) from a message box."""
        refused = self._refusal(user=user, channel=channel, text=text, upload=upload)
        if refused is not None:
            return refused
        if text.startswith("/") and upload is None:
            return self._command(user=user, channel=channel, text=text.strip(), thread_ts=thread_ts)
        self._message(user=user, channel=channel, text=text, thread_ts=thread_ts, upload=upload)
        return Outcome()

    def _refusal(self, *, user: str, channel: str, text: str, upload: Upload | None) -> Outcome | None:
        """What Slack's client would refuse to send, said as it would say it."""
        ws = self.ws
        problem: str | None = None
        if user not in ws.users or ws.users[user].is_bot:
            problem = "Pick a person first."
        elif channel not in ws.channels:
            problem = "That channel does not exist."
        elif not text.strip() and upload is None:
            problem = "Write something first."
        elif upload is not None and len(upload.content) > FILE_LIMIT:
            problem = f"This file is too big for the playground: at most {FILE_LIMIT // 1024 // 1024} MB."
        elif len(text) > MESSAGE_TEXT_LIMIT:
            problem = (
                f"This message is too long: {len(text):,} characters. "
                f"Slack allows {MESSAGE_TEXT_LIMIT:,}; shorten it or share it as a file."
            )
        return None if problem is None else Outcome(problem)

    def _slackbot(self, *, user: str, channel: str, text: str, thread_ts: str | None) -> None:
        self.ws.add_ephemeral(
            channel=channel,
            user=user,
            text=text,
            blocks=None,
            thread_ts=thread_ts,
            params={},
            author=SLACKBOT,
        )

    def _command(self, *, user: str, channel: str, text: str, thread_ts: str | None) -> Outcome:
        name, _, rest = text.partition(" ")
        if name == "/invite":
            return self._invite(user=user, channel=channel, rest=rest, thread_ts=thread_ts)
        if name not in COMMANDS:
            self._slackbot(
                user=user,
                channel=channel,
                thread_ts=thread_ts,
                text=f"`{name[:60]}` is not a valid command. In Slack, all messages that start with "
                'the "/" character are interpreted as commands. Try `/architect help`.',
            )
            return Outcome()
        ws = self.ws
        form = {
            "token": "playground-verification-token",
            "team_id": ws.team_id,
            "team_domain": ws.team_domain,
            "channel_id": channel,
            "channel_name": ws.channels[channel].name,
            "user_id": user,
            "user_name": ws.users[user].name,
            "command": name,
            "text": rest.strip(),
            "api_app_id": API_APP_ID,
            "is_enterprise_install": "false",
            "response_url": ws.issue_response_url(
                self.base_url, channel=channel, user=user, thread_ts=thread_ts
            ),
            "trigger_id": ws.issue_trigger(user, channel),
        }
        ack = self.deliverer.command(form)
        if not ack.ok:
            self._slackbot(
                user=user,
                channel=channel,
                thread_ts=thread_ts,
                text=f'{name} failed with the error "{why(ack)}"',
            )
            return Outcome()
        self._show_command_ack(ack, user=user, channel=channel, thread_ts=thread_ts, command=text)
        return Outcome()

    def _show_command_ack(
        self, ack: Ack, *, user: str, channel: str, thread_ts: str | None, command: str
    ) -> None:
        ws = self.ws
        body = ack.json()
        if body is None:
            text = ack.text().strip()
            if text:
                ws.add_ephemeral(
                    channel=channel, user=user, text=text, blocks=None, thread_ts=thread_ts, params={}
                )
            return
        text, blocks = str(body.get("text") or ""), body.get("blocks")
        if (blocks is not None and blocks_problems(blocks, limit=50)) or (not text and not blocks):
            self._slackbot(
                user=user, channel=channel, thread_ts=thread_ts, text="The app's answer was not valid."
            )
            return
        if body.get("response_type") == "in_channel":
            ws.post(channel=channel, user=user, text=command, thread_ts=thread_ts)
            ws.post(
                channel=channel,
                user=ws.bot_user_id,
                bot_id=ws.bot_id,
                text=text,
                blocks=blocks,
                thread_ts=thread_ts,
            )
        else:
            ws.add_ephemeral(
                channel=channel, user=user, text=text, blocks=blocks, thread_ts=thread_ts, params=dict(body)
            )

    def _invite(self, *, user: str, channel: str, rest: str, thread_ts: str | None) -> Outcome:
        ws = self.ws
        if f"@{ws.bot_name}" not in rest:
            self._slackbot(
                user=user, channel=channel, thread_ts=thread_ts, text=f"Usage: `/invite @{ws.bot_name}`"
            )
            return Outcome()
        members = ws.channels[channel].members
        if ws.bot_user_id in members:
            self._slackbot(
                user=user,
                channel=channel,
                thread_ts=thread_ts,
                text=f"{ws.bot_name} is already in this channel.",
            )
            return Outcome()
        members.add(ws.bot_user_id)
        ws.post(channel=channel, user=ws.bot_user_id, text="joined the channel.", subtype="channel_join")
        return Outcome()

    def _message(
        self, *, user: str, channel: str, text: str, thread_ts: str | None, upload: Upload | None = None
    ) -> Message:
        ws = self.ws
        slack_text = self._encode(text)
        files: list[dict[str, Any]] = []
        if upload is not None:
            extension = upload.name.rsplit(".", 1)[-1].lower() if "." in upload.name else "binary"
            stored = ws.add_file(
                upload.name, upload.content, mimetype=upload.mimetype, filetype=extension, user=user
            )
            files = [stored.to_slack(self.base_url)]
        subtype = "file_share" if files else None
        posted = ws.post(
            channel=channel, user=user, text=slack_text, thread_ts=thread_ts, files=files, subtype=subtype
        )
        members = ws.channels[channel].members
        if ws.bot_user_id not in members:
            return posted
        kind = _kind(ws.channels[channel].is_im)
        event: dict[str, Any] = {
            "type": "message",
            "channel": channel,
            "user": user,
            "text": slack_text,
            "ts": posted.ts,
            "event_ts": posted.ts,
            "channel_type": kind,
            "team": ws.team_id,
            "client_msg_id": str(uuid.uuid4()),
        }
        if files:
            event.update(subtype="file_share", files=files, upload=False, display_as_bot=False)
        if thread_ts:
            parent = ws.message(channel, thread_ts)
            event["thread_ts"] = thread_ts
            if parent is not None and parent.user:
                event["parent_user_id"] = parent.user
        mentioned = f"<@{ws.bot_user_id}>" in slack_text and kind != "im"  # no app_mention in a DM
        if mentioned and "app_mention" in SUBSCRIBED_EVENTS:
            dropped = ("channel_type", "parent_user_id", "subtype", "upload", "display_as_bot")
            mention = {k: v for k, v in event.items() if k not in dropped}
            self._event({**mention, "type": "app_mention"})
        if f"message.{_subscription(kind)}" in SUBSCRIBED_EVENTS:
            self._event(event)
        return posted

    def _encode(self, text: str) -> str:
        """A person's text as Slack stores it: &, <, > escaped; @name mentions as ``<@U…>``."""
        escaped = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        names = {u.name: u.id for u in self.ws.users.values()}

        def mention(match: re.Match[str]) -> str:
            found = names.get(match.group(1))
            return f"<@{found}>" if found else match.group(0)

        return re.sub(r"(?<![\w@])@([a-z0-9][a-z0-9._-]*)", mention, escaped)

    def _event(self, event: dict[str, Any]) -> None:
        ws = self.ws
        envelope = event_envelope(
            event, team_id=ws.team_id, api_app_id=API_APP_ID, bot_user_id=ws.bot_user_id
        )
        self.deliverer.event(envelope)

    # ---------------------------------------------------------------------- interactions

    def click(
        self,
        *,
        user: str,
        container: str,
        item_id: str,
        block: int,
        element: str,
        side: str | None = None,
        value: str | None = None,
    ) -> Outcome:
        """A person clicks a button or picks a menu option (see :class:`Interactions`)."""
        return self.interactions.click(
            user=user,
            container=container,
            item_id=item_id,
            block=block,
            element=element,
            side=side,
            value=value,
        )

    def submit_view(self, *, user: str, view_id: str, values: dict[str, dict[str, str]]) -> Outcome:
        """A person submits a modal."""
        return self.interactions.submit_view(user=user, view_id=view_id, values=values)

    def close_view(self, *, user: str, view_id: str) -> Outcome:
        """A person cancels a modal."""
        return self.interactions.close_view(user=user, view_id=view_id)

    def open_home(self, *, user: str, tab: str = "home") -> None:
        """A person opens the app's Home tab (the app hears of it when subscribed to app_home_opened)."""
        if "app_home_opened" not in SUBSCRIBED_EVENTS:
            return
        ws = self.ws
        event: dict[str, Any] = {
            "type": "app_home_opened",
            "user": user,
            "channel": dm_channel(user),
            "tab": tab,
            "event_ts": f"{time.time():.6f}",
        }
        if user in ws.home:
            event["view"] = self.interactions.view_payload(ws.home[user], {})
        self._event(event)

    # ------------------------------------------------------------- the app's own messages

    def follow(self) -> None:
        """Deliver ``message`` events for the app's own posts, edits and deletions, as Slack does."""
        self._follower = threading.Thread(target=self._follow, name="playground-events", daemon=True)
        self._follower.start()

    def stop(self) -> None:
        """Stop following."""
        self._stop.set()

    def _follow(self) -> None:
        ws = self.ws
        seen = ws.seq
        while not self._stop.is_set():
            for change in ws.wait_changes(seen, timeout=1.0):
                seen = change.seq
                self._app_message_event(change.kind, change.data)

    def _app_message_event(self, kind: str, data: dict[str, Any]) -> None:
        ws = self.ws
        channel = ws.channels.get(str(data.get("channel")))
        if channel is None or ws.bot_user_id not in channel.members:
            return
        channel_type = _kind(channel.is_im)
        if f"message.{_subscription(channel_type)}" not in SUBSCRIBED_EVENTS:
            return
        msg = ws.message(channel.id, str(data.get("ts")))
        tombstone = data.get("action") == "tombstoned"
        if kind == "message" and msg is not None and (msg.user == ws.bot_user_id or tombstone):
            shown = msg.to_slack()
            now = f"{time.time():.6f}"
            if data.get("action") == "posted":
                event = {**shown, "channel": channel.id, "event_ts": msg.ts, "channel_type": channel_type}
            else:
                event = {
                    "type": "message",
                    "subtype": "message_changed",
                    "channel": channel.id,
                    "hidden": True,
                    "message": shown,
                    "ts": now,
                    "event_ts": now,
                    "channel_type": channel_type,
                }
            self._event(event)
        elif kind == "message_deleted":
            now = f"{time.time():.6f}"
            self._event(
                {
                    "type": "message",
                    "subtype": "message_deleted",
                    "channel": channel.id,
                    "hidden": True,
                    "deleted_ts": data.get("ts"),
                    "ts": now,
                    "event_ts": now,
                    "channel_type": channel_type,
                }
            )


def _kind(is_im: bool) -> str:
    """An event's ``channel_type``: ``im`` for the app's DM with a person, else ``channel``."""
    return "im" if is_im else "channel"


def _subscription(channel_type: str) -> str:
    """The ``message.*`` subscription that delivers messages of this ``channel_type``."""
    return {"im": "im", "channel": "channels"}[channel_type]
