"""`architect-bot chat` driven through a real pseudo-terminal, as a person types at it.

The chat runs as its own process on a pty (pexpect); the model is the fake OpenAI server over real
HTTP. Pauses are scripted in the fake model (a stall that lasts until the test ends), never timed:
the test waits for what a person would see, then presses the next key. Timeouts are generous and
only stop a broken test from hanging.
"""

from __future__ import annotations

import io
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pexpect
import pytest
import redis

from bot.adapters.redis.store import RedisConversationStore
from bot.cli.chat import thread_of
from bot.cli.terminal import _Settled, settle
from bot.core.conversation import ConversationMeta, Role, Turn
from bot.core.ports import FixedClock
from tests.fakes.openai_server import FakeOpenAI, Stream
from tests.harness import ROOT

PERSON = "ada"  # the login name the chat runs under (LOGNAME/USER), how the model sees the person
TIMEOUT = 60  # seconds for anything to appear: only a broken test ever waits that long
PROMPT = "you>"
PASTE_START, PASTE_END = "\x1b[200~", "\x1b[201~"  # what a terminal sends around a paste
CTRL_C, LEFT, UP = "\x03", "\x1b[D", "\x1b[A"

TEAM = """---
name: Planner
model: gpt-4.1
handoffs:
  - label: Build it
    agent: Builder
    prompt: Build the plan above.
    send: true
    model: GPT-5 (copilot)
---
You plan."""

BUILDER = """---
name: Builder
model: gpt-4.1
---
You build."""


@pytest.fixture
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI(default=Stream(["Fake ", "answer."])) as server:
        yield server


@pytest.fixture
def agents(tmp_path: Path) -> Path:
    folder = tmp_path / "agents"
    folder.mkdir()
    (folder / "planner.agent.md").write_text(TEAM)
    (folder / "builder.agent.md").write_text(BUILDER)
    (folder / "routing.yaml").write_text("default_agent: Planner\n")
    return folder


def _env(fake: FakeOpenAI, agents: Path, state: Path, **extra: str) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("OPENAI_", "REDIS_", "SLACK_", "AWS_", "TIKTOKEN"))
    }
    env.update(
        OPENAI_API_KEY="sk-test-terminal",
        OPENAI_BASE_URL=fake.base_url,
        AGENTS_DIR=str(agents),
        XDG_STATE_HOME=str(state),
        TERM="xterm-256color",
        PROMPT_TOOLKIT_NO_CPR="1",  # pexpect does not answer cursor-position queries
        LOGNAME=PERSON,
        USER=PERSON,
        **extra,
    )
    env.pop("ROUTING_FILE", None)
    return env


def _spawn(env: dict[str, str], *args: str) -> pexpect.spawn:
    code = "import sys; from bot.cli import main; sys.exit(main())"
    child = pexpect.spawn(
        sys.executable,
        ["-c", code, "chat", *args],
        env=env,
        cwd=str(ROOT),
        encoding="utf-8",
        timeout=TIMEOUT,
        dimensions=(40, 120),
    )
    child.logfile_read = io.StringIO()  # everything the person saw, for the checks at the end
    child.expect_exact(PROMPT)
    return child


def _screen(child: pexpect.spawn) -> str:
    """Everything the program wrote to the terminal so far."""
    log = child.logfile_read
    assert isinstance(log, io.StringIO)
    return log.getvalue()


def _seen(child: pexpect.spawn) -> str:
    """The terminal's screen as a person sees it (cursor moves and redraws applied), by pyte."""
    import pyte

    screen = pyte.Screen(120, 400)  # taller than the program's 40 rows: nothing scrolls away
    pyte.Stream(screen).feed(_screen(child))
    return "\n".join(line.rstrip() for line in screen.display if line.strip())


def _type(child: pexpect.spawn, text: str) -> None:
    """Write to the terminal in pieces, as fast as the program reads (a pty buffer is small)."""
    assert text.isascii()  # so that bytes written == characters written
    while text:
        written = child.send(text[:1024])
        text = text[written:]


def _leave(child: pexpect.spawn) -> int:
    """Ctrl-D at the prompt (call it once the prompt is back)."""
    child.sendcontrol("d")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus is not None
    return child.exitstatus


def _last_user_text(fake: FakeOpenAI) -> str:
    return str(fake.requests[-1].messages[-1]["content"]).removeprefix(f"{PERSON}: ")


def test_a_12000_character_paste_reaches_the_model_whole(
    fake: FakeOpenAI, agents: Path, tmp_path: Path
) -> None:
    """A long multi-line design pasted at the prompt is sent whole on Enter (not cut at 4,095
    characters, not sent line by line)."""
    design = "\n".join(
        f"{i:04d} the service keeps its state in Redis and answers in Slack" for i in range(200)
    )
    design = design[:12_000]
    child = _spawn(_env(fake, agents, tmp_path))
    _type(child, PASTE_START + design + PASTE_END)
    _type(child, "\r")
    child.expect_exact("Fake answer.")
    child.expect_exact(PROMPT)
    assert len(fake.requests) == 1
    assert _last_user_text(fake) == design
    assert _leave(child) == 0


