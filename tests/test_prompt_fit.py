"""Prompt building and fitting it into the model's window (pure core); the token estimate's safety margin."""

from __future__ import annotations

import base64
import json
import random
import uuid
from pathlib import Path

import pytest

from bot.adapters.token_counter import (
    EstimatingCounter,
    TiktokenCounter,
    estimate_tokens,
    make_counter,
    tiktoken_available,
)
from bot.core.conversation import Role, Turn
from bot.core.prompt_fit import build_prompt
from bot.core.prompts import context_window
from bot.errors import ThreadTooLongError
from tests.tiktoken_files import seed_cache

INSTRUCTIONS = "You are the architect. Answer with a plan."


class CharCounter:
    """One token per character: makes the prompt's limit easy to reason about."""

    exact = True

    def __init__(self) -> None:
        self.calls = 0

    def count(self, text: str, model: str) -> int:
        self.calls += 1
        return len(text)


def user(i: int, text: str, uid: str = "U1") -> Turn:
    return Turn(id=f"u{i}", role=Role.USER, text=text, ts=f"1700000000.{i:06d}", user_id=uid)


def answer(i: int, text: str, agent: str = "architect", status: str = "complete") -> Turn:
    return Turn(
        id=f"a{i}", role=Role.ASSISTANT, text=text, ts=f"1700000000.{i:06d}", agent=agent, status=status
    )  # type: ignore[arg-type]


def thread(n: int, size: int = 100) -> list[Turn]:
    """``n`` turns alternating user/answer, each ``size`` characters."""
    turns = []
    for i in range(n):
        body = f"#{i} " + "x" * size
        turns.append(user(i, body) if i % 2 == 0 else answer(i, body))
    return turns


def build(turns: list[Turn], *, max_prompt_tokens: int = 120_000, reserve: int = 4096, **kw: object):  # type: ignore[no-untyped-def]
    return build_prompt(
        instructions=str(kw.get("instructions", INSTRUCTIONS)),
        turns=turns,
        agent=str(kw.get("agent", "architect")),
        model=str(kw.get("model", "gpt-4o")),
        counter=kw.get("counter", CharCounter()),  # type: ignore[arg-type]
        max_prompt_tokens=max_prompt_tokens,
        reserve_tokens=reserve,
    )


def test_context_windows_of_known_and_unknown_models() -> None:
    """Each model gets its real window (dated ids too); unknown ids get a conservative 128k."""
    assert context_window("gpt-4.1") == 1_047_576
    assert context_window("gpt-4.1-mini-2025-04-14") == 1_047_576
    assert context_window("gpt-4o-2024-08-06") == 128_000
    assert context_window("gpt-4o-mini") == 128_000
    assert context_window("gpt-5-mini") == 400_000
    assert context_window("o3") == 200_000
    assert context_window("o4-mini-2025-04-16") == 200_000
    assert context_window("gpt-4-turbo-2024-04-09") == 128_000
    assert context_window("gpt-3.5-turbo-0125") == 16_385
    assert context_window("claude-sonnet-4") == 128_000
    assert context_window("mystery") == 128_000


def test_short_thread_is_sent_whole() -> None:
    """A short thread reaches the model untouched: instructions, then every message in order."""
    turns = [user(0, "Design a cache", "U123"), answer(1, "Use Redis."), user(2, "Why?", "U456")]
    result = build(turns)

    assert [(m.role, m.content) for m in result.messages] == [
        ("system", INSTRUCTIONS),
        ("user", "<@U123>: Design a cache"),
        ("assistant", "Use Redis."),
        ("user", "<@U456>: Why?"),
    ]
    assert result.dropped_turns == 0
    assert result.limit == min(128_000, 120_000) - 4096
    assert result.prompt_tokens <= result.limit
    assert result.exact_count


