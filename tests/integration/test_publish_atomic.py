"""A board is whole or not at all: on a full disk, after a crash mid-write, and on S3.

The faults are injected where the kernel would raise them: `os.write` answers ENOSPC once a
"disk" with a few bytes free is full, `os.replace` answers EROFS at the Nth rename, a real
child process is SIGKILLed in the middle of a write, and an S3 PUT goes to a port nothing
listens on. What is checked is what a reader would see afterwards: the files and objects
themselves, the temp files left, the command's words and its exit code.
"""

from __future__ import annotations

import errno
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from tests.integration.fixtures.aws import DUMMY_AWS_ENV, moto_client
from tests.integration.fixtures.child import run_fleetboard
from tests.integration.fixtures.fleet_toml import one_env_fleet_toml
from tests.integration.fixtures.offline import Answers

from fleetboard import cli, collect, exits, report
from fleetboard.demo.aws_world import reset_moto
from fleetboard.demo.hosts import refused_port
from fleetboard.publish import (
    INDEX,
    LATEST,
    STALE_TEMP_S,
    TEMP_PREFIX,
    LocalPublisher,
    PublishError,
    Release,
    S3Publisher,
    history_key,
)

ASSETS = {"board.css": b"css", "board.js": b"js", "not-found.html": b"<p>not found</p>"}


def release(n: int, second: int) -> Release:
    """Pass n's files: a snapshot and a page that say n, so any mix of two passes shows."""
    snapshot = json.dumps({"pass": n, "pad": "x" * 200}).encode()
    return Release(
        history_key=history_key(datetime(2026, 12, 4, 3, 0, second, tzinfo=UTC)),
        snapshot=snapshot,
        page=f"<html>rendered from pass {n}{' ' * 2000}</html>".encode(),
        assets={name: data + str(n).encode() for name, data in ASSETS.items()},
    )


def temps(root: Path) -> list[str]:
    return sorted(p.name for p in root.glob(f"{TEMP_PREFIX}*"))


def board_of(root: Path) -> tuple[bytes, bytes]:
    return (root / LATEST).read_bytes(), (root / INDEX).read_bytes()


@dataclass
class FullDisk:
    """A disk with `free` bytes left: os.write takes bytes until they run out, then fails
    the way the kernel does, with ENOSPC (after writing what still fitted)."""

    free: int

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        real = os.write

        def write(fd: int, data: Any) -> int:
            room = min(len(data), self.free)
            if room == 0:
                raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
            self.free -= room
            return real(fd, bytes(data[:room]))

        monkeypatch.setattr(os, "write", write)


def fail_rename(monkeypatch: pytest.MonkeyPatch, at: int) -> None:
    """The `at`-th rename from now fails as on a file system remounted read-only."""
    real = os.replace
    calls = 0

    def replace(src: Any, dst: Any) -> None:
        nonlocal calls
        calls += 1
        if calls == at:
            raise OSError(errno.EROFS, os.strerror(errno.EROFS), str(dst))
        real(src, dst)

    monkeypatch.setattr(os, "replace", replace)


# --------------------------------------------------------------------------- local folder


def test_a_disk_that_fills_between_writes_publishes_nothing_and_leaves_no_temp_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = LocalPublisher(tmp_path)
    publisher.publish(release(1, 0))
    before = board_of(tmp_path)
    second = release(2, 1)
    # Room for the history object and latest.json, not for the page after them.
    FullDisk(free=2 * len(second.snapshot) + 100).install(monkeypatch)
    with pytest.raises(PublishError) as caught:
        publisher.publish(second)
    monkeypatch.undo()
    assert caught.value.written == []
    assert caught.value.unwritten == [second.history_key, LATEST, *sorted(ASSETS), INDEX]
    assert str(caught.value) == (
        "No space left on device (ENOSPC); nothing was published, the last good board stays"
    )
    assert board_of(tmp_path) == before  # the page and its snapshot: both still pass 1's
    assert not (tmp_path / second.history_key).exists()
    assert temps(tmp_path) == []


