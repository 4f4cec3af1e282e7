"""What goes into a prompt besides typed text (pure core): file kinds, image costs, limits, notices."""

from __future__ import annotations

import base64

import pytest

from bot.core.files import (
    Attachment,
    ImageInput,
    classify_file,
    cut_text,
    decode_text,
    describe_type,
    is_pdf,
    looks_like_html,
    render_attachment,
    render_attachments,
    sniff_image,
)
from bot.core.image_cost import accepts_images, image_tokens, patch_count
from bot.core.notices import Notice, notices_text


@pytest.mark.parametrize(
    ("name", "mimetype", "filetype", "kind"),
    [
        ("design.md", "text/markdown", "markdown", "text"),
        ("notes.txt", "text/plain", "text", "text"),
        ("values.yaml", "application/x-yaml", "yaml", "text"),
        ("openapi.json", "application/json", "json", "text"),
        ("main.py", "text/x-python", "python", "text"),
        ("costs.csv", "text/csv", "csv", "text"),
        ("Dockerfile", "", "", "text"),
        ("spec.pdf", "application/pdf", "pdf", "pdf"),
        ("diagram.png", "image/png", "png", "image"),
        ("photo.jpg", "image/jpeg", "jpg", "image"),
        ("anim.gif", "image/gif", "gif", "image"),
        ("shot.webp", "image/webp", "webp", "image"),
        (
            "deck.pptx",
            "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            "pptx",
            None,
        ),
        (
            "report.docx",
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            "docx",
            None,
        ),
        ("archive.zip", "application/zip", "zip", None),
        ("blob", "application/octet-stream", "binary", None),
    ],
)
def test_which_files_are_read(name: str, mimetype: str, filetype: str, kind: str | None) -> None:
    """Design docs, code, PDFs and diagrams are read; Office files and archives are told as unsupported."""
    assert classify_file(name, mimetype, filetype) == kind


def test_unsupported_types_are_named_for_people() -> None:
    """The notice for a Word file says 'a Word document', not a MIME type."""
    assert describe_type("report.docx", "application/x", "docx") == "a Word document"
    assert describe_type("thing.xyz", None, None) == "a .xyz file"
    text = Notice.unsupported_type("report.docx", "a Word document").text
    assert "report.docx" in text
    assert "PDF" in text
    assert "Markdown" in text


def test_images_are_recognised_by_magic_bytes_not_names() -> None:
    """A PNG named .jpg is still a PNG; text named .png is not an image."""
    assert sniff_image(b"\x89PNG\r\n\x1a\n....") == "image/png"
    assert sniff_image(b"\xff\xd8\xff\xe0....") == "image/jpeg"
    assert sniff_image(b"GIF89a....") == "image/gif"
    assert sniff_image(b"RIFF\x00\x00\x00\x00WEBPVP8 ") == "image/webp"
    assert sniff_image(b"RIFF\x00\x00\x00\x00WAVEfmt ") is None
    assert sniff_image(b"# a markdown file") is None
    assert is_pdf(b"%PDF-1.7\n...")
    assert not is_pdf(b"<html>")


def test_an_html_login_page_is_recognised() -> None:
    """What Slack sends instead of a file when access is refused is recognised as a page, not content."""
    assert looks_like_html(b"  <!DOCTYPE html><html><body>Sign in</body></html>")
    assert looks_like_html(b"<html lang=en>")
    assert not looks_like_html(b"# Design\n<html> in a code block")


def test_text_decoding_handles_common_encodings_and_refuses_binary() -> None:
    """UTF-8 (with BOM), UTF-16 and Windows-1252 files read as text; binary files do not."""
    assert decode_text("café\n".encode()) == "café\n"
    assert decode_text(b"\xef\xbb\xbfhello") == "hello"
    assert decode_text("hi there".encode("utf-16")) == "hi there"
    assert decode_text("naïve résumé".encode("cp1252")) == "naïve résumé"
    assert decode_text(b"\x00\x01\x02\x03binary") is None
    assert decode_text(bytes(range(1, 32)) * 50) is None


def test_long_text_is_cut_at_a_line_break() -> None:
    """A file over the character limit keeps its beginning, cut at a line end, and says it was cut."""
    text = "\n".join(f"line {i}" for i in range(1000))
    kept, cut = cut_text(text, 100)
    assert cut
    assert len(kept) <= 100
    assert kept.endswith("\nline 12")  # "line 13" would pass 100 characters
    assert cut_text("short", 100) == ("short", False)


# ------------------------------------------------------------------------------ image tokens


