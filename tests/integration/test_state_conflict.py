"""Two passes must not interleave their state (issue 13): a pass writes `state/<name>.json`
only over the object it read at its start (or only where there was none), so of two passes
that read the same state the first to write wins and the second's write is refused, never
mixed in; the second's board stays published and the next pass reads the winner's state.

Against the real stores: the moto server over HTTP, whose PutObject honours `If-Match` and
`If-None-Match` as S3 does (412 PreconditionFailed; 404 NoSuchKey for `If-Match` on a key
deleted since), and a real folder, whose check and rename run under a lock on the folder.
Each "pass" is a store of its own, as two Lambda containers or two processes would be.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.integration.fixtures.aws import moto_client
from tests.integration.fixtures.fleet_toml import one_env_fleet_toml
from tests.integration.fixtures.offline import Answers

from fleetboard import collect, config, handler, publish
from fleetboard.demo.aws_world import reset_moto
from fleetboard.demo.hosts import refused_port
from fleetboard.memory import Timeline, saved
from fleetboard.memory import wallets as wallet_memory
from fleetboard.publish import (
    LATEST,
    TEMP_PREFIX,
    LocalPublisher,
    Publisher,
    Release,
    S3Publisher,
    state_key,
)
from fleetboard.rules.runway import Began, Sample, Trail, trail_key
from fleetboard.state import (
    CHANGED,
    CREATED,
    DELETED,
    LOCKED,
    UNREAD,
    StateConflict,
    Unread,
    Versions,
    refusal,
)

NAME = "timeline"
KEY = state_key(NAME)  # state/timeline.json
NOW = datetime(2026, 12, 4, 3, 0, tzinfo=UTC)
BUCKET = "fleetboard-state-conflict"


@dataclass
class Place:
    """Where the state lives, and a view of it around every pass's store."""

    kind: str
    new: Callable[[], Publisher]  # a new pass's store: another container, another process
    raw: Callable[[str], bytes | None]
    put: Callable[[str, bytes], None]  # a plain write, by no pass
    delete: Callable[[str], None]


def s3_place(endpoint: str) -> Place:
    reset_moto(endpoint)
    client = moto_client("s3", endpoint)
    client.create_bucket(Bucket=BUCKET)
    S3Publisher._written_assets.clear()  # a new container

    def raw(key: str) -> bytes | None:
        try:
            body: bytes = client.get_object(Bucket=BUCKET, Key=key)["Body"].read()
        except client.exceptions.NoSuchKey:
            return None
        return body

    return Place(
        kind="s3",
        new=lambda: S3Publisher(BUCKET, moto_client("s3", endpoint)),
        raw=raw,
        put=lambda key, data: client.put_object(Bucket=BUCKET, Key=key, Body=data),
        delete=lambda key: client.delete_object(Bucket=BUCKET, Key=key),
    )


def folder_place(root: Path) -> Place:
    def raw(key: str) -> bytes | None:
        path = root / key
        return path.read_bytes() if path.exists() else None

    def put(key: str, data: bytes) -> None:
        (root / key).parent.mkdir(parents=True, exist_ok=True)
        (root / key).write_bytes(data)

    return Place(
        kind="folder",
        new=lambda: LocalPublisher(root),
        raw=raw,
        put=put,
        delete=lambda key: (root / key).unlink(),
    )


@pytest.fixture(params=["s3", "folder"])
def place(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Place]:
    if request.param == "s3":
        yield s3_place(request.getfixturevalue("moto_server"))
        S3Publisher._written_assets.clear()
    else:
        root = tmp_path / "board"
        yield folder_place(root)
        assert not list(root.glob(f"{TEMP_PREFIX}*"))  # a refused write leaves nothing


# --------------------------------------------------------------------------- the stores


