"""Payload checks with slack_sdk's own models: what Slack's SDK would not build, the emulator refuses.

The emulator's rules in :mod:`bot.playground.blockkit` are written here; these are not. Each block
(``Block.parse``), view (``View``) and streaming chunk (``Chunk.parse``) is rebuilt with slack_sdk's
model and serialised with ``to_dict()``, which runs every model's validators down the tree
(``validate_json()`` checks one object, ``to_dict()`` each nested one too). A payload fails when:

- slack_sdk does not know its type (``Block.parse`` / ``Chunk.parse`` answer None),
- the model refuses it (a required field missing: ``TypeError``; a validator: ``SlackObjectFormationError``),
- a property would be dropped on the way (slack_sdk's models keep only the properties they know, so an
  unknown or misspelt key is one Slack's schema does not have either).

Each problem is a line in Slack's style, ``"<what> [json-pointer:/blocks/0]"``.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.basic_objects import JsonObject
from slack_sdk.models.blocks import Block
from slack_sdk.models.messages.chunk import Chunk
from slack_sdk.models.views import View

Problems = list[str]

VIEW_ANSWER_KEYS = frozenset({"id", "team_id", "state", "hash", "bot_id", "app_id"})
"""Keys Slack adds to a view it returns (not sent by apps, and not all known to the model)."""


def _at(pointer: str, what: str) -> str:
    return f"{what} [json-pointer:{pointer}]"


def _dropped(sent: Any, kept: Any, pointer: str) -> Problems:
    """Properties of ``sent`` that the model's ``to_dict()`` (``kept``) lost: unknown to slack_sdk."""
    problems: Problems = []
    if isinstance(sent, dict) and isinstance(kept, dict):
        for key, value in sent.items():
            if value is None or value in ([], ""):
                continue  # the models leave empty values out; Slack's own checks report them
            if key not in kept:
                problems.append(_at(f"{pointer}/{key}", f"unsupported property {key!r} (slack_sdk)"))
            else:
                problems += _dropped(value, kept[key], f"{pointer}/{key}")
    elif isinstance(sent, list) and isinstance(kept, list) and len(sent) == len(kept):
        for index, (item, back) in enumerate(zip(sent, kept, strict=True)):
            problems += _dropped(item, back, f"{pointer}/{index}")
    return problems


def _rebuilt(model: JsonObject | None, sent: Any, pointer: str, kind: str) -> Problems:
    if model is None:
        return [_at(f"{pointer}/type", f"unsupported {kind} type {sent.get('type')!r} (slack_sdk)")]
    try:
        kept = model.to_dict()
    except SlackObjectFormationError as error:
        return [_at(pointer, f"{error} (slack_sdk)")]
    return _dropped(sent, kept, pointer)


def _model(build: Any, sent: Any, pointer: str, kind: str) -> Problems:
    if not isinstance(sent, dict):
        return [_at(pointer, f"must be a {kind} object")]
    try:
        model = build(sent)
    except (TypeError, ValueError, AttributeError, KeyError, SlackObjectFormationError) as error:
        return [_at(pointer, f"{kind} refused by slack_sdk: {error}")]
    return _rebuilt(model, sent, pointer, kind)


def block_problems(blocks: Any, *, pointer: str = "/blocks") -> Problems:
    """What slack_sdk's Block Kit models refuse in a list of blocks (empty: all accepted)."""
    if not isinstance(blocks, list):
        return []  # the emulator's own checks report the shape
    problems: Problems = []
    for index, block in enumerate(blocks):
        problems += _model(Block.parse, block, f"{pointer}/{index}", "block")
    return problems


def view_problems(view: Any) -> Problems:
    """What slack_sdk's ``View`` model (and its blocks' models) refuse in a modal or Home tab."""
    if not isinstance(view, dict):
        return []
    sent = {key: value for key, value in view.items() if key not in VIEW_ANSWER_KEYS}
    return _model(lambda d: View(**d), sent, "/view", "view")


def chunk_problems(chunks: Any, *, pointer: str = "/chunks") -> Problems:
    """What slack_sdk's streaming chunk models refuse (``markdown_text``, ``task_update``, ...)."""
    if not isinstance(chunks, list):
        return []
    problems: Problems = []
    for index, chunk in enumerate(chunks):
        problems += _model(Chunk.parse, chunk, f"{pointer}/{index}", "chunk")
    return problems
