"""Settings: the only place that reads the environment.

Every setting is an environment variable of the same name in upper case (``REDIS_URL`` for
``redis_url``; the name's case does not matter), validated by pydantic; keyword arguments given to
``Settings(...)`` override the environment. A plain pydantic model reads the environment itself:
pydantic-settings (and python-dotenv, which it imports) cost about a tenth of a cold start's first
ack and did nothing more for these flat, scalar settings. Secrets are :class:`~pydantic.SecretStr`
so that printing or logging a ``Settings`` never shows them. On Lambda, secrets may instead be
named by ``*_SSM_PARAMETER`` variables or a Secrets Manager secret id (see
:mod:`bot.adapters.aws_secrets`); :func:`load_settings` resolves them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_AGENTS_DIR = PROJECT_ROOT / "agents"


class Settings(BaseModel):
    """All configuration of the bot, validated once per process."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    def __init__(self, **values: Any) -> None:
        """The environment's settings, overridden by ``values``."""
        names = type(self).model_fields
        found = {key.lower(): value for key, value in os.environ.items() if key.lower() in names}
        super().__init__(**{**found, **values})

    # --- Slack ---------------------------------------------------------------------------------
    slack_signing_secret: SecretStr | None = None
    slack_bot_token: SecretStr | None = None
    slack_app_token: SecretStr | None = Field(default=None, description="xapp- token: enables Socket Mode")
    slack_api_url: str = "https://slack.com/api/"
    slack_bot_user_id: str | None = Field(
        default=None, description="The bot's user id (U...); skips auth.test on a cold start"
    )
    slack_update_interval_s: float = Field(
        default=1.0, ge=0.2, description="Min seconds between edits or appends of a streaming answer"
    )
    slack_native_streaming: bool = Field(
        default=True, description="Stream with chat.startStream/appendStream/stopStream where Slack allows it"
    )
    slack_experience: Literal["agent", "assistant"] = Field(
        default="agent",
        description="The app's agent chats: 'agent' (manifest agent_view, the Messages tab) or "
        "'assistant' (assistant_view, the older side panel of apps created with it)",
    )

    # --- Files and thread history ---------------------------------------------------------------
    max_file_bytes: int = Field(default=10_000_000, ge=1_000, description="Larger files are not read")
    max_files_per_message: int = Field(default=10, ge=1, le=100, description="Files read per message")
    max_file_chars: int = Field(default=200_000, ge=1_000, description="Text kept per file (the rest is cut)")
    max_thread_messages: int = Field(
        default=1_000, ge=10, description="Messages read back from one thread (conversations.replies)"
    )
    thread_page_size: int = Field(
        default=200, ge=1, le=1_000, description="conversations.replies limit per call (15 for Tier 1 apps)"
    )
    image_detail: Literal["low", "high", "auto"] = Field(
        default="high", description="OpenAI image detail for shared images (low: 85 tokens, blurry)"
    )

    # --- OpenAI --------------------------------------------------------------------------------
    openai_api_key: SecretStr | None = None
    openai_base_url: str | None = None
    default_model: str = Field(default="gpt-4.1", description="OpenAI model for agents whose model can't map")
    model_routes: str = Field(
        default="",
        description="JSON: model name glob -> OpenAI-compatible endpoint (else model-routes.yaml)",
    )
    model_connect_timeout_s: float = Field(default=5.0, gt=0)
    model_read_timeout_s: float = Field(default=60.0, gt=0, description="Max silence inside a stream")
    model_max_retries: int = Field(default=3, ge=0, le=10)
    model_retry_base_delay_s: float = Field(default=0.5, ge=0)
    answer_reserve_tokens: int = Field(default=4096, ge=256, description="Tokens kept free for the answer")
    max_prompt_tokens: int = Field(
        default=120_000, ge=1_000, description="Cap on prompt size (cost), below the model's window"
    )

    # --- Storage -------------------------------------------------------------------------------
    redis_url: SecretStr | None = Field(
        default=None, description="redis:// or rediss://; may hold a password"
    )
    redis_key_prefix: str = "ab"
    conversation_ttl_days: int = Field(default=30, ge=1, le=365)
    max_turns: int = Field(default=500, ge=10, description="Turns kept per thread; older ones are dropped")
    lock_ttl_s: float = Field(default=120.0, gt=0, description="Answer lock expiry (crash safety)")
    lock_wait_s: float = Field(default=60.0, ge=0, description="How long a reply waits for the lock")
    store_outage_retry_s: float = Field(
        default=30.0, ge=0, description="How long a reply keeps retrying while Redis is unreachable"
    )
    held_replies_queue_url: str | None = Field(
        default=None,
        description="SQS queue for replies held through a longer outage (Lambda); unset: a local timer",
    )
    held_reply_retry_s: float = Field(
        default=60.0, ge=0, le=900, description="How often a held reply checks whether Redis is back"
    )
    held_reply_max_attempts: int = Field(
        default=120, ge=1, description="Checks before a held reply is given up (with the default: 2 h)"
    )

    # --- Agents --------------------------------------------------------------------------------
    agents_dir: Path = DEFAULT_AGENTS_DIR
    agents_source: str = Field(
        default="", description="s3://bucket/prefix/: agent files from S3, reloaded without a redeploy"
    )
    agents_refresh_s: float = Field(
        default=60.0, ge=1, description="With AGENTS_SOURCE: look for changed files at most this often"
    )
    routing_file: Path | None = Field(default=None, description="Default: routing.yaml in AGENTS_DIR")
    policy_file: Path | None = Field(
        default=None, description="Access and cost policy. Default: policy.yaml in AGENTS_DIR"
    )

    # --- Tools (docs/agents.md, "Tools") -------------------------------------------------------
    tool_fetch: bool = Field(default=True, description="The fetch tool (read a web page over https)")
    tool_github: bool = Field(default=True, description="The GitHub tools (need GITHUB_ALLOWED_REPOS)")
    tool_mcp: bool = Field(default=True, description="MCP servers (need MCP_ALLOWED_SERVERS or MCP_SERVERS)")
    tool_max_calls: int = Field(default=8, ge=1, le=50, description="Tool calls per answer")
    tool_timeout_s: float = Field(default=20.0, gt=0, description="One tool call's limit")
    tool_time_share: float = Field(
        default=0.6, ge=0.1, le=0.9, description="Share of an answer's time tools may use"
    )
    tool_result_max_chars: int = Field(default=12_000, ge=1_000, description="A longer result is cut")
    tool_approval_timeout_s: float = Field(default=600.0, gt=0, description="No click by then: denied")
    tools_ask_first: str = Field(default="", description="Comma-separated tools that always ask first")
    tools_trusted: str = Field(default="", description="Comma-separated tools that never ask (writes)")
    fetch_allowed_domains: str = Field(
        default="", description="Comma-separated domains fetched without asking, whoever wrote the address"
    )
    fetch_max_bytes: int = Field(default=2_000_000, ge=10_000)
    fetch_timeout_s: float = Field(default=15.0, gt=0)
    fetch_max_redirects: int = Field(default=5, ge=0, le=20)
    fetch_allow_loopback_for_tests: bool = Field(
        default=False, description="TESTS ONLY: lets fetch reach 127.0.0.1 / ::1"
    )
    fetch_ca_file: str | None = Field(default=None, description="Extra CA bundle for fetch (tests)")
    github_token: SecretStr | None = None
    github_api_url: str = "https://api.github.com"
    github_allowed_repos: str = Field(
        default="", description="Comma-separated 'org' or 'org/repo' the GitHub tools may read"
    )
    mcp_allowed_servers: str = Field(
        default="", description="Comma-separated URL prefixes: agent-file MCP servers allowed to run"
    )
    mcp_servers: str = Field(
        default="", description='JSON: the bot\'s own MCP servers {"name": {"url": ..., "type": "http"}}'
    )
    mcp_headers: SecretStr | None = Field(
        default=None, description='JSON: headers per URL prefix {"https://mcp.x/": {"Authorization": ...}}'
    )
    mcp_tools_cache_s: float = Field(default=300.0, ge=0)

    # --- Runtime -------------------------------------------------------------------------------
    stage: str = "local"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    metrics_output: Literal["auto", "stdout", "off"] = Field(
        default="auto",
        description="CloudWatch EMF metric lines on stdout: auto = on Lambda or with LOG_FORMAT=json "
        "(a local console shows readable logs only; --verbose turns them on)",
    )
    aws_lambda_function_name: str | None = Field(default=None, description="Set by Lambda itself")
    aws_region: str | None = None
    port: int = 3000
    warm_after_ack: bool = Field(
        default=True, description="After a cold start's first ack, build the engine in the background"
    )

    # --- Secrets from AWS (deployment) ----------------------------------------------------------
    slack_signing_secret_ssm_parameter: str | None = None
    slack_bot_token_ssm_parameter: str | None = None
    openai_api_key_ssm_parameter: str | None = None
    redis_url_ssm_parameter: str | None = None
    github_token_ssm_parameter: str | None = None
    mcp_headers_ssm_parameter: str | None = None
    secrets_manager_secret_id: str | None = Field(
        default=None, description="A JSON secret with any of the secret settings' names as keys"
    )

    @field_validator("slack_api_url")
    @classmethod
    def _trailing_slash(cls, value: str) -> str:
        return value if value.endswith("/") else value + "/"

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
