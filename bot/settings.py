"""Settings: the only place that reads the environment.

Every setting is an environment variable of the same name in upper case (``REDIS_URL`` for
``redis_url``; the name's case does not matter); keyword arguments given to ``Settings(...)``
override the environment, and ``dataclasses.replace(settings, ...)`` makes a changed copy. An
empty value leaves an optional setting unset (``SLACK_BOT_TOKEN=`` is a missing token, not an
empty one). Each value is checked once, when the settings are made: its type (a number,
``true``/``false``, one of the listed words) and its bounds; every wrong value is named in one
:class:`SettingsError`, and a secret's value is never shown. Secrets are :class:`Secret` so that
printing or logging a ``Settings`` never shows them. On Lambda, secrets may instead be named by
``*_SSM_PARAMETER`` variables or a Secrets Manager secret id (see :mod:`bot.adapters.aws_secrets`).

Plain standard library, not pydantic: these are flat scalars from the environment, read on every
cold start before the first Slack ack, and importing pydantic and building a model of 77 fields
cost about a fifth of that ack's CPU (``scripts/bench_coldstart.py``). pydantic stays where it
earns its place, off the ack path (button values, conversations, a policy file's validation).

This module deliberately has no ``from __future__ import annotations``: each field's annotation is
the type object its environment value is read as.
"""

import math
import os
from dataclasses import dataclass, field, fields
from pathlib import Path
from types import NoneType, UnionType
from typing import Any, Literal, get_args, get_origin

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_AGENTS_DIR = PROJECT_ROOT / "agents"

_TRUE = frozenset({"1", "on", "t", "true", "y", "yes"})
_FALSE = frozenset({"0", "off", "f", "false", "n", "no"})


class Secret:
    """A secret setting's value: printed, logged or compared by ``repr`` as ``**********``."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def get_secret_value(self) -> str:
        """The value itself (for the one client that sends it)."""
        return self._value

    def __repr__(self) -> str:
        return f"Secret({str(self)!r})"

    def __str__(self) -> str:
        return "**********" if self._value else ""

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Secret) and other._value == self._value

    def __hash__(self) -> int:
        return hash(self._value)


class SettingsError(ValueError):
    """Settings with wrong values; ``problems`` says which variable and why, one line each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid settings: " + "; ".join(problems))
        self.problems = tuple(problems)


def setting(
    *,
    default: Any,
    doc: str = "",
    ge: float | None = None,
    gt: float | None = None,
    le: float | None = None,
) -> Any:
    """A setting with its default, bounds for a number, and the sentence the docs give it."""
    return field(default=default, metadata={"doc": doc, "ge": ge, "gt": gt, "le": le})


