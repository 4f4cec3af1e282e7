"""Model routes: model names from agent files sent to OpenAI-compatible endpoints other than OpenAI.

``MODEL_ROUTES`` (JSON in the environment) or ``model-routes.yaml`` beside the agent files maps
normalised model names (:func:`bot.core.model_names.normalize`; ``Claude Sonnet 4.5`` ->
``claude-sonnet-4.5``), with ``*`` / ``?`` globs, to an endpoint::

    claude-*:
      base_url: https://gateway.example/v1
      api_key_env: GATEWAY_KEY            # or api_key_secret: <Secrets Manager ARN>
      model: anthropic/claude-sonnet-4.5  # optional: default the normalised name

The first pattern that matches (in file order) wins. An agent whose model matches a route is
answered through that endpoint; a name that matches nothing keeps the rules of
:mod:`bot.core.model_names` (other vendors' names -> ``DEFAULT_MODEL``). Pure: parsing and matching
only; the adapter (:mod:`bot.adapters.routed_model`) holds the clients and the keys.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from bot.core.agents import Problem

ROUTES_FILE = "model-routes.yaml"
"""The routes file looked for beside the agent files (when ``MODEL_ROUTES`` is not set)."""

_KEYS = frozenset({"base_url", "api_key_env", "api_key_secret", "model"})
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True, slots=True)
class ModelRoute:
    """One route: a name pattern and the endpoint that answers the names it matches."""

    pattern: str
    base_url: str
    model: str | None = None
    api_key_env: str | None = None
    api_key_secret: str | None = None

    def sent_name(self, normalized: str) -> str:
        """The model name sent to the endpoint for ``normalized``."""
        return self.model or normalized

    def matches(self, normalized: str) -> bool:
        """True when ``normalized`` (a normalised model name) matches this route's pattern."""
        return fnmatch.fnmatchcase(normalized, self.pattern)


@dataclass(frozen=True, slots=True)
class ModelRoutes:
    """Every route, in order; empty when none is configured."""

    routes: tuple[ModelRoute, ...] = ()
    source: str = ""

    def match(self, normalized: str) -> ModelRoute | None:
        """The first route whose pattern matches ``normalized``, if any."""
        return next((route for route in self.routes if route.matches(normalized)), None)

    def routed(self, normalized: str) -> bool:
        """True when some route answers ``normalized``."""
        return self.match(normalized) is not None

    def describe(self, model: str, default_endpoint: str | None = None) -> str:
        """Where ``model`` really goes, for people: ``anthropic/x via https://gw/v1 (route claude-*)``;
        an unrouted model is shown as is, or ``via default_endpoint`` when that is given."""
        route = self.match(model)
        if route is None:
            return f"{model} via {default_endpoint}" if default_endpoint else model
        return f"{route.sent_name(model)} via {route.base_url} (route {route.pattern})"

    def __bool__(self) -> bool:
        return bool(self.routes)

    def __len__(self) -> int:
        return len(self.routes)


def parse_routes(text: str | bytes, source: str) -> tuple[ModelRoutes, list[Problem]]:
    """Routes from JSON or YAML text (JSON is YAML); every defect is a problem, never an exception.

    A route with an error is left out; an unreadable document gives no routes and one error.
    """
    try:
        decoded = text.decode("utf-8-sig") if isinstance(text, bytes) else text
        data: Any = json.loads(decoded) if decoded.lstrip().startswith("{") else yaml.safe_load(decoded)
    except (UnicodeDecodeError, ValueError, yaml.YAMLError) as exc:
        reason = type(exc).__name__
        return ModelRoutes(source=source), [
            Problem(file=source, message=f"model routes unreadable ({reason})")
        ]
    if data is None:
        return ModelRoutes(source=source), []
    if not isinstance(data, Mapping):
        message = "model routes must be a mapping of name pattern -> {base_url, api_key_env, model}"
        return ModelRoutes(source=source), [Problem(file=source, message=message)]
    routes: list[ModelRoute] = []
    problems: list[Problem] = []
    for pattern, entry in data.items():
        route, errors = _route(str(pattern), entry)
        problems.extend(Problem(file=source, message=f"route {str(pattern)!r}: {e}") for e in errors)
        if route is not None:
            routes.append(route)
    return ModelRoutes(routes=tuple(routes), source=source), problems


def _route(pattern: str, entry: object) -> tuple[ModelRoute | None, list[str]]:
    """One route and what is wrong with it (an entry with errors is left out)."""
    if not isinstance(entry, Mapping):
        return None, ["must be a mapping with base_url and api_key_env or api_key_secret: ignored"]
    errors = [f"unknown key {str(key)!r}" for key in entry if key not in _KEYS]
    values = {key: entry.get(key) for key in _KEYS}
    for key, value in values.items():
        if value is not None and (not isinstance(value, str) or not value.strip()):
            errors.append(f"{key} must be a non-empty string")
    base_url = str(values["base_url"] or "").strip()
    if not re.match(r"^https?://[^\s/]+", base_url):
        errors.append("base_url must be an http(s) URL (e.g. https://gateway.example/v1)")
    env = values["api_key_env"]
    if isinstance(env, str) and not _ENV_NAME.match(env.strip()):
        errors.append(f"api_key_env {env!r} is not an environment variable name")
    if errors:
        return None, [*errors[:-1], errors[-1] + ": ignored"]
    normalized = re.sub(r"\s+", "-", pattern.strip().lower())
    return (
        ModelRoute(
            pattern=normalized,
            base_url=base_url.rstrip("/"),
            model=_text(values["model"]),
            api_key_env=_text(env),
            api_key_secret=_text(values["api_key_secret"]),
        ),
        [],
    )


def _text(value: object) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None
