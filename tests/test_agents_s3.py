"""Agent files from S3 without a redeploy, end to end through the Lambda handler: moto's S3, the
fake Slack and OpenAI servers, the real Redis, an injected clock for AGENTS_REFRESH_S."""

from __future__ import annotations

import json
from typing import Any

import pytest

from bot.core.ports import FixedClock
from tests.agents_in_s3 import (
    ADMIN,
    BUCKET,
    EDITED_LINE,
    PREFIX,
    SEED_FIRST_LINE,
    SRE_LINE,
    edit_in_s3,
)
from tests.fakes.openai_server import Stream
from tests.harness import ROOT, USER, Bot
from tests.slack_ui import event


def _review(slackbot: Bot, text: str) -> str:
    """Ask backend-builder; the system prompt the model got."""
    slackbot.openai.script(Stream(["Answered."]))
    slackbot.command(f"review {text}")
    slackbot.lazy()
    assert slackbot.answers(slackbot.root().ts)[-1].markdown().startswith("Answered.")
    return str(slackbot.openai.requests[-1].messages[0]["content"])


def _open_home(slackbot: Bot, user: str, event_ts: str) -> None:
    body = {"type": "app_home_opened", "user": user, "channel": "D1", "tab": "home", "event_ts": event_ts}
    event(slackbot, body)
    slackbot.lazy()


def _emf(output: str, name: str) -> list[dict[str, Any]]:
    lines = [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]
    return [line for line in lines if name in line]


def test_agents_only_in_s3_answer(slackbot: Bot, s3: Any, s3_clock: FixedClock) -> None:
    """With AGENTS_SOURCE set, the agents come from S3: /architect review is answered by them."""
    assert SEED_FIRST_LINE in _review(slackbot, "a queue")


