"""The playground's HTML: the page, messages, threads, modals and the Home tab, rendered on the server.

Every piece of text comes through :mod:`bot.playground.render` (escaped, or parsed into fixed tags);
the page's script only inserts these fragments and never builds markup from text.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from bot.playground.interactions import MESSAGE_SHORTCUTS
from bot.playground.render import blocks_html, clock_time, esc, files_html, markdown, mrkdwn
from bot.playground.workspace import SLACKBOT, Ephemeral, Message, View, Workspace, dm_channel

AVATAR_COLOURS = 7  # classes av-0 .. av-6 in playground.css


@dataclass(frozen=True)
class Notice:
    """A banner at the top of the page (e.g. what to set for the model)."""

    title: str
    lines: tuple[str, ...]


def _avatar(user_id: str, name: str, *, app: bool = False) -> str:
    colour = zlib.crc32(user_id.encode()) % AVATAR_COLOURS
    letter = "🤖" if app else esc((name[:1] or "?").upper())
    return f'<div class="avatar av-{colour}" aria-hidden="true">{letter}</div>'


class Page:
    """Renders a workspace for one viewer at a time."""

    def __init__(
        self, ws: Workspace, *, notice: Notice | None = None, title: str = "architect-bot playground"
    ):
        self.ws = ws
        self.notice = notice
        self.title = title

    def name_of(self, user_id: str) -> str:
        """A person's display name (``user_id`` when unknown)."""
        if user_id == SLACKBOT:
            return "Slackbot"
        user = self.ws.users.get(user_id)
        return user.name if user else user_id

    # ---------------------------------------------------------------------------- messages

    def _author(self, user_id: str | None, *, is_app: bool) -> str:
        name = self.name_of(user_id or "")
        badge = ' <span class="badge">APP</span>' if is_app else ""
        return f'<span class="name">{esc(name)}</span>{badge}'

    def message(self, msg: Message, *, in_thread: bool, viewer: str | None = None) -> str:
        """One message (in a channel or a thread), with its reply count in a channel, its ⋮ menu, and
        the feedback button ``viewer`` pressed shown as chosen."""
        if msg.subtype == "tombstone":
            return self._tombstone(msg, in_thread=in_thread)
        is_app = bool(msg.bot_id)
        body = blocks_html(msg.blocks, self.name_of) if msg.blocks else mrkdwn(msg.text, self.name_of)
        chosen = self.ws.feedback.get((msg.ts, viewer or ""))
        if chosen:
            body = body.replace(
                f'data-side="{chosen}" aria-pressed="false"', f'data-side="{chosen}" aria-pressed="true"'
            )
        stream = self.ws.agent.streams.get((msg.channel, msg.ts))
        if stream is not None and stream.tasks:  # the steps Slack shows with a streamed answer
            body = _tasks_html(stream.tasks) + body
        if stream is not None and stream.open:  # a message the app is still streaming
            body += '<span class="streaming" title="Still being written">▌</span>'
        edited = ' <span class="edited">(edited)</span>' if msg.updates and not is_app else ""
        replies = "" if in_thread else self._replies(msg)
        kind = " system" if msg.subtype in ("channel_join", "bot_add") else ""
        return (
            f'<div class="msg{kind}" data-container="message" data-id="{esc(msg.ts)}" '
            f'data-ts="{esc(msg.ts)}" data-channel="{esc(msg.channel)}">'
            f"{_avatar(msg.user or '', self.name_of(msg.user or ''), app=is_app)}"
            f'<div class="msg-body"><div class="meta">{self._author(msg.user, is_app=is_app)}'
            f' <span class="time">{esc(clock_time(msg.ts))}</span>{edited}</div>'
            f'<div class="content">{local_links(body, self.ws.team_domain)}</div>{files_html(msg.files)}'
            f'<div class="thread-info">{replies}</div></div>{_MESSAGE_MENU}</div>'
        )

    def _replies(self, msg: Message) -> str:
        """Under a channel message: its reply count and last reply's time, or "Reply" on hover."""
        thread = self.ws.thread(msg.channel, msg.ts)
        if not thread:
            return (
                f'<button type="button" class="reply-start" data-open-thread="{esc(msg.ts)}" '
                f'title="Reply in thread">Reply</button>'
            )
        count = len(thread)
        return (
            f'<button type="button" class="replies" data-open-thread="{esc(msg.ts)}">'
            f"{count} repl{'y' if count == 1 else 'ies'}</button>"
            f'<span class="replies-time">Last reply {esc(clock_time(thread[-1].ts))}</span>'
        )

    def _tombstone(self, msg: Message, *, in_thread: bool) -> str:
        """A deleted thread parent that still has replies: Slack keeps its place, and the replies."""
        replies = "" if in_thread else self._replies(msg)
        return (
            f'<div class="msg tombstone" data-container="message" data-id="{esc(msg.ts)}" '
            f'data-ts="{esc(msg.ts)}" data-channel="{esc(msg.channel)}">'
            '<div class="avatar tombstone-icon" aria-hidden="true">🗑</div>'
            f'<div class="msg-body"><div class="content">{esc(msg.text)}</div>'
            f'<div class="thread-info">{replies}</div></div></div>'
        )

    def ephemeral(self, shown: Ephemeral) -> str:
        """A message only its person sees."""
        author = shown.author or self.ws.bot_user_id
        body = blocks_html(shown.blocks, self.name_of) if shown.blocks else mrkdwn(shown.text, self.name_of)
        body = local_links(body, self.ws.team_domain)
        return (
            f'<div class="msg ephemeral" data-container="ephemeral" data-id="{esc(shown.id)}" '
            f'data-ts="{esc(shown.id)}" data-channel="{esc(shown.channel)}">'
            f"{_avatar(author, self.name_of(author), app=True)}"
            f'<div class="msg-body"><div class="meta">'
            f"{self._author(author, is_app=author != SLACKBOT)}"
            f' <span class="time">{esc(clock_time(shown.id))}</span></div>'
            f'<div class="content">{body}</div>'
            f'<div class="only-you">👁 Only visible to you · <button type="button" class="dismiss">'
            f"Dismiss</button></div></div></div>"
        )

    def channel_feed(self, channel: str, viewer: str) -> str:
        """A channel's messages outside threads, with the viewer's ephemeral messages among them."""
        items: list[tuple[float, str]] = [
            (float(m.ts), self.message(m, in_thread=False, viewer=viewer)) for m in self.ws.top_level(channel)
        ]
        items += [
            (float(e.id), self.ephemeral(e))
            for e in list(self.ws.ephemeral)
            if e.channel == channel and e.user == viewer and not e.thread_ts
        ]
        return "".join(html for _, html in sorted(items, key=lambda item: item[0]))

    def thread_pane(self, channel: str, thread_ts: str, viewer: str) -> str:
        """The side pane: the parent message, its replies and a reply box."""
        parent = self.ws.message(channel, thread_ts)
        if parent is None:
            return '<div class="thread-empty">This message was deleted.</div>'
        items: list[tuple[float, str]] = [
            (float(m.ts), self.message(m, in_thread=True, viewer=viewer))
            for m in self.ws.thread(channel, thread_ts)
        ]
        items += [
            (float(e.id), self.ephemeral(e))
            for e in list(self.ws.ephemeral)
            if e.channel == channel and e.user == viewer and e.thread_ts == thread_ts
        ]
        shown = self.ws.channels.get(channel)
        where = shown.name if shown is not None and shown.is_im else f"# {shown.name if shown else channel}"
        replies = "".join(html for _, html in sorted(items, key=lambda item: item[0]))
        return (
            f'<header class="thread-head"><h2>Thread <span class="muted">{esc(where)}</span></h2>'
            f'<button type="button" class="close-thread" aria-label="Close thread">✕</button></header>'
            f'<div class="thread-scroll"><div class="thread-parent">'
            f"{self.message(parent, in_thread=True, viewer=viewer)}</div>"
            f'<div class="thread-replies" data-thread="{esc(thread_ts)}">{replies}</div>'
            f'<div class="thread-status-slot">{self.status(channel, thread_ts)}</div></div>'
            f"{self.composer(channel, thread_ts=thread_ts)}"
        )

    def prompts(self, channel: str) -> str:
        """The app's suggested prompts in its Messages tab (``setSuggestedPrompts`` without a thread):
        chips above the message box; a click sends the prompt's message."""
        with self.ws.lock:
            offered = self.ws.agent.prompts.get((channel, ""), {})
        chips = "".join(
            f'<button type="button" class="prompt" data-prompt="{esc(p.get("message") or "")}">'
            f"{esc(p.get('title') or '')}</button>"
            for p in offered.get("prompts") or []
            if isinstance(p, dict)
        )
        title = f'<span class="prompts-title">{esc(offered["title"])}</span>' if offered.get("title") else ""
        return f'<div class="prompts" data-channel="{esc(channel)}">{title}{chips}</div>'

    def status(self, channel: str, thread_ts: str) -> str:
        """The app's loading line under a thread's last reply (``assistant.threads.setStatus``), if any."""
        status = self.ws.agent.status(channel, thread_ts, self.ws.monotonic())
        if status is None:
            return ""
        shown = status.loading_messages[0] if status.loading_messages else status.status
        return (
            f'<div class="thread-status" role="status" title="{esc(self.ws.bot_name)} {esc(status.status)}">'
            f"{esc(self.ws.bot_name)} · {esc(shown)}</div>"
        )

    def composer(self, channel: str, *, thread_ts: str | None = None) -> str:
        """A message box (``/architect ...``, ``@architect-bot ...`` or plain text)."""
        name = self.ws.channels[channel].name if channel in self.ws.channels else channel
        hint = "Reply…" if thread_ts else f"Message #{name} — try /architect help"
        if channel in self.ws.channels and self.ws.channels[channel].is_im and not thread_ts:
            hint = f"Message {name}"
        return (
            f'<form class="composer" data-channel="{esc(channel)}" data-thread="{esc(thread_ts or "")}">'
            f'<textarea name="text" rows="2" placeholder="{esc(hint)}" aria-label="{esc(hint)}"></textarea>'
            '<label class="attach" title="Attach a file">📎<input type="file" name="file" hidden></label>'
            f'<button type="submit" class="send" disabled>Send</button>'
            '<div class="attached" hidden></div>'
            f'<div class="composer-note" role="status"></div></form>'
        )

    # ------------------------------------------------------------------------------- views

    def modal(self, shown: View, errors: dict[str, str] | None = None) -> str:
        """A modal with its inputs, Cancel and Submit."""
        view = shown.view
        title = esc((view.get("title") or {}).get("text") or "")
        close = esc((view.get("close") or {}).get("text") or "Cancel")
        submit = view.get("submit")
        submit_html = (
            f'<button type="submit" class="bk-button bk-primary modal-submit">'
            f"{esc(submit.get('text'))}</button>"
            if isinstance(submit, dict)
            else ""
        )
        return (
            f'<div class="modal-backdrop"><form class="modal" data-container="view" '
            f'data-id="{esc(shown.id)}" role="dialog" aria-modal="true" aria-label="{title}">'
            f'<header class="modal-head"><h2>{title}</h2>'
            f'<button type="button" class="modal-close" aria-label="Close">✕</button></header>'
            f'<div class="modal-body">{blocks_html(view.get("blocks") or [], self.name_of, errors)}</div>'
            f'<div class="modal-error" role="alert"></div>'
            f'<footer class="modal-foot">'
            f'<button type="button" class="bk-button modal-cancel">{close}</button>'
            f"{submit_html}</footer></form></div>"
        )

    def app_head(self, viewer: str, tab: str) -> str:
        """The app's header with its tabs: Home, Messages (the DM with the app), About."""
        links = []
        for name, query in (("Home", {"home": "1"}), ("Messages", {"channel": dm_channel(viewer)})):
            active = " active" if name.lower() == tab else ""
            href = "/?" + urlencode({"as": viewer, **query})
            links.append(f'<a class="tab{active}" href="{esc(href)}">{name}</a>')
        links.append('<span class="tab">About</span>')
        return (
            f'<header class="channel-head"><h1>🤖 {esc(self.ws.bot_name)}</h1>'
            f'<nav class="tabs">{"".join(links)}</nav></header>'
        )

    def home(self, viewer: str) -> str:
        """The app's Home tab for the viewer (what the app published, or Slack's empty state)."""
        published = self.ws.home.get(viewer)
        if published is None:
            body = (
                '<div class="home-empty"><p>architect-bot has not published a Home tab for you.</p>'
                "<p>Talk to it in <b>#design</b>: <code>/architect help</code>.</p></div>"
            )
        else:
            blocks = blocks_html(published.view.get("blocks") or [], self.name_of)
            body = (
                f'<div class="home-view" data-container="home" data-id="{esc(published.id)}">'
                f"{local_links(blocks, self.ws.team_domain)}</div>"
            )
        return f"{self.app_head(viewer, 'home')}{body}"

    def canvas(self, canvas_id: str) -> str | None:
        """A canvas on a page of its own (None: no such canvas)."""
        with self.ws.lock:
            found = self.ws.agent.canvases.get(canvas_id)
            if found is None:
                return None
            title, text = found.title, found.markdown
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            f"<title>{esc(title)} · canvas</title>"
            '<link rel="stylesheet" href="/static/playground.css"></head>'
            f'<body class="canvas-page"><article class="canvas"><h1 class="canvas-title">{esc(title)}</h1>'
            f'<div class="bk-markdown">{markdown(text)}</div></article></body></html>'
        )

    # -------------------------------------------------------------------------------- page

    def _notice(self) -> str:
        if self.notice is None:
            return ""
        lines = "".join(f"<li>{mrkdwn(line)}</li>" for line in self.notice.lines)
        return f'<div class="notice" role="alert"><b>{esc(self.notice.title)}</b><ul>{lines}</ul></div>'

    def _main(self, viewer: str, channel: str | None) -> str:
        """The middle of the page: a channel, the app's Messages tab (its DM), or its Home tab."""
        ws = self.ws
        shown = ws.channels.get(channel or "")
        if shown is None:
            return f'<div id="home" class="home">{self.home(viewer)}</div>'
        chips = self.prompts(shown.id) if shown.is_im else ""  # the Messages tab's suggested prompts
        feed = (
            f'<div id="messages" class="messages" data-channel="{esc(shown.id)}">'
            f"{self.channel_feed(shown.id, viewer)}</div>{chips}{self.composer(shown.id)}"
        )
        if shown.is_im:
            return f"{self.app_head(viewer, 'messages')}{feed}"
        members = len([m for m in shown.members if m != ws.bot_user_id])
        topic = (
            "architect-bot is here"
            if ws.bot_user_id in shown.members
            else "architect-bot is not in this channel: /invite @architect-bot"
        )
        return (
            f'<header class="channel-head"><h1># {esc(shown.name)}</h1>'
            f'<span class="topic">{members} people · {esc(topic)}</span></header>{feed}'
        )

    def document(self, *, viewer: str, channel: str | None, thread_ts: str | None, seq: int) -> str:
        """The whole page for a viewer: sidebar, the channel (or the Home tab), the thread pane."""
        ws = self.ws

        def href(**query: str) -> str:
            return "/?" + urlencode({"as": viewer, **query})

        channels = "".join(
            f'<a class="chan{" active" if c.id == channel else ""}" href="{esc(href(channel=c.id))}"'
            f' data-channel-link="{esc(c.id)}"># {esc(c.name)}</a>'
            for c in ws.channels.values()
            if not c.is_im
        )
        in_app = channel is None or (channel in ws.channels and ws.channels[channel].is_im)
        people = "".join(
            f'<option value="{esc(u.id)}"{" selected" if u.id == viewer else ""}>{esc(u.real_name)}</option>'
            for u in ws.users.values()
            if not u.is_bot
        )
        main = self._main(viewer, channel)
        thread = (
            self.thread_pane(channel, thread_ts, viewer)
            if channel is not None and thread_ts is not None
            else ""
        )
        return (
            '<!doctype html><html lang="en"><head><meta charset="utf-8">'
            '<meta name="viewport" content="width=device-width, initial-scale=1">'
            f"<title>{esc(self.title)}</title>"
            '<link rel="stylesheet" href="/static/playground.css">'
            '<script src="/static/playground.js" defer></script></head>'
            f'<body data-viewer="{esc(viewer)}" data-channel="{esc(channel or "")}" data-seq="{seq}">'
            '<div class="app"><aside class="sidebar">'
            f'<div class="workspace">{esc(self.title)}</div>'
            f'<div class="section-title">Channels</div>{channels}'
            f'<div class="section-title">Apps</div>'
            f'<a class="chan{" active" if in_app else ""}" href="{esc(href(home="1"))}">'
            f"🤖 {esc(ws.bot_name)}</a>"
            '<label class="section-title" for="viewer">You are</label>'
            f'<select id="viewer" name="viewer">{people}</select>'
            '<p class="sidebar-note">Switch person to try whose click counts.</p>'
            f'</aside><main class="main">{self._notice()}{main}</main>'
            f'<aside id="thread" class="thread"{"" if thread else " hidden"}'
            f' data-thread="{esc(thread_ts or "")}">{thread}</aside></div>'
            '<div id="modal-root"></div><div id="toast" class="toast" role="status" hidden></div>'
            "</body></html>"
        )


