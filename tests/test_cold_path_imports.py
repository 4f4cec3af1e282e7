"""Cold start on Lambda (issue 19): reading the agent files and the policy imports no pydantic.

A cold start reads the agents folder and the policy (with content or not) before it acknowledges
its first request.
Importing pydantic (and building its models) costs about a tenth of a second of CPU there, which
a person sees as a slower first answer after a quiet spell. Each check runs in a fresh interpreter,
so what earlier tests imported does not count. The last test builds the whole cold start (settings,
agents, policy, the Bolt app and its Lambda adapter) as the handler does before its first ack.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

READ_FOLDER = """
import json, sys
from pathlib import Path
from bot.adapters.agent_files import load_registry
from bot.adapters.policy_file import load_policy

folder = Path(sys.argv[1])
policy_path = Path(sys.argv[2])
registry = load_registry(folder, folder / "routing.yaml", "gpt-4.1")

def canonical(name):
    spec = registry.get(name)
    return spec.name if spec is not None else None

policy, problems = load_policy(policy_path, canonical)
print(json.dumps({
    "pydantic": "pydantic" in sys.modules,
    "agents": len(registry),
    "errors": [p.message for p in (*registry.problems, *problems) if p.severity == "error"],
    "has_limits": policy.has_limits,
    "restricted": sorted(policy.agents),
}))
"""


def _read_in_fresh_interpreter(folder: Path, policy_path: Path) -> dict[str, Any]:
    """What a fresh interpreter reports after loading ``folder``'s agents and ``policy_path``."""
    result = subprocess.run(
        [sys.executable, "-c", READ_FOLDER, str(folder), str(policy_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    found: dict[str, Any] = json.loads(result.stdout)
    return found


def test_the_shipped_agents_and_policy_load_without_pydantic() -> None:
    """The shipped agents and all-comments policy load on a cold start without pydantic's import
    cost: the first answer after a quiet spell is not slowed by validation machinery it needs not."""
    folder = ROOT / "agents"
    assert all(
        not line.strip() or line.lstrip().startswith("#")
        for line in (folder / "policy.yaml").read_text().splitlines()
    ), "the shipped policy.yaml is expected to be all comments"
    found = _read_in_fresh_interpreter(folder, folder / "policy.yaml")
    assert found["agents"] >= 1
    assert found["errors"] == []
    assert not found["has_limits"]
    assert found["pydantic"] is False


def test_an_absent_or_empty_policy_loads_without_pydantic(tmp_path: Path) -> None:
    """No policy file, or an empty one, restricts nothing and costs a cold start no pydantic import."""
    folder = ROOT / "agents"
    empty = tmp_path / "empty.yaml"
    empty.write_text("")
    for path in (tmp_path / "absent.yaml", empty):
        found = _read_in_fresh_interpreter(folder, path)
        assert (found["errors"], found["has_limits"], found["pydantic"]) == ([], False, False), path


def test_a_policy_with_content_is_checked_without_pydantic(tmp_path: Path) -> None:
    """A policy that says something (a team that uses governance) is checked as strictly as before,
    with the same messages, and its rules apply to the loaded agents; the cold start still imports no
    pydantic for it, so the first answer is as quick as with no policy."""
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text("agents:\n  Director: {users: [U0ALICE]}\nrate_limits: {user_per_minute: 6}\n")
    found = _read_in_fresh_interpreter(ROOT / "agents", policy_path)
    assert found["errors"] == []
    assert found["restricted"] == ["director"]
    assert found["has_limits"]
    assert found["pydantic"] is False
    policy_path.write_text("rate_limits: {user_per_minute: -5}\n")
    found = _read_in_fresh_interpreter(ROOT / "agents", policy_path)
    assert found["errors"] == ["rate_limits.user_per_minute: Input should be greater than 0 (got -5)"]
    assert found["pydantic"] is False


COLD_START = """
import os, sys
os.environ.update(SLACK_SIGNING_SECRET="s", SLACK_BOT_TOKEN="xoxb-1", SLACK_BOT_USER_ID="UBOT",
                  WARM_AFTER_ACK="false", LOG_LEVEL="ERROR", POLICY_FILE=sys.argv[1])
from handlers import lambda_function
container = lambda_function.cold_start()
print(type(container.handler).__name__, "pydantic" in sys.modules)
"""


def test_the_whole_cold_start_imports_no_pydantic(tmp_path: Path) -> None:
    """What the Lambda handler builds before its first ack (settings from the environment, the agents,
    a policy with rules, the Bolt app) imports no pydantic: the first answer after a quiet spell does
    not wait for it."""
    policy_path = tmp_path / "policy.yaml"
    policy_path.write_text("admins: [U0ADMIN1]\nbudgets: {user_daily_tokens: 200000}\n")
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "AWS_", "REDIS"))}
    result = subprocess.run(
        [sys.executable, "-c", COLD_START, str(policy_path)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split()[-2:] == ["SlackRequestHandler", "False"]
