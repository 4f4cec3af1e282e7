"""An agent file's text, read as far as YAML: decoding, the frontmatter/body split, the YAML
mapping, and the line of each top-level key (to point problems at lines).

The first stage of :func:`bot.core.agents.parse_agent`, which turns the mapping into an
:class:`~bot.core.agents.AgentSpec`. Every defect that skips the file is a :class:`Problem`; no
function here raises. Pure: no I/O. :class:`Problem` is a plain dataclass, not a pydantic model:
a Lambda cold start reads the agent files before its first answer, and importing pydantic would
cost it about a tenth of a second.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Literal

import yaml

from bot.core.frontmatter import type_name

Severity = Literal["error", "warning"]

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_CLOSING = re.compile(r"^---[ \t]*$", re.MULTILINE)
_OPENING = re.compile(r"---[ \t]*$")


@dataclass(frozen=True, slots=True, kw_only=True)
class Problem:
    """Something wrong with an agent file. ``error`` = the file (or entry) was not loaded."""

    file: str
    line: int | None = None
    message: str
    severity: Severity = "error"


def decode_text(text: str | bytes, path: str) -> tuple[str | None, Problem | None]:
    """The file's text (UTF-8, without a BOM, with \\n line ends), or the problem that skips the file."""
    if isinstance(text, bytes):
        raw = text
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = raw.count(b"\n", 0, exc.start) + 1
            message = f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); file skipped"
            return None, Problem(file=path, line=line, message=message)
    if text.startswith("\ufeff"):
        text = text[1:]
    return text.replace("\r\n", "\n").replace("\r", "\n"), None


def split_frontmatter(text: str, path: str) -> tuple[str | None, int, str, Problem | None]:
    """Split into (frontmatter or None, line number of the first frontmatter line, body, problem)."""
    pos = 0
    line_no = 1
    # Blank lines before the opening `---` are allowed (VS Code skips them).
    while True:
        end = text.find("\n", pos)
        current = text[pos:] if end == -1 else text[pos:end]
        if current.strip() or end == -1:
            break
        pos = end + 1
        line_no += 1
    if not _OPENING.fullmatch(current):
        return None, 0, text, None
    start = len(text) if end == -1 else end + 1
    closing = _CLOSING.search(text, start)
    if closing is None:
        return (
            None,
            0,
            "",
            Problem(
                file=path,
                line=line_no,
                message="frontmatter opened with '---' is never closed by a '---' line; file skipped",
            ),
        )
    body_start = closing.end() + 1 if closing.end() < len(text) else closing.end()
    return text[start : closing.start()], line_no + 1, text[body_start:], None


_TOP_KEY = re.compile(r"""^(['"]?)([A-Za-z_][\w-]*)\1[ \t]*:""")
_ITEM = re.compile(r"^([ \t]*)-(?:[ \t]|$)")


def key_lines(frontmatter: str, first_line: int) -> tuple[dict[str, int], list[int]]:
    """Line of each top-level key (first occurrence) and of each block-list item under ``handoffs``.

    Only used to point problems at lines; a guess that misses (flow style) falls back to the key.
    """
    lines: dict[str, int] = {}
    items: list[int] = []
    in_handoffs = False
    indent: str | None = None
    for offset, raw in enumerate(frontmatter.split("\n")):
        match = _TOP_KEY.match(raw)
        if match:
            lines.setdefault(match.group(2), first_line + offset)
            in_handoffs = match.group(2) == "handoffs" and lines["handoffs"] == first_line + offset
            continue
        item = _ITEM.match(raw) if in_handoffs else None
        if item and (indent is None or item.group(1) == indent):
            indent = item.group(1)
            items.append(first_line + offset)
    return lines, items


def _yaml_problem(exc: yaml.YAMLError, path: str, first_line: int) -> Problem:
    """A YAML error as a problem: line from the error mark, reason from the error's own words.

    ``str(exc)`` quotes the offending source line, which could hold a secret; it is not used.
    """
    line: int | None = None
    reason = "invalid YAML"
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        if mark is not None:
            line = first_line + mark.line
        parts = [part for part in (exc.problem, exc.context) if part]
        if parts:
            reason = ", ".join(parts)
        if mark is not None:
            reason += f", column {mark.column + 1}"
    return Problem(file=path, line=line, message=f"frontmatter is not valid YAML ({reason}); file skipped")


def load_frontmatter(
    frontmatter: str, path: str, first_line: int
) -> tuple[dict[Any, Any] | None, Problem | None]:
    """The frontmatter as a mapping (empty for an empty block), or the problem that skips the file."""
    try:
        data: Any = yaml.load(frontmatter, Loader=_Loader)  # noqa: S506 - a SafeLoader (C or Python)
    except yaml.YAMLError as exc:
        return None, _yaml_problem(exc, path, first_line)
    except (RecursionError, MemoryError, ValueError, TypeError, OverflowError) as exc:
        message = f"frontmatter could not be read as YAML ({type(exc).__name__}); file skipped"
        return None, Problem(file=path, line=first_line, message=message)
    if data is None:
        return {}, None
    if not isinstance(data, dict):
        kind = type_name(data)
        message = f"frontmatter must be a mapping of 'key: value' lines, found a {kind}; file skipped"
        return None, Problem(file=path, line=first_line, message=message)
    return data, None
