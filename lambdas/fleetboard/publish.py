"""Where a finished board goes: one Publisher interface, a local folder or the S3 bucket.

Write order is the contract (DESIGN §6): the immutable history object first, then
latest.json, then the page's assets, then index.html last, so a reader never finds a page
that points at data that is not there yet. Each file is replaced atomically.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

LATEST = "latest.json"
INDEX = "index.html"
HISTORY_PREFIX = "history/"
#: Small objects a source keeps between passes (the GitHub source's ETags): `state/<name>`.
STATE_PREFIX = "state/"
#: Every key a pass may write besides history/: the collector's role may write these and
#: nothing else (infra/collector.py grants exactly them).
ASSETS = ("board.css", "board.js", "not-found.html")
PUBLISHED_KEYS = (LATEST, INDEX, *ASSETS)


def history_key(generated_at: datetime) -> str:
    """`history/YYYY/MM/DD/HHMMSSZ.json`: sortable, one object per pass, never rewritten."""
    return HISTORY_PREFIX + generated_at.astimezone(UTC).strftime("%Y/%m/%d/%H%M%SZ.json")


@dataclass(frozen=True, slots=True)
class Release:
    """One pass's files, already validated and rendered; nothing left that can fail but I/O."""

    history_key: str
    snapshot: bytes
    page: bytes
    assets: dict[str, bytes]  # board.css, board.js: published beside index.html


class StateStore(Protocol):
    """Where sources keep a little state between passes, beside the board."""

    def load_state(self, name: str) -> bytes | None: ...

    def save_state(self, name: str, data: bytes) -> None: ...


class Publisher(StateStore, Protocol):
    def publish(self, release: Release) -> list[str]:
        """Write the release in order; return the keys written."""
        ...

    def read(self, key: str) -> bytes | None:
        """A previously published object (e.g. latest.json), or None if there is none."""
        ...


def state_key(name: str) -> str:
    if not name.replace("-", "").isalnum():
        raise ValueError(f"state names take letters, digits and '-': {name!r}")
    return f"{STATE_PREFIX}{name}.json"


class LocalPublisher:
    """Publishes into a folder: what `fleetboard collect --out DIR` and the demo use."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def publish(self, release: Release) -> list[str]:
        written = [release.history_key, LATEST]
        self._write(release.history_key, release.snapshot)
        self._write(LATEST, release.snapshot)
        for name, data in sorted(release.assets.items()):
            if self.read(name) != data:  # unchanged assets are not rewritten
                self._write(name, data)
                written.append(name)
        self._write(INDEX, release.page)
        written.append(INDEX)
        return written

    def read(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None

    def load_state(self, name: str) -> bytes | None:
        return self.read(state_key(name))

    def save_state(self, name: str, data: bytes) -> None:
        self._write(state_key(name), data)

    def _write(self, key: str, data: bytes) -> None:
        target = self.root / key
        target.parent.mkdir(parents=True, exist_ok=True)
        # A temporary file in the same folder, then a rename: readers see the old file or
        # the new one, never half of one.
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
            Path(tmp).chmod(0o644)
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


# --------------------------------------------------------------------------- S3

#: What browsers and CloudFront may keep: history never changes; the board changes every
#: pass, so a few seconds at most; the page's assets change only with a deploy.
CACHE_HISTORY = "public, max-age=31536000, immutable"
CACHE_BOARD = "public, max-age=10, must-revalidate"
CACHE_ASSET = "public, max-age=300"

_TYPES = {
    ".json": "application/json",
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
}


def content_type(key: str) -> str:
    return next((t for ext, t in _TYPES.items() if key.endswith(ext)), "application/octet-stream")


class S3Publisher:
    """Publishes into the board bucket: what the scheduled Lambda uses.

    Assets are written once per process (a Lambda container lives for many passes), so a
    warm pass costs three PUTs: history, latest.json, index.html.
    """

    #: Asset name -> bytes this process already wrote, shared by every publisher in it.
    _written_assets: ClassVar[dict[tuple[str, str], bytes]] = {}

    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client

    def publish(self, release: Release) -> list[str]:
        written = [release.history_key, LATEST]
        self._put(release.history_key, release.snapshot, CACHE_HISTORY)
        self._put(LATEST, release.snapshot, CACHE_BOARD)
        for name, data in sorted(release.assets.items()):
            if self._written_assets.get((self.bucket, name)) != data:
                self._put(name, data, CACHE_ASSET)
                self._written_assets[(self.bucket, name)] = data
                written.append(name)
        self._put(INDEX, release.page, CACHE_BOARD)
        written.append(INDEX)
        return written

    def read(self, key: str) -> bytes | None:
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            # Without s3:ListBucket (the role has none), S3 answers a missing key with 403.
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "AccessDenied", "404"):
                return None
            raise
        body: bytes = response["Body"].read()
        return body

    def load_state(self, name: str) -> bytes | None:
        return self.read(state_key(name))

    def save_state(self, name: str, data: bytes) -> None:
        self._put(state_key(name), data, "no-store")

    def _put(self, key: str, data: bytes, cache_control: str) -> None:
        self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type(key),
            CacheControl=cache_control,
        )
