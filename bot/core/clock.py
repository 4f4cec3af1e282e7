"""Time, injectable: the clock port, the real clock and a fake one for tests and benchmarks.

A module of its own (re-exported by :mod:`bot.core.ports`) so that what needs only a clock, like the
services container on the Slack ack path, does not import every port's types.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol


class Clock(Protocol):
    """Time, injectable for tests."""

    def now(self) -> float:
        """Wall clock, seconds since the epoch."""
        ...

    def monotonic(self) -> float:
        """Monotonic seconds, for deadlines and durations."""
        ...


@dataclass
class SystemClock:
    """The real clock."""

    def now(self) -> float:
        """Wall clock."""
        return time.time()

    def monotonic(self) -> float:
        """Monotonic clock."""
        return time.monotonic()


@dataclass
class FixedClock:
    """A clock that moves only when told (tests and benchmarks).

    ``real_monotonic``: the monotonic side is the process's own plus what :meth:`advance` added
    (end-to-end tests, where the model and tool adapters wait on real deadlines); ``advance(s,
    wall_only=True)`` moves only the date (budgets, approval time limits), not the deadlines.
    """

    wall: float = 1_700_000_000.0
    mono: float = 1_000.0
    real_monotonic: bool = False
    moved: float = 0.0  # seconds advanced so far

    def now(self) -> float:
        """Current fake wall time."""
        return self.wall

    def monotonic(self) -> float:
        """Current fake monotonic time (with ``real_monotonic``: the real one, moved)."""
        return time.monotonic() + self.moved if self.real_monotonic else self.mono

    def advance(self, seconds: float, *, wall_only: bool = False) -> None:
        """Move the clock forward (with ``wall_only``: the wall clock alone)."""
        self.wall += seconds
        if not wall_only:
            self.mono += seconds
            self.moved += seconds
