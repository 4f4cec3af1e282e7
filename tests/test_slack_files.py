"""Reading files shared in Slack (bot/adapters/slack_files.py) against the Slack emulator over real HTTP."""

from __future__ import annotations

import io
import json
import logging

import pytest
import structlog
from PIL import Image
from slack_sdk import WebClient

from bot.adapters.slack_files import SlackFiles, prepare_image
from bot.core.files import FileLimits
from bot.core.ports import FixedClock
from tests.fakes.documents import animated_gif, diagram, scanned_pdf, text_pdf
from tests.fakes.slack_server import FakeSlack
from tests.support import READER_TOKEN


def reader(slack: FakeSlack, clock: FixedClock | None = None, **limits: int) -> SlackFiles:
    client = WebClient(token=READER_TOKEN, base_url=slack.api_url)
    return SlackFiles(client, limits=FileLimits(**limits), clock=clock or FixedClock())  # type: ignore[arg-type]


def far(clock: FixedClock | None = None) -> float:
    return (clock or FixedClock()).monotonic() + 60


def test_text_pdf_and_image_are_read(slack: FakeSlack) -> None:
    """A Markdown doc, a 3-page PDF and a PNG diagram become text (with names, pages) and an image."""
    files = [
        slack.share_file("design.md", b"# Queue\nUse SQS.\n", mimetype="text/markdown"),
        slack.share_file(
            "spec.pdf", text_pdf([["Intro"], ["Retries: 3"], ["End"]]), mimetype="application/pdf"
        ),
        slack.share_file("arch.png", diagram(1200, 800), mimetype="image/png"),
    ]
    read = reader(slack).read(files, deadline=far())
    assert read.notices == []
    doc, pdf, image = read.attachments
    assert (doc.kind, doc.name, doc.text) == ("text", "design.md", "# Queue\nUse SQS.\n")
    assert (pdf.kind, pdf.pages) == ("pdf", 3)
    assert pdf.text is not None
    assert "--- page 2 ---\nRetries: 3" in pdf.text
    assert (image.kind, image.mimetype, image.width, image.height) == ("image", "image/png", 1200, 800)
    assert image.text is None  # images are fetched again when a prompt needs them, never stored
    downloads = slack.calls_of("files.download")
    assert len(downloads) == 3
    assert {c.token for c in downloads} == {READER_TOKEN}


def test_images_are_fetched_again_for_the_prompt(slack: FakeSlack) -> None:
    """A prompt gets the image's bytes: from this process's cache, or downloaded again from Slack."""
    png = diagram(300, 200)
    files = [slack.share_file("arch.png", png, mimetype="image/png")]
    first = reader(slack)
    attachment = first.read(files, deadline=far()).attachments[0]
    cached = first.image(attachment, deadline=far())
    assert cached.data == png
    assert cached.data_url().startswith("data:image/png;base64,")
    assert len(slack.calls_of("files.download")) == 1
    fresh = reader(slack).image(attachment, deadline=far())  # another Lambda instance
    assert fresh.data == png
    assert len(slack.calls_of("files.download")) == 2


def test_files_not_processed_yet_are_looked_up_first(slack: FakeSlack) -> None:
    """``file_access: check_file_info`` in the event: files.info gives the download URL, then it is read."""
    event_file = slack.share_file("notes.txt", b"hello", mimetype="text/plain", ready=False)
    assert "url_private_download" not in event_file
    read = reader(slack).read([event_file], deadline=far())
    assert [a.text for a in read.attachments] == ["hello"]
    assert len(slack.calls_of("files.info")) == 1


def test_without_files_read_the_admin_is_told_which_scope_to_add(slack: FakeSlack) -> None:
    """Slack sends its sign-in page (200, HTML) instead of the file: the notice names files:read."""
    files = [slack.share_file("design.md", b"# x", mimetype="text/markdown")]
    slack.workspace.scopes = {"chat:write", "channels:history"}
    read = reader(slack).read(files, deadline=far())
    assert read.attachments == []
    assert [n.kind for n in read.notices] == ["missing_scope"]
    assert "`files:read`" in read.notices[0].text


def test_a_login_page_with_a_wrong_token_is_no_access_not_content(slack: FakeSlack) -> None:
    """An HTML page where a Markdown file was expected never reaches the model as the file's text."""
    files = [slack.share_file("design.md", b"# x", mimetype="text/markdown")]
    client = WebClient(token="xoxb-some-other-token", base_url=slack.api_url)
    files_reader = SlackFiles(client, limits=FileLimits(), clock=FixedClock())
    read = files_reader.read(files, deadline=far())
    assert read.attachments == []
    assert [n.kind for n in read.notices] == ["file_no_access"]


def test_redirects_to_other_hosts_are_not_followed(slack: FakeSlack) -> None:
    """The bot token never leaves Slack: a redirect elsewhere is refused and told."""
    event_file = slack.share_file("design.md", b"# x", mimetype="text/markdown")
    slack.workspace.files[event_file["id"]].redirect_to = "http://198.51.100.7/steal"
    read = reader(slack).read([event_file], deadline=far())
    assert read.attachments == []
    assert [n.kind for n in read.notices] == ["file_download_failed"]
    assert "elsewhere" in read.notices[0].text
    forged = {**event_file, "url_private_download": "https://example.com/file.md"}
    read = reader(slack).read([forged], deadline=far())
    assert [n.kind for n in read.notices] == ["file_download_failed"]
    assert len(slack.calls_of("files.download")) == 1  # the forged URL was never requested


