"""The tools the settings allow: configuration for the core, and the providers for one answer.

:func:`tool_config`, :func:`tool_rules` and :func:`approval_policy` read :class:`~bot.settings.Settings`
into the core's values (also for ``architect-bot agents validate`` and Slack help, which must not
import any HTTP or MCP code). :class:`SettingsToolbox` is the engine's
:class:`~bot.core.tools.ToolboxFactory`: it builds the adapters on first use (the Slack ack path never
imports httpx2 or the MCP SDK) and keeps the fetch and GitHub clients for the process.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.core.ports import Clock
from bot.core.tools import (
    FETCH,
    FETCH_SPEC,
    GITHUB,
    ApprovalPolicy,
    McpServer,
    ToolConfig,
    ToolOutput,
    ToolPlan,
    ToolProvider,
    ToolRules,
    ToolSpec,
)
from bot.errors import ConfigurationError
from bot.logging import get_logger
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.adapters.github_tools import GitHubTools
    from bot.adapters.web_fetch import WebFetcher

log = get_logger(__name__)


def bot_servers(settings: Settings) -> tuple[McpServer, ...]:
    """The bot's own MCP servers (``MCP_SERVERS``, JSON: name -> {url, type, tools})."""
    if not settings.mcp_servers.strip():
        return ()
    try:
        document = json.loads(settings.mcp_servers)
    except ValueError:
        raise ConfigurationError("MCP_SERVERS is not valid JSON") from None
    if not isinstance(document, dict):
        raise ConfigurationError('MCP_SERVERS must be a JSON object: {"name": {"url": "https://..."}}')
    servers: list[McpServer] = []
    for name, entry in document.items():
        url = entry.get("url") if isinstance(entry, dict) else None
        if not isinstance(url, str) or not url.startswith(("https://", "http://")):
            raise ConfigurationError(f"MCP_SERVERS entry {name!r} needs a 'url' (https://...)")
        kind = str(entry.get("type") or "http").lower()
        if kind not in ("http", "streamable-http", "sse"):
            raise ConfigurationError(f"MCP_SERVERS entry {name!r}: type must be http or sse")
        tools = entry.get("tools")
        servers.append(
            McpServer(
                name=str(name),
                url=url,
                transport="sse" if kind == "sse" else "http",
                tools=tuple(str(t) for t in tools) if isinstance(tools, list) else None,
                origin="bot",
            )
        )
    return tuple(servers)


def mcp_headers(settings: Settings) -> dict[str, dict[str, str]]:
    """``MCP_HEADERS`` (a secret, JSON: URL prefix -> {header: value}); the value is never quoted."""
    if settings.mcp_headers is None or not settings.mcp_headers.get_secret_value().strip():
        return {}
    try:
        document = json.loads(settings.mcp_headers.get_secret_value())
    except ValueError:
        raise ConfigurationError("MCP_HEADERS is not valid JSON") from None
    valid = isinstance(document, dict) and all(
        isinstance(headers, dict) and all(isinstance(v, str) for v in headers.values())
        for headers in document.values()
    )
    if not valid:
        raise ConfigurationError(
            'MCP_HEADERS must be a JSON object: {"https://prefix/": {"Header": "value"}}'
        )
    return {str(prefix): {str(k): v for k, v in headers.items()} for prefix, headers in document.items()}


def tool_config(settings: Settings) -> ToolConfig:
    """What the settings allow agents to use."""
    if not settings.tool_github:
        github_reason = "switched off in the bot's settings (TOOL_GITHUB)"
    elif not settings.github_repos:
        github_reason = "not configured (GITHUB_ALLOWED_REPOS is empty)"
    else:
        github_reason = ""
    return ToolConfig(
        fetch=settings.tool_fetch,
        github=settings.tool_github and bool(settings.github_repos),
        github_reason=github_reason,
        mcp=settings.tool_mcp,
        mcp_allowed_prefixes=settings.mcp_prefixes,
        bot_servers=bot_servers(settings) if settings.tool_mcp else (),
    )


def tool_rules(settings: Settings) -> ToolRules:
    """The loop's limits."""
    return ToolRules(
        max_calls=settings.tool_max_calls,
        call_timeout_s=settings.tool_timeout_s,
        tools_share=settings.tool_time_share,
        result_max_chars=settings.tool_result_max_chars,
        approval_timeout_s=settings.tool_approval_timeout_s,
    )


