"""Shared fixtures: a real Redis server and per-test key namespaces.

Redis: ``TEST_REDIS_URL`` if set; else the machine's server on 127.0.0.1:6379 if it answers;
else (or with ``TEST_OWN_REDIS=1``) a private ``redis-server`` started on a free port in a temp
directory and stopped after the session. Tests never flush a database: each test gets its own key
prefix (``redis_prefix``) and only keys under it are deleted afterwards.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

pytest_plugins = ["tests.harness"]  # the `slackbot` end-to-end fixture

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _answers(url: str) -> bool:
    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=0.5).ping())
    except redis.RedisError:
        return False


@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    """URL of a real Redis server for this test session."""
    explicit = os.environ.get("TEST_REDIS_URL")
    if explicit:
        yield explicit
        return
    machine = "redis://127.0.0.1:6379/0"
    if os.environ.get("TEST_OWN_REDIS") != "1" and _answers(machine):
        yield machine
        return
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.skip("no Redis on 127.0.0.1:6379 and no redis-server binary to start one")
    port = _free_port()
    workdir = tempfile.mkdtemp(prefix="ab-redis-")
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            workdir,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"redis://127.0.0.1:{port}/0"
    try:
        deadline = time.monotonic() + 10
        while not _answers(url):
            if time.monotonic() > deadline or proc.poll() is not None:
                pytest.fail("could not start a private redis-server")
            time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(workdir, ignore_errors=True)


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
