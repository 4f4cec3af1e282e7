"""The OpenAI chat model, streaming, with retries that respect the caller's deadline.

Policy (see :meth:`OpenAIChatModel.stream`):

- The SDK's own retries are off (``max_retries=0``): it would sleep without knowing the deadline.
- 429, 5xx, connection errors and timeouts are retried with exponential backoff and jitter
  (``base * 2**n``, times 0.5-1.0), honouring ``Retry-After``/``retry-after-ms`` when longer, up to
  ``max_retries`` times, and only before the first token has been yielded: text is never repeated.
  A wait that would pass the deadline is not started: the call gives up at once.
- Giving up: ``ModelRateLimitedError`` after 429s, ``ModelUnavailableError`` after 5xx/connection
  errors, ``ModelTimeoutError`` when the deadline passed before the first token.
- Any other 4xx: ``ModelRequestError`` at once; a missing model (404 / ``model_not_found``) moves
  on to the request's next ``fallback_models`` entry first.
- Each attempt's timeouts are ``min(configured, time left)``. The stream is read on a helper thread
  so a stall is noticed at the deadline itself: the stream is closed and ``Completion(cut=True,
  finish_reason="deadline")`` ends the answer with the partial text already yielded.
- A stream that breaks after the first token raises ``ModelUnavailableError`` (the text so far has
  been yielded; retrying would repeat it).

Tools: a request's ``tools`` go out as function definitions; the streamed ``tool_calls`` deltas are
assembled per index and handed over as whole :class:`~bot.core.tools.ToolCall` events after the
stream ended (a stream cut by the deadline asks for no tool); the loop sends the calls back as an
assistant message with ``tool_calls`` and each result as a ``tool`` message.

Logs one line per attempt (model, attempt, status, latency, tokens, tool calls): never prompt,
answer, tool arguments or results.
"""

from __future__ import annotations

import email.utils
import queue
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import httpx2
import openai
from openai.types.chat import (
    ChatCompletionChunk,
    ChatCompletionContentPartParam,
    ChatCompletionMessageParam,
    ChatCompletionToolParam,
)
from openai.types.chat.chat_completion_chunk import ChoiceDeltaToolCall

from bot.adapters.gateway_errors import classify, error_parts
from bot.adapters.model_http import KeptAliveTransport
from bot.core.conversation import Usage
from bot.core.ports import Clock, Completion, ModelEvent, ModelRequest, PromptMessage, TextDelta
from bot.core.tools import AssistantToolCalls, ToolCall, ToolMessage, ToolSpec
from bot.errors import (
    ModelCredentialsError,
    ModelError,
    ModelNotFoundError,
    ModelRateLimitedError,
    ModelRequestError,
    ModelTimeoutError,
    ModelUnavailableError,
)
from bot.logging import get_logger, redact

log = get_logger(__name__)

MAX_RETRY_AFTER_S = 60.0
READ_GRACE_S = 2.0  # the SDK's read timeout runs this much past the deadline (see _timeout)
_END = object()


