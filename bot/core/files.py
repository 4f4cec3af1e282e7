"""Which files of a Slack message the bot reads, and what a read file is in a prompt.

Pure: no I/O. The Slack adapters (:mod:`bot.adapters.slack_files`, :mod:`bot.adapters.slack_history`)
download and parse; this module decides and describes:

- which files are read (:func:`classify_file`): text files (Markdown, plain text, YAML, JSON, code,
  CSV...), PDFs and images (PNG, JPEG, GIF, WebP, recognised by their magic bytes: :func:`sniff_image`);
- what a read file is (:class:`Attachment`: its text, or an image's size and where to fetch it again)
  and how it reads in a prompt (:func:`render_attachments`: the file's name, then its text fenced);
- how much is read (:class:`FileLimits`).

Nothing here holds a file's bytes for longer than a prompt: an :class:`Attachment` keeps text (text
files, PDFs) or an image's reference (its Slack file id and download URL); :class:`ImageInput`
carries the bytes of one image into one model request. What an image costs in prompt tokens is
:mod:`bot.core.image_cost`; what people are told about a refused or cut input is :mod:`bot.core.notices`.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from bot.core.image_cost import ImageDetail

FileKind = Literal["text", "pdf", "image"]

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


def human_size(size: int) -> str:
    """``12.3 MB``, ``512 kB``, ``80 bytes``."""
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


# ----------------------------------------------------------------------------------- limits


@dataclass(frozen=True, slots=True)
class FileLimits:
    """How much of a thread and its files the bot reads."""

    max_file_bytes: int = DEFAULT_MAX_FILE_BYTES
    max_files: int = DEFAULT_MAX_FILES
    max_file_chars: int = DEFAULT_MAX_FILE_CHARS
    max_thread_messages: int = DEFAULT_MAX_THREAD_MESSAGES
    image_detail: ImageDetail = "high"
