"""Agent files in S3 (``AGENTS_SOURCE=s3://bucket/prefix/``), mirrored into a local folder.

:class:`S3AgentFiles` lists the prefix (one ``ListObjectsV2`` call per 1,000 keys) and reads one
object; only agent files (``*.agent.md``, ``*.chatmode.md``, any depth) and the three settings files
at the prefix's root (``routing.yaml``, ``policy.yaml``, ``model-routes.yaml``) are taken.
:class:`AgentMirror` keeps a local copy: each sync lists once, compares each file's ETag with the
copy in use, downloads only the files that changed, and builds the new version in its own folder
(unchanged files copied locally), so the folder in use never changes under a reader.
:class:`LastGood` keeps the last set the bot accepted as one zip at ``<prefix>.last-good/agents.zip``
(a hidden folder: never read as agent files), so a new container can serve it when the set in S3 is
broken. boto3 honours ``AWS_ENDPOINT_URL_S3`` (LocalStack, MinIO, moto) by itself.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.core.agents import AGENT_SUFFIXES
from bot.errors import ConfigurationError
from bot.logging import get_logger

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

log = get_logger(__name__)

ROOT_FILES = frozenset({"routing.yaml", "policy.yaml", "model-routes.yaml"})
"""Settings files read from the prefix's root, beside the agent files."""


def parse_source(url: str) -> tuple[str, str]:
    """``s3://bucket/prefix/`` -> ``("bucket", "prefix/")`` (the prefix ends with ``/`` or is empty)."""
    if not url.startswith("s3://"):
        raise ConfigurationError(f"AGENTS_SOURCE must be s3://bucket/prefix/ (got {url[:80]!r})")
    bucket, _, prefix = url[len("s3://") :].partition("/")
    if not bucket:
        raise ConfigurationError("AGENTS_SOURCE names no bucket (s3://bucket/prefix/)")
    prefix = prefix.strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def wanted(relative: str) -> bool:
    """True for the files the bot reads: agent files anywhere, settings files at the root."""
    name = relative.rsplit("/", 1)[-1]
    parts = relative.split("/")
    hidden = any(p.startswith(".") and p != ".github" for p in parts[:-1]) or "node_modules" in parts
    return not hidden and (name.lower().endswith(AGENT_SUFFIXES) or relative in ROOT_FILES)


@dataclass
class S3Calls:
    """S3 requests made (for the refresh benchmark and the log line)."""

    lists: int = 0
    gets: int = 0
    puts: int = 0


class S3AgentFiles:
    """The agent files under one S3 prefix."""

    def __init__(self, source: str, *, client: S3Client | None = None, region: str | None = None) -> None:
        self.source = source
        self.bucket, self.prefix = parse_source(source)
        self._client = client or _client(region)
        self.calls = S3Calls()

    def listing(self) -> dict[str, str]:
        """Relative path -> ETag of every wanted file (one list call per page of 1,000 keys)."""
        found: dict[str, str] = {}
        token: str | None = None
        while True:
            extra: dict[str, Any] = {"ContinuationToken": token} if token else {}
            page = self._client.list_objects_v2(Bucket=self.bucket, Prefix=self.prefix, **extra)
            self.calls.lists += 1
            for item in page.get("Contents", []):
                relative = item["Key"][len(self.prefix) :]
                if relative and not relative.endswith("/") and wanted(relative):
                    found[relative] = str(item.get("ETag", "")) + str(item.get("LastModified", ""))
            if not page.get("IsTruncated"):
                return found
            token = page.get("NextContinuationToken")

    def read(self, relative: str) -> bytes:
        """One file's bytes."""
        self.calls.gets += 1
        body = self._client.get_object(Bucket=self.bucket, Key=self.prefix + relative)["Body"]
        return body.read()

    def read_if_there(self, relative: str) -> bytes | None:
        """One file's bytes, or None when there is no such object."""
        try:
            return self.read(relative)
        except self._client.exceptions.NoSuchKey:
            return None

    def write(self, relative: str, body: bytes) -> None:
        """Put one object under the prefix (only ``LAST_GOOD`` is ever written)."""
        self.calls.puts += 1
        self._client.put_object(Bucket=self.bucket, Key=self.prefix + relative, Body=body)


