"""The ``fetch`` tool: read one web page over https, safely, as text for the model.

Rules (each one a refusal the model is told about, never a crash):

- https only. The host is resolved once; every address it resolves to must be public: private,
  loopback, link-local (cloud metadata ``169.254.169.254``), CGNAT (``100.64/10``, Alibaba's
  metadata), multicast, reserved and unspecified addresses are refused, for IPv4 and IPv6, and
  IPv6 forms that carry an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, Teredo, NAT64) are
  judged by that IPv4 address.
- The connection goes to the address that was checked (the request names the IP; ``Host`` and TLS
  SNI/certificate checks use the host name), so a DNS answer that changes between check and
  connect (DNS rebinding) cannot move it.
- Redirects are followed by hand, each hop checked the same way, at most ``max_redirects``.
- At most ``max_bytes`` are read and the whole fetch ends at its deadline.
- HTML becomes Markdown-like text (beautifulsoup4 drops scripts, styles and navigation; html2text
  writes the rest); text, JSON and XML are returned as they are; other types are refused.

``allow_loopback`` is for tests only: it lets a local test server on 127.0.0.1 / ::1 be fetched.
Logs carry the host, status, size and time: never the page, the path or the query.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx2

from bot.core.ports import Clock, SystemClock
from bot.core.tools import FETCH_SPEC, ToolError, ToolOutput, ToolSpec, ToolTimeoutError
from bot.logging import get_logger

log = get_logger(__name__)

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]

USER_AGENT = "architect-bot/0.1 (fetch tool; +https://github.com/)"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_TEXT_TYPES = ("text/", "application/json", "application/xml", "application/xhtml+xml", "+json", "+xml")

_REFUSED_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in (
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/128",
        "::1/128",
        "::/96",
        "100::/64",
        "2001:db8::/32",
        "64:ff9b:1::/48",
        "fc00::/7",
        "fe80::/10",
        "fec0::/10",
        "ff00::/8",
    )
)
_LOOPBACK = (ipaddress.ip_network("127.0.0.0/8"), ipaddress.ip_network("::1/128"))
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries (mapped, 6to4, Teredo client, NAT64), if any."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def refusal(address: Address, *, allow_loopback: bool = False) -> str | None:  # noqa: PLR0911 - one per kind
    """Why ``address`` may not be fetched, or None when it is a public address."""
    if allow_loopback and any(address in net for net in _LOOPBACK if net.version == address.version):
        return None
    if isinstance(address, ipaddress.IPv6Address):
        inner = _embedded_ipv4(address)
        if inner is not None:
            why = refusal(inner, allow_loopback=allow_loopback)
            return f"{why} (inside the IPv6 address)" if why else None
    if address.is_loopback:
        return "a loopback address"
    if address.is_link_local:
        return "a link-local address (cloud metadata lives there)"
    if address.is_multicast:
        return "a multicast address"
    if address.is_private or any(
        address in net for net in _REFUSED_NETWORKS if net.version == address.version
    ):
        return "a private or reserved address"
    if not address.is_global:
        return "not a public address"
    return None


def system_resolver(host: str, port: int) -> Sequence[str]:
    """Every address ``host`` resolves to (the system resolver)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return [str(info[4][0]) for info in infos]


@dataclass(frozen=True, slots=True)
class Page:
    """A fetched page, as text."""

    url: str
    status: int
    content_type: str
    text: str
    bytes_read: int
    cut: bool


