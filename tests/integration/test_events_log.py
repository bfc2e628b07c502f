"""The events log and the feed from real passes: the demo fleet (moto, the HTTPS hosts, the
simulated zone), prod's broker made to fail and recover between passes, each pass
published into a folder and into S3 (moto) as `collect --out` and the Lambda do.

What a tool finds: `history/events/YYYY/MM/DD/` lists one object per pass that saw a change
(none for a pass that saw none), every change of a flapping check in them, and `feed.xml`
beside the page; what a pass does: writes them, never reads history back.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from tests.integration.fixtures.aws import moto_client

from fleetboard import collect, events
from fleetboard.collect import PassResult
from fleetboard.demo.hosts import text_reply
from fleetboard.demo.run import DemoFleet, demo_fleet
from fleetboard.publish import (
    CACHE_BOARD,
    CACHE_HISTORY,
    EVENTS_PREFIX,
    FEED,
    INDEX,
    LATEST,
    LocalPublisher,
    Publisher,
    S3Publisher,
    events_key,
)
from fleetboard.sources import utc_now

A = "{http://www.w3.org/2005/Atom}"
HOST, PATH = "broker.litentry.org", "/healthz"  # prod's broker, as the demo serves it
HEALTHY, BROKEN = text_reply("ok"), text_reply("upstream gone", 502)
MINUTE = timedelta(minutes=1)


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFleet]:
    with demo_fleet(tmp_path_factory.mktemp("demo")) as running:
        yield running


class Reads:
    """A publisher that keeps the keys a pass read (GETs), around the real one."""

    def __init__(self, store: Publisher) -> None:
        self.store = store
        self.keys: list[str] = []

    def publish(self, release: Any) -> list[str]:
        return self.store.publish(release)

    def read(self, key: str) -> bytes | None:
        self.keys.append(key)
        return self.store.read(key)

    def load_state(self, name: str) -> bytes | None:
        self.keys.append(f"state/{name}.json")
        return self.store.load_state(name)

    def save_state(self, name: str, data: bytes) -> None:
        self.store.save_state(name, data)


def run(
    fleet: DemoFleet, store: Publisher, script: list[bool], start: datetime | None = None
) -> list[PassResult]:
    """One pass a minute from `start` (now), on a clock of the test's, so each pass has its
    own history key; prod's broker broken (True) or healthy (False) during each."""
    start = start or utc_now().replace(second=0, microsecond=0)
    results = []
    try:
        for i, broken in enumerate(script):
            fleet.hosts.set_reply(HOST, PATH, BROKEN if broken else HEALTHY)
            at: datetime = start + i * MINUTE
            ctx = collect.laptop_context(
                fleet.loaded, now=lambda at=at: at, **fleet.context_overrides()
            )
            result = collect.run_pass(fleet.loaded, ctx, store)
            assert result.error is None, result.error
            results.append(result)
    finally:
        fleet.hosts.set_reply(HOST, PATH, HEALTHY)
    return results


def broker_check(result: PassResult) -> str:
    prod = next(e for e in result.document["environments"] if e["name"] == "prod")
    return str(next(c["name"] for c in prod["checks"] if c["id"] == f"http:{HOST}{PATH}"))