def _client(region: str | None) -> S3Client:
    """An S3 client with short timeouts (honours AWS_ENDPOINT_URL_S3)."""
    import boto3
    from botocore.config import Config

    config = Config(connect_timeout=2, read_timeout=5, retries={"max_attempts": 2, "mode": "standard"})
    return boto3.client("s3", region_name=region, config=config)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """One version of the files, on disk: its folder and each file's ETag."""

    folder: Path
    etags: Mapping[str, str]
    version: int


class AgentMirror:
    """A local copy of the S3 files, one folder per version (the one in use never changes)."""

    def __init__(self, files: S3AgentFiles, root: Path | None = None) -> None:
        self.files = files
        self.root = root or Path(tempfile.mkdtemp(prefix="architect-bot-agents-"))
        self.current: Snapshot | None = None
        self._seen: Mapping[str, str] | None = None  # the newest listing looked at (used or refused)

    def sync(self) -> Snapshot | None:
        """List once; a new version on disk when anything changed since the last look, else None.

        Only changed and new files are downloaded. A version that was looked at and refused is not
        downloaded again until it changes.
        """
        listing = self.files.listing()
        if listing == self._seen:
            return None
        self._seen = listing
        version = (self.current.version + 1) if self.current else 1
        folder = self.root / f"v{version}"
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        old = self.current
        for relative, etag in sorted(listing.items()):
            target = folder / relative
            target.parent.mkdir(parents=True, exist_ok=True)
            if old is not None and old.etags.get(relative) == etag:
                shutil.copyfile(old.folder / relative, target)
            else:
                target.write_bytes(self.files.read(relative))
        return Snapshot(folder=folder, etags=dict(listing), version=version)

    def use(self, snapshot: Snapshot) -> None:
        """``snapshot`` is the version in use now; the folder of the one before is removed."""
        old, self.current = self.current, snapshot
        if old is not None and old.folder != snapshot.folder:
            shutil.rmtree(old.folder, ignore_errors=True)

    def discard(self, snapshot: Snapshot) -> None:
        """A refused version: its folder goes, the version in use stays."""
        if self.current is None or snapshot.folder != self.current.folder:
            shutil.rmtree(snapshot.folder, ignore_errors=True)


LAST_GOOD = ".last-good/agents.zip"
"""Where the last accepted set is kept, relative to the prefix (the role may write only there)."""


class LastGood:
    """The last set of agent files the bot accepted, as one zip object beside them in S3.

    Written when a set is accepted, read only when a new container finds the set in S3 broken.
    S3 rather than Redis or the package: it is shared by every container (a new one knows what the
    warm ones serve), the cold start already talks to S3 (the ack path imports no Redis client),
    and the packaged ``agents/`` may be older than anything the team has synced since.
    """

    def __init__(self, files: S3AgentFiles) -> None:
        self.files = files

    def save(self, folder: Path) -> None:
        """Keep every file in ``folder`` (the accepted set) as the last good set."""
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
            for path in sorted(p for p in folder.rglob("*") if p.is_file()):
                archive.writestr(path.relative_to(folder).as_posix(), path.read_bytes())
        self.files.write(LAST_GOOD, buffer.getvalue())

    def restore(self, folder: Path) -> bool:
        """Unpack the last good set into ``folder``; False when none was ever kept."""
        body = self.files.read_if_there(LAST_GOOD)
        if body is None:
            return False
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            for name in archive.namelist():
                if wanted(name) and not name.startswith("/"):  # never a path out of the folder
                    target = folder / name
                    target.parent.mkdir(parents=True, exist_ok=True)
                    target.write_bytes(archive.read(name))
        return True
