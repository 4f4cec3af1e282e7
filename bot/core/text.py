"""Small wording helpers shared by the CLI and Slack messages. Pure."""

from __future__ import annotations

from collections.abc import Sequence


def plural(count: int, word: str, many: str | None = None) -> str:
    """``1 error``, ``2 errors``, ``0 errors``; ``many`` for irregular words (``entries``)."""
    return f"{count} {word if count == 1 else (many or word + 's')}"


def shortlist(items: Sequence[str], limit: int = 10, sep: str = ", ") -> str:
    """The first ``limit`` items joined, then ``... and N more`` when some were left out."""
    shown = sep.join(items[:limit])
    rest = len(items) - limit
    return f"{shown}{sep}... and {rest} more" if rest > 0 else shown
