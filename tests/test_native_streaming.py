"""Both answer writers against the Slack emulator (in process, with its argument and limit checks)
and a fixed clock: what a person sees while an answer streams on Slack's streaming API, and when
Slack refuses it, lets a stream expire or refuses the loading state."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from slack_sdk.errors import SlackApiError

from bot.core.ports import FixedClock
from bot.playground.slack_api import call
from bot.playground.workspace import Message, Workspace
from bot.slack.features import Feature, FeatureMemory
from bot.slack.writers import AnswerWriter, LoadingStatus, NativeWriter, Recipient, WriterStats
from bot.slack.writers.edits import EditWriter

TOKEN = "xoxb-writer-test"
BUTTONS = [
    {"type": "actions", "elements": [{"type": "button", "text": {"type": "plain_text", "text": "Go"}}]}
]


class EmulatedClient:
    """slack_sdk's method names on the emulator, in process: ``chat_startStream(**kw)`` and so on."""

    def __init__(self, workspace: Workspace) -> None:
        self.workspace = workspace

    def __getattr__(self, name: str) -> Any:
        method = name.replace("_", ".")

        def invoke(**params: Any) -> dict[str, Any]:
            sent = {key: value for key, value in params.items() if value is not None}
            answer = call(self.workspace, method, sent, TOKEN)
            if not answer.body.get("ok"):
                raise SlackApiError(f"{method} failed", answer.body)
            return answer.body

        return invoke


class Setup:
    """A channel thread in an emulated workspace, a fixed clock, and the feature memory."""

    def __init__(self) -> None:
        self.clock = FixedClock()
        self.ws = Workspace(bot_token=TOKEN, strict=True, monotonic=self.clock.monotonic)
        self.ws.add_user("U1", "ada")
        self.ws.add_channel("C1", "design", {"U1", self.ws.bot_user_id})
        self.root = self.ws.post(channel="C1", user="U1", text="review my design").ts
        self.client = EmulatedClient(self.ws)
        self.features = FeatureMemory(self.clock)
        self.recipient = Recipient("C1", self.root, "T1", "U1")

    def native(self, *, limit: int = 11_000, status: bool = True) -> NativeWriter:
        stats = WriterStats()
        return NativeWriter(
            self.client,  # type: ignore[arg-type]
            self.recipient,
            clock=self.clock,
            features=self.features,
            limit=limit,
            placeholder="_Director is thinking…_",
            status=self._status(stats) if status else None,
            stats=stats,
        )

    def edits(self, *, limit: int = 11_000, status: bool = True) -> EditWriter:
        stats = WriterStats()
        return EditWriter(
            self.client,  # type: ignore[arg-type]
            channel="C1",
            thread_ts=self.root,
            clock=self.clock,
            limit=limit,
            placeholder="_Director is thinking…_",
            status=self._status(stats) if status else None,
            stats=stats,
        )

    def _status(self, stats: WriterStats) -> LoadingStatus:
        return LoadingStatus(
            self.client,  # type: ignore[arg-type]
            self.recipient,
            agent="Director",
            features=self.features,
            stats=stats,
        )

    def thread(self) -> list[Message]:
        return [m for m in self.ws.thread("C1", self.root) if m.user == self.ws.bot_user_id]

    def methods(self) -> list[str]:
        return [c.method for c in self.ws.calls]


def test_native_answer_shows_status_then_streams_then_stops_with_buttons() -> None:
    """The thread says "<agent> is thinking" first; the first words start the stream at once,
    later words are appended at most once a second, and the footer and buttons come at the end."""
    s = Setup()
    w = s.native()
    w.start()
    status = s.ws.agent.status("C1", s.root, s.clock.monotonic())
    assert status is not None
    assert "Director" in status.status
    assert all("Director" in m for m in status.loading_messages)
    w.write("Hello")
    assert s.methods() == ["assistant.threads.setStatus", "chat.startStream"]
    assert s.ws.agent.status("C1", s.root, s.clock.monotonic()) is None  # the message cleared it
    w.write(" there")
    w.write(" friend")
    assert s.methods()[-1] == "chat.startStream"  # within the second: nothing
    s.clock.advance(1.0)
    w.write(".")
    assert s.methods()[-1] == "chat.appendStream"
    written = w.finish(BUTTONS)
    [answer] = s.thread()
    assert answer.markdown() == "Hello there friend."
    assert answer.blocks[-1]["type"] == "actions"
    assert written.last_ts == answer.ts
    assert "chat.update" not in s.methods()
    assert "chat.postMessage" not in s.methods()


def test_native_refused_falls_back_to_edits_and_is_remembered() -> None:
    """Where Slack refuses streaming for the workspace, the answer still arrives (by edits), and the
    next answer there does not try the streaming API again."""
    s = Setup()
    s.ws.agent.refuse("chat.startStream", "access_denied")
    w = s.native()
    w.start()
    w.write("Fallback ")
    s.clock.advance(1.0)
    w.write("answer.")
    w.finish(BUTTONS)
    [answer] = s.thread()
    assert answer.markdown() == "Fallback answer."
    assert answer.blocks[-1]["type"] == "actions"
    assert w.stats.fell_back == "access_denied"
    assert not s.features.available(Feature.STREAMING, "T1", "C1")
    assert not s.features.available(Feature.STREAMING, "T1", "C2")  # the whole workspace
    s.clock.advance(3601)
    assert s.features.available(Feature.STREAMING, "T1", "C1")  # tried again after the TTL


