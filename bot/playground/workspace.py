"""The state of one emulated Slack workspace, shared by the Web API emulator and the playground page.

Everything is in memory and guarded by one lock. Every change a person would see (a message posted,
edited or deleted, an ephemeral message, a modal opened or closed, a Home tab published) is appended
to a change feed that live pages wait on (:meth:`Workspace.wait_changes`).

Two modes: ``strict`` (the playground) knows its channels, people, triggers and response URLs and
refuses unknown ones as Slack does; non-strict (the tests' fake Slack) creates channels on first use
and accepts trigger ids and response URLs it did not issue.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import defaultdict, deque
from collections.abc import Callable
from typing import Any

from bot.playground.slack_objects import (
    TOMBSTONE_TEXT,
    Call,
    Change,
    Channel,
    Ephemeral,
    Failure,
    Message,
    ResponsePost,
    ResponseUrl,
    StoredFile,
    Trigger,
    User,
    View,
)
from bot.playground.surfaces import AgentSurfaces

__all__ = [
    "CHANGE_FEED_LENGTH",
    "RESPONSE_URL_TTL_S",
    "RESPONSE_URL_USES",
    "SLACKBOT",
    "TOMBSTONE_TEXT",
    "TRIGGER_TTL_S",
    "Call",
    "Change",
    "Channel",
    "Ephemeral",
    "Failure",
    "Message",
    "ResponsePost",
    "ResponseUrl",
    "StoredFile",
    "Trigger",
    "User",
    "View",
    "Workspace",
    "dm_channel",
]

SLACKBOT = "USLACKBOT"  # Slack itself: tombstones, "only visible to you" notes
TRIGGER_TTL_S = 3.0  # trigger_id lives 3 seconds
RESPONSE_URL_USES = 5  # a response_url answers up to 5 times ...
RESPONSE_URL_TTL_S = 30 * 60.0  # ... within 30 minutes
CHANGE_FEED_LENGTH = 5_000


class Workspace:
    """One workspace: people, channels, messages and what the app was told or showed."""

    def __init__(
        self,
        *,
        team_id: str = "T1",
        team_domain: str = "example",
        bot_user_id: str = "UBOT",
        bot_id: str = "BBOT",
        bot_name: str = "architect-bot",
        bot_token: str | None = None,
        strict: bool = False,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.team_id = team_id
        self.team_domain = team_domain
        self.bot_user_id = bot_user_id
        self.bot_id = bot_id
        self.bot_name = bot_name
        self.bot_token = bot_token
        self.strict = strict
        self.monotonic = monotonic
        self.lock = threading.RLock()
        self._changed = threading.Condition(self.lock)
        self.users: dict[str, User] = {bot_user_id: User(bot_user_id, bot_name, bot_name, is_bot=True)}
        self.channels: dict[str, Channel] = {}
        self.usergroups: dict[str, set[str]] = {}  # user group id (S...) -> member user ids
        self.messages: dict[tuple[str, str], Message] = {}
        self.ephemeral: list[Ephemeral] = []
        self.views: dict[str, View] = {}
        self.opened: list[View] = []  # views.open calls, in order
        self.home: dict[str, View] = {}  # user -> published Home tab
        self.triggers: dict[str, Trigger] = {}
        self.response_urls: dict[str, ResponseUrl] = {}
        self.responses: list[ResponsePost] = []
        self.calls: list[Call] = []
        self.failures: dict[str, deque[Failure]] = defaultdict(deque)
        self.changes: deque[Change] = deque(maxlen=CHANGE_FEED_LENGTH)
        self.files: dict[str, StoredFile] = {}
        self.feedback: dict[tuple[str, str], str] = {}  # (message ts, user) -> the feedback side pressed
        self.scopes: set[str] | None = None  # the bot token's scopes; None grants every one
        self.replies_limit_cap: int | None = None  # e.g. 15: Tier 1 for commercially distributed apps
        self.agent = AgentSurfaces()  # streams, loading states, assistant threads, canvases, uploads
        self._seq = 0
        self._last_ts_micros = 0

    # ------------------------------------------------------------------------------ set-up

    def add_user(self, user_id: str, name: str, real_name: str | None = None) -> User:
        """Add a person."""
        with self.lock:
            user = User(user_id, name, real_name or name)
            self.users[user_id] = user
            return user

    def add_channel(self, channel_id: str, name: str, members: set[str] | None = None) -> Channel:
        """Add a public channel with these members (the bot only if listed)."""
        with self.lock:
            channel = Channel(channel_id, name, set(members or ()))
            self.channels[channel_id] = channel
            return channel

    def add_dm(self, user: str) -> Channel:
        """The app's DM with ``user`` (its Messages tab): members the person and the bot."""
        with self.lock:
            channel = Channel(dm_channel(user), self.bot_name, {user, self.bot_user_id}, is_im=True)
            self.channels[channel.id] = channel
            return channel

    def add_usergroup(self, group_id: str, members: set[str]) -> None:
        """Add (or replace) a user group and its members (``usergroups.users.list`` answers it)."""
        with self.lock:
            self.usergroups[group_id] = set(members)

    def channel(self, channel_id: str) -> Channel | None:
        """The channel, created on first use when not strict."""
        with self.lock:
            found = self.channels.get(channel_id)
            if found is None and not self.strict:
                found = self.add_channel(channel_id, channel_id.lower(), {self.bot_user_id})
            return found

    # ---------------------------------------------------------------------------- ids, feed

    def next_ts(self) -> str:
        """A Slack ts from the wall clock, strictly increasing (Slack's are unique per channel)."""
        with self.lock:
            micros = max(int(time.time() * 1_000_000), self._last_ts_micros + 1)
            self._last_ts_micros = micros
            return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"

    def notify(self, kind: str, **data: Any) -> None:
        """Record a change and wake the pages waiting for one."""
        with self._changed:
            self._seq += 1
            self.changes.append(Change(self._seq, kind, data))
            self._changed.notify_all()

    @property
    def seq(self) -> int:
        """The number of the latest change."""
        with self.lock:
            return self._seq

    def wait_changes(self, after: int, timeout: float) -> list[Change]:
        """Changes numbered above ``after``; waits up to ``timeout`` seconds for the first."""
        with self._changed:
            self._changed.wait_for(lambda: self._seq > after, timeout=timeout)
            return [change for change in self.changes if change.seq > after]

    # -------------------------------------------------------------------------- messages

    def post(
        self,
        *,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None = None,
        thread_ts: str | None = None,
        bot_id: str | None = None,
        subtype: str | None = None,
        metadata: dict[str, Any] | None = None,
        files: list[dict[str, Any]] | None = None,
        ts: str | None = None,
    ) -> Message:
        """Add a message to a channel (or a thread) and tell the pages (``ts``: one the caller chose)."""
        with self.lock:
            if ts is not None:  # keep later ts after it: Slack's are unique and ordered
                seconds, _, micros = ts.partition(".")
                self._last_ts_micros = max(self._last_ts_micros, int(seconds) * 1_000_000 + int(micros or 0))
            message = Message(
                channel=channel,
                ts=ts or self.next_ts(),
                text=text,
                blocks=list(blocks or []),
                thread_ts=thread_ts,
                user=user,
                bot_id=bot_id,
                subtype=subtype,
                metadata=metadata,
                files=list(files or []),
            )
            self.messages[(channel, message.ts)] = message
            if user == self.bot_user_id:
                self.agent.clear_status(channel, thread_ts)
            self.notify("message", channel=channel, ts=message.ts, thread_ts=thread_ts, action="posted")
            return message

    def message(self, channel: str, ts: str) -> Message | None:
        """A message by channel and ts."""
        with self.lock:
            return self.messages.get((channel, ts))

    def find_message(self, ts: str) -> Message | None:
        """A message by ts in any channel."""
        with self.lock:
            return next((m for (_, mts), m in self.messages.items() if mts == ts), None)

    def update(
        self, message: Message, *, text: str | None, blocks: list[dict[str, Any]] | None, **extra: Any
    ) -> None:
        """Edit a message and tell the pages."""
        with self.lock:
            if text is not None:
                message.text = text
            if blocks is not None:
                message.blocks = list(blocks)
            if "metadata" in extra and extra["metadata"] is not None:
                message.metadata = extra["metadata"]
            message.updates += 1
            self.notify(
                "message",
                channel=message.channel,
                ts=message.ts,
                thread_ts=message.thread_ts,
                action="edited",
            )

    def delete(self, message: Message) -> None:
        """Delete a message and tell the pages, as Slack does: a thread's parent with replies stays as
        "This message was deleted." with the replies under it; that tombstone goes with the last reply."""
        with self.lock:
            channel, ts = message.channel, message.ts
            if message.thread_ts in (None, ts) and self.thread(channel, ts):
                message.text, message.blocks, message.files, message.metadata = TOMBSTONE_TEXT, [], [], None
                message.subtype, message.user, message.bot_id = "tombstone", SLACKBOT, None
                message.thread_ts = ts
                self.notify("message", channel=channel, ts=ts, thread_ts=ts, action="tombstoned")
                return
            self.messages.pop((channel, ts), None)
            self.notify("message_deleted", channel=channel, ts=ts, thread_ts=message.thread_ts)
            parent = self.messages.get((channel, message.thread_ts or ""))
            if parent is not None and parent.subtype == "tombstone" and not self.thread(channel, parent.ts):
                self.messages.pop((channel, parent.ts), None)
                self.notify("message_deleted", channel=channel, ts=parent.ts, thread_ts=parent.ts)

    def choose_feedback(self, message_ts: str, user: str, side: str) -> None:
        """Remember which feedback button a person pressed under a message (Slack shows it chosen)."""
        with self.lock:
            self.feedback[(message_ts, user)] = side
            found = self.find_message(message_ts)
            if found is not None:
                self.notify(
                    "message", channel=found.channel, ts=found.ts, thread_ts=found.thread_ts, action="chosen"
                )

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """Replies in a thread (without its parent), oldest first."""
        with self.lock:
            found = [
                m
                for m in self.messages.values()
                if m.channel == channel and m.thread_ts == thread_ts and m.ts != thread_ts
            ]
        return sorted(found, key=lambda m: m.ts)

    def top_level(self, channel: str) -> list[Message]:
        """Messages in a channel outside threads (thread parents included), oldest first."""
        with self.lock:
            found = [
                m
                for m in self.messages.values()
                if m.channel == channel and (m.thread_ts is None or m.thread_ts == m.ts)
            ]
        return sorted(found, key=lambda m: m.ts)

    def add_ephemeral(
        self,
        *,
        channel: str,
        user: str,
        text: str,
        blocks: list[dict[str, Any]] | None,
        thread_ts: str | None,
        params: dict[str, Any],
        author: str | None = None,
    ) -> Ephemeral:
        """Show a message to one person only."""
        with self.lock:
            shown = Ephemeral(
                self.next_ts(), channel, user, text, list(blocks or []), thread_ts, params, author
            )
            self.ephemeral.append(shown)
            self.notify("ephemeral", channel=channel, user=user, id=shown.id, thread_ts=thread_ts)
            return shown

    def change_ephemeral(
        self, shown_id: str, *, text: str | None = None, blocks: list[dict[str, Any]] | None = None
    ) -> None:
        """Replace an ephemeral message's content (``text`` None: take it away), as a response_url's
        ``replace_original`` / ``delete_original`` does for the ephemeral message it came from."""
        with self.lock:
            shown = next((e for e in self.ephemeral if e.id == shown_id), None)
            if shown is None:
                return
            if text is None:
                self.ephemeral.remove(shown)
            else:
                shown.text, shown.blocks = text, list(blocks or [])
            self.notify(
                "ephemeral", channel=shown.channel, user=shown.user, id=shown.id, thread_ts=shown.thread_ts
            )

    # ----------------------------------------------------------------- triggers, responses

    def issue_trigger(self, user: str, channel: str | None = None) -> str:
        """A trigger_id for a command or an interaction by ``user``."""
        with self.lock:
            trigger = Trigger(
                f"{uuid.uuid4().int % 10**13}.{uuid.uuid4().int % 10**13}.{uuid.uuid4().hex}",
                user,
                self.monotonic(),
                channel,
            )
            self.triggers[trigger.id] = trigger
            return trigger.id

    def issue_response_url(
        self,
        base_url: str,
        *,
        channel: str,
        user: str,
        thread_ts: str | None = None,
        message_ts: str | None = None,
        ephemeral_id: str | None = None,
    ) -> str:
        """A response_url for a command or an interaction (``base_url`` is the emulator's address)."""
        with self.lock:
            name = uuid.uuid4().hex
            self.response_urls[name] = ResponseUrl(
                name, channel, user, self.monotonic(), thread_ts, message_ts, ephemeral_id
            )
            return f"{base_url.rstrip('/')}/response/{name}"

    # ----------------------------------------------------------------------------- views

    def open_view(
        self, *, user: str | None, view: dict[str, Any], trigger_id: str | None, params: dict[str, Any]
    ) -> View:
        """Show a modal to ``user``."""
        with self.lock:
            opened = View(f"V{uuid.uuid4().hex[:10].upper()}", user, view, trigger_id, params)
            self.views[opened.id] = opened
            self.opened.append(opened)
            self.notify("view_opened", id=opened.id, user=user)
            return opened

    def close_view(self, view_id: str) -> None:
        """Close a modal."""
        with self.lock:
            found = self.views.get(view_id)
            if found is not None and not found.closed:
                found.closed = True
                self.notify("view_closed", id=view_id, user=found.user)

    def replace_view(self, view_id: str, view: dict[str, Any]) -> View | None:
        """Replace a modal's content (``views.update``, ``response_action: update``)."""
        with self.lock:
            found = self.views.get(view_id)
            if found is None:
                return None
            found.view = view
            found.hash = uuid.uuid4().hex[:16]
            self.notify("view_opened", id=view_id, user=found.user)
            return found

    def publish_home(self, user: str, view: dict[str, Any], params: dict[str, Any]) -> View:
        """Publish a person's Home tab."""
        with self.lock:
            published = View(f"V{uuid.uuid4().hex[:10].upper()}", user, view, None, params)
            self.home[user] = published
            self.notify("home", user=user)
            return published

    # ----------------------------------------------------------------------------- files

    def add_file(
        self,
        name: str,
        content: bytes,
        *,
        mimetype: str,
        filetype: str,
        user: str,
        ready: bool = True,
    ) -> StoredFile:
        """Share a file (attach :meth:`StoredFile.to_slack` to a message to show it there)."""
        with self.lock:
            stored = StoredFile(
                f"F{uuid.uuid4().hex[:10].upper()}", name, mimetype, filetype, content, user, ready
            )
            self.files[stored.id] = stored
            return stored

    def has_scope(self, scope: str) -> bool:
        """Whether the bot token was granted ``scope``."""
        with self.lock:
            return self.scopes is None or scope in self.scopes

    def thread_with_parent(self, channel: str, thread_ts: str) -> list[Message]:
        """A thread as ``conversations.replies`` gives it: the parent, then the replies, oldest first."""
        with self.lock:
            parent = self.messages.get((channel, thread_ts))
            replies = [
                m
                for m in self.messages.values()
                if m.channel == channel and m.thread_ts == thread_ts and m.ts != thread_ts
            ]
        return ([parent] if parent is not None else []) + sorted(replies, key=lambda m: float(m.ts))

    # --------------------------------------------------------------------------- failures

    def fail(
        self,
        method: str,
        *,
        error: str | None = None,
        status: int = 200,
        retry_after: int | None = None,
        times: int = 1,
        after: int = 0,
    ) -> None:
        """Make ``times`` calls of ``method`` fail, once ``after`` more calls have been answered."""
        with self.lock:
            for _ in range(after):
                self.failures[method].append(Failure(passes=True))
            for _ in range(times):
                self.failures[method].append(Failure(status=status, error=error, retry_after=retry_after))

    def record_call(self, method: str, params: dict[str, Any], token: str | None) -> Failure | None:
        """Record a call; returns the failure scripted for it, if any."""
        with self.lock:
            self.calls.append(Call(method, params, token))
            queue = self.failures.get(method)
            failure = queue.popleft() if queue else None
            return None if failure is not None and failure.passes else failure


def dm_channel(user: str) -> str:
    """The id of the app's DM with ``user`` (``D`` ids are direct messages)."""
    return f"D{user.removeprefix('U')}"
