"""Block Kit rendering: pure functions from values to Slack payloads (snapshot-testable).

Answers are Markdown written by a model. Slack renders standard Markdown in the ``markdown`` block
(up to 12,000 characters, and about 12,000 across one message), so an answer is shown in markdown
blocks and split across several messages when it is longer (``bot/slack/writers/splitting.py`` keeps
code fences balanced across the split). Nothing here is hand-rolled Markdown conversion.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import (
    ActionsBlock,
    ButtonElement,
    ContextActionsBlock,
    ContextBlock,
    FeedbackButtonObject,
    FeedbackButtonsElement,
    MarkdownBlock,
    MarkdownTextObject,
    PlainTextObject,
    SectionBlock,
)

# Slack limits (platform-facts.md) and our margins below them.
MARKDOWN_BLOCK_LIMIT = 12_000
MESSAGE_MARKDOWN_BUDGET = 11_000  # per message, leaves room for the cursor and fence closers
MESSAGE_TEXT_LIMIT = 12_000  # Slack: the text of one message across ALL its blocks (msg_blocks_too_long)
MESSAGE_TEXT_BUDGET = 11_500  # what an answer's message fills, blocks under it included (margin: fences)
FALLBACK_TEXT_LIMIT = 2_900
BUTTON_TEXT_LIMIT = 75
ACTIONS_PER_BLOCK = 25
SECTION_TEXT_LIMIT = 3_000
CURSOR = " ▌"

Block = dict[str, Any]

HANDOFF_ACTION_PREFIX = "handoff:"
FEEDBACK_ACTION = "feedback"
CANVAS_ACTION = CANVAS_SHORTCUT = "save_canvas"
FEEDBACK_MODAL_CALLBACK = "feedback_comment"
FEEDBACK_COMMENT_BLOCK, FEEDBACK_COMMENT_ACTION = "comment_block", "comment"
HANDOFF_MODAL_CALLBACK = "handoff_modal"
HANDOFF_PROMPT_BLOCK = "prompt_block"
HANDOFF_PROMPT_ACTION = "prompt"


def escape_mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn treats as control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def truncate(text: str, limit: int, ellipsis: str = "…") -> str:
    """``text`` cut to at most ``limit`` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: max(0, limit - len(ellipsis))] + ellipsis


@dataclass(frozen=True, slots=True)
class HandoffButton:
    """What a handoff button needs to show and to do."""

    label: str
    target: str
    send: bool


_NOT_TEXT = frozenset({"type", "style", "action_id", "block_id"})


def block_text_length(blocks: Iterable[Any]) -> int:
    """The characters of text in ``blocks`` as Slack's budget of one message counts them, erring high:
    every string (texts, button values, URLs, labels) but types, styles and ids."""

    def count(node: Any) -> int:
        if isinstance(node, str):
            return len(node)
        if isinstance(node, dict):
            return sum(count(value) for key, value in node.items() if key not in _NOT_TEXT)
        if isinstance(node, list | tuple):
            return sum(count(item) for item in node)
        return 0

    return count(list(blocks))


def fresh_block_id(base: str) -> str:
    """A block id unique to this message iteration (Slack: a new block_id whenever a message is updated)."""
    return f"{base.split('.', 1)[0]}.{uuid.uuid4().hex[:8]}"


def renewed(blocks: Iterable[Block]) -> list[Block]:
    """``blocks`` to send again (an edit): each block id made new, the rest unchanged."""
    return [{**b, "block_id": fresh_block_id(str(b["block_id"]))} if b.get("block_id") else b for b in blocks]


def markdown_blocks(content: str) -> list[Block]:
    """One markdown block (content must already fit: see :mod:`bot.slack.writers.splitting`)."""
    return [MarkdownBlock(text=content or "_(empty answer)_").to_dict()]


def footer_block(agent: str, model: str | None, note: str | None = None) -> Block:
    """A small context line under an answer: who answered, with which model."""
    parts = [f"*{escape_mrkdwn(agent)}*"]
    if model:
        parts.append(escape_mrkdwn(model))
    if note:
        parts.append(escape_mrkdwn(note))
    return ContextBlock(elements=[MarkdownTextObject(text=" · ".join(parts))]).to_dict()


def handoff_actions(
    buttons: Sequence[HandoffButton], *, conversation_id: str, answer_id: str, from_agent: str
) -> list[Block]:
    """Actions blocks with one button per handoff (25 per block)."""
    from bot.core.refs import HandoffRef  # button values' models: not on a cold start's first ack

    elements = [
        ButtonElement(
            action_id=f"{HANDOFF_ACTION_PREFIX}{index}",
            text=PlainTextObject(text=truncate(button.label, BUTTON_TEXT_LIMIT), emoji=True),
            value=HandoffRef(
                conversation_id=conversation_id,
                answer_id=answer_id,
                from_agent=from_agent,
                target=button.target,
            ).encode(),
        )
        for index, button in enumerate(buttons)
    ]
    return [
        ActionsBlock(
            block_id=fresh_block_id(f"handoffs-{start // ACTIONS_PER_BLOCK}"),
            elements=elements[start : start + ACTIONS_PER_BLOCK],
        ).to_dict()
        for start in range(0, len(elements), ACTIONS_PER_BLOCK)
    ]