@pytest.mark.parametrize(
    ("model", "width", "height", "detail", "tokens"),
    [
        # OpenAI's worked examples (vision guide, "Calculating costs")
        ("gpt-4o", 1024, 1024, "high", 765),  # scaled to 768x768: 4 tiles * 170 + 85
        ("gpt-4o", 2048, 4096, "high", 1105),  # 1024x2048 then 768x1536: 6 tiles
        ("gpt-4o", 4096, 8192, "low", 85),
        ("gpt-4.1", 1024, 1024, "high", 765),
        ("gpt-4.1-2025-04-14", 128, 64, "high", 255),  # one tile
        ("gpt-4o-mini", 1024, 1024, "high", 2833 + 4 * 5667),
        ("o3", 1024, 1024, "high", 75 + 4 * 150),
        ("gpt-5", 512, 512, "high", 70 + 140),
        ("gpt-4.1-mini", 1024, 1024, "high", 1659),  # 1024 patches * 1.62
        ("gpt-4.1-mini", 1800, 2400, "high", 2353),  # 1452 patches (the guide's example) * 1.62
        ("gpt-4.1-nano", 1024, 1024, "low", 2520),  # detail does not change patch models: 1024 * 2.46
        ("o4-mini", 100, 100, "high", 28),  # 16 patches * 1.72
        ("gpt-4o", 100, 100, "auto", 255),  # auto priced as high (the upper bound)
    ],
)
def test_image_tokens_follow_openais_rules(
    model: str, width: int, height: int, detail: str, tokens: int
) -> None:
    """An image is counted in the prompt as OpenAI will bill it, per model family."""
    assert image_tokens(model, width, height, detail) == tokens  # type: ignore[arg-type]


def test_patch_count_matches_the_guides_example_and_cap() -> None:
    """1800x2400 is scaled to 1056x1408 = 33 x 44 = 1452 patches; nothing exceeds 1,536."""
    assert patch_count(1800, 2400) == 1452
    assert patch_count(1024, 1024) == 1024
    assert all(patch_count(w, h) <= 1536 for w in (1, 33, 999, 5000, 20000) for h in (1, 77, 4000, 9000))


def test_which_models_see_images() -> None:
    """Vision models are recognised (dated ids too); text-only and unknown models are not sent images."""
    for model in (
        "gpt-4.1",
        "gpt-4.1-mini",
        "gpt-4o",
        "gpt-4o-2024-08-06",
        "gpt-5",
        "gpt-5.1",
        "o3",
        "o4-mini",
    ):
        assert accepts_images(model), model
    for model in ("gpt-3.5-turbo", "gpt-4", "o1-mini", "o3-mini", "gpt-4-turbo-preview", "llama-3"):
        assert not accepts_images(model), model
    with pytest.raises(ValueError, match="no image inputs"):
        image_tokens("gpt-3.5-turbo", 10, 10)


def test_an_image_input_is_a_data_url() -> None:
    """The bytes travel to the model base64-encoded in a data URL with their own type."""
    image = ImageInput(name="d.png", mimetype="image/png", data=b"\x89PNG", width=1, height=1)
    assert image.data_url() == "data:image/png;base64," + base64.b64encode(b"\x89PNG").decode()


# ------------------------------------------------------------------------------ rendering


def test_files_read_in_a_prompt_with_their_names() -> None:
    """The model sees which file says what: name, page count, text fenced so backticks can't break out."""
    doc = Attachment(id="F1", name="design.md", kind="text", text="# Plan\n```py\nx = 1\n```")
    pdf = Attachment(id="F2", name="spec.pdf", kind="pdf", text="page text", pages=3, truncated=True)
    image = Attachment(id="F3", name="arch.png", kind="image", width=800, height=600)
    rendered = render_attachments("please review", [doc, pdf, image], shown_images={"F3"})
    assert rendered.startswith("please review\n\n[file design.md]\n````\n# Plan")
    assert "[PDF spec.pdf (3 pages, cut: only the beginning is included)]" in rendered
    assert rendered.endswith("[image arch.png, 800x600: attached below]")
    assert "not shown to you" in render_attachment(image, image_shown=False)


def test_notices_say_what_happened_and_what_to_do() -> None:
    """Every bad input is told in plain words with a way forward; repeats are told once."""
    notices = [
        Notice.file_too_large("big.pdf", 14_200_000, 10_000_000),
        Notice.too_many_files(14, 10),
        Notice.pdf_unreadable("broken.pdf"),
        Notice.images_not_seen("backend-builder", "gpt-3.5-turbo", ["arch.png"]),
        Notice.missing_scope("files:read"),
        Notice.thread_capped(1000),
        Notice.thread_partial(15, "Slack's rate limit"),
        Notice.thread_unavailable("the thread was deleted"),
        Notice.thread_unreadable("the app lacks the channels:history scope"),
    ]
    assert "14.2 MB" in notices[0].text
    assert "10.0 MB" in notices[0].text
    assert "first 10" in notices[1].text
    assert "password" in notices[2].text
    assert "gpt-3.5-turbo" in notices[3].text
    assert "arch.png" in notices[3].text
    assert "`files:read`" in notices[4].text
    assert "reinstall" in notices[4].text
    assert "1,000" in notices[5].text
    assert "first 15" in notices[6].text
    assert "/architect" in notices[7].text
    assert "answered your message alone" in notices[8].text
    combined = notices_text([*notices, notices[0]])
    assert combined.count("big.pdf") == 1
    assert combined.count("•") == len(notices)
    assert notices_text([notices[0]]) == notices[0].text
