"""The slow path, shared by every lazy listener: answer in a thread, hand off, report errors.

Each function takes the services and a Slack ``WebClient`` and does one user-visible thing through
the engine's use cases (never the store). Errors are told in the thread in plain words with a
tracking id (the request id, also in every log line); nothing here lets an exception reach Bolt
unreported.
"""

from __future__ import annotations

import json
from typing import Any

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.container import Services
from bot.core.conversation import ShownAnswer, parse_conversation_id
from bot.core.engine import (
    AnswerPlan,
    AnswerResult,
    AnswerStream,
    ApprovalRequest,
    HandoffOutcome,
    ToolActivity,
    ToolNotice,
)
from bot.core.record import AnswerMark, HandoffMark, metadata
from bot.core.refs import ApprovalRef, HandoffRef
from bot.errors import BotError, ConversationNotFoundError
from bot.logging import bind_more, get_logger
from bot.slack.blocks import (
    Block,
    HandoffButton,
    approval_blocks,
    decision_note,
    error_blocks,
    feedback_block,
    footer_block,
    handoff_actions,
    handoff_line,
    markdown_blocks,
    truncate,
    with_canvas_button,
    without_actions,
    without_handoffs,
)
from bot.slack.features import Feature
from bot.slack.record import tell
from bot.slack.writers import AnswerWriter, Recipient, ToolTask, WriterStats, Written, open_writer

log = get_logger("bot.slack.answering")


def tell_error(
    services: Services, client: WebClient, *, channel: str, thread_ts: str | None, error: Exception
) -> None:
    """Say in the thread what went wrong and what to do; never raises."""
    tracking_id = runtime.current().request_id
    if isinstance(error, BotError):
        message, kind = error.user_message, error.kind
        log.warning("user_error", kind=kind, detail=error.detail)
    else:
        message, kind = BotError.user_message, "unexpected"
        log.exception("unexpected_error", kind=kind)
    services.metrics.error(kind)
    text, blocks = error_blocks(message, tracking_id)
    try:
        client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
    except SlackApiError as slack_error:
        log.error("error_report_failed", error=str(slack_error.response.get("error")))


def stream_answer(
    services: Services,
    client: WebClient,
    *,
    conversation_id: str,
    channel: str,
    thread_ts: str,
    user_id: str | None = None,
) -> AnswerResult | None:
    """Let the thread's current agent answer what is pending, streamed into the thread.

    ``user_id`` is the person the answer is for (a stream in a channel names its recipient).
    Posts nothing when there is nothing to answer (another answer covered it, or a tool call
    still waits for its click). Errors before the first Slack post propagate (the caller tells
    them); errors while streaming are told in place of the answer.
    """
    invocation = runtime.current()
    stream = services.engine.answer(conversation_id, deadline=invocation.deadline)
    plan = stream.open()
    if plan is None:
        return None
    if plan.decision is not None:  # a waiting call lapsed (time limit, or the thread went on)
        decision = plan.decision
        note = decision_note(decision.why, decision.by_user, decision.tool)
        try:
            client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=note)
        except SlackApiError:
            log.warning("decision_note_failed")
    return render_answer(
        services, client, stream, plan, channel=channel, thread_ts=thread_ts, user_id=user_id
    )