@dataclass(frozen=True, slots=True, init=False)
class Settings:
    """All configuration of the bot, checked once per process."""

    # --- Slack ---------------------------------------------------------------------------------
    slack_signing_secret: Secret | None = None
    slack_bot_token: Secret | None = None
    slack_app_token: Secret | None = setting(default=None, doc="xapp- token: enables Socket Mode")
    slack_api_url: str = "https://slack.com/api/"
    slack_bot_user_id: str | None = setting(
        default=None, doc="The bot's user id (U...); skips auth.test on a cold start"
    )
    slack_update_interval_s: float = setting(
        default=1.0, ge=0.2, doc="Min seconds between edits or appends of a streaming answer"
    )
    slack_native_streaming: bool = setting(
        default=True, doc="Stream with chat.startStream/appendStream/stopStream where Slack allows it"
    )
    slack_experience: Literal["agent", "assistant"] = setting(
        default="agent",
        doc="The app's agent chats: 'agent' (manifest agent_view, the Messages tab) or "
        "'assistant' (assistant_view, the older side panel of apps created with it)",
    )

    # --- Files and thread history ---------------------------------------------------------------
    max_file_bytes: int = setting(default=10_000_000, ge=1_000, doc="Larger files are not read")
    max_files_per_message: int = setting(default=10, ge=1, le=100, doc="Files read per message")
    max_file_chars: int = setting(default=200_000, ge=1_000, doc="Text kept per file (the rest is cut)")
    max_thread_messages: int = setting(
        default=1_000, ge=10, doc="Messages read back from one thread (conversations.replies)"
    )
    thread_page_size: int = setting(
        default=200, ge=1, le=1_000, doc="conversations.replies limit per call (15 for Tier 1 apps)"
    )
    image_detail: Literal["low", "high", "auto"] = setting(
        default="high", doc="OpenAI image detail for shared images (low: 85 tokens, blurry)"
    )

    # --- OpenAI --------------------------------------------------------------------------------
    openai_api_key: Secret | None = None
    openai_base_url: str | None = None
    default_model: str = setting(default="gpt-4.1", doc="OpenAI model for agents whose model can't map")
    model_routes: str = setting(
        default="",
        doc="JSON: model name glob -> OpenAI-compatible endpoint (else model-routes.yaml)",
    )
    model_connect_timeout_s: float = setting(default=5.0, gt=0)
    model_read_timeout_s: float = setting(default=60.0, gt=0, doc="Max silence inside a stream")
    model_max_retries: int = setting(default=3, ge=0, le=10)
    model_retry_base_delay_s: float = setting(default=0.5, ge=0)
    answer_reserve_tokens: int = setting(default=4096, ge=256, doc="Tokens kept free for the answer")
    max_prompt_tokens: int = setting(
        default=120_000, ge=1_000, doc="Cap on prompt size (cost), below the model's window"
    )

    # --- Storage -------------------------------------------------------------------------------
    redis_url: Secret | None = setting(default=None, doc="redis:// or rediss://; may hold a password")
    redis_key_prefix: str = "ab"
    conversation_ttl_days: int = setting(default=30, ge=1, le=365)
    max_turns: int = setting(default=500, ge=10, doc="Turns kept per thread; older ones are dropped")
    lock_ttl_s: float = setting(default=120.0, gt=0, doc="Answer lock expiry (crash safety)")
    lock_wait_s: float = setting(default=60.0, ge=0, doc="How long a reply waits for the lock")
    store_outage_retry_s: float = setting(
        default=30.0, ge=0, doc="How long a reply keeps retrying while Redis is unreachable"
    )
    held_replies_queue_url: str | None = setting(
        default=None,
        doc="SQS queue for replies held through a longer outage (Lambda); unset: a local timer",
    )
    held_reply_retry_s: float = setting(
        default=60.0, ge=0, le=900, doc="How often a held reply checks whether Redis is back"
    )
    held_reply_max_attempts: int = setting(
        default=120, ge=1, doc="Checks before a held reply is given up (with the default: 2 h)"
    )

    # --- Agents --------------------------------------------------------------------------------
    agents_dir: Path = DEFAULT_AGENTS_DIR
    agents_source: str = setting(
        default="", doc="s3://bucket/prefix/: agent files from S3, reloaded without a redeploy"
    )
    agents_refresh_s: float = setting(
        default=60.0, ge=1, doc="With AGENTS_SOURCE: look for changed files at most this often"
    )
    routing_file: Path | None = setting(default=None, doc="Default: routing.yaml in AGENTS_DIR")
    policy_file: Path | None = setting(
        default=None, doc="Access and cost policy. Default: policy.yaml in AGENTS_DIR"
    )

    # --- Tools (docs/agents.md, "Tools") -------------------------------------------------------
    tool_fetch: bool = setting(default=True, doc="The fetch tool (read a web page over https)")
    tool_github: bool = setting(default=True, doc="The GitHub tools (need GITHUB_ALLOWED_REPOS)")
    tool_mcp: bool = setting(default=True, doc="MCP servers (need MCP_ALLOWED_SERVERS or MCP_SERVERS)")
    tool_max_calls: int = setting(default=8, ge=1, le=50, doc="Tool calls per answer")
    tool_timeout_s: float = setting(default=20.0, gt=0, doc="One tool call's limit")
    tool_time_share: float = setting(
        default=0.6, ge=0.1, le=0.9, doc="Share of an answer's time tools may use"
    )
    tool_result_max_chars: int = setting(default=12_000, ge=1_000, doc="A longer result is cut")
    tool_approval_timeout_s: float = setting(default=600.0, gt=0, doc="No click by then: denied")
    tools_ask_first: str = setting(default="", doc="Comma-separated tools that always ask first")
    tools_trusted: str = setting(default="", doc="Comma-separated tools that never ask (writes)")
    fetch_allowed_domains: str = setting(
        default="", doc="Comma-separated domains fetched without asking, whoever wrote the address"
    )
    fetch_max_bytes: int = setting(default=2_000_000, ge=10_000)
    fetch_timeout_s: float = setting(default=15.0, gt=0)
    fetch_max_redirects: int = setting(default=5, ge=0, le=20)
    fetch_allow_loopback_for_tests: bool = setting(
        default=False, doc="TESTS ONLY: lets fetch reach 127.0.0.1 / ::1"
    )
    fetch_ca_file: str | None = setting(default=None, doc="Extra CA bundle for fetch (tests)")
    github_token: Secret | None = None
    github_api_url: str = "https://api.github.com"
    github_allowed_repos: str = setting(
        default="", doc="Comma-separated 'org' or 'org/repo' the GitHub tools may read"
    )
    mcp_allowed_servers: str = setting(
        default="", doc="Comma-separated URL prefixes: agent-file MCP servers allowed to run"
    )
    mcp_servers: str = setting(
        default="", doc='JSON: the bot\'s own MCP servers {"name": {"url": ..., "type": "http"}}'
    )
    mcp_headers: Secret | None = setting(
        default=None, doc='JSON: headers per URL prefix {"https://mcp.x/": {"Authorization": ...}}'
    )
    mcp_tools_cache_s: float = setting(default=300.0, ge=0)

    # --- Runtime -------------------------------------------------------------------------------
    stage: str = "local"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    metrics_output: Literal["auto", "stdout", "off"] = setting(
        default="auto",
        doc="CloudWatch EMF metric lines on stdout: auto = on Lambda or with LOG_FORMAT=json "
        "(a local console shows readable logs only; --verbose turns them on)",
    )
    aws_lambda_function_name: str | None = setting(default=None, doc="Set by Lambda itself")
    aws_region: str | None = None
    port: int = 3000
    warm_after_ack: bool = setting(
        default=True, doc="After a cold start's first ack, build the engine in the background"
    )

    # --- Secrets from AWS (deployment) ----------------------------------------------------------
    slack_signing_secret_ssm_parameter: str | None = None
    slack_bot_token_ssm_parameter: str | None = None
    openai_api_key_ssm_parameter: str | None = None
    redis_url_ssm_parameter: str | None = None
    github_token_ssm_parameter: str | None = None
    mcp_headers_ssm_parameter: str | None = None
    secrets_manager_secret_id: str | None = setting(
        default=None, doc="A JSON secret with any of the secret settings' names as keys"
    )

    def __init__(self, **values: Any) -> None:
        """The environment's settings, overridden by ``values``; :class:`SettingsError` for wrong ones."""
        unknown = sorted(set(values) - _FIELDS.keys())
        if unknown:
            raise TypeError(f"Settings() got unknown settings: {', '.join(unknown)}")
        given = {key.lower(): value for key, value in os.environ.items() if key.lower() in _FIELDS}
        given.update(values)
        problems: list[str] = []
        for name, spec in _FIELDS.items():
            value = spec.default
            if name in given:
                try:
                    value = spec.read(given[name])
                except ValueError as error:
                    problems.append(spec.problem(given[name], str(error)))
                    continue
            object.__setattr__(self, name, value)
        if problems:
            raise SettingsError(problems)
        if not self.slack_api_url.endswith("/"):
            object.__setattr__(self, "slack_api_url", self.slack_api_url + "/")

    @property
    def on_lambda(self) -> bool:
        """True when running inside AWS Lambda."""
        return bool(self.aws_lambda_function_name)

    @property
    def metrics_to_stdout(self) -> bool:
        """Whether metrics are written as EMF JSON lines (CloudWatch reads them on Lambda)."""
        if self.metrics_output != "auto":
            return self.metrics_output == "stdout"
        return self.on_lambda or self.log_format == "json"

    @property
    def routing_path(self) -> Path:
        """Where the verb routing lives."""
        return self.routing_file or (self.agents_dir / "routing.yaml")

    @property
    def policy_path(self) -> Path:
        """Where the access and cost policy lives (an absent file restricts nothing)."""
        return self.policy_file or (self.agents_dir / "policy.yaml")

    @property
    def conversation_ttl_s(self) -> int:
        """Conversation TTL in seconds."""
        return self.conversation_ttl_days * 86_400

    @staticmethod
    def _list(value: str) -> tuple[str, ...]:
        return tuple(item.strip() for item in value.split(",") if item.strip())

    @property
    def github_repos(self) -> tuple[str, ...]:
        """GITHUB_ALLOWED_REPOS as a list."""
        return self._list(self.github_allowed_repos)

    @property
    def mcp_prefixes(self) -> tuple[str, ...]:
        """MCP_ALLOWED_SERVERS as a list of URL prefixes."""
        return self._list(self.mcp_allowed_servers)

    @property
    def fetch_domains(self) -> tuple[str, ...]:
        """FETCH_ALLOWED_DOMAINS as a list."""
        return self._list(self.fetch_allowed_domains)

    @property
    def ask_first(self) -> frozenset[str]:
        """TOOLS_ASK_FIRST as a set."""
        return frozenset(self._list(self.tools_ask_first))

    @property
    def trusted(self) -> frozenset[str]:
        """TOOLS_TRUSTED as a set."""
        return frozenset(self._list(self.tools_trusted))

    def missing(self, *names: str) -> list[str]:
        """The environment variable names among ``names`` that have no value.

        ``"a|b"`` means either will do: it is missing only when both are, and is reported as
        ``A (or B)``.
        """
        absent: list[str] = []
        for name in names:
            options = name.split("|")
            if all(getattr(self, option) in (None, "") for option in options):
                first, *others = (option.upper() for option in options)
                absent.append(first + "".join(f" (or {other})" for other in others))
        return absent


