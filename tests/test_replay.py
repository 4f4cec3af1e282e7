"""`architect-bot replay` / `export`: a thread the bot answered in Slack (stored in the real Redis)
re-run against changed agent files, recorded and new answers side by side; nothing written back."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import redis

from bot.cli import main
from tests.fakes.openai_server import Stream
from tests.harness import CHANNEL, ROOT, Bot

CHANGED = "You are the CHANGED backend architect: numbered lists only."


def _stored_thread(slackbot: Bot) -> str:
    """A two-answer thread answered by backend-builder through the Lambda handler; its link."""
    slackbot.openai.script(Stream(["Recorded first answer."]), Stream(["Recorded second answer."]))
    slackbot.command("review a payments ledger on one Postgres")
    slackbot.lazy()
    root = slackbot.root().ts
    slackbot.message("what about backups?", thread_ts=root)
    slackbot.lazy()
    assert len(slackbot.answers(root)) == 2
    return f"https://example.slack.com/archives/{CHANNEL}/p{root.replace('.', '')}"


def _changed_agents(tmp_path: Path) -> Path:
    agents = tmp_path / "changed"
    shutil.copytree(ROOT / "agents", agents)
    spec = agents / "backend-builder.agent.md"
    text = spec.read_text(encoding="utf-8")
    spec.write_text(
        text.replace("You are a ruthless backend and DevOps chief architect.", CHANGED), encoding="utf-8"
    )
    return agents


def _keys(redis_client: redis.Redis, prefix: str) -> dict[str, object]:
    return {key: redis_client.dump(key) for key in sorted(redis_client.scan_iter(f"{prefix}*"))}


def test_replay_shows_recorded_and_new_answers_side_by_side(
    slackbot: Bot,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    redis_client: redis.Redis,
    redis_prefix: str,
) -> None:
    """Replay asks the model with the changed agent's instructions for each recorded answer, in
    order, prints both answers and the tokens, and calls no Slack API and writes nothing to Redis."""
    link = _stored_thread(slackbot)
    agents = _changed_agents(tmp_path)
    slack_calls = len(slackbot.slack.calls)
    before = _keys(redis_client, redis_prefix)
    asked = len(slackbot.openai.requests)
    slackbot.openai.script(Stream(["1. New first."]), Stream(["1. New second."]))

    assert main(["replay", link, "--agents", str(agents)]) == 0

    out = capsys.readouterr().out
    assert (
        out.index("Recorded first answer.")
        < out.index("1. New first.")
        < out.index("Recorded second answer.")
    )
    assert out.index("Recorded second answer.") < out.index("1. New second.")
    assert "Tokens: recorded" in out
    sent = slackbot.openai.requests[asked:]
    assert len(sent) == 2
    assert all(CHANGED in r.messages[0]["content"] for r in sent)
    assert "what about backups?" in sent[1].messages[-1]["content"]
    assert any("1. New first." in str(m.get("content")) for m in sent[1].messages)  # the new history
    assert len(slackbot.slack.calls) == slack_calls
    assert _keys(redis_client, redis_prefix) == before


def test_export_then_replay_from_the_file_gives_the_same(
    slackbot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`export` writes the thread to a file; `replay --from FILE --json` gives what replaying the link
    gives; `--turns 1` stops after the first answer."""
    link = _stored_thread(slackbot)
    agents = _changed_agents(tmp_path)
    exported = tmp_path / "thread.json"
    assert main(["export", link, "-o", str(exported)]) == 0
    assert json.loads(exported.read_text())["format"] == "architect-bot-conversation"
    capsys.readouterr()

    runs = []
    for source in (["--from", str(exported)], [link]):
        slackbot.openai.script(Stream(["Same new answer."]))
        assert main(["replay", *source, "--agents", str(agents), "--json", "--turns", "1"]) == 0
        runs.append(json.loads(capsys.readouterr().out))
    assert runs[0] == runs[1]
    assert [t["new"] for t in runs[0]["turns"]] == ["Same new answer."]
    assert runs[0]["turns"][0]["recorded"] == "Recorded first answer."
    assert runs[0]["tokens"]["new"]["output"] > 0


def test_replay_of_an_unknown_thread_says_so(
    slackbot: Bot, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A link to a thread the bot never answered: exit 2 with what to check."""
    code = main(
        [
            "replay",
            f"https://x.slack.com/archives/{CHANNEL}/p1700000000000100",
            "--agents",
            str(ROOT / "agents"),
        ]
    )
    assert code == 2
    assert "no stored conversation" in capsys.readouterr().err
