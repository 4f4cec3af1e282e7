"""Web addresses in tool calls: compared (:func:`normalize_url`), found in what people wrote
(:func:`urls_in`), matched against allowed domains, and shown without their query (:func:`safe_url`)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlsplit, urlunsplit

_URL_IN_TEXT = re.compile(r"https?://[^\s<>|\"'`]+", re.IGNORECASE)
_TRAILING = ".,;:!?)]}>*_~"


def normalize_url(url: str) -> str | None:
    """A URL in a comparable form (lower-case scheme and host, no fragment, ``/`` for an empty path).

    Path and query are kept exactly: they are where text could be smuggled out.
    """
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").lower()
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not host:
        return None
    netloc = f"[{host}]" if ":" in host else host
    if port is not None:
        netloc += f":{port}"
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, ""))


def urls_in(texts: Iterable[str]) -> frozenset[str]:
    """Every http(s) address written in ``texts`` (Slack's ``<url|label>`` form included), normalized."""
    found: set[str] = set()
    for text in texts:
        for match in _URL_IN_TEXT.finditer(text):
            raw = match.group(0).rstrip(_TRAILING)
            normalized = normalize_url(raw)
            if normalized:
                found.add(normalized)
                if normalized.startswith("http://"):
                    # fetch reads https only: the person's http address is read as https
                    found.add("https://" + normalized.removeprefix("http://"))
    return frozenset(found)


def domain_allowed(url: str, domains: Iterable[str]) -> bool:
    """True when the URL's host is one of ``domains`` or a subdomain of one."""
    try:
        host = (urlsplit(url).hostname or "").lower().rstrip(".")
    except ValueError:
        return False
    for written in domains:
        domain = written.strip().lower().strip(".")
        if domain and (host == domain or host.endswith("." + domain)):
            return True
    return False


def safe_url(url: str) -> str:
    """A URL for display and logs: scheme, host and path only (a query may hold a key)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "(invalid address)"
    netloc = parts.hostname or ""
    try:
        if parts.port:
            netloc += f":{parts.port}"
    except ValueError:
        return "(invalid address)"
    shown = urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    return shown + ("?…" if parts.query else "")