def test_a_day_of_events_is_listed_by_its_prefix_and_every_change_is_in_it(
    fleet: DemoFleet, tmp_path: Path
) -> None:
    store = Reads(LocalPublisher(tmp_path))
    # calm, then four changes (more than 3 in 20 passes: flapping), then a pass with none
    results = run(fleet, store, [False, True, False, True, False, False])
    stamps = [r.board.generated_at for r in results]
    logged = [events_key(at) for at in stamps]

    # A pass that saw changes wrote one object, after its history object and before the
    # board; the first pass (nothing to change from) and the calm last one wrote none.
    for i, result in enumerate(results):
        mine = [k for k in result.published if k.startswith(EVENTS_PREFIX)]
        assert mine == ([logged[i]] if 1 <= i <= 4 else []), i
        if mine:
            keys = result.published
            assert keys.index(result.published[0]) < keys.index(mine[0]) < keys.index(LATEST)

    # A tool lists the day's prefix (the folder here; ListObjectsV2 in S3) and reads it.
    days = {at.strftime("%Y/%m/%d") for at in stamps}
    listed = sorted(
        p.relative_to(tmp_path).as_posix()
        for day in days
        for p in (tmp_path / EVENTS_PREFIX / day).glob("*.json")
    )
    assert listed == logged[1:5]
    docs = [json.loads((tmp_path / key).read_bytes()) for key in listed]
    assert all(events.problems(doc) == [] for doc in docs)

    # Every change of the broker, though the board folds them into one line for a viewer.
    name = broker_check(results[-1])
    changes = [
        (e["at"], e["from"], e["to"])
        for doc in docs
        for e in doc["events"]
        if (e["env"], e["check"]) == ("prod", name)
    ]
    assert [(f, t) for _, f, t in changes] == [("green", "red"), ("red", "green")] * 2
    assert [at for at, _, _ in changes] == [r.document["generated_at"] for r in results[1:5]]
    latest = json.loads((tmp_path / LATEST).read_bytes())
    folded = [t for t in latest["recent"] if (t["env"], t["check"]) == ("prod", name)]
    assert len(folded) == 1 and folded[0]["times"] == 4

    # The pass wrote the log and never read it, nor any other history.
    assert not [k for k in store.keys if k.startswith("history/")]


def test_the_feed_beside_the_page_lists_the_changes_newest_first_with_stable_ids(
    fleet: DemoFleet, tmp_path: Path
) -> None:
    store = LocalPublisher(tmp_path)
    results = run(fleet, store, [False, True])
    feed_then = ET.fromstring((tmp_path / FEED).read_bytes())
    assert results[-1].published.index(FEED) < results[-1].published.index(INDEX)
    name = broker_check(results[-1])
    [first] = [
        e
        for e in feed_then.findall(f"{A}entry")
        if e.findtext(f"{A}title") == f"prod {name} green -> red"
    ]
    assert first.findtext(f"{A}updated") == results[-1].document["generated_at"]

    # A pass later, the broker recovers: a new entry on top, the old one keeps its id.
    more = run(fleet, store, [True, False], results[-1].board.generated_at + MINUTE)
    feed_now = ET.fromstring((tmp_path / FEED).read_bytes())
    titles = [e.findtext(f"{A}title") for e in feed_now.findall(f"{A}entry")]
    ids = [e.findtext(f"{A}id") for e in feed_now.findall(f"{A}entry")]
    updated = [e.findtext(f"{A}updated") or "" for e in feed_now.findall(f"{A}entry")]
    assert titles[0] == f"prod {name} red -> green"
    assert updated == sorted(updated, reverse=True)
    assert updated[0] == more[-1].document["generated_at"]
    assert first.findtext(f"{A}id") in ids
    # The page links its feed.
    assert (
        b'<link rel="alternate" type="application/atom+xml" href="feed.xml"'
        in (tmp_path / INDEX).read_bytes()
    )


def test_in_s3_the_log_is_immutable_history_and_the_feed_is_atom(fleet: DemoFleet) -> None:
    s3 = moto_client("s3", fleet.world.endpoint_url)
    bucket = f"fleetboard-events-{id(s3)}"
    s3.create_bucket(Bucket=bucket)
    S3Publisher._written_assets.clear()  # a new container
    store = Reads(S3Publisher(bucket, s3))
    results = run(fleet, store, [False, True, True])
    key = events_key(results[1].board.generated_at)
    assert [k for r in results for k in r.published if k.startswith(EVENTS_PREFIX)] == [key]
    day = key.rsplit("/", 1)[0] + "/"
    listed = s3.list_objects_v2(Bucket=bucket, Prefix=day)
    assert [o["Key"] for o in listed["Contents"]] == [key]
    head = s3.head_object(Bucket=bucket, Key=key)
    assert (head["ContentType"], head["CacheControl"]) == ("application/json", CACHE_HISTORY)
    doc = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    assert events.problems(doc) == [] and doc["generated_at"] == results[1].document["generated_at"]
    head = s3.head_object(Bucket=bucket, Key=FEED)
    assert head["ContentType"].split(";")[0] == "application/atom+xml"
    assert head["CacheControl"] == CACHE_BOARD
    assert not [k for k in store.keys if k.startswith("history/")]
