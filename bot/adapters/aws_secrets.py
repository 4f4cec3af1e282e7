"""Secrets from AWS: SSM Parameter Store (SecureString) or one Secrets Manager JSON secret.

On Lambda the environment holds only the *names* of the secrets (``SLACK_BOT_TOKEN_SSM_PARAMETER=
/architect-bot/prod/slack-bot-token``, ``SECRETS_MANAGER_SECRET_ID=...``), never their values: the
values are read here once per container (cold start) and cached for the container's lifetime.

Precedence for each secret setting (``slack_signing_secret``, ``slack_bot_token``,
``openai_api_key``, ``redis_url``, ``github_token``, ``mcp_headers``):

1. its ``*_ssm_parameter`` name, when set (read with ``WithDecryption``, batched ``get_parameters``
   calls of at most 10 names);
2. else the matching key of the Secrets Manager JSON secret (``secrets_manager_secret_id``); keys are
   the setting names in lower or upper case (``openai_api_key`` or ``OPENAI_API_KEY``);
3. else the plain environment value already in :class:`~bot.settings.Settings` (local runs, tests).

A secret that is named but missing or unreadable raises :class:`~bot.errors.ConfigurationError`
whose message names the parameter or secret id (never a value), after one ``error`` log line.

boto3 is imported lazily inside the functions: the Slack ack path must stay light, and with no
secret names set (local runs) boto3 is never imported at all.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from bot.errors import ConfigurationError
from bot.logging import get_logger
from bot.settings import Secret

if TYPE_CHECKING:
    from mypy_boto3_secretsmanager import SecretsManagerClient
    from mypy_boto3_ssm import SSMClient

    from bot.settings import Settings

__all__ = ["SECRET_FIELDS", "clear_cache", "read_secret", "resolve_secrets"]

#: The settings that may come from AWS, in a stable order.
SECRET_FIELDS: tuple[str, ...] = (
    "slack_signing_secret",
    "slack_bot_token",
    "openai_api_key",
    "redis_url",
    "github_token",
    "mcp_headers",
)

_SSM_BATCH = 10  # get_parameters accepts at most 10 names per call

_CacheKey = tuple[tuple[tuple[str, str], ...], str | None, str | None]
_cache: dict[_CacheKey, dict[str, str]] = {}
_single: dict[tuple[str, str | None], str] = {}
_cache_lock = threading.Lock()

log = get_logger(__name__)


def clear_cache() -> None:
    """Forget every resolved secret (tests; a container never needs it)."""
    with _cache_lock:
        _cache.clear()
        _single.clear()


def read_secret(
    secret_id: str, *, region: str | None = None, client: SecretsManagerClient | None = None
) -> str:
    """One Secrets Manager secret's value (a model route's key), read once per process.

    A plain string secret is the value; a JSON object gives its ``api_key`` (or ``API_KEY``) key.
    Raises :class:`ConfigurationError` naming the secret (never the value) when it cannot be read.
    """
    with _cache_lock:
        cached = _single.get((secret_id, region))
        if cached is not None:
            return cached
        value = _secret_string(client or _client("secretsmanager", region), secret_id)
        try:
            document = json.loads(value) if value.lstrip().startswith("{") else None
        except ValueError:
            document = None
        if isinstance(document, dict):
            found = document.get("api_key") or document.get("API_KEY")
            value = found if isinstance(found, str) else ""
        if not value:
            raise _fail(
                f"The Secrets Manager secret {secret_id} is empty (or a JSON object without api_key).",
                source="secretsmanager",
                name=secret_id,
                setting=None,
                error_code="EmptyValue",
            )
        _single[(secret_id, region)] = value
        return value


def resolve_secrets(
    settings: Settings,
    *,
    ssm_client: SSMClient | None = None,
    secretsmanager_client: SecretsManagerClient | None = None,
) -> Settings:
    """Return ``settings`` with the secrets named by SSM parameters / a Secrets Manager secret filled in.

    Returns ``settings`` itself when no secret is named. The values read are cached per process,
    keyed by the names (and region), so a warm invocation makes no AWS call.

    Raises:
        ConfigurationError: a named parameter or secret is missing, unreadable or empty.
    """
    ssm_names: dict[str, str] = {}
    for field in SECRET_FIELDS:
        name = getattr(settings, f"{field}_ssm_parameter")
        if name:
            ssm_names[field] = name
    secret_id = settings.secrets_manager_secret_id or None
    if not ssm_names and secret_id is None:
        return settings

    key: _CacheKey = (tuple(sorted(ssm_names.items())), secret_id, settings.aws_region)
    with _cache_lock:
        values = _cache.get(key)
        if values is None:
            values = {}
            if secret_id is not None:
                wanted = [field for field in SECRET_FIELDS if field not in ssm_names]
                client = secretsmanager_client or _client("secretsmanager", settings.aws_region)
                values.update(_read_secrets_manager(client, secret_id, wanted))
            if ssm_names:
                client_ssm = ssm_client or _client("ssm", settings.aws_region)
                values.update(_read_ssm(client_ssm, ssm_names))
            _cache[key] = values
            log.info(
                "secrets_resolved",
                settings=sorted(values),
                ssm_parameters=len(ssm_names),
                secrets_manager=secret_id is not None,
            )
    update: dict[str, Any] = {field: Secret(value) for field, value in values.items()}
    return replace(settings, **update)


def _client(service: str, region: str | None) -> Any:
    """A boto3 client with short timeouts (a cold start must not hang on a network problem)."""
    # Imported here, not at module level: keeps boto3 off the ack path and out of local runs.
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 3, "mode": "standard"})
    return boto3.client(service, region_name=region, config=config)  # type: ignore[call-overload]


def _fail(
    message: str, *, source: str, name: str, setting: str | None, error_code: str
) -> ConfigurationError:
    """Log one clear line (names only) and build the error to raise."""
    log.error("secret_unreadable", source=source, parameter=name, setting=setting, error_code=error_code)
    return ConfigurationError(message)


def _error_code(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if isinstance(response, Mapping):
        code = response.get("Error", {}).get("Code")
        if isinstance(code, str) and code:
            return code
    return type(exc).__name__


def _read_ssm(client: SSMClient, names: Mapping[str, str]) -> dict[str, str]:
    """Read the SSM parameters named in ``names`` (setting -> parameter name)."""
    from botocore.exceptions import BotoCoreError, ClientError

    unique = list(dict.fromkeys(names.values()))
    found: dict[str, str] = {}
    for start in range(0, len(unique), _SSM_BATCH):
        batch = unique[start : start + _SSM_BATCH]
        try:
            response = client.get_parameters(Names=batch, WithDecryption=True)
        except (ClientError, BotoCoreError) as exc:
            shown = ", ".join(batch)
            raise _fail(
                f"Cannot read the SSM parameter(s) {shown} ({_error_code(exc)}). Check that they exist "
                "and that the function's role may ssm:GetParameters and kms:Decrypt them.",
                source="ssm",
                name=shown,
                setting=None,
                error_code=_error_code(exc),
            ) from None
        for parameter in response.get("Parameters", []):
            value = parameter.get("Value", "")
            name = parameter.get("Name", "")
            # A request may name a parameter by name, name:version/label or ARN.
            for alias in (name, name + parameter.get("Selector", ""), parameter.get("ARN", "")):
                if alias:
                    found[alias] = value

    resolved: dict[str, str] = {}
    for setting, name in names.items():
        found_value = found.get(name)
        if not found_value:
            raise _fail(
                f"The SSM parameter {name} (for {setting.upper()}) does not exist or is empty. "
                f"Create it with: aws ssm put-parameter --type SecureString --name {name} --value ...",
                source="ssm",
                name=name,
                setting=setting,
                error_code="ParameterNotFound" if found_value is None else "EmptyValue",
            )
        resolved[setting] = found_value
    return resolved


def _secret_string(client: SecretsManagerClient, secret_id: str) -> str:
    """The secret's ``SecretString`` ("" when it has none); :class:`ConfigurationError` naming the
    secret and the AWS error code (never a value) when it cannot be read."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = client.get_secret_value(SecretId=secret_id)
    except (ClientError, BotoCoreError) as exc:
        raise _fail(
            f"Cannot read the Secrets Manager secret {secret_id} ({_error_code(exc)}). Check that it "
            "exists and that the function's role may secretsmanager:GetSecretValue it.",
            source="secretsmanager",
            name=secret_id,
            setting=None,
            error_code=_error_code(exc),
        ) from None
    return response.get("SecretString") or ""