def render_answer(
    services: Services,
    client: WebClient,
    stream: AnswerStream,
    plan: AnswerPlan,
    *,
    channel: str,
    thread_ts: str,
    user_id: str | None = None,
) -> AnswerResult | None:
    """Stream an opened answer into the thread: text, tool lines, then buttons or an approval request."""
    invocation = runtime.current()
    conversation_id = plan.conversation.meta.id
    bind_more(agent=plan.agent, channel=channel, thread_ts=thread_ts)
    address = parse_conversation_id(conversation_id)
    recipient = Recipient(channel, thread_ts, address.team_id if address else None, user_id)
    tell(client, channel=channel, thread_ts=thread_ts, notices=plan.notices)
    settings = services.settings
    writer = open_writer(
        client,
        recipient,
        plan.agent,
        features=services.slack_features,
        clock=services.clock,
        native=settings.slack_native_streaming,
        interval_s=settings.slack_update_interval_s,
        record=_answer_record(services, plan),
    )
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
                _ask_approval(client, writer, event, channel=channel, thread_ts=thread_ts)
    except BotError as error:
        stream.close()
        services.metrics.error(error.kind)
        log.warning("answer_failed", kind=error.kind, detail=error.detail)
        writer.fail(error.user_message, invocation.request_id)
        return None
    except Exception:
        stream.close()
        services.metrics.error("unexpected")
        log.exception("answer_crashed")
        writer.fail(BotError.user_message, invocation.request_id)
        return None
    finally:
        _count_fallbacks(services, writer.stats)
    if stream.paused is not None:
        return None
    result = stream.result
    if result is None:  # the stream ended without storing (it cannot, short of a bug): say so
        writer.fail(BotError.user_message, invocation.request_id)
        return None
    usage = result.turn.usage
    extra = answer_blocks(result)
    written = writer.finish(extra)
    _show_answer(services, client, result, written, extra, channel=channel)
    tell(client, channel=channel, thread_ts=thread_ts, notices=result.notices)
    if usage is not None:
        services.metrics.model_latency(result.agent, usage.latency_ms)
        if usage.first_token_ms is not None:
            services.metrics.time_to_first_token(result.agent, usage.first_token_ms)
        services.metrics.tokens(result.agent, tokens_in=usage.input_tokens, tokens_out=usage.output_tokens)
    stats = writer.stats
    log.info(
        "answer_posted",
        conversation=conversation_id,
        slack_calls=stats.total,
        slack_posts=stats.posts,
        slack_updates=stats.updates,
        streamed=stats.calls["chat.startStream"] > 0 and stats.fell_back is None,
        message_count=len(stats.message_ts),
        tool_calls=result.tool_calls,
    )
    return result


def answer_blocks(result: AnswerResult) -> list[Block]:
    """What goes under an answer's text: footer, feedback buttons, handoff buttons."""
    usage = result.turn.usage
    buttons = [
        HandoffButton(label=h.handoff.label, target=h.target, send=h.handoff.send) for h in result.handoffs
    ]
    extra = [footer_block(result.agent, usage.model if usage else None, "cut short" if result.cut else None)]
    extra.append(feedback_block(conversation_id=result.conversation_id, answer_id=result.turn.id))
    extra += handoff_actions(
        buttons, conversation_id=result.conversation_id, answer_id=result.turn.id, from_agent=result.agent
    )
    return with_canvas_button(extra, conversation_id=result.conversation_id)