def test_a_channel_refusal_is_remembered_for_that_channel_only() -> None:
    """A channel type that does not support streaming does not stop streaming elsewhere."""
    s = Setup()
    s.ws.agent.refuse("chat.startStream", "channel_type_not_supported")
    w = s.native()
    w.start()
    w.write("x")
    w.finish()
    assert not s.features.available(Feature.STREAMING, "T1", "C1")
    assert s.features.available(Feature.STREAMING, "T1", "C2")


def test_an_expired_stream_is_finished_with_edits_on_the_same_message() -> None:
    """A stream idle for five minutes leaves the streaming state: the answer finishes in the same
    message by edits, nothing lost."""
    s = Setup()
    w = s.native()
    w.start()
    w.write("Before the pause. ")
    s.clock.advance(301)
    w.write("After the pause.")
    w.finish(BUTTONS)
    [answer] = s.thread()
    assert answer.markdown() == "Before the pause. After the pause."
    assert answer.blocks[-1]["type"] == "actions"
    assert w.stats.fell_back == "message_not_in_streaming_state"
    assert s.features.available(Feature.STREAMING, "T1", "C1")  # one stream, not the workspace


def test_without_a_loading_state_a_placeholder_shows_and_goes_away() -> None:
    """Where Slack refuses the loading state, the placeholder shows until the stream starts, then
    is deleted; the refusal is remembered, so the next answer posts the placeholder straight away."""
    s = Setup()
    s.ws.agent.refuse("assistant.threads.setStatus", "missing_scope")
    w = s.native()
    w.start()
    assert [m.markdown() for m in s.thread()] == ["_Director is thinking…_"]
    w.write("Words.")
    w.finish()
    assert [m.markdown() for m in s.thread()] == ["Words."]
    assert w.stats.status_refused == "missing_scope"
    before = len(s.ws.calls)
    s.native().start()
    assert [c.method for c in s.ws.calls[before:]] == ["chat.postMessage"]


def test_edits_path_with_a_loading_state_posts_no_placeholder() -> None:
    """On the chat.update path the loading state replaces the placeholder too: the first message
    the thread gets already holds the first words."""
    s = Setup()
    w = s.edits()
    w.start()
    w.write("First words")
    first = s.thread()[0]
    assert first.markdown().startswith("First words")
    w.finish(BUTTONS)
    assert [m.markdown() for m in s.thread()] == ["First words"]


def test_failures_keep_what_was_written() -> None:
    """A failure mid-stream keeps the streamed words and says what happened below them; a failure
    before any word says it in place of the placeholder."""
    s = Setup()
    w = s.native()
    w.start()
    w.write("Half an answer")
    w.fail("The AI model is not answering right now.", "req-1")
    texts = [m.markdown() or m.text for m in s.thread()]
    assert texts[0] == "Half an answer"
    assert "not answering" in texts[1]
    assert "req-1" in texts[1]
    s2 = Setup()
    s2.ws.agent.refuse("assistant.threads.setStatus", "missing_scope")
    w2 = s2.native()
    w2.start()
    w2.fail("Too slow.", None)
    [only] = s2.thread()
    assert "Too slow." in only.text


def _run(writer: AnswerWriter, clock: FixedClock, pieces: list[str], gaps: list[float]) -> None:
    writer.start()
    for piece, gap in zip(pieces, gaps, strict=True):
        clock.advance(gap)
        writer.write(piece)


_LINES = st.sampled_from(
    ["Some prose here.", "", "```python", "```", "x = 1", "- a list item", "## Heading", "word " * 12]
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    lines=st.lists(_LINES, min_size=5, max_size=120),
    chunk=st.integers(min_value=1, max_value=90),
    gap=st.sampled_from([0.0, 0.3, 1.1]),
    native=st.booleans(),
)
def test_any_answer_is_shown_whole_in_messages_within_limits(
    lines: list[str], chunk: int, gap: float, native: bool
) -> None:
    """Whatever the model writes and however fast: every message stays within the limit, code
    fences are balanced in each, nothing is lost or repeated, the buttons are on the last message,
    and the writer knows the last message's text (to show it again without its buttons)."""
    s = Setup()
    limit = 300
    if sum(line.startswith("```") for line in lines) % 2:
        lines = [*lines, "```"]  # the model closes its code blocks
    text = "\n".join(lines)
    writer = s.native(limit=limit) if native else s.edits(limit=limit)
    pieces = [text[i : i + chunk] for i in range(0, len(text), chunk)] or [""]
    _run(writer, s.clock, pieces, [gap] * len(pieces))
    written = writer.finish(BUTTONS)
    messages = s.thread()
    assert messages, "the answer was shown"
    for message in messages:
        assert len(message.markdown()) <= limit
        assert message.markdown().count("```") % 2 == 0
    assert messages[-1].blocks[-1]["type"] == "actions"
    assert all(m.blocks[-1]["type"] != "actions" for m in messages[:-1])
    assert written.last_ts == messages[-1].ts
    assert messages[-1].markdown() == written.last_markdown  # so it can be shown again without buttons
    if text:
        words = lambda t: t.replace("```python", "").replace("```", "").split()  # noqa: E731
        assert words("\n".join(m.markdown() for m in messages)) == words(text)
