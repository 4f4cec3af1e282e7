"""First words fast on Lambda: the warm-up after a cold start's first ack, SnapStart init and restore.

Timing itself is measured by ``scripts/bench_speed.py``; these tests check the mechanisms, through
the production handler, without any wall-clock margin (threads are joined, not waited for).
"""

from __future__ import annotations

import importlib
import random
from collections.abc import Iterator

import pytest

from handlers import lambda_function
from tests.harness import Bot, running_container

EVERYTHING = frozenset({"store", "model", "counter", "engine"})


def test_first_ack_builds_nothing_heavy_without_the_warm_up(slackbot: Bot) -> None:
    """Slack's 3 s ack on a cold start never waits for Redis, the OpenAI SDK or the engine."""
    ack = slackbot.command("review the rate limiter")
    assert ack["statusCode"] == 200
    container = running_container()
    assert container.warming is None  # WARM_AFTER_ACK=false in the tests' environment
    assert container.services.warm_parts == frozenset()
    slackbot.lazy()
    assert container.services.warm_parts == EVERYTHING  # the answer built what it needed
    assert len(slackbot.answers(slackbot.root().ts)) == 1


def test_warm_up_after_the_first_ack_builds_the_engine(
    slackbot: Bot, monkeypatch: pytest.MonkeyPatch
) -> None:
    """After a cold start's first ack the container gets ready to answer in the background.

    The answer that follows on the same container then finds the store, the model and the engine
    built, and the person gets it as usual.
    """
    monkeypatch.setenv("WARM_AFTER_ACK", "true")
    ack = slackbot.command("review the rate limiter")
    assert ack["statusCode"] == 200
    container = running_container()
    assert container.warming is not None
    container.warming.join()
    assert container.services.warm_parts == EVERYTHING
    warming = container.warming
    slackbot.command("help")
    assert container.warming is warming  # once per container, not once per request
    slackbot.lazy()
    assert len(slackbot.answers(slackbot.root().ts)) == 1


def test_lazy_answer_goes_to_the_alias_that_slack_reached(slackbot: Bot) -> None:
    """Through the deployed alias, the answer runs on the same published (SnapStart) version."""
    slackbot.qualifier = "snapstart"
    slackbot.command("review the rate limiter")
    [invocation] = slackbot.aws_lambda.take()
    assert invocation["function"].endswith(":architect-bot-test-slack:snapstart")
    assert invocation["type"] == "Event"


@pytest.fixture
def snap_started(slackbot: Bot, monkeypatch: pytest.MonkeyPatch) -> Iterator[Bot]:
    """The handler module imported as Lambda's SnapStart init does it (before the snapshot)."""
    snapshot_restore_py = pytest.importorskip("snapshot_restore_py")
    hooks = snapshot_restore_py.get_after_restore()
    registered = len(hooks)
    monkeypatch.setenv("AWS_LAMBDA_INITIALIZATION_TYPE", "snap-start")
    importlib.reload(lambda_function)
    try:
        yield slackbot
    finally:
        del hooks[registered:]
        monkeypatch.delenv("AWS_LAMBDA_INITIALIZATION_TYPE")
        importlib.reload(lambda_function)


def _restore() -> None:
    """What Lambda does when it resumes an instance from the snapshot."""
    from snapshot_restore_py import get_after_restore

    for hook, args, kwargs in get_after_restore():
        hook(*args, **kwargs)


def test_snapstart_init_builds_everything_before_the_snapshot(snap_started: Bot) -> None:
    """A new instance resumed from the snapshot has nothing left to build before it answers."""
    container = running_container()
    assert container.services.warm_parts == EVERYTHING
    runner = container.handler.app.listener_runner.lazy_listener_runner
    assert runner.lambda_client is not None  # not created on the first ack after a restore
    ack = snap_started.command("review the rate limiter")
    assert ack["statusCode"] == 200
    snap_started.lazy()
    assert len(snap_started.answers(snap_started.root().ts)) == 1


def test_restore_hook_opens_new_connections(snap_started: Bot) -> None:
    """Connections made before a snapshot are dead after it: the restore hook replaces them.

    Before the restore, answers reuse the pooled Redis connection; after it, the next answer opens
    a new one (and a new OpenAI client), and still arrives. Retry jitter is reseeded, so restored
    instances do not all back off in step.
    """
    store = running_container().services.store
    client = store.client  # type: ignore[attr-defined]  # the Redis store's redis-py client
    snap_started.command("review the rate limiter")
    snap_started.lazy()
    redis_connection = client.client_id()
    snap_started.command("review the rate limiter once more")
    snap_started.lazy()
    assert client.client_id() == redis_connection  # pooled across answers
    jitter = random.getstate()

    _restore()

    assert random.getstate() != jitter  # retry jitter no longer the same on every restored instance

    before = len(snap_started.openai.requests)
    snap_started.command("review the rate limiter again")
    snap_started.lazy()
    assert client.client_id() != redis_connection
    assert len(snap_started.openai.requests) == before + 1
    assert len(snap_started.answers(snap_started.root().ts)) == 1