class WebFetcher:
    """The ``fetch`` tool (:class:`bot.core.tools.ToolProvider`)."""

    def __init__(
        self,
        *,
        max_bytes: int = 2_000_000,
        timeout_s: float = 15.0,
        max_redirects: int = 5,
        allow_loopback: bool = False,
        ca_file: str | None = None,
        resolver: Resolver = system_resolver,
        clock: Clock | None = None,
    ) -> None:
        self._max_bytes = max_bytes
        self._timeout_s = timeout_s
        self._max_redirects = max_redirects
        self._allow_loopback = allow_loopback
        self._resolver = resolver
        self._clock = clock or SystemClock()
        verify: ssl.SSLContext = ssl.create_default_context(cafile=ca_file)
        # No pooled connections: a connection is checked for one host name and never reused for another.
        self._client = httpx2.Client(
            verify=verify,
            follow_redirects=False,
            trust_env=False,
            limits=httpx2.Limits(max_keepalive_connections=0),
        )

    def close(self) -> None:
        """Close the connection pool."""
        self._client.close()

    # ------------------------------------------------------------------------------ provider

    def specs(self, *, deadline: float) -> Sequence[ToolSpec]:
        """The one tool."""
        return (FETCH_SPEC,)

    def call(self, spec: ToolSpec, arguments: Mapping[str, Any], *, deadline: float) -> ToolOutput:
        """Fetch ``arguments["url"]``; the page's text, headed by its final address."""
        url = arguments.get("url")
        if not isinstance(url, str) or not url.strip():
            raise ToolError("fetch needs a 'url' (an https:// address)")
        page = self.fetch(url.strip(), deadline=deadline)
        head = f"URL: {page.url}\nContent-Type: {page.content_type}\n"
        if page.cut:
            head += f"(Only the first {page.bytes_read:,} bytes of the page were read.)\n"
        return ToolOutput(head + "\n" + page.text)

    # ------------------------------------------------------------------------------- fetching

    def check(self, url: str) -> tuple[str, int, str]:
        """Validate ``url`` and resolve its host: (host, port, the checked IP to connect to).

        Raises :class:`ToolError` naming the reason for a refused address.
        """
        try:
            parts = urlsplit(url)
            host = parts.hostname
            port = parts.port or 443
        except ValueError:
            raise ToolError("not a valid address") from None
        if parts.scheme.lower() != "https":
            raise ToolError(
                f"only https:// addresses are fetched (not {parts.scheme or 'a relative'} address)"
            )
        if not host:
            raise ToolError("the address has no host")
        if parts.username is not None or parts.password is not None:
            raise ToolError("addresses with a user name or password are not fetched")
        try:
            literal: Address | None = ipaddress.ip_address(host)
        except ValueError:
            literal = None
        try:
            found = (
                [literal]
                if literal is not None
                else [ipaddress.ip_address(a) for a in self._resolver(host, port)]
            )
        except (OSError, UnicodeError, ValueError):
            raise ToolError(f"the host {host} could not be resolved") from None
        if not found:
            raise ToolError(f"the host {host} could not be resolved")
        for address in found:
            why = refusal(address, allow_loopback=self._allow_loopback)
            if why:
                log.info("fetch_refused", host=host, reason=why)
                raise ToolError(f"refused: {host} resolves to {why}")
        return host, port, str(found[0])

    def fetch(self, url: str, *, deadline: float) -> Page:
        """Fetch ``url`` following checked redirects; raises :class:`ToolError` when refused or failed."""
        started = self._clock.monotonic()
        end = min(deadline, started + self._timeout_s)
        current = url
        for _hop in range(self._max_redirects + 1):
            host, port, ip = self.check(current)
            response = self._open(current, host, port, ip, end)
            try:
                if response.status_code in _REDIRECTS and "location" in response.headers:
                    current = urljoin(current, response.headers["location"])
                    continue
                page = self._read(current, response, end)
            finally:
                response.close()
            log.info(
                "fetch_done",
                host=host,
                status=page.status,
                bytes=page.bytes_read,
                cut=page.cut,
                ms=int((self._clock.monotonic() - started) * 1000),
            )
            return page
        raise ToolError(f"more than {self._max_redirects} redirects")

    def _left(self, end: float) -> float:
        left = end - self._clock.monotonic()
        if left <= 0:
            raise ToolTimeoutError("the page did not load in time")
        return left

    def _open(self, url: str, host: str, port: int, ip: str, end: float) -> httpx2.Response:
        parts = urlsplit(url)
        netloc = f"[{ip}]" if ":" in ip else ip
        target = parts._replace(netloc=f"{netloc}:{port}").geturl()
        host_header = host if port == 443 else f"{host}:{port}"
        headers = {
            "Host": host_header,
            "User-Agent": USER_AGENT,
            "Accept": "text/html, text/*;q=0.9, */*;q=0.1",
        }
        left = self._left(end)
        request = self._client.build_request(
            "GET",
            target,
            headers=headers,
            timeout=httpx2.Timeout(left),
            extensions={"sni_hostname": host},
        )
        try:
            return self._client.send(request, stream=True)
        except httpx2.TimeoutException:
            raise ToolTimeoutError("the page did not load in time") from None
        except httpx2.HTTPError as exc:
            raise ToolError(f"could not connect to {host} ({type(exc).__name__})") from None

    def _read(self, url: str, response: httpx2.Response, end: float) -> Page:
        status = response.status_code
        if status >= 400:
            raise ToolError(f"the server answered HTTP {status}")
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type and not any(kind in content_type for kind in _TEXT_TYPES):
            raise ToolError(f"the page is {content_type}, which fetch does not read (only text and HTML)")
        body = bytearray()
        cut = False
        try:
            for chunk in response.iter_bytes():
                body.extend(chunk)
                if len(body) > self._max_bytes:
                    del body[self._max_bytes :]
                    cut = True
                    break
                self._left(end)
        except httpx2.TimeoutException:
            raise ToolTimeoutError("the page did not load in time") from None
        except httpx2.HTTPError as exc:
            raise ToolError(f"the download broke off ({type(exc).__name__})") from None
        encoding = response.charset_encoding or ("utf-8" if "html" not in content_type else None)
        text = to_text(bytes(body), content_type, encoding)
        return Page(
            url=url,
            status=status,
            content_type=content_type or "unknown",
            text=text,
            bytes_read=len(body),
            cut=cut,
        )


def to_text(body: bytes, content_type: str, encoding: str | None) -> str:
    """The readable text of a response body: HTML as Markdown-like text, other text as it is."""
    if "html" in content_type or (not content_type and body.lstrip()[:1] == b"<"):
        return html_to_text(body, encoding)
    return body.decode(encoding or "utf-8", errors="replace")


def html_to_text(body: bytes, encoding: str | None) -> str:
    """Main text of an HTML page: title, then the article/main part (or the body) as Markdown."""
    import html2text
    from bs4 import BeautifulSoup

    soup = BeautifulSoup(body, "html.parser", from_encoding=encoding)
    for tag in soup(["script", "style", "noscript", "template", "svg", "iframe", "object", "embed", "form"]):
        tag.decompose()
    for tag in soup(["nav", "footer", "aside"]):
        tag.decompose()
    title = soup.title.get_text(" ", strip=True) if soup.title else ""
    main = soup.find("article") or soup.find("main") or soup.body or soup
    converter = html2text.HTML2Text()
    converter.body_width = 0
    converter.ignore_images = True
    converter.ignore_emphasis = False
    converter.single_line_break = False
    text = converter.handle(str(main)).strip()
    lines = [line.rstrip() for line in text.splitlines()]
    compact: list[str] = []
    for line in lines:
        if line or (compact and compact[-1]):
            compact.append(line)
    body_text = "\n".join(compact).strip()
    return f"# {title}\n\n{body_text}" if title and not body_text.startswith("# ") else body_text
