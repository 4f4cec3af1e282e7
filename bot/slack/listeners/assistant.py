"""The Agents & AI Apps side panel (Bolt's ``Assistant`` middleware): suggested prompts when a chat
opens, and the person's messages answered by the same engine, with handoff and feedback buttons.

- ``assistant_thread_started``: a short greeting and up to four suggested prompts (Slack's limit),
  one per agent people can start (the default agent first), each from the agent's description.
- ``assistant_thread_context_changed``: nothing to do (answers do not read the channel the person
  looks at); handled so Bolt's default does not call ``conversations.history`` to store it.
- a message in the chat: a first message that starts with an agent's verb goes to that agent (as
  ``/architect <verb> <text>`` would), any other to the default agent; later messages continue the
  chat's conversation. The chat gets a title from its first message.
"""

from __future__ import annotations

from typing import Any

from slack_bolt import Ack, App, Assistant
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.container import Services
from bot.core.agents import AgentSpec
from bot.core.conversation import conversation_id
from bot.core.engine import ReplyOutcome
from bot.core.registry import Registry
from bot.errors import BudgetExceededError, ThreadForgottenError
from bot.logging import bind_more, get_logger
from bot.slack.answering import stream_answer, tell_error
from bot.slack.blocks import truncate
from bot.slack.governance import access_kind, refuse
from bot.slack.record import tell, user_message

log = get_logger("bot.slack.assistant")

PROMPTS_LIMIT = 4  # Slack shows up to four suggested prompts
TITLE_LIMIT = 80
GREETING = (
    "Hi! Pick a suggestion below or write what you need. Start with an agent's verb (like "
    "`{verb} …`) to ask that agent; otherwise *{default}* answers. Buttons under an answer hand the "
    "chat to another agent."
)


def suggested_prompts(registry: Registry) -> list[dict[str, str]]:
    """One prompt per agent people can start (the default agent first), from its description."""
    agents = registry.user_invocable()
    default = registry.default_agent
    if default is not None and default in agents:
        agents = [default, *[a for a in agents if a is not default]]
    prompts: list[dict[str, str]] = []
    for spec in agents[:PROMPTS_LIMIT]:
        verb = registry.verb_for(spec.name) or spec.name
        about = " ".join((spec.description or "").split())
        ask = (
            f"What can you do for me? You are described as: {truncate(about, 200)}"
            if about
            else "What can you do for me?"
        )
        prompts.append({"title": truncate(spec.name, 75), "message": f"{verb} {ask}"})
    return prompts


def choose_agent(registry: Registry, text: str) -> tuple[AgentSpec | None, str]:
    """The agent a first message asks for (its first word, a verb) and the request; else the default."""
    verb, _, rest = text.strip().partition(" ")
    spec = registry.resolve_verb(verb) if verb else None
    if spec is not None and spec.user_invocable and rest.strip():
        return spec, rest.strip()
    return registry.default_agent, text.strip()


def _started(services: Services, payload: dict[str, Any], client: WebClient) -> None:
    """Greet and offer the suggested prompts in a new side-panel chat."""
    thread = payload.get("assistant_thread") or {}
    channel, thread_ts = thread.get("channel_id"), thread.get("thread_ts")
    if not channel or not thread_ts:
        log.warning("assistant_thread_without_ids")
        return
    registry = services.registry
    prompts = suggested_prompts(registry)
    default = registry.default_agent
    if default is not None:
        first = prompts[0]["message"].split(" ", 1)[0] if prompts else default.name
        text = GREETING.format(verb=first, default=default.name)
        try:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
        except SlackApiError as error:
            log.warning("assistant_greeting_failed", error=str(error.response.get("error")))
    if not prompts:
        return
    try:
        client.assistant_threads_setSuggestedPrompts(
            channel_id=channel, thread_ts=thread_ts, prompts=prompts, title="Ask an agent"
        )
    except SlackApiError as error:
        log.warning("suggested_prompts_failed", error=str(error.response.get("error")))


