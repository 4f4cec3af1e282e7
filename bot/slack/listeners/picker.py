"""The agent picker: the menu in ``/architect`` help opens a modal (agent + request), whose submission
runs exactly like ``/architect <verb> <request>`` (same access checks, same thread, same answer).

The menu's click opens the modal in the ack (a ``trigger_id`` lives 3 s); the submission is checked
in the ack (an unknown agent, an empty request or a refused agent keep the modal open with the
reason under the field) and answered in a lazy listener.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.container import Services
from bot.core.agents import AgentSpec
from bot.core.refs import AskModalRef
from bot.logging import get_logger
from bot.slack.blocks import truncate
from bot.slack.governance import access_kind
from bot.slack.listeners.commands import NOT_IN_CHANNEL, ask_agent
from bot.slack.picker import (
    ASK_AGENT_ACTION,
    ASK_AGENT_BLOCK,
    ASK_CALLBACK,
    ASK_TEXT_BLOCK,
    PICK_ACTION,
    agent_options,
    ask_modal,
    submitted,
)

log = get_logger("bot.slack.picker")

ERROR_TEXT_LIMIT = 150  # what Slack shows under a field reads best short


def _agent(services: Services, verb: str) -> AgentSpec | None:
    """The agent a menu value names, if people may start it."""
    spec = services.registry.resolve_verb(verb) if verb else None
    return spec if spec is not None and spec.user_invocable else None


def _problems(services: Services, body: dict[str, Any], view: dict[str, Any]) -> dict[str, str]:
    """What keeps a submitted request from running, by the field it is shown under."""
    verb, request = submitted(view)
    spec = _agent(services, verb)
    errors: dict[str, str] = {}
    if spec is None:
        errors[ASK_AGENT_BLOCK] = "Pick an agent from the list."
    if not request.strip():
        errors[ASK_TEXT_BLOCK] = "Write what the agent should work on."
    metadata = AskModalRef.decode(view.get("private_metadata"))
    if metadata is None:
        errors[ASK_TEXT_BLOCK] = "This form is out of date. Close it and use /architect again."
    elif spec is not None:
        decision = services.access.check(
            agent=spec.name, user_id=(body.get("user") or {}).get("id"), channel_id=metadata.channel_id
        )
        if not decision.allowed:
            services.metrics.rejection(access_kind(decision))
            errors[ASK_AGENT_BLOCK] = truncate(decision.message, ERROR_TEXT_LIMIT)
    return errors


def _teller(client: WebClient, channel: str, user: str) -> Any:
    """What the command answers privately (``respond``), as an ephemeral message in the channel."""

    def tell(*, text: str, blocks: list[dict[str, Any]] | None = None, **_: Any) -> None:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text, blocks=blocks)
        except SlackApiError as error:
            log.warning(
                "picker_reply_not_shown",
                error=str(error.response.get("error")),
                not_in_channel=text == NOT_IN_CHANNEL,
            )

    return tell


def register(app: App, services: Services) -> None:
    """Attach the picker's menu, its options and the modal."""

    def ack_pick(ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient) -> None:
        """Open the request modal for the agent chosen in the menu."""
        ack()
        spec = _agent(services, str((action.get("selected_option") or {}).get("value") or ""))
        container = body.get("container") or {}
        channel = (body.get("channel") or {}).get("id") or container.get("channel_id")
        if spec is None or not channel:
            log.warning("picker_choice_refused", known=spec is not None)
            return
        metadata = AskModalRef(channel_id=channel).encode()
        try:
            client.views_open(
                trigger_id=body["trigger_id"],
                view=ask_modal(services.registry, spec, private_metadata=metadata),
            )
        except SlackApiError as error:  # e.g. the trigger expired: the menu can be used again
            log.warning("picker_modal_not_opened", error=str(error.response.get("error")))

    def options(ack: Ack, payload: dict[str, Any]) -> None:
        """The agents matching what the person typed (menus of more than 100 agents)."""
        ack(options=agent_options(services.registry, str(payload.get("value") or "")))

    def ack_ask(ack: Ack, body: dict[str, Any], view: dict[str, Any]) -> None:
        """Close the modal, or keep it open with what to fix under the field."""
        errors = _problems(services, body, view)
        if errors:
            ack(response_action="errors", errors=errors)
        else:
            ack()

    def run_ask(body: dict[str, Any], view: dict[str, Any], client: WebClient, context: Any) -> None:
        """Post the request in the channel and let the agent answer in its thread, as the command does."""
        verb, request = submitted(view)
        spec = _agent(services, verb)
        metadata = AskModalRef.decode(view.get("private_metadata"))
        user = str((body.get("user") or {}).get("id") or "")
        if spec is None or metadata is None or not request.strip():
            return  # refused in the ack
        if not services.access.check(agent=spec.name, user_id=user, channel_id=metadata.channel_id).allowed:
            return  # refused in the ack
        command = {
            "channel_id": metadata.channel_id,
            "user_id": user,
            "trigger_id": body.get("trigger_id") or view.get("id"),
        }
        tell = _teller(client, metadata.channel_id, user)
        ask_agent(
            services,
            command,
            agent=spec,
            request=request.strip(),
            client=client,
            context=context,
            respond=tell,
        )

    app.action(PICK_ACTION)(ack_pick)
    app.options(PICK_ACTION)(options)
    app.options(ASK_AGENT_ACTION)(options)
    app.view(ASK_CALLBACK)(ack=ack_ask, lazy=[run_ask])
