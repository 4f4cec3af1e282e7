"""The conversation engine: the only door to conversations, for Slack, the terminal and tests.

:class:`Engine` is the facade: it wires the use cases once and keeps the calls simple. Each use
case lives in its own module and takes only the collaborators it uses:

- :mod:`~bot.core.engine.intake`: :meth:`Engine.start` opens a conversation with an agent and
  stores the first user turn; :meth:`Engine.reply` stores a reply in an existing conversation (or
  parks it until the conversation it overtook exists); :meth:`Engine.continue_or_start` does
  either, atomically (a mention in a thread); :meth:`Engine.adopt` re-creates a conversation from
  its thread as Slack gives it back (the store lost it), or starts one in a thread that already has
  a discussion, with its history; :meth:`Engine.copy_in` copies one for the terminal;
- :mod:`~bot.core.engine.answer`: :meth:`Engine.answer` lets the current agent answer everything
  not answered yet, streaming (lock + one read, prompt, the quota's reservation and charge);
- :mod:`~bot.core.engine.model_loop`: one answer's model rounds, its tool calls, the pause for an
  approval and the resume after it (:meth:`Engine.decide`), storing the answer's turn;
- :mod:`~bot.core.engine.handoff`: :meth:`Engine.hand_off` moves the conversation to another agent
  after a button click, and retires the clicked answer's buttons in the same store operation;
- :mod:`~bot.core.engine.forget`: :meth:`Engine.forget` deletes a conversation on request and
  keeps it from ever being reopened or adopted again (:meth:`Engine.is_forgotten`: check it before
  reading a thread back from Slack);
- :mod:`~bot.core.engine.shown`: what Slack shows (where handoff buttons are shown, votes,
  canvases, recent threads); :mod:`~bot.core.engine.deliveries`: each delivery runs once;
- :mod:`~bot.core.engine.outcomes`: what they return (no logic).

Governance (optional, :mod:`bot.core.governance`): replies and mentions carry the agents their
author may not use, and the store refuses them in the same atomic write; with a
:class:`~bot.core.governance.Quota`, :meth:`AnswerStream.open` reserves the estimated tokens
before any model call (raising :class:`~bot.errors.BudgetExceededError` when a limit stops it)
and the real usage is charged once the answer is stored.

Tools (optional, :mod:`bot.core.engine.tool_loop`): agents with tools answer in a loop: the model asks
for tool calls, they run within the rules, the results go back to the model, until it answers.
:meth:`Engine.decide` resumes an answer paused on a call that needs approval: its state is stored
in the conversation (one store operation that also releases the lock) and
:meth:`AnswerStream.paused` says what waits; a click, a new message or the time limit decides it,
exactly once (the pending state is taken atomically).

The engine knows nothing about how an answer is shown. :meth:`Engine.answer` returns an
:class:`AnswerStream`: :meth:`AnswerStream.open` says whether there is anything to answer (and who
answers), iterating yields text deltas, then :attr:`AnswerStream.result` holds the stored answer.

Guarantees (with a store that keeps the :class:`~bot.core.ports.ConversationStore` contract):
- a user's turn is stored *before* the model is called, so an outage loses nothing: the next
  answer in that thread picks it up;
- answers in one conversation never interleave: answering holds the conversation's lock, and a
  second answerer that finds nothing pending does nothing;
- a handoff is one atomic store operation (new agent and model, the handoff record, the prompt
  turn): a crash leaves either the old state or the new one, and the next answer picks it up;
- an answer cut by the deadline is stored with ``status="cut"`` and said to be cut, not lost.

Importing this package is cheap: each name is imported from its module on first use (PEP 562),
so the Slack ack path can name the engine's types without importing the engine, which the first
answer imports (on the warm-up thread after a cold start's first ack).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.core.engine.answer import AnswerStream
    from bot.core.engine.facade import Engine
    from bot.core.engine.outcomes import (
        CUT_NOTICE,
        STOP_NOTICE,
        Adopted,
        AnswerEvent,
        AnswerPlan,
        AnswerResult,
        ApprovalDecision,
        ApprovalRequest,
        Continued,
        EngineConfig,
        ForgetCheck,
        Forgotten,
        HandoffOutcome,
        ReplyOutcome,
        StopAnswer,
        ToolActivity,
        ToolNotice,
    )
    from bot.core.engine.turns import slack_ts

__all__ = [
    "CUT_NOTICE",
    "STOP_NOTICE",
    "Adopted",
    "AnswerEvent",
    "AnswerPlan",
    "AnswerResult",
    "AnswerStream",
    "ApprovalDecision",
    "ApprovalRequest",
    "Continued",
    "Engine",
    "EngineConfig",
    "ForgetCheck",
    "Forgotten",
    "HandoffOutcome",
    "ReplyOutcome",
    "StopAnswer",
    "ToolActivity",
    "ToolNotice",
    "slack_ts",
]

_HOME = {name: "bot.core.engine.outcomes" for name in __all__}
_HOME.update(
    AnswerStream="bot.core.engine.answer", Engine="bot.core.engine.facade", slack_ts="bot.core.engine.turns"
)


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
