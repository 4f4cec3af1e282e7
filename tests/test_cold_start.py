"""Cold start on Lambda: secrets from SSM, and no half-configured bot when one is missing."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from bot.errors import ConfigurationError
from tests.harness import SIGNING_SECRET, Bot


@pytest.fixture
def ssm_bot(slackbot: Bot, monkeypatch: pytest.MonkeyPatch) -> Bot:
    """The e2e bot, but its signing secret and bot token come from SSM (moto)."""
    monkeypatch.delenv("SLACK_SIGNING_SECRET")
    monkeypatch.delenv("SLACK_BOT_TOKEN")
    monkeypatch.setenv("SLACK_SIGNING_SECRET_SSM_PARAMETER", "/architect-bot/test/slack-signing-secret")
    monkeypatch.setenv("SLACK_BOT_TOKEN_SSM_PARAMETER", "/architect-bot/test/slack-bot-token")
    return slackbot


def test_secrets_read_from_ssm_at_cold_start(ssm_bot: Bot) -> None:
    """With parameter names instead of values, the cold start reads them and the bot verifies requests."""
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(
            Name="/architect-bot/test/slack-signing-secret", Value=SIGNING_SECRET, Type="SecureString"
        )
        ssm.put_parameter(
            Name="/architect-bot/test/slack-bot-token", Value="xoxb-from-ssm", Type="SecureString"
        )
        ack = ssm_bot.command("help")
    assert ack["statusCode"] == 200
    assert "director" in ack["body"]


def test_missing_secret_fails_cold_start_with_one_clear_line(
    ssm_bot: Bot, capsys: pytest.CaptureFixture[str]
) -> None:
    """A missing parameter stops the cold start; one log line names the parameter, never a value."""
    with mock_aws():
        ssm = boto3.client("ssm", region_name="us-east-1")
        ssm.put_parameter(
            Name="/architect-bot/test/slack-bot-token", Value="xoxb-from-ssm", Type="SecureString"
        )
        with pytest.raises(ConfigurationError):
            ssm_bot.command("help")
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
    errors = [line for line in lines if line.get("level") == "error"]
    assert len(errors) == 1
    assert "/architect-bot/test/slack-signing-secret" in json.dumps(errors[0])
    assert "xoxb-from-ssm" not in json.dumps(lines)
