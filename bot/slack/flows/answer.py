"""Answering in a thread, shared by every flow that ends with an answer (ask, reply, mention,
handoff, approval, side panel): the thread's current agent answers what is pending, streamed by one
of the writers (:mod:`bot.slack.writers`), then the footer, feedback and handoff buttons; the
buttons an older answer showed are taken down.

Errors before the first Slack post propagate (the caller's listener tells them, :mod:`bot.slack.replies`);
errors while streaming are told in place of the answer, with what was written kept.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.models.blocks import ContextBlock, MarkdownTextObject

from bot import runtime
from bot.core.engine import ApprovalRequest, ToolActivity, ToolNotice
from bot.core.thread_address import parse_conversation_id
from bot.core.thread_record import AnswerMark, metadata
from bot.errors import BotError
from bot.logging import bind_more, get_logger
from bot.slack.blocks import (
    HandoffButton,
    approval_blocks,
    block_text_length,
    decision_note,
    feedback_block,
    footer_block,
    handoff_actions,
    markdown_blocks,
    renewed,
    truncate,
    with_canvas_button,
    without_handoffs,
)
from bot.slack.features import Feature
from bot.slack.replies import tell_notices
from bot.slack.writers import Recipient, ToolTask, open_writer

if TYPE_CHECKING:
    from bot.core.conversation import ShownAnswer
    from bot.core.engine import AnswerPlan, AnswerResult, AnswerStream, Engine
    from bot.core.ports import Clock
    from bot.core.registry import Registry, ResolvedHandoff
    from bot.metrics import Metrics
    from bot.slack.blocks import Block
    from bot.slack.features import FeatureMemory
    from bot.slack.writers import AnswerWriter, WriterStats, Written

log = get_logger("bot.slack.answer")


class Answerer:
    """Streams answers into one Slack client's threads."""

    def __init__(
        self,
        client: WebClient,
        *,
        engine: Engine,
        registry: Registry,
        metrics: Metrics,
        features: FeatureMemory,
        clock: Clock,
        native: bool,
        interval_s: float,
    ) -> None:
        self.client = client
        self._engine = engine
        self._registry = registry
        self._metrics = metrics
        self._features = features
        self._clock = clock
        self._native = native
        self._interval_s = interval_s

    def answer(
        self, *, conversation_id: str, channel: str, thread_ts: str, user_id: str | None = None
    ) -> AnswerResult | None:
        """Let the thread's current agent answer what is pending, streamed into the thread.

        ``user_id`` is the person the answer is for (a stream in a channel names its recipient).
        Posts nothing when there is nothing to answer (another answer covered it, or a tool call
        still waits for its click).
        """
        stream = self._engine.answer(conversation_id, deadline=runtime.current().deadline)
        plan = stream.open()
        if plan is None:
            return None
        if plan.decision is not None:  # a waiting call lapsed (time limit, or the thread went on)
            decision = plan.decision
            note = decision_note(decision.why, decision.by_user, decision.tool)
            try:
                self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=note)
            except SlackApiError:
                log.warning("decision_note_failed")
        return self.render(stream, plan, channel=channel, thread_ts=thread_ts, user_id=user_id)

    def render(
        self,
        stream: AnswerStream,
        plan: AnswerPlan,
        *,
        channel: str,
        thread_ts: str,
        user_id: str | None = None,
    ) -> AnswerResult | None:
        """Stream an opened answer into the thread: text, tool lines, then buttons or an approval request."""
        bind_more(agent=plan.agent, channel=channel, thread_ts=thread_ts)
        address = parse_conversation_id(plan.conversation.meta.id)
        recipient = Recipient(channel, thread_ts, address.team_id if address else None, user_id)
        tell_notices(self.client, channel=channel, thread_ts=thread_ts, notices=plan.notices)
        writer = open_writer(
            self.client,
            recipient,
            plan.agent,
            features=self._features,
            clock=self._clock,
            native=self._native,
            interval_s=self._interval_s,
            record=self._answer_record(plan),
            reserve=self._reserve(plan),
        )
        if not self._stream(stream, writer, recipient):
            return None
        if stream.paused is not None:
            return None
        result = stream.result
        if result is None:  # the stream ended without storing (it cannot, short of a bug): say so
            writer.fail(BotError.user_message, runtime.current().request_id)
            return None
        self._finish(result, writer, recipient)
        return result

    def _reserve(self, plan: AnswerPlan) -> int:
        """The text the blocks under this answer will take (its agent's handoffs, feedback, footer)."""
        buttons = [_button(h) for h in self._registry.handoffs(plan.agent)]
        answer_id = plan.answer_id or "0" * 32
        under = blocks_under(plan.conversation.meta.id, answer_id, plan.agent, plan.model, buttons, cut=True)
        return block_text_length(under)

    def _stream(self, stream: AnswerStream, writer: AnswerWriter, where: Recipient) -> bool:
        """Write the stream's events; False when it failed (told in place of the answer)."""
        tracking = runtime.current().request_id
        try:
            writer.start()
            for event in stream.events():
                if isinstance(event, str):
                    writer.write(event)
                elif isinstance(event, ToolActivity):
                    writer.tool(event.call.id, event.line, _task(event))
                elif isinstance(event, ToolNotice):
                    writer.tool(event.line, event.line)
                elif isinstance(event, ApprovalRequest):
                    self._ask_approval(writer, event, channel=where.channel, thread_ts=where.thread_ts)
        except BotError as error:
            stream.close()
            self._metrics.error(error.kind)
            log.warning("answer_failed", kind=error.kind, detail=error.detail)
            writer.fail(error.user_message, tracking)
            return False
        except Exception:
            stream.close()
            self._metrics.error("unexpected")
            log.exception("answer_crashed")
            writer.fail(BotError.user_message, tracking)
            return False
        finally:
            self._count_fallbacks(writer.stats)
        return True

    def _finish(self, result: AnswerResult, writer: AnswerWriter, where: Recipient) -> None:
        """The buttons under the answer, the old buttons down, the notices, the metrics and log."""
        usage = result.turn.usage
        extra = answer_blocks(result)
        written = writer.finish(extra)
        self._show_answer(result, written, extra, channel=where.channel)
        tell_notices(self.client, channel=where.channel, thread_ts=where.thread_ts, notices=result.notices)
        if usage is not None:
            self._metrics.model_latency(result.agent, usage.latency_ms)
            if usage.first_token_ms is not None:
                self._metrics.time_to_first_token(result.agent, usage.first_token_ms)
            self._metrics.tokens(result.agent, tokens_in=usage.input_tokens, tokens_out=usage.output_tokens)
        stats = writer.stats
        log.info(
            "answer_posted",
            conversation=result.conversation_id,
            slack_calls=stats.total,
            slack_posts=stats.posts,
            slack_updates=stats.updates,
            slack_failed_calls=stats.failed_calls,
            streamed=stats.calls["chat.startStream"] > 0 and stats.fell_back is None,
            message_count=len(stats.message_ts),
            tool_calls=result.tool_calls,
        )

    def _show_answer(
        self, result: AnswerResult, written: Written, extra: list[Block], *, channel: str
    ) -> None:
        """Record where the answer's buttons are; take down the buttons this answer made stale.

        A newer answer supersedes the older one's handoff buttons; if another answer (or a handoff)
        came first, this answer's own buttons go. The store hands each stale set to exactly one answerer.
        """
        if written.last_ts is None:
            return
        restore = without_handoffs(markdown_blocks(written.last_markdown) + extra)
        try:
            stale = self._engine.show_answer(
                result.conversation_id,
                answer_id=result.turn.id,
                agent=result.agent,
                message_ts=written.last_ts,
                restore=json.dumps(restore, ensure_ascii=False),
            )
        except BotError as error:  # the answer is shown; only the cleanup of old buttons is lost
            log.warning("buttons_not_recorded", kind=error.kind)
            return
        for shown in stale:
            take_down_buttons(self.client, channel, shown)

    def _answer_record(self, plan: AnswerPlan) -> dict[str, Any]:
        """The metadata each message of this answer carries: agent, answer id, whether buttons are live."""
        live = bool(self._registry.handoffs(plan.agent))
        return metadata(
            AnswerMark(agent=plan.agent, answer_id=plan.answer_id, buttons="live" if live else "none")
        )

    def _count_fallbacks(self, stats: WriterStats) -> None:
        """A refused feature is counted (metric ``SlackFallbacks``): the answer went the fallback way."""
        if stats.fell_back is not None:
            self._metrics.slack_fallback(Feature.STREAMING.value)
        if stats.status_refused is not None:
            self._metrics.slack_fallback(Feature.STATUS.value)

    def _ask_approval(
        self, writer: AnswerWriter, request: ApprovalRequest, *, channel: str, thread_ts: str
    ) -> None:
        """The answer paused: close what was written so far, then post the Approve / Deny message."""
        writer.finish([footer_block(request.agent, None, "waiting for approval")])
        text, blocks = approval_blocks(
            conversation_id=request.conversation_id,
            approval_id=request.approval_id,
            agent=request.agent,
            tool=request.tool,
            arguments=request.arguments,
            reason=request.reason,
            requested_by=request.requested_by,
            timeout_s=request.timeout_s,
        )
        self.client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
        log.info("approval_asked", tool=request.tool)


