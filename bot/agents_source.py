"""Agent files from S3 without a redeploy: the first load at start-up, then a refresh at most every
``AGENTS_REFRESH_S`` (default 60) seconds, never on the Slack ack path.

Wiring only (the S3 reader is :mod:`bot.adapters.s3_agents`, the rules :mod:`bot.core.agent_refresh`).
On Lambda the refresh runs at the start of a lazy invocation (the slow half of a request, after
Slack has its ack); each container lists the prefix at most once per interval and downloads only
changed files. A changed set is loaded from its own folder and checked as ``agents validate``
checks it: a valid set is used from the next request on; an invalid one is refused whole (the
last good set keeps answering), logged, counted (``AgentsRejected``) and shown to the policy's
admins on App Home with its errors. A refresh that cannot reach S3 keeps the set in use and tries
again after the next interval.

A new container does the same with the set it finds at its cold start: a broken set is refused
(logged, counted, shown on App Home) and the container serves the last good set instead, the one
the bot last accepted, kept in S3 beside the files (:class:`~bot.adapters.s3_agents.LastGood`:
shared by every container, read only when needed, written on the slow path after a set is
accepted); when none was ever kept, the packaged ``agents/``. It never serves a refused set.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Literal, Protocol

from bot.adapters.agent_files import load_registry
from bot.adapters.policy_file import load_policy
from bot.core.agent_refresh import RefreshSchedule, Refusal, refusal_errors
from bot.logging import get_logger

if TYPE_CHECKING:
    from bot.adapters.s3_agents import AgentMirror, LastGood, Snapshot
    from bot.core.agents import Problem
    from bot.core.policy import Policy
    from bot.core.ports import Clock
    from bot.core.registry import Registry
    from bot.metrics import Metrics
    from bot.settings import Settings


class Services(Protocol):
    """What a refresh needs of the process's services (:class:`bot.container.Services`)."""

    settings: Settings
    metrics: Metrics
    agents_source: AgentsSource | None

    def use_agents(self, registry: Registry, policy: Policy) -> None:
        """Put another set in use from the next request on."""


log = get_logger("bot.agents_source")

Outcome = Literal["not_due", "unchanged", "applied", "rejected", "failed"]


@dataclass(frozen=True, slots=True)
class AgentSet:
    """One loaded set: the agents (with routing and model routes), the policy, every problem."""

    registry: Registry
    policy: Policy
    problems: tuple[Problem, ...]


def load_set(folder: Path, settings: Settings) -> AgentSet:
    """The agent files, routing, model routes and policy in ``folder``, as ``agents validate`` reads them."""
    registry = load_registry(
        folder, folder / "routing.yaml", settings.default_model, model_routes=settings.model_routes
    )

    def canonical(name: str) -> str | None:
        spec = registry.get(name)
        return spec.name if spec is not None else None

    policy, policy_problems = load_policy(folder / "policy.yaml", canonical)
    return AgentSet(registry, policy, (*registry.problems, *policy_problems))


