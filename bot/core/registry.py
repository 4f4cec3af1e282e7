"""The set of loaded agents: name resolution, verbs, routing, handoffs and models. Pure.

Built once from parsed specs (:func:`bot.core.agents.parse_agent`) and the routing configuration
(:func:`parse_routing`) by :meth:`Registry.build`; immutable afterwards. Rules (see ``docs/agents.md``):

* **Names** resolve case-insensitively: first by agent name, then by file stem.
* **Duplicate names** (case-insensitive): the file whose path sorts first wins; every other file with
  that name is left out, with a warning naming both files.
* **Verbs**: every agent is reachable by its *verb form*, the name lower-cased with each run of
  characters other than letters, digits, ``.`` and ``_`` replaced by ``-`` (``SE: Security`` ->
  ``se-security``; ``++`` -> ``pp``, ``#`` -> ``sharp``). Routing adds more verbs. An agent's own
  verb always wins over a routing verb;
  when two agents have the same verb form, the agent whose name *is* that verb wins, else the path
  that sorts first; the loser keeps its name (``get``) but no verb, with a warning.
* **Handoffs** are offered only when their target resolves (by name, then stem). A handoff to a
  missing agent (including VS Code's built-in ``agent``) is reported and not offered. A handoff to
  the agent itself is allowed: it is a "continue with this prompt" button in the same conversation.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from bot.core.agents import AgentSpec, Handoff, Problem, Severity
from bot.core.model_names import ModelChoice, resolve_model

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NON_VERB = re.compile(r"[^a-z0-9._]+")
_VERB = re.compile(r"^[a-z0-9._-]+$")
_Lookup = Callable[[str], "AgentSpec | None"]


def verb_form(name: str) -> str:
    """The verb that reaches an agent: ``SE: Security`` -> ``se-security``; ``''`` if none is possible.

    ``++`` reads as ``pp`` and ``#`` as ``sharp`` so that ``C++ Expert`` and ``C# Expert`` differ.
    """
    text = name.casefold().replace("++", "pp").replace("#", "sharp")
    return _NON_VERB.sub("-", text).strip("-.")


@dataclass(frozen=True, slots=True)
class RoutingConfig:
    """The routing file: extra slash-command verbs and the agent that answers a plain @mention."""

    verbs: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    default_agent: str | None = None
    file: str = "routing.yaml"
    line_of: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class ResolvedHandoff:
    """A handoff whose target is a loaded agent; ``target`` is that agent's canonical name."""

    handoff: Handoff
    target: str


def parse_routing(text: str | bytes, path: str) -> tuple[RoutingConfig, list[Problem]]:
    """Read the routing file's content. Never raises; a bad file gives the defaults plus problems."""
    problems: list[Problem] = []

    def problem(message: str, line: int | None = None, severity: Severity = "error") -> None:
        problems.append(Problem(file=path, line=line, message=message, severity=severity))

    decoded, data = _load_routing_yaml(text, problem)
    if decoded is None:
        return RoutingConfig(file=path), problems
    lines = _top_lines(decoded)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problem("routing file must be a mapping with 'verbs' and 'default_agent': ignored", 1)
        return RoutingConfig(file=path), problems
    for key in data:
        if key not in ("verbs", "default_agent"):
            problem(f"unknown key {str(key)!r} in routing file: ignored", lines.get(str(key)), "warning")
    raw_verbs = data.get("verbs") or {}
    if not isinstance(raw_verbs, dict):
        problem("'verbs' must be a mapping of verb: agent name: ignored", lines.get("verbs"))
        raw_verbs = {}
    verbs: dict[str, str] = {}
    for verb, agent in raw_verbs.items():
        line = lines.get(str(verb))
        word = str(verb).strip().casefold()
        if not isinstance(agent, str) or not agent.strip():
            problem(f"verb {word!r} must name an agent: ignored", line)
        elif not _VERB.match(word):
            problem(f"verb {str(verb)!r} is not one word of a-z, 0-9, '.', '_', '-': ignored", line)
        else:
            verbs[word] = agent.strip()
    default = data.get("default_agent")
    if default is not None and (not isinstance(default, str) or not default.strip()):
        problem("'default_agent' must be an agent name: ignored", lines.get("default_agent"))
        default = None
    config = RoutingConfig(
        verbs=MappingProxyType(verbs),
        default_agent=default.strip() if isinstance(default, str) else None,
        file=path,
        line_of=MappingProxyType(lines),
    )
    return config, problems


def _load_routing_yaml(text: str | bytes, problem: Callable[..., None]) -> tuple[str | None, Any]:
    """(decoded text, parsed YAML); (None, None) after reporting when it cannot be read."""
    try:
        decoded = text.decode("utf-8-sig") if isinstance(text, bytes) else text
        return decoded, yaml.load(decoded, Loader=_Loader)  # noqa: S506 - a SafeLoader (C or Python)
    except UnicodeDecodeError:
        problem("routing file is not UTF-8 text: ignored")
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem(f"routing file is not valid YAML ({exc.problem}): ignored", mark.line + 1 if mark else None)
    except Exception as exc:  # noqa: BLE001 - "never raise": any other YAML failure is a report
        problem(f"routing file could not be read ({type(exc).__name__}): ignored")
    return None, None