def feedback_block(*, conversation_id: str, answer_id: str) -> Block:
    """Thumbs up / down under an answer (Slack's feedback buttons); the value names the answer."""

    def button(positive: bool) -> FeedbackButtonObject:
        from bot.core.refs import FeedbackRef  # button values' models: not on a cold start's first ack

        ref = FeedbackRef(conversation_id=conversation_id, answer_id=answer_id, positive=positive)
        return FeedbackButtonObject(
            text=PlainTextObject(text="👍" if positive else "👎"),
            accessibility_label="This answer helped" if positive else "This answer did not help",
            value=ref.encode(),
        )

    element = FeedbackButtonsElement(
        action_id=FEEDBACK_ACTION, positive_button=button(True), negative_button=button(False)
    )
    return ContextActionsBlock(block_id=fresh_block_id("feedback"), elements=[element]).to_dict()


def with_canvas_button(blocks: list[Block], *, conversation_id: str) -> list[Block]:
    """``blocks`` with "Save as canvas" beside the handoff buttons (or in a row of its own)."""
    from bot.core.refs import CanvasRef  # button values' models: not on a cold start's first ack

    button = ButtonElement(
        action_id=CANVAS_ACTION,
        text=PlainTextObject(text="📝 Save as canvas", emoji=True),
        value=CanvasRef(conversation_id=conversation_id).encode(),
    ).to_dict()
    last = next((i for i in range(len(blocks) - 1, -1, -1) if blocks[i].get("type") == "actions"), None)
    if last is not None and len(blocks[last].get("elements", [])) < ACTIONS_PER_BLOCK:
        return [
            *blocks[:last],
            {**blocks[last], "elements": [*blocks[last]["elements"], button]},
            *blocks[last + 1 :],
        ]
    return [*blocks, ActionsBlock(block_id=fresh_block_id("canvas"), elements=[button]).to_dict()]


def without_handoffs(blocks: Iterable[Block]) -> list[Block]:
    """An answer's blocks without its handoff buttons (other buttons and feedback stay)."""
    kept: list[Block] = []
    for block in blocks:
        if block.get("type") == "actions":
            elements = [
                e
                for e in block.get("elements", [])
                if not str(e.get("action_id", "")).startswith(HANDOFF_ACTION_PREFIX)
            ]
            if elements:
                kept.append({**block, "elements": elements})
            continue
        kept.append(block)
    return renewed(kept)  # shown again: a new iteration of the message


def feedback_modal(*, private_metadata: str) -> dict[str, Any]:
    """After a thumbs down: an optional comment (the vote already counts)."""
    return {
        "type": "modal",
        "callback_id": FEEDBACK_MODAL_CALLBACK,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": "Feedback"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Skip"},
        "blocks": [
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": "Thanks, your 👎 is counted. What was wrong or missing? (optional)",
                    }
                ],
            },
            {
                "type": "input",
                "block_id": FEEDBACK_COMMENT_BLOCK,
                "optional": True,
                "label": {"type": "plain_text", "text": "Comment"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": FEEDBACK_COMMENT_ACTION,
                    "multiline": True,
                    "max_length": 3000,
                },
            },
        ],
    }


def without_actions(blocks: Iterable[Block], note: str | None = None) -> list[Block]:
    """A message's blocks with the buttons removed and a context note (if given) in their place."""
    kept = renewed(block for block in blocks if block.get("type") != "actions")  # a new iteration
    if note:
        kept.append(ContextBlock(elements=[MarkdownTextObject(text=note)]).to_dict())
    return kept


def request_message(*, user_id: str, agent: str, text: str) -> tuple[str, list[Block]]:
    """The visible channel message a slash command posts: who asked, which agent, the request."""
    header = f"<@{user_id}> asked *{escape_mrkdwn(agent)}*:"
    fallback = truncate(f"{agent} request: {text}", FALLBACK_TEXT_LIMIT)
    blocks: list[Block] = [
        {"type": "context", "elements": [{"type": "mrkdwn", "text": header}]},
        {"type": "markdown", "text": truncate(text, MESSAGE_MARKDOWN_BUDGET) or "_(no text)_"},
    ]
    return fallback, blocks


def handoff_line(*, user_id: str | None, from_agent: str, to_agent: str, label: str) -> str:
    """The short thread line that records a handoff."""
    who = f"<@{user_id}>" if user_id else "Someone"
    return (
        f"↪ {who} handed this thread from *{escape_mrkdwn(from_agent)}* to "
        f"*{escape_mrkdwn(to_agent)}* ({escape_mrkdwn(label)})."
    )


