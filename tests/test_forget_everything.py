"""Forget forgets everything with the thread's words in it: Redis keeps none, Slack keeps none of the bot's.

End to end through the Lambda handler, with a tool-using agent (tests/test_slack_tools.py's real tool
servers): a thread with a first answer, a follow-up, an answer paused on a tool call that waits for
approval, and a saved canvas is forgotten; then every key and value of the whole Redis server is
read back and none holds any of the thread's words, and nothing the bot made for the thread is left
in the channel but what the confirmation names.
"""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest
import redis

from bot.slack.blocks import CANVAS_SHORTCUT
from tests.fakes.openai_server import Stream, calls
from tests.harness import CHANNEL, OTHER_USER, TEAM, USER, running_engine
from tests.slack_ui import click_forget_confirm, forget_confirm_button, shortcut
from tests.tool_servers import Tools

pytestmark = pytest.mark.usefixtures("tools")


def _every_value(client: redis.Redis) -> list[str]:
    """Every key of the server and everything stored under it, as text."""
    out: list[str] = []
    for key in client.scan_iter(count=1000):
        kind = client.type(key).decode()
        value: Any
        if kind == "string":
            value = client.get(key)
        elif kind == "hash":
            value = client.hgetall(key)
        elif kind == "list":
            value = client.lrange(key, 0, -1)
        elif kind == "set":
            value = client.smembers(key)
        elif kind == "zset":
            value = client.zrange(key, 0, -1)
        else:
            value = kind
        out.append(f"{key!r} {value!r}")
    return out


def test_a_forgotten_thread_leaves_none_of_its_words_in_redis_nor_the_bots_work_in_slack(
    tools: Tools,
    redis_client: redis.Redis,
) -> None:
    """Review, follow-up, a paused approval and a saved canvas, then *Forget this thread*: no key or
    value in the whole Redis holds any of the thread's words (not the recent-threads title, not the
    paused answer, not the canvas's record), and the bot's messages and canvas are gone."""
    bot = tools.bot
    tag = uuid.uuid4().hex[:8]
    words = {w: f"{w}{tag}" for w in ("zebra", "quagga", "okapi", "tapir", "narwhal", "ibex")}
    bot.openai.script(Stream([f"First answer about {words['quagga']}."]))
    root = tools.ask(f"review our {words['zebra']} ingest design")
    bot.openai.script(Stream([f"Follow-up answer on {words['tapir']}."]))
    bot.message(f"and the {words['okapi']} part?", thread_ts=root, user=OTHER_USER)
    bot.lazy()
    bot.openai.script(calls(("tracker__create_ticket", {"title": words["narwhal"]}), text=["I'll file it."]))
    bot.message(f"file a ticket for {words['narwhal']}", thread_ts=root)
    bot.lazy()
    assert tools.approval(root)  # the answer waits for a click, its state stored
    shortcut(bot, CANVAS_SHORTCUT, message=bot.answers(root)[0])
    bot.lazy()
    [canvas] = bot.slack.workspace.agent.canvases.values()
    assert words["zebra"] in canvas.markdown
    assert any(words["zebra"] in v for v in _every_value(redis_client)), "the thread is stored before"

    bot.mention("forget", thread_ts=root, user=USER)
    bot.lazy()
    click_forget_confirm(bot, forget_confirm_button(bot.slack.ephemeral[-1]["blocks"]), user=USER)
    bot.lazy()

    confirmation = bot.slack.responses[-1]["text"]
    assert confirmation.startswith("Forgotten.")
    assert "the thread's canvas" in confirmation
    leftovers = [v for v in _every_value(redis_client) for w in words.values() if w in v]
    assert leftovers == []
    assert bot.slack.workspace.agent.canvases == {}
    remaining = bot.slack.thread(CHANNEL, root)
    assert [m for m in remaining if m.user == "UBOT"] == []  # answers, approval, notices: all gone
    assert [t for t in bot.slack.top_level(CHANNEL) if t.ts == root and t.user == "UBOT"] == []


def test_the_recent_threads_on_app_home_no_longer_list_a_forgotten_thread(
    tools: Tools,
) -> None:
    """After forget, the person's App Home lists no trace of the thread (its title was its first words)."""
    bot = tools.bot
    title = f"pangolin{uuid.uuid4().hex[:8]}"
    bot.openai.script(Stream(["Answer."]))
    root = tools.ask(f"review the {title} design")
    assert any(title in t.title for t in running_engine().recent_threads(USER))
    bot.mention("forget", thread_ts=root, user=USER)
    bot.lazy()
    click_forget_confirm(bot, forget_confirm_button(bot.slack.ephemeral[-1]["blocks"]), user=USER)
    bot.lazy()
    recent = running_engine().recent_threads(USER)
    assert all(title not in t.title for t in recent)
    assert all(t.conversation_id != f"{TEAM}:{CHANNEL}:{root}" for t in recent)
    assert json.dumps([t.model_dump() for t in recent]).count(title) == 0


def test_where_canvases_are_refused_the_design_file_is_deleted_with_the_thread(
    tools: Tools,
) -> None:
    """The design saved as a Markdown file (no canvases on the plan) goes with the thread, and the
    confirmation says so."""
    bot = tools.bot
    bot.slack.refuse("canvases.create", "free_teams_cannot_create_standalone_canvases")
    bot.openai.script(Stream(["Answer."]))
    root = tools.ask("review the ingest design")
    shortcut(bot, CANVAS_SHORTCUT, message=bot.answers(root)[0])
    bot.lazy()
    [shared] = [m for m in bot.slack.thread(CHANNEL, root) if m.files]
    file_id = shared.files[0]["id"]
    assert file_id in bot.slack.workspace.files

    bot.mention("forget", thread_ts=root, user=USER)
    bot.lazy()
    click_forget_confirm(bot, forget_confirm_button(bot.slack.ephemeral[-1]["blocks"]), user=USER)
    bot.lazy()

    assert file_id not in bot.slack.workspace.files
    assert "1 file I shared there" in bot.slack.responses[-1]["text"]