def _top_lines(text: str) -> dict[str, int]:
    """Line of every ``key:`` (any indentation; first occurrence), to point problems at lines."""
    lines: dict[str, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        match = re.match(r"""^\s*(['"]?)([^'"#:\s][^'":#]*?)\1\s*:""", raw)
        if match:
            lines.setdefault(match.group(2).strip().casefold(), number)
            lines.setdefault(match.group(2).strip(), number)
    return lines


@dataclass(frozen=True, slots=True)
class Registry:
    """All loaded agents, immutable. Build it with :meth:`build`."""

    _agents: tuple[AgentSpec, ...]
    _by_name: Mapping[str, AgentSpec]
    _by_stem: Mapping[str, AgentSpec]
    _verbs: Mapping[str, AgentSpec]
    _verbs_of: Mapping[str, tuple[str, ...]]
    _handoffs: Mapping[str, tuple[ResolvedHandoff, ...]]
    _models: Mapping[str, ModelChoice]
    _default_agent: AgentSpec | None
    problems: tuple[Problem, ...]
    default_model: str

    @classmethod
    def build(
        cls,
        specs: Iterable[AgentSpec],
        problems: Iterable[Problem],
        routing: RoutingConfig,
        default_model: str,
    ) -> Registry:
        """Resolve names, verbs, handoffs, routing and models; collect every problem found."""
        found: list[Problem] = list(problems)
        agents = _dedupe(specs, found)
        by_name = {spec.name.casefold(): spec for spec in agents}
        by_stem: dict[str, AgentSpec] = {}
        for spec in agents:
            by_stem.setdefault(spec.stem.casefold(), spec)

        def lookup(name: str) -> AgentSpec | None:
            key = name.strip().casefold()
            return by_name.get(key) or by_stem.get(key)

        verbs = _agent_verbs(agents, found)
        _route(routing, verbs, lookup, found)
        verbs_of: dict[str, list[str]] = {}
        for verb, spec in verbs.items():
            verbs_of.setdefault(spec.name, []).append(verb)
        default_agent = _default_agent(routing, lookup, found)
        handoffs = {spec.name: _resolve_handoffs(spec, lookup, found) for spec in agents}
        models = {spec.name: resolve_model(spec.models, default_model) for spec in agents}
        return cls(
            _agents=tuple(sorted(agents, key=lambda spec: (spec.name.casefold(), spec.file))),
            _by_name=MappingProxyType(by_name),
            _by_stem=MappingProxyType(by_stem),
            _verbs=MappingProxyType(verbs),
            _verbs_of=MappingProxyType({name: _verb_order(name, vs) for name, vs in verbs_of.items()}),
            _handoffs=MappingProxyType(handoffs),
            _models=MappingProxyType(models),
            _default_agent=default_agent,
            problems=tuple(sorted(found, key=lambda p: (p.file, p.line or 0))),
            default_model=default_model,
        )

    # --- lookups -------------------------------------------------------------------------------

    def get(self, name: str) -> AgentSpec | None:
        """The agent called ``name`` (any case), else the one whose file stem is ``name``."""
        key = name.strip().casefold()
        return self._by_name.get(key) or self._by_stem.get(key)

    def resolve_verb(self, word: str) -> AgentSpec | None:
        """The agent a slash-command word reaches: a verb (any case), its verb form, or a name/stem."""
        key = word.strip().casefold()
        return self._verbs.get(key) or self._verbs.get(verb_form(key)) or self.get(word)

    def verbs_for(self, name: str) -> tuple[str, ...]:
        """The verbs that reach an agent: its own verb form first, then routing verbs (sorted)."""
        spec = self.get(name)
        return self._verbs_of.get(spec.name, ()) if spec else ()

    @property
    def default_agent(self) -> AgentSpec | None:
        """The agent that answers a plain @mention (routing ``default_agent``), if any."""
        return self._default_agent

    def user_invocable(self) -> list[AgentSpec]:
        """Agents people may start directly, sorted by name (case-insensitive)."""
        return [spec for spec in self._agents if spec.user_invocable]

    def handoffs(self, agent_name: str) -> tuple[ResolvedHandoff, ...]:
        """The handoff buttons an agent offers (only targets that are loaded agents)."""
        spec = self.get(agent_name)
        return self._handoffs.get(spec.name, ()) if spec else ()

    def handoff_to(self, agent_name: str, target: str) -> ResolvedHandoff | None:
        """The handoff ``agent_name`` offers to ``target`` (any name or stem of it), if it offers one."""
        wanted = self.get(target)
        if wanted is None:
            return None
        return next((h for h in self.handoffs(agent_name) if h.target == wanted.name), None)

    def model_for(self, name: str) -> ModelChoice:
        """The OpenAI model (and fallbacks) for an agent; the default model for an unknown name."""
        spec = self.get(name)
        if spec is None:
            return ModelChoice(model=self.default_model, how=f"unknown agent -> default {self.default_model}")
        return self._models[spec.name]

    def __len__(self) -> int:
        return len(self._agents)

    def __iter__(self) -> Iterator[AgentSpec]:
        return iter(self._agents)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None


# --- build steps ---------------------------------------------------------------------------------


def _dedupe(specs: Iterable[AgentSpec], found: list[Problem]) -> list[AgentSpec]:
    """One agent per name (case-insensitive): the file whose path sorts first wins."""
    winners: dict[str, AgentSpec] = {}
    for spec in sorted(specs, key=lambda spec: spec.file):
        key = spec.name.casefold()
        winner = winners.get(key)
        if winner is None:
            winners[key] = spec
            continue
        message = (
            f"duplicate agent name {spec.name!r}: {winner.file} defines it too and is used "
            f"(the path that sorts first wins); this file is ignored"
        )
        found.append(Problem(file=spec.file, line=1, message=message, severity="warning"))
    return list(winners.values())


def _agent_verbs(agents: list[AgentSpec], found: list[Problem]) -> dict[str, AgentSpec]:
    """Each agent's verb form; on a clash, the agent whose name is the verb wins, then the path."""
    verbs: dict[str, AgentSpec] = {}
    ordered = sorted(agents, key=lambda spec: (verb_form(spec.name) != spec.name.casefold(), spec.file))
    for spec in ordered:
        verb = verb_form(spec.name)
        if not verb:
            continue
        owner = verbs.get(verb)
        if owner is None:
            verbs[verb] = spec
            continue
        message = (
            f"agent {spec.name!r} has the same verb {verb!r} as {owner.name!r} ({owner.file}), "
            f"which keeps it; use the full name to reach this agent"
        )
        found.append(Problem(file=spec.file, line=1, message=message, severity="warning"))
    return verbs


def _route(
    routing: RoutingConfig,
    verbs: dict[str, AgentSpec],
    lookup: _Lookup,
    found: list[Problem],
) -> None:
    """Add the routing file's verbs; an agent's own verb is never taken over."""
    for verb, agent_name in sorted(routing.verbs.items()):
        line = routing.line_of.get(verb)
        target: AgentSpec | None = lookup(agent_name)
        if target is None:
            message = f"verb {verb!r} routes to {agent_name!r}, which is not a loaded agent: ignored"
            found.append(Problem(file=routing.file, line=line, message=message))
            continue
        owner = verbs.get(verb)
        if owner is not None and owner.name != target.name:
            message = (
                f"verb {verb!r} is the name of agent {owner.name!r}, which keeps it "
                f"(agent names win over routing verbs): not routed to {target.name!r}"
            )
            found.append(Problem(file=routing.file, line=line, message=message))
            continue
        if not target.user_invocable:
            message = f"verb {verb!r} routes to {target.name!r}, which is not user-invocable (routed anyway)"
            found.append(Problem(file=routing.file, line=line, message=message, severity="warning"))
        verbs[verb] = target


def _default_agent(routing: RoutingConfig, lookup: _Lookup, found: list[Problem]) -> AgentSpec | None:
    if routing.default_agent is None:
        return None
    agent = lookup(routing.default_agent)
    line = routing.line_of.get("default_agent")
    if agent is None:
        message = f"default_agent {routing.default_agent!r} is not a loaded agent: "
        message += "no agent answers a plain @mention"
        found.append(Problem(file=routing.file, line=line, message=message))
    elif not agent.user_invocable:
        message = f"default_agent {agent.name!r} is not user-invocable (used anyway)"
        found.append(Problem(file=routing.file, line=line, message=message, severity="warning"))
    return agent


def _verb_order(name: str, verbs: list[str]) -> tuple[str, ...]:
    own = verb_form(name)
    return tuple(sorted(verbs, key=lambda verb: (verb != own, verb)))


def _resolve_handoffs(spec: AgentSpec, lookup: _Lookup, found: list[Problem]) -> tuple[ResolvedHandoff, ...]:
    resolved: list[ResolvedHandoff] = []
    for handoff in spec.handoffs:
        target: AgentSpec | None = lookup(handoff.agent)
        if target is None:
            builtin = (
                " (VS Code's built-in agent, which this bot does not have)"
                if handoff.agent == "agent"
                else ""
            )
            message = f"handoff {handoff.label!r} targets {handoff.agent!r}{builtin}, "
            message += "not a loaded agent; not offered"
            found.append(Problem(file=spec.file, line=handoff.line, message=message))
            continue
        resolved.append(ResolvedHandoff(handoff=handoff, target=target.name))
    return tuple(resolved)
