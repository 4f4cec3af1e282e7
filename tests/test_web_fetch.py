"""The fetch tool: SSRF refusals, pinned connections, checked redirects, caps, text extraction.

The page server is a real local HTTPS server with a test certificate authority; the addresses
refused are refused before any connection is made.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

import pytest

from bot.adapters.web_fetch import WebFetcher, refusal, system_resolver
from bot.core.tools import ToolError, ToolTimeoutError
from tests.fakes import web_server
from tests.fakes.web_server import FakeWeb, WebPage
from tests.support import far

fake_web = web_server.fake_web


@pytest.mark.parametrize(
    ("address", "why"),
    [
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # AWS / GCP / Azure metadata
        ("fd00:ec2::254", "private"),  # AWS metadata over IPv6
        ("100.100.100.200", "private"),  # Alibaba metadata, CGNAT range
        ("100.64.0.1", "private"),
        ("0.0.0.0", "private"),
        ("::", "private"),
        ("224.0.0.1", "multicast"),
        ("ff02::1", "multicast"),
        ("240.0.0.1", "private"),
        ("fe80::1", "link-local"),
        ("::ffff:127.0.0.1", "loopback address (inside the IPv6 address)"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:7f00:1::", "loopback address (inside the IPv6 address)"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
    ],
)
def test_private_loopback_and_metadata_addresses_are_refused(address: str, why: str) -> None:
    """A page on the bot's own network (or the cloud metadata service) is never fetched."""
    reason = refusal(ipaddress.ip_address(address))
    assert reason is not None
    assert why in reason


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "::ffff:8.8.8.8", "140.82.112.3"])
def test_public_addresses_are_allowed(address: str) -> None:
    """Ordinary internet addresses are fetched."""
    assert refusal(ipaddress.ip_address(address)) is None


def test_test_setting_allows_only_loopback() -> None:
    """The test-only setting opens loopback for a local test server, and nothing else."""
    assert refusal(ipaddress.ip_address("127.0.0.1"), allow_loopback=True) is None
    assert refusal(ipaddress.ip_address("::1"), allow_loopback=True) is None
    assert refusal(ipaddress.ip_address("10.0.0.1"), allow_loopback=True)
    assert refusal(ipaddress.ip_address("169.254.169.254"), allow_loopback=True)


class Resolver:
    """A DNS that answers from a table, and counts questions."""

    def __init__(self, table: dict[str, Sequence[str]]) -> None:
        self.table = table
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> Sequence[str]:
        self.asked.append(host)
        if host not in self.table:
            raise OSError("no such host")
        return self.table[host]


def test_addresses_are_checked_before_any_connection() -> None:
    """http, credentials, private names and metadata IPs are refused with the reason."""
    dns = Resolver({"intranet.example": ["10.0.0.7"], "mixed.example": ["8.8.8.8", "192.168.0.2"]})
    fetcher = WebFetcher(resolver=dns)
    cases = {
        "http://example.com/": "only https",
        "https://user:pw@example.com/": "user name or password",
        "https://intranet.example/wiki": "intranet.example resolves to a private or reserved address",
        "https://mixed.example/": "private",
        "https://169.254.169.254/latest/meta-data/": "link-local",
        "https://[::ffff:10.0.0.1]/": "private",
        "https://nowhere.example/": "could not be resolved",
    }
    for url, message in cases.items():
        with pytest.raises(ToolError, match=message.replace("(", r"\(")):
            fetcher.fetch(url, deadline=far())
    fetcher.close()


def test_numeric_and_local_names_resolve_to_refused_addresses() -> None:
    """Tricks like a decimal IP (2130706433 = 127.0.0.1) or `localhost` end up refused too."""
    fetcher = WebFetcher(resolver=system_resolver)
    for url in ("https://2130706433/", "https://localhost/", "https://127.1/"):
        with pytest.raises(ToolError, match="loopback"):
            fetcher.fetch(url, deadline=far())
    fetcher.close()


def test_a_page_becomes_readable_text(fake_web: FakeWeb) -> None:
    """The model reads the page's title and main text, without scripts, styles, menus or footers."""
    fetcher = WebFetcher(allow_loopback=True, ca_file=fake_web.ca_file)
    page = fetcher.fetch(fake_web.url("/design"), deadline=far())
    assert page.status == 200
    assert page.text.startswith("# Payments design")
    assert "**append-only**" in page.text
    assert "Idempotency keys on every POST" in page.text
    for hidden in ("never in the text", "color:red", "Home | About", "footer text"):
        assert hidden not in page.text
    fetcher.close()


def test_loopback_is_refused_without_the_test_setting(fake_web: FakeWeb) -> None:
    """Outside tests, the bot's own machine is not reachable through fetch."""
    fetcher = WebFetcher(ca_file=fake_web.ca_file)
    with pytest.raises(ToolError, match="loopback"):
        fetcher.fetch(fake_web.url("/design"), deadline=far())
    assert fake_web.requests == []
    fetcher.close()


