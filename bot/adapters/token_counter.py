"""Token counters for fitting the prompt into the model's window.

Two implementations of :class:`bot.core.ports.TokenCounter`:

- :class:`TiktokenCounter` (``exact=True``): OpenAI's own tokenizer. ``tiktoken`` downloads its
  encoding file on first use, which must never happen here (no internet; on Lambda it would cost the
  cold start). So it is only used when the file is *already* in ``TIKTOKEN_CACHE_DIR``, checked with
  the same cache key tiktoken uses (``sha1`` of the blob URL) and the file's published sha256,
  without calling anything that could download.
- :class:`EstimatingCounter` (``exact=False``): a conservative over-estimate with no data file.

Why not ``bytes / 3``: measured against the exact o200k/cl100k encodings, English prose is about
6 bytes per token, but JSON is 2.15, UUIDs 1.57, hex hashes 1.74, base64 1.4, spaced digits 1.0 and
``"a\\n" * n`` 1.0 bytes per token: ``bytes / 3`` under-counts those by up to 3x, which would
overflow a 128k window. The estimate below splits text into runs the way tiktoken's pre-tokenizer
does (letters, digits, whitespace, punctuation, other scripts) and charges each run a bound that
held on every sample measured (``tests/test_prompt_fit.py`` re-checks it against tiktoken with the real
encoding files on every run; 0 under-counts in 4,000 mixed texts and 20,000 short random strings).
The price: it over-counts English by about 1.7x, code about 2x, JSON/ids about 1.4x (a realistic
200-turn thread: 1.65x, see ``scripts/bench_prompt_fit.py``). Known blind spot: long lowercase
gibberish ("qxzvkw...") and random Cyrillic strings are under-counted; they are rare in chat and
mixed with prose.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bot.core.ports import TokenCounter
from bot.logging import get_logger

log = get_logger(__name__)

# --------------------------------------------------------------------------------------- estimate

# One alternative per kind of run, in tiktoken's spirit: a single leading space is merged into the
# following run (" word" is one token), so it costs nothing on its own.
_RUNS = re.compile(
    r"(?P<alnum>[A-Za-z0-9]+)"
    r"|(?P<ws>\s+)"
    r"|(?P<punct>[!-/:-@\[-`{-~]+)"
    r"|(?P<other>[^\sA-Za-z0-9!-/:-@\[-`{-~]+)"
)
_VOWELS = frozenset("aeiouyAEIOUY")


def _alnum_cost(run: str) -> float:
    length = len(run)
    if run.isdigit():
        return math.ceil(length / 3)  # tiktoken groups digits by 1-3; each group is one token
    if run.isalpha():
        lower_or_title = run.islower() or (run[0].isupper() and (length == 1 or run[1:].islower()))
        if lower_or_title:
            vowels = sum(1 for ch in run if ch in _VOWELS)
            if length < 6 or (length <= 15 and 0.2 <= vowels / length <= 0.75):
                return max(1.0, 0.3 + 0.25 * length)  # word-like
        elif run.isupper() and length <= 5:
            return 1.5  # acronyms: API, HTTP
    # identifiers, hex, base64, random-looking strings: measured worst case 0.84 tokens per char
    return max(1.0, 0.9 * length)


def _other_cost(run: str) -> float:
    cost = 0.0
    for ch in run:
        code = ord(ch)
        if 0xC0 <= code < 0x180 or 0x391 <= code < 0x3CA or 0x400 <= code < 0x460:
            cost += 0.6  # accented Latin, basic Greek and Cyrillic letters: at most ~0.5 per char
        elif 0x3040 <= code < 0xA000 or 0xAC00 <= code < 0xD7B0:  # kana, CJK, Hangul
            cost += 1.0
        else:  # anything else (emoji, rare scripts): a token is at least one byte
            cost += len(ch.encode("utf-8"))
    return cost


def estimate_tokens(text: str) -> int:
    """A conservative over-estimate of the tokens in ``text`` for OpenAI's BPE encodings."""
    if not text:
        return 0
    cost = 0.0
    for match in _RUNS.finditer(text):
        kind = match.lastgroup
        run = match.group()
        if kind == "alnum":
            cost += _alnum_cost(run)
        elif kind == "ws":
            # a lone space joins the next run, except before digits (" 4" is two tokens)
            if run.strip(" \t\n") or run == "\r":  # rare whitespace (\v, \r, NBSP...): one each
                cost += len(run)
            elif run != " " or text[match.end() : match.end() + 1].isdigit():
                cost += max(1, math.ceil(len(run) / 4))
        elif kind == "punct":
            cost += 1 + 0.75 * (len(run) - 1)
        else:
            cost += _other_cost(run)
    return math.ceil(cost * 1.05) + 2


