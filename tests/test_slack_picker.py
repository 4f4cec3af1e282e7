"""The agent picker end to end: `/architect` (or `help`) offers a menu of agents; a choice opens a
modal; submitting it runs exactly like `/architect <verb> <text>`."""

from __future__ import annotations

import pytest

from bot.core.agents import AgentSpec
from bot.core.registry import Registry, RoutingConfig
from bot.slack.picker import (
    ASK_AGENT_ACTION,
    ASK_AGENT_BLOCK,
    ASK_TEXT_ACTION,
    ASK_TEXT_BLOCK,
    PICK_ACTION,
    agent_options,
    agent_select,
)
from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, USER, Bot
from tests.slack_ui import ack_json, choose, element, submit, suggest


def _values(verb: str, request: str) -> dict[str, dict[str, dict[str, object]]]:
    return {
        ASK_AGENT_BLOCK: {ASK_AGENT_ACTION: {"type": "static_select", "selected_option": {"value": verb}}},
        ASK_TEXT_BLOCK: {ASK_TEXT_ACTION: {"type": "plain_text_input", "value": request}},
    }


@pytest.mark.parametrize("text", ["help", "?"])
def test_help_offers_every_agent_in_a_menu_with_its_verb(slackbot: Bot, text: str) -> None:
    """`/architect help` lists the agents with the word to type, and a menu of the agents people can
    start."""
    blocks = ack_json(slackbot.command(text))["blocks"]
    menu = element(blocks, PICK_ACTION)
    assert menu["type"] == "static_select"
    names = {o["text"]["text"]: o["value"] for o in menu["options"]}
    assert names["backend-builder"] == "backend-builder"
    assert all(o["description"]["text"].startswith("/architect ") for o in menu["options"])
    assert "`/architect backend-builder`" in str(blocks)


def test_bare_command_opens_the_form_with_the_default_agent(slackbot: Bot) -> None:
    """`/architect` alone opens the form (as the README says): the default agent chosen, a request
    box, nothing shown in the channel; sending it answers in a thread like the command."""
    ack = slackbot.command("")
    assert ack["statusCode"] == 200
    assert ack_json(ack) == {}  # no help text: the form is what the person sees
    [opened] = slackbot.slack.views
    view = opened["view"]
    assert element(view["blocks"], ASK_AGENT_ACTION)["initial_option"]["value"] == "director"
    slackbot.openai.script(Stream(["Director here."]))
    submit(slackbot, view, _values("director", "plan the migration"))
    slackbot.lazy()
    [answer] = slackbot.answers(slackbot.root().ts)
    assert answer.markdown() == "Director here."


def test_bare_command_shows_help_when_the_form_cannot_open(slackbot: Bot) -> None:
    """When Slack refuses to open the form (an expired trigger), `/architect` alone shows the help."""
    slackbot.slack.fail("views.open", error="expired_trigger_id")
    blocks = ack_json(slackbot.command(""))["blocks"]
    assert element(blocks, PICK_ACTION)["type"] == "static_select"


def test_picking_an_agent_opens_a_modal_that_runs_like_the_command(slackbot: Bot) -> None:
    """Choose an agent, write the request, send: the request is posted in the channel and the
    agent answers in its thread, exactly as with the slash command."""
    blocks = ack_json(slackbot.command("help"))["blocks"]
    assert choose(slackbot, blocks, PICK_ACTION, "frontend-builder")["statusCode"] == 200
    [opened] = slackbot.slack.views
    view = opened["view"]
    assert element(view["blocks"], ASK_AGENT_ACTION)["initial_option"]["value"] == "frontend-builder"
    slackbot.openai.script(Stream(["Use a design system."]))
    ack = submit(slackbot, view, _values("frontend-builder", "review our component library"))
    assert ack["statusCode"] == 200
    assert ack_json(ack) == {}  # the modal closes
    slackbot.lazy()
    root = slackbot.root()
    assert "frontend-builder" in str(root.blocks)
    assert "review our component library" in str(root.blocks)
    [answer] = slackbot.answers(root.ts)
    assert answer.markdown() == "Use a design system."
    assert "Frontend" in slackbot.openai.requests[-1].messages[0]["content"]
    assert f"<@{USER}>" in str(root.blocks)


def test_the_modal_says_what_is_missing_and_runs_once(slackbot: Bot) -> None:
    """An empty request or a forged agent keep the modal open with the reason; a re-delivered
    submission posts one request only."""
    blocks = ack_json(slackbot.command("help"))["blocks"]
    choose(slackbot, blocks, PICK_ACTION, "backend-builder")
    view = slackbot.slack.views[-1]["view"]
    errors = ack_json(submit(slackbot, view, _values("backend-builder", "  ")))["errors"]
    assert ASK_TEXT_BLOCK in errors
    errors = ack_json(submit(slackbot, view, _values("no-such-agent", "x")))["errors"]
    assert ASK_AGENT_BLOCK in errors
    slackbot.lazy()
    assert slackbot.slack.top_level(CHANNEL) == []  # refused: nothing was posted
    submit(slackbot, view, _values("backend-builder", "review the queue"))
    [invocation] = slackbot.aws_lambda.take()
    slackbot.send(invocation["payload"])
    slackbot.send(invocation["payload"])  # Lambda re-delivers the lazy half
    requests = [m for m in slackbot.slack.top_level(CHANNEL) if "review the queue" in str(m.blocks)]
    assert len(requests) == 1


def test_menus_answer_what_the_person_types(slackbot: Bot) -> None:
    """A searched menu (``block_suggestion``) narrows the agents offered to what was typed."""
    options = ack_json(suggest(slackbot, PICK_ACTION, "front"))["options"]
    assert [o["value"] for o in options] == ["frontend-builder"]
    assert len(ack_json(suggest(slackbot, PICK_ACTION, ""))["options"]) >= 4


def _many(count: int) -> Registry:
    specs = [
        AgentSpec(
            name=f"Agent {i:03d}: Data", file=f"agents/a{i}.agent.md", stem=f"a{i}", description=f"topic {i}"
        )
        for i in range(count)
    ]
    return Registry.build(specs, [], RoutingConfig(), "gpt-4.1")


def test_more_agents_than_a_menu_holds_are_searched_not_listed() -> None:
    """Up to 100 agents are listed in the menu; with more, the menu searches as the person types,
    and every agent (multi-word names too) is reachable by its verb."""
    assert agent_select(_many(100), action_id="x")["type"] == "static_select"
    many = _many(150)
    menu = agent_select(many, action_id="x")
    assert menu["type"] == "external_select"
    assert "options" not in menu
    [found] = agent_options(many, "agent 142")
    assert found["value"] == "agent-142-data"
    assert many.resolve_verb(found["value"]) is not None
    assert len(agent_options(many, "")) == 100  # Slack shows at most 100 options