class _Retryable(Exception):
    """An attempt failed in a way another attempt may fix."""

    def __init__(self, kind: str, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.kind = kind  # "rate_limited" | "unavailable"
        self.detail = detail
        self.retry_after = retry_after


class _ModelMissing(Exception):
    """The model does not exist (or this key has no access): try the next fallback model."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def _retry_after(headers: Any) -> float | None:
    """Seconds from ``retry-after-ms`` / ``Retry-After`` (seconds or an HTTP date), if any."""
    try:
        value = headers.get("retry-after-ms")
        if value:
            return max(0.0, float(value) / 1000)
        value = headers.get("retry-after")
        if not value:
            return None
        try:
            return max(0.0, float(value))
        except ValueError:
            when = email.utils.parsedate_to_datetime(value)
            return max(0.0, when.timestamp() - time.time())
    except (TypeError, ValueError, OverflowError):
        return None


@dataclass
class _Progress:
    """What one attempt has done so far (for the Completion and the log line)."""

    model: str
    attempt: int
    started: float
    status: int | str = "error"
    outcome: str = "failed"
    served: str | None = None
    yielded: bool = False
    finish_reason: str | None = None
    first_token_ms: int | None = None
    input_tokens: int = 0
    output_tokens: int = 0
    tool_calls: int = 0
    detail: str | None = None  # a failed attempt: the provider's answer (status, type, message)


def tool_param(spec: ToolSpec) -> ChatCompletionToolParam:
    """A tool as a Chat Completions function definition."""
    return {
        "type": "function",
        "function": {
            "name": spec.name,
            "description": spec.description,
            "parameters": dict(spec.parameters),
        },
    }


class _ToolCallParts:
    """Tool calls as they stream: id and name in the first delta of each, arguments in pieces."""

    def __init__(self) -> None:
        self._parts: dict[int, list[str]] = {}

    def add(self, deltas: Sequence[ChoiceDeltaToolCall]) -> None:
        for delta in deltas:
            entry = self._parts.setdefault(delta.index, ["", "", ""])
            if delta.id:
                entry[0] = delta.id
            if delta.function is not None:
                entry[1] += delta.function.name or ""
                entry[2] += delta.function.arguments or ""

    @property
    def count(self) -> int:
        return len(self._parts)

    def finished(self) -> Iterator[ToolCall]:
        for index in sorted(self._parts):
            call_id, name, arguments = self._parts[index]
            yield ToolCall(id=call_id or f"call_{index}", name=name, arguments=arguments)


def message_param(message: PromptMessage) -> ChatCompletionMessageParam:
    """One prompt message as Chat Completions takes it.

    A user message with images becomes content parts: its text, then each image as an ``image_url``
    part holding a ``data:`` URL (base64) with the detail level asked for. In a tool loop, the
    model's tool calls go back as an assistant message with ``tool_calls``, each result as a
    ``tool`` message linked by the call's id.
    """
    if isinstance(message, AssistantToolCalls):
        return {
            "role": "assistant",
            "content": message.text or None,
            "tool_calls": [
                {
                    "id": call.id,
                    "type": "function",
                    "function": {"name": call.name, "arguments": call.arguments},
                }
                for call in message.calls
            ],
        }
    if isinstance(message, ToolMessage):
        return {"role": "tool", "tool_call_id": message.call_id, "content": message.content}
    if message.role == "user" and message.images:
        parts: list[ChatCompletionContentPartParam] = [{"type": "text", "text": message.content}]
        parts += [
            {"type": "image_url", "image_url": {"url": image.data_url(), "detail": image.detail}}
            for image in message.images
        ]
        return {"role": "user", "content": parts}
    return {"role": message.role, "content": message.content}  # type: ignore[return-value,misc]  # Literal union


class OpenAIChatModel:
    """:class:`bot.core.ports.ChatModel` over the official SDK's Chat Completions streaming."""

    def __init__(
        self,
        *,
        api_key: str,
        base_url: str | None,
        connect_timeout_s: float,
        read_timeout_s: float,
        max_retries: int,
        retry_base_delay_s: float,
        clock: Clock,
        sleep: Callable[[float], None] = time.sleep,
        rng: random.Random | None = None,
    ) -> None:
        self._api_key = api_key
        self._connect_timeout_s = connect_timeout_s
        self._read_timeout_s = read_timeout_s
        self._max_retries = max_retries
        self._base_delay_s = retry_base_delay_s
        self._clock = clock
        self._sleep = sleep
        self._rng = rng or random.Random()  # noqa: S311 - jitter, not security
        self._base_url = base_url
        # Reading the CA certificates is most of what a new HTTP client costs: done once, so that
        # reconnect() after a SnapStart restore is cheap. The context holds no connection.
        self._ssl_context = httpx2.create_ssl_context()
        self._client = self._new_client()

    def _new_client(self) -> openai.OpenAI:
        client = openai.OpenAI(
            api_key=self._api_key,
            base_url=self._base_url,
            max_retries=0,
            timeout=openai.Timeout(self._read_timeout_s, connect=self._connect_timeout_s),
            # One connection kept across answers and tool rounds (bot/adapters/model_http.py).
            http_client=openai.DefaultHttpxClient(transport=KeptAliveTransport(verify=self._ssl_context)),
        )
        # The SDK imports its chat resources on first access: here (the warm-up), not on the way
        # to the first token.
        client.chat.completions  # noqa: B018
        return client

    def reconnect(self) -> None:
        """A fresh HTTP client and connection pool (after a SnapStart restore, pooled sockets are dead)."""
        self._client = self._new_client()
        self._rng.seed()  # restored instances would otherwise all share the snapshot's jitter sequence

    # ------------------------------------------------------------------------------------ public

    def stream(self, request: ModelRequest, *, deadline: float) -> Iterator[ModelEvent]:
        """Yield text deltas then one :class:`Completion` (see the module doc for the policy)."""
        started = self._clock.monotonic()
        models = (request.model, *request.fallback_models)
        missing: list[str] = []
        for model in models:
            try:
                yield from self._stream_model(request, model, deadline=deadline, started=started)
                return
            except _ModelMissing as exc:
                missing.append(exc.detail)
                log.warning("model_missing", model=model, fallbacks_left=len(models) - len(missing))
        raise ModelNotFoundError(self._clean("; ".join(missing)))

    def close(self) -> None:
        """Close the HTTP connection pool."""
        self._client.close()

    # ---------------------------------------------------------------------------------- internal

    def _clean(self, detail: str) -> str:
        if self._api_key:
            detail = detail.replace(self._api_key, "[redacted]")
        return redact(detail)[:500]

    def _left(self, deadline: float) -> float:
        return deadline - self._clock.monotonic()

    def _stream_model(
        self, request: ModelRequest, model: str, *, deadline: float, started: float
    ) -> Iterator[ModelEvent]:
        attempt = 0
        while True:
            attempt += 1
            left = self._left(deadline)
            if left <= 0:
                raise ModelTimeoutError(
                    f"{model}: deadline passed before the first token (attempt {attempt})"
                )
            try:
                yield from self._attempt(request, model, attempt=attempt, deadline=deadline, started=started)
                return
            except _Retryable as failure:
                self._before_retry(model, attempt, failure, deadline)

    def _before_retry(self, model: str, attempt: int, failure: _Retryable, deadline: float) -> None:
        """Sleep before the next attempt, or raise the give-up error."""
        give_up: type[ModelError] = (
            ModelRateLimitedError if failure.kind == "rate_limited" else ModelUnavailableError
        )
        detail = self._clean(f"{model}: {failure.detail} after {attempt} attempt(s)")
        if self._left(deadline) <= 0:
            raise ModelTimeoutError(f"{detail}; deadline passed before the first token")
        if attempt > self._max_retries:
            raise give_up(detail)
        delay = self._base_delay_s * (2 ** (attempt - 1)) * (0.5 + 0.5 * self._rng.random())
        if failure.retry_after is not None:
            delay = max(delay, min(failure.retry_after, MAX_RETRY_AFTER_S))
        if delay >= self._left(deadline):
            raise give_up(f"{detail}; next retry in {delay:.1f}s would pass the deadline")
        log.info("model_retry", model=model, attempt=attempt, reason=failure.kind, delay_s=round(delay, 3))
        self._sleep(delay)

    def _timeout(self, left: float) -> openai.Timeout:
        # The read timeout ends a little after the deadline: a stall at the deadline is noticed by the
        # reader loop (a cut answer, text kept), not raced by the SDK's own timeout (a broken stream).
        return openai.Timeout(
            connect=min(self._connect_timeout_s, left),
            read=min(self._read_timeout_s, left + READ_GRACE_S),
            write=min(self._read_timeout_s, left),
            pool=min(self._connect_timeout_s, left),
        )

    def _open(self, request: ModelRequest, model: str, left: float) -> openai.Stream[ChatCompletionChunk]:
        """Start the request; map the SDK's errors to retryable / missing model / rejected."""
        messages = [message_param(m) for m in request.messages]
        tools = [tool_param(spec) for spec in request.tools]
        try:
            return self._client.chat.completions.create(
                model=model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                timeout=self._timeout(left),
                max_completion_tokens=(
                    request.max_output_tokens if request.max_output_tokens is not None else openai.omit
                ),
                tools=tools or openai.omit,
                tool_choice=request.tool_choice if tools else openai.omit,
            )
        except openai.APIStatusError as exc:
            raise self._status_failure(model, exc) from None
        except openai.APIConnectionError as exc:  # includes APITimeoutError
            raise _Retryable("unavailable", f"{type(exc).__name__}: {exc.message}") from None

    def _status_failure(self, model: str, exc: openai.APIStatusError) -> Exception:
        status = exc.status_code
        code = exc.code or ""
        shown = code if code and code != str(status) else ""  # LiteLLM repeats the status as the code
        where = f"HTTP {status}{' ' + shown if shown else ''} (request id {exc.request_id or '-'})"
        if status == 429:
            return _Retryable("rate_limited", where, retry_after=_retry_after(exc.response.headers))
        if status >= 500:
            return _Retryable("unavailable", where, retry_after=_retry_after(exc.response.headers))
        kind, _code, message = error_parts(exc.body)
        said = f": {message}" if message else ""
        meaning = classify(status, type_=kind, code=code, message=message)
        if meaning == "missing_model":
            return _ModelMissing(self._clean(f"{model}: {where}{said}"))
        if meaning == "credentials":
            return ModelCredentialsError(
                self._clean(f"{model}: {where}: authentication or permission refused{said}")
            )
        return ModelRequestError(self._clean(f"{model}: {where}{said}"))

    def _attempt(
        self, request: ModelRequest, model: str, *, attempt: int, deadline: float, started: float
    ) -> Iterator[ModelEvent]:
        progress = _Progress(model=model, attempt=attempt, started=self._clock.monotonic())
        try:
            stream = self._open(request, model, self._left(deadline))
        except (_Retryable, _ModelMissing, ModelError) as exc:
            progress.status = getattr(exc, "kind", type(exc).__name__)
            progress.detail = str(getattr(exc, "detail", "")) or None  # already cleaned of the key
            self._log(progress)
            raise
        progress.status = stream.response.status_code
        items: queue.Queue[object] = queue.Queue()
        stop = threading.Event()

        def read() -> None:
            try:
                for chunk in stream:
                    if stop.is_set():
                        return
                    items.put(chunk)
                items.put(_END)
            except Exception as exc:  # noqa: BLE001 - handed over to the generator
                if not stop.is_set():
                    items.put(exc)

        threading.Thread(target=read, name="openai-stream", daemon=True).start()
        try:
            yield from self._read(items, progress, deadline=deadline, started=started)
        finally:
            stop.set()
            try:
                stream.close()
            except Exception:  # noqa: BLE001 - closing a half-read stream is best effort
                log.debug("model_stream_close_failed", model=model)
            self._log(progress)

    def _read(
        self, items: queue.Queue[object], progress: _Progress, *, deadline: float, started: float
    ) -> Iterator[ModelEvent]:
        model = progress.model
        calls = _ToolCallParts()
        while True:
            try:
                item = items.get(timeout=max(0.0, self._left(deadline)))
            except queue.Empty:
                if not progress.yielded:
                    progress.outcome = "timeout"
                    raise ModelTimeoutError(f"{model}: no token before the deadline") from None
                progress.outcome = "cut"
                yield self._completion(progress, started, cut=True)
                return
            if item is _END:
                break
            if isinstance(item, Exception):
                if progress.yielded:
                    progress.outcome = "broken"
                    raise ModelUnavailableError(
                        self._clean(f"{model}: stream broke after the first token: {type(item).__name__}")
                    )
                raise self._stream_failure(model, item)
            assert isinstance(item, ChatCompletionChunk)
            yield from self._chunk(item, progress, calls, started)
            if progress.yielded and self._left(deadline) <= 0:
                progress.outcome = "cut"
                yield self._completion(progress, started, cut=True)
                return
        progress.outcome = "ok"
        # tool calls are handed over whole, once the stream ended: a cut stream asks for none
        yield from calls.finished()
        progress.tool_calls = calls.count
        yield self._completion(progress, started, cut=False)

    def _chunk(
        self, item: ChatCompletionChunk, progress: _Progress, calls: _ToolCallParts, started: float
    ) -> Iterator[TextDelta]:
        """One streamed chunk: usage, finish reason, tool-call pieces, and the text it carries."""
        progress.served = item.model or progress.served
        if item.usage is not None:
            progress.input_tokens = item.usage.prompt_tokens
            progress.output_tokens = item.usage.completion_tokens
        for choice in item.choices:
            progress.finish_reason = choice.finish_reason or progress.finish_reason
            if choice.delta and choice.delta.tool_calls:
                if progress.first_token_ms is None:
                    progress.first_token_ms = int((self._clock.monotonic() - started) * 1000)
                calls.add(choice.delta.tool_calls)
            text = choice.delta.content if choice.delta else None
            if text:
                if progress.first_token_ms is None:
                    progress.first_token_ms = int((self._clock.monotonic() - started) * 1000)
                progress.yielded = True
                yield TextDelta(text)

    def _completion(self, progress: _Progress, started: float, *, cut: bool) -> Completion:
        usage = Usage(
            model=progress.model,
            input_tokens=progress.input_tokens,
            output_tokens=progress.output_tokens,
            latency_ms=int((self._clock.monotonic() - started) * 1000),
            first_token_ms=progress.first_token_ms,
        )
        if cut:
            return Completion(usage=usage, finish_reason="deadline", cut=True)
        return Completion(usage=usage, finish_reason=progress.finish_reason)

    def _stream_failure(self, model: str, exc: Exception) -> Exception:
        """A failure while reading, before any text: retry it like the same failure at the start."""
        if isinstance(exc, openai.APIStatusError):
            return self._status_failure(model, exc)
        if isinstance(exc, openai.APIError):
            code = exc.code or type(exc).__name__
            return _Retryable("unavailable", f"stream error before the first token: {code}")
        return _Retryable("unavailable", f"stream error before the first token: {type(exc).__name__}")

    def _log(self, progress: _Progress) -> None:
        log.info(
            "model_call",
            model=progress.model,
            served_model=progress.served,
            attempt=progress.attempt,
            status=progress.status,
            outcome=progress.outcome,
            latency_ms=int((self._clock.monotonic() - progress.started) * 1000),
            first_token_ms=progress.first_token_ms,
            input_tokens=progress.input_tokens,
            output_tokens=progress.output_tokens,
            tool_calls=progress.tool_calls,
            **({"provider_said": progress.detail} if progress.detail else {}),
        )
