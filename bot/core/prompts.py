"""How a conversation becomes a chat prompt, and how big a prompt each model takes.

Pure: no I/O. The prompt is one system message with the answering agent's instructions, then the
thread's turns as user/assistant messages. A person's turn is prefixed with their Slack mention
(``<@U123>: ...``), or with their name where they are not a Slack user (the terminal's ``ada: ...``),
so the model can tell people apart; an answer written by *another* agent (before
a handoff) is marked ``[answer by NAME]`` so the new agent sees the whole thread and knows whose
words those were. Fitting the prompt into the model's window is :mod:`bot.core.prompt_fit`.
"""

from __future__ import annotations

import re

from bot.core.conversation import Role, Turn
from bot.core.files import render_attachments
from bot.core.ports import ChatMessage

DEFAULT_CONTEXT_WINDOW = 128_000

# Longest prefix wins, so "gpt-4-turbo" is not taken for "gpt-4". Dated or versioned ids
# ("gpt-4.1-2025-04-14", "gpt-5.1") match their family's prefix followed by "-" or ".".
_CONTEXT_WINDOWS: dict[str, int] = {
    "gpt-4.1": 1_047_576,
    "gpt-4.1-mini": 1_047_576,
    "gpt-4.1-nano": 1_047_576,
    "gpt-4.5": 128_000,
    "gpt-4o": 128_000,
    "gpt-4o-mini": 128_000,
    "chatgpt-4o": 128_000,
    "gpt-5": 400_000,
    "o1": 200_000,
    "o1-mini": 128_000,
    "o3": 200_000,
    "o3-mini": 200_000,
    "o4-mini": 200_000,
    "gpt-4-turbo": 128_000,
    "gpt-4-1106": 128_000,
    "gpt-4-0125": 128_000,
    "gpt-4": 8_192,
    "gpt-3.5-turbo": 16_385,
}
_BY_LENGTH = sorted(_CONTEXT_WINDOWS, key=len, reverse=True)


def context_window(model_id: str) -> int:
    """Context window (tokens) of an OpenAI model id; 128k for ids not known here (conservative)."""
    model = model_id.strip().lower().removeprefix("openai/")
    if model.startswith("ft:"):
        model = model[3:].split(":", 1)[0]
    for prefix in _BY_LENGTH:
        if model == prefix or model.startswith((prefix + "-", prefix + ".")):
            return _CONTEXT_WINDOWS[prefix]
    return DEFAULT_CONTEXT_WINDOW


HANDOFF_NOTE = (
    "Earlier answers in this thread marked [answer by NAME] were written by other agents; "
    "you are now answering as {agent}."
)
CUT_MARK = "\n[this answer was cut off before it was finished]"


def omission_note(count: int) -> ChatMessage:
    """The system note that stands in for turns left out of the prompt."""
    noun = "message" if count == 1 else "messages"
    return ChatMessage(role="system", content=f"[{count} earlier {noun} omitted to fit the context window]")


def system_message(instructions: str, *, agent: str, handed_over: bool) -> ChatMessage:
    """The agent's instructions, plus a note on markings when other agents answered earlier."""
    text = instructions.strip() or f"You are {agent}, an assistant answering in a Slack thread."
    if handed_over:
        text = f"{text}\n\n{HANDOFF_NOTE.format(agent=agent)}"
    return ChatMessage(role="system", content=text)


def by_other_agent(turn: Turn, agent: str) -> bool:
    """True for an answer written by an agent other than ``agent``."""
    return turn.role is Role.ASSISTANT and turn.agent is not None and turn.agent != agent


def in_prompt(turn: Turn) -> bool:
    """Whether a turn belongs in a prompt: failed answers and empty answers carry nothing."""
    if turn.role is Role.ASSISTANT:
        return turn.status != "failed" and bool(turn.text.strip())
    return True


_SLACK_USER_ID = re.compile(r"^[UWB][A-Z0-9]+$")


def speaker(user_id: str) -> str:
    """How the model sees who wrote a turn: a Slack user as their mention, anyone else by name."""
    return f"<@{user_id}>" if _SLACK_USER_ID.match(user_id) else user_id


def turn_message(turn: Turn, agent: str, *, shown_images: frozenset[str] = frozenset()) -> ChatMessage:
    """One turn as a chat message, seen by ``agent`` (the agent that will answer).

    A person's files follow their text, by name (see :func:`bot.core.files.render_attachments`);
    ``shown_images`` are the ids of the images that go along as image inputs.
    """
    if turn.role is Role.USER:
        text = f"{speaker(turn.user_id)}: {turn.text}" if turn.user_id else turn.text
        if turn.attachments:
            text = render_attachments(text, turn.attachments, shown_images=shown_images)
        return ChatMessage(role="user", content=text)
    text = turn.text
    if turn.status == "cut":
        text += CUT_MARK
    if by_other_agent(turn, agent):
        text = f"[answer by {turn.agent}]\n{text}"
    return ChatMessage(role="assistant", content=text)
