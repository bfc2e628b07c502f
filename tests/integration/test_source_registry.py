"""A source is one unit: declared once, it reaches every part of the board.

The "door" source below exists only in this module. Registered (one SourceKind added to
registry.KINDS), it runs in the real demo pass beside the real sources, and with no other
file changed its checks reach the snapshot and the page, it is listed in the footer, and
its failure is handled like any source's: unknown checks with the reason, an issue, the
footer's error and the SourceFailures metric.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import ClassVar

import pytest

from fleetboard import collect, handler, registry, snapshot
from fleetboard.collect import PassResult
from fleetboard.demo.run import DemoFleet, demo_fleet
from fleetboard.inventory import Environment, Inventory
from fleetboard.model import Check, CheckKind, SourceFailure, Status
from fleetboard.publish import INDEX, LATEST, LocalPublisher
from fleetboard.registry import SourceKind
from fleetboard.rules import Judging
from fleetboard.sources import PassContext, Source

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = ROOT / "site" / "templates"
SCHEMA = ROOT / "lambdas" / "fleetboard" / "schema" / "snapshot.schema.json"


# ---------------------------------------------------------------- the test-only source


@dataclass(frozen=True, slots=True)
class DoorFacts:
    """Whether each environment's rack door is shut, by environment name."""

    shut: dict[str, bool]


class DoorSource:
    name: ClassVar[str] = "door"
    needs: ClassVar[tuple[str, ...]] = ()
    wants: ClassVar[tuple[str, ...]] = ()

    def __init__(self, answer: DoorFacts | SourceFailure | Exception) -> None:
        self.answer = answer

    def collect(self, inventory: Inventory, ctx: PassContext) -> object:
        if isinstance(self.answer, Exception):
            raise self.answer
        return self.answer


def door_checks(env: Environment, facts: object, judging: Judging) -> Sequence[Check]:
    assert isinstance(facts, DoorFacts)
    shut = facts.shut.get(env.name)
    status = Status.GREEN if shut else Status.RED if shut is False else Status.UNKNOWN
    words = {Status.GREEN: "door shut", Status.RED: "door open", Status.UNKNOWN: "no sensor"}
    return [
        Check(
            id=f"source:door:{env.name}",
            name="door",
            kind=CheckKind.SOURCE,
            status=status,
            reason="" if shut else "body: " + words[status],
            summary=words[status],
            source="door",
            observed_at=judging.now,
        )
    ]


def door(answer: DoorFacts | SourceFailure | Exception) -> SourceKind:
    def build(inventory: Inventory) -> Sequence[Source]:
        return (DoorSource(answer),)

    return SourceKind("door", DoorFacts, build, checks=door_checks)


# ---------------------------------------------------------------- the pass


@pytest.fixture(scope="module")
def fleet(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoFleet]:
    with demo_fleet(tmp_path_factory.mktemp("demo")) as running:
        yield running


def a_pass(
    fleet: DemoFleet,
    out: Path,
    monkeypatch: pytest.MonkeyPatch,
    answer: DoorFacts | SourceFailure | Exception,
) -> PassResult:
    """The demo's real pass with the door registered, as a deployment would have it."""
    monkeypatch.setattr(registry, "KINDS", (*registry.KINDS, door(answer)))
    ctx = collect.laptop_context(fleet.loaded, **fleet.context_overrides())
    return collect.run_pass(fleet.loaded, ctx, LocalPublisher(out))


def env(doc: dict, name: str) -> dict:
    return next(e for e in doc["environments"] if e["name"] == name)


def door_check(doc: dict, name: str) -> dict:
    return next(c for c in env(doc, name)["checks"] if c["source"] == "door")


def footer(out: Path) -> str:
    page = (out / INDEX).read_text()
    return page[page.index('<footer class="foot"') :]