def test_long_thread_keeps_instructions_first_message_and_latest_turns() -> None:
    """A 200-turn thread over the limit keeps the task (first message) and the latest turns, with a note."""
    turns = thread(200, size=100)
    counter = CharCounter()
    result = build(turns, max_prompt_tokens=10_000, reserve=1_000, counter=counter)

    messages = result.messages
    assert messages[0].content == INSTRUCTIONS
    assert messages[1].content == "<@U1>: " + turns[0].text
    assert messages[2].role == "system"
    assert (
        messages[2].content == f"[{result.dropped_turns} earlier messages omitted to fit the context window]"
    )
    kept = messages[3:]
    assert kept[-1].content == turns[-1].text
    assert len(kept) + 1 + result.dropped_turns == 200
    # the kept tail is contiguous and ends with the latest turn
    assert [m.content.removeprefix("<@U1>: ") for m in kept] == [t.text for t in turns[200 - len(kept) :]]
    assert result.prompt_tokens <= result.limit == 9_000
    assert result.dropped_turns > 100
    assert counter.calls <= 200 + 3  # every turn counted once (+ system, note sizing, note)


def test_dropped_count_is_exact_at_the_boundary() -> None:
    """The omission note counts exactly the turns left out, and no more are left out than needed."""
    turns = thread(10, size=96)  # every turn is exactly 100 characters
    base = build(turns, max_prompt_tokens=100_000, reserve=0)
    over = base.prompt_tokens - 1  # one token short of the whole thread
    result = build(turns, max_prompt_tokens=over, reserve=0)

    assert result.prompt_tokens <= over
    assert len(result.messages) - 3 + 1 + result.dropped_turns == 10
    # dropping one more turn than needed would be wrong: adding it back must not fit
    per_turn = 100 + 4
    assert result.prompt_tokens + per_turn > over


def test_thread_too_long_even_after_trimming() -> None:
    """If instructions + first + latest message cannot fit, the person is told to start a new thread."""
    turns = [user(0, "task"), answer(1, "ok"), user(2, "y" * 5_000)]
    with pytest.raises(ThreadTooLongError) as caught:
        build(turns, max_prompt_tokens=4_000, reserve=1_000)
    assert "y" not in caught.value.detail  # no message text in errors

    with pytest.raises(ThreadTooLongError):
        build([user(0, "z" * 5_000)], max_prompt_tokens=4_000, reserve=1_000)


def test_handoff_marks_other_agents_answers() -> None:
    """After a handoff the new agent sees the whole thread, with the earlier agent's answers marked."""
    turns = [
        user(0, "Plan the API", "U9"),
        answer(1, "Here is the plan.", agent="architect"),
        user(2, "Implement the plan above.", "U9"),  # the handoff prompt: just a user turn
        answer(3, "Started on it.", agent="backend-builder"),
        user(4, "Go on", "U9"),
    ]
    result = build(turns, agent="backend-builder", instructions="You build backends.")
    contents = [m.content for m in result.messages]

    assert "[answer by NAME]" in contents[0]
    assert "backend-builder" in contents[0]
    assert contents[2] == "[answer by architect]\nHere is the plan."
    assert contents[3] == "<@U9>: Implement the plan above."
    assert contents[4] == "Started on it."  # its own answer is unmarked

    alone = build(turns[:1], agent="architect")
    assert "[answer by" not in alone.messages[0].content


def test_failed_answers_are_left_out_and_cut_answers_marked() -> None:
    """Error placeholders never reach the model; an answer cut by the deadline says so."""
    turns = [
        user(0, "q"),
        answer(1, "", status="failed"),
        answer(2, "partial", status="cut"),
        user(3, "again"),
    ]
    contents = [m.content for m in build(turns).messages]
    assert contents[1:] == [
        "<@U1>: q",
        "partial\n[this answer was cut off before it was finished]",
        "<@U1>: again",
    ]


