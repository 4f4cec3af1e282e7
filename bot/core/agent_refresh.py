"""When to look for changed agent files, and whether a changed set may be used. Pure.

The bot may read its agent files from S3 (``AGENTS_SOURCE``); a team edits them there without a
redeploy. :class:`RefreshSchedule` says when a container may look again: at most once per
``AGENTS_REFRESH_S``, the first time one interval after the set in use was loaded; the check is
claimed before it runs, so two requests at once make one check. :func:`refusal_errors` says
whether a changed set is refused: a set ``architect-bot agents validate`` would fail (an error in
an agent file, the routing file, the policy or the model routes) is refused whole, and the last
good set keeps answering.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from bot.core.agents import Problem
    from bot.core.ports import Clock


class RefreshSchedule:
    """At most one check per interval; the clock is injected (tests move it by hand)."""

    def __init__(self, interval_s: float, clock: Clock) -> None:
        self.interval_s = interval_s
        self._clock = clock
        self._next = clock.monotonic() + interval_s
        self._lock = threading.Lock()

    def claim(self) -> bool:
        """True (and the next check is one interval away) when a check is due now; else False."""
        with self._lock:
            now = self._clock.monotonic()
            if now < self._next:
                return False
            self._next = now + self.interval_s
            return True

    @property
    def next_check(self) -> float:
        """The ``clock.monotonic()`` value from which the next check may run."""
        with self._lock:
            return self._next


def refusal_errors(problems: Iterable[Problem]) -> tuple[Problem, ...]:
    """The errors that refuse a set (warnings pass, as in ``agents validate``); empty = usable."""
    return tuple(problem for problem in problems if problem.severity == "error")


@dataclass(frozen=True, slots=True)
class Refusal:
    """The latest changed set that was refused: when, which version, and why."""

    version: str
    at: float
    errors: tuple[Problem, ...]

    def lines(self, limit: int = 10) -> list[str]:
        """The errors as ``file:line: message`` lines, at most ``limit`` (then ``... and N more``)."""
        shown = [f"{_where(p)}: {p.message}" for p in self.errors[:limit]]
        if len(self.errors) > limit:
            shown.append(f"... and {len(self.errors) - limit} more")
        return shown


def _where(problem: Problem) -> str:
    return f"{problem.file}:{problem.line}" if problem.line else problem.file
