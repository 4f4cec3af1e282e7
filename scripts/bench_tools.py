"""Benchmark what a tool round adds to an answer: time, Slack API calls, model calls, prompt tokens.

Runs the production Lambda handler in-process with signed requests, the fake Slack and OpenAI
servers over real HTTP, a local HTTPS page for ``fetch`` (test CA, the test-only loopback setting), a
fake GitHub API, a local MCP server built with the ``mcp`` SDK (streamable HTTP), and the real Redis
(REDIS_URL or 127.0.0.1:6379; keys under a private prefix, deleted afterwards). Prints figures;
asserts nothing.

    .venv/bin/python scripts/bench_tools.py [--n 8]

Tokens are the bot's own count (tiktoken when its files are cached, else its estimate) of what the
model was sent: every request's messages plus the tool definitions, summed over the answer's
model calls. Not included: the model's real latency (the fake answers at once) and the network
to real web pages, GitHub and MCP servers (all local here): add your provider's round trips.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import redis  # noqa: E402

from bot.adapters.token_counter import make_counter  # noqa: E402
from tests.fakes.github_server import FakeGitHub  # noqa: E402
from tests.fakes.mcp_server import LocalMcp  # noqa: E402
from tests.fakes.openai_server import FakeOpenAI, Stream, calls  # noqa: E402
from tests.fakes.slack_server import FakeLambda, FakeSlack  # noqa: E402
from tests.fakes.web_server import FakeWeb  # noqa: E402
from tests.harness import CHANNEL, Bot, bot_env  # noqa: E402

AGENTS = {
    "researcher.agent.md": """---
name: researcher
model: gpt-4.1
tools: ['fetch', 'githubRepo', 'tracker/*']
mcp-servers:
  tracker:
    type: http
    url: {url}
---
You research designs. Read what people link, check the repository, and file tickets when asked.
""",
    "plain.agent.md": """---
name: plain
model: gpt-4.1
tools: []
---
You research designs. Read what people link, check the repository, and file tickets when asked.
""",
}
ANSWER = ["The design keeps the ledger append-only; ", "refunds are new entries."]


@dataclass
class Sample:
    """One answer's cost."""

    ms: float
    slack_calls: int
    model_calls: int
    input_tokens: int