@dataclass
class EstimatingCounter:
    """Conservative estimate; never downloads anything."""

    exact: bool = field(default=False, init=False)

    def count(self, text: str, model: str) -> int:
        """Estimated tokens in ``text`` (``model`` is ignored: the bound covers o200k and cl100k)."""
        del model
        return estimate_tokens(text)


# --------------------------------------------------------------------------------------- tiktoken

_BLOB = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"
# Published sha256 of the encoding files (tiktoken_ext/openai_public.py).
ENCODING_SHA256 = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}


def encoding_name_for(model: str) -> str:
    """The encoding of an OpenAI model: o200k_base for current models, cl100k_base for GPT-4/3.5."""
    name = model.removeprefix("ft:").lower()
    if name.startswith(("gpt-4-", "gpt-3.5", "gpt-35")) or name == "gpt-4":
        return "cl100k_base"
    return "o200k_base"


def tiktoken_cache_dir() -> Path | None:
    """The directory tiktoken reads its cache from (same rules as ``tiktoken.load``), or None."""
    for var in ("TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR"):
        if var in os.environ:
            value = os.environ[var]
            return Path(value) if value else None  # "" disables tiktoken's cache: it would download
    return Path(tempfile.gettempdir()) / "data-gym-cache"


def cache_file_name(encoding: str) -> str:
    """The name tiktoken gives ``encoding``'s file in its cache: the sha1 of the blob URL."""
    return hashlib.sha1(_BLOB.format(name=encoding).encode(), usedforsecurity=False).hexdigest()


def cached_encoding_path(encoding: str) -> Path | None:
    """The local file tiktoken would read for ``encoding``, if present and intact; else None."""
    directory = tiktoken_cache_dir()
    expected = ENCODING_SHA256.get(encoding)
    if directory is None or expected is None:
        return None
    path = directory / cache_file_name(encoding)
    try:
        data = path.read_bytes()
    except OSError:
        return None
    # tiktoken deletes a cached file whose hash is wrong and downloads it again: check first.
    return path if hashlib.sha256(data).hexdigest() == expected else None


def tiktoken_available(encodings: tuple[str, ...] = ("o200k_base", "cl100k_base")) -> bool:
    """True when tiktoken is installed and every encoding in ``encodings`` is cached locally."""
    if not all(cached_encoding_path(name) is not None for name in encodings):
        return False  # without importing tiktoken: the import alone costs a cold start tens of ms
    try:
        import tiktoken  # noqa: F401 - optional dependency
    except ImportError:
        return False
    return True


class TiktokenCounter:
    """Exact counts with tiktoken. Construct only when :func:`tiktoken_available` is True."""

    exact: bool = True

    def __init__(self) -> None:
        if not tiktoken_available():
            raise RuntimeError("tiktoken encodings are not cached locally; refusing to download them")
        self._encodings: dict[str, Any] = {}

    def _encoding(self, name: str) -> Any:
        encoding = self._encodings.get(name)
        if encoding is None:
            import tiktoken

            encoding = tiktoken.get_encoding(name)
            self._encodings[name] = encoding
        return encoding

    def count(self, text: str, model: str) -> int:
        """Exact tokens in ``text`` for ``model`` (special-token text counted as plain text)."""
        return len(self._encoding(encoding_name_for(model)).encode(text, disallowed_special=()))


def make_counter() -> TokenCounter:
    """tiktoken when its encodings are already cached locally, else the conservative estimate."""
    if tiktoken_available():
        log.info("token_counter", kind="tiktoken", exact=True)
        return TiktokenCounter()
    log.info("token_counter", kind="estimate", exact=False, reason="tiktoken encodings not cached locally")
    return EstimatingCounter()
