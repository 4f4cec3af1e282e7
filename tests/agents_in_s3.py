"""Agent files from S3 for end-to-end tests: moto's S3 holding the packaged agents, the bot's container
on an injected clock (``AGENTS_REFRESH_S``), and edits made the way a team's sync makes them.
Used by ``tests/test_agents_s3.py`` and ``tests/test_logs_no_leak.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from moto import mock_aws

from bot.core.ports import FixedClock
from tests.harness import ROOT, Bot

BUCKET, PREFIX = "team-agents", "prod/agents/"
SEED_FIRST_LINE = "You are a ruthless backend and DevOps chief architect."
EDITED_LINE = "You are the S3-edited backend architect: answer in haiku."
ADMIN = "U0ADMIN1"
POLICY = f"admins: [{ADMIN}]\n"
SRE_LINE = "You review runbooks for on-call sanity."


@pytest.fixture
def s3(slackbot: Bot, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """moto's S3 with the packaged agents under s3://team-agents/prod/agents/ (only there: AGENTS_DIR
    points at an empty folder); Lambda calls pass through to the fake Lambda endpoint."""
    with mock_aws(config={"core": {"passthrough": {"services": ["lambda"]}}}):  # type: ignore[typeddict-item]
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        for path in sorted((ROOT / "agents").iterdir()):
            body = POLICY.encode() if path.name == "policy.yaml" else path.read_bytes()
            client.put_object(Bucket=BUCKET, Key=PREFIX + path.name, Body=body)
        client.put_object(Bucket=BUCKET, Key=PREFIX + "notes/README.txt", Body=b"not an agent file")
        empty = tmp_path / "packaged-agents-not-used"
        empty.mkdir()
        monkeypatch.setenv("AGENTS_DIR", str(empty))
        monkeypatch.setenv("AGENTS_SOURCE", f"s3://{BUCKET}/{PREFIX}")
        monkeypatch.setenv("AGENTS_REFRESH_S", "60")
        yield client


@pytest.fixture
def s3_clock(slackbot: Bot) -> Iterator[FixedClock]:
    """The clock the bot's container runs on (a fresh container)."""
    from handlers import lambda_function

    moved = FixedClock(wall=1_800_000_000.0, real_monotonic=True)  # Lambda's deadlines stay real
    lambda_function.reset(clock=moved)
    yield moved
    lambda_function.reset()


def edit_in_s3(client: Any, name: str, change: str, into: str) -> None:
    """Replace ``change`` by ``into`` in one agent file in S3 (as a team's sync would)."""
    key = PREFIX + name
    text = client.get_object(Bucket=BUCKET, Key=key)["Body"].read().decode()
    assert change in text
    client.put_object(Bucket=BUCKET, Key=key, Body=text.replace(change, into).encode())
