"""Handoff buttons end to end: modal for send:false, at once for send:true, once only, never forged."""

from __future__ import annotations

import copy
import json

from tests.fakes.openai_server import Stream
from tests.fakes.slack_server import Message
from tests.harness import CHANNEL, OTHER_USER, USER, Bot
from tests.slack_ui import handoff_buttons

BACK = "⬅ Back to Director"


def _review(slackbot: Bot) -> tuple[str, Message]:
    slackbot.openai.script(Stream(["Backend says: add a queue."]))
    slackbot.command("review our ingest design")
    slackbot.lazy()
    root = slackbot.root().ts
    return root, slackbot.answers(root)[-1]


def _handoff_lines(slackbot: Bot, root: str) -> list[str]:
    return [m.text for m in slackbot.slack.thread(CHANNEL, root) if m.text.startswith("↪")]


def test_send_false_opens_prefilled_modal_then_target_answers(slackbot: Bot) -> None:
    """A send:false handoff opens an editable prompt; sending it lets the Director answer in the thread."""
    root, answer = _review(slackbot)
    ack = slackbot.click(answer, BACK, user=OTHER_USER)
    assert ack["statusCode"] == 200
    [opened] = slackbot.slack.views
    view = opened["view"]
    prompt_input = view["blocks"][1]["element"]
    assert "Review this backend / infra architecture" in prompt_input["initial_value"]
    slackbot.lazy()  # the click's lazy half does nothing for send:false
    assert len(slackbot.answers(root)) == 1

    slackbot.openai.script(Stream(["Director integrates."]))
    ack = slackbot.submit_view(view, "Integrate it, but focus on cost.", user=OTHER_USER)
    assert ack["statusCode"] == 200
    slackbot.lazy()
    answers = slackbot.answers(root)
    assert answers[-1].markdown() == "Director integrates."
    assert _handoff_lines(slackbot, root) == [
        f"↪ <@{OTHER_USER}> handed this thread from *backend-builder* to *director* ({BACK})."
    ]
    request = slackbot.openai.requests[-1]
    assert "Director" in request.messages[0]["content"]
    contents = "\n".join(m["content"] for m in request.messages)
    assert "our ingest design" in contents  # the whole thread
    assert "Backend says: add a queue." in contents  # the other agent's answer
    assert "Integrate it, but focus on cost." in request.messages[-1]["content"]
    # The thread now belongs to the Director: a reply goes there
    slackbot.message("and the frontend?", thread_ts=root)
    slackbot.lazy()
    assert "Director" in slackbot.openai.requests[-1].messages[0]["content"]
    # and the Director's answer offers the builders
    labels = [b["text"]["text"] for b in slackbot.answers(root)[-1].buttons()]
    assert "➡ Backend / infra review" in labels


def test_send_true_hands_off_at_once(slackbot: Bot) -> None:
    """A send:true handoff forwards the thread without a modal, and removes the old buttons."""
    _, root = slackbot.mention("design a trading platform")
    slackbot.lazy()
    director_answer = slackbot.answers(root)[-1]
    send_true = next(b for b in director_answer.buttons() if "Backend" in b["text"]["text"])
    slackbot.openai.script(Stream(["Backend here."]))
    slackbot.click(director_answer, send_true["text"]["text"])
    assert slackbot.slack.views == []
    slackbot.lazy()
    assert slackbot.answers(root)[-1].markdown() == "Backend here."
    assert "backend" in slackbot.openai.requests[-1].messages[0]["content"].lower()
    old = next(m for m in slackbot.slack.thread(CHANNEL, root) if m.ts == director_answer.ts)
    assert handoff_buttons(old) == []  # the used buttons are gone
    assert "handed this thread" not in json.dumps(old.blocks)  # announced once: the thread line
    assert len(_handoff_lines(slackbot, root)) == 1


def test_second_click_and_old_buttons_do_nothing(slackbot: Bot) -> None:
    """A second submit of the same handoff, or an older answer's button, hands off nothing more."""
    root, answer = _review(slackbot)
    seen_before = copy.deepcopy(answer)  # the message as a screen showed it before the handoff
    slackbot.click(answer, BACK)
    view = slackbot.slack.views[-1]["view"]
    slackbot.submit_view(view, "go")
    slackbot.lazy()
    assert handoff_buttons(answer) == []  # the used buttons are gone from the thread
    answers_after_first = len(slackbot.answers(root))
    slackbot.click(seen_before, BACK)  # the old button, again (a screen not refreshed yet)
    if slackbot.slack.views[-1:] and len(slackbot.slack.views) > 1:
        slackbot.submit_view(slackbot.slack.views[-1]["view"], "go again")
    slackbot.lazy()
    assert len(slackbot.answers(root)) == answers_after_first
    assert len(_handoff_lines(slackbot, root)) == 1
    assert any("already used" in e["text"] for e in slackbot.slack.ephemeral)


def test_forged_button_cannot_reach_unlisted_agent(slackbot: Bot) -> None:
    """A button value naming an agent the answering agent does not offer reaches no one."""
    root, answer = _review(slackbot)
    value = json.loads(answer.buttons()[0]["value"])
    requests_before = len(slackbot.openai.requests)
    # backend-builder only offers the Director; claim it offers tokenomics-builder
    forged = json.dumps({**value, "t": "tokenomics-builder"})
    slackbot.click(answer, BACK, value=forged)
    # and claim the answer came from the Director (who does offer it): the stored answer says otherwise
    forged_from = json.dumps({**value, "f": "director", "t": "tokenomics-builder"})
    slackbot.click(answer, BACK, value=forged_from)
    if slackbot.slack.views:
        slackbot.submit_view(slackbot.slack.views[-1]["view"], "steal the thread")
    slackbot.lazy()
    assert len(slackbot.openai.requests) == requests_before
    assert _handoff_lines(slackbot, root) == []
    assert slackbot.slack.ephemeral  # the clicker was told
    assert all(e["user"] == USER for e in slackbot.slack.ephemeral)
