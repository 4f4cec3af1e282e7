"""The agent picker: a select menu of agents (in ``/architect`` help) that opens a modal (agent +
request), which then runs exactly like ``/architect <verb> <request>``. Pure Block Kit builders.

An agent is named by its verb (:meth:`~bot.core.registry.Registry.verb_for`) in option values, so
every agent, multi-word names included, is reachable. Up to 100 agents fit a ``static_select``;
beyond that the menus are ``external_select`` menus answered from the registry as the person types
(:func:`agent_options`). A chosen value is only a claim: the listener resolves it again and checks
that the agent may be started by people, and by this person in this channel.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bot.slack.blocks import escape_mrkdwn, truncate

if TYPE_CHECKING:
    from bot.core.agents import AgentSpec
    from bot.core.registry import Registry
    from bot.slack.blocks import Block

PICK_ACTION = "pick_agent"
ASK_CALLBACK = "ask_agent"
ASK_AGENT_BLOCK, ASK_AGENT_ACTION = "agent_block", "agent"
ASK_TEXT_BLOCK, ASK_TEXT_ACTION = "request_block", "request"
STATIC_OPTIONS_LIMIT = 100  # Slack: options in a static_select (and in an options response)
OPTION_TEXT_LIMIT = 75
REQUEST_LIMIT = 3_000  # plain_text_input max_length
COMMAND = "/architect"


def _option(registry: Registry, spec: AgentSpec) -> dict[str, Any]:
    verb = registry.verb_for(spec.name) or spec.name
    return {
        "text": {"type": "plain_text", "text": truncate(spec.name, OPTION_TEXT_LIMIT)},
        "value": truncate(verb, 150),
        "description": {"type": "plain_text", "text": truncate(f"{COMMAND} {verb}", OPTION_TEXT_LIMIT)},
    }


def agent_options(registry: Registry, query: str = "") -> list[dict[str, Any]]:
    """People's agents matching ``query`` (name, verb or description), at most 100, as options."""
    wanted = query.strip().casefold()
    found = [
        spec
        for spec in registry.user_invocable()
        if not wanted
        or wanted in spec.name.casefold()
        or wanted in (registry.verb_for(spec.name) or "")
        or wanted in (spec.description or "").casefold()
    ]
    return [_option(registry, spec) for spec in found[:STATIC_OPTIONS_LIMIT]]


def agent_select(
    registry: Registry,
    *,
    action_id: str,
    initial: AgentSpec | None = None,
    placeholder: str = "Pick an agent",
) -> dict[str, Any]:
    """A menu of people's agents: static up to 100, else searched as the person types."""
    many = len(registry.user_invocable()) > STATIC_OPTIONS_LIMIT
    element: dict[str, Any] = {
        "type": "external_select" if many else "static_select",
        "action_id": action_id,
        "placeholder": {"type": "plain_text", "text": placeholder},
    }
    if many:
        element["min_query_length"] = 0
    else:
        element["options"] = agent_options(registry)
    if initial is not None:
        element["initial_option"] = _option(registry, initial)
    return element


def picker_block(registry: Registry) -> Block | None:
    """The "Ask an agent…" menu under the help; None when no agent can be started by people."""
    if not registry.user_invocable():
        return None
    return {
        "type": "actions",
        "block_id": "picker",
        "elements": [agent_select(registry, action_id=PICK_ACTION, placeholder="Ask an agent…")],
    }


def ask_modal(registry: Registry, agent: AgentSpec, *, private_metadata: str) -> dict[str, Any]:
    """The modal that asks ``agent`` (changeable) to work on a request, like the slash command."""
    verb = registry.verb_for(agent.name) or agent.name
    hint = agent.argument_hint or "What should the agent work on?"
    about = escape_mrkdwn(truncate((agent.description or "").strip(), 300)) or "_no description_"
    return {
        "type": "modal",
        "callback_id": ASK_CALLBACK,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "Ask an agent"},
        "submit": {"type": "plain_text", "text": "Ask"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "input",
                "block_id": ASK_AGENT_BLOCK,
                "label": {"type": "plain_text", "text": "Agent"},
                "element": agent_select(registry, action_id=ASK_AGENT_ACTION, initial=agent),
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": truncate(f"*{escape_mrkdwn(agent.name)}*: {about}", 3_000),
                    }
                ],
            },
            {
                "type": "input",
                "block_id": ASK_TEXT_BLOCK,
                "label": {"type": "plain_text", "text": "Request"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": ASK_TEXT_ACTION,
                    "multiline": True,
                    "max_length": REQUEST_LIMIT,
                    "placeholder": {"type": "plain_text", "text": truncate(hint, 150)},
                },
            },
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": f"Same as typing `{COMMAND} {escape_mrkdwn(verb)} <request>` in the channel.",
                    }
                ],
            },
        ],
    }
