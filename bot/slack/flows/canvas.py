"""Save a thread's design as a Slack canvas (or, where canvases are unavailable, a Markdown file).

The design is: the question, each agent's latest answer (in the order the agents first answered),
and who handed the thread to whom. A canvas is created tabbed in the thread's channel (its members
can read and edit it) and remembered with the conversation, so saving again updates the same canvas
(``canvases.edit``, a whole-canvas replace). Two saves at once create one canvas: the store's
compare-and-set picks one, the other save edits the winner and deletes its own.

Where Slack refuses canvases (the plan, the channel type, a free team's one canvas tab per channel,
the app's scopes) the refusal is remembered (:class:`~bot.slack.features.FeatureMemory`) and the
design is uploaded to the thread as a Markdown file (``files.uploadV2``) instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.core.conversation import Role
from bot.core.thread_address import parse_conversation_id
from bot.errors import BotError
from bot.logging import bind_more, get_logger
from bot.slack.blocks import truncate
from bot.slack.features import Feature
from bot.slack.links import SlackLinks

if TYPE_CHECKING:
    from bot.core.conversation import Conversation, Turn
    from bot.core.engine import Engine
    from bot.metrics import Metrics
    from bot.slack.features import FeatureMemory

log = get_logger("bot.slack.canvas")

CANVAS_MARKDOWN_LIMIT = 1_048_576  # canvases: document_content markdown, 1 MiB
ANSWER_LIMIT = 200_000
TITLE_WORDS = 80
_DEEP_HEADING = re.compile(r"^(#{4,6})\s+(.+)$", re.MULTILINE)  # canvases have h1-h3 only

NOT_OURS = (
    "This thread is not one architect-bot keeps (or it was forgotten), so there is no design to save. "
    "Use *Save as canvas* on a message of a thread the bot answers in."
)


def _canvas_markdown(text: str) -> str:
    """Model Markdown as a canvas takes it: headings below h3 become bold lines."""
    return _DEEP_HEADING.sub(lambda m: f"**{m.group(2).strip()}**", text)


def _latest_answers(conversation: Conversation) -> list[Turn]:
    """Each agent's latest answer, agents in the order they first answered."""
    latest: dict[str, Turn] = {}
    for turn in conversation.turns:
        if turn.role is Role.ASSISTANT and turn.agent and turn.status != "failed":
            latest[turn.agent] = turn
    return list(latest.values())


def thread_design(conversation: Conversation) -> tuple[str, str]:
    """The canvas title and Markdown for a conversation."""
    question = next((t for t in conversation.turns if t.role is Role.USER), None)
    words = " ".join((question.text if question else "").split())
    title = f"Design: {truncate(words, TITLE_WORDS)}" if words else "Design"
    parts = [f"# {title}"]
    if question is not None:
        asked = f" (asked by ![](@{question.user_id}))" if question.user_id else ""
        parts.append(f"## The question{asked}\n\n{_canvas_markdown(question.text.strip())}")
    for answer in _latest_answers(conversation):
        model = f" · {answer.usage.model}" if answer.usage else ""
        body = _canvas_markdown(truncate(answer.text.strip(), ANSWER_LIMIT)) or "_(empty answer)_"
        parts.append(f"## {answer.agent}'s latest answer{model}\n\n{body}")
    if conversation.handoffs:
        lines = []
        for record in conversation.handoffs:
            by = f", by ![](@{record.by_user})" if record.by_user else ""
            lines.append(f"- **{record.from_agent}** → **{record.to_agent}** ({record.label}){by}")
        parts.append("## Handoffs\n\n" + "\n".join(lines))
    else:
        parts.append(f"## Handoffs\n\nNone: **{conversation.agent}** answered throughout.")
    markdown = "\n\n".join(parts) + "\n"
    return title, truncate(markdown, CANVAS_MARKDOWN_LIMIT)


@dataclass(frozen=True, slots=True)
class _Thread:
    """Where the design is saved from, and by whom."""

    channel: str
    thread_ts: str
    team_id: str | None
    user: str | None


