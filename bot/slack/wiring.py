"""The one place in the Slack layer that knows the services container: it builds each flow, per
request, with the narrow collaborators the flow uses, and gives each listener module the flows it calls.

Everything slow is built on first use as before: the engine (and with it Redis and the OpenAI SDK)
only when a lazy listener builds a flow; the ack path uses only the registry, the access gate and
metrics. The flows' modules, too, are imported by the method that builds each one (a lazy
listener's), not here: a cold start's first ack imports none of the answer path's code.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from slack_bolt import App
from slack_sdk import WebClient

from bot import runtime
from bot.adapters.held_replies import LocalHeldReplies
from bot.agents_source import refusal_note
from bot.slack.clients import bot_client
from bot.slack.features import FeatureMemory
from bot.slack.flows.access import Gate
from bot.slack.flows.outage import OutageNotices
from bot.slack.links import SlackLinks
from bot.slack.listeners import (
    approval,
    assistant,
    canvas,
    commands,
    events,
    feedback,
    forget,
    handoff,
    home,
    picker,
)
from bot.slack.payload import Where
from bot.slack.replies import Replies

if TYPE_CHECKING:
    from bot.container import Services
    from bot.core.held import HeldReply
    from bot.core.tools import ToolConfig
    from bot.slack.flows.answer import Answerer
    from bot.slack.flows.approval import ApprovalFlow
    from bot.slack.flows.ask import AskFlow
    from bot.slack.flows.assistant import AssistantFlow
    from bot.slack.flows.canvas import CanvasFlow
    from bot.slack.flows.catch_up import CatchUpFlow
    from bot.slack.flows.feedback import FeedbackFlow
    from bot.slack.flows.forget import ForgetFlow
    from bot.slack.flows.handoff import HandoffFlow
    from bot.slack.flows.home import HomeFlow
    from bot.slack.flows.mention import MentionFlow
    from bot.slack.flows.reading import ThreadReader
    from bot.slack.flows.reply import ReplyFlow
    from bot.slack.flows.usage import UsageFlow


class Wiring:
    """Flows for one app: each built per request from the services (see the module doc)."""

    def __init__(self, services: Services) -> None:
        self._s = services
        self.replies = Replies(services.metrics)
        self.features = FeatureMemory(services.clock)  # Slack features refused lately, per process
        self.links = SlackLinks()  # the workspace's web address, asked once per process
        self.outage_notices = OutageNotices()  # a thread is told once per outage, per process

    def register(self, app: App) -> None:
        """Attach every listener module, each with the flows it calls."""
        registry, replies = self._s.registry, self.replies
        # the side panel's events first: before the message listeners see them
        assistant.register(app, registry=registry, assistant=self.assistant, replies=replies)
        commands.register(
            app,
            registry=registry,
            tool_config=self.tool_config,
            gate=self.gate,
            ask=self.ask,
            usage=self.usage,
            forget=self.forget,
            replies=replies,
        )
        events.register(app, reply=self.reply, mention=self.mention, replies=replies)
        handoff.register(app, registry=registry, gate=self.gate, handoff=self.handoff, replies=replies)
        approval.register(app, approval=self.approval, replies=replies)
        forget.register(app, forget=self.forget, replies=replies)
        picker.register(app, registry=registry, gate=self.gate, ask=self.ask, replies=replies)
        feedback.register(app, feedback=self.feedback, replies=replies)
        agent_view = self._s.settings.slack_experience == "agent"  # else the side panel offers the prompts
        tab = self.messages_tab if agent_view else None
        home.register(app, home=self.home, messages_tab=tab, replies=replies)
        canvas.register(app, canvas=self.canvas, replies=replies)
        held = self._s.held_replies
        if isinstance(held, LocalHeldReplies):  # locally a timer hands held replies back to the catch-up
            held.bind(self.catch_up_now)

    # ------------------------------------------------------------------ usable on the ack path

    def gate(self) -> Gate:
        """The access policy at the door (no store, no model)."""
        s = self._s
        return Gate(s.access, has_rules=bool(s.policy.agents), metrics=s.metrics, replies=self.replies)

    def tool_config(self) -> ToolConfig:
        """What the settings let agents use (shown in help)."""
        return self._s.tool_config

    # ---------------------------------------------------------- lazy listeners: the engine is built

    def answers(self, client: WebClient) -> Answerer:
        """Streams answers into threads (every flow that ends with an answer uses one)."""
        from bot.slack.flows.answer import Answerer  # the answer path: imported by a lazy listener

        s = self._s
        return Answerer(
            client,
            engine=s.engine,
            registry=s.registry,
            metrics=s.metrics,
            features=self.features,
            clock=s.clock,
            native=s.settings.slack_native_streaming,
            interval_s=s.settings.slack_update_interval_s,
        )

    def reader(self, client: WebClient) -> ThreadReader:
        """Reads a message's files and whole threads back from Slack."""
        from bot.slack.flows.reading import ThreadReader  # the answer path: imported by a lazy listener

        s = self._s
        default = s.registry.default_agent
        return ThreadReader(
            client,
            files=s.files,
            engine=s.engine,
            default_agent=default.name if default else None,
            clock=s.clock,
            page_size=s.settings.thread_page_size,
            max_messages=s.settings.max_thread_messages,
        )

    def ask(self, client: WebClient) -> AskFlow:
        """``/architect <verb> <text>`` and the picker's modal."""
        from bot.slack.flows.ask import AskFlow  # the answer path: imported by a lazy listener

        return AskFlow(client, engine=self._s.engine, answers=self.answers(client))

    def reply(self, client: WebClient) -> ReplyFlow:
        """A person's reply in a thread."""
        from bot.slack.flows.reply import ReplyFlow  # the answer path: imported by a lazy listener

        s = self._s
        return ReplyFlow(
            client,
            engine=s.engine,
            gate=self.gate(),
            reader=self.reader(client),
            answers=self.answers(client),
            metrics=s.metrics,
            outage_window_s=s.settings.store_outage_retry_s,
            held=s.held_replies,
            held_retry_s=s.settings.held_reply_retry_s,
            notices=self.outage_notices,
        )

    def catch_up(self, client: WebClient) -> CatchUpFlow | None:
        """The catch-up of held replies (None where replies cannot be held)."""
        from bot.slack.flows.catch_up import CatchUpFlow  # the answer path: imported by a lazy listener

        s = self._s
        held = s.held_replies
        if held is None:
            return None
        return CatchUpFlow(
            client,
            engine=s.engine,
            reader=self.reader(client),
            answers=self.answers(client),
            held=held,
            metrics=s.metrics,
            bot_user_id=s.settings.slack_bot_user_id,
            retry_s=s.settings.held_reply_retry_s,
            max_attempts=s.settings.held_reply_max_attempts,
        )

    def catch_up_now(self, reply: HeldReply) -> None:
        """Run one held reply's catch-up in this thread (a local timer's), with its own invocation."""
        runtime.begin(None)
        client = bot_client(self._s.settings)
        where = Where(channel=reply.channel_id, user=reply.user_id, thread_ts=reply.thread_ts)
        with self.replies.told(client, where):
            flow = self.catch_up(client)
            if flow is not None:
                flow.catch_up(reply)

    def mention(self, client: WebClient) -> MentionFlow:
        """``@architect-bot <text>``."""
        from bot.slack.flows.mention import MentionFlow  # the answer path: imported by a lazy listener

        s = self._s
        default = s.registry.default_agent
        return MentionFlow(
            client,
            engine=s.engine,
            gate=self.gate(),
            reader=self.reader(client),
            answers=self.answers(client),
            forget=self.forget(client),
            replies=self.replies,
            default_agent=default.name if default else None,
        )

    def handoff(self, client: WebClient) -> HandoffFlow:
        """A handoff button or modal."""
        from bot.slack.flows.handoff import HandoffFlow  # the answer path: imported by a lazy listener

        return HandoffFlow(
            client, engine=self._s.engine, metrics=self._s.metrics, answers=self.answers(client)
        )

    def approval(self, client: WebClient) -> ApprovalFlow:
        """Approve / Deny of a tool call."""
        from bot.slack.flows.approval import ApprovalFlow  # the answer path: imported by a lazy listener

        return ApprovalFlow(
            client, engine=self._s.engine, policy=self._s.policy, answers=self.answers(client)
        )

    def feedback(self, client: WebClient) -> FeedbackFlow:
        """Thumbs up / down and the comment."""
        from bot.slack.flows.feedback import FeedbackFlow  # the answer path: imported by a lazy listener

        return FeedbackFlow(client, engine=self._s.engine, metrics=self._s.metrics, replies=self.replies)

    def forget(self, client: WebClient) -> ForgetFlow:
        """Forgetting a thread (confirmation and click)."""
        from bot.slack.flows.forget import ForgetFlow  # the answer path: imported by a lazy listener

        s = self._s
        return ForgetFlow(client, engine=s.engine, policy=s.policy, clock=s.clock, metrics=s.metrics)

    def usage(self) -> UsageFlow:
        """``/architect usage``."""
        from bot.slack.flows.usage import UsageFlow  # the answer path: imported by a lazy listener

        return UsageFlow(quota=self._s.quota, policy=self._s.policy, clock=self._s.clock)

    def canvas(self, client: WebClient) -> CanvasFlow:
        """Save as canvas."""
        from bot.slack.flows.canvas import CanvasFlow  # the answer path: imported by a lazy listener

        s = self._s
        return CanvasFlow(
            client, engine=s.engine, features=self.features, links=self.links, metrics=s.metrics
        )

    def home(self, client: WebClient) -> HomeFlow:
        """The App Home tab."""
        from bot.slack.flows.home import HomeFlow  # the answer path: imported by a lazy listener

        s = self._s
        return HomeFlow(
            client,
            engine=s.engine,
            registry=s.registry,
            policy=s.policy,
            links=self.links,
            metrics=s.metrics,
            refused=refusal_note(s),  # agent files from S3 that were refused (admins see why)
        )

    def messages_tab(self, client: WebClient, channel: str | None) -> None:
        """A person opened the Messages tab (Agent messaging experience): prompts, and a greeting once."""
        from bot.slack.flows.assistant import open_messages_tab  # a lazy listener's: imported on use

        open_messages_tab(client, self._s.registry, channel=channel)

    def assistant(self, client: WebClient) -> AssistantFlow:
        """The side panel's chats."""
        from bot.slack.flows.assistant import AssistantFlow  # the answer path: imported by a lazy listener

        s = self._s
        return AssistantFlow(
            client,
            engine=s.engine,
            registry=s.registry,
            gate=self.gate(),
            reader=self.reader(client),
            answers=self.answers(client),
        )