def test_bad_inputs_are_told_and_the_rest_is_read(slack: FakeSlack) -> None:
    """Too large, unsupported, a broken PDF, a scan, a fake image: each told; the good file is read."""
    files = [
        slack.share_file("big.md", b"x" * 2_000, mimetype="text/markdown"),
        slack.share_file("report.docx", b"PK\x03\x04", mimetype="application/vnd.ms-word", filetype="docx"),
        slack.share_file("broken.pdf", b"%PDF-1.7 this is not a pdf", mimetype="application/pdf"),
        slack.share_file("scan.pdf", scanned_pdf(2), mimetype="application/pdf"),
        slack.share_file("fake.png", b"not an image at all", mimetype="image/png"),
        slack.share_file("blob.txt", b"\x00\x01\x02binary", mimetype="text/plain"),
        slack.share_file("ok.yaml", b"replicas: 3\n", mimetype="application/x-yaml"),
    ]
    read = reader(slack, max_file_bytes=1_000).read(files, deadline=far())
    assert [a.name for a in read.attachments] == ["ok.yaml"]
    assert [n.kind for n in read.notices] == [
        "file_too_large",
        "unsupported_type",
        "pdf_unreadable",
        "pdf_no_text",
        "image_unreadable",
        "unsupported_type",
    ]
    assert "Word document" in read.notices[1].text
    assert len(slack.calls_of("files.download")) == 5  # the oversized and the .docx were never downloaded


def test_a_size_slack_did_not_announce_is_still_capped(slack: FakeSlack) -> None:
    """A file whose event lacks its size is cut off at the limit while downloading, and told."""
    event_file = slack.share_file("big.md", b"y" * 5_000, mimetype="text/markdown")
    del event_file["size"]
    read = reader(slack, max_file_bytes=1_000).read([event_file], deadline=far())
    assert read.attachments == []
    assert [n.kind for n in read.notices] == ["file_too_large"]


def test_too_many_files_reads_the_first_ones(slack: FakeSlack) -> None:
    """Twelve files with a limit of ten: ten are read and the person is told."""
    files = [slack.share_file(f"n{i}.txt", f"note {i}".encode(), mimetype="text/plain") for i in range(12)]
    read = reader(slack, max_files=10).read(files, deadline=far())
    assert len(read.attachments) == 10
    assert [n.kind for n in read.notices] == ["too_many_files"]


def test_long_text_is_cut_and_told(slack: FakeSlack) -> None:
    """A text longer than the character limit keeps its beginning; the notice says how much was read."""
    files = [slack.share_file("log.txt", ("line\n" * 1000).encode(), mimetype="text/plain")]
    read = reader(slack, max_file_chars=100).read(files, deadline=far())
    assert read.attachments[0].truncated
    assert len(read.attachments[0].text or "") <= 100
    assert [n.kind for n in read.notices] == ["file_cut"]


def test_downloads_count_against_the_deadline(slack: FakeSlack) -> None:
    """With no time left before the answer's deadline, nothing is downloaded and the person is told."""
    clock = FixedClock()
    files = [slack.share_file("design.md", b"# x", mimetype="text/markdown")]
    read = reader(slack, clock).read(files, deadline=clock.monotonic() + 0.2)
    assert read.attachments == []
    assert "no time" in read.notices[0].text
    assert slack.calls_of("files.download") == []


def test_images_are_prepared_for_openai() -> None:
    """Animated GIFs become their first frame, huge images are scaled to 2048 px, others pass unchanged."""
    still = prepare_image(diagram(640, 480, fmt="WEBP"))
    assert still is not None
    assert (still.mimetype, still.width, still.height) == ("image/webp", 640, 480)
    animation = prepare_image(animated_gif())
    assert animation is not None
    assert animation.mimetype == "image/png"
    with Image.open(io.BytesIO(animation.data)) as frame:
        assert not getattr(frame, "is_animated", False)
    huge = prepare_image(diagram(4096, 1024, fmt="JPEG"))
    assert huge is not None
    assert (huge.mimetype, huge.width, huge.height) == ("image/jpeg", 2048, 512)
    assert prepare_image(b"GIF89a garbage") is None


def test_nothing_downloaded_is_logged(slack: FakeSlack, capsys: pytest.CaptureFixture[str]) -> None:
    """Logs say which file id was read and how; never its name's content, text or bytes."""
    structlog.configure(
        processors=[structlog.processors.JSONRenderer()],
        logger_factory=structlog.PrintLoggerFactory(),
        wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG),
        cache_logger_on_first_use=False,
    )
    try:
        secret = b"TOP-SECRET-DESIGN-CONTENT"
        files = [
            slack.share_file("design.md", secret, mimetype="text/markdown"),
            slack.share_file("spec.pdf", text_pdf([["TOP-SECRET-PDF-TEXT"]]), mimetype="application/pdf"),
        ]
        reader(slack).read(files, deadline=far())
    finally:
        structlog.reset_defaults()
    out = capsys.readouterr().out
    lines = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [line["event"] for line in lines] == ["file_read", "file_read"]
    assert "TOP-SECRET" not in out
    assert READER_TOKEN not in out
