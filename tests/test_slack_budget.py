"""Slack's budget for one message, as Slack counts it: the text of ALL its blocks (about 12,000
characters; ``msg_blocks_too_long`` near it), the answer's Markdown and the footer, feedback, handoff
and canvas buttons under it together. End to end through the Lambda handler, both writers."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.playground.blockkit import text_length
from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, ROOT, Bot

SPOKES = 10


def _hub_agents(root: Path) -> Path:
    """The shipped agents plus ``hub``, whose answers offer ten handoffs (to ten small agents)."""
    agents = root / "agents"
    shutil.copytree(ROOT / "agents", agents)
    handoffs = "".join(
        f"  - label: ➡ Spoke {i} takes over the detailed design\n    agent: spoke-{i}\n"
        f"    prompt: Continue the design in this thread as spoke {i}.\n    send: true\n"
        for i in range(SPOKES)
    )
    (agents / "hub.agent.md").write_text(
        "---\nname: hub\ndescription: Hands a design to ten spokes.\nmodel: gpt-4.1\n"
        f"handoffs:\n{handoffs}---\nYou are the hub.\n"
    )
    for i in range(SPOKES):
        (agents / f"spoke-{i}.agent.md").write_text(
            f"---\nname: spoke-{i}\ndescription: Spoke {i}.\nmodel: gpt-4.1\n---\nYou are spoke {i}.\n"
        )
    return agents


@pytest.mark.parametrize("streaming", [True, False], ids=["stream", "edits"])
def test_a_long_answer_with_ten_handoffs_keeps_every_message_within_slacks_budget(
    slackbot: Bot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, streaming: bool
) -> None:
    """An 11,000-character answer by an agent with 10 handoffs: no message's blocks carry over 12,000
    characters of text (the emulator refuses more, as Slack does); the whole answer is shown, and
    the footer, feedback and all the buttons are on its last message."""
    monkeypatch.setenv("AGENTS_DIR", str(_hub_agents(tmp_path)))
    if not streaming:
        slackbot.slack.refuse_streaming()
    answer = " ".join(f"w{i:04d}" for i in range(1834))[:11_000]
    assert len(answer) == 11_000
    slackbot.openai.script(Stream([answer[i : i + 500] for i in range(0, len(answer), 500)]))
    slackbot.command("hub design the ingest pipeline")
    slackbot.lazy()
    root = slackbot.root().ts
    messages = slackbot.answers(root)
    assert len(messages) >= 2
    for message in slackbot.slack.thread(CHANNEL, root):
        assert text_length(message.blocks) <= 12_000
    shown = " ".join(m.markdown() for m in messages).split()
    assert shown == answer.split()  # every word once, in order
    last = messages[-1]
    labels = [b["text"]["text"] for b in last.buttons()]
    assert sum(label.startswith("➡ Spoke") for label in labels) == SPOKES
    assert "📝 Save as canvas" in labels
    assert any(b["type"] == "context_actions" for b in last.blocks)  # feedback
    assert any(b["type"] == "context" and "hub" in str(b) for b in last.blocks)  # footer
    assert all(not m.buttons() for m in messages[:-1])