def test_alt_enter_starts_a_new_line_and_enter_sends(fake: FakeOpenAI, agents: Path, tmp_path: Path) -> None:
    """Esc-Enter (what Alt-Enter sends) adds a line to the message; Enter sends both lines."""
    child = _spawn(_env(fake, agents, tmp_path))
    _type(child, "first line\x1b\rsecond line\r")
    child.expect_exact("Fake answer.")
    child.expect_exact(PROMPT)
    assert _last_user_text(fake) == "first line\nsecond line"
    assert _leave(child) == 0


def test_arrow_keys_edit_and_history_survives_a_restart(
    fake: FakeOpenAI, agents: Path, tmp_path: Path
) -> None:
    """Left arrows move the cursor (no escape codes reach the model); in a new session, Up brings
    back the last message."""
    env = _env(fake, agents, tmp_path)
    child = _spawn(env)
    _type(child, "abc" + LEFT + LEFT + "X\r")
    child.expect_exact("Fake answer.")
    child.expect_exact(PROMPT)
    assert _last_user_text(fake) == "aXbc"
    assert _leave(child) == 0
    assert (tmp_path / "architect-bot" / "chat_history").stat().st_mode & 0o077 == 0  # only yours

    child = _spawn(env)
    _type(child, UP + "\r")
    child.expect_exact("Fake answer.")
    child.expect_exact(PROMPT)
    assert len(fake.requests) == 2
    assert _last_user_text(fake) == "aXbc"
    assert _leave(child) == 0


def test_ctrl_c_during_an_answer_keeps_the_part_so_far(
    fake: FakeOpenAI, agents: Path, tmp_path: Path
) -> None:
    """Ctrl-C while the model is still writing stops the answer, keeps what was written (marked as
    cut) and returns to the prompt; the next answer sees the cut answer."""
    fake.script(Stream(["The partial answer", " never sent"], stall_after_first_s=3600), Stream(["Second."]))
    child = _spawn(_env(fake, agents, tmp_path))
    _type(child, "Plan a queue\r")
    child.expect_exact("The partial answer")
    child.sendcontrol("c")
    child.expect_exact("Answer stopped before it was finished.")
    child.expect_exact(PROMPT)
    seen = _seen(child)  # the screen as the person sees it, redraws applied
    assert seen.count("The partial answer") == 1  # the ^C did not leave a second copy
    assert seen.count("Answer stopped before it was finished.") == 1  # one notice, not two
    assert "^C" not in seen
    _type(child, "go on\r")
    child.expect_exact("Second.")
    child.expect_exact(PROMPT)
    earlier = [str(m["content"]) for m in fake.requests[-1].messages]
    cut = next(text for text in earlier if text.startswith("The partial answer"))
    assert "never sent" not in cut
    assert cut.endswith("[this answer was cut off before it was finished]")
    assert _leave(child) == 0
    assert "Traceback" not in _screen(child)


def test_ctrl_c_at_the_prompt_leaves_cleanly(fake: FakeOpenAI, agents: Path, tmp_path: Path) -> None:
    """Ctrl-C at an empty prompt ends the chat with exit 0 and no traceback; on a line with text it
    only clears the line."""
    child = _spawn(_env(fake, agents, tmp_path))
    _type(child, "half a thought")
    child.sendcontrol("c")
    _type(child, "whole\r")
    child.expect_exact("Fake answer.")
    assert _last_user_text(fake) == "whole"
    child.expect_exact(PROMPT)
    child.sendcontrol("c")
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "Traceback" not in _screen(child)


def test_a_handoff_naming_another_model_is_answered_by_that_model(
    fake: FakeOpenAI, agents: Path, tmp_path: Path
) -> None:
    """Choosing a handoff whose frontmatter names `GPT-5 (copilot)` lets the target agent answer
    with gpt-5, though its own model is gpt-4.1; no log line shows up on the screen."""
    child = _spawn(_env(fake, agents, tmp_path))
    assert "Talking to Planner (gpt-4.1)" in (child.before or "")
    _type(child, "Plan it\r")
    child.expect_exact("[1] Build it -> Builder (sends at once)")
    child.expect_exact(PROMPT)
    _type(child, "1\r")
    child.expect_exact("handed off from Planner to Builder (Build it, model gpt-5)")
    child.expect_exact("Fake answer.")
    child.expect_exact(PROMPT)
    assert [r.model for r in fake.requests] == ["gpt-4.1", "gpt-5"]
    assert fake.requests[-1].messages[-1]["content"].endswith("Build the plan above.")
    assert _leave(child) == 0
    assert "store_selected" not in _screen(child)
    assert "model_call" not in _screen(child)


