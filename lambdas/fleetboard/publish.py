"""Where a finished board goes: one Publisher interface, a local folder or the S3 bucket.

Write order is the contract (docs/design.md#publishing): the immutable history objects first
(the pass's snapshot, then its events), then latest.json and the feed made from it, then
the page's assets, then index.html last, so a reader never finds a
page that points at data that is not there yet, and the page lags its snapshot by at most
one write. A board is whole or not at all: the local folder first stages every file of a
pass as a temporary file (`.fleetboard-tmp-*`) and renames them into place only once all of
them are written, so a full disk publishes nothing; S3 writes each object atomically, in
order, and stops at the first failure. A publish that stops part-way raises PublishError,
which names exactly the keys written and the keys not.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import logging
import os
import tempfile
import time
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, ClassVar, Protocol

from fleetboard.state import (
    CHANGED,
    CREATED,
    DELETED,
    LOCKED,
    RACED,
    UNREAD,
    StateConflict,
    StateStore,
    Unread,
    Versions,
    refusal,
)

log = logging.getLogger("fleetboard")

LATEST = "latest.json"
INDEX = "index.html"
#: A few bytes saying which pass is published (`snapshot.version`): what the page polls to
#: learn whether to reload, so a browser never downloads a large fleet's latest.json (MBs)
#: just to find it unchanged. Written last, so the pass it names is all there.
VERSION = "version.json"
#: The 90 days of each environment and its uptime, beside the page (render.render_history).
HISTORY_PAGE = "history.html"
#: The Atom feed of the last day's changes, beside the page (feed.py).
FEED = "feed.xml"
HISTORY_PREFIX = "history/"
#: The events log: one object per pass that saw a change, `YYYY/MM/DD/HHMMSSZ.json` under it.
EVENTS_PREFIX = HISTORY_PREFIX + "events/"
#: Small objects the board keeps between passes (its timeline, the wallets' trails, the
#: GitHub source's ETags): `state/<name>.json`, each written only over the one its pass read.
STATE_PREFIX = "state/"
#: How long a folder's state write waits for another pass's check-and-rename (milliseconds
#: each) before it gives up and calls it a conflict.
STATE_LOCK_WAIT_S = 5.0
#: Every key a pass may write besides history/: the collector's role may write these and
#: nothing else (infra/collector.py grants exactly them).
ASSETS = ("board.css", "board.js", "not-found.html")
PUBLISHED_KEYS = (LATEST, INDEX, FEED, HISTORY_PAGE, VERSION, *ASSETS)
#: Every temporary file a LocalPublisher makes starts with this and lives in the board's
#: folder, so a dead pass's leftovers are told from the board and removed.
TEMP_PREFIX = ".fleetboard-tmp-"
#: A temporary file older than this belongs to a pass that died (a pass stages and renames
#: its files in well under a second); a younger one may be a concurrent pass's, and stays.
STALE_TEMP_S = 300.0


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
    #: The figures of the UTC days this pass closed (`history/days/YYYY-MM-DD.json`).
    rollups: dict[str, bytes] = field(default_factory=dict)
    #: This pass's changes (`events_key`), only when it saw any: key -> the events object.
    events: dict[str, bytes] = field(default_factory=dict)
    #: The Atom feed (FEED); None: a release without one (tools that write only a board).
    feed: bytes | None = None
    #: The history page (HISTORY_PAGE); None: a release without one, like the feed.
    history_page: bytes | None = None
    #: The pass's version object (VERSION); None: a release without one, like the feed.
    version: bytes | None = None


def rollup_key(day: datetime) -> str:
    """`history/days/YYYY-MM-DD.json`: one small object per closed UTC day."""
    return HISTORY_PREFIX + day.astimezone(UTC).strftime("days/%Y-%m-%d.json")


def events_key(generated_at: datetime) -> str:
    """`history/events/YYYY/MM/DD/HHMMSSZ.json`: the changes of the pass at `generated_at`,
    beside its history object; a tool reads a day by listing its prefix."""
    return EVENTS_PREFIX + generated_at.astimezone(UTC).strftime("%Y/%m/%d/%H%M%SZ.json")


def ordered(release: Release) -> list[tuple[str, bytes]]:
    """The release's files in the contract's order: the closed days' rollups, history and
    the pass's events, latest and the feed made from it, assets, pages, the version."""
    return [
        *sorted(release.rollups.items()),
        (release.history_key, release.snapshot),
        # After its history object: an events object never names a pass that is not there.
        *sorted(release.events.items()),
        (LATEST, release.snapshot),
        *([(FEED, release.feed)] if release.feed is not None else []),
        *sorted(release.assets.items()),
        # Like the page, after the data and assets it points at; before it, as it links it.
        *([(HISTORY_PAGE, release.history_page)] if release.history_page is not None else []),
        (INDEX, release.page),
        # Last: a page that sees this version and reloads finds the pass's files in place.
        *([(VERSION, release.version)] if release.version is not None else []),
    ]


