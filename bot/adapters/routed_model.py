"""The chat model with model routes: each model name answered by the endpoint its route names.

A request's model and fallbacks are taken in order and grouped by endpoint; each group goes to
that endpoint's :class:`~bot.adapters.openai_model.OpenAIChatModel` (streaming, tools, retries and
deadlines exactly as for OpenAI), with the names the route sends (``model``, else the normalised
name). A group whose every model is missing moves on to the next group, as a missing model moves
on to its fallback at one endpoint. Names no route matches go to the default model (OpenAI, or
``OPENAI_BASE_URL``). The routes are read at every request (they may change when the agent files
are reloaded); one client per endpoint and key is built on first use and kept (its connections
stay alive between answers).

Keys: ``api_key_env`` names an environment variable; ``api_key_secret`` a Secrets Manager secret
(read once per process by :func:`bot.adapters.aws_secrets.read_secret`). Neither: the endpoint
needs no key (a local gateway).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import replace

from bot.core.model_routes import ModelRoute, ModelRoutes
from bot.core.ports import ChatModel, ModelEvent, ModelRequest
from bot.errors import ConfigurationError, ModelNotFoundError
from bot.logging import get_logger

log = get_logger(__name__)

NO_KEY = "no-key-set"  # the SDK needs a key; an endpoint without one ignores it

ClientFactory = Callable[[str, str], ChatModel]
"""Builds the model client of one endpoint: ``(base_url, api_key) -> ChatModel``."""


def route_key(route: ModelRoute, *, region: str | None = None) -> str:
    """The key a route sends: from its environment variable or its secret; NO_KEY without either."""
    if route.api_key_env:
        value = os.environ.get(route.api_key_env, "")
        if not value:
            raise ConfigurationError(
                f"model route {route.pattern!r}: the environment variable {route.api_key_env} "
                "(api_key_env) is not set"
            )
        return value
    if route.api_key_secret:
        from bot.adapters.aws_secrets import read_secret

        return read_secret(route.api_key_secret, region=region)
    return NO_KEY


class RoutedChatModel:
    """:class:`~bot.core.ports.ChatModel` that sends routed model names to their own endpoints."""

    def __init__(
        self,
        default: ChatModel,
        routes: Callable[[], ModelRoutes],
        factory: ClientFactory,
        *,
        region: str | None = None,
    ) -> None:
        self.default = default
        self._routes = routes
        self._factory = factory
        self._region = region
        self._clients: dict[tuple[str, str], ChatModel] = {}
        self._lock = threading.Lock()

    def stream(self, request: ModelRequest, *, deadline: float) -> Iterator[ModelEvent]:
        """The request's models, endpoint by endpoint, until one answers (see the module doc)."""
        groups = self._groups(request)
        for index, (client, names) in enumerate(groups):
            sub = replace(request, model=names[0], fallback_models=tuple(names[1:]))
            try:
                yield from client.stream(sub, deadline=deadline)
                return
            except ModelNotFoundError:
                if index == len(groups) - 1:
                    raise
                log.warning(
                    "model_route_missing", models=", ".join(names), groups_left=len(groups) - index - 1
                )

    def _groups(self, request: ModelRequest) -> list[tuple[ChatModel, list[str]]]:
        """(client, names sent) per run of consecutive models that go to the same endpoint."""
        routes = self._routes()
        groups: list[tuple[ChatModel, list[str]]] = []
        last: object = None
        for model in (request.model, *request.fallback_models):
            route = routes.match(model) if routes else None
            client = self.default if route is None else self._client(route)
            name = model if route is None else route.sent_name(model)
            if groups and client is last:
                groups[-1][1].append(name)
            else:
                groups.append((client, [name]))
            last = client
        return groups

    def _client(self, route: ModelRoute) -> ChatModel:
        key = route_key(route, region=self._region)
        with self._lock:
            client = self._clients.get((route.base_url, key))
            if client is None:
                client = self._factory(route.base_url, key)
                self._clients[(route.base_url, key)] = client
                log.info("model_route_client", route=route.pattern, base_url=route.base_url)
            return client

    def reconnect(self) -> None:
        """Fresh connections for every endpoint (after a SnapStart restore)."""
        with self._lock:
            clients = [self.default, *self._clients.values()]
        for client in clients:
            reset = getattr(client, "reconnect", None)
            if callable(reset):
                reset()

    def close(self) -> None:
        """Close every endpoint's connections."""
        with self._lock:
            clients = [self.default, *self._clients.values()]
        for client in clients:
            close = getattr(client, "close", None)
            if callable(close):
                close()
