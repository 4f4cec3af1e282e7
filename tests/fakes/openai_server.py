"""A fake OpenAI-compatible server over real HTTP, scriptable per test.

Usage::

    from tests.fakes.openai_server import FakeOpenAI, Status, Stream

    with FakeOpenAI() as fake:                       # 127.0.0.1 on a free port, in a thread
        fake.script(Status(429, retry_after=0.01), Stream(["Hel", "lo"]))
        model = OpenAIChatModel(api_key="sk-test", base_url=fake.base_url, ...)
        ...
        assert fake.requests[-1].messages[0]["role"] == "system"

Each ``POST /v1/chat/completions`` takes the next scripted behaviour; when the script is empty the
``default`` one is used (a short streamed answer unless given). Behaviours:

- :class:`Stream` - answer in chunks as OpenAI streams them (``data: {...}``, a final usage chunk
  with empty ``choices`` when the request asked for ``stream_options.include_usage``, then
  ``data: [DONE]``), with optional delays, a stall before the first chunk or after one, or the
  connection closed mid-stream. Non-streaming requests get the joined text as one completion.
- :class:`Status` - an error status with OpenAI's error body (``429`` with ``Retry-After``, ``500``,
  ``404`` ``model_not_found``, ``401``...), or a gateway's (:func:`litellm_invalid_model`,
  :func:`litellm_no_db`: LiteLLM's proxy answers as these do).
- :func:`calls` - a :class:`Stream` whose model asks for tools: any text chunks first, then each
  call's ``tool_calls`` deltas as OpenAI streams them (id and name first, the JSON arguments in
  pieces), ``finish_reason: "tool_calls"``.

Every request is recorded in :attr:`FakeOpenAI.requests` (model, messages, the whole body, headers,
and the client's address: a new port means the client opened a new connection);
:attr:`FakeOpenAI.connections` counts the TCP connections accepted.
The fixture :func:`fake_openai` gives a running server per test; bind it in a test module with
``fake_openai = openai_server.fake_openai`` (an assignment keeps ruff's F811 quiet).
"""

from __future__ import annotations

import json
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any

import pytest

from tests.fakes._http import LocalServer, send_json


@dataclass(frozen=True)
class Stream:
    """Stream ``chunks`` of text; ``None`` chunks are skipped (use delays instead)."""

    chunks: Sequence[str] = ("Hello", " from the", " fake model.")
    delay_s: float = 0.0  # between chunks
    stall_before_s: float = 0.0  # after the headers, before the first chunk
    stall_after_first_s: float = 0.0  # after the first text chunk
    hold_after_first: threading.Event | None = None  # after the first text chunk, wait until it is set
    hold_before_first: threading.Event | None = None  # after the headers, wait until it is set
    close_after: int | None = None  # close the connection after this many text chunks (no [DONE])
    hold_after_done: threading.Event | None = None  # after [DONE], end the body only once it is set
    finish_reason: str = "stop"
    usage: tuple[int, int] | None = None  # (prompt_tokens, completion_tokens); default: computed
    served_model: str | None = None  # "model" field of the chunks; default: the requested model
    tool_calls: Sequence[tuple[str, dict[str, Any] | str]] = ()  # (name, arguments) after the text


def calls(*requested: tuple[str, dict[str, Any] | str], text: Sequence[str] = ()) -> Stream:
    """A model turn that asks for tools: ``calls(("fetch", {"url": "https://..."}))``.

    Arguments given as a string are sent as they are (to script broken JSON).
    """
    return Stream(chunks=tuple(text), tool_calls=tuple(requested), finish_reason="tool_calls")


@dataclass(frozen=True)
class Status:
    """Answer with an HTTP error status and OpenAI's error body."""

    code: int
    retry_after: float | None = None  # seconds, sent as the Retry-After header
    error_code: str | None = None  # e.g. "model_not_found"; sensible default per status
    message: str | None = None
    error_type: str | None = None  # the error's "type"; default per status (a gateway's own, e.g. LiteLLM's)


Behaviour = Stream | Status


def litellm_invalid_model(model: str) -> Status:
    """LiteLLM's proxy on a model it does not serve: 400, not OpenAI's 404 ``model_not_found``."""
    return Status(
        400,
        error_type="invalid_request_error",
        error_code="400",
        message=f"Invalid model name passed in model={model}. Call `/v1/models` to view available models for "
        "your key.",
    )


def litellm_no_db() -> Status:
    """LiteLLM's proxy on a key it cannot check (no database connected): 400, not OpenAI's 401."""
    return Status(
        400, error_type="no_db_connection", error_code="400", message="Authentication Error, No connected db."
    )