def _show_answer(
    services: Services,
    client: WebClient,
    result: AnswerResult,
    written: Written,
    extra: list[Block],
    *,
    channel: str,
) -> None:
    """Record where the answer's buttons are; take down the buttons this answer made stale.

    A newer answer supersedes the older one's handoff buttons; if another answer (or a handoff) came
    first, this answer's own buttons go. The store hands each stale set to exactly one answerer.
    """
    if written.last_ts is None:
        return
    restore = without_handoffs(markdown_blocks(written.last_markdown) + extra)
    try:
        stale = services.engine.show_answer(
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
        take_down_buttons(client, channel, shown)


def take_down_buttons(client: WebClient, channel: str, shown: ShownAnswer, note: str | None = None) -> bool:
    """Show an answer's message without its handoff buttons (``note`` says why, if given)."""
    try:
        blocks = json.loads(shown.restore) if shown.restore else []
    except ValueError:
        blocks = []
    if not isinstance(blocks, list) or not blocks:
        log.warning("buttons_restore_missing", answer=shown.answer_id)
        return False
    if note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": note}]})
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


def _answer_record(services: Services, plan: AnswerPlan) -> dict[str, Any]:
    """The metadata each message of this answer carries: agent, answer id, whether buttons are live."""
    live = bool(services.registry.handoffs(plan.agent))
    return metadata(
        AnswerMark(agent=plan.agent, answer_id=plan.answer_id, buttons="live" if live else "none")
    )


def _count_fallbacks(services: Services, stats: WriterStats) -> None:
    """A refused feature is counted (metric ``SlackFallbacks``): the answer went the fallback way."""
    if stats.fell_back is not None:
        services.metrics.slack_fallback(Feature.STREAMING.value)
    if stats.status_refused is not None:
        services.metrics.slack_fallback(Feature.STATUS.value)


def _task(event: ToolActivity) -> ToolTask:
    """A tool call as a step of a streamed answer."""
    if event.result is None:
        return ToolTask(title=event.title, status="in_progress")
    return ToolTask(
        title=event.title, status="error" if event.result.error else "complete", output=event.detail
    )


def _ask_approval(
    client: WebClient,
    writer: AnswerWriter,
    request: ApprovalRequest,
    *,
    channel: str,
    thread_ts: str,
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
    client.chat_postMessage(channel=channel, thread_ts=thread_ts, text=text, blocks=blocks)
    log.info("approval_asked", tool=request.tool)


def perform_decision(
    services: Services,
    client: WebClient,
    *,
    ref: ApprovalRef,
    user_id: str | None,
    admin: bool,
    channel: str,
    message_ts: str | None,
    message_blocks: list[dict[str, object]] | None,
) -> AnswerResult | None:
    """Approve or deny a waiting tool call (a click), mark the request decided, let the answer go on.

    The thread comes from the conversation id and must be in the channel where the button was
    clicked; the engine checks the rest (the pending approval, who may decide) against state.
    """
    thread = ref.thread
    if thread is None or thread.channel_id != channel:
        raise ConversationNotFoundError(f"conversation {ref.conversation_id} is not in channel {channel}")
    bind_more(channel=channel, thread_ts=thread.thread_ts)
    invocation = runtime.current()
    stream = services.engine.decide(
        ref=ref, by_user=user_id, approve=ref.approve, admin=admin, deadline=invocation.deadline
    )
    plan = stream.open()
    if plan is None or plan.decision is None:
        return None
    note = decision_note(plan.decision.why, plan.decision.by_user, plan.decision.tool)
    if message_ts and message_blocks is not None:
        try:
            client.chat_update(
                channel=channel, ts=message_ts, text=note, blocks=without_actions(message_blocks, note)
            )
        except SlackApiError:
            log.warning("approval_buttons_not_removed")
    return render_answer(
        services, client, stream, plan, channel=channel, thread_ts=thread.thread_ts, user_id=user_id
    )


def _retire(services: Services, ref: HandoffRef) -> ShownAnswer | None:
    try:
        return services.engine.retire_answer(ref.conversation_id, ref.answer_id)
    except BotError as error:
        log.warning("buttons_not_retired", kind=error.kind)
        return None


def perform_handoff(
    services: Services,
    client: WebClient,
    *,
    ref: HandoffRef,
    user_id: str | None,
    channel: str,
    prompt: str | None,
    message_ts: str | None,
    message_blocks: list[dict[str, object]] | None,
) -> HandoffOutcome:
    """Hand the thread to ``ref.target``, record it in the thread, and let the target answer.

    The thread comes from the conversation id, and must be in the channel where the button was
    clicked; the engine checks the rest against the stored conversation.
    """
    thread = ref.thread
    if thread is None or thread.channel_id != channel:
        raise ConversationNotFoundError(f"conversation {ref.conversation_id} is not in channel {channel}")
    bind_more(channel=channel, thread_ts=thread.thread_ts)
    outcome = services.engine.hand_off(ref=ref, by_user=user_id, prompt=prompt)
    services.metrics.handoff(outcome.from_agent, outcome.to_agent)
    line = handoff_line(
        user_id=user_id, from_agent=outcome.from_agent, to_agent=outcome.to_agent, label=outcome.label
    )
    handed = HandoffMark(
        from_agent=outcome.from_agent,
        to_agent=outcome.to_agent,
        answer_id=ref.answer_id,
        label=outcome.label[:75],
        by_user=user_id,
        model=outcome.model,
    )
    client.chat_postMessage(channel=channel, thread_ts=thread.thread_ts, text=line, metadata=metadata(handed))
    retired = _retire(services, ref)
    if retired is not None:
        take_down_buttons(client, channel, retired, note=line)
    elif message_ts and message_blocks is not None:  # shown before the bot kept track: the click's copy
        used = AnswerMark(agent=outcome.from_agent, answer_id=ref.answer_id, buttons="used")
        try:
            client.chat_update(
                channel=channel,
                ts=message_ts,
                text=line,
                blocks=without_actions(message_blocks, line),
                metadata=metadata(used),
            )
        except SlackApiError:
            log.warning("old_buttons_not_removed")
    stream_answer(
        services,
        client,
        conversation_id=ref.conversation_id,
        channel=channel,
        thread_ts=thread.thread_ts,
        user_id=user_id,
    )
    return outcome
