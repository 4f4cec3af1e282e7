"""The set of loaded agents: name resolution, verbs, routing, handoffs and models. Pure.

Built once from parsed specs (:func:`bot.core.agents.parse_agent`) and the routing configuration
(:func:`parse_routing`) by :meth:`Registry.build`; immutable afterwards. Rules (see ``docs/agents.md``):

* **Names** resolve case-insensitively: first by agent name, then by file stem.
* **Duplicate names** (case-insensitive): the file whose path sorts first wins; every other file with
  that name is left out, with a warning naming both files.
* **Verbs**: every agent has exactly one verb of its own (:meth:`Registry.verb_for`), the word typed
  after ``/architect`` in Slack and after ``architect-bot chat`` in the terminal. It is the name's
  *verb form* (:func:`verb_form`: ``SE: Security`` -> ``se-security``), or the file stem's when the
  name has no letters or digits to keep, or ``agent``. When two agents have the same verb form (or
  it is a reserved word such as ``help``), the agent whose name *is* that verb keeps it, else the
  file whose path sorts first; every other one gets ``<verb>-2``, ``<verb>-3``… (the first that is
  free, in path order), with a warning naming the verb to type. Routing adds extra verbs (aliases);
  it can never take a verb an agent has.
* **Handoffs** are offered only when their target resolves (by name, then stem). A handoff to a
  missing agent is an error and not offered; one to VS Code's built-in agents (``agent``, ``ask``,
  ``edit``, ``plan``) is a warning (the file is fine in VS Code) and not offered. A handoff to the
  agent itself is allowed: it is a "continue with this prompt" button in the same conversation.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from bot.core.agents import AgentSpec, Handoff, Problem, Severity
from bot.core.model_names import ModelChoice, resolve_model
from bot.core.model_routes import ModelRoutes

_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_NON_VERB = re.compile(r"[^a-z0-9._]+")
_VERB = re.compile(r"^[a-z0-9._-]+$")
_Lookup = Callable[[str], "AgentSpec | None"]


RESERVED_VERBS = frozenset({"help", "usage", "forget"})
"""Words after ``/architect`` that are the bot's own (``/architect help``, ``usage``, ``forget``):
never an agent's verb."""

VSCODE_BUILTIN_AGENTS = frozenset({"agent", "ask", "edit", "plan"})
"""VS Code's built-in agents: a handoff to one is fine in VS Code; this bot does not have them."""


def verb_form(name: str) -> str:
    """A name as a typeable word: ``SE: Security`` -> ``se-security``; ``''`` if nothing is left.

    Lower case; accents dropped (``Café`` -> ``cafe``); ``++`` reads as ``pp`` and ``#`` as
    ``sharp`` so that ``C++ Expert`` and ``C# Expert`` differ; every run of other characters than
    ``a-z``, ``0-9``, ``.`` and ``_`` becomes one ``-``; no ``-`` or ``.`` at either end.
    """
    text = unicodedata.normalize("NFKD", name.casefold())
    text = "".join(ch for ch in text if not unicodedata.combining(ch))
    text = text.replace("++", "pp").replace("#", "sharp")
    return _NON_VERB.sub("-", text).strip("-.")


