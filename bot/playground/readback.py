"""How Slack may give a ``markdown`` block back: translated into the blocks it rendered.

Slack documents that a ``markdown`` block sent may come back from ``conversations.replies`` (and
``conversations.history``) as other blocks; it does not document which. A workspace set to
``agent.markdown_read_back = "translated"`` returns each one as Slack renders Markdown: headings as
``section`` blocks in bold, and the rest as one ``rich_text`` block (paragraphs as sections with
bold, italic, code and links styled, ``-`` / ``1.`` lists, fenced code as preformatted text).
"""

from __future__ import annotations

import re
from typing import Any

Json = dict[str, Any]

_INLINE = re.compile(
    r"\*\*(?P<bold>[^*]+)\*\*|`(?P<code>[^`]+)`|_(?P<italic>[^_]+)_|\[(?P<label>[^\]]+)\]\((?P<url>[^)]+)\)"
)
_BULLET = re.compile(r"^\s*[-*] (.*)$")
_ORDERED = re.compile(r"^\s*\d+[.)] (.*)$")
_HEADING = re.compile(r"^#{1,6} (.*)$")


def as_read(message: Json, read_back: str) -> Json:
    """A message as ``conversations.replies`` gives it: markdown blocks ``"as_sent"`` or ``"translated"``."""
    if read_back == "translated" and "blocks" in message:
        return {**message, "blocks": translated(message["blocks"])}
    return message


def translated(blocks: list[Json]) -> list[Json]:
    """``blocks`` with every ``markdown`` block replaced by the blocks Slack rendered it as."""
    out: list[Json] = []
    for block in blocks:
        if block.get("type") == "markdown" and isinstance(block.get("text"), str):
            out += _render(block["text"])
        else:
            out.append(block)
    return out


def _render(markdown: str) -> list[Json]:
    blocks: list[Json] = []
    rich: list[Json] = []

    def flush() -> None:
        if rich:
            blocks.append({"type": "rich_text", "elements": list(rich)})
            rich.clear()

    for chunk in _chunks(markdown):
        heading = _HEADING.match(chunk)
        if heading:
            flush()
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": f"*{heading[1]}*"}})
        elif chunk.startswith("```"):
            code = "\n".join(chunk.split("\n")[1:-1])
            rich.append({"type": "rich_text_preformatted", "elements": [{"type": "text", "text": code}]})
        elif all(_BULLET.match(line) or _ORDERED.match(line) for line in chunk.split("\n")):
            ordered = bool(_ORDERED.match(chunk.split("\n")[0]))
            items = [(_ORDERED if ordered else _BULLET).sub(r"\1", line) for line in chunk.split("\n")]
            rich.append(
                {
                    "type": "rich_text_list",
                    "style": "ordered" if ordered else "bullet",
                    "elements": [{"type": "rich_text_section", "elements": _inline(i)} for i in items],
                }
            )
        else:
            rich.append({"type": "rich_text_section", "elements": _inline(chunk)})
    flush()
    return blocks


def _chunks(markdown: str) -> list[str]:
    """Paragraphs, headings and fenced code (kept whole) of ``markdown``."""
    chunks: list[str] = []
    current: list[str] = []
    fenced = False
    for line in markdown.split("\n"):
        if line.startswith("```"):
            fenced = not fenced
        if not fenced and not line.startswith("```") and (not line.strip() or _HEADING.match(line)):
            if current:
                chunks.append("\n".join(current))
                current = []
            if line.strip():
                chunks.append(line)
            continue
        current.append(line)
        if not fenced and line.startswith("```") and len(current) > 1:
            chunks.append("\n".join(current))
            current = []
    if current:
        chunks.append("\n".join(current))
    return chunks


def _inline(text: str) -> list[Json]:
    elements: list[Json] = []
    at = 0
    for found in _INLINE.finditer(text):
        if found.start() > at:
            elements.append({"type": "text", "text": text[at : found.start()]})
        if found["url"]:
            elements.append({"type": "link", "url": found["url"], "text": found["label"]})
        else:
            style = next(name for name in ("bold", "code", "italic") if found[name])
            elements.append({"type": "text", "text": found[style], "style": {style: True}})
        at = found.end()
    if at < len(text):
        elements.append({"type": "text", "text": text[at:]})
    return elements