class CanvasFlow:
    """Saves thread designs for one request."""

    def __init__(
        self,
        client: WebClient,
        *,
        engine: Engine,
        features: FeatureMemory,
        links: SlackLinks,
        metrics: Metrics,
    ) -> None:
        self._client = client
        self._engine = engine
        self._features = features
        self._links = links
        self._metrics = metrics

    def save_once(self, delivery_id: str, conversation_id: str, user: str | None) -> None:
        """Claim the click once, then :meth:`save`."""
        with self._engine.once(delivery_id) as first:
            if first:
                self.save(conversation_id, user)

    def save(self, conversation_id: str, user: str | None) -> None:
        """Save (or update) the thread's canvas; a Markdown file where canvases are unavailable.

        Everything is told in the thread (the canvas or file for everyone, problems only to ``user``).
        """
        address = parse_conversation_id(conversation_id)
        if address is None:
            return
        where = _Thread(address.channel_id, address.thread_ts, address.team_id, user)
        bind_more(channel=where.channel, thread_ts=where.thread_ts)
        conversation = self._engine.conversation(conversation_id)
        if conversation is None:
            _ephemeral(self._client, where, NOT_OURS)
            return
        title, markdown = thread_design(conversation)
        if self._features.available(Feature.CANVAS, where.team_id, where.channel):
            if self._save_canvas(conversation, where, title=title, markdown=markdown) is not None:
                return
            self._metrics.slack_fallback(Feature.CANVAS.value)
        _upload(self._client, where, title=title, markdown=markdown)

    def _save_canvas(
        self,
        conversation: Conversation,
        where: _Thread,
        *,
        title: str,
        markdown: str,
    ) -> str | None:
        """The canvas saved (created or updated); None when canvases cannot be used here."""
        document = {"type": "markdown", "markdown": markdown}
        existing = conversation.meta.canvas_id
        if existing is not None and _edit(self._client, existing, document) == "ok":
            self._told(where, existing, title, updated=True)
            return existing
        try:
            made = self._client.canvases_create(
                title=title, document_content=document, channel_id=where.channel
            )
        except SlackApiError as error:
            code = str(error.response.get("error"))
            scope = self._features.refused(Feature.CANVAS, where.team_id, where.channel, code)
            log.warning("canvas_refused", error=code, remembered=scope)
            return None
        created = str(made["canvas_id"])
        try:
            recorded = self._engine.save_canvas(conversation.meta.id, created, replacing=existing)
        except BotError as error:  # the canvas exists; a next save may make a second one
            log.warning("canvas_not_recorded", kind=error.kind)
            recorded = created
        if recorded is not None and recorded != created:  # another save won the race: keep its canvas
            _delete(self._client, created)
            _edit(self._client, recorded, document)
            created = recorded
        self._told(where, created, title, updated=False)
        return created

    def _told(self, where: _Thread, canvas_id: str, title: str, *, updated: bool) -> None:
        """The canvas for everyone in the thread when made; an update only to the person who saved."""
        base = self._links.workspace_url(self._client)
        link = SlackLinks.canvas(base, where.team_id, canvas_id) if base else None
        shown = f"<{link}|{title}>" if link else f"*{title}*"
        if updated:
            _ephemeral(self._client, where, f"📝 The canvas is up to date: {shown}")
            return
        who = f"<@{where.user}>" if where.user else "Someone"
        try:
            self._client.chat_postMessage(
                channel=where.channel,
                thread_ts=where.thread_ts,
                text=f"📝 {who} saved this thread's design as a canvas: {shown}",
            )
        except SlackApiError as error:
            log.warning("canvas_not_announced", error=str(error.response.get("error")))


def _edit(client: WebClient, canvas_id: str, document: dict[str, str]) -> str:
    """Replace the whole canvas; ``ok`` or Slack's error code."""
    try:
        client.canvases_edit(
            canvas_id=canvas_id, changes=[{"operation": "replace", "document_content": document}]
        )
    except SlackApiError as error:
        code = str(error.response.get("error"))
        log.warning("canvas_not_edited", error=code)
        return code
    return "ok"


def _delete(client: WebClient, canvas_id: str) -> None:
    try:
        client.canvases_delete(canvas_id=canvas_id)
    except SlackApiError as error:
        log.warning("canvas_not_deleted", error=str(error.response.get("error")))


def _upload(client: WebClient, where: _Thread, *, title: str, markdown: str) -> None:
    """The design as a Markdown file in the thread (canvases unavailable here)."""
    who = f"<@{where.user}>" if where.user else "Someone"
    slug = re.sub(r"[^a-z0-9]+", "-", title.casefold()).strip("-")[:60] or "design"
    try:
        client.files_upload_v2(
            channel=where.channel,
            thread_ts=where.thread_ts,
            filename=f"{slug}.md",
            content=markdown,
            title=title,
            initial_comment=f"📝 {who} saved this thread's design (a Markdown file: no canvases here).",
        )
    except SlackApiError as error:
        code = str(error.response.get("error"))
        log.warning("design_file_not_uploaded", error=code)
        tracking = runtime.current().request_id
        _ephemeral(
            client,
            where,
            f":warning: The thread could not be saved (Slack said `{code}`). Ask an admin to allow canvases "
            f"or file uploads for the app. _Tracking id: `{tracking}`_",
        )


def _ephemeral(client: WebClient, where: _Thread, text: str) -> None:
    if not where.user:
        return
    try:
        client.chat_postEphemeral(
            channel=where.channel, user=where.user, text=text, thread_ts=where.thread_ts
        )
    except SlackApiError as error:
        log.warning("ephemeral_failed", error=str(error.response.get("error")))