def main() -> int:  # noqa: PLR0915 - a linear script: set up, measure, print
    """Run the benchmark and print figures."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=8, help="answers per case")
    args = parser.parse_args()
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/0")
    prefix = f"abbench-{uuid.uuid4().hex[:8]}"
    counter = make_counter()
    folder = Path(tempfile.mkdtemp(prefix="ab-bench-tools-"))
    results: dict[str, list[Sample]] = {}
    with (
        FakeSlack() as slack,
        FakeOpenAI() as openai,
        FakeLambda() as aws_lambda,
        FakeWeb() as web,
        FakeGitHub() as github,
        LocalMcp() as mcp,
    ):
        github.add_repo("acme/payments", files={"src/ledger.py": "class Ledger:  # append-only\n" * 40})
        for name, text in AGENTS.items():
            (folder / name).write_text(text.format(url=mcp.url))
        (folder / "routing.yaml").write_text("default_agent: plain\n")
        env = bot_env(slack, openai, aws_lambda, redis_url=redis_url, prefix=prefix)
        env.update(
            {
                "LOG_LEVEL": "ERROR",
                "STAGE": "bench",
                "AGENTS_DIR": str(folder),
                "FETCH_ALLOW_LOOPBACK_FOR_TESTS": "true",
                "FETCH_CA_FILE": web.ca_file,
                "GITHUB_API_URL": github.base_url,
                "GITHUB_TOKEN": github.token or "",
                "GITHUB_ALLOWED_REPOS": "acme",
                "MCP_ALLOWED_SERVERS": f"http://127.0.0.1:{mcp.port}/",
            }
        )
        os.environ.update(env)
        bot = Bot(slack=slack, openai=openai, aws_lambda=aws_lambda)
        devnull = open(os.devnull, "w")  # noqa: SIM115 - logs and EMF lines are not the figures
        real_stdout, sys.stdout = sys.stdout, devnull

        def answer(verb: str, text: str, *script: Stream, approve: bool = False) -> Sample:
            openai.script(*script)
            before_calls, before_requests = len(slack.calls), len(openai.requests)
            t0 = time.perf_counter()
            bot.command(f"{verb} {text}")
            bot.lazy()
            if approve:
                root = bot.root().ts
                message = next(m for m in slack.thread(CHANNEL, root) if "Approve" in json.dumps(m.blocks))
                bot.click(message, "Approve")
                bot.lazy()
            ms = (time.perf_counter() - t0) * 1000
            requests = openai.requests[before_requests:]
            tokens = sum(
                counter.count(
                    json.dumps(r.body.get("messages", [])) + json.dumps(r.body.get("tools", [])), "gpt-4.1"
                )
                for r in requests
            )
            return Sample(ms, len(slack.calls) - before_calls, len(requests), tokens)

        url = web.url("/design")
        cases = {
            "no tools (agent lists none)": lambda: answer("plain", f"what does <{url}> say?", Stream(ANSWER)),
            "tools offered, none called": lambda: answer(
                "researcher", f"what does <{url}> say?", Stream(ANSWER)
            ),
            "one fetch round": lambda: answer(
                "researcher", f"what does <{url}> say?", calls(("fetch", {"url": url})), Stream(ANSWER)
            ),
            "one GitHub read round": lambda: answer(
                "researcher",
                "check acme/payments",
                calls(("github_read_file", {"repo": "acme/payments", "path": "src/ledger.py"})),
                Stream(ANSWER),
            ),
            "one MCP read round": lambda: answer(
                "researcher",
                "search the ADRs",
                calls(("tracker__search_docs", {"query": "ledger"})),
                Stream(ANSWER),
            ),
            "one MCP write, approved": lambda: answer(
                "researcher",
                "file a ticket",
                calls(("tracker__create_ticket", {"title": "Fix the ledger"})),
                Stream(ANSWER),
                approve=True,
            ),
        }
        try:
            answer("researcher", "warm up", Stream(ANSWER))  # cold start, imports, first tool listing
            for name, run in cases.items():
                results[name] = [run() for _ in range(args.n)]
        finally:
            sys.stdout = real_stdout
            client = redis.Redis.from_url(redis_url)
            for key in client.scan_iter(match=f"{prefix}:*"):
                client.delete(key)
    exact = "exact (tiktoken)" if counter.exact else "estimated"
    print("architect-bot tool rounds (in-process handler; fake Slack/OpenAI; local page, GitHub, MCP)")
    print(f"  per answer, median of {args.n}; input tokens {exact}, summed over the answer's model calls")
    print(f"  {'case':<30} {'ms':>8} {'Slack calls':>12} {'model calls':>12} {'input tokens':>13}")
    for name, samples in results.items():
        print(
            f"  {name:<30} {statistics.median(s.ms for s in samples):8.1f} "
            f"{statistics.median(s.slack_calls for s in samples):12.0f} "
            f"{statistics.median(s.model_calls for s in samples):12.0f} "
            f"{statistics.median(s.input_tokens for s in samples):13.0f}"
        )
    base = results["tools offered, none called"]
    plain = results["no tools (agent lists none)"]
    offered = statistics.median(s.input_tokens for s in base) - statistics.median(
        s.input_tokens for s in plain
    )
    print(f"  offering the tools (definitions in every request): +{offered:.0f} input tokens per model call")

    def median(samples: list[Sample], field: str) -> float:
        return float(statistics.median(getattr(sample, field) for sample in samples))

    for name in ("one fetch round", "one GitHub read round", "one MCP read round", "one MCP write, approved"):
        samples = results[name]
        added = {
            field: median(samples, field) - median(base, field)
            for field in ("ms", "slack_calls", "input_tokens")
        }
        print(
            f"  {name} adds: {added['ms']:+.1f} ms, {added['slack_calls']:+.0f} Slack calls, "
            f"{added['input_tokens']:+.0f} input tokens"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
