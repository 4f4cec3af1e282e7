"""The one start-up: settings -> logging -> secrets -> required settings -> agents -> services.

Lambda (:mod:`handlers.lambda_function`), the local server (:mod:`bot.slack.server`) and the
terminal (:mod:`bot.cli.chat`) all start here; they differ only in what they require and how they
log. Nothing slow is built here: the store, the model and the engine are built on first use by
:class:`~bot.container.Services` (or ahead of need by :meth:`~bot.container.Services.warm`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

from bot.adapters.agent_files import load_registry
from bot.adapters.aws_secrets import resolve_secrets
from bot.adapters.policy_file import load_policy
from bot.container import Services
from bot.core.clock import SystemClock
from bot.errors import ConfigurationError
from bot.logging import configure_logging, get_logger
from bot.settings import Settings, SettingsError

if TYPE_CHECKING:
    from bot.core.policy import Policy
    from bot.core.ports import Clock
    from bot.core.registry import Registry

log = get_logger("bot.bootstrap")

SLACK_REQUIRED = ("slack_signing_secret", "slack_bot_token")


class MissingSettingsError(ConfigurationError):
    """Required settings have no value; ``missing`` names their environment variables."""

    def __init__(self, missing: Sequence[str]) -> None:
        super().__init__(f"missing settings: {', '.join(missing)}")
        self.missing = tuple(missing)


def bootstrap(
    *,
    required: Sequence[str] = (),
    settings: Settings | None = None,
    log_level: str | None = None,
    json_logs: bool | None = None,
    log_stream: TextIO | None = None,
    clock: Clock | None = None,
) -> Services:
    """Build the process's services.

    ``required``: setting names that must have a value (else :class:`MissingSettingsError`, after
    one log line naming them). ``json_logs`` None: JSON on Lambda or with ``LOG_FORMAT=json``.
    ``log_stream``: where log lines go (default: the current stdout).
    Raises :class:`~bot.settings.SettingsError` for a setting with a wrong value (after one log
    line naming each) and :class:`~bot.errors.ConfigurationError` for a secret that cannot be read.
    """
    settings = settings or _environment_settings(json_logs, log_level, log_stream)
    if json_logs is None:
        json_logs = settings.log_format == "json" or (settings.log_format == "auto" and settings.on_lambda)
    configure_logging(json=json_logs, level=log_level or settings.log_level, stream=log_stream)
    settings = resolve_secrets(settings)  # an unreadable secret: one log line naming it, then raises
    missing = settings.missing(*required)
    if missing:
        log.error("start_failed", missing=", ".join(missing))
        raise MissingSettingsError(missing)
    source = None
    if settings.agents_source:  # agent files from S3: read into a local copy, reloaded later
        from bot.agents_source import open_source

        clock = clock or SystemClock()
        source, settings = open_source(settings, clock)
    registry = load_registry(
        settings.agents_dir, settings.routing_path, settings.default_model, model_routes=settings.model_routes
    )
    for problem in registry.problems:
        log.warning("agent_problem", file=problem.file, line=problem.line, problem=problem.message)
    policy = _policy(settings, registry)
    log.info("started", agents=len(registry), stage=settings.stage, policy_rules=len(policy.agents))
    services = Services(settings, registry, clock=clock, policy=policy)
    if source is not None:
        services.agents_source = source
        if source.refusal is not None:  # the set in S3 was refused at this cold start
            services.metrics.agents_rejected(len(source.refusal.errors))
        if not settings.on_lambda:  # a long-running process looks on its own (Lambda: per lazy run)
            source.watch(services)
    return services


def _environment_settings(
    json_logs: bool | None, log_level: str | None, log_stream: TextIO | None
) -> Settings:
    """The environment's settings; wrong values are logged (variable and reason, never a secret)."""
    try:
        return Settings()
    except SettingsError as error:
        on_lambda = bool(os.environ.get("AWS_LAMBDA_FUNCTION_NAME"))
        json = on_lambda if json_logs is None else json_logs
        configure_logging(json=json, level=log_level or "INFO", stream=log_stream)
        log.error("start_failed", invalid="; ".join(error.problems))
        raise


def _policy(settings: Settings, registry: Registry) -> Policy:
    """The access and cost policy; a policy with errors stops the start (it never half-applies)."""

    def canonical(name: str) -> str | None:
        spec = registry.get(name)
        return spec.name if spec is not None else None

    policy, problems = load_policy(settings.policy_path, canonical)
    errors = [p for p in problems if p.severity == "error"]
    for problem in problems:
        log.log(
            logging.ERROR if problem.severity == "error" else logging.WARNING,
            "policy_problem",
            file=problem.file,
            line=problem.line,
            problem=problem.message,
        )
    if errors:
        first = errors[0]
        where = f"{first.file}:{first.line}" if first.line else first.file
        raise ConfigurationError(
            f"the policy file has {len(errors)} error(s), first at {where}: {first.message} "
            "(run `architect-bot agents validate`)"
        )
    return policy
