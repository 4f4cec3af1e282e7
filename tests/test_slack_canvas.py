""" "Save as canvas" end to end: the button under answers and the message shortcut save the thread's
design (question, each agent's latest answer, handoffs) as a canvas in the channel; saving again
updates it; where canvases are unavailable, a Markdown file goes to the thread."""

from __future__ import annotations

import threading

import pytest

from bot.slack.blocks import CANVAS_ACTION, CANVAS_SHORTCUT
from tests.fakes.openai_server import Stream
from tests.fakes.slack_server import Message
from tests.harness import CHANNEL, TEAM, USER, Bot, running_engine
from tests.slack_ui import act, shortcut

BACK = "⬅ Back to Director"


def _save(slackbot: Bot, message: Message) -> None:
    button = next(b for b in message.buttons() if b["action_id"] == CANVAS_ACTION)
    act(slackbot, {"type": "button", "action_id": CANVAS_ACTION, "value": button["value"]}, message=message)


def _review_and_handoff(slackbot: Bot) -> str:
    slackbot.openai.script(Stream(["Backend: add a queue."]), Stream(["Director: ship it with the queue."]))
    slackbot.command("review our ingest design")
    slackbot.lazy()
    root = slackbot.root().ts
    slackbot.click(slackbot.answers(root)[-1], BACK)
    slackbot.submit_view(slackbot.slack.views[-1]["view"], "Integrate it.")
    slackbot.lazy()
    return root


def test_the_button_saves_the_threads_design_as_a_canvas_in_the_channel(slackbot: Bot) -> None:
    """One click: a canvas tabbed in the channel with the question, each agent's latest answer and
    the handoffs; the thread gets its link."""
    root = _review_and_handoff(slackbot)
    _save(slackbot, slackbot.answers(root)[-1])
    slackbot.lazy()
    [canvas] = slackbot.slack.workspace.agent.canvases.values()
    assert canvas.channel_id == CHANNEL
    assert canvas.title == "Design: our ingest design"
    text = canvas.markdown
    assert "## The question" in text
    assert "our ingest design" in text
    assert "## backend-builder's latest answer" in text
    assert "Backend: add a queue." in text
    assert "## director's latest answer" in text
    assert "**backend-builder** → **director** (⬅ Back to Director)" in text
    assert text.index("backend-builder's latest") < text.index("director's latest")
    announced = slackbot.slack.thread(CHANNEL, root)[-1]
    assert f"https://example.slack.com/docs/{TEAM}/{canvas.id}" in announced.text
    assert f"<@{USER}>" in announced.text
    conversation = running_engine().conversation(f"{TEAM}:{CHANNEL}:{root}")
    assert conversation.meta.canvas_id == canvas.id


def test_saving_again_updates_the_same_canvas_from_any_message(slackbot: Bot) -> None:
    """A later save (the button again, or ⋮ → Save as canvas on any message of the thread) updates
    the same canvas with the newest answers."""
    root = _review_and_handoff(slackbot)
    _save(slackbot, slackbot.answers(root)[-1])
    slackbot.lazy()
    slackbot.openai.script(Stream(["Director: and add retries."]))
    slackbot.message("and failures?", thread_ts=root)
    slackbot.lazy()
    reply = next(m for m in slackbot.slack.workspace.thread(CHANNEL, root) if m.user == USER)
    shortcut(slackbot, CANVAS_SHORTCUT, reply)
    slackbot.lazy()
    [canvas] = slackbot.slack.workspace.agent.canvases.values()
    assert canvas.edits == 1
    assert "Director: and add retries." in canvas.markdown
    assert "Director: ship it with the queue." not in canvas.markdown  # only each agent's latest answer
    assert len(slackbot.slack.calls_of("canvases.create")) == 1
    assert "up to date" in slackbot.slack.ephemeral[-1]["text"]


def test_a_thread_the_bot_does_not_keep_has_no_design_to_save(slackbot: Bot) -> None:
    """⋮ → Save as canvas in someone else's thread says so, privately, and saves nothing."""
    other = slackbot.slack.workspace.post(channel=CHANNEL, user=USER, text="lunch?")
    shortcut(slackbot, CANVAS_SHORTCUT, other)
    slackbot.lazy()
    assert slackbot.slack.workspace.agent.canvases == {}
    assert "not one architect-bot keeps" in slackbot.slack.ephemeral[-1]["text"]


@pytest.mark.parametrize(
    "error", ["free_teams_cannot_create_standalone_canvases", "free_team_canvas_tab_already_exists"]
)
def test_without_canvases_the_design_is_a_markdown_file_in_the_thread(
    slackbot: Bot, error: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Where Slack refuses canvases, the same design arrives as a Markdown file in the thread, and
    the next save goes straight to the file."""
    slackbot.slack.refuse("canvases.create", error)
    root = _review_and_handoff(slackbot)
    for _ in range(2):
        _save(slackbot, slackbot.answers(root)[-1])
        slackbot.lazy()
    shared = [m for m in slackbot.slack.thread(CHANNEL, root) if m.files]
    assert len(shared) == 2
    stored = slackbot.slack.workspace.files[shared[0].files[0]["id"]]
    assert stored.name.endswith(".md")
    assert b"## director's latest answer" in stored.content
    assert len(slackbot.slack.calls_of("canvases.create")) == 1  # remembered after the first refusal
    assert '"SlackFallbacks":1' in capsys.readouterr().out


def test_one_canvas_whatever_slack_redelivers_or_people_click_at_once(slackbot: Bot) -> None:
    """A re-delivered click saves once; two people saving at the same moment end with one canvas."""
    root = _review_and_handoff(slackbot)
    answer = slackbot.answers(root)[-1]
    _save(slackbot, answer)
    [invocation] = slackbot.aws_lambda.take()
    slackbot.send(invocation["payload"])
    slackbot.send(invocation["payload"])
    assert len(slackbot.slack.calls_of("canvases.create")) == 1
    slackbot.slack.workspace.agent.canvases.clear()  # start over: the thread forgets nothing, Slack does
    conversation = running_engine().conversation(f"{TEAM}:{CHANNEL}:{root}")
    assert conversation.meta.canvas_id is not None
    _save(slackbot, answer)
    _save(slackbot, answer)
    invocations = slackbot.aws_lambda.take()
    threads = [threading.Thread(target=slackbot.send, args=(i["payload"],)) for i in invocations]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    canvases = slackbot.slack.workspace.agent.canvases
    assert len(canvases) == 1
    assert running_engine().conversation(f"{TEAM}:{CHANNEL}:{root}").meta.canvas_id in canvases
