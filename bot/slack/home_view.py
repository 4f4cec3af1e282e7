"""App Home: the agent catalogue, how to use the bot, the person's recent threads, and (for the
policy's admins) feedback per agent. A pure Block Kit builder; :mod:`bot.slack.flows.home`
publishes it when the person opens the Home tab."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from bot.core.thread_address import parse_conversation_id
from bot.slack.blocks import SECTION_TEXT_LIMIT, escape_mrkdwn, truncate

if TYPE_CHECKING:
    from bot.core.conversation import RecentThread
    from bot.core.registry import Registry
    from bot.slack.blocks import Block

VIEW_BLOCKS_LIMIT = 100
COMMAND = "/architect"

USAGE = (
    f"• `{COMMAND} <verb> <request>` in a channel: the agent answers in a thread under your request.\n"
    f"• `{COMMAND}` alone: pick an agent from a menu and write the request in a form.\n"
    "• `@architect-bot <request>`: the default agent starts a thread (or joins the one you are in).\n"
    "• Reply in the thread to continue; the buttons under the newest answer hand the thread to "
    "another agent; 👍 / 👎 tell us how the answer was.\n"
    "• *Save as canvas* (a button under answers, or ⋮ on any message of a bot thread) keeps the "
    "thread's design in a canvas.\n"
    "• The *Agents* side panel (the ✨ icon) works too: each chat there is its own thread."
)


def _section(text: str) -> Block:
    return {"type": "section", "text": {"type": "mrkdwn", "text": truncate(text, SECTION_TEXT_LIMIT)}}


def _sections(lines: Sequence[str], room: int, more: str) -> list[Block]:
    """``lines`` packed into as few sections as fit, at most ``room`` of them."""
    blocks: list[Block] = []
    chunk = ""
    for index, line in enumerate(lines):
        if chunk and len(chunk) + 1 + len(line) > SECTION_TEXT_LIMIT:
            if len(blocks) + 1 >= room:
                blocks.append(_section(f"{chunk}\n{more.format(n=len(lines) - index)}"))
                return blocks
            blocks.append(_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    if chunk:
        blocks.append(_section(chunk))
    return blocks


def agent_lines(registry: Registry) -> list[str]:
    """One line per agent: name, verb, model, whom it hands off to, description."""
    lines: list[str] = []
    for spec in registry:
        verb = registry.verb_for(spec.name) or spec.name
        model = registry.model_shown(spec.name)  # a routed model names its endpoint
        targets = sorted({h.target for h in registry.handoffs(spec.name)})
        hands = f" · hands off to {', '.join(f'*{escape_mrkdwn(t)}*' for t in targets)}" if targets else ""
        how = f"`{COMMAND} {escape_mrkdwn(verb)}`" if spec.user_invocable else "_used by other agents only_"
        about = escape_mrkdwn(truncate(" ".join((spec.description or "").split()), 200)) or "_no description_"
        lines.append(f"*{escape_mrkdwn(spec.name)}* · {how} · {escape_mrkdwn(model)}{hands}\n{about}")
    return lines


def _recent_line(thread: RecentThread, link: Callable[[str], str | None]) -> str:
    title = escape_mrkdwn(truncate(thread.title, 80)) or "_(no text)_"
    url = link(thread.conversation_id)
    shown = f"<{url}|{title}>" if url else title
    who = f" · {escape_mrkdwn(thread.agent)}" if thread.agent else ""
    when = f" · <!date^{int(thread.at)}^{{date_short_pretty}} {{time}}|recently>" if thread.at else ""
    return f"• {shown}{who}{when}"


def _feedback_lines(feedback: Mapping[str, tuple[int, int]]) -> list[str]:
    ranked = sorted(feedback.items(), key=lambda item: (-(item[1][0] + item[1][1]), item[0].casefold()))
    lines: list[str] = []
    for agent, (up, down) in ranked:
        total = up + down
        share = f" ({round(100 * up / total)}% 👍)" if total > 0 else ""
        lines.append(f"• *{escape_mrkdwn(agent)}*: 👍 {up} · 👎 {down}{share}")
    return lines or ["_No votes yet._"]


def home_view(
    registry: Registry,
    *,
    recent: Sequence[RecentThread],
    link: Callable[[str], str | None],
    feedback: Mapping[str, tuple[int, int]] | None = None,
    note: str | None = None,
) -> dict[str, Any]:
    """The Home tab for one person. ``link`` turns a conversation id into a thread link (or None);
    ``feedback`` (admins only) is thumbs up and down per agent; ``note`` says what could not be shown."""
    blocks: list[Block] = [
        {"type": "header", "text": {"type": "plain_text", "text": "architect-bot"}},
        _section(f"Your team's AI agents, in Slack threads.\n{USAGE}"),
    ]
    if note:
        blocks.append({"type": "context", "elements": [{"type": "mrkdwn", "text": truncate(note, 3_000)}]})
    blocks += [
        {"type": "divider"},
        {"type": "header", "text": {"type": "plain_text", "text": "Your recent threads"}},
    ]
    slack_threads = [t for t in recent if parse_conversation_id(t.conversation_id) is not None]
    if slack_threads:
        blocks.append(_section("\n".join(_recent_line(t, link) for t in slack_threads)))
    else:
        blocks.append(_section(f"_None yet. Start one with `{COMMAND}` in a channel._"))
    admin: list[Block] = []
    if feedback is not None:
        admin = [
            {"type": "divider"},
            {"type": "header", "text": {"type": "plain_text", "text": "Feedback per agent (admins)"}},
            *_sections(_feedback_lines(feedback), 5, "_…and {n} more agents._"),
        ]
    blocks += [{"type": "divider"}, {"type": "header", "text": {"type": "plain_text", "text": "Agents"}}]
    room = VIEW_BLOCKS_LIMIT - len(blocks) - len(admin)
    more = f"_…and {{n}} more: see `{COMMAND} help`._"
    blocks += _sections(agent_lines(registry), room, more) or [_section("_No agents are loaded._")]
    return {"type": "home", "callback_id": "home", "blocks": blocks + admin}


def thread_link(base: str | None) -> Callable[[str], str | None]:
    """Conversation id -> link to its thread in Slack (None without the workspace URL)."""

    def link(conversation_id: str) -> str | None:
        address = parse_conversation_id(conversation_id)
        if base is None or address is None:
            return None
        return f"{base}archives/{address.channel_id}/p{address.thread_ts.replace('.', '')}"

    return link
