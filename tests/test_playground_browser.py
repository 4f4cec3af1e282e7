"""The playground in a real browser: Debian's chromium, headless, driven by Playwright.

The playground runs in-process with the real bot (the same Bolt app and listeners over HTTP), the
fake OpenAI server as the model and the real Redis as the store. Screenshots of every step are
kept under test-artifacts/playground/ (gitignored). Nothing waits on the clock: each step waits for
what a person would see, with generous timeouts.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.errors import ModelUnavailableError
from bot.playground.app import Playground
from bot.settings import Settings
from tests.fakes.openai_server import FakeOpenAI, Status, Stream, fake_openai  # noqa: F401 - fixture

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "test-artifacts" / "playground"
WAIT_MS = 30_000
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """Debian's chromium, headless, with a fresh profile (Playwright makes one per launch)."""
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing: .ci/run installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed here (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as driver:
        launched = driver.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_FLAGS)
        yield launched
        launched.close()


@pytest.fixture
def playground(fake_openai: FakeOpenAI, redis_url: str, redis_prefix: str) -> Iterator[Playground]:  # noqa: F811
    """The playground on a free port: the real bot, the fake model, Redis as the store."""
    settings = Settings(
        openai_api_key="sk-playground-test",
        openai_base_url=fake_openai.base_url,
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
        agents_dir=ROOT / "agents",
        model_max_retries=0,
        slack_update_interval_s=0.2,
        log_level="WARNING",
    )
    running = Playground(port=0, settings=settings)
    running.start()
    try:
        yield running
    finally:
        running.stop()


class Person:
    """One person's browser tab on the playground."""

    def __init__(self, browser: Any, playground: Playground, user: str, shots: str) -> None:
        self.context = browser.new_context(viewport={"width": 1400, "height": 900})
        self.page = self.context.new_page()
        self.errors: list[str] = []
        self.page.on("pageerror", lambda error: self.errors.append(str(error)))
        self.page.on("dialog", lambda dialog: self.errors.append(f"dialog: {dialog.message}"))
        self.page.set_default_timeout(WAIT_MS)
        self.shots = ARTIFACTS / shots
        self.shots.mkdir(parents=True, exist_ok=True)
        self.page.goto(f"{playground.url}/?as={user}&channel=C01DESIGN")
        self.page.wait_for_selector("body.live")  # the live stream is connected

    def shot(self, name: str) -> Path:
        """Keep a screenshot of what the person sees now."""
        path = self.shots / f"{name}.png"
        self.page.screenshot(path=str(path))
        return path

    def type(self, text: str, *, in_thread: bool = False) -> None:
        """Type into the channel's (or the open thread's) message box and press Enter."""
        box = self.page.locator("#thread .composer textarea" if in_thread else "main .composer textarea")
        box.fill(text)
        box.press("Enter")

    def open_thread(self, has_text: str) -> None:
        """Open the thread of the channel message showing ``has_text``, once it has replies."""
        self.page.locator("#messages > .msg", has_text=has_text).locator(".replies").click()
        self.page.locator("#thread .thread-replies").wait_for()

    def thread(self) -> Any:
        """The open thread pane's replies."""
        return self.page.locator("#thread .thread-replies")

    def close(self) -> None:
        """Close the tab; fail on any script error or dialog the page showed."""
        self.context.close()
        assert self.errors == []


@pytest.fixture
def ada(browser: Any, playground: Playground, request: pytest.FixtureRequest) -> Iterator[Person]:
    """Ada's tab."""
    person = Person(browser, playground, "U01ADA", request.node.name)
    yield person
    person.close()


