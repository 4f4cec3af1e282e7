"""The OpenAI adapter against a fake OpenAI server over real HTTP (the SDK pointed at it by base_url)."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from bot.adapters.openai_model import OpenAIChatModel
from bot.core.files import ImageInput
from bot.core.ports import ChatMessage, Completion, ModelEvent, ModelRequest, SystemClock, TextDelta
from bot.errors import (
    ModelRateLimitedError,
    ModelRequestError,
    ModelTimeoutError,
    ModelUnavailableError,
)
from tests.fakes import openai_server
from tests.fakes.openai_server import FakeOpenAI, Status, Stream

fake_openai = openai_server.fake_openai  # the fixture, used by name below

API_KEY = "sk-test-SECRET-0123456789abcdef"
PROMPT = (ChatMessage("system", "You are a helper."), ChatMessage("user", "<@U1>: hello"))


class Sleeps:
    """Records backoff sleeps without sleeping (keeps the suite fast)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    """The injected sleep."""
    return Sleeps()


def make_model(
    base_url: str, sleeps: Sleeps, *, max_retries: int = 2, read_timeout_s: float = 5.0
) -> OpenAIChatModel:
    return OpenAIChatModel(
        api_key=API_KEY,
        base_url=base_url,
        connect_timeout_s=1.0,
        read_timeout_s=read_timeout_s,
        max_retries=max_retries,
        retry_base_delay_s=0.01,
        clock=SystemClock(),
        sleep=sleeps,
    )


def run(
    chat: OpenAIChatModel,
    *,
    within_s: float = 5.0,
    model: str = "gpt-4.1",
    fallback_models: tuple[str, ...] = (),
) -> list[ModelEvent]:
    """Stream one answer to PROMPT and collect every event."""
    request = ModelRequest(model=model, messages=PROMPT, fallback_models=fallback_models)
    return list(chat.stream(request, deadline=time.monotonic() + within_s))


def text_of(events: list[ModelEvent]) -> str:
    return "".join(e.text for e in events if isinstance(e, TextDelta))


def completion_of(events: list[ModelEvent]) -> Completion:
    assert isinstance(events[-1], Completion)
    assert sum(isinstance(e, Completion) for e in events) == 1
    return events[-1]


