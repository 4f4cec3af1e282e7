"""The GitHub tools against a fake GitHub API over HTTP: read-only, allow-listed, token from settings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bot.adapters.github_tools import (
    LIST_DIRECTORY,
    READ_FILE,
    REPO_INFO,
    SEARCH_CODE,
    GitHubTools,
    repo_allowed,
)
from bot.core.tools import ToolError, ToolSpec
from tests.fakes import github_server
from tests.fakes.github_server import FakeGitHub
from tests.support import far

fake_github = github_server.fake_github


@pytest.fixture
def tools(fake_github: FakeGitHub) -> Iterator[GitHubTools]:
    github = GitHubTools(token=fake_github.token, api_url=fake_github.base_url, allowed=["acme"])
    yield github
    github.close()


def spec(tools: GitHubTools, name: str) -> ToolSpec:
    return next(s for s in tools.specs(deadline=far()) if s.name == name)


def test_allow_list_entries() -> None:
    """`org` allows every repository of the org, `org/repo` only that one; case does not matter."""
    assert repo_allowed("Acme/Payments", ["acme"])
    assert repo_allowed("acme/payments", ["ACME/payments"])
    assert not repo_allowed("acme/other", ["acme/payments"])
    assert not repo_allowed("acmeevil/payments", ["acme"])
    assert not repo_allowed("other/x", [])


def test_every_tool_is_read_only_and_names_the_allowed_repositories(tools: GitHubTools) -> None:
    """The model learns which repositories it may read; no GitHub tool can change anything."""
    specs = tools.specs(deadline=far())
    assert {s.name for s in specs} == {REPO_INFO, SEARCH_CODE, READ_FILE, LIST_DIRECTORY}
    assert all(s.read_only for s in specs)
    assert "allowed: acme/*" in str(specs[0].parameters)


def test_repo_info_search_read_and_list(tools: GitHubTools, fake_github: FakeGitHub) -> None:
    """The agent can look at a repository it reviews: info, search, a file, a folder."""
    info = tools.call(spec(tools, REPO_INFO), {"repo": "acme/payments"}, deadline=far()).text
    assert "Description: Payments service" in info
    assert "Topics: ledger, payments" in info
    found = tools.call(
        spec(tools, SEARCH_CODE), {"repo": "acme/payments", "query": "append"}, deadline=far()
    ).text
    assert "- src/ledger.py" in found
    assert "- src/refunds.py" in found
    text = tools.call(
        spec(tools, READ_FILE), {"repo": "acme/payments", "path": "src/ledger.py"}, deadline=far()
    ).text
    assert text.startswith("acme/payments/src/ledger.py (")
    assert "'''append-only'''" in text
    listing = tools.call(spec(tools, LIST_DIRECTORY), {"repo": "acme/payments"}, deadline=far()).text
    assert "- docs/" in listing
    assert "- src/" in listing
    assert "- README.md (" in listing
    assert all(auth == f"Bearer {fake_github.token}" for _, auth in fake_github.requests)


def test_repositories_outside_the_allow_list_are_refused_without_a_request(
    tools: GitHubTools, fake_github: FakeGitHub
) -> None:
    """An agent cannot read a repository the settings do not allow, nor search its way out."""
    with pytest.raises(ToolError, match="not among the repositories"):
        tools.call(spec(tools, READ_FILE), {"repo": "other/secret", "path": "keys.txt"}, deadline=far())
    with pytest.raises(ToolError, match="qualifiers"):
        tools.call(
            spec(tools, SEARCH_CODE),
            {"repo": "acme/payments", "query": "key repo:other/secret"},
            deadline=far(),
        )
    with pytest.raises(ToolError, match="owner/name"):
        tools.call(spec(tools, REPO_INFO), {"repo": "../other"}, deadline=far())
    with pytest.raises(ToolError, match=r"'\.\.'"):
        tools.call(
            spec(tools, READ_FILE), {"repo": "acme/payments", "path": "../../other/secret"}, deadline=far()
        )
    assert fake_github.requests == []


def test_github_failures_are_explained(tools: GitHubTools, fake_github: FakeGitHub) -> None:
    """Missing files, a bad token and the rate limit each come back as a clear reason."""
    with pytest.raises(ToolError, match="not found"):
        tools.call(spec(tools, READ_FILE), {"repo": "acme/payments", "path": "nope.md"}, deadline=far())
    with pytest.raises(ToolError, match="is a directory"):
        tools.call(spec(tools, READ_FILE), {"repo": "acme/payments", "path": "src"}, deadline=far())
    bad = GitHubTools(token="wrong", api_url=fake_github.base_url, allowed=["acme"])
    with pytest.raises(ToolError, match="check the bot's GITHUB_TOKEN"):
        bad.call(spec(bad, REPO_INFO), {"repo": "acme/payments"}, deadline=far())
    bad.close()
    fake_github.set_rate_limited(True)
    with pytest.raises(ToolError, match="rate limit"):
        tools.call(spec(tools, REPO_INFO), {"repo": "acme/payments"}, deadline=far())


def test_a_big_file_is_cut_with_a_note(fake_github: FakeGitHub) -> None:
    """A huge file reaches the model cut, and the model is told how much it did not see."""
    fake_github.add_repo("acme/big", files={"data.txt": "x" * 5000})
    github = GitHubTools(
        token=fake_github.token, api_url=fake_github.base_url, allowed=["acme/big"], max_file_chars=1000
    )
    text = github.call(spec(github, READ_FILE), {"repo": "acme/big", "path": "data.txt"}, deadline=far()).text
    assert "[File cut at 1,000 of 5,000 characters.]" in text
    github.close()
