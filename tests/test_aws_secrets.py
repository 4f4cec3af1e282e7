"""Secrets read from SSM Parameter Store / Secrets Manager at cold start (bot.adapters.aws_secrets)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws
from structlog.testing import capture_logs

from bot.adapters import aws_secrets
from bot.adapters.aws_secrets import SECRET_FIELDS, clear_cache, resolve_secrets
from bot.errors import ConfigurationError
from bot.settings import Settings

REGION = "eu-west-1"
PREFIX = "/architect-bot/test"
VALUES = {
    "slack_signing_secret": "signing-0123456789abcdef",
    "slack_bot_token": "xoxb-1111-2222-secretvalue",
    "openai_api_key": "sk-test-secret-key-abcdefgh",
    "redis_url": "rediss://default:redis-password@cache.example:6379/0",
    "github_token": "ghp_test_secret_token_0123",
    "mcp_headers": '{"https://mcp.example.com/": {"Authorization": "Bearer mcp-secret-42"}}',
}


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No real AWS credentials or secret-related variables leak into these tests; empty cache."""
    for field in SECRET_FIELDS:
        monkeypatch.delenv(field.upper(), raising=False)
        monkeypatch.delenv(f"{field.upper()}_SSM_PARAMETER", raising=False)
    monkeypatch.delenv("SECRETS_MANAGER_SECRET_ID", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_SESSION_TOKEN", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    clear_cache()
    yield
    clear_cache()


@pytest.fixture
def aws() -> Iterator[None]:
    """A moto-mocked AWS account."""
    with mock_aws():
        yield


def _ssm_names() -> dict[str, str]:
    return {f"{field}_ssm_parameter": f"{PREFIX}/{field.replace('_', '-')}" for field in SECRET_FIELDS}


def _put_ssm(values: dict[str, str]) -> None:
    ssm = boto3.client("ssm", region_name=REGION)
    for field, value in values.items():
        ssm.put_parameter(Name=f"{PREFIX}/{field.replace('_', '-')}", Value=value, Type="SecureString")


class _Counting:
    """Wraps a boto3 client and counts the calls made through it."""

    def __init__(self, client: Any) -> None:
        self.client = client
        self.calls: list[str] = []

    def __getattr__(self, name: str) -> Any:
        method = getattr(self.client, name)

        def call(**kwargs: Any) -> Any:
            self.calls.append(name)
            return method(**kwargs)

        return call


class _Exploding:
    """A client that fails the test if the code under test calls AWS at all."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"AWS was called ({name}) although no secret name was configured")


def test_ssm_securestrings_fill_the_secret_settings(aws: None) -> None:
    """With only SSM parameter names in the environment, the bot gets every secret from Parameter Store."""
    _put_ssm(VALUES)
    settings = Settings(aws_region=REGION, **_ssm_names())

    resolved = resolve_secrets(settings)

    for field, value in VALUES.items():
        secret = getattr(resolved, field)
        assert secret is not None
        assert secret.get_secret_value() == value
        assert value not in repr(resolved), "secrets must stay hidden when settings are printed"
    assert settings.slack_bot_token is None, "the original settings are left untouched"
    assert resolved.stage == settings.stage


def test_secrets_manager_json_secret_fills_the_settings(aws: None) -> None:
    """A single Secrets Manager JSON secret (keys in upper or lower case) provides the secrets."""
    client = boto3.client("secretsmanager", region_name=REGION)
    document = {
        "SLACK_SIGNING_SECRET": VALUES["slack_signing_secret"],
        "slack_bot_token": VALUES["slack_bot_token"],
        "OPENAI_API_KEY": VALUES["openai_api_key"],
        "unrelated": "ignored",
    }
    client.create_secret(Name="architect-bot/test", SecretString=json.dumps(document))
    settings = Settings(
        aws_region=REGION, secrets_manager_secret_id="architect-bot/test", redis_url="redis://x"
    )

    resolved = resolve_secrets(settings)

    assert resolved.slack_signing_secret is not None
    assert resolved.slack_signing_secret.get_secret_value() == VALUES["slack_signing_secret"]
    assert resolved.slack_bot_token is not None
    assert resolved.slack_bot_token.get_secret_value() == VALUES["slack_bot_token"]
    assert resolved.openai_api_key is not None
    assert resolved.openai_api_key.get_secret_value() == VALUES["openai_api_key"]
    assert resolved.redis_url is not None
    assert resolved.redis_url.get_secret_value() == "redis://x", "a key absent from the secret keeps env"


def test_ssm_parameter_wins_over_the_secrets_manager_key(aws: None) -> None:
    """When a secret is named both ways, the explicit SSM parameter is the one used."""
    _put_ssm({"openai_api_key": "sk-from-ssm-parameter"})
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(
        Name="architect-bot/test",
        SecretString=json.dumps({"OPENAI_API_KEY": "sk-from-secret", "SLACK_BOT_TOKEN": "xoxb-from-secret"}),
    )
    settings = Settings(
        aws_region=REGION,
        secrets_manager_secret_id="architect-bot/test",
        openai_api_key_ssm_parameter=f"{PREFIX}/openai-api-key",
    )

    resolved = resolve_secrets(settings)

    assert resolved.openai_api_key is not None
    assert resolved.openai_api_key.get_secret_value() == "sk-from-ssm-parameter"
    assert resolved.slack_bot_token is not None
    assert resolved.slack_bot_token.get_secret_value() == "xoxb-from-secret"


def test_plain_environment_values_work_without_any_secret_name() -> None:
    """Local runs and tests set the secrets directly; nothing is fetched from AWS and nothing changes."""
    settings = Settings(slack_bot_token="xoxb-local", openai_api_key="sk-local-key-123456")

    resolved = resolve_secrets(settings, ssm_client=_Exploding(), secretsmanager_client=_Exploding())  # type: ignore[arg-type]

    assert resolved is settings
    assert resolved.slack_bot_token is not None
    assert resolved.slack_bot_token.get_secret_value() == "xoxb-local"


def test_missing_ssm_parameter_names_it_and_leaks_no_value(aws: None) -> None:
    """A deploy missing one parameter fails with a message naming that parameter, never any secret value."""
    present = {k: v for k, v in VALUES.items() if k != "openai_api_key"}
    _put_ssm(present)
    settings = Settings(aws_region=REGION, **_ssm_names())

    with capture_logs() as logs, pytest.raises(ConfigurationError) as caught:
        resolve_secrets(settings)

    message = str(caught.value)
    assert f"{PREFIX}/openai-api-key" in message
    assert "OPENAI_API_KEY" in message
    assert caught.value.kind == "configuration"
    errors = [entry for entry in logs if entry["log_level"] == "error"]
    assert [entry["event"] for entry in errors] == ["secret_unreadable"], "one clear log line"
    assert errors[0]["parameter"] == f"{PREFIX}/openai-api-key"
    for value in VALUES.values():
        assert value not in message
        assert value not in caught.value.user_message
        assert value not in repr(logs)


def test_missing_secrets_manager_secret_names_it(aws: None) -> None:
    """A Secrets Manager secret id that does not exist fails with a message naming the secret id."""
    settings = Settings(aws_region=REGION, secrets_manager_secret_id="architect-bot/nope")

    with pytest.raises(ConfigurationError, match=r"architect-bot/nope.*ResourceNotFoundException"):
        resolve_secrets(settings)


def test_secrets_manager_secret_that_is_not_json_does_not_echo_its_content(aws: None) -> None:
    """A plain-text secret (not JSON) is rejected without quoting its content in the error."""
    client = boto3.client("secretsmanager", region_name=REGION)
    client.create_secret(Name="architect-bot/plain", SecretString="xoxb-raw-token-not-json")
    settings = Settings(aws_region=REGION, secrets_manager_secret_id="architect-bot/plain")

    with pytest.raises(ConfigurationError) as caught:
        resolve_secrets(settings)

    assert "architect-bot/plain" in str(caught.value)
    assert "xoxb-raw-token-not-json" not in str(caught.value)


def test_warm_invocations_reuse_the_cached_secrets(aws: None) -> None:
    """A second resolve in the same container (warm start) makes no AWS call; clearing the cache refetches."""
    _put_ssm(VALUES)
    settings = Settings(aws_region=REGION, **_ssm_names())
    ssm = _Counting(boto3.client("ssm", region_name=REGION))

    first = resolve_secrets(settings, ssm_client=ssm)  # type: ignore[arg-type]
    second = resolve_secrets(settings, ssm_client=ssm)  # type: ignore[arg-type]

    assert ssm.calls == ["get_parameters"], "four parameters, one batched call, once per container"
    assert first == second
    clear_cache()
    resolve_secrets(settings, ssm_client=ssm)  # type: ignore[arg-type]
    assert ssm.calls == ["get_parameters", "get_parameters"]


def test_more_than_ten_distinct_names_are_read_in_batches_of_ten(aws: None) -> None:
    """Parameter Store accepts at most 10 names per call; longer lists are split, none is lost."""
    ssm = boto3.client("ssm", region_name=REGION)
    names = {f"setting_{i}": f"{PREFIX}/p{i}" for i in range(23)}
    for i, name in enumerate(names.values()):
        ssm.put_parameter(Name=name, Value=f"value-{i}", Type="SecureString")
    counting = _Counting(ssm)

    values = aws_secrets._read_ssm(counting, names)  # type: ignore[arg-type]

    assert counting.calls == ["get_parameters"] * 3
    assert values == {f"setting_{i}": f"value-{i}" for i in range(23)}