def test_thousand_turn_thread_is_trimmed_to_the_limit() -> None:
    """A 1,000-turn thread is trimmed to fit with the real estimator (speed: scripts/bench_prompt_fit.py)."""
    turns = thread(1_000, size=2_000)
    result = build(turns, model="gpt-4o", counter=EstimatingCounter())
    assert result.dropped_turns > 0
    assert result.prompt_tokens <= result.limit
    assert not result.exact_count


def test_make_counter_never_downloads(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """With no cached encoding, the estimate is used (tiktoken would download; it must not)."""
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path))
    counter = make_counter()
    assert not counter.exact
    assert isinstance(counter, EstimatingCounter)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", "")  # "" disables tiktoken's cache: it would download
    assert not tiktoken_available()


def _varied_texts() -> list[str]:
    rng = random.Random(7)
    english = "The deployment failed because the Lambda could not reach Redis through the NAT gateway. "
    code = Path(__file__).read_text(encoding="utf-8")
    samples = [
        english * 30,
        code,
        json.dumps({"items": [{"id": str(uuid.UUID(int=rng.getrandbits(128))), "n": i} for i in range(80)]}),
        " ".join(f"{rng.getrandbits(160):040x}" for _ in range(40)),
        base64.b64encode(rng.randbytes(3_000)).decode(),
        " ".join(str(rng.randint(0, 9)) for _ in range(800)),
        "这是一个测试。我们正在部署新的服务，数据库连接失败了。" * 20,
        "Развёртывание не удалось: функция не смогла подключиться к базе. " * 20,
        "🚀🔥✅❌🎉👍" * 60,
        "a\n" * 500,
        "<@U0123ABC>: check <https://example.com/runbook|the runbook> and `kubectl get pods -n prod` :tada:\n"
        * 20,
        "!@#$%^&*()_+-=[]{}|;:,.<>?/~`" * 40,
    ]
    # mixtures of slices, as real messages mix prose, code and pasted output
    for _ in range(300):
        parts = [s[(i := rng.randrange(len(s))) : i + rng.randint(1, 400)] for s in rng.sample(samples, 4)]
        samples.append(rng.choice([" ", "\n", ""]).join(parts))
    return samples


@pytest.fixture(scope="module")
def encodings_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """tiktoken's cache holding the real o200k_base and cl100k_base files (from an installed package)."""
    return seed_cache(tmp_path_factory.mktemp("tiktoken-cache"))


@pytest.fixture
def exact(encodings_dir: Path, monkeypatch: pytest.MonkeyPatch) -> TiktokenCounter:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(encodings_dir))
    monkeypatch.delenv("DATA_GYM_CACHE_DIR", raising=False)

    def no_download(blobpath: str) -> bytes:
        raise AssertionError(f"tiktoken tried to download {blobpath}")

    monkeypatch.setattr("tiktoken.load.read_file", no_download)  # only called on a cache miss
    assert tiktoken_available()
    return TiktokenCounter()


def test_real_encodings_are_used_when_cached(exact: TiktokenCounter) -> None:
    """With the real files in tiktoken's cache, counts are exact and match known tokenizations."""
    assert exact.exact
    assert isinstance(make_counter(), TiktokenCounter)
    # "hello world" is 2 tokens in both encodings; o200k and cl100k split this text differently.
    assert exact.count("hello world", "gpt-4o") == exact.count("hello world", "gpt-4") == 2
    text = "The deployment failed: Lambda couldn't reach Redis 🚀"
    assert exact.count(text, "gpt-4.1") != exact.count(text, "gpt-4")


@pytest.mark.parametrize("model", ["gpt-4.1", "gpt-4o", "gpt-4", "gpt-3.5-turbo"])
def test_estimate_is_never_below_tiktoken(model: str, exact: TiktokenCounter) -> None:
    """The estimate never under-counts (so a trimmed prompt always fits), measured on varied text
    against OpenAI's own tokenizer with the real encoding files."""
    for text in _varied_texts():
        assert estimate_tokens(text) >= exact.count(text, model), text[:80]
