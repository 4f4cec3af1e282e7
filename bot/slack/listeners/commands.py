"""``/architect``: help, mistakes and refusals answered in the ack; real requests in a lazy listener
(``usage``, ``forget <link>``, or an agent's verb: :mod:`bot.slack.flows.ask`)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.thread_address import conversation_id
from bot.logging import get_logger
from bot.slack.flows.ask import NOT_IN_CHANNEL, Asked, Request
from bot.slack.flows.forget import NOT_A_LINK
from bot.slack.help import help_blocks, parse_command
from bot.slack.payload import Command, Where
from bot.slack.picker import ask_modal

if TYPE_CHECKING:
    from bot.core.registry import Registry
    from bot.core.thread_address import ThreadAddress
    from bot.core.tools import ToolConfig
    from bot.slack.flows.access import Gate
    from bot.slack.flows.ask import AskFlow
    from bot.slack.flows.forget import ForgetFlow
    from bot.slack.flows.usage import UsageFlow
    from bot.slack.replies import Replies

log = get_logger("bot.slack.listeners.commands")


def register(
    app: App,
    *,
    registry: Registry,
    tool_config: Callable[[], ToolConfig],
    gate: Callable[[], Gate],
    ask: Callable[[WebClient], AskFlow],
    usage: Callable[[], UsageFlow],
    forget: Callable[[WebClient], ForgetFlow],
    replies: Replies,
) -> None:
    """Attach the ``/architect`` listener."""

    def ack_command(ack: Ack, command: dict[str, Any], context: Any, client: WebClient) -> None:
        """Help, mistakes, refusals in the ack (ephemeral); `/architect` alone opens the form."""
        asked = Command.of(command, context)
        parsed = parse_command(asked.text, registry)
        if parsed.form and open_ask_form(client, registry, asked.channel, asked.trigger_id):
            ack()
        elif parsed.help or parsed.form:
            text, blocks = help_blocks(registry, tool_config())
            ack(response_type="ephemeral", text=text, blocks=blocks)
        elif parsed.error:
            ack(response_type="ephemeral", text=parsed.error)
        elif (
            parsed.agent is not None
            and not (decision := gate().admit(parsed.agent.name, asked.user, asked.channel)).allowed
        ):
            ack(response_type="ephemeral", text=decision.message)
        else:
            ack()

    def run_command(command: dict[str, Any], client: WebClient, context: Any, respond: Respond) -> None:
        """Usage, forget, or the visible request message and the agent's answer in its thread."""
        asked = Command.of(command, context)
        parsed = parse_command(asked.text, registry)
        where = Where(asked.channel, asked.user, None, say=_privately(respond))
        if parsed.usage:
            with replies.told(client, where, private=True):
                text, blocks = usage().report(asked.user)
                respond(response_type="ephemeral", text=text, blocks=blocks, replace_original=False)
        elif parsed.forget:
            thread = _thread_of(parsed.text, asked.team)
            if thread is None:
                replies.private(client, where, NOT_A_LINK)
                return
            conv_id = conversation_id(thread.team_id, thread.channel_id, thread.thread_ts)
            with replies.told(client, where, private=True):
                text, blocks = forget(client).prompt(conv_id, asked.user)
                respond(response_type="ephemeral", text=text, blocks=blocks, replace_original=False)
        elif parsed.agent is not None and gate().check(parsed.agent.name, asked.user, asked.channel).allowed:
            request = Request(
                f"cmd:{asked.trigger_id}", asked.team, asked.channel, asked.user, parsed.agent, parsed.text
            )
            with replies.told(client, where):
                if ask(client).ask(request, where) is Asked.NOT_IN_CHANNEL:
                    replies.private(client, where, NOT_IN_CHANNEL)
        # else: refused in the ack

    app.command("/architect")(ack=ack_command, lazy=[run_command])


def _thread_of(link: str, team: str | None) -> ThreadAddress | None:
    """The thread a message link points at (``bot.core.refs``, with its models: not on the first ack)."""
    from bot.core.refs import thread_from_link

    return thread_from_link(link, team)


def open_ask_form(client: WebClient, registry: Registry, channel: str, trigger_id: str | None) -> bool:
    """The form (agent + request) with the default agent chosen; False when it cannot open (no
    agent people can start, or Slack refused the trigger)."""
    people = registry.user_invocable()
    default = registry.default_agent
    agent = default if default is not None and default.user_invocable else (people[0] if people else None)
    if agent is None or not channel or not trigger_id:
        return False
    from bot.core.refs import AskModalRef  # button values' models: not on a cold start's first ack

    view = ask_modal(registry, agent, private_metadata=AskModalRef(channel_id=channel).encode())
    try:
        client.views_open(trigger_id=trigger_id, view=view)
    except SlackApiError as error:
        log.warning("ask_form_not_opened", error=str(error.response.get("error")))
        return False
    return True


def _privately(respond: Respond) -> Callable[[str], None]:
    """Tell the person who typed the command, only them (its ``response_url``)."""

    def say(text: str) -> None:
        respond(response_type="ephemeral", text=text, replace_original=False)

    return say
