"""What the person is told about their input: for every file or thread that is refused or cut, one
sentence saying what happened and what to do (:class:`Notice`); several told as one message
(:func:`notices_text`). Notices name files and scopes, never contents. Pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

from bot.core.files import SUPPORTED, human_size

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
            f"I didn't read *{name}*: it is {human_size(size)} and I read files up to {human_size(limit)}. "
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
    def images_left_out(names: Sequence[str], limit: int) -> Notice:
        """Images of the person's message that did not fit the images' limit of one answer's prompt."""
        listed = ", ".join(f"*{n}*" for n in names)
        return Notice(
            "images_left_out",
            f"The agent did not see {listed}: the images one answer can look at add up to "
            f"{human_size(limit)} at most, newest first. Share fewer or smaller images "
            "(a crop of the part that matters).",
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