def test_a_rename_that_fails_part_way_says_what_was_and_was_not_published(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    publisher = LocalPublisher(tmp_path)
    publisher.publish(release(1, 0))
    second = release(2, 1)
    fail_rename(monkeypatch, at=3)  # history and latest.json go in; board.css does not
    with pytest.raises(PublishError) as caught:
        publisher.publish(second)
    monkeypatch.undo()
    assert caught.value.written == [second.history_key, LATEST]
    assert caught.value.unwritten == [*sorted(ASSETS), INDEX]
    assert str(caught.value) == (
        f"Read-only file system (EROFS); published only {second.history_key}, latest.json; "
        "not published: board.css, board.js, not-found.html, index.html"
    )
    latest, page = board_of(tmp_path)
    assert json.loads(latest)["pass"] == 2 and b"pass 1" in page  # exactly as said
    assert temps(tmp_path) == []


def test_a_whole_publish_writes_every_file_in_order_and_skips_unchanged_assets(
    tmp_path: Path,
) -> None:
    publisher = LocalPublisher(tmp_path)
    first = release(1, 0)
    assert publisher.publish(first) == [first.history_key, LATEST, *sorted(ASSETS), INDEX]
    again = Release(first.history_key, b'{"pass": 3}', b"<html>pass 3</html>", first.assets)
    assert publisher.publish(again) == [first.history_key, LATEST, INDEX]
    assert board_of(tmp_path) == (b'{"pass": 3}', b"<html>pass 3</html>")
    assert oct((tmp_path / LATEST).stat().st_mode & 0o777) == "0o644"
    assert temps(tmp_path) == []


CRASH_MID_WRITE = """
import os, signal, sys
from fleetboard.publish import LocalPublisher, Release
real = os.write
def write(fd, data):
    real(fd, bytes(data[: len(data) // 2]))
    os.kill(os.getpid(), signal.SIGKILL)  # the machine dies half-way through a file
os.write = write
LocalPublisher(sys.argv[1]).publish(
    Release("history/2026/12/04/030002Z.json", b'{"pass": 9}', b"<html>9</html>", {})
)
"""


def test_a_temp_file_left_by_a_pass_that_crashed_is_removed_by_a_later_pass(
    tmp_path: Path,
) -> None:
    publisher = LocalPublisher(tmp_path)
    publisher.publish(release(1, 0))
    before = board_of(tmp_path)
    crashed = subprocess.run(
        [sys.executable, "-c", CRASH_MID_WRITE, str(tmp_path)], capture_output=True, timeout=60
    )
    assert crashed.returncode == -9, crashed.stderr
    left = temps(tmp_path)
    assert len(left) == 1 and board_of(tmp_path) == before  # half a file, never in place
    young = tmp_path / f"{TEMP_PREFIX}of-a-pass-running-now"
    young.write_bytes(b"a concurrent pass is writing this")
    # The crash was longer ago than any pass lasts: a later pass removes what it left.
    old = time.time() - STALE_TEMP_S - 60
    os.utime(tmp_path / left[0], (old, old))
    publisher.publish(release(2, 1))
    assert temps(tmp_path) == [young.name]  # a fresh one may be another pass's: it stays
    assert json.loads((tmp_path / LATEST).read_bytes())["pass"] == 2


# --------------------------------------------------------------------------- the command


def fleet_toml(prod: str = "") -> str:
    """One environment, AWS at a port nothing listens on; `prod`: more lines for prod."""
    return one_env_fleet_toml(
        "atomic", f"http://127.0.0.1:{refused_port()}", probe="pass_deadline_s = 5", prod=prod
    )


@dataclass
class Command:
    """`fleetboard collect` into `board`, run in-process: `run()` gives its exit code and
    what it printed (stdout, stderr)."""

    argv: list[str]
    board: Path
    capsys: pytest.CaptureFixture[str]

    def run(self) -> tuple[int, str, str]:
        self.capsys.readouterr()  # what earlier runs printed is not this run's
        code = cli.main(self.argv)
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def command(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> Command:
    """The command, its pass answered by a source in-process; one whole board already
    published by it."""
    config = tmp_path / "fleet.toml"
    config.write_text(fleet_toml())
    monkeypatch.setattr(collect, "default_sources", lambda *_: (Answers(),))
    board = tmp_path / "board"
    run = Command(["collect", "--config", str(config), "--out", str(board)], board, capsys)
    assert run.run()[0] == exits.EXIT_OK
    return run


def test_the_command_exits_3_when_a_full_disk_published_nothing(
    command: Command, monkeypatch: pytest.MonkeyPatch
) -> None:
    board = command.board
    before = board_of(board)
    FullDisk(free=len(before[0]) + 100).install(monkeypatch)  # history fits; latest does not
    code, out, err = command.run()
    assert code == exits.EXIT_NOT_PUBLISHED == 3
    assert err.startswith(f"fleetboard: cannot write the board into {board}: No space left")
    assert "nothing was published, the last good board stays" in err
    assert "NOT written: history/" in out and "wrote " not in out
    assert board_of(board) == before
    assert temps(board) == []


def test_the_command_exits_4_and_lists_both_sides_when_the_page_was_not_replaced(
    command: Command, monkeypatch: pytest.MonkeyPatch
) -> None:
    # history, latest.json, feed.xml, history.html; then index.html (assets unchanged)
    fail_rename(monkeypatch, at=5)
    code, out, err = command.run()
    assert code == exits.EXIT_PART_PUBLISHED == 4
    assert "; published only history/" in err and err.rstrip().endswith(
        ", latest.json, feed.xml, history.html; not published: index.html, version.json"
    )
    assert "NOT written: index.html" in out
    assert temps(command.board) == []


def test_the_exit_codes_are_in_the_commands_help() -> None:
    help_text = cli._parser().format_help()
    assert "3  the board was not replaced" in help_text
    assert "4  the board was replaced part-way" in help_text
    assert exits.__doc__ is not None and "4  the board was replaced part-way" in exits.__doc__


# --------------------------------------------------------------------------- S3


class LosesS3At:
    """The moto client, until the PUT of `key`: that one goes to a port nothing listens on
    (S3 unreachable from then on), a real botocore connection error."""

    def __init__(self, client: Any, key: str) -> None:
        self._client = client
        self._dead = moto_client(
            "s3",
            f"http://127.0.0.1:{refused_port()}",
            retries={"max_attempts": 1},
            connect_timeout=2,
        )
        self.key = key
        self.lost = False

    def put_object(self, **kwargs: Any) -> Any:
        self.lost = self.lost or kwargs["Key"] == self.key
        return (self._dead if self.lost else self._client).put_object(**kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)


@pytest.fixture
def bucket(moto_server: str) -> Iterator[tuple[Any, str]]:
    moto = moto_server  # the session's one moto (tests/integration/conftest.py)
    reset_moto(moto)
    client = moto_client("s3", moto)
    client.create_bucket(Bucket="board")
    S3Publisher._written_assets.clear()  # a new container
    yield client, "board"
    S3Publisher._written_assets.clear()


def s3_board(client: Any, name: str) -> tuple[bytes, bytes]:
    def get(key: str) -> bytes:
        body: bytes = client.get_object(Bucket=name, Key=key)["Body"].read()
        return body

    return get(LATEST), get(INDEX)


@pytest.mark.parametrize(
    ("lost_at", "written", "code"),
    [
        ("history", 0, 3),  # the first PUT fails: nothing at all
        (LATEST, 1, 3),  # the history object only: the board is still pass 1's
        ("board.css", 2, 4),  # latest.json is new, the page is not
        (INDEX, 5, 4),
    ],
    ids=["at-history", "at-latest", "at-an-asset", "at-the-page"],
)
def test_s3_publish_that_fails_part_way_says_exactly_which_objects_are_new(
    bucket: tuple[Any, str], lost_at: str, written: int, code: int
) -> None:
    client, name = bucket
    S3Publisher(name, client).publish(release(1, 0))
    before = s3_board(client, name)
    S3Publisher._written_assets.clear()  # a cold container: the assets are put again
    second = release(2, 1)
    order = [second.history_key, LATEST, *sorted(ASSETS), INDEX]
    key = second.history_key if lost_at == "history" else lost_at
    with pytest.raises(PublishError) as caught:
        S3Publisher(name, LosesS3At(client, key)).publish(second)
    assert caught.value.written == order[:written]
    assert caught.value.unwritten == order[written:]
    assert caught.value.cause == f"PutObject {key}: EndpointConnectionError"
    latest, page = s3_board(client, name)
    assert json.loads(latest)["pass"] == (2 if LATEST in order[:written] else 1)
    assert page == before[1]  # the page never went out after a failure before it
    assert report.publish_code(caught.value.written) == code
    listed = {o["Key"] for o in client.list_objects_v2(Bucket=name).get("Contents", [])}
    assert (second.history_key in listed) == (written > 0)


def test_an_s3_asset_that_failed_is_put_again_by_the_next_pass(bucket: tuple[Any, str]) -> None:
    client, name = bucket
    with pytest.raises(PublishError):
        S3Publisher(name, LosesS3At(client, "board.js")).publish(release(1, 0))
    written = S3Publisher(name, client).publish(release(1, 1))
    assert "board.js" in written and "board.css" not in written  # css went in the first time


# --------------------------------------------------------------------------- a real limit


#: `python -m fleetboard`, after limiting the size of any file this process writes.
LIMITED = """
import resource, runpy, signal, sys
limit = int(sys.argv.pop(1))
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # the write fails with EFBIG; nothing is killed
resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
runpy.run_module("fleetboard", run_name="__main__", alter_sys=True)
"""


def collect_in_child(config: Path, out: Path, file_limit: int | None = None) -> Any:
    """`fleetboard collect` as a real process; with `file_limit`, the kernel refuses any
    write that would make a file longer than that many bytes (RLIMIT_FSIZE, EFBIG): a disk
    that is full for the page but not for the snapshot."""
    python = ("-m", "fleetboard") if file_limit is None else ("-c", LIMITED, str(file_limit))
    args = ("collect", "--config", str(config), "--out", str(out))
    return run_fleetboard(*args, python=python, env=DUMMY_AWS_ENV)


def test_collect_whose_page_cannot_be_written_leaves_the_whole_old_board(tmp_path: Path) -> None:
    config = tmp_path / "fleet.toml"
    config.write_text(fleet_toml(f'hosts.broker.address = "127.0.0.1:{refused_port()}"'))
    board = tmp_path / "board"
    first = collect_in_child(config, board)
    assert first.returncode == 0, first.stderr
    before = board_of(board)
    history = {p: p.read_bytes() for p in (board / "history").rglob("*.json")}
    # Room for a snapshot but not for a page: the page is the last file of a pass.
    limit = (len(before[0]) + len(before[1])) // 2
    assert len(before[0]) < limit < len(before[1])
    second = collect_in_child(config, board, file_limit=limit)
    assert second.returncode == 3, second.stderr
    assert f"cannot write the board into {board}: File too large (EFBIG)" in second.stderr
    assert "nothing was published, the last good board stays" in second.stderr
    assert board_of(board) == before  # not a new snapshot beside an old page
    assert {p: p.read_bytes() for p in (board / "history").rglob("*.json")} == history
    assert temps(board) == []