def error_blocks(message: str, tracking_id: str | None) -> tuple[str, list[Block]]:
    """An error said in plain words, with a tracking id that also appears in the logs."""
    text = f":warning: {message}"
    if tracking_id:
        text += f"\n_Tracking id: `{tracking_id}`_"
    return truncate(text, FALLBACK_TEXT_LIMIT), [
        SectionBlock(text=MarkdownTextObject(text=truncate(text, SECTION_TEXT_LIMIT))).to_dict()
    ]


def handoff_modal(
    *, prompt: str, label: str, from_agent: str, to_agent: str, private_metadata: str
) -> dict[str, Any]:
    """The modal for a ``send: false`` handoff: the prompt prefilled and editable."""
    return {
        "type": "modal",
        "callback_id": HANDOFF_MODAL_CALLBACK,
        "private_metadata": private_metadata,
        "title": {"type": "plain_text", "text": truncate("Hand off", 24)},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            {
                "type": "context",
                "elements": [
                    {
                        "type": "mrkdwn",
                        "text": truncate(
                            f"*{escape_mrkdwn(label)}*: from *{escape_mrkdwn(from_agent)}* "
                            f"to *{escape_mrkdwn(to_agent)}*. Edit the prompt, then send.",
                            SECTION_TEXT_LIMIT,
                        ),
                    }
                ],
            },
            {
                "type": "input",
                "block_id": HANDOFF_PROMPT_BLOCK,
                "label": {"type": "plain_text", "text": "Prompt"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": HANDOFF_PROMPT_ACTION,
                    "multiline": True,
                    "max_length": 3000,
                    "initial_value": truncate(prompt, 3000),
                },
            },
        ],
    }


APPROVAL_ACTION_PREFIX = "tool_approval:"


def tool_line_markdown(line: str) -> str:
    """A tool call's compact line as it sits in a streamed answer (a quote line of its own)."""
    return f"\n\n> {line}\n\n"


def approval_blocks(
    *,
    conversation_id: str,
    approval_id: str,
    agent: str,
    tool: str,
    arguments: str,
    reason: str,
    requested_by: str | None,
    timeout_s: float,
) -> tuple[str, list[Block]]:
    """The Approve / Deny message for a tool call that waits."""
    who = f"<@{requested_by}> (who asked)" if requested_by else "The person who asked"
    minutes = max(1, round(timeout_s / 60))
    head = (
        f":lock: *{escape_mrkdwn(agent)}* wants to run `{escape_mrkdwn(tool)}` and asks first: "
        f"{escape_mrkdwn(reason)}."
    )
    shown = truncate(arguments, SECTION_TEXT_LIMIT - len(head) - 20).replace("```", "ˋˋˋ")
    from bot.core.refs import ApprovalRef  # button values' models: not on a cold start's first ack

    buttons = [
        {
            "type": "button",
            "action_id": f"{APPROVAL_ACTION_PREFIX}approve",
            "style": "primary",
            "text": {"type": "plain_text", "text": "Approve"},
            "value": ApprovalRef(
                conversation_id=conversation_id, approval_id=approval_id, approve=True
            ).encode(),
        },
        {
            "type": "button",
            "action_id": f"{APPROVAL_ACTION_PREFIX}deny",
            "style": "danger",
            "text": {"type": "plain_text", "text": "Deny"},
            "value": ApprovalRef(
                conversation_id=conversation_id, approval_id=approval_id, approve=False
            ).encode(),
        },
    ]
    blocks: list[Block] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": f"{head}\n```{shown}```"}},
        {
            "type": "context",
            "elements": [
                {
                    "type": "mrkdwn",
                    "text": (
                        f"{who} or an admin of the bot can decide. "
                        f"No decision within {minutes} min counts as Deny."
                    ),
                }
            ],
        },
        {"type": "actions", "block_id": fresh_block_id(f"approval-{approval_id}"), "elements": buttons},
    ]
    return truncate(
        f"{agent} wants to run {tool}: approve or deny in the thread.", FALLBACK_TEXT_LIMIT
    ), blocks


def decision_note(why: str, by_user: str | None, tool: str) -> str:
    """The line that replaces the Approve / Deny buttons once the call was decided."""
    who = f"<@{by_user}>" if by_user else "someone"
    return {
        "approved": f":white_check_mark: Approved by {who}: `{tool}` runs.",
        "denied": f":no_entry: Denied by {who}: `{tool}` was not run.",
        "expired": f":hourglass: Not approved in time: `{tool}` was not run.",
        "superseded": f":leftwards_arrow_with_hook: The thread went on: `{tool}` was not run.",
    }.get(why, f"`{tool}`: {why}")