def test_streams_deltas_in_order_and_records_usage(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """An answer arrives piece by piece in order, and its token usage and timings are recorded."""
    fake_openai.script(Stream(["The ", "answer ", "is ", "42."], delay_s=0.005, usage=(321, 4)))
    events = run(make_model(fake_openai.base_url, sleeps), model="gpt-4o")

    assert [e.text for e in events if isinstance(e, TextDelta)] == ["The ", "answer ", "is ", "42."]
    done = completion_of(events)
    assert not done.cut
    assert done.finish_reason == "stop"
    assert done.usage.model == "gpt-4o"
    assert (done.usage.input_tokens, done.usage.output_tokens) == (321, 4)
    assert done.usage.first_token_ms is not None
    assert done.usage.latency_ms >= done.usage.first_token_ms
    sent = fake_openai.requests[0]
    assert sent.model == "gpt-4o"
    assert sent.messages == [
        {"role": "system", "content": "You are a helper."},
        {"role": "user", "content": "<@U1>: hello"},
    ]
    assert sent.body["stream"] is True
    assert sent.body["stream_options"] == {"include_usage": True}
    assert sent.headers.get("authorization") == f"Bearer {API_KEY}"


def test_rate_limit_then_success_is_retried_honouring_retry_after(
    fake_openai: FakeOpenAI, sleeps: Sleeps
) -> None:
    """A 429 is retried after the server's Retry-After, and the person still gets the whole answer."""
    fake_openai.script(Status(429, retry_after=0.05), Stream(["ok"]))
    events = run(make_model(fake_openai.base_url, sleeps))

    assert text_of(events) == "ok"
    assert len(fake_openai.requests) == 2
    assert len(sleeps.calls) == 1
    assert sleeps.calls[0] >= 0.05


def test_server_errors_until_give_up_raise_unavailable(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """Persistent 5xx: max_retries + 1 attempts with growing waits, then "model not answering"."""
    fake_openai.set_default(Status(500))
    with pytest.raises(ModelUnavailableError) as caught:
        run(make_model(fake_openai.base_url, sleeps, max_retries=3))

    assert len(fake_openai.requests) == 4
    assert len(sleeps.calls) == 3
    # exponential: base 0.01 * 2**n, jitter 0.5-1.0
    assert 0.005 <= sleeps.calls[0] <= 0.01
    assert 0.01 <= sleeps.calls[1] <= 0.02
    assert 0.02 <= sleeps.calls[2] <= 0.04
    assert "500" in caught.value.detail


def test_persistent_rate_limit_raises_rate_limited(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """Persistent 429s end with the "rate limiting us" message, not a generic error."""
    fake_openai.set_default(Status(429, retry_after=0.01))
    with pytest.raises(ModelRateLimitedError):
        run(make_model(fake_openai.base_url, sleeps, max_retries=1))
    assert len(fake_openai.requests) == 2


def test_retry_after_past_the_deadline_gives_up_at_once(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """A Retry-After longer than the time left is not waited out: the person hears back at once."""
    fake_openai.script(Status(429, retry_after=30))
    started = time.monotonic()
    with pytest.raises(ModelRateLimitedError, match="would pass the deadline"):
        run(make_model(fake_openai.base_url, sleeps), within_s=2.0)
    assert sleeps.calls == []
    assert time.monotonic() - started < 25  # told at once, not after the 30 s Retry-After


@pytest.mark.parametrize("status", [401, 400, 404])
def test_client_errors_are_rejected_without_retry(
    fake_openai: FakeOpenAI, sleeps: Sleeps, status: int
) -> None:
    """A bad key, bad request or unknown model fails at once with "provider rejected the request"."""
    fake_openai.set_default(Status(status, message=f"Incorrect API key provided: {API_KEY}"))
    with pytest.raises(ModelRequestError) as caught:
        run(make_model(fake_openai.base_url, sleeps))
    assert len(fake_openai.requests) == 1
    assert sleeps.calls == []
    assert str(status) in caught.value.detail


def test_missing_model_falls_back_to_the_next_model(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """If the agent's model does not exist, its next listed model answers instead."""
    fake_openai.script(Status(404), Stream(["from fallback"]))
    events = run(make_model(fake_openai.base_url, sleeps), model="gpt-9-nope", fallback_models=("gpt-4.1",))

    assert text_of(events) == "from fallback"
    assert [r.model for r in fake_openai.requests] == ["gpt-9-nope", "gpt-4.1"]
    assert completion_of(events).usage.model == "gpt-4.1"


def test_deadline_mid_stream_cuts_and_keeps_the_partial_text(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """When time runs out mid-answer, the text so far is kept and the answer is marked cut, without
    waiting for a model that stalls (bounds far apart: a busy machine cannot flip the outcome)."""
    fake_openai.script(Stream(["Part one. ", "Part two.", " never"], stall_after_first_s=60))
    started = time.monotonic()
    model = make_model(fake_openai.base_url, sleeps, read_timeout_s=60)  # the deadline comes first
    events = run(model, within_s=6.0)  # ample for the first word

    assert time.monotonic() - started < 30  # cut at the deadline, not after the 60 s stall
    assert text_of(events) == "Part one. "
    done = completion_of(events)
    assert done.cut
    assert done.finish_reason == "deadline"
    assert len(fake_openai.requests) == 1


def test_deadline_before_first_token_raises_timeout(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """A model that says nothing before the deadline gives "too slow", on time and without retrying."""
    fake_openai.script(Stream(["late"], stall_before_s=60))
    started = time.monotonic()
    with pytest.raises(ModelTimeoutError):
        run(make_model(fake_openai.base_url, sleeps), within_s=1.0)
    assert time.monotonic() - started < 30  # at the deadline, not after the 60 s stall
    assert len(fake_openai.requests) == 1


def test_stream_broken_after_first_token_is_not_retried(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """A connection lost mid-answer raises instead of retrying, so no text is ever sent twice."""
    fake_openai.script(Stream(["one ", "two ", "three"], close_after=1))
    stream = make_model(fake_openai.base_url, sleeps).stream(
        ModelRequest(model="gpt-4.1", messages=PROMPT), deadline=time.monotonic() + 5
    )
    assert next(stream) == TextDelta("one ")
    with pytest.raises(ModelUnavailableError):
        next(stream)
    assert len(fake_openai.requests) == 1


def test_stream_broken_before_first_token_is_retried(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """A connection lost before any text is retried transparently."""
    fake_openai.script(Stream(["never"], close_after=0), Stream(["fine"]))
    assert text_of(run(make_model(fake_openai.base_url, sleeps))) == "fine"
    assert len(fake_openai.requests) == 2


def test_connection_refused_raises_unavailable(sleeps: Sleeps) -> None:
    """No server at all: retried, then "model not answering" (not a crash)."""
    with FakeOpenAI() as fake:
        base_url = fake.base_url  # the port is free again once the server stops
    with pytest.raises(ModelUnavailableError):
        run(make_model(base_url, sleeps, max_retries=1))
    assert len(sleeps.calls) == 1


def test_errors_never_contain_the_api_key(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """Error texts (logs, operators) never include the API key, even when the provider echoes it."""
    fake_openai.script(
        Status(400, message=f"bad key {API_KEY}"),
        Status(401, message=f"Incorrect API key provided: {API_KEY}"),
    )
    fake_openai.set_default(Status(500, message=f"boom {API_KEY}"))
    model = make_model(fake_openai.base_url, sleeps, max_retries=1)
    for expected in (ModelRequestError, ModelRequestError, ModelUnavailableError):
        with pytest.raises(expected) as caught:
            run(model)
        exc = caught.value
        for shown in (str(exc), exc.detail, exc.user_message, repr(exc)):
            assert API_KEY not in shown
            assert "SECRET" not in shown


def test_consumer_stopping_early_closes_the_stream(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """If the caller stops reading (e.g. the thread was deleted), the model call ends cleanly."""
    fake_openai.script(Stream(["a", "b", "c"], delay_s=0.05))
    stream: Iterator[ModelEvent] = make_model(fake_openai.base_url, sleeps).stream(
        ModelRequest(model="gpt-4.1", messages=PROMPT), deadline=time.monotonic() + 5
    )
    first = next(stream)
    assert first == TextDelta("a")
    stream.close()  # type: ignore[attr-defined]


def test_images_travel_as_content_parts(fake_openai: FakeOpenAI, sleeps: Sleeps) -> None:
    """A diagram shared in the thread reaches the model as an image input after the message's text."""
    image = ImageInput(name="arch.png", mimetype="image/png", data=b"\x89PNG-bytes", width=10, height=10)
    messages = (
        ChatMessage("system", "You are a helper."),
        ChatMessage("user", "<@U1>: review\n\n[image arch.png, 10x10: attached below]", images=(image,)),
        ChatMessage("assistant", "Looks fine."),
    )
    chat = make_model(fake_openai.base_url, sleeps)
    list(chat.stream(ModelRequest(model="gpt-4.1", messages=messages), deadline=time.monotonic() + 5))
    sent = fake_openai.requests[-1].messages
    assert sent[0] == {"role": "system", "content": "You are a helper."}
    assert sent[1]["content"] == [
        {"type": "text", "text": "<@U1>: review\n\n[image arch.png, 10x10: attached below]"},
        {"type": "image_url", "image_url": {"url": image.data_url(), "detail": "high"}},
    ]
    assert sent[2] == {"role": "assistant", "content": "Looks fine."}
