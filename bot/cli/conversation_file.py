"""Reading a stored conversation for the tools (``export``, ``replay``): from the bot's store by a
Slack thread link or a conversation id, or from a JSON export file.

Only through the engine (the one door to conversations); nothing is written. The model is never
needed here, so none is built (no OpenAI key is asked for).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core.conversation import Conversation

if TYPE_CHECKING:
    from collections.abc import Iterator

    from bot.core.ports import ModelEvent, ModelRequest

FORMAT = "architect-bot-conversation"
VERSION = 1


class ReadError(Exception):
    """What to tell the person when the conversation cannot be read (exit 2)."""


class _NoModel:
    """Stands in for the chat model: reading a conversation never asks one."""

    def stream(self, request: ModelRequest, *, deadline: float) -> Iterator[ModelEvent]:
        raise RuntimeError("no model is used when reading a stored conversation")


def from_store(reference: str) -> Conversation:
    """The conversation a thread link or ``TEAM:CHANNEL:TS`` id names, read from ``REDIS_URL``."""
    from bot.adapters.agent_files import load_registry
    from bot.cli.chat import thread_of
    from bot.container import Services
    from bot.settings import Settings

    settings = Settings()
    if settings.redis_url is None:
        raise ReadError("reading a stored thread needs REDIS_URL (and REDIS_KEY_PREFIX); or pass --from FILE")
    registry = load_registry(settings.agents_dir, None, settings.default_model)
    engine = Services(settings, registry, model=_NoModel()).engine
    thread = thread_of(reference.strip())
    conversation_id: str | None = reference.strip()
    where = repr(reference)
    if thread is not None:
        channel, thread_ts = thread
        ids = engine.find_thread(channel_id=channel, thread_ts=thread_ts)
        if len(ids) > 1:
            raise ReadError(
                f"several conversations for that thread (one per team); pass one: {', '.join(ids)}"
            )
        conversation_id = ids[0] if ids else None
        where = f"channel {channel}, thread {thread_ts}"
    conversation = engine.conversation(conversation_id) if conversation_id else None
    if conversation is None:
        raise ReadError(
            f"no stored conversation for {where} under REDIS_KEY_PREFIX {settings.redis_key_prefix!r} "
            "(it expired, or the bot never answered there)"
        )
    return conversation


def to_json(conversation: Conversation) -> dict[str, Any]:
    """The export document: a format marker, a version and the conversation as stored."""
    return {"format": FORMAT, "version": VERSION, "conversation": conversation.model_dump(mode="json")}


def from_file(path: Path) -> Conversation:
    """A conversation from a file ``architect-bot export`` wrote."""
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ReadError(f"cannot read {str(path)!r}: {exc}") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise ReadError(f"{str(path)!r} is not a conversation written by `architect-bot export`")
    try:
        return Conversation.model_validate(document["conversation"])
    except (KeyError, ValueError) as exc:
        raise ReadError(f"{str(path)!r} holds no readable conversation ({type(exc).__name__})") from None
