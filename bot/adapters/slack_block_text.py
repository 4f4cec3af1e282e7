"""The Markdown of a message read back from Slack, whatever blocks Slack returns it in.

The bot sends an answer as one ``markdown`` block (plus its footer and buttons). Reading the thread
back (``conversations.replies``), Slack may return that block as sent, or translated into the blocks
it rendered: ``rich_text`` (paragraphs, lists, code, quotes, with styles and links), ``section``
and ``header`` blocks. :func:`message_markdown` reads any of these, in order, back into Markdown;
the blocks the bot adds around an answer (``context`` footers, ``actions`` and ``context_actions``
buttons) are not text of the answer and are left out.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

TEXT_BLOCKS = frozenset({"markdown", "rich_text", "section", "header"})
_MARKS = (("code", "`"), ("bold", "**"), ("italic", "_"), ("strike", "~~"))
_BROADCASTS = {"here": "<!here>", "channel": "<!channel>", "everyone": "<!everyone>"}


def message_markdown(message: Mapping[str, Any]) -> str:
    """A message's Markdown from its text blocks (as sent or as Slack translated them), else ``text``."""
    blocks = message.get("blocks")
    if isinstance(blocks, list):
        texts = [block for block in blocks if isinstance(block, Mapping) and block.get("type") in TEXT_BLOCKS]
        parts = [part for part in map(block_markdown, texts) if part]
        if parts:  # Markdown as sent: one block per message; translated: a block per paragraph or so
            as_sent = all(block.get("type") == "markdown" for block in texts)
            return ("\n" if as_sent else "\n\n").join(parts)
    return str(message.get("text") or "")


def block_markdown(block: Mapping[str, Any]) -> str:
    """One block's Markdown ("" for blocks that are not text of the message)."""
    kind = block.get("type")
    if kind == "markdown":
        return str(block.get("text") or "")
    if kind in ("section", "header"):
        text = block.get("text")
        shown = str(text.get("text") or "") if isinstance(text, Mapping) else ""
        return f"## {shown}" if kind == "header" and shown else shown
    if kind == "rich_text":
        return rich_text_markdown(block.get("elements") or [])
    return ""


def rich_text_markdown(elements: Sequence[Any]) -> str:
    """Markdown for a ``rich_text`` block's elements (sections, lists, code, quotes)."""
    parts: list[str] = []
    for element in elements:
        if not isinstance(element, Mapping):
            continue
        kind = element.get("type")
        inline = element.get("elements") or []
        if kind == "rich_text_section":
            parts.append(_inline(inline))
        elif kind == "rich_text_preformatted":
            parts.append("```\n" + _inline(inline, styled=False).strip("\n") + "\n```")
        elif kind == "rich_text_quote":
            parts.append("\n".join(f"> {line}" for line in _inline(inline).split("\n")))
        elif kind == "rich_text_list":
            parts.append(_list(element))
    return "\n\n".join(part.rstrip("\n") for part in parts if part.strip()).strip()


def _list(element: Mapping[str, Any]) -> str:
    ordered = element.get("style") == "ordered"
    indent = "   " * int(element.get("indent") or 0)
    start = int(element.get("offset") or 0) + 1
    lines = []
    for number, item in enumerate(element.get("elements") or [], start):
        text = _inline(item.get("elements") or []) if isinstance(item, Mapping) else ""
        lines.append(f"{indent}{f'{number}.' if ordered else '-'} {text.strip()}")
    return "\n".join(lines)


def _inline(elements: Sequence[Any], *, styled: bool = True) -> str:
    out: list[str] = []
    for element in elements:
        if isinstance(element, Mapping):
            out.append(_element(element, styled=styled))
    return "".join(out)


def _link(element: Mapping[str, Any]) -> str:
    url, label = str(element.get("url") or ""), str(element.get("text") or "")
    return f"[{label}]({url})" if label and label != url else url


_INLINE: dict[str, Callable[[Mapping[str, Any]], str]] = {
    "link": _link,
    "emoji": lambda e: f":{e['name']}:" if e.get("name") else str(e.get("unicode") or ""),
    "user": lambda e: f"<@{e.get('user_id')}>",
    "usergroup": lambda e: f"<!subteam^{e.get('usergroup_id')}>",
    "channel": lambda e: f"<#{e.get('channel_id')}>",
    "broadcast": lambda e: _BROADCASTS.get(str(e.get("range")), ""),
    "date": lambda e: str(e.get("fallback") or e.get("timestamp") or ""),
}
"""Inline rich text elements other than ``text``, as Slack writes them in message text."""


def _element(element: Mapping[str, Any], *, styled: bool) -> str:
    kind = str(element.get("type"))
    if kind in _INLINE:
        return _INLINE[kind](element)
    text = str(element.get("text") or "")
    style = element.get("style")
    if kind != "text" or not styled or not isinstance(style, Mapping) or not text.strip():
        return text
    for name, mark in _MARKS:
        if style.get(name):
            text = f"{mark}{text}{mark}"
    return text
