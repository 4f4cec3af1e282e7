"""``/architect``: help and errors answered in the ack; real requests answered in a lazy listener."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.container import Services
from bot.core.agents import AgentSpec
from bot.core.conversation import UserMessage, conversation_id
from bot.core.policy import AccessDecision
from bot.core.record import RequestMark, metadata
from bot.core.refs import thread_from_link
from bot.errors import BotError, BudgetExceededError
from bot.logging import bind_more, get_logger
from bot.slack.answering import stream_answer, tell_error
from bot.slack.blocks import request_message
from bot.slack.governance import access_kind, forget_prompt, refuse, usage_message
from bot.slack.help import help_blocks, parse_command

log = get_logger("bot.slack.commands")

NOT_IN_CHANNEL = (
    "I can't post in this conversation. Invite me first with `/invite @architect-bot`, "
    "or use the command in a channel I'm in."
)


def register(app: App, services: Services) -> None:
    """Attach the ``/architect`` listener."""

    def ack_command(ack: Ack, command: dict[str, Any]) -> None:
        """Answer help, mistakes and access refusals at once (ephemeral); acknowledge the rest silently."""
        parsed = parse_command(command.get("text", ""), services.registry)
        if parsed.help:
            text, blocks = help_blocks(services.registry, services.tool_config)
            ack(response_type="ephemeral", text=text, blocks=blocks)
        elif parsed.error:
            ack(response_type="ephemeral", text=parsed.error)
        elif (
            parsed.agent is not None
            and not (decision := _access(services, command, parsed.agent.name)).allowed
        ):
            services.metrics.rejection(access_kind(decision))
            log.info("request_refused_by_policy", kind=access_kind(decision), agent=parsed.agent.name)
            ack(response_type="ephemeral", text=decision.message)
        else:
            ack()

    def run_command(command: dict[str, Any], client: WebClient, context: Any, respond: Respond) -> None:
        """Post the visible request message, then let the agent answer in its thread."""
        parsed = parse_command(command.get("text", ""), services.registry)
        if parsed.usage:
            _usage(services, command, respond)
            return
        if parsed.forget:
            _forget(services, command, context, respond, parsed.text)
            return
        if parsed.agent is None or not _access(services, command, parsed.agent.name).allowed:
            return  # refused in the ack
        ask_agent(
            services, command, agent=parsed.agent, request=parsed.text, client=client, context=context,
            respond=respond,
        )  # fmt: skip

    app.command("/architect")(ack=ack_command, lazy=[run_command])


def _access(services: Services, command: dict[str, Any], agent: str) -> AccessDecision:
    return services.access.check(
        agent=agent, user_id=command.get("user_id"), channel_id=command.get("channel_id")
    )


def _usage(services: Services, command: dict[str, Any], respond: Respond) -> None:
    """``/architect usage``: the person's tokens and cost (admins: everyone's), only to them."""
    user = str(command.get("user_id") or "")
    try:
        report = services.budget.usage(user)
    except BotError as error:
        services.metrics.error(error.kind)
        log.warning("usage_failed", kind=error.kind, detail=error.detail)
        respond(response_type="ephemeral", text=f":warning: {error.user_message}", replace_original=False)
        return
    text, blocks = usage_message(report, services.policy, services.clock.now())
    respond(response_type="ephemeral", text=text, blocks=blocks, replace_original=False)


def _forget(services: Services, command: dict[str, Any], context: Any, respond: Respond, link: str) -> None:
    """``/architect forget <link>``: the confirmation button (or why not), only to the person."""
    thread = thread_from_link(link, context.get("team_id"))
    if thread is None:
        text = (
            "That is not a message link. In the thread, open ⋮ on any message → *Copy link*, then "
            "`/architect forget <link>`; or use *Forget this thread* from the message's ⋮ menu."
        )
        respond(response_type="ephemeral", text=text, replace_original=False)
        return
    conv_id = conversation_id(thread.team_id, thread.channel_id, thread.thread_ts)
    try:
        text, blocks = forget_prompt(services, conversation_id=conv_id, user=command.get("user_id"))
    except BotError as error:
        respond(response_type="ephemeral", text=f":warning: {error.user_message}", replace_original=False)
        return
    respond(response_type="ephemeral", text=text, blocks=blocks, replace_original=False)


def ask_agent(
    services: Services,
    command: dict[str, Any],
    *,
    agent: AgentSpec,
    request: str,
    client: WebClient,
    context: Any,
    respond: Respond | Callable[..., Any],
) -> None:
    """Post the visible request message, start the conversation and let the agent answer in its thread.

    The slash command and the agent picker's modal both come here (``command`` needs ``channel_id``,
    ``user_id`` and ``trigger_id``, the delivery's id; ``respond`` tells the person privately).
    """
    bind_more(agent=agent.name)
    channel = command["channel_id"]
    user = command["user_id"]
    root_ts: str | None = None
    try:
        with services.engine.once(f"cmd:{command['trigger_id']}") as first:
            if not first:
                return
            text, blocks = request_message(user_id=user, agent=agent.name, text=request)
            try:
                asked = RequestMark(agent=agent.name, user=user)
                posted = client.chat_postMessage(
                    channel=channel, text=text, blocks=blocks, metadata=metadata(asked)
                )
            except SlackApiError as error:
                if error.response.get("error") in {"not_in_channel", "channel_not_found", "is_archived"}:
                    respond(response_type="ephemeral", text=NOT_IN_CHANNEL, replace_original=False)
                    return
                raise
            root_ts = str(posted["ts"])
            bind_more(thread_ts=root_ts)
            conv_id = conversation_id(context.get("team_id"), channel, root_ts)
            services.engine.start(
                conversation_id=conv_id,
                agent=agent.name,
                message=UserMessage(text=request, user_id=user, ts=root_ts, id=root_ts),
                team_id=context.get("team_id"),
                channel_id=channel,
                thread_ts=root_ts,
            )
            stream_answer(
                services, client, conversation_id=conv_id, channel=channel, thread_ts=root_ts, user_id=user
            )
    except BudgetExceededError as error:  # the request message stays: a reply after the reset is answered
        refuse(services, client, channel=channel, user=user, thread_ts=root_ts, text=error.user_message,
               kind=error.kind)  # fmt: skip
    except Exception as error:  # every failure is told to the user, logged and counted
        if root_ts is not None:
            tell_error(services, client, channel=channel, thread_ts=root_ts, error=error)
            return
        if isinstance(error, BotError):
            known, kind = error, error.kind
            log.warning("command_failed", kind=kind, detail=error.detail)
        else:
            known, kind = BotError(), "unexpected"
            log.exception("command_crashed")
        services.metrics.error(kind)
        tracking = runtime.current().request_id
        respond(
            response_type="ephemeral",
            text=f":warning: {known.user_message}\n_Tracking id: `{tracking}`_",
            replace_original=False,
        )