@pytest.mark.parametrize("before", [None, b'{"pass": 0}'], ids=["none-yet", "one-saved"])
def test_of_two_passes_that_read_the_same_state_the_second_writer_is_refused(
    place: Place, before: bytes | None
) -> None:
    if before is not None:
        place.put(KEY, before)
    first, second = place.new(), place.new()
    assert first.load_state(NAME) == before
    assert second.load_state(NAME) == before
    first.save_state(NAME, b'{"pass": 1}')
    with pytest.raises(StateConflict) as refused:
        second.save_state(NAME, b'{"pass": 2}')
    assert refused.value.key == KEY
    assert refused.value.why == (CREATED if before is None else CHANGED)
    assert str(refused.value) == f"{KEY} {refused.value.why}"
    assert place.raw(KEY) == b'{"pass": 1}'  # the first's state stays, nothing mixed in
    # The next pass reads the winner's state and writes over it.
    third = place.new()
    assert third.load_state(NAME) == b'{"pass": 1}'
    third.save_state(NAME, b'{"pass": 3}')
    assert place.raw(KEY) == b'{"pass": 3}'


def test_a_pass_with_no_conflict_writes_and_may_write_again_over_its_own_write(
    place: Place,
) -> None:
    store = place.new()
    assert store.load_state(NAME) is None
    store.save_state(NAME, b"one")
    store.save_state(NAME, b"two")  # over its own write: no conflict
    assert place.raw(KEY) == b"two"
    # The same store's next pass (a warm container) reads afresh and writes over that.
    assert store.load_state(NAME) == b"two"
    store.save_state(NAME, b"three")
    assert place.raw(KEY) == b"three"


def test_a_name_the_store_never_read_is_written_only_where_there_is_none(place: Place) -> None:
    place.new().save_state("github", b"{}")  # nothing there: written
    assert place.raw(state_key("github")) == b"{}"
    with pytest.raises(StateConflict) as refused:
        place.new().save_state("github", b'{"blind": true}')
    assert refused.value.why == CREATED
    assert place.raw(state_key("github")) == b"{}"


def test_state_deleted_between_load_and_save_is_not_written_back(place: Place) -> None:
    """Someone deleted it (an operator resetting the memory, another pass's cleanup): that
    is a change like any other, so this pass's write is refused; the next pass finds none,
    rebuilds as for a lost object and writes it afresh."""
    place.put(KEY, b"before")
    store = place.new()
    assert store.load_state(NAME) == b"before"
    place.delete(KEY)
    with pytest.raises(StateConflict) as refused:
        store.save_state(NAME, b"after")
    assert refused.value.why == DELETED
    assert place.raw(KEY) is None
    following = place.new()
    assert following.load_state(NAME) is None
    following.save_state(NAME, b"afresh")
    assert place.raw(KEY) == b"afresh"


def test_s3_state_puts_carry_their_condition_on_the_wire(moto_server: str) -> None:
    place = s3_place(moto_server)
    store = place.new()
    assert isinstance(store, S3Publisher)
    sent: list[dict[str, str]] = []

    def record(request: Any, **_: Any) -> None:
        headers = request.headers
        sent.append({h: headers[h].decode() for h in ("If-Match", "If-None-Match") if h in headers})

    store.client.meta.events.register("before-send.s3.PutObject", record)
    store.load_state(NAME)
    store.save_state(NAME, b"one")
    etag = store.client.get_object(Bucket=BUCKET, Key=KEY)["ETag"]
    assert store.load_state(NAME) == b"one"
    store.save_state(NAME, b"two")
    assert sent == [{"If-None-Match": "*"}, {"If-Match": etag}]


def test_an_s3_pass_whose_read_failed_does_not_overwrite_the_state(moto_server: str) -> None:
    place = s3_place(moto_server)
    place.put(KEY, b"kept")
    dead = moto_client(
        "s3", f"http://127.0.0.1:{refused_port()}", retries={"max_attempts": 1}, connect_timeout=2
    )
    store = S3Publisher(BUCKET, dead)
    with pytest.raises(Exception, match="Could not connect"):
        store.load_state(NAME)  # S3 unreachable at the start of the pass
    store.client = moto_client("s3", moto_server)  # and reachable again by its end
    with pytest.raises(StateConflict) as refused:
        store.save_state(NAME, b"rebuilt from less")
    assert refused.value.why == UNREAD
    assert place.raw(KEY) == b"kept"


