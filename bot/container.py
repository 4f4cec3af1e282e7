"""Builds the services once per process from settings.

Everything slow or heavy (the Redis client, the OpenAI SDK, the engine) is built on first use, so
the Slack ack path, which needs only the registry and the Slack client, imports neither redis nor
openai. Builders are guarded by a lock: in the local threaded server two listeners may ask at once,
and two in-memory stores would split a conversation's state.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from bot.core.policy import Policy
from bot.core.ports import Clock, SystemClock
from bot.core.registry import Registry
from bot.errors import ConfigurationError
from bot.logging import get_logger
from bot.metrics import Metrics
from bot.settings import Settings

if TYPE_CHECKING:
    from bot.core.engine import Engine
    from bot.core.governance import Access, Budget
    from bot.core.ports import ChatModel, ConversationStore, TokenCounter
    from bot.core.quota import QuotaStore
    from bot.core.tools import ToolConfig
    from bot.slack.features import FeatureMemory

log = get_logger("bot.container")

NO_KEY = "no-key-set"  # sent to an OPENAI_BASE_URL server when OPENAI_API_KEY is unset (the SDK needs one)


class Services:
    """The process's services, built lazily and once."""

    def __init__(
        self,
        settings: Settings,
        registry: Registry,
        *,
        clock: Clock | None = None,
        store: ConversationStore | None = None,
        model: ChatModel | None = None,
        policy: Policy | None = None,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.clock: Clock = clock or SystemClock()
        self.metrics = Metrics(settings.stage)
        self.policy = policy or Policy()
        self._store = store
        self._model = model
        self._access: Access | None = None
        self._quota: QuotaStore | None = None
        self._budget: Budget | None = None
        self._counter: TokenCounter | None = None
        self._engine: Engine | None = None
        self._tool_config: ToolConfig | None = None
        self._features: FeatureMemory | None = None
        self._lock = threading.RLock()

    @property
    def store(self) -> ConversationStore:
        """Redis when REDIS_URL is set; the in-process store locally (refused on Lambda)."""
        with self._lock:
            if self._store is None:
                self._store = self._build_store()
            return self._store

    def _build_store(self) -> ConversationStore:
        settings = self.settings
        if settings.redis_url is not None:
            from bot.adapters.redis_store import RedisConversationStore

            log.debug("store_selected", store="redis")
            return RedisConversationStore.from_url(
                settings.redis_url.get_secret_value(),
                prefix=settings.redis_key_prefix,
                ttl_s=settings.conversation_ttl_s,
                max_turns=settings.max_turns,
                clock=self.clock,
            )
        if settings.on_lambda:
            raise ConfigurationError(
                "REDIS_URL is not set: the in-memory store cannot serve on Lambda "
                "(each instance would have its own conversations)"
            )
        from bot.adapters.memory_store import MemoryConversationStore

        log.info("store_selected", store="memory", note="REDIS_URL not set: conversations vanish on exit")
        return MemoryConversationStore(
            ttl_s=settings.conversation_ttl_s, max_turns=settings.max_turns, clock=self.clock
        )

    @property
    def access(self) -> Access:
        """Access decisions (pure; user groups from Slack, cached): usable on the ack path."""
        with self._lock:
            if self._access is None:
                from bot.core.governance import Access

                groups = None
                if any(rule.usergroups for rule in self.policy.agents.values()):
                    from slack_sdk import WebClient

                    from bot.slack.usergroups import SlackUserGroups

                    token = self.settings.slack_bot_token
                    # asked on the ack path too: a short timeout and no retry sleeps (Slack's 3 s)
                    client = WebClient(
                        token=token.get_secret_value() if token else None,
                        base_url=self.settings.slack_api_url,
                        timeout=2,
                    )
                    groups = SlackUserGroups(client, clock=self.clock)
                self._access = Access(self.policy, groups)
            return self._access

    @property
    def quota(self) -> QuotaStore:
        """Budget and usage counters: in Redis beside the conversations, or in memory locally."""
        with self._lock:
            if self._quota is None:
                store = self.store
                client = getattr(store, "client", None)
                if client is not None:
                    from bot.adapters.redis_quota import RedisQuotaStore

                    self._quota = RedisQuotaStore(client, prefix=self.settings.redis_key_prefix)
                else:
                    from bot.adapters.memory_quota import MemoryQuotaStore

                    self._quota = MemoryQuotaStore(clock=self.clock)
            return self._quota

    @property
    def budget(self) -> Budget:
        """The budget gate around model calls, and usage reports."""
        with self._lock:
            if self._budget is None:
                from bot.core.governance import Budget

                self._budget = Budget(self.policy, self.quota, self.clock)
            return self._budget

    @property
    def slack_features(self) -> FeatureMemory:
        """Slack features a workspace or channel refused lately (streaming, loading status, canvases)."""
        with self._lock:
            if self._features is None:
                from bot.slack.features import FeatureMemory

                self._features = FeatureMemory(self.clock)
            return self._features

    @property
    def model(self) -> ChatModel:
        """The OpenAI chat model (the SDK is imported here, never on the ack path)."""
        with self._lock:
            if self._model is None:
                settings = self.settings
                if settings.openai_api_key is not None:
                    api_key = settings.openai_api_key.get_secret_value()
                elif settings.openai_base_url:
                    api_key = NO_KEY  # an OpenAI-compatible server of one's own (e.g. local) needs none
                else:
                    raise ConfigurationError("OPENAI_API_KEY is not set")
                from bot.adapters.openai_model import OpenAIChatModel

                self._model = OpenAIChatModel(
                    api_key=api_key,
                    base_url=settings.openai_base_url,
                    connect_timeout_s=settings.model_connect_timeout_s,
                    read_timeout_s=settings.model_read_timeout_s,
                    max_retries=settings.model_max_retries,
                    retry_base_delay_s=settings.model_retry_base_delay_s,
                    clock=self.clock,
                )
            return self._model

    @property
    def counter(self) -> TokenCounter:
        """Token counter: tiktoken when its encoding is on disk, else a conservative estimate."""
        with self._lock:
            if self._counter is None:
                from bot.adapters.token_counter import make_counter

                self._counter = make_counter()
            return self._counter

    @property
    def tool_config(self) -> ToolConfig:
        """What the settings let agents use (built-in tools, MCP servers); pure, no HTTP import."""
        with self._lock:
            if self._tool_config is None:
                from bot.toolbox import tool_config

                self._tool_config = tool_config(self.settings)
            return self._tool_config

    @property
    def engine(self) -> Engine:
        """The conversation engine over the store, model, counter and registry."""
        with self._lock:
            if self._engine is None:
                from bot.core.engine import Engine, EngineConfig
                from bot.toolbox import SettingsToolbox, approval_policy, tool_rules

                settings = self.settings
                self._engine = Engine(
                    registry=self.registry,
                    store=self.store,
                    model=self.model,
                    counter=self.counter,
                    clock=self.clock,
                    budget=self.budget,
                    config=EngineConfig(
                        max_prompt_tokens=settings.max_prompt_tokens,
                        reserve_tokens=settings.answer_reserve_tokens,
                        lock_ttl_s=settings.lock_ttl_s,
                        lock_wait_s=settings.lock_wait_s,
                    ),
                    tools=SettingsToolbox(settings, self.clock),
                    tool_config=self.tool_config,
                    tool_rules=tool_rules(settings),
                    approvals=approval_policy(settings),
                )
            return self._engine

    def warm(self) -> None:
        """Build the engine and everything under it now (imports included), not on first use.

        Run in a background thread after a cold start's first ack, or before a SnapStart snapshot,
        so the first answer does not pay for importing the OpenAI SDK and Redis client.
        """
        try:
            self.engine  # noqa: B018 - builds store, model, counter
        except Exception as error:  # noqa: BLE001 - the real use reports it to the person
            log.warning("warm_up_failed", error_type=type(error).__name__)

    def reconnect(self) -> None:
        """Drop network clients (after a SnapStart restore: sockets from the snapshot are dead)."""
        with self._lock:
            reset = getattr(self._store, "reconnect", None)
            if callable(reset):
                reset()
            reset = getattr(self._model, "reconnect", None)
            if callable(reset):
                reset()
