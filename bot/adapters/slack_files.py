"""Files shared in Slack, read for a prompt: downloaded with the bot token, parsed, never logged.

:class:`SlackFiles` turns the ``files`` of Slack messages into :class:`~bot.core.files.Attachment`
values and :class:`~bot.core.notices.Notice` values (what to tell the person), following the rules of
:mod:`bot.core.files` and :mod:`bot.core.notices`:

- Downloads use ``url_private_download`` with ``Authorization: Bearer <bot token>``, only from Slack's
  hosts (``slack.com`` and its subdomains, or the configured API host): a redirect to any other host
  is refused, so the token never leaves Slack. Each download's timeout is the smaller of its own and
  the time left before the answer's deadline; a download that would pass it is not started.
- An HTML page where a file was expected is Slack's login page (no access): ``files.info`` then tells
  why, and a missing ``files:read`` scope is told with the scope to add. Files whose event says
  ``file_access: check_file_info`` (not processed yet) are looked up with ``files.info`` first.
- Sizes are checked before (Slack's ``size``) and during the download (never more than the limit + 1
  byte is read). Text is decoded (UTF-8, UTF-16 with BOM, Windows-1252; binary is refused), PDFs are
  read with pypdf (text and page count; a PDF that does not parse is told), images are recognised by
  their magic bytes (PNG, JPEG, GIF, WebP) and measured with Pillow; an animation keeps its first
  frame (OpenAI takes still images only) and an image larger than 2048 px is scaled down to 2048
  (OpenAI scales it down anyway: fewer bytes to send, same tokens).
- Images are not stored: :meth:`SlackFiles.image` fetches one again when a prompt needs it (a small
  in-process cache keeps the ones read in this invocation).

Logs name file ids, kinds, sizes and outcomes; never names' contents, URLs with tokens or bytes.
"""

from __future__ import annotations

import io
import logging
import urllib.error
import urllib.request
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlparse

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.core.files import (
    Attachment,
    FileKind,
    FileLimits,
    ImageInput,
    classify_file,
    cut_text,
    decode_text,
    describe_type,
    extension,
    is_pdf,
    looks_like_html,
    sniff_image,
)
from bot.core.notices import Notice
from bot.core.ports import Clock
from bot.logging import get_logger

log = get_logger(__name__)

MAX_IMAGE_SIDE = 2048
IMAGE_CACHE_BYTES = 64_000_000
_HTML_EXTENSIONS = frozenset({"html", "htm"})
_NO_ACCESS = frozenset(
    {
        "file_not_found",
        "file_deleted",
        "access_denied",
        "not_allowed_token_type",
        "invalid_auth",
        "not_authed",
        "token_revoked",
        "account_inactive",
    }
)

logging.getLogger("pypdf").setLevel(logging.ERROR)  # its warnings may quote parts of a document


@dataclass(frozen=True, slots=True)
class SlackFile:
    """A file as a Slack message (or ``files.info``) describes it."""

    id: str
    name: str
    mimetype: str
    filetype: str
    size: int | None
    url: str | None
    needs_info: bool = False
    mode: str | None = None

    @classmethod
    def from_payload(cls, raw: Mapping[str, Any]) -> SlackFile:
        """From a message's ``files`` entry (fields may be missing on ``check_file_info``)."""
        size = raw.get("size")
        return cls(
            id=str(raw.get("id") or ""),
            name=str(raw.get("name") or raw.get("title") or raw.get("id") or "file"),
            mimetype=str(raw.get("mimetype") or ""),
            filetype=str(raw.get("filetype") or ""),
            size=size if isinstance(size, int) else None,
            url=raw.get("url_private_download") or raw.get("url_private"),
            needs_info=raw.get("file_access") == "check_file_info",
            mode=raw.get("mode"),
        )


@dataclass
class FilesRead:
    """What reading a message's files gave: attachments for the conversation, notices for the person."""

    attachments: list[Attachment] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)


class _Refused(Exception):
    """A file that will not be read; carries the notice to tell."""

    def __init__(self, notice: Notice, outcome: str) -> None:
        super().__init__(outcome)
        self.notice = notice
        self.outcome = outcome


class _OffHostRedirect(urllib.error.URLError):
    """A redirect away from Slack's hosts (not followed)."""


def slack_host(host: str, extra: frozenset[str] = frozenset()) -> bool:
    """True for Slack's own hosts (``slack.com``, ``files.slack.com``, ...) and the ``extra`` ones."""
    host = host.lower().rstrip(".")
    return host in extra or host == "slack.com" or host.endswith(".slack.com")


