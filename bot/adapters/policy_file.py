"""Reading the access and cost policy file (``POLICY_FILE``, default ``AGENTS_DIR/policy.yaml``).

An absent file is no policy: nothing is restricted (the bot as it was before policies). A file that
exists but cannot be read or has errors yields problems; the caller decides (the bot refuses to
start, ``architect-bot agents validate`` lists them). Agent names are checked against the loaded
agents by :func:`load_policy` when a registry lookup is given.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bot.core.agents import Problem
from bot.core.policy import Policy, parse_policy


def load_policy(
    path: Path, canonical: Callable[[str], str | None] | None = None
) -> tuple[Policy, list[Problem]]:
    """The policy at ``path`` and its problems; ``canonical`` maps agent names to loaded agents."""
    try:
        content = path.read_bytes()
    except FileNotFoundError:
        return Policy(file=str(path)), []
    except OSError as exc:
        return Policy(file=str(path)), [
            Problem(file=str(path), message=f"cannot read policy file ({exc.strerror or exc})")
        ]
    policy, problems = parse_policy(content, str(path))
    if canonical is not None and not any(p.severity == "error" for p in problems):
        policy, unknown = policy.with_agent_names(canonical)
        problems += unknown
    return policy, problems
