"""Fit a conversation into the answering model's context window.

Pure: the token counts come from a :class:`~bot.core.ports.TokenCounter` (exact, or a conservative
estimate). Each turn is counted once, so a 1,000-turn thread costs 1,000 counts, not a million.

Images count too, by OpenAI's rule for the model (:func:`bot.core.image_cost.image_tokens`), when the
model takes images (``vision``); a turn's images live and go with the turn.

When the whole thread does not fit ``limit = min(context_window(model), max_prompt_tokens) -
reserve_tokens``, the oldest turns are left out, except the agent's instructions and the thread's
first user message (usually the task itself); a short system note says how many were left out, and
then come as many of the latest turns as fit. If even the instructions, the first user message and
the latest turn do not fit, :class:`~bot.errors.ThreadTooLongError` tells the person to start over.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bot.core.conversation import Role, Turn
from bot.core.image_cost import ImageDetail, image_tokens
from bot.core.ports import ChatMessage, TokenCounter
from bot.core.prompts import (
    by_other_agent,
    context_window,
    in_prompt,
    omission_note,
    system_message,
    turn_message,
)
from bot.errors import ThreadTooLongError

# OpenAI's chat format costs about 3 tokens per message (role and separators) plus 3 to prime the
# reply; 4 per message keeps the count on the safe side for the name-less messages used here.
PER_MESSAGE_TOKENS = 4
REPLY_PRIMING_TOKENS = 3


@dataclass(frozen=True, slots=True)
class PromptResult:
    """A prompt ready for :class:`~bot.core.ports.ModelRequest`, and what it took to build it."""

    messages: tuple[ChatMessage, ...]
    prompt_tokens: int
    limit: int
    dropped_turns: int
    exact_count: bool
    sources: tuple[Turn | None, ...] = ()  # the turn of each message (None: system messages)
    image_tokens: int = 0  # part of prompt_tokens


def prompt_limit(model: str, *, max_prompt_tokens: int, reserve_tokens: int) -> int:
    """Tokens a prompt for ``model`` may use: the smaller of window and cap, less the answer's share."""
    return min(context_window(model), max_prompt_tokens) - reserve_tokens


def build_prompt(
    *,
    instructions: str,
    turns: Sequence[Turn],
    agent: str,
    model: str,
    counter: TokenCounter,
    max_prompt_tokens: int,
    reserve_tokens: int,
    vision: bool = False,
    image_detail: ImageDetail = "high",
) -> PromptResult:
    """The prompt for ``agent`` answering ``turns`` with ``model``, trimmed to fit (see module doc).

    ``vision``: the model takes images; each turn's images are then counted and said to follow
    (the caller attaches them to the kept messages, :attr:`PromptResult.sources`).

    Raises ``ThreadTooLongError`` when instructions + first user message + latest turn exceed the
    limit.
    """
    limit = prompt_limit(model, max_prompt_tokens=max_prompt_tokens, reserve_tokens=reserve_tokens)
    kept_turns = [turn for turn in turns if in_prompt(turn)]
    handed_over = any(by_other_agent(turn, agent) for turn in kept_turns)
    system = system_message(instructions, agent=agent, handed_over=handed_over)
    priced = _Priced.of(
        system,
        kept_turns,
        agent=agent,
        model=model,
        counter=counter,
        vision=vision,
        image_detail=image_detail,
    )
    total = priced.fixed + sum(priced.costs)
    if total <= limit:
        return PromptResult(
            messages=(system, *priced.messages),
            prompt_tokens=total,
            limit=limit,
            dropped_turns=0,
            exact_count=counter.exact,
            sources=(None, *kept_turns),
            image_tokens=sum(priced.image_costs),
        )
    return _trimmed(priced, limit=limit, model=model)


@dataclass(frozen=True, slots=True)
class _Priced:
    """The system message and every kept turn as a message, each with its tokens (images included)."""

    system: ChatMessage
    turns: list[Turn]
    messages: list[ChatMessage]
    costs: list[int]
    image_costs: list[int]
    fixed: int  # the system message and the reply's priming
    counter: TokenCounter
    model: str

    @classmethod
    def of(
        cls,
        system: ChatMessage,
        turns: list[Turn],
        *,
        agent: str,
        model: str,
        counter: TokenCounter,
        vision: bool,
        image_detail: ImageDetail,
    ) -> _Priced:
        """Count each message once (and, with ``vision``, each turn's images by the model's rule)."""
        fixed = _cost(counter, system, model) + REPLY_PRIMING_TOKENS
        images = [_images_of(turn, model, image_detail) if vision else [] for turn in turns]
        image_costs = [sum(tokens for _, tokens in found) for found in images]
        messages = [
            turn_message(turn, agent, shown_images=frozenset(i for i, _ in found))
            for turn, found in zip(turns, images, strict=True)
        ]
        costs = [
            _cost(counter, message, model) + extra
            for message, extra in zip(messages, image_costs, strict=True)
        ]
        return cls(system, turns, messages, costs, image_costs, fixed, counter, model)

    def cost(self, message: ChatMessage) -> int:
        """Tokens of one message in this prompt."""
        return _cost(self.counter, message, self.model)


def _cost(counter: TokenCounter, message: ChatMessage, model: str) -> int:
    return counter.count(message.content, model) + PER_MESSAGE_TOKENS


def _images_of(turn: Turn, model: str, image_detail: ImageDetail) -> list[tuple[str, int]]:
    return [
        (a.id, image_tokens(model, a.width, a.height, image_detail))
        for a in turn.attachments
        if a.kind == "image"
    ]


def _trimmed(priced: _Priced, *, limit: int, model: str) -> PromptResult:
    """The instructions, the first user message, a note of how many were left out, then the latest
    turns that fit."""
    messages, costs, kept_turns = priced.messages, priced.costs, priced.turns
    first = next((i for i, turn in enumerate(kept_turns) if turn.role is Role.USER), 0)
    head = priced.fixed + costs[first]
    last = len(messages) - 1
    if last == first:
        raise ThreadTooLongError(f"instructions + first message need {head} tokens; limit {limit} ({model})")
    # The note's size depends on the count's digits: price it for the largest possible count.
    note_cost = priced.cost(omission_note(len(messages)))
    minimum = head + note_cost + costs[last]
    if minimum > limit:
        raise ThreadTooLongError(
            f"instructions + first message + latest turn need {minimum} tokens; limit {limit} ({model})"
        )

    used = head + note_cost
    start = len(messages)  # index of the oldest turn kept at the end
    while start - 1 > first and used + costs[start - 1] <= limit:
        start -= 1
        used += costs[start]
    dropped = start - 1  # every turn before `start` except `first`
    note = omission_note(dropped)
    prompt_tokens = used - note_cost + priced.cost(note)
    return PromptResult(
        messages=(priced.system, messages[first], note, *messages[start:]),
        prompt_tokens=prompt_tokens,
        limit=limit,
        dropped_turns=dropped,
        exact_count=priced.counter.exact,
        sources=(None, kept_turns[first], None, *kept_turns[start:]),
        image_tokens=priced.image_costs[first] + sum(priced.image_costs[start:]),
    )
