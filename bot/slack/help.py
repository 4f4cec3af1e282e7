"""Parsing ``/architect`` text and the help message: pure, no Slack calls."""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from typing import TYPE_CHECKING

from bot.core.registry import RESERVED_VERBS
from bot.core.text import shortlist
from bot.slack.blocks import SECTION_TEXT_LIMIT, escape_mrkdwn, truncate
from bot.slack.picker import picker_block

if TYPE_CHECKING:
    from bot.core.agents import AgentSpec
    from bot.core.registry import Registry
    from bot.core.tools import ToolConfig
    from bot.slack.blocks import Block

HELP_WORDS = frozenset({"", "?", "-h", "--help", "help"})
USAGE_WORD, FORGET_WORD = "usage", "forget"  # with "help": the registry's RESERVED_VERBS
COMMAND = "/architect"
VERBS_SHOWN = 30


@dataclass(frozen=True, slots=True)
class ParsedCommand:
    """What ``/architect <verb> <text>`` asks for.

    Exactly one of ``agent``/``error``/``help``/``usage``/``forget``/``form`` is set; ``text`` is the
    rest (the request for an agent, the thread link for ``forget``). ``form``: ``/architect`` alone,
    which opens the form to pick an agent and write the request (help when it cannot open).
    """

    help: bool = False
    form: bool = False
    agent: AgentSpec | None = None
    text: str = ""
    error: str | None = None
    usage: bool = False
    forget: bool = False


def parse_command(text: str, registry: Registry) -> ParsedCommand:
    """Resolve the verb against the registry; say precisely what is wrong otherwise."""
    stripped = (text or "").strip()
    if not stripped:
        return ParsedCommand(form=True)
    verb, _, rest = stripped.partition(" ")
    if verb.lower() in HELP_WORDS | RESERVED_VERBS:
        return _bot_word(verb.lower(), rest.strip())
    agent = registry.resolve_verb(verb)
    if agent is None:
        return ParsedCommand(
            error=(
                f"I don't know `{escape_mrkdwn(truncate(verb, 60))}`.{_did_you_mean(verb, registry)} "
                f"Verbs that work: {_verb_list(registry)}. Try `{COMMAND} help`."
            )
        )
    if not agent.user_invocable:
        return ParsedCommand(
            error=f"*{escape_mrkdwn(agent.name)}* can only be used by other agents. Try `{COMMAND} help`."
        )
    body = rest.strip()
    if not body:
        hint = f" {agent.argument_hint}" if agent.argument_hint else " <text>"
        return ParsedCommand(
            error=(
                f"`{COMMAND} {escape_mrkdwn(verb)}` needs something to work on, e.g. "
                f"`{COMMAND} {escape_mrkdwn(verb)}{escape_mrkdwn(hint)}`."
            )
        )
    return ParsedCommand(agent=agent, text=body)


def _bot_word(word: str, rest: str) -> ParsedCommand:
    """``help``, ``usage`` or ``forget <link>``: the bot's own words."""
    if word == USAGE_WORD:
        return ParsedCommand(usage=True)
    if word != FORGET_WORD:
        return ParsedCommand(help=True)
    if not rest:
        return ParsedCommand(
            error=(
                f"`{COMMAND} forget` needs the link of a message in the thread (⋮ on the message → "
                "*Copy link*), or use *Forget this thread* from the message's ⋮ menu."
            )
        )
    return ParsedCommand(forget=True, text=rest)


def _people_verbs(registry: Registry) -> list[str]:
    return sorted({verb for spec in registry.user_invocable() for verb in registry.verbs_for(spec.name)})


def _verb_list(registry: Registry) -> str:
    verbs = [f"`{escape_mrkdwn(v)}`" for v in _people_verbs(registry)]
    return shortlist(verbs, VERBS_SHOWN) if verbs else "(no agents are loaded)"


def _did_you_mean(word: str, registry: Registry) -> str:
    close = difflib.get_close_matches(word.casefold(), _people_verbs(registry), n=3, cutoff=0.6)
    return f" Did you mean {' or '.join(f'`{escape_mrkdwn(v)}`' for v in close)}?" if close else ""


def tools_line(spec: AgentSpec, tools: ToolConfig) -> str:
    """An agent's tools here: those that run, and those its file names that are "not available here"."""
    from bot.core.tools import plan_tools  # the tool rules: not on a cold start's first ack

    plan = plan_tools(spec, tools)
    parts: list[str] = []
    if not plan.empty:
        parts.append("tools: " + shortlist([f"`{escape_mrkdwn(n)}`" for n in plan.available()], 6))
    if plan.unavailable:
        missing = [f"`{escape_mrkdwn(item.name)}`" for item in plan.unavailable]
        parts.append("not available here: " + shortlist(missing, 6))
    return f" _({'; '.join(parts)})_" if parts else ""


def _default_name(registry: Registry) -> str:
    """`` (*Director*)`` after "the default agent", or nothing when no agent answers a mention."""
    default = registry.default_agent
    return f" (*{escape_mrkdwn(default.name)}*)" if default is not None else ""


def help_blocks(registry: Registry, tools: ToolConfig | None = None) -> tuple[str, list[Block]]:
    """An ephemeral help message: usage, then each agent with its verbs, description and tools."""
    usage = (
        f"*Usage*\n• `{COMMAND} <verb> <text>`: an agent answers in a thread of a new message here "
        "(or pick one from the menu below).\n"
        f"• Reply in that thread to continue; buttons under an answer hand the thread to another agent.\n"
        f"• `@architect-bot <text>` starts a thread with the default agent{_default_name(registry)}."
        f"\n• `{COMMAND} usage`: your tokens and cost today and this month."
        f"\n• `{COMMAND} forget <message link>` (or *Forget this thread* in a message's ⋮ menu, or "
        "`@architect-bot forget` in the thread): the bot deletes its messages and its memory of a "
        "thread you started."
    )
    lines: list[str] = []
    for spec in registry.user_invocable():
        verb, *aliases = registry.verbs_for(spec.name)
        also = f" (also {', '.join(f'`{escape_mrkdwn(a)}`' for a in aliases)})" if aliases else ""
        desc = (
            escape_mrkdwn(truncate(spec.description.strip(), 200)) if spec.description else "_no description_"
        )
        extra = tools_line(spec, tools) if tools is not None else ""
        if registry.routes:  # with model routes, say which model and endpoint really answer
            extra += f" · model {escape_mrkdwn(registry.model_shown(spec.name))}"
        lines.append(
            f"• `{COMMAND} {escape_mrkdwn(verb)}`{also}: *{escape_mrkdwn(spec.name)}*, {desc}{extra}"
        )
    blocks: list[Block] = [{"type": "section", "text": {"type": "mrkdwn", "text": usage}}]
    picker = picker_block(registry)
    if picker is not None:  # pick an agent from a menu, then write the request in a modal
        blocks.append(picker)
    if not lines:
        lines = ["_No agents are loaded. Ask the bot's operators to check the agents folder._"]
    chunk = "*Agents*"
    for line in lines:
        if len(chunk) + 1 + len(line) > SECTION_TEXT_LIMIT:
            blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": chunk}})
            chunk = ""
            if len(blocks) >= 48:
                chunk = "_…and more agents than fit here._"
                break
        chunk = f"{chunk}\n{line}" if chunk else line
    blocks.append(
        {"type": "section", "text": {"type": "mrkdwn", "text": truncate(chunk, SECTION_TEXT_LIMIT)}}
    )
    return "architect-bot help: agents and verbs", blocks
