"""What goes into a prompt besides the typed text: files, images, and what to tell people about them.

Pure: no I/O. The Slack adapters (:mod:`bot.adapters.slack_files`, :mod:`bot.adapters.slack_history`)
download and parse; this module decides and describes:

- which files are read (:func:`classify_file`): text files (Markdown, plain text, YAML, JSON, code,
  CSV...), PDFs and images (PNG, JPEG, GIF, WebP, recognised by their magic bytes: :func:`sniff_image`);
- what a read file is (:class:`Attachment`: its text, or an image's size and where to fetch it again)
  and how it reads in a prompt (:func:`render_attachments`: the file's name, then its text fenced);
- which models see images (:func:`accepts_images`) and what an image costs in prompt tokens by
  OpenAI's rules (:func:`image_tokens`): 512-px tiles for GPT-4o / GPT-4.1 / GPT-4.5 / GPT-5 /
  o1 / o3 (a base plus a price per tile after scaling into 2048 x 2048 and the short side to 768),
  32-px patches capped at 1,536 and times a multiplier for GPT-4.1-mini/nano, GPT-5-mini/nano and
  o4-mini;
- the limits (:class:`FileLimits`) and, for every input that is refused or cut, the sentence the
  person is told (:class:`Notice`): what happened and what to do.

Nothing here holds a file's bytes for longer than a prompt: an :class:`Attachment` keeps text (text
files, PDFs) or an image's reference (its Slack file id and download URL); :class:`ImageInput`
carries the bytes of one image into one model request.
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

FileKind = Literal["text", "pdf", "image"]
ImageDetail = Literal["low", "high", "auto"]

MB = 1_000_000
DEFAULT_MAX_FILE_BYTES = 10 * MB  # a design doc or a diagram; OpenAI takes images up to 20 MB
DEFAULT_MAX_FILES = 10  # per message; Slack itself allows 10 files per message
DEFAULT_MAX_FILE_CHARS = 200_000  # text kept per file (about 50k tokens of prose)
DEFAULT_MAX_THREAD_MESSAGES = 1_000  # messages read back from one thread

SUPPORTED = "text files (Markdown, plain text, YAML, JSON, code, CSV), PDFs and images (PNG, JPEG, GIF, WebP)"

# ----------------------------------------------------------------------------------- file types

IMAGE_MIMETYPES = frozenset({"image/png", "image/jpeg", "image/gif", "image/webp"})
PDF_MIMETYPE = "application/pdf"

# Slack's `filetype` values for text it can show (its own list, plus common code types).
_TEXT_FILETYPES = frozenset(
    {
        "text", "markdown", "post", "csv", "tsv", "json", "yaml", "xml", "html", "css", "javascript",
        "typescript", "python", "java", "kotlin", "go", "rust", "ruby", "php", "c", "cpp", "csharp",
        "objc", "swift", "scala", "shell", "bash", "powershell", "sql", "diff", "dockerfile", "toml",
        "ini", "groovy", "haskell", "lua", "perl", "r", "clojure", "elixir", "erlang", "dart", "matlab",
        "ocaml", "fsharp", "vb", "verilog", "vhdl", "puppet", "smalltalk", "scheme", "lisp", "latex",
        "mermaid", "plantuml", "graphql", "protobuf", "terraform", "hcl", "jsx", "tsx", "vue", "svelte",
    }
)  # fmt: skip
_TEXT_EXTENSIONS = frozenset(
    {
        "txt", "text", "md", "markdown", "mdx", "rst", "adoc", "org", "csv", "tsv", "json", "jsonl",
        "ndjson", "yaml", "yml", "toml", "ini", "cfg", "conf", "env", "properties", "xml", "html", "htm",
        "css", "scss", "less", "js", "mjs", "cjs", "ts", "jsx", "tsx", "vue", "svelte", "py", "pyi", "java",
        "kt", "kts", "go", "rs", "rb", "php", "c", "h", "cc", "cpp", "cxx", "hpp", "hh", "cs", "m", "mm",
        "swift", "scala", "sh", "bash", "zsh", "fish", "ps1", "sql", "diff", "patch", "dockerfile", "tf",
        "tfvars", "hcl", "gradle", "groovy", "hs", "lua", "pl", "pm", "r", "clj", "ex", "exs", "erl",
        "dart", "proto", "graphql", "gql", "mermaid", "mmd", "puml", "plantuml", "tex", "log", "lock",
        "gitignore", "editorconfig", "makefile", "mk", "cmake", "bat", "vb", "fs", "ml", "nix", "prisma",
        "sol", "zig", "jl",
    }
)  # fmt: skip
_TEXT_MIMETYPES = frozenset(
    {
        "application/json", "application/x-yaml", "application/yaml", "application/xml",
        "application/javascript", "application/x-javascript", "application/typescript",
        "application/x-sh", "application/x-python", "application/sql", "application/toml",
        "application/x-ndjson", "application/graphql",
    }
)  # fmt: skip
_KIND_NAMES = {
    "docx": "a Word document",
    "doc": "a Word document",
    "xlsx": "a spreadsheet",
    "xls": "a spreadsheet",
    "pptx": "a slide deck",
    "ppt": "a slide deck",
    "key": "a Keynote deck",
    "pages": "a Pages document",
    "numbers": "a spreadsheet",
    "zip": "an archive",
    "gz": "an archive",
    "tar": "an archive",
    "heic": "a HEIC photo",
    "tiff": "a TIFF image",
    "bmp": "a BMP image",
    "mp4": "a video",
    "mov": "a video",
    "mp3": "an audio file",
    "m4a": "an audio file",
    "gdoc": "a Google Doc link",
    "gsheet": "a Google Sheet link",
}


_IMAGE_NAMES = frozenset({"png", "jpg", "jpeg", "gif", "webp"})


def extension(name: str) -> str:
    """The lower-case extension of a file name (``Dockerfile`` and ``Makefile`` count as their own)."""
    base = name.rsplit("/", 1)[-1].lower()
    if base in {"dockerfile", "makefile"}:
        return base
    return base.rsplit(".", 1)[-1] if "." in base.strip(".") else ""


def classify_file(name: str, mimetype: str | None, filetype: str | None) -> FileKind | None:
    """What kind of file Slack says this is, before downloading it; None for types the bot can't read."""
    mime = (mimetype or "").split(";", 1)[0].strip().lower()
    ftype = (filetype or "").strip().lower()
    ext = extension(name)
    kind: FileKind | None = None
    if mime in IMAGE_MIMETYPES or ftype in _IMAGE_NAMES or (not mime and ext in _IMAGE_NAMES):
        kind = "image"
    elif mime == PDF_MIMETYPE or ftype == "pdf" or ext == "pdf":
        kind = "pdf"
    elif (
        ext in _TEXT_EXTENSIONS
        or ftype in _TEXT_FILETYPES
        or mime.startswith("text/")
        or mime in _TEXT_MIMETYPES
        or mime.endswith(("+json", "+xml", "+yaml"))
    ):
        kind = "text"
    return kind