def test_a_registered_source_reaches_the_snapshot_the_card_and_the_footer(
    fleet: DemoFleet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    facts = DoorFacts(shut={"prod": True, "test": True, "test-2": False})
    result = a_pass(fleet, tmp_path, monkeypatch, facts)
    assert result.error is None
    doc = json.loads((tmp_path / LATEST).read_bytes())
    snapshot.validate(doc)
    # Its checks join every running environment's, judged by its own rule.
    assert door_check(doc, "prod")["status"] == "green"
    assert door_check(doc, "test-2")["status"] == "red"
    assert door_check(doc, "test-2")["summary"] == "door open"
    # A parked slot's health is not rated: no door check there, as no http check.
    assert all(c["source"] != "door" for c in env(doc, "test-3")["checks"])
    # Its red counts like any check's: an issue for test-2, which goes red.
    assert env(doc, "test-2")["status"] == "red"
    assert any(
        i["env"] == "test-2" and i["check"] == "door" and i["status"] == "red"
        for i in doc["summary"]["issues"]
    )
    # The footer lists it with its run; the card lists its failing check.
    assert doc["collector"]["sources"]["door"]["ok"] is True
    assert "<strong>door</strong>" in footer(tmp_path)
    card = (tmp_path / INDEX).read_text().split('id="env-test-2"')[1].split("</article>")[0]
    assert "door open" in card


@pytest.mark.parametrize(
    ("answer", "why"),
    [
        (SourceFailure("door", "timeout: the sensor hub did not answer in 3 s"), "timeout"),
        (RuntimeError("a bug in the source"), "internal error (RuntimeError)"),
    ],
    ids=["failed", "raised"],
)
def test_a_registered_source_that_fails_shows_unknown_with_the_reason_and_counts(
    fleet: DemoFleet,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capfd: pytest.CaptureFixture[str],
    answer: SourceFailure | Exception,
    why: str,
) -> None:
    result = a_pass(fleet, tmp_path, monkeypatch, answer)
    assert result.error is None  # the board is published: only the door's part is unknown
    doc = json.loads((tmp_path / LATEST).read_bytes())
    check = door_check(doc, "prod")
    assert check["status"] == "unknown"  # never green for what it could not see
    assert why in check["reason"] and check["reason"].startswith("source: door failed")
    assert doc["collector"]["sources"]["door"]["ok"] is False
    assert why in doc["collector"]["sources"]["door"]["error"]
    (issue,) = [i for i in doc["summary"]["issues"] if i["check"] == "source:door"]
    assert issue["status"] == "unknown" and why in issue["text"]
    assert "door" in footer(tmp_path) and why in footer(tmp_path)
    # The other sources' parts are untouched: prod's machine is still observed.
    assert next(c for c in env(doc, "prod")["checks"] if c["kind"] == "machine")["status"] in (
        "green",
        "amber",
    )
    capfd.readouterr()
    handler._record(result)
    emf = [json.loads(line) for line in capfd.readouterr().out.splitlines() if '"_aws"' in line]
    assert any(d.get("Source") == "door" and d.get("SourceFailures") == [1.0] for d in emf)


# ---------------------------------------------------------------- the registry itself


def _schema_has(schema: dict, path: str) -> bool:
    """Whether "/"-separated keys ("environments/*/machine") name a place in the schema."""
    node = schema
    for key in path.split("/"):
        while "$ref" in node:
            node = schema["definitions"][node["$ref"].rsplit("/", 1)[1]]
        if key == "*":
            node = node["items"]
        elif key in node.get("properties", {}):
            node = node["properties"][key]
        else:
            return False
    return True


@pytest.mark.parametrize("kind", registry.KINDS, ids=lambda k: k.name)
def test_each_kind_says_truly_where_it_shows(kind: SourceKind) -> None:
    schema = json.loads(SCHEMA.read_text())
    assert kind.snapshot and kind.page
    missing = [p for p in kind.snapshot if not _schema_has(schema, p)]
    assert not missing, f"{kind.name}: not in snapshot.schema.json: {missing}"
    assert all((TEMPLATES / t).is_file() for t in kind.page), kind.page
    # Every template it names reads its facts: the source's name is in it, or a part of
    # the snapshot it feeds (its checks, its machine, its CI ...).
    parts = {p.split("/")[-1] for p in kind.snapshot} | {kind.name}
    for template in kind.page:
        text = (TEMPLATES / template).read_text()
        assert any(p in text for p in parts), f"{template} shows nothing of {kind.name}"


def test_the_registry_names_each_kind_once_and_builds_nothing_unconfigured(
    fleet: DemoFleet,
) -> None:
    names = [k.name for k in registry.KINDS]
    assert len(names) == len(set(names))
    configured = fleet.loaded.inventory
    unconfigured = replace(configured, github=None, chain=None)
    assert [s.name for s in registry.sources_for(unconfigured)] == [
        "aws",
        "http",
        "tls",
        "host",
        "agent",
        "metrics",
        "prices",
    ]
    assert {"github", "chain"} <= {s.name for s in registry.sources_for(configured)}