def test_redis_continues_a_slack_thread_from_its_link(
    fake: FakeOpenAI,
    agents: Path,
    tmp_path: Path,
    *,
    redis_client: redis.Redis,
    redis_prefix: str,
    redis_url: str,
) -> None:
    """`chat --redis <thread link>` finds the bot's stored conversation, shows it, answers the
    message the bot never answered, and writes nothing to the bot's store."""
    store = RedisConversationStore(
        redis_client, prefix=redis_prefix, ttl_s=3600, max_turns=50, clock=FixedClock()
    )
    conversation_id = "T0TEAM:C0CHAN:1700000000.000100"
    store.create(ConversationMeta(id=conversation_id, agent="Planner", created_at=1.0, updated_at=1.0))
    turns = [
        Turn(
            id="1700000000.000100",
            role=Role.USER,
            text="Design the cache",
            ts="1700000000.000100",
            user_id="U1",
        ),
        Turn(id="a-1", role=Role.ASSISTANT, text="Use **Redis**.", ts="1700000001.000000", agent="Planner"),
        Turn(
            id="1700000002.000000",
            role=Role.USER,
            text="Why not Memcached?",
            ts="1700000002.000000",
            user_id="U1",
        ),
    ]
    for turn in turns:
        store.append_turn(conversation_id, turn)
    before = store.get(conversation_id)
    link = (
        "https://example.slack.com/archives/C0CHAN/p1700000002000000?thread_ts=1700000000.000100&cid=C0CHAN"
    )
    env = _env(fake, agents, tmp_path, REDIS_URL=redis_url, REDIS_KEY_PREFIX=redis_prefix)
    child = _spawn(env, "--redis", link)
    shown = _screen(child)
    assert "Why not Memcached?" in shown
    assert "answering it now" in shown
    assert "Fake answer." in shown
    prompt = [str(m["content"]) for m in fake.requests[-1].messages]
    assert prompt[-1] == "<@U1>: Why not Memcached?"
    assert "Use **Redis**." in prompt
    assert _leave(child) == 0
    assert store.get(conversation_id) == before


def test_settle_prints_finished_blocks_and_splits_long_code() -> None:
    """While an answer streams, whole paragraphs are printed for good; an open code block longer
    than the screen is printed in closed pieces and reopened, so the live part always fits."""
    text = "Intro para.\n\nSecond para still"
    printed, done = settle(text, _Settled(0, ""), max_lines=10)
    assert (printed, done) == ("Intro para.\n\n", _Settled(13, ""))
    code = "```python\n" + "".join(f"x = {i}\n" for i in range(12))
    printed, done = settle(code, _Settled(0, ""), max_lines=10)
    assert printed.startswith("```python\nx = 0\n")
    assert printed.endswith("x = 11\n```\n")
    assert done == _Settled(len(code), "```python\n")
    more = code + "y = 1\n```\n\nafter"
    printed, done = settle(more, done, max_lines=10)
    assert printed == "```python\ny = 1\n```\n\n"
    assert done == _Settled(len(more) - len("after"), "")


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("https://x.slack.com/archives/C123/p1700000000000100", ("C123", "1700000000.000100")),
        (
            "https://x.slack.com/archives/C123/p1700000002000000?thread_ts=1700000000.000100&cid=C123",
            ("C123", "1700000000.000100"),
        ),
        ("T1:C123:1700000000.000100", None),
        ("https://x.slack.com/archives/C123", None),
    ],
)
def test_thread_links(reference: str, expected: tuple[str, str] | None) -> None:
    """A link to a thread, or to a reply in one, names the thread; anything else is not a link."""
    assert thread_of(reference) == expected


def test_help_is_answered_by_the_chat_and_the_model_sees_a_name(
    fake: FakeOpenAI, agents: Path, tmp_path: Path
) -> None:
    """`/help` lists the chat's keys and commands without asking the model; a message reaches the
    model as from the person's name (`ada: ...`), not from `<@terminal>`."""
    child = _spawn(_env(fake, agents, tmp_path))
    _type(child, "/help\r")
    child.expect_exact("/quit (or Ctrl-D) leaves.")
    child.expect_exact(PROMPT)
    assert fake.requests == []  # never sent to the model
    _type(child, "Plan a queue\r")
    child.expect_exact("Fake answer.")
    child.expect_exact(PROMPT)
    assert fake.requests[-1].messages[-1]["content"] == f"{PERSON}: Plan a queue"
    assert "<@terminal>" not in str(fake.requests[-1].messages)
    assert _leave(child) == 0