class PublishError(Exception):
    """A publish that stopped part-way, and exactly where.

    `written` are the keys now holding this pass's data (in order); `unwritten` the keys
    of the release that still hold the previous pass's (or nothing).
    """

    def __init__(self, written: Sequence[str], unwritten: Sequence[str], cause: str) -> None:
        self.written = list(written)
        self.unwritten = list(unwritten)
        self.cause = cause
        super().__init__(self.describe())

    def describe(self) -> str:
        if not self.written:
            return f"{self.cause}; nothing was published, the last good board stays"
        return (
            f"{self.cause}; published only {', '.join(self.written)}; "
            f"not published: {', '.join(self.unwritten)}"
        )


def _cause(exc: BaseException) -> str:
    """An OSError as a person reads it, without the temporary file's path:
    "No space left on device (ENOSPC)"."""
    if isinstance(exc, OSError) and exc.errno is not None:
        name = errno.errorcode.get(exc.errno, str(exc.errno))
        return f"{exc.strerror or os.strerror(exc.errno)} ({name})"
    return type(exc).__name__


class Publisher(StateStore, Protocol):
    def publish(self, release: Release) -> list[str]:
        """Write the release in order; return the keys written. A failure part-way raises
        PublishError saying which keys were written and which were not."""
        ...

    def read(self, key: str) -> bytes | None:
        """A previously published object (e.g. latest.json), or None if there is none."""
        ...


def state_key(name: str) -> str:
    if not name.replace("-", "").isalnum():
        raise ValueError(f"state names take letters, digits and '-': {name!r}")
    return f"{STATE_PREFIX}{name}.json"


class _StateReads(ABC):
    """load_state, the same for both publishers: each says how it gets an object and its
    version (`_get`); the version read is what that name's save_state must find there."""

    _versions: Versions

    @abstractmethod
    def _get(self, key: str) -> tuple[bytes, str | None] | None:
        """The object and its version, or None if there is none."""

    def load_state(self, name: str) -> bytes | None:
        """The object, remembering its version (a file's SHA-256, S3's ETag) or its absence
        for save_state."""
        try:
            found = self._get(state_key(name))
        except BaseException:
            self._versions.lost(name)
            raise
        if found is None:
            self._versions.saw(name, None)
            return None
        data, version = found
        if version is None:  # S3 always sends an ETag; without one, no write can be conditional
            self._versions.lost(name)
        else:
            self._versions.saw(name, version)
        return data


