"""The playground assembled: a workspace, its web server, and the real bot talking to it.

:class:`Playground` starts the page and Web API emulator on one local port, then the bot exactly as
``make run`` builds it (:func:`bot.bootstrap.bootstrap`, :func:`bot.slack.app.build_app`, served by
:class:`bot.slack.server.HttpServer` on a free local port) with three settings changed for the
session: ``SLACK_API_URL`` (the emulator), and a signing secret and bot token generated now. The
store is the same choice as ``make run`` (Redis with REDIS_URL, else in memory); the model comes
from ``OPENAI_API_KEY`` / ``OPENAI_BASE_URL``.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace

from bot.bootstrap import bootstrap
from bot.container import Services
from bot.core.ports import ModelEvent, ModelRequest
from bot.errors import ConfigurationError
from bot.logging import get_logger
from bot.playground.delivery import ACK_TIMEOUT_S, RETRY_DELAYS_S, Deliverer
from bot.playground.page import Notice, Page
from bot.playground.platform import Platform
from bot.playground.server import PlaygroundServer
from bot.playground.workspace import Workspace
from bot.settings import Secret, Settings
from bot.slack.app import build_app
from bot.slack.server import HttpServer

log = get_logger("bot.playground")

PEOPLE = (("U01ADA", "ada", "Ada"), ("U02GRACE", "grace", "Grace"), ("U03ALAN", "alan", "Alan"))
CHANNELS = (("C01DESIGN", "design", True), ("C02RANDOM", "random", False))  # (id, name, bot invited)
BOT_USER_ID = "UBOT"

MODEL_NOTICE = Notice(
    "No model is configured: agents cannot answer yet.",
    (
        "Set `OPENAI_API_KEY=sk-...` to use OpenAI, or `OPENAI_BASE_URL=http://127.0.0.1:11434/v1` "
        "(any OpenAI-compatible server; a local one needs no key), then start `make run` again.",
        "Everything else works without it: `/architect help`, unknown verbs, threads, people.",
    ),
)


NO_MODEL_ANSWER = (
    "No model is configured for this playground, so I cannot answer yet. Stop `make run`, set "
    "`OPENAI_API_KEY=sk-...` (OpenAI) or `OPENAI_BASE_URL=http://127.0.0.1:11434/v1` (any "
    "OpenAI-compatible server; a local one needs no key), and start `make run` again."
)


class NoModel:
    """The model when none is configured: every answer says what to set (a :class:`ChatModel`)."""

    def stream(self, request: ModelRequest, *, deadline: float) -> Iterator[ModelEvent]:
        """Refuse with what to set."""
        raise ConfigurationError("no model configured in the playground", user_message=NO_MODEL_ANSWER)


@dataclass(frozen=True)
class Session:
    """The secrets generated for one playground session (never logged)."""

    signing_secret: str
    bot_token: str

    @classmethod
    def new(cls) -> Session:
        """Fresh random values, in Slack's formats."""
        return cls(secrets.token_hex(16), f"xoxb-playground-{secrets.token_hex(12)}")


def model_configured(settings: Settings) -> bool:
    """True when the bot can reach a model (a key, or an OpenAI-compatible server's URL)."""
    return settings.openai_api_key is not None or bool(settings.openai_base_url)


class Playground:
    """A local Slack with the real bot in it. ``start()``, then open :attr:`url`; ``stop()`` at the end."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 3000,
        settings: Settings | None = None,
        ack_timeout_s: float = ACK_TIMEOUT_S,
        retry_delays_s: Sequence[float] = RETRY_DELAYS_S,
    ) -> None:
        self.session = Session.new()
        self.workspace = Workspace(
            bot_user_id=BOT_USER_ID, bot_token=self.session.bot_token, strict=True, team_domain="playground"
        )
        for user_id, name, real_name in PEOPLE:
            self.workspace.add_user(user_id, name, real_name)
        people = {user_id for user_id, _, _ in PEOPLE}
        for channel_id, name, invited in CHANNELS:
            self.workspace.add_channel(channel_id, name, people | ({BOT_USER_ID} if invited else set()))
        for user_id in sorted(people):
            self.workspace.add_dm(user_id)  # the app's Messages tab
        self._settings = settings
        self._host, self._port = host, port
        self.ack_timeout_s, self.retry_delays_s = ack_timeout_s, retry_delays_s
        self.page = Page(self.workspace)
        self.server = PlaygroundServer(self.workspace, self.page, host=host, port=port)
        self.services: Services | None = None
        self._bot_server: HttpServer | None = None
        self.platform: Platform | None = None

    @property
    def url(self) -> str:
        """The page's address."""
        return self.server.url

    def start(self) -> None:
        """Start the page and emulator, then the bot, then deliveries between them."""
        self.server.start()
        base = replace(
            self._settings or Settings(),
            slack_api_url=self.server.url + "/api/",
            slack_signing_secret=Secret(self.session.signing_secret),
            slack_bot_token=Secret(self.session.bot_token),
            slack_bot_user_id=BOT_USER_ID,
            slack_app_token=None,
        )
        services = bootstrap(settings=base)
        if not model_configured(services.settings):
            self.page.notice = MODEL_NOTICE
            # the agents say in the thread exactly what to set, not "the bot is misconfigured"
            services = Services(services.settings, services.registry, policy=services.policy, model=NoModel())
        services.warm()  # store, model and engine built now: the store choice is logged at start-up
        self.services = services
        bot_server = HttpServer(build_app(services), host="127.0.0.1", port=0)
        bot_server.start()
        self._bot_server = bot_server
        deliverer = Deliverer(
            bot_server.url + bot_server.path,
            self.session.signing_secret,
            ack_timeout_s=self.ack_timeout_s,
            retry_delays_s=self.retry_delays_s,
        )
        self.platform = Platform(self.workspace, deliverer, base_url=self.server.url)
        self.server.platform = self.platform
        self.platform.follow()
        log.info("playground_started", url=self.url, agents=len(services.registry))

    def stop(self) -> None:
        """Stop deliveries, the bot's server and the page."""
        if self.platform is not None:
            self.platform.stop()
        if self._bot_server is not None:
            self._bot_server.stop()
        self.server.stop()