_MESSAGE_MENU = (
    '<details class="msg-menu"><summary aria-label="More actions" title="More actions">⋮</summary>'
    '<div class="msg-menu-items">'
    + "".join(
        f'<button type="button" class="shortcut" data-shortcut="{callback}">{esc(name)}</button>'
        for name, callback in MESSAGE_SHORTCUTS
    )
    + "</div></details>"
)
"""A message's ⋮ menu: the app's message shortcuts."""


def local_links(html: str, team_domain: str) -> str:
    """Links into this workspace (``https://<domain>.slack.com/...``: threads, canvases) opened here."""
    return html.replace(f'href="https://{esc(team_domain)}.slack.com/', 'data-local="1" href="/')


_TASK_MARKS = {"pending": "○", "in_progress": "◔", "complete": "✓", "error": "⚠"}


def _tasks_html(tasks: dict[str, dict[str, Any]]) -> str:
    """A streamed answer's ``task_update`` steps: status mark, title, and output when done."""
    items = []
    for task in tasks.values():
        status = str(task.get("status", ""))
        output = f' <span class="task-output">{esc(str(task["output"]))}</span>' if task.get("output") else ""
        items.append(
            f'<li class="task {esc(status)}"><span class="task-mark">{_TASK_MARKS.get(status, "•")}</span> '
            f"{esc(str(task.get('title', '')))}{output}</li>"
        )
    return f'<ul class="tasks">{"".join(items)}</ul>'