_DEFAULT_CODES = {
    401: ("invalid_api_key", "invalid_request_error", "Incorrect API key provided."),
    404: ("model_not_found", "invalid_request_error", "The model does not exist or you do not have access."),
    429: ("rate_limit_exceeded", "requests", "Rate limit reached."),
}


@dataclass(frozen=True)
class RecordedRequest:
    """What the fake server received."""

    path: str
    body: dict[str, Any]
    headers: dict[str, str]  # lower-case names
    behaviour: Behaviour
    peer: tuple[str, int] = ("", 0)  # the client's address: a new port means a new connection

    @property
    def model(self) -> str:
        """The requested model."""
        return str(self.body.get("model", ""))

    @property
    def messages(self) -> list[dict[str, Any]]:
        """The prompt's messages as sent."""
        return list(self.body.get("messages", []))

    def texts(self) -> list[str]:
        """Each message's text (a message in parts: its text parts joined by spaces)."""
        out = []
        for message in self.messages:
            content: Any = message["content"]
            out.append(content if isinstance(content, str) else " ".join(p.get("text", "") for p in content))
        return out


@dataclass
class _State:
    script: deque[Behaviour] = field(default_factory=deque)
    default: Behaviour = field(default_factory=Stream)
    requests: list[RecordedRequest] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    closing: threading.Event = field(default_factory=threading.Event)
    connections: int = 0  # TCP connections accepted


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # each event goes out at once (TCP_NODELAY), as a real API server sends it: with Nagle on, an
    # event written right after another on a kept-alive connection waits for the client's delayed
    # ACK (about 40 ms on Linux), which benchmarks would count as the bot's time to first text
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def do_POST(self) -> None:
        """Serve chat completions; anything else is 404."""
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        try:
            body = json.loads(raw or b"{}")
        except json.JSONDecodeError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._error(Status(404, error_code="unknown_url", message=f"Unknown path {self.path}"))
            return
        with state.lock:
            behaviour = state.script.popleft() if state.script else state.default
            state.requests.append(
                RecordedRequest(
                    path=self.path,
                    body=body,
                    headers={k.lower(): v for k, v in self.headers.items()},
                    behaviour=behaviour,
                    peer=(str(self.client_address[0]), int(self.client_address[1])),
                )
            )
        try:
            if isinstance(behaviour, Status):
                self._error(behaviour)
            elif body.get("stream"):
                self._stream(behaviour, body)
            else:
                self._complete(behaviour, body)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (deadline): fine

    # ----------------------------------------------------------------------------------- replies

    def _send_json(self, status: int, payload: dict[str, Any], headers: dict[str, str] | None = None) -> None:
        send_json(self, status, payload, headers)

    def _error(self, status: Status) -> None:
        code, kind, message = _DEFAULT_CODES.get(
            status.code, ("server_error", "server_error", "Fake failure.")
        )
        headers = {"x-request-id": f"req_fake_{len(self.server.state.requests)}"}
        if status.retry_after is not None:
            headers["Retry-After"] = f"{status.retry_after:g}"
        # Keep SDK-side retry advice out of the way: the adapter decides.
        headers["x-should-retry"] = "false"
        error = {
            "message": status.message or message,
            "type": status.error_type or kind,
            "param": None,
            "code": status.error_code or code,
        }
        self._send_json(status.code, {"error": error}, headers)

    def _usage(self, behaviour: Stream, body: dict[str, Any]) -> dict[str, int]:
        if behaviour.usage is not None:
            prompt, completion = behaviour.usage
        else:
            chars = sum(len(str(m.get("content", ""))) for m in body.get("messages", []))
            chars += len(json.dumps(body.get("tools", []))) if body.get("tools") else 0
            completion = len([c for c in behaviour.chunks if c]) + 10 * len(behaviour.tool_calls)
            prompt = chars // 4 + 1
        return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}

    def _complete(self, behaviour: Stream, body: dict[str, Any]) -> None:
        model = behaviour.served_model or str(body.get("model", ""))
        self._send_json(
            200,
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {
                            "role": "assistant",
                            "content": "".join(behaviour.chunks) or None,
                            **(
                                {
                                    "tool_calls": [
                                        self._call(i, n, a) for i, (n, a) in enumerate(behaviour.tool_calls)
                                    ]
                                }
                                if behaviour.tool_calls
                                else {}
                            ),
                        },
                        "finish_reason": behaviour.finish_reason,
                    }
                ],
                "usage": self._usage(behaviour, body),
            },
        )

    @staticmethod
    def _call(index: int, name: str, arguments: dict[str, Any] | str) -> dict[str, Any]:
        text = arguments if isinstance(arguments, str) else json.dumps(arguments)
        return {"id": f"call_fake_{index}", "type": "function", "function": {"name": name, "arguments": text}}

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(f"{len(data):X}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _event(self, payload: dict[str, Any] | str) -> None:
        text = payload if isinstance(payload, str) else json.dumps(payload)
        self._chunk(f"data: {text}\n\n".encode())

    def _wait(self, seconds: float) -> bool:
        """Sleep (cut short when the server closes); False if the server is closing."""
        return not (seconds > 0 and self.server.state.closing.wait(seconds))

    def _hold(self, gate: threading.Event | None) -> bool:
        """Wait until the test opens ``gate``; False if the server is closing first."""
        self.wfile.flush()
        while gate is not None and not gate.wait(0.05):
            if self.server.state.closing.is_set():
                return False
        return True

    def _stream(self, behaviour: Stream, body: dict[str, Any]) -> None:
        model = behaviour.served_model or str(body.get("model", ""))
        created = int(time.time())

        def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
            return {
                "id": "chatcmpl-fake",
                "object": "chat.completion.chunk",
                "created": created,
                "model": model,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }

        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream; charset=utf-8")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("x-request-id", f"req_fake_{len(self.server.state.requests)}")
        self.end_headers()
        if not self._wait(behaviour.stall_before_s) or not self._hold(behaviour.hold_before_first):
            return
        self._event(chunk({"role": "assistant", "content": ""}))
        sent = 0
        for index, text in enumerate(behaviour.chunks):
            if behaviour.close_after is not None and sent >= behaviour.close_after:
                self.close_connection = True
                self.wfile.flush()
                self.connection.shutdown(2)  # abrupt: no terminating chunk
                return
            if index > 0 and not self._wait(behaviour.delay_s):
                return
            if text:
                self._event(chunk({"content": text}))
                sent += 1
                if sent == 1 and not self._wait(behaviour.stall_after_first_s):
                    return
                if sent == 1 and not self._hold(behaviour.hold_after_first):
                    return
        for index, (name, arguments) in enumerate(behaviour.tool_calls):
            whole = self._call(index, name, arguments)
            text = whole["function"]["arguments"]
            head = {
                "index": index,
                "id": whole["id"],
                "type": "function",
                "function": {"name": name, "arguments": ""},
            }
            self._event(chunk({"tool_calls": [head]}))
            for start in range(0, len(text), 7):  # arguments arrive in small pieces
                piece = {"index": index, "function": {"arguments": text[start : start + 7]}}
                self._event(chunk({"tool_calls": [piece]}))
        self._event(chunk({}, behaviour.finish_reason))
        if (body.get("stream_options") or {}).get("include_usage"):
            final = chunk({})
            final["choices"] = []
            final["usage"] = self._usage(behaviour, body)
            self._event(final)
        self._event("[DONE]")
        if not self._hold(behaviour.hold_after_done):
            return
        self._chunk(b"")  # end of the chunked body


class _Server(LocalServer):
    state: _State

    def process_request(self, request: Any, client_address: Any) -> None:
        """Count each accepted TCP connection, then serve it on its own thread."""
        with self.state.lock:
            self.state.connections += 1
        super().process_request(request, client_address)


class FakeOpenAI:
    """A running fake OpenAI server; use as a context manager (see the module doc)."""

    def __init__(self, *, default: Behaviour | None = None) -> None:
        self._state = _State()
        if default is not None:
            self._state.default = default
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> FakeOpenAI:
        self._server = _Server(_Handler, self._state)
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, name="fake-openai", daemon=True
        )
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._state.closing.set()  # wake stalled handlers
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)

    @property
    def port(self) -> int:
        """The TCP port it listens on."""
        assert self._server is not None, "use FakeOpenAI as a context manager"
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """Base URL for the OpenAI SDK (``.../v1``)."""
        return f"http://127.0.0.1:{self.port}/v1"

    def script(self, *behaviours: Behaviour) -> FakeOpenAI:
        """Queue behaviours for the next requests, in order."""
        with self._state.lock:
            self._state.script.extend(behaviours)
        return self

    def set_default(self, behaviour: Behaviour) -> None:
        """The behaviour used once the script is empty."""
        self._state.default = behaviour

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, oldest first (a copy)."""
        with self._state.lock:
            return list(self._state.requests)

    @property
    def connections(self) -> int:
        """TCP connections accepted so far (a client that keeps its connection opens one)."""
        with self._state.lock:
            return self._state.connections

    @property
    def pending(self) -> int:
        """Scripted behaviours not used yet."""
        with self._state.lock:
            return len(self._state.script)


@pytest.fixture
def fake_openai() -> Iterator[FakeOpenAI]:
    """A running :class:`FakeOpenAI` for one test (import this fixture into the test module)."""
    with FakeOpenAI() as fake:
        yield fake