class _SlackOnlyRedirects(urllib.request.HTTPRedirectHandler):
    """Follows redirects only to Slack's hosts; anything else fails (the token stays with Slack)."""

    def __init__(self, allowed: frozenset[str]) -> None:
        super().__init__()
        self._allowed = allowed

    def redirect_request(  # noqa: PLR0917 - the stdlib handler's signature
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        target = urlparse(newurl)
        if not _allowed_url(target.scheme, target.netloc, self._allowed):
            raise _OffHostRedirect("redirected away from Slack")
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _allowed_url(scheme: str, netloc: str, extra_netlocs: frozenset[str]) -> bool:
    """HTTPS to a Slack host, or the configured API host itself (plain HTTP allowed there: tests)."""
    if netloc.lower() in extra_netlocs:
        return True
    host = netloc.rsplit("@", 1)[-1].split(":", 1)[0]
    return scheme == "https" and slack_host(host)


@dataclass(frozen=True, slots=True)
class _Image:
    mimetype: str
    data: bytes
    width: int
    height: int


def prepare_image(data: bytes) -> _Image | None:
    """A still PNG/JPEG/GIF/WebP no larger than 2048 px a side, or None if ``data`` is not one."""
    from PIL import Image, UnidentifiedImageError

    mimetype = sniff_image(data)
    if mimetype is None:
        return None
    try:
        with Image.open(io.BytesIO(data), formats=["PNG", "JPEG", "GIF", "WEBP"]) as image:
            width, height = image.size
            animated = bool(getattr(image, "is_animated", False))
            if not animated and max(width, height) <= MAX_IMAGE_SIDE:
                image.verify()
                return _Image(mimetype, data, width, height)
            image.seek(0)
            frame = image.convert("RGBA" if image.mode in {"RGBA", "LA", "P", "PA"} else "RGB")
            frame.thumbnail((MAX_IMAGE_SIDE, MAX_IMAGE_SIDE))
            out = io.BytesIO()
            if mimetype == "image/jpeg" and frame.mode == "RGB":
                frame.save(out, format="JPEG", quality=90)
                mimetype = "image/jpeg"
            else:
                frame.save(out, format="PNG", optimize=False)
                mimetype = "image/png"
            return _Image(mimetype, out.getvalue(), frame.width, frame.height)
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError):
        return None


@dataclass(frozen=True, slots=True)
class PdfText:
    """The text of a PDF, page by page (``--- page N ---`` between pages)."""

    text: str
    pages: int
    cut: bool  # stopped at the character limit or the deadline
    has_text: bool  # False for a scan: pages without a text layer


def pdf_text(data: bytes, *, max_chars: int, clock: Clock, deadline: float) -> PdfText:
    """A PDF's text, page by page, stopping at ``max_chars`` or the deadline.

    Raises ``ValueError`` when it does not parse or is protected by a password.
    """
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    try:
        reader = PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise ValueError("encrypted")
        pages = len(reader.pages)
        parts: list[str] = []
        used = 0
        cut = has_text = False
        for number, page in enumerate(reader.pages, start=1):
            if used >= max_chars or clock.monotonic() >= deadline:
                cut = True
                break
            text = (page.extract_text() or "").strip()
            has_text = has_text or bool(text)
            part = f"--- page {number} ---\n{text}" if pages > 1 else text
            parts.append(part)
            used += len(part) + 2
    except ValueError:
        raise
    except (PyPdfError, OSError, KeyError, TypeError, AttributeError, IndexError, RecursionError) as exc:
        raise ValueError(type(exc).__name__) from None
    return PdfText("\n\n".join(parts), pages, cut, has_text)


