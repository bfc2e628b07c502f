"""The snapshot follows the model: one serializer over the dataclasses, and the schema file
names exactly the fields the model writes, at every level the snapshot reaches."""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import Enum
from typing import Any, get_args, get_origin, get_type_hints

import pytest
from tests.boards import demo_board

from fleetboard import model, snapshot
from fleetboard.model import (
    Board,
    ChainSummary,
    CheckKind,
    CollectorInfo,
    DriftKind,
    EnvKind,
    Lifecycle,
    Machine,
    SlotBasis,
    SourceRun,
    Status,
    WalletView,
)

Schema = dict[str, Any]


def _resolve(node: Schema) -> Schema:
    """A schema node with `$ref`s followed and a `null` alternative dropped."""
    if "$ref" in node:
        name = node["$ref"].rpartition("#/definitions/")[2]
        return _resolve(snapshot.schema()["definitions"][name])
    alternatives = [n for n in node.get("oneOf", []) if n.get("type") != "null"]
    if len(alternatives) == 1:
        return _resolve(alternatives[0])
    return node


def _inner(hint: Any) -> tuple[str, Any]:
    """('one' | 'list' | 'map', the type inside) for a field's type, without `| None`."""
    if get_origin(hint) in (typing.Union, types.UnionType):
        rest = [a for a in get_args(hint) if a is not type(None)]
        assert len(rest) == 1, f"a union the snapshot cannot write: {hint}"
        hint = rest[0]
    origin = get_origin(hint)
    if origin is tuple:
        return "list", get_args(hint)[0]
    if origin is dict:
        return "map", get_args(hint)[1]
    return "one", hint


def _written(cls: type) -> dict[str, Any]:
    """JSON key path -> type hint, for every key the serializer writes for `cls`."""
    hints = get_type_hints(cls, vars(model))
    out: dict[str, Any] = {}
    for name in getattr(cls, "JSON_PROPERTIES", ()):
        prop = getattr(cls, name)
        out[name] = get_type_hints(prop.fget, vars(model))["return"]
    for f in dataclasses.fields(cls):
        rule = snapshot.json_rule(f)
        if not rule["omit"]:
            out[rule["key"]] = hints[f.name]
    return out


def mismatches(
    cls: type, node: Schema, path: str = "", extra: frozenset[str] = frozenset()
) -> list[str]:
    """Every key the model writes and the schema does not name, or the other way round,
    under `path`, walking into every dataclass the snapshot reaches."""
    found: list[str] = []
    written = _written(cls)
    nested: dict[str, dict[str, Any]] = {}
    for key, hint in written.items():
        head, _, tail = key.partition(".")
        if tail:
            nested.setdefault(head, {})[tail] = hint
    node = _resolve(node)
    props: Schema = node.get("properties", {})
    top = {k.partition(".")[0] for k in written}
    for key in sorted(top - set(props) - extra):
        found.append(f"{path}{key}: in the model ({cls.__name__}), not in the schema")
    for key in sorted(set(props) - top - extra):
        found.append(f"{path}{key}: in the schema, not in the model ({cls.__name__})")
    for head, sub in nested.items():
        sub_node = _resolve(props.get(head, {}))
        sub_props = set(sub_node.get("properties", {}))
        for key in sorted(set(sub) ^ sub_props):
            found.append(f"{path}{head}.{key}: in one of model ({cls.__name__}) and schema only")
    for key, hint in written.items():
        if "." in key or key not in props:
            continue
        shape, inner = _inner(hint)
        if not dataclasses.is_dataclass(inner):
            continue
        child = _resolve(props[key])
        if shape == "list":
            child = _resolve(child["items"])
        elif shape == "map":
            child = _resolve(child["additionalProperties"])
        assert isinstance(inner, type)
        found += mismatches(inner, child, f"{path}{key}.")
    return found


def test_the_schema_names_every_field_the_model_writes_and_no_other() -> None:
    assert mismatches(Board, snapshot.schema(), extra=frozenset({"schema_version"})) == []


def test_the_walk_sees_a_field_added_to_the_model_alone() -> None:
    """The test above would fail: a new field anywhere the snapshot reaches is caught."""

    @dataclass(frozen=True)
    class Source(SourceRun):
        retries: int = 0

    @dataclass(frozen=True)
    class Collector(CollectorInfo):
        sources: dict[str, Source] = field(kw_only=True)  # type: ignore[assignment]

    @dataclass(frozen=True)
    class Fleet(Board):
        collector: Collector

    # get_type_hints resolves names in the model's namespace: lend it the test's classes.
    for cls in (Source, Collector, Fleet):
        setattr(model, cls.__name__, cls)
    try:
        found = mismatches(Fleet, snapshot.schema(), extra=frozenset({"schema_version"}))
    finally:
        for cls in (Source, Collector, Fleet):
            delattr(model, cls.__name__)
    assert found == ["collector.sources.retries: in the model (Source), not in the schema"]


