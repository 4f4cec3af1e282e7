"""A fake GitHub REST API over real HTTP: repositories, contents and code search.

Usage::

    with FakeGitHub(token="ghp_test") as gh:           # http://127.0.0.1:<port>
        gh.add_repo("acme/payments", files={"README.md": "# Payments"})
        tools = GitHubTools(token="ghp_test", api_url=gh.base_url, allowed=["acme"])

Requests without ``Authorization: Bearer <token>`` get 401 when a token is set. ``rate_limited``
makes every request answer 403 with ``x-ratelimit-remaining: 0``. Every request is recorded.
"""

from __future__ import annotations

import base64
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest

from tests.fakes._http import LocalServer


@dataclass
class _Repo:
    full_name: str
    description: str
    files: dict[str, str]
    default_branch: str = "main"
    language: str = "Python"
    topics: tuple[str, ...] = ()


@dataclass
class _State:
    token: str | None
    repos: dict[str, _Repo] = field(default_factory=dict)
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    rate_limited: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: LocalServer

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def _reply(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self) -> None:
        """Serve /repos/{o}/{r}, /repos/{o}/{r}/contents/{path}, /search/code."""
        state = self.server.state
        parts = urlsplit(self.path)
        auth = self.headers.get("Authorization")
        with state.lock:
            state.requests.append((self.path, auth))
        if state.rate_limited:
            self._reply(403, {"message": "API rate limit exceeded"}, {"x-ratelimit-remaining": "0"})
            return
        if state.token is not None and auth != f"Bearer {state.token}":
            self._reply(401, {"message": "Bad credentials"})
            return
        segments = [unquote(s) for s in parts.path.strip("/").split("/")]
        query = parse_qs(parts.query)
        if segments[:2] == ["search", "code"]:
            self._search(query.get("q", [""])[0])
            return
        if len(segments) >= 3 and segments[0] == "repos":
            repo = state.repos.get(f"{segments[1]}/{segments[2]}".lower())
            if repo is None:
                self._reply(404, {"message": "Not Found"})
            elif len(segments) == 3:
                self._reply(
                    200,
                    {
                        "full_name": repo.full_name,
                        "description": repo.description,
                        "default_branch": repo.default_branch,
                        "language": repo.language,
                        "topics": list(repo.topics),
                        "visibility": "private",
                        "archived": False,
                        "pushed_at": "2026-01-02T03:04:05Z",
                    },
                )
            elif segments[3] == "contents":
                self._contents(repo, "/".join(segments[4:]))
            else:
                self._reply(404, {"message": "Not Found"})
            return
        self._reply(404, {"message": "Not Found"})

    def _contents(self, repo: _Repo, path: str) -> None:
        if path in repo.files:
            raw = repo.files[path].encode()
            self._reply(
                200,
                {
                    "type": "file",
                    "path": path,
                    "name": path.rsplit("/", 1)[-1],
                    "size": len(raw),
                    "encoding": "base64",
                    "content": base64.encodebytes(raw).decode(),
                },
            )
            return
        prefix = f"{path}/" if path else ""
        entries: dict[str, dict[str, Any]] = {}
        for name, text in repo.files.items():
            if not name.startswith(prefix):
                continue
            rest = name[len(prefix) :]
            head, _, tail = rest.partition("/")
            if tail:
                entries[head] = {"type": "dir", "name": head, "path": prefix + head, "size": 0}
            else:
                entries[head] = {"type": "file", "name": head, "path": name, "size": len(text.encode())}
        if not entries:
            self._reply(404, {"message": "Not Found"})
            return
        self._reply(200, list(entries.values()))

    def _search(self, q: str) -> None:
        words = q.split()
        repo_name = next((w.removeprefix("repo:") for w in words if w.startswith("repo:")), None)
        terms = [w for w in words if not w.startswith("repo:")]
        repo = self.server.state.repos.get((repo_name or "").lower())
        if repo is None:
            self._reply(422, {"message": "Validation Failed"})
            return
        items = []
        for path, text in sorted(repo.files.items()):
            if all(term.lower() in text.lower() for term in terms):
                line = next((ln for ln in text.splitlines() if terms and terms[0].lower() in ln.lower()), "")
                items.append(
                    {"path": path, "name": path.rsplit("/", 1)[-1], "text_matches": [{"fragment": line}]}
                )
        self._reply(200, {"total_count": len(items), "incomplete_results": False, "items": items})


class FakeGitHub:
    """A running fake GitHub API (context manager)."""

    def __init__(self, *, token: str | None = "ghp_fake_token") -> None:
        self._state = _State(token=token)
        self._server: LocalServer | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeGitHub:
        self._server = LocalServer(_Handler, self._state)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-github", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def token(self) -> str | None:
        """The token the fake accepts."""
        return self._state.token

    @property
    def base_url(self) -> str:
        """The API base URL."""
        assert self._server is not None, "use FakeGitHub as a context manager"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def add_repo(
        self, full_name: str, *, files: dict[str, str], description: str = "", topics: tuple[str, ...] = ()
    ) -> None:
        """Serve a repository with these files (path -> text)."""
        with self._state.lock:
            self._state.repos[full_name.lower()] = _Repo(
                full_name=full_name, description=description, files=dict(files), topics=topics
            )

    def set_rate_limited(self, value: bool) -> None:
        """Answer every request with GitHub's rate-limit 403."""
        self._state.rate_limited = value

    @property
    def requests(self) -> list[tuple[str, str | None]]:
        """(path with query, Authorization header) of every request so far."""
        with self._state.lock:
            return list(self._state.requests)


@pytest.fixture
def fake_github() -> Iterator[FakeGitHub]:
    """A running :class:`FakeGitHub` with ``acme/payments`` and ``other/secret``.

    Bind it in a test module with ``fake_github = github_server.fake_github``.
    """
    with FakeGitHub() as gh:
        gh.add_repo(
            "acme/payments",
            description="Payments service",
            topics=("ledger", "payments"),
            files={
                "README.md": "# Payments\nThe ledger service.\n",
                "src/ledger.py": "class Ledger:\n    def append(self, entry):\n        '''append-only'''\n",
                "src/refunds.py": "def refund(entry):\n    return Ledger().append(entry)\n",
                "docs/adr/0001-ledger.md": "# ADR 1: append-only ledger\n",
            },
        )
        gh.add_repo("other/secret", description="Not allowed", files={"keys.txt": "nothing to see"})
        yield gh