def describe_type(name: str, mimetype: str | None, filetype: str | None) -> str:
    """A short human name for a file type the bot can't read ("a Word document", "a .xyz file")."""
    ext = extension(name) or (filetype or "").lower()
    if ext in _KIND_NAMES:
        return _KIND_NAMES[ext]
    if ext:
        return f"a .{ext} file"
    return f"a {mimetype} file" if mimetype else "a file of unknown type"


def sniff_image(data: bytes) -> str | None:
    """The image mimetype by magic bytes (PNG, JPEG, GIF, WebP), or None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data.startswith((b"GIF87a", b"GIF89a")):
        return "image/gif"
    if len(data) >= 12 and data.startswith(b"RIFF") and data[8:12] == b"WEBP":
        return "image/webp"
    return None


def is_pdf(data: bytes) -> bool:
    """True when ``data`` starts like a PDF (``%PDF-``, maybe after a few bytes of junk, as readers allow)."""
    return b"%PDF-" in data[:1024]


def looks_like_html(data: bytes) -> bool:
    """True for an HTML page (what Slack sends instead of a file when the request lacks access)."""
    head = data[:512].lstrip().lower()
    return head.startswith((b"<!doctype html", b"<html"))


def decode_text(data: bytes) -> str | None:
    """A text file's content: UTF-8 (BOM or not), UTF-16 with a BOM, or Windows-1252; None if binary."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in data[:8192]:
        return None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    head = text[:8192]
    controls = sum(1 for ch in head if ord(ch) < 32 and ch not in "\t\n\r\f")
    return None if controls > len(head) // 100 else text