def test_an_edit_in_s3_is_used_after_the_refresh_interval(
    slackbot: Bot, s3: Any, s3_clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """An agent file edited in S3 is used by the first request after AGENTS_REFRESH_S, in the same
    process, and not before; only the edited file is downloaded again."""
    assert SEED_FIRST_LINE in _review(slackbot, "one")
    edit_in_s3(s3, "backend-builder.agent.md", SEED_FIRST_LINE, EDITED_LINE)
    s3_clock.advance(30)
    assert SEED_FIRST_LINE in _review(slackbot, "two")  # not due yet: the set in use answers
    s3_clock.advance(31)
    capsys.readouterr()
    assert EDITED_LINE in _review(slackbot, "three")
    refreshes = [
        json.loads(line) for line in capsys.readouterr().out.splitlines() if '"agents_refresh"' in line
    ]
    assert [(r["outcome"], r["s3_lists"], r["s3_gets"]) for r in refreshes] == [("applied", 1, 1)]


def test_a_broken_edit_is_refused_and_admins_see_why(
    slackbot: Bot, s3: Any, s3_clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken agent file in S3: the last good set keeps answering, AgentsRejected is emitted, and
    the policy's admin sees the errors on App Home; fixing it brings the new set in."""
    assert SEED_FIRST_LINE in _review(slackbot, "one")
    edit_in_s3(s3, "backend-builder.agent.md", SEED_FIRST_LINE, EDITED_LINE)
    edit_in_s3(s3, "director.agent.md", "name: director", "name: [director")  # invalid YAML frontmatter
    s3_clock.advance(61)
    capsys.readouterr()
    assert SEED_FIRST_LINE in _review(slackbot, "two")  # the whole set refused, edit included
    out = capsys.readouterr().out
    assert _emf(out, "AgentsRejected")
    assert '"agents_rejected"' in out

    _open_home(slackbot, ADMIN, "1.2")
    home = json.dumps(slackbot.slack.workspace.home[ADMIN].view)
    assert "Agent files refused" in home
    assert "director.agent.md" in home

    s3_clock.advance(61)  # the same broken set: not downloaded or counted again
    capsys.readouterr()
    assert SEED_FIRST_LINE in _review(slackbot, "three")
    assert not _emf(capsys.readouterr().out, "AgentsRejected")

    edit_in_s3(s3, "director.agent.md", "name: [director", "name: director")
    s3_clock.advance(61)
    assert EDITED_LINE in _review(slackbot, "four")
    _open_home(slackbot, ADMIN, "1.3")
    assert "Agent files refused" not in json.dumps(slackbot.slack.workspace.home[ADMIN].view)


def test_people_who_are_not_admins_never_see_the_refusal(
    slackbot: Bot, s3: Any, s3_clock: FixedClock
) -> None:
    """The refusal is for the policy's admins only."""
    _review(slackbot, "one")
    edit_in_s3(s3, "director.agent.md", "name: director", "name: [director")
    s3_clock.advance(61)
    _review(slackbot, "two")
    _open_home(slackbot, USER, "1.4")
    assert "Agent files refused" not in json.dumps(slackbot.slack.workspace.home[USER].view)


def test_the_s3_endpoint_setting_is_honoured(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS_ENDPOINT_URL_S3 points the reader at a local S3 (MinIO, LocalStack, moto server)."""
    from bot.adapters.s3_agents import S3AgentFiles

    monkeypatch.setenv("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9000")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    files = S3AgentFiles("s3://bucket/agents", region="us-east-1")
    assert files._client.meta.endpoint_url == "http://127.0.0.1:9000"
    assert (files.bucket, files.prefix) == ("bucket", "agents/")


def test_an_agent_added_in_s3_is_reachable_by_its_verb_after_the_refresh(
    slackbot: Bot, s3: Any, s3_clock: FixedClock
) -> None:
    """A new agent file synced to S3: once a request after AGENTS_REFRESH_S brought the set in,
    `/architect <its verb>` reaches it (the verbs and help are rebuilt, not only the answers)."""
    body = f"---\nname: SRE Reviewer\ndescription: Reviews runbooks.\n---\n{SRE_LINE}\n"
    _review(slackbot, "one")  # the container starts with the set as it was
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "team/sre.agent.md", Body=body.encode())
    slackbot.command("sre-reviewer check our paging runbook")
    slackbot.lazy()
    assert all(SRE_LINE not in str(r.messages[0]["content"]) for r in slackbot.openai.requests)  # not yet
    s3_clock.advance(61)
    _review(slackbot, "two")  # this request's lazy run brings the new set in
    slackbot.openai.script(Stream(["Runbook reviewed."]))
    slackbot.command("sre-reviewer check our paging runbook")
    slackbot.lazy()
    assert slackbot.answers(slackbot.root().ts)[-1].markdown().startswith("Runbook reviewed.")
    assert SRE_LINE in slackbot.openai.requests[-1].messages[0]["content"]


def test_a_policy_synced_to_s3_applies_after_the_refresh(
    slackbot: Bot, s3: Any, s3_clock: FixedClock
) -> None:
    """policy.yaml comes with the agent files: once a refresh brought it in, an agent kept to another
    channel no longer answers here (the access gate uses the new policy, not the one it started with)."""
    _review(slackbot, "one")
    policy = f"admins: [{ADMIN}]\nagents:\n  backend-builder:\n    channels: [C0OTHER]\n"
    s3.put_object(Bucket=BUCKET, Key=PREFIX + "policy.yaml", Body=policy.encode())
    s3_clock.advance(61)
    _review(slackbot, "two")  # this request's lazy run brings the new policy in
    asked = len(slackbot.openai.requests)
    slackbot.command("review three")
    slackbot.lazy()
    assert len(slackbot.openai.requests) == asked


def test_a_new_container_serves_the_last_good_set_when_the_set_in_s3_is_broken(
    slackbot: Bot, s3: Any, s3_clock: FixedClock, capsys: pytest.CaptureFixture[str]
) -> None:
    """A broken edit synced to S3 is refused by a container that starts after it, too: the new
    container answers with the last good set (director there, so a plain mention still reaches the
    default agent), counts AgentsRejected and shows the admins why; it never runs without director."""
    from handlers import lambda_function

    assert SEED_FIRST_LINE in _review(slackbot, "one")  # this container accepted the set and kept it
    edit_in_s3(s3, "backend-builder.agent.md", SEED_FIRST_LINE, EDITED_LINE)
    edit_in_s3(s3, "director.agent.md", "name: director", "name: [director")  # invalid YAML frontmatter
    capsys.readouterr()
    lambda_function.reset(clock=s3_clock)  # a new container: its cold start reads the broken set
    assert SEED_FIRST_LINE in _review(slackbot, "two")  # the last good set, not the broken edit
    out = capsys.readouterr().out
    assert _emf(out, "AgentsRejected")
    assert '"agents_last_good_served"' in out

    slackbot.openai.script(Stream(["Director here."]))
    _, ts = slackbot.mention("what should we build first?")
    slackbot.lazy()
    assert slackbot.answers(ts)[-1].markdown().startswith("Director here.")
    assert "# Director-Architect instructions" in str(slackbot.openai.requests[-1].messages[0]["content"])

    _open_home(slackbot, ADMIN, "1.5")
    assert "director.agent.md" in json.dumps(slackbot.slack.workspace.home[ADMIN].view)


def test_a_first_container_with_a_broken_set_and_none_kept_serves_the_packaged_agents(
    slackbot: Bot, s3: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No set was ever accepted (nothing kept in S3) and the set in S3 is broken: the container
    answers with the packaged agents, not with what is left of the broken set."""
    from handlers import lambda_function

    edit_in_s3(s3, "backend-builder.agent.md", SEED_FIRST_LINE, EDITED_LINE)
    edit_in_s3(s3, "director.agent.md", "name: director", "name: [director")
    monkeypatch.setenv("AGENTS_DIR", str(ROOT / "agents"))
    lambda_function.reset()
    try:
        assert SEED_FIRST_LINE in _review(slackbot, "one")
    finally:
        lambda_function.reset()
    out = capsys.readouterr().out
    assert _emf(out, "AgentsRejected")
    assert '"source": "package"' in out