def base_verb(spec: AgentSpec) -> str:
    """The verb an agent asks for: its name's verb form, else its file stem's, else ``agent``."""
    return verb_form(spec.name) or verb_form(spec.stem) or "agent"


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
    _verb_of: Mapping[str, str]
    _verbs_of: Mapping[str, tuple[str, ...]]
    _handoffs: Mapping[str, tuple[ResolvedHandoff, ...]]
    _models: Mapping[str, ModelChoice]
    _default_agent: AgentSpec | None
    problems: tuple[Problem, ...]
    default_model: str
    routes: ModelRoutes = field(default_factory=ModelRoutes)

    @classmethod
    def build(
        cls,
        specs: Iterable[AgentSpec],
        problems: Iterable[Problem],
        routing: RoutingConfig,
        default_model: str,
        routes: ModelRoutes | None = None,
    ) -> Registry:
        """Resolve names, verbs, handoffs, routing and models; collect every problem found.

        ``routes``: model routes; a name one of them answers is a model the agent may use.
        """
        routes = routes or ModelRoutes()
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
        verb_of = {spec.name: verb for verb, spec in verbs.items()}
        _route(routing, verbs, lookup, found)
        aliases: dict[str, list[str]] = {}
        for verb, spec in verbs.items():
            if verb_of[spec.name] != verb:
                aliases.setdefault(spec.name, []).append(verb)
        default_agent = _default_agent(routing, lookup, found)
        handoffs = {spec.name: _resolve_handoffs(spec, lookup, found) for spec in agents}
        models = {spec.name: resolve_model(spec.models, default_model, routes.routed) for spec in agents}
        return cls(
            _agents=tuple(sorted(agents, key=lambda spec: (spec.name.casefold(), spec.file))),
            _by_name=MappingProxyType(by_name),
            _by_stem=MappingProxyType(by_stem),
            _verbs=MappingProxyType(verbs),
            _verb_of=MappingProxyType(verb_of),
            _verbs_of=MappingProxyType(
                {name: (verb, *sorted(aliases.get(name, ()))) for name, verb in verb_of.items()}
            ),
            _handoffs=MappingProxyType(handoffs),
            _models=MappingProxyType(models),
            _default_agent=default_agent,
            problems=tuple(sorted(found, key=lambda p: (p.file, p.line or 0))),
            default_model=default_model,
            routes=routes,
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

    def verb_for(self, name: str) -> str | None:
        """The one verb of an agent (see the module's rules): ``resolve_verb`` of it is that agent.

        Slack's help, ``agents list`` and the terminal all show this word. None for an unknown name.
        """
        spec = self.get(name)
        return self._verb_of.get(spec.name) if spec else None

    def verbs_for(self, name: str) -> tuple[str, ...]:
        """Every verb that reaches an agent: :meth:`verb_for` first, then routing aliases (sorted)."""
        spec = self.get(name)
        return self._verbs_of.get(spec.name, ()) if spec else ()

    def verbs(self) -> Mapping[str, AgentSpec]:
        """Every verb (agents' own and routing aliases) and the agent it reaches."""
        return self._verbs

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

    def model_shown(self, name: str, default_endpoint: str | None = None) -> str:
        """The model an agent really uses and where it is sent (``x via https://gw/v1 (route c*)``)."""
        return self.routes.describe(self.model_for(name).model, default_endpoint)

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
            f"duplicate agent name {spec.name!r}: {winner.file} has the same name and is served "
            f"(the path that sorts first wins), this file is left out; give one of them another "
            f"'name:' to serve both"
        )
        found.append(Problem(file=spec.file, line=1, message=message, severity="warning"))
    return list(winners.values())


def _agent_verbs(agents: list[AgentSpec], found: list[Problem]) -> dict[str, AgentSpec]:
    """One verb per agent (rules in the module docstring); a warning for each agent that got ``-N``."""
    bases = {spec.name: base_verb(spec) for spec in agents}
    verbs: dict[str, AgentSpec] = {}
    moved: list[AgentSpec] = []
    for spec in sorted(agents, key=lambda spec: (bases[spec.name] != spec.name.casefold(), spec.file)):
        base = bases[spec.name]
        if base in verbs or base in RESERVED_VERBS:
            moved.append(spec)
        else:
            verbs[base] = spec
    wanted = set(bases.values()) | RESERVED_VERBS  # a numbered verb never takes another's own verb
    for spec in sorted(moved, key=lambda spec: spec.file):
        base = bases[spec.name]
        number = 2
        while f"{base}-{number}" in verbs or f"{base}-{number}" in wanted:
            number += 1
        verb = f"{base}-{number}"
        verbs[verb] = spec
        owner = verbs.get(base)
        why = (
            f"{base!r} is the verb of {owner.name!r} ({owner.file})"
            if owner is not None
            else f"{base!r} is reserved for the bot"
        )
        message = f"agent {spec.name!r} is reached as '/architect {verb}': {why}"
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
        if verb in RESERVED_VERBS:
            message = f"verb {verb!r} is reserved for the bot ('/architect {verb}'): ignored"
            found.append(Problem(file=routing.file, line=line, message=message))
            continue
        target: AgentSpec | None = lookup(agent_name)
        if target is None:
            message = f"verb {verb!r} routes to {agent_name!r}, which is not a loaded agent: ignored"
            found.append(Problem(file=routing.file, line=line, message=message))
            continue
        owner = verbs.get(verb)
        if owner is not None and owner.name != target.name:
            message = (
                f"verb {verb!r} is the verb of agent {owner.name!r}, which keeps it "
                f"(agents' own verbs win over routing verbs): not routed to {target.name!r}"
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


def _resolve_handoffs(spec: AgentSpec, lookup: _Lookup, found: list[Problem]) -> tuple[ResolvedHandoff, ...]:
    resolved: list[ResolvedHandoff] = []
    for handoff in spec.handoffs:
        target: AgentSpec | None = lookup(handoff.agent)
        if target is None and handoff.agent.strip().casefold() in VSCODE_BUILTIN_AGENTS:
            message = (
                f"handoff {handoff.label!r} goes to VS Code's built-in {handoff.agent.strip()!r} agent, "
                "which this bot does not have: not offered here (it still works in VS Code)"
            )
            found.append(Problem(file=spec.file, line=handoff.line, message=message, severity="warning"))
            continue
        if target is None:
            message = f"handoff {handoff.label!r} targets {handoff.agent!r}, which is not a loaded agent "
            message += "(check the name): not offered"
            found.append(Problem(file=spec.file, line=handoff.line, message=message))
            continue
        resolved.append(ResolvedHandoff(handoff=handoff, target=target.name))
    return tuple(resolved)
