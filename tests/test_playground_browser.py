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
WAIT_MS = 90_000  # a bound for a loaded 2-core machine (seen: 30 s exceeded at load 10), never a speed claim
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


# ------------------------------------------------------------------ the first hour (issue 20)


def _scrolled_to_end(page: Any) -> bool:
    """Whether the open thread's pane shows its end (as a person following an answer sees it)."""
    return bool(
        page.evaluate(
            "() => { const s = document.querySelector('#thread .thread-scroll');"
            " return s.scrollHeight - s.scrollTop - s.clientHeight < 2; }"
        )
    )


def test_the_agent_menu_opens_a_form_that_is_answered_in_a_thread(
    ada: Person,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    """`/architect help` → choose the Director in the menu → the form opens with it chosen → send →
    the request is posted and answered in its thread."""
    page = ada.page
    fake_openai.script(Stream(["Director: ", "start with the data model."]))
    ada.type("/architect help")
    menu = page.locator("#messages .msg.ephemeral select.bk-select")
    menu.wait_for()
    assert "[static_select]" not in page.locator("#messages").inner_text()
    menu.select_option(label="director")
    form = page.locator(".modal")
    form.wait_for()
    assert form.locator("select.bk-select").evaluate("s => s.selectedOptions[0].textContent") == "director"
    form.locator("textarea").fill("Plan the billing service.")
    ada.shot("form")
    page.locator(".modal-submit").click()
    form.wait_for(state="detached")
    ada.open_thread("Plan the billing service.")
    ada.thread().locator(".msg", has_text="start with the data model.").wait_for()
    ada.shot("answered")
    assert "Plan the billing service." in json.dumps(fake_openai.requests[-1].body["messages"])


def test_bare_architect_opens_the_form(ada: Person) -> None:
    """`/architect` alone opens the form (the README's promise), with the default agent chosen."""
    ada.type("/architect")
    form = ada.page.locator(".modal", has_text="Ask an agent")
    form.wait_for()
    assert form.locator("select.bk-select").evaluate("s => s.selectedOptions[0].textContent") == "director"
    assert ada.page.locator("#messages .msg.ephemeral").count() == 0
    ada.shot("bare-form")


def test_the_thread_follows_a_streamed_answer_and_the_loading_line_goes(
    ada: Person,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    """A long answer streams into the open thread: the pane stays at its end while it grows and when
    it finishes; the loading line shows while the agent reads, and is gone once the answer is there."""
    page = ada.page
    gate = threading.Event()
    paragraphs = [f"Paragraph {i}: " + "a careful sentence about queues. " * 12 + "\n\n" for i in range(14)]
    fake_openai.script(Stream([paragraphs[0], *paragraphs[1:]], hold_after_first=gate))
    ada.type("/architect review a long design")
    ada.open_thread("a long design")
    ada.thread().locator(".msg", has_text="Paragraph 0").wait_for()
    assert page.locator("#thread .thread-status").count() == 0  # the answer is there: no loading line
    gate.set()
    ada.thread().get_by_role("button", name="⬅ Back to Director").wait_for()
    page.wait_for_function(
        "() => { const s = document.querySelector('#thread .thread-scroll');"
        " return s.scrollHeight > s.clientHeight + 200; }"
    )
    assert _scrolled_to_end(page)
    ada.shot("followed")


def test_one_handoff_click_is_announced_once(
    ada: Person,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    """A handoff is announced by one line in the thread, not also under the old answer."""
    page = ada.page
    fake_openai.script(Stream(["Review done."]), Stream(["Director here."]))
    ada.type("/architect review the cache")
    ada.open_thread("the cache")
    ada.thread().get_by_role("button", name="⬅ Back to Director").click()
    page.locator(".modal textarea").wait_for()
    page.locator(".modal-submit").click()
    ada.thread().locator(".msg", has_text="Director here.").wait_for()
    announced = page.locator("#thread .msg", has_text="handed this thread")
    assert announced.count() == 1
    assert (
        ada.thread().locator(".msg", has_text="Review done.").locator("text=handed this thread").count() == 0
    )
    ada.shot("one-announcement")


def test_feedback_shows_the_choice_and_says_thanks(
    ada: Person,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    """👍 under an answer shows as chosen (for whoever pressed it) with a notice, as Slack does."""
    page = ada.page
    fake_openai.script(Stream(["An answer to rate."]))
    ada.type("/architect review the rate limiter")
    ada.open_thread("the rate limiter")
    answer = ada.thread().locator(".msg", has_text="An answer to rate.")
    thumbs_up = answer.locator('.bk-feedback[data-side="positive_button"]')
    thumbs_up.wait_for()
    thumbs_up.click()
    page.locator("#toast", has_text="Thanks for your feedback.").wait_for()
    answer.locator('.bk-feedback[data-side="positive_button"][aria-pressed="true"]').wait_for()
    assert answer.locator('.bk-feedback[data-side="negative_button"][aria-pressed="true"]').count() == 0
    ada.shot("thumbs-up")


def test_save_as_canvas_opens_the_canvas(
    ada: Person,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    """*Save as canvas* under an answer posts the canvas's link; the link opens the canvas here."""
    fake_openai.script(Stream(["## Design\n\nUse a *token bucket*."]))
    ada.type("/architect review the limiter design")
    ada.open_thread("the limiter design")
    ada.thread().get_by_role("button", name="📝 Save as canvas").click()
    link = ada.thread().locator("a[data-local]").first
    link.wait_for()
    with ada.context.expect_page() as opened:
        link.click()
    canvas = opened.value
    canvas.wait_for_load_state()
    assert canvas.locator(".canvas").count() == 1
    assert "token bucket" in canvas.locator(".canvas").inner_text()
    canvas.screenshot(path=str(ada.shots / "canvas.png"))
    canvas.close()


def test_forget_from_the_message_menu_keeps_peoples_replies(
    ada: Person,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    """⋮ → Forget this thread → confirm: the bot's messages go; the request becomes "This message was
    deleted." and Ada's reply stays under it, as Slack shows a deleted parent."""
    page = ada.page
    fake_openai.script(Stream(["First answer."]), Stream(["Second answer."]))
    ada.type("/architect review the forgetting")
    ada.open_thread("the forgetting")
    ada.thread().locator(".msg", has_text="First answer.").locator(".bk-feedback").first.wait_for()
    ada.type("a person's reply that must stay", in_thread=True)
    ada.thread().locator(".msg", has_text="Second answer.").locator(".bk-feedback").first.wait_for()
    request = page.locator("#messages > .msg", has_text="the forgetting")
    request.hover()
    request.locator(".msg-menu summary").click()
    request.locator(".shortcut", has_text="Forget this thread").click()
    confirm = ada.thread().locator(".msg.ephemeral").get_by_role("button", name="Forget this thread")
    confirm.wait_for()
    confirm.click()
    page.locator("#messages > .msg.tombstone", has_text="This message was deleted.").wait_for()
    ada.thread().locator(".msg", has_text="Forgotten.").wait_for()
    assert confirm.count() == 0  # the confirmation became the answer (replace_original), as in Slack
    assert ada.thread().locator(".msg", has_text="a person's reply that must stay").count() == 1
    assert ada.thread().locator(".msg", has_text="First answer.").count() == 0
    assert page.locator("#messages > .msg.tombstone .replies").count() == 1  # the replies kept
    ada.shot("forgotten")


def test_the_messages_tab_is_the_dm_with_the_app(
    ada: Person,
    playground: Playground,
) -> None:
    """The app's Messages tab is Ada's DM with the bot: what she writes there reaches the app as a
    direct message (``message.im``), and only she sees it; opening it, the app greeted her."""
    page = ada.page
    page.locator(".sidebar a.chan", has_text="architect-bot").click()
    page.get_by_role("link", name="Messages").click()
    page.wait_for_selector("body.live")
    page.locator("#messages .msg", has_text="Pick a suggestion").wait_for()  # the greeting comes first
    ada.type("hello from my DM")
    page.locator("#messages .msg", has_text="hello from my DM").wait_for()
    [dm] = [c for c in playground.workspace.channels.values() if c.is_im and "U01ADA" in c.members]
    shown = playground.workspace.top_level(dm.id)
    assert [m.text for m in shown if m.user == "U01ADA"] == ["hello from my DM"]
    assert "Pick a suggestion" in shown[0].text  # the app greeted her first visit (Agent messaging)
    ada.shot("messages-tab")


def test_the_loading_line_shows_live_and_goes_when_the_answer_comes(
    ada: Person,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    """While the agent reads, the open thread shows the app's loading line (updated live, below the
    messages); when the answer arrives the line is gone, and the answer is not below it."""
    page = ada.page
    gate = threading.Event()
    fake_openai.script(Stream(["The answer is here."], hold_before_first=gate))
    ada.type("/architect review the loading line")
    request = page.locator("#messages > .msg", has_text="the loading line")
    request.hover()
    request.locator(".reply-start").click()
    status = page.locator("#thread .thread-status")
    status.wait_for()  # arrived live, with the thread already open
    assert "architect-bot" in status.inner_text()
    ada.shot("loading-line")
    gate.set()
    ada.thread().locator(".msg", has_text="The answer is here.").wait_for()
    status.wait_for(state="detached")
    ada.shot("loading-line-gone")


def test_more_agents_than_a_menu_holds_are_searched_as_you_type(
    browser: Any,
    fake_openai: FakeOpenAI,  # noqa: F811
    redis_url: str,
    redis_prefix: str,
    tmp_path: Path,
) -> None:
    """With 101 agents the help's menu is an external select: typing asks the app for matching agents
    (``block_suggestion``), picking one opens the form with it chosen, and the form's own searched
    menu keeps that choice when sent."""
    for number in range(101):
        (tmp_path / f"agent{number:03d}.agent.md").write_text(
            f"---\nname: agent{number:03d}\ndescription: topic {number}\n---\nYou help with topic {number}.\n"
        )
    settings = Settings(
        openai_api_key="sk-playground-test",
        openai_base_url=fake_openai.base_url,
        redis_url=redis_url,
        redis_key_prefix=redis_prefix,
        agents_dir=tmp_path,
        model_max_retries=0,
        log_level="WARNING",
    )
    running = Playground(port=0, settings=settings)
    running.start()
    ada = Person(browser, running, "U01ADA", "test_external_select")
    try:
        page = ada.page
        fake_openai.script(Stream(["Agent 42 answers."]))
        ada.type("/architect help")
        search = page.locator("#messages .msg.ephemeral .bk-external .bk-search")
        search.fill("agent042")
        page.locator("#messages .bk-option", has_text="agent042").click()
        form = page.locator(".modal")
        form.wait_for()
        assert form.locator(".bk-search").input_value() == "agent042"
        form.locator("textarea").fill("Explain topic 42.")
        ada.shot("external-form")
        page.locator(".modal-submit").click()
        form.wait_for(state="detached")
        ada.open_thread("Explain topic 42.")
        ada.thread().locator(".msg", has_text="Agent 42 answers.").wait_for()
        assert "topic 42" in json.dumps(fake_openai.requests[-1].body["messages"][0])
    finally:
        ada.close()
        running.stop()


def test_a_suggested_prompt_in_the_messages_tab_is_answered_in_its_thread(
    ada: Person,
    fake_openai: FakeOpenAI,  # noqa: F811
) -> None:
    """The Messages tab shows the app's suggested prompts; clicking one sends it as Ada's message in
    her DM, and the agent answers in that message's thread (the Agent messaging experience)."""
    page = ada.page
    fake_openai.script(Stream(["Here is a plan, in this chat's thread."]))
    page.locator(".sidebar a.chan", has_text="architect-bot").click()
    page.get_by_role("link", name="Messages").click()
    page.wait_for_selector("body.live")
    chip = page.locator("main .prompts .prompt").first
    chip.wait_for()  # arrived live: the app set them when the tab was opened
    sent = chip.get_attribute("data-prompt") or ""
    chip.click()
    asked = page.locator("#messages > .msg", has_text=sent[:30])
    asked.locator(".replies").click()
    ada.thread().locator(".msg", has_text="Here is a plan, in this chat's thread.").wait_for()
    ada.shot("dm-answered")
    assert asked.locator(".name").inner_text() == "ada"  # sent as her message, not the app's
    [request] = fake_openai.requests
    assert sent.split(" ", 1)[1][:30] in json.dumps(request.body["messages"][-1])  # after the verb
