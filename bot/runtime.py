"""Per-invocation runtime facts: the deadline and request id of the work under way.

On Lambda the handler records the invocation's context here; a lazy listener reads how long it may
run (:func:`deadline`). Locally there is no such limit, so a generous default applies.
"""

from __future__ import annotations

import contextvars
import time
import uuid
from dataclasses import dataclass
from typing import Protocol

LOCAL_TIME_LIMIT_S = 600.0
SAFETY_MARGIN_S = 10.0  # to store a cut answer and tell Slack before Lambda kills us


class LambdaContextLike(Protocol):
    """The parts of the Lambda context object we use."""

    aws_request_id: str

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before Lambda stops the invocation."""
        ...


@dataclass(frozen=True, slots=True)
class Invocation:
    """What the current invocation may use."""

    request_id: str
    deadline: float  # time.monotonic() value


_current: contextvars.ContextVar[Invocation | None] = contextvars.ContextVar("invocation", default=None)


def begin(context: LambdaContextLike | None) -> Invocation:
    """Record the current invocation (from a Lambda context, or a local default)."""
    now = time.monotonic()
    if context is not None:
        remaining = context.get_remaining_time_in_millis() / 1000.0
        invocation = Invocation(context.aws_request_id, now + max(1.0, remaining - SAFETY_MARGIN_S))
    else:
        invocation = Invocation(uuid.uuid4().hex, now + LOCAL_TIME_LIMIT_S)
    _current.set(invocation)
    return invocation


def current() -> Invocation:
    """The current invocation; a local one if none was recorded (threads, the terminal)."""
    invocation = _current.get()
    return invocation if invocation is not None else begin(None)
