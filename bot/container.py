"""Builds the services once per process from settings.

Everything slow or heavy (the Redis client, the OpenAI SDK, the engine) is built on first use, so
the Slack ack path, which needs only the registry and the Slack client, imports neither redis nor
openai. Each part has its own lock: in the local threaded server two listeners may ask at once (two
in-memory stores would split a conversation's state), and on a cold Lambda container the answer can
start its store and Slack work while the warm-up thread is still importing the OpenAI SDK: the
engine calls the model through :class:`_ModelOnFirstUse`, which waits for it only when the first
prompt is ready to send.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from bot.core.clock import SystemClock
from bot.core.policy import Policy
from bot.errors import ConfigurationError
from bot.logging import get_logger
from bot.metrics import Metrics

if TYPE_CHECKING:
    from collections.abc import Iterator

    import redis

    from bot.adapters.openai_model import OpenAIChatModel
    from bot.adapters.routed_model import RoutedChatModel
    from bot.adapters.slack_files import SlackFiles
    from bot.agents_source import AgentsSource
    from bot.core.access import Access
    from bot.core.engine import Engine
    from bot.core.files import FileLimits
    from bot.core.governance import Quota
    from bot.core.held import HeldReplies
    from bot.core.ports import ChatModel, Clock, ConversationStore, ModelEvent, ModelRequest, TokenCounter
    from bot.core.quota import UsageLedger
    from bot.core.registry import Registry
    from bot.core.tools import ToolConfig
    from bot.settings import Settings
    from bot.toolbox import SettingsToolbox

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
        self.metrics = Metrics(settings.stage, enabled=settings.metrics_to_stdout)
        self.policy = policy or Policy()
        self.agents_source: AgentsSource | None = None  # agent files from S3 (bot/agents_source.py)
        self._store = store
        self._redis: redis.Redis | None = None  # built with the store; shared by store and quota
        self._model = model
        self._openai: OpenAIChatModel | None = None  # the model the container built (reconnected)
        self._routed: RoutedChatModel | None = None  # the same, with the model routes' endpoints
        self._toolbox: SettingsToolbox | None = None  # the engine's tools (warmed, reconnected)
        self._access: Access | None = None
        self._ledger: UsageLedger | None = None
        self._quota: Quota | None = None
        self._counter: TokenCounter | None = None
        self._engine: Engine | None = None
        self._tool_config: ToolConfig | None = None
        self._held: HeldReplies | None = None
        self._store_lock = threading.Lock()
        self._model_lock = threading.Lock()
        self._counter_lock = threading.Lock()
        self._engine_lock = threading.Lock()  # taken before the others, never inside them
        self._governance_lock = threading.RLock()  # access, ledger, quota (the quota builds the ledger)
        self._lock = threading.RLock()  # the small pure parts: tool config, the Slack files reader
        self._files: SlackFiles | None = None

    @property
    def store(self) -> ConversationStore:
        """Redis when REDIS_URL is set; the in-process store locally (refused on Lambda)."""
        with self._store_lock:
            if self._store is None:
                self._store = self._build_store()
            return self._store

    def _build_store(self) -> ConversationStore:
        settings = self.settings
        if settings.redis_url is not None:
            from bot.adapters.redis.client import connect
            from bot.adapters.redis.store import RedisConversationStore

            log.debug("store_selected", store="redis")
            self._redis = connect(settings.redis_url.get_secret_value())
            return RedisConversationStore(
                self._redis,
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
        from bot.adapters.memory.store import MemoryConversationStore

        log.info("store_selected", store="memory", note="REDIS_URL not set: conversations vanish on exit")
        return MemoryConversationStore(
            ttl_s=settings.conversation_ttl_s, max_turns=settings.max_turns, clock=self.clock
        )

    @property
    def held_replies(self) -> HeldReplies | None:
        """Where replies wait through a longer storage outage: SQS (``HELD_REPLIES_QUEUE_URL``), a
        timer thread in a local process, or nothing on Lambda without a queue (the reply is refused)."""
        with self._lock:
            if self._held is None:
                from bot.adapters.held_replies import LocalHeldReplies, SqsHeldReplies

                url = self.settings.held_replies_queue_url
                if url:
                    self._held = SqsHeldReplies(url)
                elif not self.settings.on_lambda:  # a frozen Lambda container runs no timers
                    self._held = LocalHeldReplies()
            return self._held

    @property
    def access(self) -> Access:
        """Access decisions (pure; user groups from Slack, cached): usable on the ack path."""
        with self._governance_lock:
            if self._access is None:
                from bot.core.access import Access

                groups = None
                if any(rule.usergroups for rule in self.policy.agents.values()):
                    from slack_sdk import WebClient

                    from bot.adapters.slack_usergroups import SlackUserGroups

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
    def ledger(self) -> UsageLedger:
        """The usage counters the quota checks and charges: in Redis beside the conversations, or in
        memory locally."""
        with self._governance_lock:
            if self._ledger is None:
                self.store  # noqa: B018 - builds the Redis client when the conversations are in Redis
                if self._redis is not None:
                    from bot.adapters.redis.ledger import RedisLedger

                    self._ledger = RedisLedger(self._redis, prefix=self.settings.redis_key_prefix)
                else:
                    from bot.adapters.memory.ledger import MemoryLedger

                    self._ledger = MemoryLedger(clock=self.clock)
            return self._ledger

    @property
    def quota(self) -> Quota:
        """The quota: the gate around model calls, and usage reports."""
        with self._governance_lock:
            if self._quota is None:
                from bot.core.governance import Quota

                self._quota = Quota(self.policy, self.ledger, self.clock)
            return self._quota

    @property
    def model(self) -> ChatModel:
        """The OpenAI chat model (the SDK is imported here, never on the ack path)."""
        with self._model_lock:
            if self._model is None:
                settings = self.settings
                api_key = self._openai_api_key()
                from bot.adapters.openai_model import OpenAIChatModel
                from bot.adapters.routed_model import RoutedChatModel

                def client(base_url: str | None, key: str) -> OpenAIChatModel:
                    return OpenAIChatModel(
                        api_key=key,
                        base_url=base_url,
                        connect_timeout_s=settings.model_connect_timeout_s,
                        read_timeout_s=settings.model_read_timeout_s,
                        max_retries=settings.model_max_retries,
                        retry_base_delay_s=settings.model_retry_base_delay_s,
                        clock=self.clock,
                    )

                self._openai = client(settings.openai_base_url, api_key)
                # model routes (MODEL_ROUTES) are read at each request: a reload may change them
                self._model = self._routed = RoutedChatModel(
                    self._openai,
                    lambda: self.registry.routes,
                    client,
                    region=settings.aws_region,
                )
            return self._model

    def _openai_api_key(self) -> str:
        settings = self.settings
        if settings.openai_api_key is not None:
            return settings.openai_api_key.get_secret_value()
        if settings.openai_base_url:
            return NO_KEY  # an OpenAI-compatible server of one's own (e.g. local) needs none
        raise ConfigurationError("OPENAI_API_KEY is not set")

    @property
    def counter(self) -> TokenCounter:
        """Token counter: tiktoken when its encoding is on disk, else a conservative estimate."""
        with self._counter_lock:
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
    def file_limits(self) -> FileLimits:
        """How much of a thread and its files is read (settings)."""
        from bot.core.files import FileLimits

        settings = self.settings
        return FileLimits(
            max_file_bytes=settings.max_file_bytes,
            max_files=settings.max_files_per_message,
            max_file_chars=settings.max_file_chars,
            max_thread_messages=settings.max_thread_messages,
            image_detail=settings.image_detail,
        )

    @property
    def files(self) -> SlackFiles | None:
        """Files shared in Slack (read for prompts, images fetched again); None without a bot token."""
        with self._lock:
            if self._files is None and self.settings.slack_bot_token is not None:
                from slack_sdk import WebClient

                from bot.adapters.slack_files import SlackFiles

                client = WebClient(
                    token=self.settings.slack_bot_token.get_secret_value(),
                    base_url=self.settings.slack_api_url,
                )
                self._files = SlackFiles(client, limits=self.file_limits, clock=self.clock)
            return self._files

    @property
    def engine(self) -> Engine:
        """The conversation engine over the store, model, counter and registry.

        The model itself is not needed to build it (see :class:`_ModelOnFirstUse`); a missing
        OpenAI key is still refused here, before anything is posted or stored.
        """
        with self._engine_lock:
            if self._engine is None:
                from bot.core.engine import Engine, EngineConfig
                from bot.toolbox import SettingsToolbox, approval_policy, tool_rules

                settings = self.settings
                model = self._model if self._model is not None else _ModelOnFirstUse(self)
                if self._toolbox is None:  # kept when the engine is rebuilt for reloaded agents
                    self._toolbox = SettingsToolbox(settings, self.clock)
                self._engine = Engine(
                    registry=self.registry,
                    store=self.store,
                    model=model,
                    counter=self.counter,
                    clock=self.clock,
                    quota=self.quota,
                    config=EngineConfig(
                        max_prompt_tokens=settings.max_prompt_tokens,
                        reserve_tokens=settings.answer_reserve_tokens,
                        lock_ttl_s=settings.lock_ttl_s,
                        lock_wait_s=settings.lock_wait_s,
                        image_detail=settings.image_detail,
                    ),
                    tools=self._toolbox,
                    tool_config=self.tool_config,
                    tool_rules=tool_rules(settings),
                    approvals=approval_policy(settings),
                    files=self.files,
                )
            return self._engine

    def use_agents(self, registry: Registry, policy: Policy) -> None:
        """Another set of agent files (reloaded from S3): the next request uses it, with its policy.

        The engine is rebuilt on next use (store, model and tools are kept); an answer under way
        finishes with the engine it started with.
        """
        with self._engine_lock, self._governance_lock:
            self.registry = registry
            self.policy = policy
            self._access = None
            self._quota = None  # the quota gate reads the policy; the ledger stays
            self._engine = None

    def warm(self) -> None:
        """Build the engine and everything under it now (imports included), not on first use.

        Run in a background thread after a cold start's first ack, or before a SnapStart snapshot,
        so the first answer does not pay for importing the OpenAI SDK and Redis client. The parts
        the answer needs first (store, engine) are built first; the model, the slowest, last; then
        the tools' clients and the MCP SDK, when an agent uses them.
        """
        try:
            self.engine  # noqa: B018 - builds store, counter, the engine and its toolbox
            self.model  # noqa: B018 - imports the OpenAI SDK
            if self._toolbox is not None:
                from bot.core.tools import plan_tools

                self._toolbox.warm([plan_tools(spec, self.tool_config) for spec in self.registry])
        except Exception as error:  # noqa: BLE001 - the real use reports it to the person
            log.warning("warm_up_failed", error_type=type(error).__name__)

    @property
    def warm_parts(self) -> frozenset[str]:
        """Which of store, model, counter and engine are built."""
        parts = {"store": self._store, "model": self._model, "counter": self._counter, "engine": self._engine}
        return frozenset(name for name, part in parts.items() if part is not None)

    def reconnect(self) -> None:
        """Drop network clients (after a SnapStart restore: sockets from the snapshot are dead)."""
        with self._store_lock:
            if self._redis is not None:
                from bot.adapters.redis.client import disconnect

                disconnect(self._redis)
        with self._model_lock:
            if self._routed is not None:
                self._routed.reconnect()  # the default endpoint and every model route's
        if self._toolbox is not None:
            self._toolbox.reconnect()


class _ModelOnFirstUse:
    """The chat model, taken from the services when the engine first sends a prompt.

    On a cold container the warm-up thread may still be importing the OpenAI SDK when an answer
    starts: the answer meanwhile claims the event, posts the request and stores the turn, and
    waits for the model only when the prompt is ready.
    """

    def __init__(self, services: Services) -> None:
        services._openai_api_key()  # refuse a missing key when the engine is built, as before
        self._services = services

    def stream(self, request: ModelRequest, *, deadline: float) -> Iterator[ModelEvent]:
        """The real model's stream."""
        return self._services.model.stream(request, deadline=deadline)