class LocalPublisher(_StateReads):
    """Publishes into a folder: what `fleetboard collect --out DIR` and the demo use.

    Every file of a pass is first staged as a temporary file in the folder itself (the same
    file system, so a rename is atomic), written and synced; only when all are staged are
    they renamed into place, in the contract's order. A write that fails (a full disk)
    deletes what was staged and publishes nothing.
    """

    def __init__(self, root: str | Path, *, stale_temp_s: float = STALE_TEMP_S) -> None:
        self.root = Path(root)
        self.stale_temp_s = stale_temp_s
        self._versions = Versions()  # what load_state read: the state writes' condition

    def publish(self, release: Release) -> list[str]:
        plan = ordered(release)
        try:
            self.sweep()
            # Unchanged assets are not rewritten: fewer writes, fewer ways to fail.
            plan = [(k, d) for k, d in plan if k not in ASSETS or self.read(k) != d]
            staged = self._stage_all(plan)
        except OSError as exc:
            raise PublishError([], [k for k, _ in plan], _cause(exc)) from exc
        return self._rename_in_order(staged)

    def read(self, key: str) -> bytes | None:
        try:
            return (self.root / key).read_bytes()
        except FileNotFoundError:
            return None

    def _get(self, key: str) -> tuple[bytes, str | None] | None:
        """The file and its SHA-256, or None if there is none."""
        data = self.read(key)
        return None if data is None else (data, _digest(data))

    def save_state(self, name: str, data: bytes) -> None:
        """One file, staged like the board's, and renamed into place only if the file there
        is still the one load_state read (absent if it read none): checked and renamed under
        an exclusive lock on the state folder, so no other pass's write lands in between.
        Otherwise StateConflict, and nothing is written. A failure raises the OSError."""
        key = state_key(name)
        [(_, tmp)] = self._stage_all([(key, data)])
        try:
            with _locked(self.root / STATE_PREFIX, key):
                why = refusal(self._versions.expected(name), _digest(self.read(key)))
                if why is not None:
                    raise StateConflict(key, why)
                tmp.replace(self.root / key)
        except BaseException:
            _discard([tmp])
            raise
        self._versions.saw(name, _digest(data))

    def sweep(self) -> list[str]:
        """Delete the temporary files of passes that died mid-write; return their names.

        Only files older than `stale_temp_s`: a younger one may be a concurrent pass's
        (the demo serving while an operator collects into the same folder).
        """
        if not self.root.is_dir():
            return []
        cutoff = time.time() - self.stale_temp_s
        removed = []
        for path in self.root.glob(f"{TEMP_PREFIX}*"):
            with contextlib.suppress(OSError):  # gone already, or not ours to delete
                if path.is_file() and path.stat().st_mtime < cutoff:
                    path.unlink()
                    removed.append(path.name)
        if removed:
            log.warning("removed %d temporary files of an earlier pass that died", len(removed))
        return removed

    def _stage_all(self, plan: list[tuple[str, bytes]]) -> list[tuple[str, Path]]:
        """Every file written, synced and ready to rename; on any failure, none left."""
        staged: list[tuple[str, Path]] = []
        try:
            for key, data in plan:
                (self.root / key).parent.mkdir(parents=True, exist_ok=True)
                staged.append((key, self._stage(data)))
        except BaseException:
            _discard(tmp for _, tmp in staged)
            raise
        return staged

    def _stage(self, data: bytes) -> Path:
        fd, name = tempfile.mkstemp(dir=self.root, prefix=TEMP_PREFIX)
        tmp = Path(name)
        try:
            view = memoryview(data)
            while view:  # os.write may write less than it was given
                view = view[os.write(fd, view) :]
            os.fchmod(fd, 0o644)
            # Synced before the rename: after a crash the key holds the old data or the
            # new, never an empty file whose rename reached the disk before its data.
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        os.close(fd)
        return tmp

    def _rename_in_order(self, staged: list[tuple[str, Path]]) -> list[str]:
        written: list[str] = []
        for i, (key, tmp) in enumerate(staged):
            try:
                tmp.replace(self.root / key)
            except OSError as exc:
                rest = staged[i:]
                _discard(t for _, t in rest)
                raise PublishError(written, [k for k, _ in rest], _cause(exc)) from exc
            written.append(key)
        return written


def _discard(paths: Iterable[Path]) -> None:
    for path in paths:
        with contextlib.suppress(OSError):  # best effort: the next pass's sweep retries
            path.unlink(missing_ok=True)


def _digest(data: bytes | None) -> str | None:
    """A state file's version: its SHA-256, like an ETag a hash of the bytes; None: no file."""
    return None if data is None else "sha256:" + hashlib.sha256(data).hexdigest()


@contextlib.contextmanager
def _locked(folder: Path, key: str) -> Iterator[None]:
    """An exclusive lock on `folder` itself (flock on the directory: no lock file left in
    it), held by every LocalPublisher's state write there, in any process. A holder that
    dies releases it with its descriptor; one that holds it past STATE_LOCK_WAIT_S is
    another pass writing, and this write is its conflict."""
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        give_up_at = time.monotonic() + STATE_LOCK_WAIT_S
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= give_up_at:
                    raise StateConflict(key, LOCKED) from None
                time.sleep(0.01)
        yield
    finally:
        os.close(fd)  # and with it the lock


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
    # The one XML file: its own type, so feed readers and browsers know it for a feed.
    FEED: "application/atom+xml; charset=utf-8",
}


def content_type(key: str) -> str:
    return next((t for ext, t in _TYPES.items() if key.endswith(ext)), "application/octet-stream")


def cache_control(key: str) -> str:
    if key.startswith(HISTORY_PREFIX):
        return CACHE_HISTORY
    return CACHE_ASSET if key in ASSETS else CACHE_BOARD


def _s3_cause(key: str, exc: BaseException) -> str:
    """ "PutObject index.html: AccessDenied": the error's code (or type), never its message,
    which may quote the request's URL."""
    response = getattr(exc, "response", None)
    code = response.get("Error", {}).get("Code") if isinstance(response, dict) else None
    return f"PutObject {key}: {code or type(exc).__name__}"


#: The board bucket's client: a PUT is tried three times, each connecting within 3 s and
#: answering within 10 s. Objects are small (a page is ~100 KB), so a healthy S3 answers in
#: well under a second.
S3_CONNECT_TIMEOUT_S = 3.0
S3_READ_TIMEOUT_S = 10.0
S3_ATTEMPTS = 3


