"""The HTTP client under the OpenAI SDK: one connection to the model, kept across answers.

The SDK's synchronous ``Stream`` stops reading at the server-sent event ``data: [DONE]`` and closes
the response at once, before the end of the chunked body (the zero-length chunk that follows) has
been read. httpcore cannot hand a connection whose response was not read to its end back to the
pool, so it closes it: every answer, and every tool round of one answer, would pay a new TCP (and
TLS) handshake to the model. :class:`KeptAliveTransport` reads what is left of such a body when it
is closed, so the connection goes back to the pool and the next request reuses it.

Only a stream that reached ``[DONE]`` is drained, and for at most :data:`DRAIN_TIMEOUT_S`: a
server that says ``[DONE]`` and then stalls costs that much and its connection is dropped, and a
stream closed before its end (the answer's deadline, a consumer that stopped) is closed at once, as
before. Pooled connections are dropped after :data:`KEEPALIVE_EXPIRY_S` idle: below the idle
timeouts of NAT gateways (AWS: 350 s), which forget a connection without telling either side (a
request on such a connection would wait for its read timeout); a connection the server closed while
idle is noticed by httpcore when it is taken from the pool, and a new one is opened.
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator

import httpx2

from bot.logging import get_logger

log = get_logger(__name__)

DRAIN_TIMEOUT_S = 0.25
KEEPALIVE_EXPIRY_S = 120.0
_DONE = b"[DONE]"
_TAIL = 64  # bytes of the body kept to see whether it ended with the [DONE] event


class _DrainedOnClose(httpx2.SyncByteStream):
    """A response body that, closed after ``[DONE]``, reads the rest so the connection is reusable."""

    def __init__(self, inner: httpx2.SyncByteStream) -> None:
        self._inner = inner
        self._parts: Iterator[bytes] | None = None
        self._tail = b""
        self._ended = False

    def __iter__(self) -> Iterator[bytes]:
        if self._parts is None:
            self._parts = iter(self._inner)
        for part in self._parts:
            self._tail = (self._tail + part)[-_TAIL:]
            yield part
        self._ended = True

    def close(self) -> None:
        try:
            if not self._ended and self._parts is not None and _DONE in self._tail:
                self._drain(self._parts)
        finally:
            self._inner.close()

    def _drain(self, parts: Iterator[bytes]) -> None:
        """Read the body's end on a helper thread; give up after ``DRAIN_TIMEOUT_S``."""
        drained = threading.Event()

        def read_rest() -> None:
            try:
                for _ in parts:
                    pass
                self._ended = True
            except Exception:  # noqa: BLE001 - the connection is dropped instead: nothing is lost
                log.debug("model_http_drain_failed")
            finally:
                drained.set()

        threading.Thread(target=read_rest, name="model-http-drain", daemon=True).start()
        if not drained.wait(DRAIN_TIMEOUT_S):
            log.info("model_http_drain_timeout", timeout_s=DRAIN_TIMEOUT_S)


class KeptAliveTransport(httpx2.BaseTransport):
    """httpx's own HTTP transport whose streamed bodies end cleanly (see the module doc)."""

    def __init__(self, *, verify: ssl.SSLContext) -> None:
        self._transport = httpx2.HTTPTransport(
            verify=verify,
            limits=httpx2.Limits(
                max_connections=100, max_keepalive_connections=20, keepalive_expiry=KEEPALIVE_EXPIRY_S
            ),
        )

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        response = self._transport.handle_request(request)
        assert isinstance(response.stream, httpx2.SyncByteStream)
        return httpx2.Response(
            status_code=response.status_code,
            headers=response.headers,
            stream=_DrainedOnClose(response.stream),
            extensions=response.extensions,
            request=request,
        )

    def close(self) -> None:
        self._transport.close()