def test_the_connection_goes_to_the_checked_address(fake_web: FakeWeb) -> None:
    """The name is resolved once and the connection pinned to that address (DNS rebinding is moot).

    ``docs.example.test`` exists only in the test's resolver: the page loads, so the connection used
    the checked IP, while Host and the certificate check used the name.
    """
    answers = iter([["127.0.0.1"], ["10.0.0.1"]])  # a rebinding DNS: the second answer is private

    class Rebinding(Resolver):
        def __call__(self, host: str, port: int) -> Sequence[str]:
            self.asked.append(host)
            return next(answers)

    dns = Rebinding({})
    fetcher = WebFetcher(allow_loopback=True, ca_file=fake_web.ca_file, resolver=dns)
    page = fetcher.fetch(fake_web.url("/design", host="docs.example.test"), deadline=far())
    assert "append-only" in page.text
    assert dns.asked == ["docs.example.test"]
    assert fake_web.requests == [("/design", f"docs.example.test:{fake_web.port}")]
    fetcher.close()


def test_redirects_are_checked_hop_by_hop(fake_web: FakeWeb) -> None:
    """A redirect to a private address or to http is refused; a redirect loop stops at the cap."""
    fake_web.pages["/moved"] = WebPage(status=301, headers=(("Location", "/design"),))
    fake_web.pages["/to-private"] = WebPage(status=302, headers=(("Location", "https://10.0.0.5/admin"),))
    fake_web.pages["/to-metadata"] = WebPage(
        status=307, headers=(("Location", "https://169.254.169.254/latest/meta-data/"),)
    )
    fake_web.pages["/to-http"] = WebPage(status=302, headers=(("Location", "http://example.com/"),))
    fake_web.pages["/loop"] = WebPage(status=302, headers=(("Location", "/loop"),))
    fetcher = WebFetcher(allow_loopback=True, ca_file=fake_web.ca_file, max_redirects=3)
    page = fetcher.fetch(fake_web.url("/moved"), deadline=far())
    assert page.url == fake_web.url("/design")
    assert "append-only" in page.text
    with pytest.raises(ToolError, match="private"):
        fetcher.fetch(fake_web.url("/to-private"), deadline=far())
    with pytest.raises(ToolError, match="link-local"):
        fetcher.fetch(fake_web.url("/to-metadata"), deadline=far())
    with pytest.raises(ToolError, match="only https"):
        fetcher.fetch(fake_web.url("/to-http"), deadline=far())
    with pytest.raises(ToolError, match="more than 3 redirects"):
        fetcher.fetch(fake_web.url("/loop"), deadline=far())
    assert [path for path, _ in fake_web.requests].count("/loop") == 4
    fetcher.close()


def test_size_and_time_caps(fake_web: FakeWeb) -> None:
    """A huge page is read up to the cap; a page that never answers ends at the time cap."""
    fake_web.pages["/huge"] = WebPage(b"a" * 100_000, content_type="text/plain", repeat=30)
    fake_web.pages["/stuck"] = WebPage(b"late", stall_s=10)
    fetcher = WebFetcher(allow_loopback=True, ca_file=fake_web.ca_file, max_bytes=250_000, timeout_s=0.5)
    page = fetcher.fetch(fake_web.url("/huge"), deadline=far())
    assert page.cut
    assert page.bytes_read == 250_000
    with pytest.raises(ToolTimeoutError, match="did not load in time"):
        fetcher.fetch(fake_web.url("/stuck"), deadline=far())
    fetcher.close()


def test_errors_and_binary_pages_are_told(fake_web: FakeWeb) -> None:
    """A 404 or an image is reported to the model as such, not read."""
    fake_web.pages["/logo.png"] = WebPage(b"\x89PNG....", content_type="image/png")
    fake_web.pages["/data.json"] = WebPage(b'{"a": 1}', content_type="application/json")
    fetcher = WebFetcher(allow_loopback=True, ca_file=fake_web.ca_file)
    with pytest.raises(ToolError, match="HTTP 404"):
        fetcher.fetch(fake_web.url("/missing"), deadline=far())
    with pytest.raises(ToolError, match="image/png"):
        fetcher.fetch(fake_web.url("/logo.png"), deadline=far())
    assert fetcher.fetch(fake_web.url("/data.json"), deadline=far()).text == '{"a": 1}'
    fetcher.close()


def test_the_tool_call_says_where_it_read_from(fake_web: FakeWeb) -> None:
    """The model gets the final address and type above the text; a call without url is refused."""
    fetcher = WebFetcher(allow_loopback=True, ca_file=fake_web.ca_file)
    spec = fetcher.specs(deadline=far())[0]
    output = fetcher.call(spec, {"url": fake_web.url("/design")}, deadline=far())
    assert output.text.startswith(f"URL: {fake_web.url('/design')}\nContent-Type: text/html\n")
    with pytest.raises(ToolError, match="needs a 'url'"):
        fetcher.call(spec, {}, deadline=far())
    fetcher.close()


def test_clients_are_built_again_after_a_snapstart_restore(fake_web: FakeWeb) -> None:
    """After a restore (sockets from the snapshot are dead) the next fetch uses a new client and works."""
    from bot.core.ports import SystemClock
    from bot.settings import Settings
    from bot.toolbox import SettingsToolbox

    settings = Settings(fetch_allow_loopback_for_tests=True, fetch_ca_file=fake_web.ca_file)
    toolbox = SettingsToolbox(settings, SystemClock())
    first = toolbox.fetcher()
    toolbox.reconnect()
    second = toolbox.fetcher()
    assert second is not first
    assert "append-only" in second.fetch(fake_web.url("/design"), deadline=far()).text
    toolbox.close()