def s3_client() -> Any:
    """The client S3Publisher is given on Lambda: one per container."""
    import boto3
    from botocore.config import Config

    config = Config(
        retries={"mode": "standard", "max_attempts": S3_ATTEMPTS},
        connect_timeout=S3_CONNECT_TIMEOUT_S,
        read_timeout=S3_READ_TIMEOUT_S,
    )
    return boto3.client("s3", config=config)


class S3Publisher(_StateReads):
    """Publishes into the board bucket: what the scheduled Lambda uses.

    Assets are written once per process (a Lambda container lives for many passes), so a
    warm pass costs six PUTs: history, latest.json, feed.xml, history.html, index.html,
    version.json (and one more for its events when it saw a change).
    """

    #: Asset name -> bytes this process already wrote, shared by every publisher in it.
    _written_assets: ClassVar[dict[tuple[str, str], bytes]] = {}

    def __init__(self, bucket: str, client: Any) -> None:
        self.bucket = bucket
        self.client = client
        self._versions = Versions()  # the ETags load_state read: the state PUTs' condition

    def publish(self, release: Release) -> list[str]:
        """Put each object in the contract's order. The first failure stops the rest (a page
        is never put after its snapshot failed) and is raised as PublishError."""
        plan = [
            (key, data)
            for key, data in ordered(release)
            if key not in ASSETS or self._written_assets.get((self.bucket, key)) != data
        ]
        written: list[str] = []
        for i, (key, data) in enumerate(plan):
            try:
                self._put(key, data, cache_control(key))
            except Exception as exc:  # botocore's errors and anything else: say where
                raise PublishError(written, [k for k, _ in plan[i:]], _s3_cause(key, exc)) from exc
            if key in ASSETS:
                self._written_assets[(self.bucket, key)] = data
            written.append(key)
        return written

    def read(self, key: str) -> bytes | None:
        found = self._get(key)
        return None if found is None else found[0]

    def save_state(self, name: str, data: bytes) -> None:
        """A conditional PUT: `If-Match` the ETag load_state read, or `If-None-Match: *` if
        it found none. S3 refusing it (412 PreconditionFailed; 409 ConditionalRequestConflict
        when another write of the key is under way; 404 NoSuchKey when the object was deleted)
        is StateConflict, and nothing is written. Any other failure raises botocore's error.

        A PUT that landed but whose answer was lost is retried by botocore and then finds its
        own write: a conflict is said, and the state there is this pass's all the same."""
        from botocore.exceptions import ClientError

        key = state_key(name)
        expected = self._versions.expected(name)
        if expected is Unread.FAILED:
            raise StateConflict(key, UNREAD)
        condition = {"IfNoneMatch": "*"} if expected is None else {"IfMatch": expected}
        try:
            response = self._put(key, data, "no-store", **condition)
        except ClientError as exc:
            why = _refused(exc, expected)
            if why is None:
                raise
            raise StateConflict(key, why) from exc
        etag = response.get("ETag") if isinstance(response, dict) else None
        if isinstance(etag, str):
            self._versions.saw(name, etag)
        else:  # written, but which version is there now is unknown
            self._versions.lost(name)

    def _get(self, key: str) -> tuple[bytes, str | None] | None:
        """The object and its ETag, or None if there is none."""
        from botocore.exceptions import ClientError

        try:
            response = self.client.get_object(Bucket=self.bucket, Key=key)
        except ClientError as exc:
            # Without s3:ListBucket (the role has none), S3 answers a missing key with 403.
            if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "AccessDenied", "404"):
                return None
            raise
        body: bytes = response["Body"].read()
        etag = response.get("ETag")
        return body, etag if isinstance(etag, str) else None

    def _put(self, key: str, data: bytes, cache_control: str, **condition: str) -> Any:
        return self.client.put_object(
            Bucket=self.bucket,
            Key=key,
            Body=data,
            ContentType=content_type(key),
            CacheControl=cache_control,
            **condition,
        )


def _refused(exc: Any, expected: str | None) -> str | None:
    """Why S3 refused a conditional state PUT, or None when it failed for another reason."""
    response = exc.response if isinstance(exc.response, dict) else {}
    code = response.get("Error", {}).get("Code")
    status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    if code == "PreconditionFailed" or status == 412:  # an object, not the one read
        return CREATED if expected is None else CHANGED
    if code == "ConditionalRequestConflict" or status == 409:
        return RACED
    if code == "NoSuchKey" and expected is not None:  # If-Match on a key now gone
        return DELETED
    return None
