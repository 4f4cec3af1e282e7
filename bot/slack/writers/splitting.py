"""Splitting an answer's Markdown across Slack messages, shared by both writers.

A message holds at most :data:`~bot.slack.blocks.MESSAGE_MARKDOWN_BUDGET` characters; a longer
answer is cut at a paragraph, line or word boundary, and a code fence open at the cut is closed in
the head and reopened in the rest, so both render as code.
"""

from __future__ import annotations


def _fence_opener(line: str) -> str | None:
    stripped = line.lstrip()
    for marker in ("```", "~~~"):
        if stripped.startswith(marker):
            return stripped
    return None


def _open_fence(text: str) -> str | None:
    """The opener line of the code fence still open at the end of ``text`` (None if none is)."""
    opener: str | None = None
    for line in text.split("\n"):
        marker = _fence_opener(line)
        if marker is not None:
            opener = None if opener is not None else marker
    return opener


def cut_markdown(content: str, limit: int, earliest: int = 0) -> tuple[str, str]:
    """Split ``content`` (longer than ``limit``) into a head of at most ``limit`` characters and the rest.

    Cuts at the last blank line, else the last line break, else the last space, before the limit
    and not before ``earliest`` (text already shown in a stream, which cannot be taken back).
    When the cut falls inside a fenced code block, the head gets a closing fence and the rest
    starts by reopening it (same info string), so both render as code.
    """
    if len(content) <= limit:
        return content, ""
    budget = limit - 4  # room for "\n```"
    low = min(max(earliest, 0), budget)
    window = content[:budget]
    floor = max(budget // 2, low)
    cut = window.rfind("\n\n", low)
    if cut < floor:
        cut = window.rfind("\n", low)
    if cut < floor:
        cut = window.rfind(" ", low)
    if cut <= 0 or cut < low:
        cut = budget
    head, rest = content[:cut], content[cut:].lstrip("\n")
    opener = _open_fence(head)
    if opener is not None:
        head += "\n" + opener[:3]
        rest = opener + "\n" + rest
    return head, rest


def last_part(text: str, room: int, shown: int = 0) -> tuple[str, str]:
    """Where an answer's last message starts so its text fits ``room`` (Slack's budget for one message
    less the blocks under it: footer, feedback, buttons): ``("", text)`` when all of ``text`` fits,
    else ``(head, tail)``: ``head`` (never shorter than the ``shown`` characters a stream cannot take
    back) stays in the message it is in, ``tail`` goes with the blocks in a new one ("" when nothing
    can move: the blocks then go alone)."""
    if len(text) <= room:
        return "", text
    earliest = max(shown, len(text) - room)
    if len(text) - earliest < 8:
        return text, ""
    return cut_markdown(text, len(text) - 1, earliest=earliest)
