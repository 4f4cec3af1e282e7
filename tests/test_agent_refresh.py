"""The refresh rules with an injected clock, and the S3 mirror's downloads (moto)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bot.adapters.s3_agents import AgentMirror, S3AgentFiles, parse_source, wanted
from bot.core.agent_refresh import RefreshSchedule, Refusal, refusal_errors
from bot.core.agents import Problem
from bot.core.ports import FixedClock
from bot.errors import ConfigurationError


def test_a_check_is_due_once_per_interval_after_the_load() -> None:
    """The first check comes one interval after the set was loaded; then at most one per interval,
    however many requests arrive."""
    clock = FixedClock()
    schedule = RefreshSchedule(60, clock)
    assert not schedule.claim()
    clock.advance(59.9)
    assert not schedule.claim()
    clock.advance(0.1)
    assert schedule.claim()
    assert not schedule.claim()  # a second request in the same instant: no second check
    clock.advance(600)
    assert schedule.claim()
    assert [schedule.claim() for _ in range(5)] == [False] * 5


def test_only_errors_refuse_a_set_and_the_refusal_lists_them() -> None:
    """Warnings pass (as in `agents validate`); errors are listed, cut after ten."""
    warning = Problem(file="routing.yaml", message="no default agent", severity="warning")
    errors = [Problem(file=f"a{i}.agent.md", line=2, message="bad YAML") for i in range(12)]
    assert refusal_errors([warning]) == ()
    found = refusal_errors([warning, *errors])
    assert found == tuple(errors)
    lines = Refusal(version="v2", at=0.0, errors=found).lines()
    assert lines[0] == "a0.agent.md:2: bad YAML"
    assert lines[-1] == "... and 2 more"


def test_sources_and_wanted_files() -> None:
    """s3://bucket/prefix/ parses; only agent files and the root settings files are read."""
    assert parse_source("s3://b/team/agents") == ("b", "team/agents/")
    assert parse_source("s3://b") == ("b", "")
    with pytest.raises(ConfigurationError):
        parse_source("https://b/agents")
    assert wanted("x.agent.md")
    assert wanted("sub/y.chatmode.md")
    assert wanted("policy.yaml")
    assert not wanted("sub/policy.yaml")
    assert not wanted("README.md")
    assert not wanted(".git/z.agent.md")


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An S3 bucket in moto with two agent files and a routing file."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket="bucket-b")
        for key in ("a.agent.md", "sub/b.agent.md", "routing.yaml", "notes.txt"):
            client.put_object(Bucket="bucket-b", Key=f"agents/{key}", Body=f"{key} v1".encode())
        yield client


def test_the_mirror_downloads_only_what_changed(bucket: Any) -> None:
    """One list per sync; unchanged files are not downloaded again; an unchanged listing is no new
    version; deleted files disappear from the copy."""
    files = S3AgentFiles("s3://bucket-b/agents/", client=bucket)
    mirror = AgentMirror(files)
    first = mirror.sync()
    assert first is not None
    mirror.use(first)
    assert (files.calls.lists, files.calls.gets) == (1, 3)
    assert (first.folder / "sub/b.agent.md").read_text() == "sub/b.agent.md v1"
    assert not (first.folder / "notes.txt").exists()

    assert mirror.sync() is None
    assert (files.calls.lists, files.calls.gets) == (2, 3)

    bucket.put_object(Bucket="bucket-b", Key="agents/a.agent.md", Body=b"a v2")
    bucket.delete_object(Bucket="bucket-b", Key="agents/routing.yaml")
    second = mirror.sync()
    assert second is not None
    assert (files.calls.lists, files.calls.gets) == (3, 4)
    assert (second.folder / "a.agent.md").read_text() == "a v2"
    assert (second.folder / "sub/b.agent.md").read_text() == "sub/b.agent.md v1"
    assert not (second.folder / "routing.yaml").exists()
    mirror.use(second)
    assert not first.folder.exists()  # the old version's folder is removed
