"""Tools an agent may call while it answers, as a package by job.

- :mod:`~bot.core.tools.calls`: what a tool, a call and a result are; the provider port; :class:`Toolbox`.
- :mod:`~bot.core.tools.rules`: the loop's limits (:class:`ToolRules`) and the notes the model reads.
- :mod:`~bot.core.tools.approval`: which calls wait for a click (:func:`approval_reason`).
- :mod:`~bot.core.tools.catalogue`: the built-ins and the VS Code tools that cannot exist in Slack.
- :mod:`~bot.core.tools.plan`: what an agent file's ``tools`` / ``mcp-servers`` become here.
- :mod:`~bot.core.tools.urls`: addresses compared, found in what people wrote, shown without a query.
- :mod:`~bot.core.tools.showing`: how a call reads in the thread.

Pure: no network, no SDK. Adapters (:mod:`bot.adapters.web_fetch`, :mod:`bot.adapters.github_tools`,
:mod:`bot.adapters.mcp_tools`) implement :class:`ToolProvider`; the engine runs the loop
(:mod:`bot.core.tool_loop`) with :class:`ToolRules`. Every public name is importable from here.
Importing the package is cheap: each name is imported from its module on first use (PEP 562), so
what needs only what a tool call is (the engine's outcomes, the Slack ack path) does not import
the catalogue, the approval rules or the URL handling.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.core.tools.approval import ApprovalPolicy, approval_reason
    from bot.core.tools.calls import (
        MAX_TOOL_NAME,
        AssistantToolCalls,
        Toolbox,
        ToolCall,
        ToolError,
        ToolMessage,
        ToolOutput,
        ToolProvider,
        ToolResult,
        ToolSpec,
        ToolTimeoutError,
        model_tool_name,
    )
    from bot.core.tools.catalogue import (
        BUILTIN_ALIASES,
        FETCH,
        FETCH_SPEC,
        GITHUB,
        GITHUB_READ_TOOLS,
        NOT_HERE,
        NOT_HERE_SETS,
    )
    from bot.core.tools.plan import (
        McpSelection,
        McpServer,
        ToolboxFactory,
        ToolConfig,
        ToolPlan,
        Unavailable,
        plan_tools,
        server_refusal,
    )
    from bot.core.tools.rules import (
        CAP_NOTE,
        DENIED_NOTE,
        TIME_NOTE,
        ToolRules,
        result_for_error,
        result_for_output,
    )
    from bot.core.tools.showing import call_argument, call_line, call_title, result_detail, size_text
    from bot.core.tools.urls import domain_allowed, normalize_url, safe_url, urls_in

__all__ = [
    "BUILTIN_ALIASES",
    "CAP_NOTE",
    "DENIED_NOTE",
    "FETCH",
    "FETCH_SPEC",
    "GITHUB",
    "GITHUB_READ_TOOLS",
    "MAX_TOOL_NAME",
    "NOT_HERE",
    "NOT_HERE_SETS",
    "TIME_NOTE",
    "ApprovalPolicy",
    "AssistantToolCalls",
    "McpSelection",
    "McpServer",
    "ToolCall",
    "ToolConfig",
    "ToolError",
    "ToolMessage",
    "ToolOutput",
    "ToolPlan",
    "ToolProvider",
    "ToolResult",
    "ToolRules",
    "ToolSpec",
    "ToolTimeoutError",
    "Toolbox",
    "ToolboxFactory",
    "Unavailable",
    "approval_reason",
    "call_argument",
    "call_line",
    "call_title",
    "domain_allowed",
    "model_tool_name",
    "normalize_url",
    "plan_tools",
    "result_detail",
    "result_for_error",
    "result_for_output",
    "safe_url",
    "server_refusal",
    "size_text",
    "urls_in",
]

_HOME = {
    "ApprovalPolicy": "bot.core.tools.approval",
    "approval_reason": "bot.core.tools.approval",
    "MAX_TOOL_NAME": "bot.core.tools.calls",
    "AssistantToolCalls": "bot.core.tools.calls",
    "Toolbox": "bot.core.tools.calls",
    "ToolCall": "bot.core.tools.calls",
    "ToolError": "bot.core.tools.calls",
    "ToolMessage": "bot.core.tools.calls",
    "ToolOutput": "bot.core.tools.calls",
    "ToolProvider": "bot.core.tools.calls",
    "ToolResult": "bot.core.tools.calls",
    "ToolSpec": "bot.core.tools.calls",
    "ToolTimeoutError": "bot.core.tools.calls",
    "model_tool_name": "bot.core.tools.calls",
    "BUILTIN_ALIASES": "bot.core.tools.catalogue",
    "FETCH": "bot.core.tools.catalogue",
    "FETCH_SPEC": "bot.core.tools.catalogue",
    "GITHUB": "bot.core.tools.catalogue",
    "GITHUB_READ_TOOLS": "bot.core.tools.catalogue",
    "NOT_HERE": "bot.core.tools.catalogue",
    "NOT_HERE_SETS": "bot.core.tools.catalogue",
    "McpSelection": "bot.core.tools.plan",
    "McpServer": "bot.core.tools.plan",
    "ToolboxFactory": "bot.core.tools.plan",
    "ToolConfig": "bot.core.tools.plan",
    "ToolPlan": "bot.core.tools.plan",
    "Unavailable": "bot.core.tools.plan",
    "plan_tools": "bot.core.tools.plan",
    "server_refusal": "bot.core.tools.plan",
    "CAP_NOTE": "bot.core.tools.rules",
    "DENIED_NOTE": "bot.core.tools.rules",
    "TIME_NOTE": "bot.core.tools.rules",
    "ToolRules": "bot.core.tools.rules",
    "result_for_error": "bot.core.tools.rules",
    "result_for_output": "bot.core.tools.rules",
    "call_argument": "bot.core.tools.showing",
    "call_line": "bot.core.tools.showing",
    "call_title": "bot.core.tools.showing",
    "result_detail": "bot.core.tools.showing",
    "size_text": "bot.core.tools.showing",
    "domain_allowed": "bot.core.tools.urls",
    "normalize_url": "bot.core.tools.urls",
    "safe_url": "bot.core.tools.urls",
    "urls_in": "bot.core.tools.urls",
}


def __getattr__(name: str) -> Any:
    """Import a public name from its module on first use."""
    home = _HOME.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