# ----------------------------------------------------------------------------------- attachments


class Attachment(BaseModel):
    """A file read from a Slack message, as a conversation keeps it.

    Text files and PDFs keep their text (cut at the limit, ``truncated`` says so); images keep their
    size and where to fetch them again (Slack is the record: the bytes are fetched when a prompt
    needs them, never stored).
    """

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=100, description="Slack file id (F...)")
    name: str = Field(max_length=300)
    kind: FileKind
    mimetype: str = ""
    size: int = Field(default=0, ge=0)
    text: str | None = None
    truncated: bool = False
    pages: int | None = Field(default=None, description="PDFs: number of pages")
    width: int = Field(default=0, ge=0)
    height: int = Field(default=0, ge=0)
    url: str | None = Field(default=None, description="Images: url_private_download, to fetch it again")


@dataclass(frozen=True, slots=True)
class ImageInput:
    """One image for one model request: its bytes, type, size and the detail level asked for."""

    name: str
    mimetype: str
    data: bytes
    width: int
    height: int
    detail: ImageDetail = "high"

    def data_url(self) -> str:
        """The image as a ``data:`` URL (what OpenAI's ``image_url`` part takes)."""
        return f"data:{self.mimetype};base64,{base64.b64encode(self.data).decode('ascii')}"