class _Field:
    """How one setting is read: its type (optional or not), its choices or bounds, its default."""

    def __init__(self, name: str, kind: Any, default: Any, metadata: Any) -> None:
        self.name = name
        self.default = default
        self.secret = False
        self.optional = False
        if isinstance(kind, UnionType):
            args = [arg for arg in get_args(kind) if arg is not NoneType]
            self.optional = len(args) < len(get_args(kind))
            kind = args[0]
        self.kind = kind
        self.choices: tuple[str, ...] = get_args(kind) if get_origin(kind) is Literal else ()
        self.bounds = [(key, metadata[key]) for key in ("ge", "gt", "le") if metadata.get(key) is not None]

    def problem(self, value: object, reason: str) -> str:
        """One line naming the variable, why its value is wrong, and the value unless it is a secret."""
        shown = "" if self.kind is Secret else f" (got {value!r})"
        return f"{self.name.upper()}: {reason}{shown}"

    def read(self, value: object) -> Any:
        """The value as this setting's type (raises ValueError with the reason)."""
        if value is None or (self.optional and isinstance(value, str) and not value.strip()):
            if self.optional:  # an empty variable (`SLACK_BOT_TOKEN=`, a CI secret never set) is unset
                return None
            raise ValueError("a value is required")
        if self.choices:
            if value not in self.choices:
                raise ValueError("should be one of " + ", ".join(repr(choice) for choice in self.choices))
            return value
        read = _READERS.get(self.kind)
        if read is None:  # pragma: no cover - a field of a type no reader knows is a programming error
            raise TypeError(f"no reader for setting {self.name} of type {self.kind}")
        result = read(value)
        for key, limit in self.bounds:
            if not _within(result, key, limit):
                raise ValueError(f"should be {_WORDS[key]} {limit:g}")
        return result


