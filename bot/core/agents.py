"""Agent definitions: the VS Code / Copilot custom-agent file format, parsed into validated specs.

See ``docs/agents.md`` (and ``../shared/docs/agent-format.md``) for the format. This module is pure:
it turns one file's *text* into an :class:`AgentSpec` or :class:`Problem` s; reading folders is
:mod:`bot.adapters.agent_files`, resolving names and routing is :mod:`bot.core.registry`.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Severity = Literal["error", "warning"]


class Problem(BaseModel):
    """Something wrong with an agent file. ``error`` = the file (or entry) was not loaded."""

    model_config = ConfigDict(frozen=True)

    file: str
    line: int | None = None
    message: str
    severity: Severity = "error"


class Handoff(BaseModel):
    """A button offered under an agent's answer."""

    model_config = ConfigDict(frozen=True)

    label: str = Field(min_length=1)
    agent: str = Field(min_length=1, description="Target agent name as written in the file")
    prompt: str
    send: bool = False
    model: str | None = None
    show_continue_on: bool | None = None


class AgentSpec(BaseModel):
    """One agent as loaded from its file."""

    model_config = ConfigDict(frozen=True)

    name: str = Field(min_length=1)
    file: str = Field(description="Path of the file it came from, as given to the parser")
    stem: str = Field(description="File name without .agent.md / .chatmode.md")
    description: str = ""
    models: tuple[str, ...] = Field(default=(), description="Model names as written, in preference order")
    target: str | None = None
    tools: tuple[str, ...] = ()
    argument_hint: str | None = None
    agents: tuple[str, ...] = ()
    user_invocable: bool = True
    disable_model_invocation: bool = False
    handoffs: tuple[Handoff, ...] = ()
    instructions: str = ""
