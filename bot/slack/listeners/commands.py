"""``/architect``: help and errors answered in the ack; real requests answered in a lazy listener."""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.container import Services
from bot.core.conversation import UserMessage, conversation_id
from bot.errors import BotError
from bot.logging import bind_more, get_logger
from bot.slack.answering import stream_answer, tell_error
from bot.slack.blocks import request_message
from bot.slack.help import help_blocks, parse_command

log = get_logger("bot.slack.commands")

NOT_IN_CHANNEL = (
    "I can't post in this conversation. Invite me first with `/invite @architect-bot`, "
    "or use the command in a channel I'm in."
)


def register(app: App, services: Services) -> None:
    """Attach the ``/architect`` listener."""

    def ack_command(ack: Ack, command: dict[str, Any]) -> None:
        """Answer help and mistakes at once (ephemeral); acknowledge real requests silently."""
        parsed = parse_command(command.get("text", ""), services.registry)
        if parsed.help:
            text, blocks = help_blocks(services.registry)
            ack(response_type="ephemeral", text=text, blocks=blocks)
        elif parsed.error:
            ack(response_type="ephemeral", text=parsed.error)
        else:
            ack()

    def run_command(command: dict[str, Any], client: WebClient, context: Any, respond: Respond) -> None:
        """Post the visible request message, then let the agent answer in its thread."""
        parsed = parse_command(command.get("text", ""), services.registry)
        if parsed.agent is None:
            return
        bind_more(agent=parsed.agent.name)
        channel = command["channel_id"]
        user = command["user_id"]
        root_ts: str | None = None
        try:
            with services.engine.once(f"cmd:{command['trigger_id']}") as first:
                if not first:
                    return
                text, blocks = request_message(user_id=user, agent=parsed.agent.name, text=parsed.text)
                try:
                    posted = client.chat_postMessage(channel=channel, text=text, blocks=blocks)
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
                    agent=parsed.agent.name,
                    message=UserMessage(text=parsed.text, user_id=user, ts=root_ts, id=root_ts),
                    team_id=context.get("team_id"),
                    channel_id=channel,
                    thread_ts=root_ts,
                )
                stream_answer(services, client, conversation_id=conv_id, channel=channel, thread_ts=root_ts)
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

    app.command("/architect")(ack=ack_command, lazy=[run_command])
