"""Model names as agent files write them, mapped to OpenAI model ids.

Agent files are written for VS Code / Copilot, which names models for people: ``GPT-4.1``,
``GPT-4.1 (copilot)``, ``GPT-5 (Preview)``, ``Claude Sonnet 4``, ``inherit``, a list, or even
``GPT-4.1 | 'gpt-5'`` in one string. This bot talks to OpenAI only, so :func:`resolve_model` picks
the first name that is an OpenAI model and keeps the other OpenAI ones as fallbacks; anything else
(other vendors, ``inherit``, nothing) gets the configured default. Pure and stdlib only.

Rules, in order, for each name (see ``docs/agents.md`` for the table):

1. A string may hold several names separated by ``|`` or ``,``; each is read on its own.
2. Quotes, surrounding spaces and trailing qualifiers in parentheses (``(copilot)``, ``(Preview)``)
   are removed; the rest is lower-cased and inner spaces become ``-`` (``GPT 4.1`` -> ``gpt-4.1``).
3. ``inherit``, ``default``, ``auto`` or empty: no preference (the default is used).
4. ``gpt-…``, ``chatgpt-…``, ``codex-…`` and the reasoning series ``o1``, ``o3-mini``, ``o4-mini``…
   are OpenAI ids and are used as normalised (no table of "known" ids: new OpenAI models work without
   a code change; an id OpenAI does not serve fails loudly at the first answer, with a clear error).
5. Anything else (Claude, Gemini, Grok, Llama, …) is not an OpenAI model: skipped, and said so,
   unless a model route (:mod:`bot.core.model_routes`) answers it: then it is kept like an OpenAI id.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

_SEPARATORS = re.compile(r"[|,]")
_QUALIFIER = re.compile(r"\s*\([^()]*\)\s*$")
_OPENAI = re.compile(
    r"^(?:gpt-?\d[a-z0-9.\-]*|chatgpt-[a-z0-9.\-]+|codex-[a-z0-9.\-]+|o\d(?:-[a-z0-9.\-]+)?)$"
)
_NO_PREFERENCE = frozenset({"", "inherit", "default", "auto"})
_VENDORS = (
    "claude",
    "sonnet",
    "opus",
    "haiku",
    "gemini",
    "grok",
    "llama",
    "mistral",
    "codestral",
    "deepseek",
    "qwen",
    "phi",
    "command",
    "raptor",
)


@dataclass(frozen=True, slots=True)
class ModelChoice:
    """The OpenAI model an agent will use, the ones to try if it fails, and why."""

    model: str
    fallbacks: tuple[str, ...] = ()
    how: str = ""


def normalize(name: str) -> str:
    """One name in canonical form: no quotes, no ``(qualifier)`` suffixes, lower case, ``-`` for spaces."""
    text = name.strip().strip("'\"` ").strip()
    while True:
        stripped = _QUALIFIER.sub("", text)
        if stripped == text:
            break
        text = stripped.strip().strip("'\"` ").strip()
    text = re.sub(r"\s+", "-", text.lower())
    if re.match(r"^gpt\d", text):  # "gpt4.1" -> "gpt-4.1"
        text = "gpt-" + text[3:]
    return text


def split_names(names: Sequence[str]) -> list[str]:
    """Every individual name, in order: list entries, and ``a | b`` / ``a, b`` inside one string."""
    out: list[str] = []
    for entry in names:
        out.extend(part.strip().strip("'\"` ").strip() for part in _SEPARATORS.split(entry))
    return [name for name in out if name]


def is_openai(normalized: str) -> bool:
    """True when a normalised name is an OpenAI model id."""
    return bool(_OPENAI.match(normalized))


def resolve_model(
    names: Sequence[str], default: str, routed: Callable[[str], bool] | None = None
) -> ModelChoice:
    """Map an agent's ``model`` value (as written) to an OpenAI model id plus fallbacks.

    ``routed``: names a model route answers (:mod:`bot.core.model_routes`) are kept too, whoever
    makes the model (``claude-sonnet-4.5`` with a ``claude-*`` route).
    """
    if isinstance(names, str):  # a bare string is one entry, not a sequence of characters
        names = [names]
    chosen: list[str] = []
    notes: list[str] = []
    skipped: list[str] = []
    for written in split_names(names):
        model = normalize(written)
        if model in _NO_PREFERENCE:
            skipped.append(f"{written!r} means no preference")
        elif is_openai(model) or (routed is not None and routed(model)):
            if model not in chosen:
                chosen.append(model)
                notes.append(f"{written!r} -> {model}" + ("" if written == model else " (normalized)"))
        elif model.startswith(_VENDORS):
            skipped.append(f"{written!r} is not an OpenAI model")
        else:
            skipped.append(f"{written!r} is not a model name this bot knows")
    if not chosen:
        if not skipped:
            return ModelChoice(model=default, how=f"no model set -> default {default}")
        return ModelChoice(model=default, how=f"{'; '.join(skipped)} -> default {default}")
    how = notes[0]
    if len(chosen) > 1:
        how += "; fallbacks " + ", ".join(chosen[1:])
    if skipped:
        how += "; skipped: " + "; ".join(skipped)
    return ModelChoice(model=chosen[0], fallbacks=tuple(chosen[1:]), how=how)
