"""The thread writer with a recording Slack client and a fixed clock: what a person sees while an
answer streams (placeholder, first words, paced edits, long answers split, buttons at the end)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from bot.core.ports import FixedClock
from bot.slack.writers.edits import EditWriter


@dataclass
class RecordingClient:
    """The two chat methods the writer uses; records each call and hands out increasing ts values."""

    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    next_ts: int = 1

    def chat_postMessage(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("post", kwargs))
        ts = f"1700000000.{self.next_ts:06d}"
        self.next_ts += 1
        return {"ok": True, "ts": ts}

    def chat_update(self, **kwargs: Any) -> dict[str, Any]:
        self.calls.append(("update", kwargs))
        return {"ok": True, "ts": kwargs["ts"]}

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.calls]

    def text_of(self, index: int) -> str:
        blocks = self.calls[index][1]["blocks"]
        return "".join(b.get("text", "") for b in blocks if b.get("type") == "markdown")


def writer(client: RecordingClient, clock: FixedClock, **kwargs: Any) -> EditWriter:
    return EditWriter(
        client,  # type: ignore[arg-type]
        channel="C1",
        thread_ts="1700000000.000000",
        clock=clock,
        interval_s=1.0,
        placeholder="_Director is thinking…_",
        **kwargs,
    )


def test_first_words_replace_the_placeholder_at_once_then_edits_are_paced() -> None:
    """The thinking placeholder turns into text as soon as the first words come; later words are
    shown at most once a second (Slack's advice), and nothing is lost in between."""
    client, clock = RecordingClient(), FixedClock()
    w = writer(client, clock)
    w.start()
    w.write("Hello")
    assert client.kinds() == ["post", "update"]
    assert client.text_of(1).startswith("Hello")
    w.write(" there")
    w.write(" friend")
    assert client.kinds() == ["post", "update"]  # within the second: no edit
    clock.advance(1.0)
    w.write(".")
    assert client.kinds() == ["post", "update", "update"]
    assert client.text_of(2).startswith("Hello there friend.")
    w.finish([{"type": "actions", "elements": []}])
    final = client.calls[-1][1]
    assert client.text_of(len(client.calls) - 1) == "Hello there friend."
    assert final["blocks"][-1]["type"] == "actions"
    assert all(call[1]["thread_ts"] == "1700000000.000000" for call in client.calls if call[0] == "post")


def test_a_long_answer_continues_in_new_messages_with_code_fences_balanced() -> None:
    """An answer longer than one message is split; a code block cut in two still renders as code in
    both messages, and the buttons go under the last one."""
    client, clock = RecordingClient(), FixedClock()
    w = writer(client, clock, limit=200)
    w.start()
    w.write("Intro.\n\n```python\n" + "x = 1\n" * 60 + "```\n\nThe end.")
    w.finish([{"type": "actions", "elements": []}])
    posts = [i for i, (kind, _) in enumerate(client.calls) if kind == "post"]
    assert len(posts) >= 3  # placeholder + at least two continuation messages
    shown: dict[str, str] = {}
    for i, (_kind, call) in enumerate(client.calls):
        ts = call.get("ts") or f"1700000000.{posts.index(i) + 1:06d}"
        shown[ts] = client.text_of(i)
    for text in shown.values():
        assert text.count("```") % 2 == 0, text
    assert list(shown.values())[-1].endswith("The end.")
    assert client.calls[-1][1]["blocks"][-1]["type"] == "actions"


def test_a_failed_answer_keeps_what_was_written_and_says_what_happened() -> None:
    """If the model fails mid-answer, the words already shown stay and an error message follows."""
    client, clock = RecordingClient(), FixedClock()
    w = writer(client, clock)
    w.start()
    w.write("Half an answer")
    w.fail("The AI model is not answering right now.", "req-123")
    assert client.text_of(len(client.calls) - 2) == "Half an answer"
    error = client.calls[-1]
    assert error[0] == "post"
    assert "not answering" in error[1]["text"]
    assert "req-123" in error[1]["text"]


def test_a_failure_before_any_word_replaces_the_placeholder() -> None:
    """When nothing was written, the error takes the placeholder's place instead of leaving it."""
    client, clock = RecordingClient(), FixedClock()
    w = writer(client, clock)
    w.start()
    w.fail("The AI model is too slow right now.", None)
    assert client.kinds() == ["post", "update"]
    assert "too slow" in client.calls[-1][1]["text"]