def test_a_folder_pass_whose_read_failed_does_not_overwrite_the_state(tmp_path: Path) -> None:
    place = folder_place(tmp_path)
    (tmp_path / KEY).mkdir(parents=True)  # a read of it fails (IsADirectoryError)
    store = place.new()
    with pytest.raises(IsADirectoryError):
        store.load_state(NAME)
    (tmp_path / KEY).rmdir()
    place.put(KEY, b"kept")
    with pytest.raises(StateConflict) as refused:
        store.save_state(NAME, b"rebuilt from less")
    assert refused.value.why == UNREAD
    assert place.raw(KEY) == b"kept"
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_of_many_folder_passes_writing_at_once_exactly_one_wins(tmp_path: Path) -> None:
    """The check and the rename are one step under the folder's lock: writers released
    together (each its own store, its own descriptor) cannot both find the state unchanged."""
    place = folder_place(tmp_path)
    place.put(KEY, b"before")
    stores = [place.new() for _ in range(8)]
    for store in stores:
        assert store.load_state(NAME) == b"before"
    start = threading.Barrier(len(stores))
    won: list[bytes] = []
    refused: list[str] = []

    def write(i: int) -> None:
        data = f'{{"pass": {i}}}'.encode()
        start.wait()
        try:
            stores[i].save_state(NAME, data)
        except StateConflict as conflict:
            refused.append(conflict.why)
        else:
            won.append(data)

    threads = [threading.Thread(target=write, args=(i,)) for i in range(len(stores))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(won) == 1 and refused == [CHANGED] * (len(stores) - 1)
    assert place.raw(KEY) == won[0]
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


def test_a_folder_write_that_cannot_get_the_lock_is_a_conflict_not_a_wait_forever(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    place = folder_place(tmp_path)
    place.put(KEY, b"theirs")
    store = place.new()
    assert store.load_state(NAME) == b"theirs"
    monkeypatch.setattr(publish, "STATE_LOCK_WAIT_S", 0.2)
    holder = os.open(tmp_path / "state", os.O_RDONLY)  # another pass, mid-write
    try:
        fcntl.flock(holder, fcntl.LOCK_EX)
        with pytest.raises(StateConflict) as refused:
            store.save_state(NAME, b"mine")
    finally:
        os.close(holder)
    assert refused.value.why == LOCKED
    assert place.raw(KEY) == b"theirs"
    store.save_state(NAME, b"mine")  # the lock released: unchanged since read, written
    assert place.raw(KEY) == b"mine"
    assert not list(tmp_path.glob(f"{TEMP_PREFIX}*"))


# --------------------------------------------------------------------------- the memory


def test_the_memory_says_a_conflict_names_the_object_and_never_raises(
    place: Place, caplog: pytest.LogCaptureFixture
) -> None:
    first, second = place.new(), place.new()
    assert saved.load(first, lambda: None, NOW) is None
    assert saved.load(second, lambda: None, NOW) is None
    assert saved.save(first, Timeline(began=NOW, passes=1)) is None
    with caplog.at_level(logging.WARNING, logger="fleetboard"):
        conflict = saved.save(second, Timeline(began=NOW, passes=2))
    assert conflict is not None and conflict.key == KEY
    assert f"the timeline was not saved: {KEY} {CREATED}" in caplog.text
    kept = place.raw(KEY)
    assert kept is not None and saved.decode(kept).passes == 1

    wallets = state_key(wallet_memory.STATE_NAME)
    trail = Trail((Sample(NOW, 10**18),), Began.FIRST)
    assert wallet_memory.load(first, lambda: None) == {}
    assert wallet_memory.load(second, lambda: None) == {}
    mine = {trail_key("deployer", "heima", "0x" + "a" * 40): trail}
    assert wallet_memory.save(first, mine) is None
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="fleetboard"):
        conflict = wallet_memory.save(second, {})
    assert conflict is not None and conflict.key == wallets
    assert f"balance history was not saved: {wallets} {CREATED}" in caplog.text
    kept = place.raw(wallets)
    assert kept is not None and wallet_memory.decode(kept) == mine


# --------------------------------------------------------------------------- whole passes


class ThenPublish:
    """A pass's store that lets another whole pass run just before it publishes: the two
    passes read the same state, and the other writes first."""

    def __init__(self, store: Publisher, other: Callable[[], None]) -> None:
        self._store = store
        self._other = other

    def publish(self, release: Release) -> list[str]:
        self._other()
        return self._store.publish(release)

    def read(self, key: str) -> bytes | None:
        return self._store.read(key)

    def load_state(self, name: str) -> bytes | None:
        return self._store.load_state(name)

    def save_state(self, name: str, data: bytes) -> None:
        self._store.save_state(name, data)


def test_the_loser_of_two_interleaved_passes_keeps_its_board_and_drops_its_state(
    place: Place,
    tmp_path: Path,
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        one_env_fleet_toml(
            "conflict", f"http://127.0.0.1:{refused_port()}", probe="pass_deadline_s = 5"
        )
    )
    loaded = config.load(fleet)

    def a_pass(store: Publisher) -> collect.PassResult:
        ctx = collect.new_context(loaded)
        return collect.run_pass(loaded, ctx, store, sources=[Answers()])

    assert a_pass(place.new()).state_conflicts == []  # a timeline to read
    before = place.raw(KEY)
    assert before is not None
    remembered = saved.decode(before).passes
    winner: list[tuple[collect.PassResult, bytes | None]] = []

    def the_other_pass() -> None:
        winner.append((a_pass(place.new()), place.raw(KEY)))

    with caplog.at_level(logging.WARNING, logger="fleetboard"):
        loser = a_pass(ThenPublish(place.new(), the_other_pass))
    [(won, its_state)] = winner
    assert won.state_conflicts == [] and its_state != before
    assert loser.state_conflicts == [KEY]
    # The loser's pass is whole: its board is published and stays; only its state is not.
    assert loser.error is None and not loser.unpublished and LATEST in loser.published
    latest = place.raw(LATEST)
    assert latest is not None
    assert json.loads(latest)["generated_at"] == loser.document["generated_at"]
    assert place.raw(KEY) == its_state  # the winner's timeline, whole
    assert f"the timeline was not saved: {KEY} {CHANGED}" in caplog.text
    # The next pass reads the winner's timeline: one more pass remembered, no reset.
    following = a_pass(place.new())
    assert following.state_conflicts == []
    assert following.document["collector"]["memory_reset"] is None
    after = place.raw(KEY)
    assert after is not None and saved.decode(after).passes == remembered + 2

    # On Lambda the conflict is counted: the StateConflicts metric, with the pass's own.
    handler.metrics.clear_metrics()  # the module's Metrics outlives tests that did not flush
    capfd.readouterr()
    handler._record(loser)
    handler.metrics.flush_metrics()
    emf = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    [doc] = [d for d in emf if "PassPublished" in d]
    assert doc["StateConflicts"] == [1.0] and doc["PassPublished"] == [1.0]
    handler._record(following)
    handler.metrics.flush_metrics()
    emf = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    assert not any("StateConflicts" in d for d in emf)  # said only when it happens


# --------------------------------------------------------------------------- pure


@pytest.mark.parametrize(
    ("expected", "current", "why"),
    [
        (None, None, None),  # found none, still none
        ("v1", "v1", None),  # read v1, still v1
        (None, "v1", CREATED),
        ("v1", "v2", CHANGED),
        ("v1", None, DELETED),
        (Unread.FAILED, None, UNREAD),
        (Unread.FAILED, "v1", UNREAD),
    ],
)
def test_a_write_is_refused_unless_the_object_is_the_one_read(
    expected: str | Unread | None, current: str | None, why: str | None
) -> None:
    assert refusal(expected, current) == why


def test_a_store_remembers_what_it_last_read_or_wrote_of_each_name() -> None:
    versions = Versions()
    assert versions.expected("timeline") is None  # never read: expects none
    versions.saw("timeline", '"etag-1"')
    versions.lost("wallets")
    assert versions.expected("timeline") == '"etag-1"'
    assert versions.expected("wallets") is Unread.FAILED
    versions.saw("wallets", None)  # a later read that worked
    assert versions.expected("wallets") is None
