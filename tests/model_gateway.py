"""A model gateway for end-to-end tests: a second OpenAI-compatible server that model routes point at,
and the packaged agents with backend-builder's model changed. Used by ``tests/test_model_routes.py``
and ``tests/test_logs_no_leak.py``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes.openai_server import FakeOpenAI
from tests.harness import ROOT

GATEWAY_KEY = "sk-gateway-route-key-1234"
ROUTE_MODEL = "anthropic/claude-sonnet-4.5"


@pytest.fixture
def gateway() -> Iterator[FakeOpenAI]:
    """A second OpenAI-compatible server: the gateway a route points at."""
    with FakeOpenAI() as fake:
        yield fake


def routes_json(gateway: FakeOpenAI, **extra: str) -> str:
    """MODEL_ROUTES: ``claude-*`` to the gateway, its key from ``GATEWAY_KEY``."""
    return json.dumps({"claude-*": {"base_url": gateway.base_url, "api_key_env": "GATEWAY_KEY", **extra}})


def agents_with_model(tmp_path: Path, model: str) -> Path:
    """The packaged agents, with backend-builder's model set to ``model``."""
    agents = tmp_path / "agents"
    shutil.copytree(ROOT / "agents", agents)
    spec = agents / "backend-builder.agent.md"
    head, _, body = spec.read_text(encoding="utf-8").partition("\n---")
    lines = [line for line in head.splitlines() if not line.startswith("model:")]
    spec.write_text("\n".join([*lines, f"model: {model}"]) + "\n---" + body, encoding="utf-8")
    return agents