def test_review_streams_then_hands_back_to_the_director(
    ada: Person,
    playground: Playground,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    """Ask for a review, watch it stream in a thread, edit the handoff prompt, get the Director's answer."""
    page = ada.page
    ada.shot("01-open")
    gate = threading.Event()
    fake_openai.script(
        Stream(["## Review\n\n", "Looks **solid**. ", "Add retries with jitter.\n"], hold_after_first=gate),
        Stream(["Director here: ", "ship it once the retries are in."]),
    )
    ada.type("/architect review a rate limiter in Redis")
    ada.open_thread("a rate limiter in Redis")
    streaming = ada.thread().locator(".msg", has_text="Review")
    streaming.wait_for()
    assert "▌" in streaming.inner_text()  # still being written: the cursor shows
    assert streaming.locator(".bk-button").count() == 0
    ada.shot("02-streaming")
    gate.set()
    back = ada.thread().get_by_role("button", name="⬅ Back to Director")
    back.wait_for()
    answer = ada.thread().locator(".msg", has_text="Add retries with jitter.")
    assert "▌" not in answer.inner_text()
    assert answer.locator("strong", has_text="solid").count() == 1  # Markdown rendered
    ada.shot("03-answered")

    back.click()
    prompt = page.locator(".modal textarea")
    prompt.wait_for()
    assert prompt.input_value().strip()  # the agent file's handoff prompt, ready to edit
    ada.shot("04-modal")
    prompt.fill("Summarise the review for the team in three lines.")
    ada.shot("05-edited")
    page.locator(".modal-submit").click()
    page.locator(".modal").wait_for(state="detached")
    # the handoff line (the used answer also notes it, where its buttons were)
    ada.thread().locator(
        ".msg", has_text="handed this thread from backend-builder to director"
    ).last.wait_for()
    director = ada.thread().locator(".msg", has_text="ship it once the retries are in.")
    director.locator(".bk-context", has_text="director").wait_for()
    ada.shot("06-director")

    assert page.locator("#messages > .msg").count() == 1  # one request, everything else in its thread
    last_prompt = fake_openai.requests[-1].body["messages"][-1]["content"]
    assert "Summarise the review for the team in three lines." in last_prompt


def test_help_is_only_visible_to_whoever_asked(
    ada: Person,
    browser: Any,
    playground: Playground,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    """`/architect help` shows the agents to the person who asked, nobody else, and calls no model."""
    ada.type("/architect help")
    shown = ada.page.locator("#messages .msg.ephemeral", has_text="Usage")
    shown.wait_for()
    assert "Only visible to you" in shown.inner_text()
    assert "backend-builder" in shown.inner_text()
    ada.shot("help")
    grace = Person(browser, playground, "U02GRACE", "test_help_grace")
    try:
        grace.type("hello from Grace")
        grace.page.locator("#messages .msg", has_text="hello from Grace").wait_for()
        assert grace.page.locator("#messages .msg.ephemeral").count() == 0
        grace.shot("grace-sees-no-help")
    finally:
        grace.close()
    assert fake_openai.requests == []


def test_an_unknown_verb_says_which_verbs_work(ada: Person) -> None:
    """A mistyped verb gets an ephemeral answer naming the verbs that work, and nothing is posted."""
    ada.type("/architect frobnicate the cache")
    shown = ada.page.locator("#messages .msg.ephemeral", has_text="frobnicate")
    shown.wait_for()
    assert "Verbs that work" in shown.inner_text()
    assert ada.page.locator("#messages > .msg:not(.ephemeral)").count() == 0
    ada.shot("unknown-verb")


def test_the_model_down_is_told_in_the_thread(ada: Person, fake_openai: FakeOpenAI) -> None:  # noqa: F811
    """When the model's service fails, the thread says so in plain words with a tracking id."""
    fake_openai.script(Status(503), Status(503))
    ada.type("/architect review the outage plan")
    ada.open_thread("the outage plan")
    told = ada.thread().locator(".msg", has_text=ModelUnavailableError.user_message[:40])
    told.wait_for()
    assert "Tracking id" in told.inner_text()
    ada.shot("model-down")


def test_bad_input_is_handled_as_slack_would(ada: Person, playground: Playground) -> None:
    """Empty or oversized messages are not sent; typed HTML shows as text; a cancelled modal does nothing."""
    page = ada.page
    box = page.locator("main .composer textarea")
    send = page.locator("main .composer .send")
    box.fill("   ")
    assert send.is_disabled()
    box.fill("x" * 51_200)  # a 50 KB paste
    page.locator("main .composer-note", has_text="Too long").wait_for()
    assert send.is_disabled()
    box.press("Enter")
    ada.shot("too-long")
    hostile = '<img src=x onerror="alert(1)"><script>alert(2)</script> & <b>not bold</b>'
    ada.type(hostile)
    typed = page.locator("#messages .msg", has_text="<script>alert(2)</script>")
    typed.wait_for()
    assert typed.locator(".content").inner_text().strip() == hostile
    assert page.locator("#messages img, #messages script, #messages .content b").count() == 0
    stored = hostile.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # stored escaped, as Slack stores what people type; the 50 KB paste was never posted
    assert [m.text for m in playground.workspace.top_level("C01DESIGN")] == [stored]
    ada.shot("html-as-text")

    ada.type("/architect review a cache")
    ada.open_thread("a cache")
    back = ada.thread().get_by_role("button", name="⬅ Back to Director")
    back.wait_for()
    back.click()
    page.locator(".modal textarea").wait_for()
    page.locator(".modal-cancel").click()
    page.locator(".modal").wait_for(state="detached")
    ada.shot("modal-cancelled")
    [shown] = [v for v in playground.workspace.views.values()]
    assert shown.closed
    replies = playground.workspace.thread("C01DESIGN", playground.workspace.top_level("C01DESIGN")[-1].ts)
    assert not any("handed this thread" in m.text for m in replies)


def test_a_picture_in_the_thread_reaches_the_agent(
    ada: Person,
    playground: Playground,
    fake_openai: FakeOpenAI,  # noqa: F811
    tmp_path: Path,
) -> None:
    """A person attaches a diagram to a thread reply: it shows in the thread, the bot gets it and answers."""
    from PIL import Image

    diagram = tmp_path / "diagram.png"
    Image.new("RGB", (64, 32), (200, 40, 90)).save(diagram)
    page = ada.page
    ada.type("/architect review the upload path")
    ada.open_thread("the upload path")
    ada.thread().get_by_role("button", name="⬅ Back to Director").wait_for()
    fake_openai.script(Stream(["I see a red diagram."]))
    page.locator('#thread .composer input[type="file"]').set_input_files(str(diagram))
    page.locator("#thread .composer .attached", has_text="diagram.png").wait_for()
    ada.type("What about this diagram?", in_thread=True)
    shared = ada.thread().locator(".msg", has_text="What about this diagram?")
    image = shared.locator("img.file-image")
    image.wait_for()
    page.wait_for_function("img => img.complete && img.naturalWidth === 64", arg=image.element_handle())
    ada.thread().locator(".msg", has_text="I see a red diagram.").locator(".bk-button").first.wait_for()
    ada.shot("picture-answered")
    assert "What about this diagram?" in json.dumps(fake_openai.requests[-1].body["messages"][-1])
    [stored] = playground.workspace.files.values()
    assert stored.content == diagram.read_bytes()  # what the bot can download with its token
    [shared_message] = [m for m in playground.workspace.messages.values() if m.subtype == "file_share"]
    assert shared_message.files[0]["url_private_download"].startswith(playground.url + "/files-pri/")