def _fence(text: str) -> str:
    """A Markdown code fence longer than any backtick run inside ``text``."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _size(size: int) -> str:
    if size >= MB:
        return f"{size / MB:.1f} MB"
    if size >= 1000:
        return f"{size / 1000:.0f} kB"
    return f"{size} bytes"


def render_attachment(attachment: Attachment, *, image_shown: bool) -> str:
    """One file as it reads in a prompt: a header line with its name, then its text fenced.

    Images read as a line naming them; ``image_shown`` says whether the image itself follows as an
    image input (or was left out, e.g. for a model that cannot see images).
    """
    name = attachment.name or attachment.id
    if attachment.kind == "image":
        size = f", {attachment.width}x{attachment.height}" if attachment.width else ""
        seen = "attached below" if image_shown else "not shown to you"
        return f"[image {name}{size}: {seen}]"
    what = "PDF" if attachment.kind == "pdf" else "file"
    details: list[str] = []
    if attachment.pages is not None:
        details.append(f"{attachment.pages} page{'s' if attachment.pages != 1 else ''}")
    if attachment.truncated:
        details.append("cut: only the beginning is included")
    suffix = f" ({', '.join(details)})" if details else ""
    text = attachment.text or ""
    fence = _fence(text)
    return f"[{what} {name}{suffix}]\n{fence}\n{text}\n{fence}"


def render_attachments(
    text: str, attachments: Sequence[Attachment], *, shown_images: Iterable[str] = ()
) -> str:
    """A message's text followed by its files (see :func:`render_attachment`).

    ``shown_images``: ids of the images that follow as image inputs (the others are said not shown).
    """
    shown = frozenset(shown_images)
    parts = [text] if text else []
    parts += [render_attachment(a, image_shown=a.id in shown) for a in attachments]
    return "\n\n".join(parts)


def cut_text(text: str, max_chars: int) -> tuple[str, bool]:
    """``text`` cut to at most ``max_chars`` at a line break where possible; (text, was_cut)."""
    if len(text) <= max_chars:
        return text, False
    head = text[:max_chars]
    newline = head.rfind("\n")
    if newline >= max_chars * 0.8:
        head = head[:newline]
    return head, True


# ----------------------------------------------------------------------------------- image tokens


@dataclass(frozen=True, slots=True)
class _Tiles:
    """GPT-4o-style cost: ``base + per_tile * tiles`` (512-px tiles) at high detail, ``base`` at low."""

    base: int
    per_tile: int


@dataclass(frozen=True, slots=True)
class _Patches:
    """GPT-4.1-mini-style cost: 32-px patches, at most 1,536, times ``multiplier`` (detail is ignored)."""

    multiplier: float


_NO_IMAGES = None
# OpenAI's vision guide, "Calculating costs". Longest prefix wins (as for context windows).
_IMAGE_RULES: dict[str, _Tiles | _Patches | None] = {
    "gpt-5": _Tiles(70, 140),
    "gpt-5-mini": _Patches(1.62),
    "gpt-5-nano": _Patches(2.46),
    "gpt-4.1": _Tiles(85, 170),
    "gpt-4.1-mini": _Patches(1.62),
    "gpt-4.1-nano": _Patches(2.46),
    "gpt-4.5": _Tiles(85, 170),
    "gpt-4o": _Tiles(85, 170),
    "chatgpt-4o": _Tiles(85, 170),
    "gpt-4o-mini": _Tiles(2833, 5667),
    "gpt-4-turbo": _Tiles(85, 170),
    "o1": _Tiles(75, 150),
    "o1-pro": _Tiles(75, 150),
    "o3": _Tiles(75, 150),
    "o4-mini": _Patches(1.72),
    "computer-use-preview": _Tiles(65, 129),
    # text only
    "o1-mini": _NO_IMAGES,
    "o1-preview": _NO_IMAGES,
    "o3-mini": _NO_IMAGES,
    "gpt-4": _NO_IMAGES,
    "gpt-4-0613": _NO_IMAGES,
    "gpt-4-1106": _NO_IMAGES,
    "gpt-4-0125": _NO_IMAGES,
    "gpt-4-turbo-preview": _NO_IMAGES,
    "gpt-3.5-turbo": _NO_IMAGES,
    "gpt-4o-audio": _NO_IMAGES,
    "gpt-4o-search": _NO_IMAGES,
}
_RULES_BY_LENGTH = sorted(_IMAGE_RULES, key=len, reverse=True)
PATCH_CAP = 1536


def _rule(model_id: str) -> _Tiles | _Patches | None:
    model = model_id.strip().lower().removeprefix("openai/")
    if model.startswith("ft:"):
        model = model[3:].split(":", 1)[0]
    for prefix in _RULES_BY_LENGTH:
        if model == prefix or model.startswith((prefix + "-", prefix + ".")):
            return _IMAGE_RULES[prefix]
    return None  # unknown models: assume text only, and say so rather than send what may be refused


def accepts_images(model: str) -> bool:
    """True when ``model`` takes image inputs (GPT-4o, GPT-4.1, GPT-5, o1, o3, o4-mini... families)."""
    return _rule(model) is not None


def _tile_tokens(rule: _Tiles, width: int, height: int, detail: ImageDetail) -> int:
    if detail == "low":
        return rule.base
    w, h = float(width), float(height)
    if max(w, h) > 2048:  # fit into 2048 x 2048
        scale = 2048 / max(w, h)
        w, h = w * scale, h * scale
    if min(w, h) > 768:  # then the shortest side to 768
        scale = 768 / min(w, h)
        w, h = w * scale, h * scale
    tiles = math.ceil(w / 512) * math.ceil(h / 512)
    return rule.base + rule.per_tile * tiles


def patch_count(width: int, height: int) -> int:
    """32-px patches covering the image after OpenAI scales it down to at most 1,536 patches."""
    patches = math.ceil(width / 32) * math.ceil(height / 32)
    if patches <= PATCH_CAP:
        return patches
    ratio = math.sqrt(32 * 32 * PATCH_CAP / (width * height))
    ratio *= min(
        math.floor(width * ratio / 32) / (width * ratio / 32),
        math.floor(height * ratio / 32) / (height * ratio / 32),
    )
    resized_w, resized_h = math.floor(width * ratio), math.floor(height * ratio)
    return min(PATCH_CAP, math.ceil(resized_w / 32) * math.ceil(resized_h / 32))


def image_tokens(model: str, width: int, height: int, detail: ImageDetail = "high") -> int:
    """Prompt tokens one image costs ``model`` (``auto`` is priced as ``high``, the upper bound).

    Raises ``ValueError`` for a model that takes no images (ask :func:`accepts_images` first).
    """
    rule = _rule(model)
    if rule is None:
        raise ValueError(f"{model} takes no image inputs")
    width, height = max(1, width), max(1, height)
    if isinstance(rule, _Tiles):
        return _tile_tokens(rule, width, height, detail)
    return math.ceil(patch_count(width, height) * rule.multiplier)


# ----------------------------------------------------------------------------------- limits


@dataclass(frozen=True, slots=True)
class FileLimits:
    """How much of a thread and its files the bot reads."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_files: int = DEFAULT_MAX_FILES
    max_file_chars: int = DEFAULT_MAX_FILE_CHARS
    max_thread_messages: int = DEFAULT_MAX_THREAD_MESSAGES
    image_detail: ImageDetail = "high"


