"""The GitHub tools (``githubRepo``, and the read-only part of the ``github`` tool set): REST API, read only.

Four tools, all read-only, all limited to the repositories the settings allow (``GITHUB_ALLOWED_REPOS``:
``org`` for every repository of an organisation or user, ``org/repo`` for one):

- ``github_repo_info``: description, default branch, language, topics;
- ``github_search_code``: code search inside one allowed repository (qualifiers such as ``repo:``
  or ``org:`` in the query are refused, so a search cannot leave the allow-list);
- ``github_read_file``: one file's text (cut at a size cap);
- ``github_list_directory``: the entries of a folder.

The token comes from settings / AWS secrets (``GITHUB_TOKEN``), never from an agent file. The base
URL is a setting (``GITHUB_API_URL``) so GitHub Enterprise works and tests use a fake server.
Logs: tool, repository, status and time; never the token, a file's contents or a search's results.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

import httpx2

from bot.core.ports import Clock, SystemClock
from bot.core.tools import ToolError, ToolOutput, ToolSpec, ToolTimeoutError
from bot.logging import get_logger

log = get_logger(__name__)

_REPO = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_QUALIFIER = re.compile(r"(?:^|\s)-?(repo|org|user|owner|is|fork):", re.IGNORECASE)
_SEARCH_LIMIT = 20

REPO_INFO = "github_repo_info"
SEARCH_CODE = "github_search_code"
READ_FILE = "github_read_file"
LIST_DIRECTORY = "github_list_directory"


def _repo_param(allowed: str) -> dict[str, Any]:
    return {"type": "string", "description": f"owner/name of the repository ({allowed})"}


def _object(properties: dict[str, Any], *required: str) -> dict[str, Any]:
    """A tool's parameters: an object with these properties, ``required`` ones, nothing else."""
    return {
        "type": "object",
        "properties": properties,
        "required": list(required),
        "additionalProperties": False,
    }


def github_specs(allowed: Sequence[str]) -> tuple[ToolSpec, ...]:
    """The four tools, their descriptions naming the repositories the bot may read."""
    shown = "allowed: " + ", ".join(f"{entry}/*" if "/" not in entry else entry for entry in allowed)
    ref = {"type": "string", "description": "Branch, tag or commit (default: the default branch)"}
    return (
        ToolSpec(
            name=REPO_INFO,
            label="githubRepo: info",
            description="Describe a GitHub repository: description, default branch, language, topics.",
            parameters=_object({"repo": _repo_param(shown)}, "repo"),
            read_only=True,
        ),
        ToolSpec(
            name=SEARCH_CODE,
            label="githubRepo: search",
            description="Search code in one GitHub repository; returns matching files with snippets.",
            parameters=_object(
                {
                    "repo": _repo_param(shown),
                    "query": {"type": "string", "description": "Words or code to look for (no qualifiers)"},
                },
                "repo",
                "query",
            ),
            read_only=True,
        ),
        ToolSpec(
            name=READ_FILE,
            label="githubRepo: read",
            description="Read one file of a GitHub repository.",
            parameters=_object(
                {
                    "repo": _repo_param(shown),
                    "path": {"type": "string", "description": "Path of the file in the repository"},
                    "ref": ref,
                },
                "repo",
                "path",
            ),
            read_only=True,
        ),
        ToolSpec(
            name=LIST_DIRECTORY,
            label="githubRepo: list",
            description="List the files and folders of a directory in a GitHub repository.",
            parameters=_object(
                {
                    "repo": _repo_param(shown),
                    "path": {"type": "string", "description": "Directory path ('' for the top)"},
                    "ref": ref,
                },
                "repo",
            ),
            read_only=True,
        ),
    )


def repo_allowed(repo: str, allowed: Sequence[str]) -> bool:
    """True when ``owner/name`` is on the allow-list (``owner`` entries allow every repository)."""
    owner, _, name = repo.lower().partition("/")
    for entry in allowed:
        entry_owner, _, entry_name = entry.strip().lower().partition("/")
        if entry_owner == owner and (not entry_name or entry_name in ("*", name)):
            return True
    return False