def approval_policy(settings: Settings) -> ApprovalPolicy:
    """Which calls ask first."""
    return ApprovalPolicy(
        ask_first=settings.ask_first,
        trusted=settings.trusted,
        fetch_domains=settings.fetch_domains,
    )


class _LazyFetch:
    """The fetch tool, offered without building its HTTP client: built on the first call.

    An answer that does not fetch (most answers of an agent that may) pays nothing for it.
    """

    def __init__(self, toolbox: SettingsToolbox) -> None:
        self._toolbox = toolbox

    def specs(self, *, deadline: float) -> Sequence[ToolSpec]:
        return (FETCH_SPEC,)

    def call(self, spec: ToolSpec, arguments: Mapping[str, Any], *, deadline: float) -> ToolOutput:
        return self._toolbox.fetcher().call(spec, arguments, deadline=deadline)


class SettingsToolbox:
    """Providers for a :class:`~bot.core.tools.ToolPlan`, built from the settings (thread-safe)."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self._settings = settings
        self._clock = clock
        self._lock = threading.Lock()
        self._fetcher: WebFetcher | None = None
        self._github: GitHubTools | None = None
        self._headers: Mapping[str, Mapping[str, str]] = mcp_headers(settings)

    def providers(self, plan: ToolPlan) -> Sequence[ToolProvider]:
        """The fetch and GitHub tools (shared) and one MCP provider per selected server."""
        providers: list[ToolProvider] = []
        if FETCH in plan.builtins:
            providers.append(_LazyFetch(self))
        if GITHUB in plan.builtins:
            providers.append(self.github())
        if plan.mcp:
            from bot.adapters.mcp_tools import McpTools, headers_for

            for selection in plan.mcp:
                providers.append(
                    McpTools(
                        selection,
                        headers=headers_for(selection.server.url, self._headers),
                        timeout_s=self._settings.tool_timeout_s,
                        cache_s=self._settings.mcp_tools_cache_s,
                        clock=self._clock,
                    )
                )
        return providers

    def fetcher(self) -> WebFetcher:
        """The fetch tool (one per process)."""
        with self._lock:
            if self._fetcher is None:
                from bot.adapters.web_fetch import WebFetcher

                settings = self._settings
                self._fetcher = WebFetcher(
                    max_bytes=settings.fetch_max_bytes,
                    timeout_s=settings.fetch_timeout_s,
                    max_redirects=settings.fetch_max_redirects,
                    allow_loopback=settings.fetch_allow_loopback_for_tests,
                    ca_file=settings.fetch_ca_file,
                    clock=self._clock,
                )
            return self._fetcher

    def github(self) -> GitHubTools:
        """The GitHub tools (one per process)."""
        with self._lock:
            if self._github is None:
                from bot.adapters.github_tools import GitHubTools

                settings = self._settings
                token = settings.github_token.get_secret_value() if settings.github_token else None
                self._github = GitHubTools(
                    token=token,
                    api_url=settings.github_api_url,
                    allowed=settings.github_repos,
                    timeout_s=settings.tool_timeout_s,
                    clock=self._clock,
                )
            return self._github

    def warm(self, plans: Sequence[ToolPlan]) -> None:
        """Import and build now what these plans use (a cold start's warm-up), not on the first answer."""
        if any(FETCH in plan.builtins for plan in plans):
            self.fetcher()
        if any(GITHUB in plan.builtins for plan in plans):
            self.github()
        if any(plan.mcp for plan in plans):
            # the MCP SDK takes over a second to import: a cold start should not make a person wait
            import mcp.client.sse
            import mcp.client.streamable_http

            import bot.adapters.mcp_tools  # noqa: F401

            log.info("mcp_sdk_warmed", client=mcp.client.streamable_http.__name__)

    def reconnect(self) -> None:
        """Drop the HTTP clients (after a SnapStart restore); they are built again on next use."""
        self.close()

    def close(self) -> None:
        """Close the HTTP clients."""
        with self._lock:
            for client in (self._fetcher, self._github):
                if client is not None:
                    client.close()
            self._fetcher = self._github = None