class SlackFiles:
    """Reads Slack files for prompts (see the module doc)."""

    def __init__(
        self,
        client: WebClient,
        *,
        limits: FileLimits,
        clock: Clock,
        timeout_s: float = 20.0,
    ) -> None:
        self._client = client
        self._token = client.token or ""
        self._limits = limits
        self._clock = clock
        self._timeout_s = timeout_s
        api = urlparse(client.base_url)
        self._extra_netlocs = frozenset({api.netloc.lower()})
        self._opener = urllib.request.build_opener(_SlackOnlyRedirects(self._extra_netlocs))
        self._images: OrderedDict[str, _Image] = OrderedDict()
        self._image_bytes = 0

    # ------------------------------------------------------------------------------------ public

    def read(self, files: Sequence[Mapping[str, Any]], *, deadline: float) -> FilesRead:
        """Read the files of one message (at most ``limits.max_files``), within ``deadline``."""
        result = FilesRead()
        wanted = [SlackFile.from_payload(raw) for raw in files if raw.get("mode") != "tombstone"]
        wanted = [f for f in wanted if f.id]
        if len(wanted) > self._limits.max_files:
            result.notices.append(Notice.too_many_files(len(wanted), self._limits.max_files))
            wanted = wanted[: self._limits.max_files]
        for slack_file in wanted:
            started = self._clock.monotonic()
            try:
                attachment, notices = self._read_one(slack_file, deadline)
            except _Refused as refused:
                result.notices.append(refused.notice)
                self._log(slack_file, None, refused.outcome, started)
                continue
            result.attachments.append(attachment)
            result.notices.extend(notices)
            self._log(slack_file, attachment, "read", started)
        return result

    def image(self, attachment: Attachment, *, deadline: float) -> ImageInput:
        """The image of ``attachment`` for a prompt, fetched again from Slack if not cached.

        Raises ``LookupError`` (with a notice as its argument) when it can no longer be read.
        """
        cached = self._images.get(attachment.id)
        if cached is None:
            slack_file = SlackFile(
                id=attachment.id,
                name=attachment.name,
                mimetype=attachment.mimetype,
                filetype="",
                size=attachment.size,
                url=attachment.url,
            )
            try:
                data = self._download(slack_file, deadline)
            except _Refused as refused:
                raise LookupError(refused.notice) from None
            cached = prepare_image(data)
            if cached is None:
                raise LookupError(Notice.image_unreadable(attachment.name))
            self._remember(attachment.id, cached)
        else:
            self._images.move_to_end(attachment.id)
        return ImageInput(
            name=attachment.name,
            mimetype=cached.mimetype,
            data=cached.data,
            width=cached.width,
            height=cached.height,
            detail=self._limits.image_detail,
        )

    # ---------------------------------------------------------------------------------- reading

    def _read_one(self, slack_file: SlackFile, deadline: float) -> tuple[Attachment, list[Notice]]:
        if slack_file.mode == "hidden_by_limit":
            raise _Refused(Notice.file_no_access(slack_file.name), "hidden_by_limit")
        if slack_file.needs_info or not slack_file.url:
            slack_file = self._info(slack_file)
        kind = classify_file(slack_file.name, slack_file.mimetype, slack_file.filetype)
        if kind is None:
            what = describe_type(slack_file.name, slack_file.mimetype, slack_file.filetype)
            raise _Refused(Notice.unsupported_type(slack_file.name, what), "unsupported")
        limit = self._limits.max_file_bytes
        if slack_file.size is not None and slack_file.size > limit:
            raise _Refused(Notice.file_too_large(slack_file.name, slack_file.size, limit), "too_large")
        data = self._download(slack_file, deadline, kind=kind)
        return self._parse(slack_file, kind, data, deadline)

    def _parse(
        self, slack_file: SlackFile, kind: FileKind, data: bytes, deadline: float
    ) -> tuple[Attachment, list[Notice]]:
        name = slack_file.name
        base = {"id": slack_file.id, "name": name, "size": len(data)}
        if kind == "image" or sniff_image(data) is not None:
            image = prepare_image(data)
            if image is None:
                raise _Refused(Notice.image_unreadable(name), "image_unreadable")
            self._remember(slack_file.id, image)
            attachment = Attachment(
                **base,
                kind="image",
                mimetype=image.mimetype,
                width=image.width,
                height=image.height,
                url=slack_file.url,
            )
            return attachment, []
        max_chars = self._limits.max_file_chars
        if kind == "pdf" or is_pdf(data):
            try:
                pdf = pdf_text(data, max_chars=max_chars, clock=self._clock, deadline=deadline)
            except ValueError:
                raise _Refused(Notice.pdf_unreadable(name), "pdf_unreadable") from None
            if not pdf.has_text:
                raise _Refused(Notice.pdf_no_text(name, pdf.pages), "pdf_no_text")
            text, cut_more = cut_text(pdf.text, max_chars)
            notices = [Notice.file_cut(name, len(text))] if pdf.cut or cut_more else []
            attachment = Attachment(
                **base,
                kind="pdf",
                mimetype="application/pdf",
                text=text,
                pages=pdf.pages,
                truncated=bool(notices),
            )
            return attachment, notices
        decoded = decode_text(data)
        if decoded is None:
            what = describe_type(name, slack_file.mimetype, slack_file.filetype)
            raise _Refused(Notice.unsupported_type(name, f"{what} with binary content"), "binary")
        text, cut = cut_text(decoded, max_chars)
        notices = [Notice.file_cut(name, len(text))] if cut else []
        attachment = Attachment(
            **base, kind="text", mimetype=slack_file.mimetype or "text/plain", text=text, truncated=cut
        )
        return attachment, notices

    # --------------------------------------------------------------------------------- Slack I/O

    def _info(self, slack_file: SlackFile) -> SlackFile:
        """The file as ``files.info`` describes it now (processing done, download URL known)."""
        try:
            response = self._client.files_info(file=slack_file.id)
        except SlackApiError as error:
            raise self._api_refusal(slack_file, error) from None
        raw = response.get("file")
        if not isinstance(raw, dict):
            raise _Refused(Notice.file_not_ready(slack_file.name), "no_file_info")
        info = SlackFile.from_payload(raw)
        if info.needs_info or not info.url:
            raise _Refused(Notice.file_not_ready(slack_file.name), "not_ready")
        return info

    def _api_refusal(self, slack_file: SlackFile, error: SlackApiError) -> _Refused:
        code = str(error.response.get("error") or "")
        if code == "missing_scope":
            needed = str(error.response.get("needed") or "files:read")
            return _Refused(Notice.missing_scope(needed), "missing_scope")
        if code in _NO_ACCESS:
            return _Refused(Notice.file_no_access(slack_file.name), code)
        return _Refused(Notice.file_download_failed(slack_file.name, f"Slack said {code or 'error'}"), code)

    def _diagnose(self, slack_file: SlackFile) -> _Refused:
        """After an HTML page or a 401/403: ask files.info why (a missing scope is told as such)."""
        try:
            self._client.files_info(file=slack_file.id)
        except SlackApiError as error:
            return self._api_refusal(slack_file, error)
        return _Refused(Notice.file_no_access(slack_file.name), "no_access")

    def _download(self, slack_file: SlackFile, deadline: float, *, kind: FileKind | None = None) -> bytes:
        name = slack_file.name
        url = slack_file.url or ""
        parsed = urlparse(url)
        if not _allowed_url(parsed.scheme, parsed.netloc, self._extra_netlocs):
            raise _Refused(Notice.file_download_failed(name, "it is not stored on Slack"), "off_host_url")
        left = deadline - self._clock.monotonic()
        if left <= 0.5:
            raise _Refused(Notice.file_download_failed(name, "no time was left"), "no_time")
        request = urllib.request.Request(url, headers={"Authorization": f"Bearer {self._token}"})  # noqa: S310 - https (or the test API host) checked above
        limit = self._limits.max_file_bytes
        try:
            with self._opener.open(request, timeout=min(self._timeout_s, left)) as response:
                content_type = str(response.headers.get("Content-Type") or "").lower()
                data: bytes = response.read(limit + 1)
        except _OffHostRedirect:
            raise _Refused(Notice.file_download_failed(name, "Slack sent me elsewhere"), "off_host") from None
        except urllib.error.HTTPError as error:
            if error.code in {401, 403, 404}:
                raise self._diagnose(slack_file) from None
            why = f"Slack answered {error.code}"
            raise _Refused(Notice.file_download_failed(name, why), f"http_{error.code}") from None
        except (urllib.error.URLError, TimeoutError, OSError):
            why = "it took too long" if self._clock.monotonic() >= deadline else "the connection failed"
            raise _Refused(Notice.file_download_failed(name, why), "network") from None
        if len(data) > limit:
            raise _Refused(Notice.file_too_large(name, len(data), limit), "too_large")
        wants_html = extension(name) in _HTML_EXTENSIONS or "html" in slack_file.mimetype
        if not wants_html and kind != "image" and ("text/html" in content_type or looks_like_html(data)):
            raise self._diagnose(slack_file)
        if kind == "image" and "text/html" in content_type:
            raise self._diagnose(slack_file)
        return data

    # ------------------------------------------------------------------------------------ misc

    def _remember(self, file_id: str, image: _Image) -> None:
        if len(image.data) > IMAGE_CACHE_BYTES:
            return
        old = self._images.pop(file_id, None)
        if old is not None:
            self._image_bytes -= len(old.data)
        self._images[file_id] = image
        self._image_bytes += len(image.data)
        while self._image_bytes > IMAGE_CACHE_BYTES and self._images:
            _, dropped = self._images.popitem(last=False)
            self._image_bytes -= len(dropped.data)

    def _log(
        self, slack_file: SlackFile, attachment: Attachment | None, outcome: str, started: float
    ) -> None:
        log.info(
            "file_read",
            file_id=slack_file.id,
            kind=attachment.kind if attachment else None,
            size=attachment.size if attachment else slack_file.size,
            pages=attachment.pages if attachment else None,
            outcome=outcome,
            ms=int((self._clock.monotonic() - started) * 1000),
        )