def _message(
    services: Services, body: dict[str, Any], event: dict[str, Any], client: WebClient, context: Any
) -> None:
    """A person's message in a side-panel chat: the same engine as in channels."""
    channel, thread_ts, ts = event.get("channel"), event.get("thread_ts"), event.get("ts")
    user = event.get("user")
    if not channel or not thread_ts or not ts:
        return
    bind_more(channel=channel, thread_ts=thread_ts)
    conv_id = conversation_id(context.get("team_id"), channel, thread_ts)
    try:
        with services.engine.once(f"event:{body.get('event_id') or ts}") as first:
            if not first:
                return
            if _store(services, client, event, conv_id=conv_id, team=context.get("team_id")):
                stream_answer(
                    services,
                    client,
                    conversation_id=conv_id,
                    channel=channel,
                    thread_ts=thread_ts,
                    user_id=user,
                )
    except (BudgetExceededError, ThreadForgottenError) as error:
        refuse(services, client, channel=channel, user=user, thread_ts=thread_ts, text=error.user_message,
               kind=error.kind)  # fmt: skip
    except Exception as error:  # noqa: BLE001 - told in the chat, logged and counted by tell_error
        tell_error(services, client, channel=channel, thread_ts=thread_ts, error=error)


def _store(
    services: Services, client: WebClient, event: dict[str, Any], *, conv_id: str, team: str | None
) -> bool:
    """Store the message: a new chat starts with the agent it asks for, a known one goes on.
    False when there is nothing to answer (refused, or no agent to start with)."""
    engine, registry = services.engine, services.registry
    channel, thread_ts, user = str(event["channel"]), str(event["thread_ts"]), event.get("user")
    text = event.get("text") or ""
    known = engine.knows(conv_id)
    agent, request = (None, text) if known else choose_agent(registry, text)
    if not known and agent is None:
        client.chat_postMessage(
            channel=channel,
            thread_ts=thread_ts,
            text="No default agent is configured: start with an agent's verb.",
        )
        return False
    message, notices = user_message(
        services, text=request, user_id=user, ts=str(event["ts"]), files=event.get("files") or [],
        deadline=runtime.current().deadline,
    )  # fmt: skip
    refused = (
        services.access.refused_agents(user_id=user, channel_id=channel)
        if services.policy.agents
        else frozenset()
    )
    if agent is None:
        outcome = engine.reply(conversation_id=conv_id, message=message, refuse_agents=refused)
        refused_agent = (engine.current_agent(conv_id) or "") if outcome is ReplyOutcome.REFUSED else None
        started = False
    else:
        continued = engine.continue_or_start(
            conversation_id=conv_id, default_agent=agent.name, message=message, team_id=team,
            channel_id=channel, thread_ts=thread_ts, refuse_agents=refused,
        )  # fmt: skip
        if continued.forgotten:
            raise ThreadForgottenError(conv_id)
        refused_agent = continued.agent if continued.refused else None
        started = continued.started
    if refused_agent is not None:
        decision = services.access.check(agent=refused_agent, user_id=user, channel_id=channel)
        refuse(services, client, channel=channel, user=user, thread_ts=thread_ts, text=decision.message,
               kind=access_kind(decision))  # fmt: skip
        return False
    if started:
        _title(client, channel, thread_ts, request)
    tell(client, channel=channel, thread_ts=thread_ts, notices=notices)
    return True


def _title(client: WebClient, channel: str, thread_ts: str, request: str) -> None:
    """The chat's title in the app's history: its first words."""
    title = truncate(" ".join(request.split()), TITLE_LIMIT) or "New chat"
    try:
        client.assistant_threads_setTitle(channel_id=channel, thread_ts=thread_ts, title=title)
    except SlackApiError as error:
        log.warning("assistant_title_failed", error=str(error.response.get("error")))


def register(app: App, services: Services) -> None:
    """Attach the Assistant middleware (before other listeners see the side panel's messages)."""
    assistant = Assistant()

    def ack_event(ack: Ack) -> None:
        ack()

    def started(payload: dict[str, Any], client: WebClient) -> None:
        _started(services, payload, client)

    def context_changed(payload: dict[str, Any]) -> None:
        """The person looks at another channel: answers do not read it, nothing to keep."""
        log.debug("assistant_context_changed")

    def message(body: dict[str, Any], payload: dict[str, Any], client: WebClient, context: Any) -> None:
        _message(services, body, payload, client, context)

    assistant.thread_started(lazy=[started])(ack_event)
    assistant.thread_context_changed(context_changed)
    assistant.user_message(lazy=[message])(ack_event)
    app.use(assistant)
