"""One connection to the model per warm container: answers and tool rounds reuse it (fake OpenAI, HTTP)."""

from __future__ import annotations

import threading
import time

from bot.adapters.openai_model import OpenAIChatModel
from bot.core.ports import ChatMessage, Completion, ModelEvent, ModelRequest, SystemClock, TextDelta
from bot.core.tools import AssistantToolCalls, ToolCall, ToolMessage, ToolSpec
from tests.fakes import openai_server
from tests.fakes.openai_server import FakeOpenAI, Stream, calls
from tests.harness import Bot, slackbot

fake_openai = openai_server.fake_openai
bot = slackbot  # the fixture, used by name below

PROMPT = (ChatMessage("system", "You are a helper."), ChatMessage("user", "<@U1>: hello"))
FETCH = ToolSpec(
    name="fetch",
    description="Read a web page.",
    parameters={"type": "object", "properties": {"url": {"type": "string"}}},
    read_only=True,
)


def make_model(base_url: str, *, read_timeout_s: float = 5.0) -> OpenAIChatModel:
    return OpenAIChatModel(
        api_key="sk-test-0123456789",
        base_url=base_url,
        connect_timeout_s=1.0,
        read_timeout_s=read_timeout_s,
        max_retries=0,
        retry_base_delay_s=0.01,
        clock=SystemClock(),
    )


def answer(model: OpenAIChatModel, request: ModelRequest, *, within_s: float = 10.0) -> list[ModelEvent]:
    return list(model.stream(request, deadline=time.monotonic() + within_s))


def test_answers_on_a_warm_model_reuse_one_connection(fake_openai: FakeOpenAI) -> None:
    """Three answers in a row open one TCP connection: no handshake to the model after the first."""
    model = make_model(fake_openai.base_url)
    for _ in range(3):
        events = answer(model, ModelRequest(model="gpt-4.1", messages=PROMPT))
        assert "".join(e.text for e in events if isinstance(e, TextDelta)) == "Hello from the fake model."
    assert len(fake_openai.requests) == 3
    assert fake_openai.connections == 1


def test_the_tool_rounds_of_one_answer_share_the_connection(fake_openai: FakeOpenAI) -> None:
    """The model asks for a tool, gets its result and answers: both rounds go over one connection."""
    fake_openai.script(calls(("fetch", {"url": "https://a.example/"})), Stream(["Read it."]))
    model = make_model(fake_openai.base_url)
    first = answer(model, ModelRequest(model="gpt-4.1", messages=PROMPT, tools=(FETCH,)))
    call = next(e for e in first if isinstance(e, ToolCall))
    follow_up = (*PROMPT, AssistantToolCalls(text="", calls=(call,)), ToolMessage(call.id, "the page"))
    second = answer(model, ModelRequest(model="gpt-4.1", messages=follow_up, tools=(FETCH,)))
    assert [e for e in second if isinstance(e, TextDelta)] == [TextDelta("Read it.")]
    assert fake_openai.connections == 1


def test_a_model_that_stalls_after_done_does_not_hold_the_answer(fake_openai: FakeOpenAI) -> None:
    """A server that never ends its body after ``[DONE]`` still gives a whole, uncut answer (its
    connection is given up, not waited on until the deadline), and the next answer works."""
    never_ended = threading.Event()
    fake_openai.script(Stream(["All of it."], hold_after_done=never_ended))
    model = make_model(fake_openai.base_url, read_timeout_s=60)  # a drain that waited would hit the deadline
    try:
        events = answer(model, ModelRequest(model="gpt-4.1", messages=PROMPT), within_s=30)
    finally:
        never_ended.set()
    done = events[-1]
    assert isinstance(done, Completion)
    assert not done.cut
    assert [e for e in events if isinstance(e, TextDelta)] == [TextDelta("All of it.")]
    again = answer(model, ModelRequest(model="gpt-4.1", messages=PROMPT))
    assert isinstance(again[-1], Completion)
    assert not again[-1].cut


def test_a_warm_container_answers_its_second_command_without_a_new_connection(bot: Bot) -> None:
    """Through the Lambda handler: the second ``/architect`` on a warm container reuses the model
    connection that the first one opened."""
    for question in ("review the rate limiter", "review the retries"):
        assert bot.command(question)["statusCode"] == 200
        bot.lazy()
    assert len(bot.openai.requests) == 2
    assert bot.openai.connections == 1