# ----------------------------------------------------------------------------------- notices

NoticeKind = Literal[
    "file_too_large",
    "too_many_files",
    "unsupported_type",
    "pdf_unreadable",
    "pdf_no_text",
    "file_cut",
    "image_unreadable",
    "images_not_seen",
    "images_left_out",
    "missing_scope",
    "file_no_access",
    "file_not_ready",
    "file_download_failed",
    "thread_capped",
    "thread_partial",
    "thread_unavailable",
    "thread_unreadable",
]


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the person should know about their input: told in the thread, the rest still answered.

    ``text`` says what happened and what to do; it names files and scopes, never contents.
    """

    kind: NoticeKind
    text: str

    @staticmethod
    def file_too_large(name: str, size: int, limit: int) -> Notice:
        """A file over the size limit was not read."""
        return Notice(
            "file_too_large",
            f"I didn't read *{name}*: it is {_size(size)} and I read files up to {_size(limit)}. "
            "Share a smaller export, or paste the part that matters.",
        )

    @staticmethod
    def too_many_files(count: int, limit: int) -> Notice:
        """More files in one message than the limit: the first ``limit`` were read."""
        return Notice(
            "too_many_files",
            f"You shared {count} files in one message; I read the first {limit}. "
            "Share the others in another message.",
        )

    @staticmethod
    def unsupported_type(name: str, kind: str) -> Notice:
        """A file type the bot does not read."""
        return Notice(
            "unsupported_type",
            f"I can't read *{name}* ({kind}). I read {SUPPORTED}: export it as PDF or Markdown.",
        )

    @staticmethod
    def pdf_unreadable(name: str) -> Notice:
        """A PDF that does not parse, or is password-protected."""
        return Notice(
            "pdf_unreadable",
            f"I couldn't read *{name}*: it does not open as a PDF (damaged, or protected by a password). "
            "Export it again without a password, or paste its text.",
        )

    @staticmethod
    def pdf_no_text(name: str, pages: int) -> Notice:
        """A PDF without a text layer (a scan): nothing to read."""
        return Notice(
            "pdf_no_text",
            f"*{name}* has {pages} page{'s' if pages != 1 else ''} but no text I can read (a scan?). "
            "Share it as images, or as a PDF exported from the original document.",
        )

    @staticmethod
    def file_cut(name: str, kept_chars: int) -> Notice:
        """A long text or PDF was cut to the limit."""
        return Notice(
            "file_cut",
            f"*{name}* is long: I read its first {kept_chars:,} characters. "
            "Share the section that matters if it comes later.",
        )

    @staticmethod
    def image_unreadable(name: str) -> Notice:
        """A file named like an image that is not a PNG, JPEG, GIF or WebP image."""
        return Notice(
            "image_unreadable",
            f"I couldn't read *{name}* as an image: I read PNG, JPEG, GIF and WebP. Export it as PNG.",
        )

    @staticmethod
    def images_not_seen(agent: str, model: str, names: Sequence[str]) -> Notice:
        """The answering agent's model takes no images."""
        listed = ", ".join(f"*{n}*" for n in names)
        return Notice(
            "images_not_seen",
            f"{agent}'s model ({model}) cannot see images, so it did not see {listed}. "
            "Describe what matters in words, or hand the thread to an agent whose model sees images.",
        )

    @staticmethod
    def images_left_out(count: int) -> Notice:
        """Images that did not fit the prompt budget (older ones are left out first)."""
        noun = "image" if count == 1 else "images"
        return Notice(
            "images_left_out",
            f"{count} older {noun} in this thread did not fit in the agent's context and were left out. "
            "Share again the one that matters.",
        )

    @staticmethod
    def missing_scope(scope: str) -> Notice:
        """Slack refused because the app lacks a scope."""
        return Notice(
            "missing_scope",
            f"I can't do that here because the Slack app lacks the `{scope}` scope. "
            f"Ask a Slack admin to add `{scope}` (OAuth & Permissions -> Bot Token Scopes) "
            "and reinstall the app.",
        )

    @staticmethod
    def file_no_access(name: str) -> Notice:
        """Slack did not let the bot download a file."""
        return Notice(
            "file_no_access",
            f"Slack didn't let me download *{name}* (the app has no access to it). "
            "Share it again in this channel, or paste its content.",
        )

    @staticmethod
    def file_not_ready(name: str) -> Notice:
        """Slack was still processing a file."""
        return Notice(
            "file_not_ready",
            f"Slack was still processing *{name}*, so I couldn't read it yet. Mention me again in a moment.",
        )

    @staticmethod
    def file_download_failed(name: str, why: str) -> Notice:
        """A download that failed for another reason (time, network, a redirect elsewhere)."""
        return Notice(
            "file_download_failed",
            f"I couldn't download *{name}* ({why}). Share it again, or paste its content.",
        )

    @staticmethod
    def thread_capped(read: int) -> Notice:
        """A thread longer than the limit: only part of it was read."""
        return Notice(
            "thread_capped",
            f"This thread has more than {read:,} messages; I read the first {read:,} and your latest. "
            "For a long discussion, start a new thread with a summary.",
        )

    @staticmethod
    def thread_partial(read: int, why: str) -> Notice:
        """Reading the thread stopped part way (Slack's rate limit, or time ran out)."""
        return Notice(
            "thread_partial",
            f"I could read only part of this thread ({why}): I used the first {read} messages and "
            "your latest. If something from later in the thread matters, repeat it here.",
        )

    @staticmethod
    def thread_unavailable(reason: str) -> Notice:
        """The conversation was lost and Slack could not give the thread back."""
        return Notice(
            "thread_unavailable",
            f"I lost my memory of this thread and could not read it back from Slack ({reason}). "
            "Start a new thread with `/architect` (or mention me) and a short summary of where you are.",
        )

    @staticmethod
    def thread_unreadable(reason: str) -> Notice:
        """Called into a discussion Slack would not give back: the mention is answered alone."""
        return Notice(
            "thread_unreadable",
            f"I couldn't read the discussion in this thread ({reason}), so I answered your message alone. "
            "Quote or summarise what matters from above.",
        )


def notices_text(notices: Iterable[Notice]) -> str:
    """Several notices as one message (one line each, no repeats)."""
    seen: list[str] = []
    for notice in notices:
        if notice.text not in seen:
            seen.append(notice.text)
    return "\n".join(f"• {text}" for text in seen) if len(seen) > 1 else "".join(seen)