def _text(arguments: Mapping[str, Any], key: str, *, required: bool = True) -> str:
    value = arguments.get(key)
    if value is None and not required:
        return ""
    if not isinstance(value, str) or (required and not value.strip()):
        raise ToolError(f"'{key}' must be a non-empty string")
    return value.strip()


def _path(value: str) -> str:
    parts = [part for part in value.strip().strip("/").split("/") if part]
    if any(part in (".", "..") for part in parts):
        raise ToolError("'path' may not contain '.' or '..' segments")
    return "/".join(quote(part, safe="") for part in parts)


class GitHubTools:
    """The GitHub tools (:class:`bot.core.tools.ToolProvider`)."""

    def __init__(
        self,
        *,
        token: str | None,
        api_url: str = "https://api.github.com",
        allowed: Sequence[str],
        timeout_s: float = 15.0,
        max_file_chars: int = 200_000,
        clock: Clock | None = None,
    ) -> None:
        self._allowed = tuple(entry.strip() for entry in allowed if entry.strip())
        self._timeout_s = timeout_s
        self._max_file_chars = max_file_chars
        self._clock = clock or SystemClock()
        headers = {
            "Accept": "application/vnd.github+json",
            "X-GitHub-Api-Version": "2022-11-28",
            "User-Agent": "architect-bot",
        }
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._client = httpx2.Client(base_url=api_url.rstrip("/"), headers=headers, trust_env=False)
        self._specs = github_specs(self._allowed)

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # ------------------------------------------------------------------------------ provider

    def specs(self, *, deadline: float) -> Sequence[ToolSpec]:
        """The four read-only tools."""
        return self._specs

    def call(self, spec: ToolSpec, arguments: Mapping[str, Any], *, deadline: float) -> ToolOutput:
        """Run one GitHub tool."""
        repo = _text(arguments, "repo")
        if not _REPO.match(repo) or any(part in (".", "..") for part in repo.split("/")):
            raise ToolError("'repo' must be owner/name, e.g. octo-org/payments")
        if not repo_allowed(repo, self._allowed):
            raise ToolError(
                f"{repo} is not among the repositories the bot may read ({', '.join(self._allowed)})"
            )
        end = min(deadline, self._clock.monotonic() + self._timeout_s)
        if spec.name == REPO_INFO:
            return ToolOutput(self._info(repo, end))
        if spec.name == SEARCH_CODE:
            return ToolOutput(self._search(repo, _text(arguments, "query"), end))
        ref = _text(arguments, "ref", required=False)
        if spec.name == READ_FILE:
            return ToolOutput(self._read(repo, _path(_text(arguments, "path")), ref, end))
        if spec.name == LIST_DIRECTORY:
            return ToolOutput(self._list(repo, _path(_text(arguments, "path", required=False)), ref, end))
        raise ToolError(f"unknown GitHub tool {spec.name!r}")

    # ---------------------------------------------------------------------------------- calls

    def _get(self, url: str, end: float, *, params: Mapping[str, str] | None = None, what: str) -> Any:
        left = end - self._clock.monotonic()
        if left <= 0:
            raise ToolTimeoutError("GitHub did not answer in time")
        started = self._clock.monotonic()
        try:
            response = self._client.get(url, params=params, timeout=httpx2.Timeout(left))
        except httpx2.TimeoutException:
            raise ToolTimeoutError("GitHub did not answer in time") from None
        except httpx2.HTTPError as exc:
            raise ToolError(f"could not reach GitHub ({type(exc).__name__})") from None
        log.info(
            "github_call",
            what=what,
            status=response.status_code,
            ms=int((self._clock.monotonic() - started) * 1000),
        )
        if response.status_code == 404:
            raise ToolError("not found (or the bot's GitHub token cannot see it)")
        if response.status_code in (401, 403, 429):
            if response.headers.get("x-ratelimit-remaining") == "0" or response.status_code == 429:
                raise ToolError("GitHub's rate limit is reached; try again later")
            raise ToolError(
                f"GitHub refused the request (HTTP {response.status_code}); check the bot's GITHUB_TOKEN"
            )
        if response.status_code >= 400:
            raise ToolError(f"GitHub answered HTTP {response.status_code}")
        try:
            return response.json()
        except ValueError:
            raise ToolError("GitHub's answer was not JSON") from None

    def _info(self, repo: str, end: float) -> str:
        data = self._get(f"/repos/{repo}", end, what=REPO_INFO)
        if not isinstance(data, dict):
            raise ToolError("GitHub's answer had an unexpected shape")
        lines = [
            f"Repository: {data.get('full_name', repo)}",
            f"Description: {data.get('description') or '(none)'}",
            f"Default branch: {data.get('default_branch', '?')}",
            f"Language: {data.get('language') or '?'}",
            f"Topics: {', '.join(data.get('topics') or []) or '(none)'}",
            f"Visibility: {data.get('visibility', '?')}; archived: {bool(data.get('archived'))}",
            f"Last push: {data.get('pushed_at', '?')}",
        ]
        return "\n".join(lines)

    def _search(self, repo: str, query: str, end: float) -> str:
        if _QUALIFIER.search(query):
            raise ToolError(
                "search qualifiers (repo:, org:, user:...) are not allowed: pass the repository as 'repo'"
            )
        data = self._get(
            "/search/code",
            end,
            params={"q": f"{query} repo:{repo}", "per_page": str(_SEARCH_LIMIT)},
            what=SEARCH_CODE,
        )
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            raise ToolError("GitHub's answer had an unexpected shape")
        if not items:
            return f"No code in {repo} matches {query!r}."
        total = data.get("total_count", len(items))
        lines = [f"{total} file(s) in {repo} match {query!r}; the first {len(items)}:"]
        for item in items:
            if not isinstance(item, dict):
                continue
            lines.append(f"- {item.get('path', '?')}")
            for match in item.get("text_matches") or []:
                fragment = str(match.get("fragment", "")).strip()
                if fragment:
                    lines.append("    " + fragment.replace("\n", "\n    "))
        return "\n".join(lines)

    def _contents(self, repo: str, path: str, ref: str, end: float, what: str) -> Any:
        params = {"ref": ref} if ref else None
        return self._get(f"/repos/{repo}/contents/{path}".rstrip("/"), end, params=params, what=what)

    def _read(self, repo: str, path: str, ref: str, end: float) -> str:
        data = self._contents(repo, path, ref, end, READ_FILE)
        if isinstance(data, list):
            raise ToolError(f"{path} is a directory: use {LIST_DIRECTORY}")
        if not isinstance(data, dict) or data.get("type") != "file":
            raise ToolError(f"{path} is not a file")
        if data.get("encoding") != "base64" or not isinstance(data.get("content"), str):
            size = data.get("size", "?")
            raise ToolError(f"{path} is too large to read through the API ({size} bytes)")
        raw = base64.b64decode(data["content"])
        if b"\x00" in raw[:8000]:
            raise ToolError(f"{path} is a binary file")
        text = raw.decode("utf-8", errors="replace")
        note = ""
        if len(text) > self._max_file_chars:
            note = f"\n\n[File cut at {self._max_file_chars:,} of {len(text):,} characters.]"
            text = text[: self._max_file_chars]
        return f"{repo}/{data.get('path', path)} ({len(raw):,} bytes)\n\n{text}{note}"

    def _list(self, repo: str, path: str, ref: str, end: float) -> str:
        data = self._contents(repo, path, ref, end, LIST_DIRECTORY)
        if isinstance(data, dict):
            raise ToolError(f"{path} is a file: use {READ_FILE}")
        if not isinstance(data, list):
            raise ToolError("GitHub's answer had an unexpected shape")
        lines = [f"{repo}/{path or ''} ({len(data)} entries):"]
        for entry in sorted(data, key=lambda e: (e.get("type") != "dir", str(e.get("name", "")))):
            if entry.get("type") == "dir":
                lines.append(f"- {entry.get('name')}/")
            else:
                lines.append(f"- {entry.get('name')} ({entry.get('size', '?')} bytes)")
        return "\n".join(lines)