_WORDS = {"ge": "at least", "gt": "greater than", "le": "at most"}


def _within(value: float, key: str, limit: float) -> bool:
    if isinstance(value, float) and math.isnan(value):
        return False
    return value >= limit if key == "ge" else value > limit if key == "gt" else value <= limit


def _text(value: object) -> str:
    if isinstance(value, str):
        return value
    raise ValueError("should be text")


def _whole(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        try:
            return int(value.strip())
        except ValueError:
            pass
    raise ValueError("should be a whole number")


def _number(value: object) -> float:
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            pass
    raise ValueError("should be a number")


def _flag(value: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return value.strip().lower() in _TRUE
    raise ValueError("should be true or false")


def _path(value: object) -> Path:
    if isinstance(value, str | Path):
        return Path(value)
    raise ValueError("should be a path")


def _secret(value: object) -> Secret:
    if isinstance(value, Secret):
        return value
    if isinstance(value, str):
        return Secret(value)
    raise ValueError("should be text")


_READERS: dict[Any, Any] = {
    str: _text,
    int: _whole,
    float: _number,
    bool: _flag,
    Path: _path,
    Secret: _secret,
}

_FIELDS: dict[str, _Field] = {f.name: _Field(f.name, f.type, f.default, f.metadata) for f in fields(Settings)}
