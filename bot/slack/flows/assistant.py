"""Chats with the agents in the app's DM, in either of Slack's two experiences, answered by the same
engine (streamed, with loading state, title, handoff and feedback buttons):

- the Agent messaging experience (manifest ``agent_view``; ``SLACK_EXPERIENCE=agent``): the chats
  live in the app's Messages tab. ``app_home_opened`` with ``tab: "messages"``: up to four suggested
  prompts above the composer (``setSuggestedPrompts`` without ``thread_ts``: with it the call
  silently fails for an agent app), and a greeting the first time (the DM is still empty). A
  person's message at the top of the DM starts a chat, answered in its thread; replies in that
  thread continue it.
- the older side panel (``assistant_view``; ``SLACK_EXPERIENCE=assistant``):
  ``assistant_thread_started``: the greeting in the new chat's thread and the prompts for it.

Prompts: one per agent people can start (the default agent first), each from its description.
- ``assistant_thread_context_changed``: nothing to do (answers do not read the channel the person
  looks at); handled so Bolt's default does not call ``conversations.history`` to store it.
- a message in the chat: a first message that starts with an agent's verb goes to that agent (as
  ``/architect <verb> <text>`` would), any other to the default agent; later messages continue the
  chat's conversation. The chat gets a title from its first message.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.core.thread_address import conversation_id
from bot.errors import ThreadForgottenError
from bot.logging import bind_more, get_logger
from bot.slack.blocks import truncate
from bot.slack.replies import tell_notices

if TYPE_CHECKING:
    from bot.core.agents import AgentSpec
    from bot.core.engine import Engine
    from bot.core.registry import Registry
    from bot.slack.flows.access import Gate
    from bot.slack.flows.answer import Answerer
    from bot.slack.flows.reading import ThreadReader
    from bot.slack.payload import Message, Where

log = get_logger("bot.slack.assistant")

PROMPTS_LIMIT = 4  # Slack shows up to four suggested prompts
PROMPTS_TITLE = "Ask an agent"
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


def _greeting(registry: Registry, prompts: list[dict[str, str]]) -> str | None:
    default = registry.default_agent
    if default is None:
        return None
    first = prompts[0]["message"].split(" ", 1)[0] if prompts else default.name
    return GREETING.format(verb=first, default=default.name)


def _offer(client: WebClient, prompts: list[dict[str, str]], channel: str, thread_ts: str | None) -> None:
    if not prompts:
        return
    try:  # the Messages tab: thread_ts None, left out by slack_sdk (with one an agent app gets nothing)
        client.assistant_threads_setSuggestedPrompts(
            channel_id=channel, thread_ts=thread_ts, prompts=prompts, title=PROMPTS_TITLE
        )
    except SlackApiError as error:
        log.warning("suggested_prompts_failed", error=str(error.response.get("error")))


def _say(client: WebClient, text: str | None, channel: str, thread_ts: str | None) -> None:
    if text is None:
        return
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text)
    except SlackApiError as error:
        log.warning("assistant_greeting_failed", error=str(error.response.get("error")))


def greet(client: WebClient, registry: Registry, *, channel: str | None, thread_ts: str | None) -> None:
    """The side panel (``assistant_view``): greet and offer the prompts in a new chat's thread."""
    if not channel or not thread_ts:
        log.warning("assistant_thread_without_ids")
        return
    prompts = suggested_prompts(registry)
    _say(client, _greeting(registry, prompts), channel, thread_ts)
    _offer(client, prompts, channel, thread_ts)


def open_messages_tab(client: WebClient, registry: Registry, *, channel: str | None) -> None:
    """The Messages tab (``agent_view``): the prompts above the composer, and the greeting once."""
    if not channel:
        log.warning("messages_tab_without_channel")
        return
    prompts = suggested_prompts(registry)
    if _first_visit(client, channel):
        _say(client, _greeting(registry, prompts), channel, None)
    _offer(client, prompts, channel, None)


def _first_visit(client: WebClient, channel: str) -> bool:
    """The person's DM with the app is still empty (Slack says nothing else about a first visit)."""
    try:
        return not client.conversations_history(channel=channel, limit=1).get("messages")
    except SlackApiError as error:
        log.warning("dm_history_unreadable", error=str(error.response.get("error")))
        return False


class AssistantFlow:
    """Answers side-panel chats for one request: the same engine as in channels."""

    def __init__(
        self,
        client: WebClient,
        *,
        engine: Engine,
        registry: Registry,
        gate: Gate,
        reader: ThreadReader,
        answers: Answerer,
    ) -> None:
        self._client = client
        self._engine = engine
        self._registry = registry
        self._gate = gate
        self._reader = reader
        self._answers = answers

    def message(self, message: Message, where: Where) -> None:
        """A person's message in a chat: stored once, then answered in the chat's thread (a message
        at the top of the DM starts a chat: its own thread)."""
        thread_ts = message.thread_ts or message.ts
        if not message.channel or not thread_ts or not message.ts:
            return
        bind_more(channel=message.channel, thread_ts=thread_ts)
        conv_id = conversation_id(message.team, message.channel, thread_ts)
        with self._engine.once(message.delivery) as first:
            if first and self._store(message, conv_id, where, thread_ts):
                self._answers.answer(
                    conversation_id=conv_id,
                    channel=message.channel,
                    thread_ts=thread_ts,
                    user_id=message.user,
                )

    def _store(self, message: Message, conv_id: str, where: Where, thread_ts: str) -> bool:
        """Store the message: a new chat starts with the agent it asks for, a known one goes on.
        False when there is nothing to answer (refused, or no agent to start with)."""
        engine, channel = self._engine, message.channel
        known = engine.knows(conv_id)
        agent, request = (None, message.text) if known else choose_agent(self._registry, message.text)
        if not known and agent is None:
            self._client.chat_postMessage(
                channel=channel,
                thread_ts=thread_ts,
                text="No default agent is configured: start with an agent's verb.",
            )
            return False
        stored, notices = self._reader.message(
            text=request, user_id=message.user, ts=message.ts, files=message.files,
            deadline=runtime.current().deadline,
        )  # fmt: skip
        refused = self._gate.refused_agents(message.user, channel)
        started, refused_agent = False, None
        if agent is None:
            from bot.core.engine import ReplyOutcome  # the answer path's: imported by the lazy listener

            outcome = engine.reply(conversation_id=conv_id, message=stored, refuse_agents=refused)
            refused_agent = (engine.current_agent(conv_id) or "") if outcome is ReplyOutcome.REFUSED else None
        else:
            continued = engine.continue_or_start(
                conversation_id=conv_id, default_agent=agent.name, message=stored, team_id=message.team,
                channel_id=channel, thread_ts=thread_ts, refuse_agents=refused,
            )  # fmt: skip
            if continued.forgotten:
                raise ThreadForgottenError(conv_id)
            refused_agent = continued.agent if continued.refused else None
            started = continued.started
        if refused_agent is not None:
            self._gate.tell(self._client, where, refused_agent)
            return False
        if started:
            self._title(channel, thread_ts, request)
        tell_notices(self._client, channel=channel, thread_ts=thread_ts, notices=notices)
        return True

    def _title(self, channel: str, thread_ts: str, request: str) -> None:
        """The chat's title in the app's history: its first words."""
        title = truncate(" ".join(request.split()), TITLE_LIMIT) or "New chat"
        try:
            self._client.assistant_threads_setTitle(channel_id=channel, thread_ts=thread_ts, title=title)
        except SlackApiError as error:
            log.warning("assistant_title_failed", error=str(error.response.get("error")))