def answer_blocks(result: AnswerResult) -> list[Block]:
    """What goes under an answer's text: footer, feedback buttons, handoff buttons."""
    usage = result.turn.usage
    buttons = [_button(h) for h in result.handoffs]
    model = usage.model if usage else None
    return blocks_under(result.conversation_id, result.turn.id, result.agent, model, buttons, cut=result.cut)


def _button(handoff: ResolvedHandoff) -> HandoffButton:
    return HandoffButton(label=handoff.handoff.label, target=handoff.target, send=handoff.handoff.send)


def blocks_under(
    conversation_id: str,
    answer_id: str,
    agent: str,
    model: str | None,
    buttons: list[HandoffButton],
    *,
    cut: bool,
) -> list[Block]:
    """Footer, feedback, handoff buttons and "Save as canvas" under an answer."""
    extra = [footer_block(agent, model, "cut short" if cut else None)]
    extra.append(feedback_block(conversation_id=conversation_id, answer_id=answer_id))
    extra += handoff_actions(buttons, conversation_id=conversation_id, answer_id=answer_id, from_agent=agent)
    return with_canvas_button(extra, conversation_id=conversation_id)


def take_down_buttons(client: WebClient, channel: str, shown: ShownAnswer, note: str | None = None) -> bool:
    """Show an answer's message without its handoff buttons (``note`` says why, if given)."""
    try:
        blocks = renewed(json.loads(shown.restore)) if shown.restore else []
    except ValueError:
        blocks = []
    if not isinstance(blocks, list) or not blocks:
        log.warning("buttons_restore_missing", answer=shown.answer_id)
        return False
    if note:
        blocks.append(ContextBlock(elements=[MarkdownTextObject(text=note)]).to_dict())
    text = next((str(b.get("text")) for b in blocks if b.get("type") == "markdown"), note or "Answer")
    used = (
        metadata(AnswerMark(agent=shown.agent, answer_id=shown.answer_id, buttons="used"))
        if shown.agent
        else None
    )
    try:
        client.chat_update(
            channel=channel, ts=shown.message_ts, text=truncate(text, 2_900), blocks=blocks, metadata=used
        )
    except SlackApiError as error:
        log.warning("old_buttons_not_removed", error=str(error.response.get("error")))
        return False
    log.info("old_buttons_removed", answer=shown.answer_id)
    return True


def _task(event: ToolActivity) -> ToolTask:
    """A tool call as a step of a streamed answer."""
    if event.result is None:
        return ToolTask(title=event.title, status="in_progress")
    return ToolTask(
        title=event.title, status="error" if event.result.error else "complete", output=event.detail
    )
