"""The agent picker: the menu in ``/architect`` help opens a modal (agent + request), whose submission
runs exactly like ``/architect <verb> <request>`` (same access checks, same thread, same answer:
:mod:`bot.slack.flows.ask`).

The menu's click opens the modal in the ack (a ``trigger_id`` lives 3 s); the submission is checked
in the ack (an unknown agent, an empty request or a refused agent keep the modal open with the
reason under the field) and answered in a lazy listener.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from slack_bolt import Ack, App
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.logging import get_logger
from bot.slack.blocks import truncate
from bot.slack.flows.ask import NOT_IN_CHANNEL, Asked, Request
from bot.slack.payload import Click, Submission, Where
from bot.slack.picker import (
    ASK_AGENT_ACTION,
    ASK_AGENT_BLOCK,
    ASK_CALLBACK,
    ASK_TEXT_ACTION,
    ASK_TEXT_BLOCK,
    PICK_ACTION,
    agent_options,
    ask_modal,
)

if TYPE_CHECKING:
    from bot.core.agents import AgentSpec
    from bot.core.registry import Registry
    from bot.slack.flows.access import Gate
    from bot.slack.flows.ask import AskFlow
    from bot.slack.replies import Replies

log = get_logger("bot.slack.listeners.picker")

ERROR_TEXT_LIMIT = 150  # what Slack shows under a field reads best short


def _agent(registry: Registry, verb: str) -> AgentSpec | None:
    """The agent a menu value names, if people may start it."""
    spec = registry.resolve_verb(verb) if verb else None
    return spec if spec is not None and spec.user_invocable else None


def _problems(registry: Registry, gate: Gate, sent: Submission) -> dict[str, str]:
    """What keeps a submitted request from running, by the field it is shown under."""
    spec = _agent(registry, sent.selected(ASK_AGENT_BLOCK, ASK_AGENT_ACTION))
    errors: dict[str, str] = {}
    if spec is None:
        errors[ASK_AGENT_BLOCK] = "Pick an agent from the list."
    if not sent.value(ASK_TEXT_BLOCK, ASK_TEXT_ACTION).strip():
        errors[ASK_TEXT_BLOCK] = "Write what the agent should work on."
    from bot.core.refs import AskModalRef  # button values' models: not on a cold start's first ack

    metadata = AskModalRef.decode(sent.private_metadata)
    if metadata is None:
        errors[ASK_TEXT_BLOCK] = "This form is out of date. Close it and use /architect again."
    elif spec is not None:
        decision = gate.admit(spec.name, sent.user, metadata.channel_id)
        if not decision.allowed:
            errors[ASK_AGENT_BLOCK] = truncate(decision.message, ERROR_TEXT_LIMIT)
    return errors


def _teller(client: WebClient, channel: str, user: str) -> Callable[[str], None]:
    """What the command answers privately (``respond``), as an ephemeral message in the channel."""

    def tell(text: str) -> None:
        try:
            client.chat_postEphemeral(channel=channel, user=user, text=text)
        except SlackApiError as error:
            log.warning(
                "picker_reply_not_shown",
                error=str(error.response.get("error")),
                not_in_channel=text == NOT_IN_CHANNEL,
            )

    return tell


def register(
    app: App,
    *,
    registry: Registry,
    gate: Callable[[], Gate],
    ask: Callable[[WebClient], AskFlow],
    replies: Replies,
) -> None:
    """Attach the picker's menu, its options and the modal."""

    def ack_ask(ack: Ack, body: dict[str, Any], view: dict[str, Any], context: Any) -> None:
        """Close the modal, or keep it open with what to fix under the field."""
        errors = _problems(registry, gate(), Submission.of(body, view, context))
        if errors:
            ack(response_action="errors", errors=errors)
        else:
            ack()

    def run_ask(body: dict[str, Any], view: dict[str, Any], client: WebClient, context: Any) -> None:
        """Post the request in the channel and let the agent answer in its thread, as the command does."""
        sent = Submission.of(body, view, context)
        spec = _agent(registry, sent.selected(ASK_AGENT_BLOCK, ASK_AGENT_ACTION))
        text = sent.value(ASK_TEXT_BLOCK, ASK_TEXT_ACTION).strip()
        from bot.core.refs import AskModalRef  # button values' models: not on a cold start's first ack

        metadata = AskModalRef.decode(sent.private_metadata)
        user = sent.user or ""
        if spec is None or metadata is None or not text:
            return  # refused in the ack
        if not gate().check(spec.name, user, metadata.channel_id).allowed:
            return  # refused in the ack
        channel = metadata.channel_id
        request = Request(
            f"cmd:{sent.trigger_id or sent.view_id}", context.get("team_id"), channel, user, spec, text
        )
        where = Where(channel, user, None, say=_teller(client, channel, user))
        with replies.told(client, where):
            if ask(client).ask(request, where) is Asked.NOT_IN_CHANNEL:
                replies.private(client, where, NOT_IN_CHANNEL)

    _register_menu(app, registry)
    app.view(ASK_CALLBACK)(ack=ack_ask, lazy=[run_ask])


def _register_menu(app: App, registry: Registry) -> None:
    """The agent menu in ``/architect`` help, and its options."""

    def ack_pick(
        ack: Ack, body: dict[str, Any], action: dict[str, Any], client: WebClient, context: Any
    ) -> None:
        """Open the request modal for the agent chosen in the menu."""
        ack()
        click = Click.of(body, context, action)
        spec = _agent(registry, click.selected)
        if spec is None or not click.channel:
            log.warning("picker_choice_refused", known=spec is not None)
            return
        from bot.core.refs import AskModalRef  # button values' models: not on a cold start's first ack

        metadata = AskModalRef(channel_id=click.channel).encode()
        try:
            client.views_open(
                trigger_id=body["trigger_id"], view=ask_modal(registry, spec, private_metadata=metadata)
            )
        except SlackApiError as error:  # e.g. the trigger expired: the menu can be used again
            log.warning("picker_modal_not_opened", error=str(error.response.get("error")))

    def options(ack: Ack, payload: dict[str, Any]) -> None:
        """The agents matching what the person typed (menus of more than 100 agents)."""
        ack(options=agent_options(registry, str(payload.get("value") or "")))

    app.action(PICK_ACTION)(ack_pick)
    app.options(PICK_ACTION)(options)
    app.options(ASK_AGENT_ACTION)(options)
