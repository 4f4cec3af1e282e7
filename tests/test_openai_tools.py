"""Tool calling through the OpenAI adapter, against the fake OpenAI server over real HTTP."""

from __future__ import annotations

import json
import time

from bot.adapters.openai_model import OpenAIChatModel
from bot.core.ports import ChatMessage, Completion, ModelRequest, SystemClock, TextDelta
from bot.core.tools import AssistantToolCalls, ToolCall, ToolMessage, ToolSpec
from tests.fakes import openai_server
from tests.fakes.openai_server import FakeOpenAI, Stream, calls

fake_openai = openai_server.fake_openai

FETCH = ToolSpec(
    name="fetch",
    description="Read a web page.",
    parameters={"type": "object", "properties": {"url": {"type": "string"}}, "required": ["url"]},
    read_only=True,
)
PROMPT = (ChatMessage("system", "You are a helper."), ChatMessage("user", "<@U1>: read https://a.example/d"))


def model(base_url: str) -> OpenAIChatModel:
    return OpenAIChatModel(
        api_key="sk-test-0123456789",
        base_url=base_url,
        connect_timeout_s=1.0,
        read_timeout_s=5.0,
        max_retries=0,
        retry_base_delay_s=0.01,
        clock=SystemClock(),
    )


def test_streamed_tool_calls_arrive_whole(fake_openai: FakeOpenAI) -> None:
    """The model's tool calls, streamed in pieces, reach the loop whole and in order, after any text."""
    fake_openai.script(
        calls(
            ("fetch", {"url": "https://a.example/d"}),
            ("fetch", {"url": "https://b.example/"}),
            text=["Let me read it."],
        )
    )
    chat = model(fake_openai.base_url)
    events = list(
        chat.stream(
            ModelRequest(model="gpt-4.1", messages=PROMPT, tools=(FETCH,)), deadline=time.monotonic() + 10
        )
    )
    assert events[0] == TextDelta("Let me read it.")
    assert events[1:3] == [
        ToolCall(id="call_fake_0", name="fetch", arguments='{"url": "https://a.example/d"}'),
        ToolCall(id="call_fake_1", name="fetch", arguments='{"url": "https://b.example/"}'),
    ]
    completion = events[3]
    assert isinstance(completion, Completion)
    assert completion.finish_reason == "tool_calls"
    sent = fake_openai.requests[-1].body
    assert sent["tools"] == [
        {
            "type": "function",
            "function": {
                "name": "fetch",
                "description": "Read a web page.",
                "parameters": dict(FETCH.parameters),
            },
        }
    ]
    assert sent["tool_choice"] == "auto"
    chat.close()


def test_tool_results_go_back_as_tool_messages(fake_openai: FakeOpenAI) -> None:
    """After the tools ran, the model sees its own calls and each result, linked by call id."""
    fake_openai.script(Stream(["The doc says: append-only."]))
    chat = model(fake_openai.base_url)
    call = ToolCall(id="call_1", name="fetch", arguments='{"url": "https://a.example/d"}')
    request = ModelRequest(
        model="gpt-4.1",
        messages=(
            *PROMPT,
            AssistantToolCalls(calls=(call,), text="Reading."),
            ToolMessage("call_1", "page text"),
        ),
        tools=(FETCH,),
        tool_choice="none",
    )
    text = "".join(
        e.text for e in chat.stream(request, deadline=time.monotonic() + 10) if isinstance(e, TextDelta)
    )
    assert text == "The doc says: append-only."
    sent = fake_openai.requests[-1].body
    assert sent["messages"][2] == {
        "role": "assistant",
        "content": "Reading.",
        "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "fetch", "arguments": call.arguments}}
        ],
    }
    assert sent["messages"][3] == {"role": "tool", "tool_call_id": "call_1", "content": "page text"}
    assert sent["tool_choice"] == "none"
    chat.close()


def test_a_request_without_tools_sends_none(fake_openai: FakeOpenAI) -> None:
    """Agents without tools send exactly what they sent before: no tools, no tool_choice."""
    chat = model(fake_openai.base_url)
    list(chat.stream(ModelRequest(model="gpt-4.1", messages=PROMPT), deadline=time.monotonic() + 10))
    sent = fake_openai.requests[-1].body
    assert "tools" not in sent
    assert "tool_choice" not in sent
    assert json.dumps(sent["messages"]) == json.dumps(
        [
            {"role": "system", "content": "You are a helper."},
            {"role": "user", "content": "<@U1>: read https://a.example/d"},
        ]
    )
    chat.close()