def _read_secrets_manager(client: SecretsManagerClient, secret_id: str, wanted: list[str]) -> dict[str, str]:
    """Read the JSON secret ``secret_id`` and take the ``wanted`` settings from it."""
    raw = _secret_string(client, secret_id)
    try:
        document = json.loads(raw) if raw else None
    except ValueError:
        document = None
    if not isinstance(document, dict):
        # The parse error is not shown: it could quote part of the secret.
        raise _fail(
            f"The Secrets Manager secret {secret_id} is not a JSON object with the bot's settings as keys.",
            source="secretsmanager",
            name=secret_id,
            setting=None,
            error_code="NotJsonObject",
        )

    resolved: dict[str, str] = {}
    for setting in wanted:
        for key in (setting, setting.upper()):
            if key not in document:
                continue
            value = document[key]
            if not isinstance(value, str) or not value:
                raise _fail(
                    f"The key {key} of the Secrets Manager secret {secret_id} is empty or not a string.",
                    source="secretsmanager",
                    name=f"{secret_id}:{key}",
                    setting=setting,
                    error_code="EmptyValue",
                )
            resolved[setting] = value
            break
    if not resolved and wanted:
        raise _fail(
            f"The Secrets Manager secret {secret_id} has none of the keys "
            f"{', '.join(field.upper() for field in wanted)}.",
            source="secretsmanager",
            name=secret_id,
            setting=None,
            error_code="NoKnownKeys",
        )
    return resolved
