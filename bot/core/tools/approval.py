"""Which calls wait for a person's click (:func:`approval_reason`).

A call that can change something (a built-in marked so, an MCP tool not marked ``readOnlyHint``), a
tool set to ask first, and a ``fetch`` of an address that no person wrote in the thread and whose
domain is not on the allow-list, all wait for a click."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from bot.core.tools.calls import ToolSpec
from bot.core.tools.catalogue import FETCH
from bot.core.tools.urls import domain_allowed, normalize_url


@dataclass(frozen=True, slots=True)
class ApprovalPolicy:
    """Which calls wait for a click (from settings).

    ``ask_first``: tools (as people write them: ``fetch``, ``githubRepo``, ``server/tool``) that
    always ask. ``trusted``: tools that never ask although they may change something. The
    ``fetch`` address rule holds for every fetch: only ``fetch_domains`` waive it.
    """

    ask_first: frozenset[str] = frozenset()
    trusted: frozenset[str] = frozenset()
    fetch_domains: tuple[str, ...] = ()


def _names_of(spec: ToolSpec) -> set[str]:
    names = {spec.name.lower(), spec.shown.lower()}
    if spec.source.startswith("mcp:"):
        server = spec.source.removeprefix("mcp:").lower()
        names.add(f"{server}/*")
    elif spec.name.startswith("github_"):
        names.update({"githubrepo", "github", "github/*"})
    return names


def approval_reason(
    spec: ToolSpec,
    arguments: Mapping[str, Any],
    *,
    policy: ApprovalPolicy,
    people_urls: frozenset[str],
) -> str | None:
    """Why this call must wait for a click, or None when it may run at once.

    ``people_urls``: the addresses people wrote in the thread (:func:`urls_in` of their turns).
    """
    names = _names_of(spec)
    if names & {name.lower() for name in policy.ask_first}:
        return "it is set to ask first"
    if spec.name == FETCH:
        url = arguments.get("url")
        normalized = normalize_url(url) if isinstance(url, str) else None
        if normalized is None:
            return None  # the call fails on its own (not an address); nothing leaves
        if normalized in people_urls or domain_allowed(normalized, policy.fetch_domains):
            return None
        return "the address was not written by a person in this thread"
    if not spec.read_only and not names & {name.lower() for name in policy.trusted}:
        return "it can change something"
    return None