class AgentsSource:
    """The S3 copy of the agent files, and when and how a changed set replaces the one in use."""

    def __init__(
        self, mirror: AgentMirror, schedule: RefreshSchedule, clock: Clock, last_good: LastGood | None = None
    ) -> None:
        self.mirror = mirror
        self.schedule = schedule
        self.last_good = last_good
        self.refusal: Refusal | None = None
        self.unkept = False  # the set in use was accepted but is not yet kept as the last good one
        self._clock = clock
        self._stopped = threading.Event()

    @property
    def folder(self) -> Path:
        """The folder of the set in use."""
        assert self.mirror.current is not None
        return self.mirror.current.folder

    def refresh(self, services: Services) -> Outcome:
        """Look for a changed set if due; use it if valid, refuse it whole if not. Never raises."""
        self.keep()
        if not self.schedule.claim():
            return "not_due"
        started = time.perf_counter()
        calls = self.mirror.files.calls
        before = (calls.lists, calls.gets)
        try:
            outcome = self._refresh(services)
        except Exception as error:  # noqa: BLE001 - S3 down or slow: keep answering with the set in use
            log.warning("agents_refresh_failed", error_type=type(error).__name__, error=str(error)[:300])
            outcome = "failed"
        log.info(
            "agents_refresh",
            outcome=outcome,
            s3_lists=calls.lists - before[0],
            s3_gets=calls.gets - before[1],
            duration_ms=round((time.perf_counter() - started) * 1000, 1),
        )
        return outcome

    def watch(self, services: Services) -> None:
        """Refresh every interval on a daemon thread (a long-running process: serve, chat)."""

        def loop() -> None:
            self.keep()
            while not self._stopped.wait(self.schedule.interval_s):
                self.refresh(services)

        threading.Thread(target=loop, name="agents-refresh", daemon=True).start()

    def keep(self) -> None:
        """Keep the set in use as the last good one, once after it was accepted. Never raises."""
        if not self.unkept or self.last_good is None or self.mirror.current is None:
            return
        self.unkept = False
        try:
            self.last_good.save(self.mirror.current.folder)
        except Exception as error:  # noqa: BLE001 - kept at the next accepted set; serving goes on
            log.warning("agents_last_good_not_kept", error_type=type(error).__name__, error=str(error)[:300])
            return
        log.info("agents_last_good_kept", version=self.mirror.current.version)

    def refuse(self, snapshot: Snapshot, problems: tuple[Problem, ...], metrics: Metrics | None) -> bool:
        """Refuse ``snapshot`` if it has errors (logged, counted, kept for App Home); False if usable."""
        errors = refusal_errors(problems)
        if not errors:
            return False
        self.refusal = Refusal(version=f"v{snapshot.version}", at=self._clock.now(), errors=errors)
        if metrics is not None:  # a cold start counts once its services exist (bootstrap)
            metrics.agents_rejected(len(errors))
        first = errors[0]
        log.error(
            "agents_rejected",
            errors=len(errors),
            first=f"{first.file}:{first.line or ''} {first.message}"[:300],
            note="the last good set keeps answering",
        )
        return True

    def fallback(self, settings: Settings) -> Path | None:
        """At a cold start with a refused set: the last good set's folder, or None (the package's)."""
        folder = self.mirror.root / "last-good"
        try:
            restored = self.last_good is not None and self.last_good.restore(folder)
            usable = restored and not refusal_errors(load_set(folder, settings).problems)
        except Exception as error:  # noqa: BLE001 - unreadable: the packaged set is still a good one
            log.warning(
                "agents_last_good_unreadable", error_type=type(error).__name__, error=str(error)[:300]
            )
            usable = False
        log.warning("agents_last_good_served", source="s3" if usable else "package")
        return folder if usable else None

    def stop(self) -> None:
        """End the watching thread (tests)."""
        self._stopped.set()

    def _refresh(self, services: Services) -> Outcome:
        snapshot = self.mirror.sync()
        if snapshot is None:
            return "unchanged"
        loaded = load_set(snapshot.folder, services.settings)
        if self.refuse(snapshot, loaded.problems, services.metrics):
            self.mirror.discard(snapshot)
            return "rejected"
        self.mirror.use(snapshot)
        self.refusal = None
        self.unkept = True
        services.use_agents(loaded.registry, loaded.policy)
        self.keep()
        log.info("agents_reloaded", agents=len(loaded.registry), version=snapshot.version)
        return "applied"


def open_source(settings: Settings, clock: Clock) -> tuple[AgentsSource, Settings]:
    """The first load from S3 (at start-up); ``settings`` pointing at the set to serve.

    That is the set in S3 when ``agents validate`` would pass it; else it is refused as a refresh
    refuses one (``source.refusal``; bootstrap counts it) and the last good set kept in S3 serves,
    or the packaged ``agents/`` when none was kept. Raises :class:`~bot.errors.ConfigurationError`
    for a malformed ``AGENTS_SOURCE``; S3 errors propagate (a cold start without its agents must
    fail loudly).
    """
    from bot.adapters.s3_agents import AgentMirror, LastGood, S3AgentFiles

    files = S3AgentFiles(settings.agents_source, region=settings.aws_region)
    mirror = AgentMirror(files)
    snapshot = mirror.sync()
    assert snapshot is not None  # the first sync always makes a version
    mirror.use(snapshot)  # the broken set too: the next refresh compares with it, not re-counting it
    source = AgentsSource(mirror, RefreshSchedule(settings.agents_refresh_s, clock), clock, LastGood(files))
    log.info(
        "agents_from_s3", source=settings.agents_source, files=len(snapshot.etags), s3_gets=files.calls.gets
    )
    folder: Path | None = snapshot.folder
    if source.refuse(snapshot, load_set(snapshot.folder, settings).problems, metrics=None):
        folder = source.fallback(settings)
    else:
        source.unkept = True  # kept on the slow path (the first refresh step), never in the ack
    if folder is None:
        return source, settings  # the packaged agents/, as configured
    local = replace(settings, agents_dir=folder, routing_file=None, policy_file=None)
    return source, local


def refresh_agents(services: Services) -> Outcome | None:
    """The refresh step of a lazy invocation; None when the agents come from the package."""
    source = services.agents_source
    return source.refresh(services) if source is not None else None


def refusal_note(services: Services) -> str | None:
    """What App Home tells the policy's admins about a refused set (None when nothing was refused)."""
    source = services.agents_source
    refusal = source.refusal if source is not None else None
    if refusal is None:
        return None
    lines = "\n".join(f"• `{_plain(line)}`" for line in refusal.lines())
    return (
        f":warning: *Agent files refused* ({services.settings.agents_source}, "
        f"<!date^{int(refusal.at)}^{{date_short_pretty}} {{time}}|recently>): the last good set keeps "
        f"answering. Fix these and sync again (`architect-bot agents validate` shows the same):\n{lines}"
    )


def _plain(text: str) -> str:
    """Text safe inside Slack mrkdwn (no links, mentions or broken code spans)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("`", "'")