def test_the_walk_sees_a_field_added_to_the_schema_alone() -> None:
    schema = snapshot.schema()
    machine = schema["definitions"]["machine"]
    grown = {**machine, "properties": {**machine["properties"], "az": {"type": "string"}}}
    assert mismatches(Machine, grown, "machine.") == [
        "machine.az: in the schema, not in the model (Machine)"
    ]


@pytest.mark.parametrize(
    ("enum", "definition"),
    [
        (Status, "status"),
        (Lifecycle, "lifecycle"),
        (EnvKind, "env_kind"),
        (CheckKind, "check_kind"),
        (DriftKind, "drift_kind"),
        (SlotBasis, "slot_basis"),
    ],
)
def test_status_words_in_the_schema_are_the_model_enums(enum: type[Enum], definition: str) -> None:
    assert snapshot.schema()["definitions"][definition]["enum"] == [e.value for e in enum]


# --------------------------------------------------------------------------- the serializer
def test_money_is_a_decimal_string_and_none_stays_null() -> None:
    wallet = WalletView(
        role="deployer",
        address="0xab",
        balance_wei=2**70,
        balance="1180.6 HEI",
        floor_wei=10**18,
        nonce=None,
        nonce_moved=None,
        status=Status.GREEN,
        text="ok",
        url=None,
    )
    out = snapshot.encode(wallet)
    assert out["balance_wei"] == str(2**70)
    assert out["floor_wei"] == "1000000000000000000"
    assert out["nonce"] is None
    assert out["status"] == "green"
    assert snapshot.encode(dataclasses.replace(wallet, balance_wei=None))["balance_wei"] is None


def test_fields_are_renamed_rounded_and_nested_as_the_model_declares() -> None:
    at = datetime(2026, 11, 23, 8, 0, 3, 900_000, tzinfo=UTC)
    machine = Machine("i-1", "running", "t3.medium", at, "1.2.3.4", "eip-prod", None)
    assert snapshot.encode(machine) == {
        "instance_id": "i-1",
        "state": "running",
        "type": "t3.medium",
        "launched_at": "2026-11-23T08:00:03Z",
        "eip": "1.2.3.4",
        "eip_tag": "eip-prod",
        "eip_declared": None,
    }
    chain = ChainSummary(Status.AMBER, "slow", 1, 1, 7, 12.345, 1, None)
    assert snapshot.encode(chain)["block_age_s"] == 12.3
    collector = CollectorInfo(
        version="t", duration_s=1.23456, sources={"aws": SourceRun(True, 0.00049)}, period_s=300
    )
    # The demo's board, named "f" in "z" and "r", its collector's figures to be rounded.
    board = dataclasses.replace(demo_board(), generated_at=at, fleet="f", zone="z", region="r")
    doc = snapshot.to_document(dataclasses.replace(board, collector=collector))
    assert list(doc) == [
        "schema_version",
        "generated_at",
        "fleet",
        "collector",
        "summary",
        "environments",
        "drift",
        "ci",
        "chain",
        "chain_networks",
        "recent",
    ]
    assert doc["fleet"] == {"name": "f", "zone": "z", "region": "r"}
    assert doc["collector"] == {
        "version": "t",
        "duration_s": 1.235,
        "aws_requests": 0,
        "probes": 0,
        "sources": {"aws": {"ok": True, "duration_s": 0.0, "error": None, "requests": None}},
        "period_s": 300,
        "memory_from": None,
        "memory_reset": None,
        "flap_passes": None,
        "alerts": None,
    }
    assert snapshot.problems(doc) == []


def test_an_omitted_field_is_not_written() -> None:
    rules = {f.name: snapshot.json_rule(f) for f in dataclasses.fields(model.EnvironmentView)}
    assert rules["issues"]["omit"] and not rules["name"]["omit"]
    board = demo_board()
    assert any(env.issues for env in board.environments)  # there is something to leave out
    written = snapshot.to_document(board)["environments"]
    assert all("issues" not in env and "name" in env for env in written)
    assert str(EnvKind.TEST_SLOT) == snapshot.encode(EnvKind.TEST_SLOT) == "test-slot"


def test_a_value_with_no_snapshot_form_is_refused() -> None:
    with pytest.raises(TypeError, match="keys must be strings"):
        snapshot.encode({("host", "/path"): 1})
    with pytest.raises(TypeError, match="no snapshot form"):
        snapshot.encode(object())
