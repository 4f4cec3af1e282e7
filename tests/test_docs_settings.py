"""The README's configuration table and the settings the code reads say the same thing."""

from __future__ import annotations

import re
from dataclasses import fields
from pathlib import Path

from bot.settings import Settings

README = Path(__file__).resolve().parent.parent / "README.md"
SET_BY_LAMBDA = {"AWS_LAMBDA_FUNCTION_NAME"}  # not for people to set


def _table_names() -> set[str]:
    """The variable names in the first column of the README's configuration table."""
    section = README.read_text(encoding="utf-8").split("\n## Configuration", 1)[1].split("\n## ", 1)[0]
    names: set[str] = set()
    for line in section.splitlines():
        if line.startswith("| `"):
            names.update(re.findall(r"`([A-Z*][A-Z0-9_*]*)`", line.split("|")[1]))
    return names


def _documented(name: str, table: set[str]) -> bool:
    return name in table or any(
        "*" in entry and re.fullmatch(re.escape(entry).replace(r"\*", ".*"), name) for entry in table
    )


def test_every_setting_is_in_the_readme_table() -> None:
    """A person configuring the bot finds every environment variable it reads in the README's table."""
    table = _table_names()
    missing = [
        name.upper()
        for name in (f.name for f in fields(Settings))
        if name.upper() not in SET_BY_LAMBDA and not _documented(name.upper(), table)
    ]
    assert missing == [], f"settings missing from README.md's configuration table: {missing}"


def test_the_readme_table_names_no_setting_the_code_dropped() -> None:
    """Nothing in the README's table is a variable the bot no longer reads."""
    names = {f.name.upper() for f in fields(Settings)}
    stale = sorted(name for name in _table_names() if "*" not in name and name not in names)
    assert stale == [], f"README.md's configuration table names unknown settings: {stale}"
