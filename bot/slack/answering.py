"""The slow path, shared by every lazy listener: answer in a thread, hand off, report errors.

Each function takes the services and a Slack ``WebClient`` and does one user-visible thing. Errors
are told in the thread in plain words with a tracking id (the request id, also in every log line);
nothing here lets an exception reach Bolt unreported.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot import runtime
from bot.container import Services
from bot.core.engine import AnswerResult, HandoffOutcome
from bot.core.model_names import resolve_model
from bot.errors import BotError, ConversationNotFoundError
from bot.logging import bind_more, get_logger
from bot.slack.blocks import (
    HandoffButton,
    error_blocks,
    footer_block,
    handoff_actions,
    handoff_line,
    without_actions,
)
from bot.slack.streaming import ThreadWriter

log = get_logger("bot.slack.answering")


@contextmanager
def once(services: Services, delivery_id: str) -> Iterator[bool]:
    """Run a delivery at most once across retries and re-deliveries.

    Yields False when another attempt already claimed ``delivery_id`` (do nothing). An unexpected
    exception releases the claim so a retry may do the work; anything else completes it.
    """
    # In progress for as long as one attempt can run: a concurrent duplicate is skipped, while Lambda's
    # retry of an attempt that timed out (a minute or more after the timeout) finds the claim expired.
    claim_ttl = max(60.0, services.settings.lock_ttl_s)
    if not services.store.claim(delivery_id, ttl_s=claim_ttl):
        log.info("duplicate_delivery_skipped", delivery=delivery_id)
        yield False
        return
    try:
        yield True
    except BotError:
        services.store.complete(delivery_id)
        raise
    except Exception:
        services.store.release(delivery_id)
        raise
    else:
        services.store.complete(delivery_id)


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
    model_override: str | None = None,
) -> AnswerResult | None:
    """Let the thread's current agent answer what is pending, streamed into the thread."""
    engine = services.engine
    conversation = services.store.get(conversation_id)
    if conversation is None:
        raise ConversationNotFoundError(conversation_id)
    if not conversation.pending_user_turns():
        log.info("nothing_pending", conversation=conversation_id)
        return None
    bind_more(agent=conversation.agent, channel=channel, thread_ts=thread_ts)
    writer = ThreadWriter(
        client,
        channel=channel,
        thread_ts=thread_ts,
        clock=services.clock,
        interval_s=services.settings.slack_update_interval_s,
        placeholder=f"_{conversation.agent} is thinking…_",
    )
    writer.start()
    invocation = runtime.current()
    stream = engine.answer(conversation_id, deadline=invocation.deadline, model_override=model_override)
    try:
        for delta in stream:
            writer.write(delta)
    except BotError as error:
        services.metrics.error(error.kind)
        log.warning("answer_failed", kind=error.kind, detail=error.detail)
        writer.fail(error.user_message, invocation.request_id)
        return None
    except Exception:
        services.metrics.error("unexpected")
        log.exception("answer_crashed")
        writer.fail(BotError.user_message, invocation.request_id)
        return None
    result = stream.result
    if result is None:  # an earlier answer covered everything while we waited for the lock
        _delete_quietly(client, channel, writer.stats.message_ts)
        return None
    usage = result.turn.usage
    buttons = [
        HandoffButton(label=h.handoff.label, target=h.target, send=h.handoff.send) for h in result.handoffs
    ]
    extra = [footer_block(result.agent, usage.model if usage else None, "cut short" if result.cut else None)]
    extra += handoff_actions(
        buttons, conversation_id=conversation_id, answer_id=result.turn.id, from_agent=result.agent
    )
    writer.finish(extra)
    if usage is not None:
        services.metrics.model_latency(result.agent, usage.latency_ms)
        if usage.first_token_ms is not None:
            services.metrics.time_to_first_token(result.agent, usage.first_token_ms)
        services.metrics.tokens(result.agent, tokens_in=usage.input_tokens, tokens_out=usage.output_tokens)
    log.info(
        "answer_posted",
        conversation=conversation_id,
        slack_posts=writer.stats.posts,
        slack_updates=writer.stats.updates,
        message_count=len(writer.stats.message_ts),
    )
    return result


def _delete_quietly(client: WebClient, channel: str, message_ts: list[str]) -> None:
    for ts in message_ts:
        try:
            client.chat_delete(channel=channel, ts=ts)
        except SlackApiError:
            log.warning("placeholder_delete_failed")


def perform_handoff(
    services: Services,
    client: WebClient,
    *,
    conversation_id: str,
    answer_id: str,
    target: str,
    user_id: str | None,
    channel: str,
    prompt: str | None,
    message_ts: str | None,
    message_blocks: list[dict[str, object]] | None,
) -> HandoffOutcome:
    """Hand the thread to ``target``, record it in the thread, and let the target answer.

    The thread to answer in comes from the stored conversation, never from the button; a button
    whose conversation lives in another channel is refused.
    """
    conversation = services.store.get(conversation_id)
    if conversation is None:
        raise ConversationNotFoundError(conversation_id)
    meta = conversation.meta
    bind_more(channel=meta.channel_id, thread_ts=meta.thread_ts)
    if meta.channel_id != channel or meta.thread_ts is None:
        raise ConversationNotFoundError(f"conversation {conversation_id} is not in channel {channel}")
    outcome = services.engine.hand_off(
        conversation_id=conversation_id, answer_id=answer_id, target=target, by_user=user_id, prompt=prompt
    )
    services.metrics.handoff(outcome.from_agent, outcome.to_agent)
    line = handoff_line(
        user_id=user_id, from_agent=outcome.from_agent, to_agent=outcome.to_agent, label=outcome.label
    )
    client.chat_postMessage(channel=channel, thread_ts=meta.thread_ts, text=line)
    if message_ts and message_blocks is not None:
        try:
            client.chat_update(
                channel=channel,
                ts=message_ts,
                text=line,
                blocks=without_actions(message_blocks, line),
            )
        except SlackApiError:
            log.warning("old_buttons_not_removed")
    override = (
        resolve_model([outcome.model], services.settings.default_model).model if outcome.model else None
    )
    stream_answer(
        services,
        client,
        conversation_id=conversation_id,
        channel=channel,
        thread_ts=meta.thread_ts,
        model_override=override,
    )
    return outcome
