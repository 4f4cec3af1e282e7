"""An agent file's frontmatter vocabulary: the keys it may use (and what to say about one that is
not among them), and reading the values YAML gives.

A misspelt key (``modle:``, ``handof:``) would otherwise load in silence: the agent then runs on
the default model, or without its handoffs. Keys that other products read (``mode``, ``hidden``,
``title``, ``metadata``, ``hooks``, ...) are known too: real agent files carry them, and the bot
ignores them without a word. Pure: no I/O.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

READ_KEYS = frozenset(
    {
        "name",
        "description",
        "model",
        "target",
        "tools",
        "mcp-servers",
        "argument-hint",
        "agents",
        "user-invocable",
        "user-invokable",
        "disable-model-invocation",
        "infer",
        "handoffs",
    }
)
"""Keys the bot reads (docs/agents.md)."""

OTHER_PRODUCTS_KEYS = frozenset({"metadata", "hooks", "mode", "agent", "hidden", "title"})
"""Keys of VS Code, GitHub Copilot and older chat modes that the bot ignores on purpose."""

KNOWN_KEYS = READ_KEYS | OTHER_PRODUCTS_KEYS

HANDOFF_KEYS = frozenset({"label", "agent", "prompt", "send", "model", "showContinueOn"})
"""Keys of one ``handoffs`` entry."""

SHOWN_KEY_LIMIT = 60


def unknown_key_message(key: object, known: Iterable[str]) -> str:
    """``"`modle`: unknown key; did you mean `model`?"`` (or ``: ignored`` when nothing is close)."""
    shown = str(key).replace("`", "'").replace("\n", " ")
    if len(shown) > SHOWN_KEY_LIMIT:
        shown = shown[: SHOWN_KEY_LIMIT - 1] + "…"
    known = frozenset(known)
    # the keys the bot reads first: `modle` means `model` (which matters here), not `mode`
    for group in (known & READ_KEYS, known - READ_KEYS):
        lowered = {candidate.casefold(): candidate for candidate in sorted(group)}
        close = difflib.get_close_matches(str(key).casefold(), list(lowered), n=1, cutoff=0.6)
        if close:
            return f"`{shown}`: unknown key; did you mean `{lowered[close[0]]}`?"
    return f"`{shown}`: unknown key: ignored (known keys: {', '.join(f'`{k}`' for k in sorted(READ_KEYS))})"


def unknown_keys(keys: Iterable[object], known: frozenset[str] = KNOWN_KEYS) -> list[object]:
    """The keys that are not in ``known``, in their order."""
    return [key for key in keys if not (isinstance(key, str) and key in known)]


def type_name(value: object) -> str:
    """A YAML value's kind in words (for problems: "found a list")."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, dict):
        return "mapping"
    if isinstance(value, list):
        return "list"
    if isinstance(value, str):
        return "string"
    if isinstance(value, int | float):
        return "number"
    return type(value).__name__


def scalar_text(value: object) -> str | None:
    """Text of a string, number or date value (YAML reads ``4.1`` as a float); None otherwise."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None or isinstance(value, dict | list):
        return None
    if isinstance(value, int | float):
        return str(value)
    if hasattr(value, "isoformat"):
        return str(value)
    return None


def as_bool(value: object) -> bool | None:
    """``true``/``false`` (or their text); None for anything else."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    return None
