"""`validate` under generated fleet.toml: every document either loads, or is refused with a
ConfigError whose every line names the file and a key (or a line) — never another exception.

The documents: random tables of every TOML type (NaN and infinity, huge integers, control
characters, long strings, dates, deep nesting), structural mutations of fleet.example.toml
(one key set, deleted or added) and textual ones (a line's value replaced). Anything the
search ever found stays below as an explicit @example, so it is re-run forever.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import math
import os
import re
import tempfile
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st
from hypothesis.configuration import set_hypothesis_home_dir
from hypothesis.errors import InvalidArgument

from fleetboard import config
from fleetboard.config.shape import fleet_schema

# Hypothesis keeps a folder of caches (constants, Unicode tables; the example database is off
# below): under the project's download cache, never a `.hypothesis/` in the working tree.
set_hypothesis_home_dir(
    Path(os.environ.get("FLEETBOARD_CACHE") or Path.home() / ".cache" / "fleetboard") / "hypothesis"
)

SOURCE = "gen.toml"
EXAMPLE_TEXT = (Path(__file__).parents[2] / "fleet.example.toml").read_text()
EXAMPLE: dict[str, Any] = tomllib.loads(EXAMPLE_TEXT)

#: 200 examples a test (fewer for the simple ones) keeps the whole file near 10 s of CPU on a
#: small machine; no example database is written (what matters is below, as @example). For a
#: longer hunt: FLEETBOARD_PROPERTY_EXAMPLES=5000 pytest tests/unit/test_config_property.py
EXAMPLES = int(os.environ.get("FLEETBOARD_PROPERTY_EXAMPLES") or 200)
PROPERTY = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


# --------------------------------------------------------------------------- the property


@pytest.fixture(scope="module")
def base_dir() -> Iterator[Path]:
    """A folder the generated ca_bundle paths point into: a real CA, junk, a folder."""
    import trustme

    with tempfile.TemporaryDirectory(prefix="fleetboard-config-") as tmp:
        folder = Path(tmp)
        (folder / "ca.pem").write_bytes(trustme.CA().cert_pem.bytes())
        (folder / "junk.pem").write_text("not a certificate\n")
        (folder / "broken.pem").write_text(
            "-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydA==\n-----END CERTIFICATE-----\n"
        )
        (folder / "dir").mkdir()
        yield folder


_KEY_PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"(?:… \(\d+ characters\))?|\d+)'
_HEAD = re.compile(rf"line \d+|\(top level\)|{_KEY_PART}(?:\.{_KEY_PART})*")
_HEAD_THEN_TEXT = re.compile(rf"(?:{_HEAD.pattern}): ")


def assert_validates_or_names_the_key(text: str, base_dir: Path) -> config.LoadedConfig | None:
    """The property: OK, or ConfigError lines `gen.toml: <key or line N>: ...`, printable."""
    try:
        loaded = config.loads(text, source=SOURCE, base_dir=base_dir)
    except config.ConfigError as exc:
        _event("refused")
        assert exc.problems, "a ConfigError with nothing in it"
        assert str(exc) == "\n".join(exc.problems)
        for line in exc.problems:
            assert line.startswith(f"{SOURCE}: "), line
            # Matched, not split at ": ": a quoted key may hold ": " itself (found once).
            assert _HEAD_THEN_TEXT.match(line.removeprefix(f"{SOURCE}: ")), (
                f"names no key: {line!r}"
            )
            assert line.isprintable(), f"unescaped: {line!r}"
            assert len(line) < 1500, f"uncapped ({len(line)} characters): {line[:200]!r}"
        return None
    _event("loaded")
    assert_sane(loaded)
    return loaded


def _event(name: str) -> None:
    """Count outcomes (pytest --hypothesis-show-statistics); a no-op outside @given."""
    with contextlib.suppress(InvalidArgument):
        event(name)


def assert_sane(loaded: config.LoadedConfig) -> None:
    """What `validate` saying ok promises a pass: every number finite and in range, every
    string one printable line, every host name a host name, the schedule one AWS runs."""
    for path, value in _leaves(loaded):
        if isinstance(value, float):
            assert math.isfinite(value), path
        elif isinstance(value, int) and not isinstance(value, bool):
            assert -(2**63) <= value < 2**63, path
        elif isinstance(value, str):
            assert value.isprintable() and len(value) <= config.MAX_STRING, path
    inv = loaded.inventory
    for env in inv.environments:
        for host in env.hosts:
            assert config.host_problem(host.hostname) is None, host.hostname
    probe = inv.probe
    for timeout in (probe.connect_timeout_s, probe.read_timeout_s, inv.aws.read_timeout_s):
        assert 0 < timeout <= 120
    assert 0 < probe.pass_deadline_s <= loaded.period_s - 10
    assert config.schedule_problems(loaded.period_s, probe.pass_deadline_s) == []
    if probe.ca_bundle is not None:
        assert probe.ca_bundle.is_file()
        assert b"-----BEGIN CERTIFICATE-----" in probe.ca_bundle.read_bytes()


def _leaves(node: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    if dataclasses.is_dataclass(node) and not isinstance(node, type):
        for f in dataclasses.fields(node):
            yield from _leaves(getattr(node, f.name), f"{path}.{f.name}")
    elif isinstance(node, dict):
        for key, value in node.items():
            yield f"{path}[{key!r}]", key
            yield from _leaves(value, f"{path}[{key!r}]")
    elif isinstance(node, list | tuple):
        for i, value in enumerate(node):
            yield from _leaves(value, f"{path}[{i}]")
    else:
        yield path, node


# --------------------------------------------------------------------------- TOML writing


def toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else toml_string(key)


def toml_string(text: str) -> str:
    out = []
    for c in text:
        if c in '"\\':
            out.append("\\" + c)
        elif ord(c) < 0x20 or ord(c) == 0x7F:
            out.append(f"\\u{ord(c):04x}")
        else:
            out.append(c)
    return '"' + "".join(out) + '"'


def toml_value(value: Any) -> str:
    match value:
        case bool():
            return "true" if value else "false"
        case int():
            return str(value)
        case float():
            if math.isnan(value):
                return "nan"
            return ("inf" if value > 0 else "-inf") if math.isinf(value) else repr(value)
        case str():
            return toml_string(value)
        case list():
            return "[" + ", ".join(toml_value(v) for v in value) + "]"
        case dict():
            items = ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items())
            return "{" + items + "}"
        case dt.datetime() | dt.date() | dt.time():
            return value.isoformat()
    raise TypeError(value)


def toml_document(doc: dict[str, Any]) -> str:
    """Scalars first, then each table as a [header] with its keys inline-valued."""
    lines = [f"{toml_key(k)} = {toml_value(v)}" for k, v in doc.items() if not isinstance(v, dict)]
    for key, table in doc.items():
        if isinstance(table, dict):
            lines.append(f"[{toml_key(key)}]")
            lines += [f"{toml_key(k)} = {toml_value(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- strategies


def _schema_keys(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for name, sub in node.items():
            if name == "properties" and isinstance(sub, dict):
                yield from sub
            yield from _schema_keys(sub)
    elif isinstance(node, list):
        for sub in node:
            yield from _schema_keys(sub)


KNOWN_KEYS = sorted(
    {*_schema_keys(fleet_schema()), "prod", "test", "test-2", "base", "broker", "audit", "mcp"}
)

#: Strings that have broken a config reader somewhere: a trailing newline (Python's `$`),
#: NUL, a bidi override, host names that are not, paths that are not PEM bundles.
NASTY_STRINGS = [
    "us-east-1\n",
    "us-east-1\r",
    "a\x00b",
    "\u202eevil",
    "\u2028",
    "\x7f",
    "\t",
    "\xa0",
    "\U00018d09",
    "",
    " ",
    "broker..litentry.org",
    "-broker.litentry.org",
    "broker.litentry.org.",
    "BROKER.litentry.org",
    "999.1.1.1:443",
    "[1.2.3.4]:443",
    "[::1]:0",
    "127.0.0.1:99999",
    "http://user:key@rpc.example.org",
    "http://[::1",
    "http://h.example:99999",
    "https://a_b.example",
    "ca.pem",
    "junk.pem",
    "broken.pem",
    "dir",
    "/dev/null",
    "/proc/self/mem",
    "0xdE644936D5B7d5d42032fd08bbA42Fbbfd6663Bc",
    "0.0000000000000000000000000000000000001",
    "(?P<suffix>(a+)+)$",
    "[",
]
#: Long ones, built (so a failing example prints short): a path past PATH_MAX, a label past
#: 63, a host name past 253, a value past any limit.
LONG_STRINGS = st.one_of(
    st.builds(lambda c, n: c * n, st.characters(), st.integers(0, 6000)),
    st.builds(lambda n: "a/" * n, st.integers(100, 2100)),
    st.builds(lambda n: "a" * n + ".litentry.org", st.integers(60, 70)),
    st.builds(lambda n: ".".join(["a" * 63] * n), st.integers(3, 5)),
)

NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.sampled_from([0, 1, -1, 59, 60, 61, 90, 120, 895, 896, 900, 28800, 28860, 86400]),
    st.sampled_from([2**63 - 1, 2**63, -(2**63) - 1, 10**30]),
    st.builds(pow, st.just(10), st.integers(100, 4200)),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from([math.nan, math.inf, -math.inf, -0.0, 5e-324, 1e308]),
)
STRINGS = st.one_of(st.text(max_size=20), st.sampled_from(NASTY_STRINGS), LONG_STRINGS)
DATES = st.one_of(
    st.datetimes(),
    st.datetimes(timezones=st.just(dt.UTC)),
    st.dates(),
    st.times(),
)
SCALARS = st.one_of(st.booleans(), NUMBERS, STRINGS, DATES)
KEYS = st.one_of(st.sampled_from(KNOWN_KEYS), st.text(min_size=1, max_size=12))
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(KEYS, inner, max_size=4),
    ),
    max_leaves=12,
)


def _paths(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    if isinstance(node, dict):
        for key, value in node.items():
            yield (*path, key)
            yield from _paths(value, (*path, key))


EXAMPLE_PATHS = list(_paths(EXAMPLE))


def _get(doc: Any, path: tuple[str, ...]) -> Any:
    for key in path:
        doc = doc[key]
    return doc


EXAMPLE_TABLES = [(), *(p for p in EXAMPLE_PATHS if isinstance(_get(EXAMPLE, p), dict))]


def mutate(doc: dict[str, Any], edits: list[tuple[str, Any, Any, Any]]) -> dict[str, Any]:
    """Apply ("set", path, value) / ("del", path) / ("add", table, key, value) edits."""
    doc = json.loads(json.dumps(doc))  # a deep copy (the example has no dates)
    for op, where, key, value in edits:
        if op == "add":
            table = _get(doc, where) if _exists(doc, where) else None
            if isinstance(table, dict):
                table[key] = value
            continue
        if not _exists(doc, where):
            continue
        parent = _get(doc, where[:-1])
        if op == "del":
            del parent[where[-1]]
        else:
            parent[where[-1]] = value
    return doc


def _exists(doc: Any, path: tuple[str, ...]) -> bool:
    for key in path:
        if not isinstance(doc, dict) or key not in doc:
            return False
        doc = doc[key]
    return True


@st.composite
def near_misses(draw: st.DrawFn, path: tuple[str, ...]) -> tuple[str, Any, Any, Any]:
    """A value of the same kind as the example's there: a number of the same type (NaN, out
    of range), a string with one character added or cut, a list with one item changed."""
    old = _get(EXAMPLE, path)
    new: Any
    if isinstance(old, bool):
        new = draw(st.booleans())
    elif isinstance(old, int):
        new = draw(st.integers() | NUMBERS.filter(lambda n: isinstance(n, int)))
    elif isinstance(old, float):
        new = draw(st.floats(allow_nan=True, allow_infinity=True))
    elif isinstance(old, str):
        at = draw(st.integers(0, len(old)))
        new = draw(
            st.sampled_from(
                [
                    old[:at] + draw(st.characters()) + old[at:],
                    old[:at] + old[at + 1 :],
                    old + draw(st.sampled_from(["\n", "\r\n", "\x00", " ", "."])),
                ]
            )
        )
    elif isinstance(old, list) and old:
        new = list(old)
        new[draw(st.integers(0, len(old) - 1))] = draw(SCALARS)
    else:
        new = draw(VALUES)
    return ("set", path, None, new)


EDITS = st.lists(
    st.one_of(
        st.sampled_from(EXAMPLE_PATHS).flatmap(near_misses),
        st.sampled_from(EXAMPLE_PATHS).flatmap(near_misses),
        st.tuples(st.just("set"), st.sampled_from(EXAMPLE_PATHS), st.none(), VALUES),
        st.tuples(st.just("set"), st.sampled_from(EXAMPLE_PATHS), st.none(), SCALARS),
        st.tuples(st.just("del"), st.sampled_from(EXAMPLE_PATHS), st.none(), st.none()),
        st.tuples(st.just("add"), st.sampled_from(EXAMPLE_TABLES), KEYS, VALUES),
    ),
    min_size=1,
    max_size=3,
)

EXAMPLE_LINES = EXAMPLE_TEXT.splitlines()
VALUE_LINES = [i for i, line in enumerate(EXAMPLE_LINES) if re.match(r"^[a-z_]+ = ", line)]


def replace_line_value(index: int, literal: str) -> str:
    lines = list(EXAMPLE_LINES)
    key = lines[index].split(" = ", 1)[0]
    lines[index] = f"{key} = {literal}"
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the tests


def test_the_example_itself_holds_the_property(base_dir: Path) -> None:
    assert assert_validates_or_names_the_key(toml_document(EXAMPLE), base_dir) is not None


@PROPERTY
@given(doc=st.dictionaries(KEYS, VALUES, max_size=6))
@example(doc={"fleet": {"region": "us-east-1\n"}, "environments": {}})
@example(doc={"probe": {"pass_deadline_s": math.nan}})
@example(doc={"x": [[[[[[[[[1]]]]]]]]]})
@example(doc={"\x00": 1})
@example(doc={"fleet": 10**4000})
def test_random_documents_load_or_name_the_key(doc: dict[str, Any], base_dir: Path) -> None:
    assert_validates_or_names_the_key(toml_document(doc), base_dir)


@PROPERTY
@given(edits=EDITS)
@example(edits=[("set", ("probe", "read_timeout_s"), None, math.nan)])
@example(edits=[("set", ("probe", "pass_deadline_s"), None, math.inf)])
@example(edits=[("set", ("fleet", "region"), None, "us-east-1\n")])
@example(edits=[("add", ("probe",), "ca_bundle", "a\x00b")])
@example(edits=[("add", ("probe",), "ca_bundle", "a/" * 2100)])
@example(edits=[("add", ("probe",), "ca_bundle", "/" + "a" * 300)])
@example(edits=[("add", ("probe",), "ca_bundle", "junk.pem")])
@example(edits=[("add", ("probe",), "ca_bundle", "broken.pem")])
@example(edits=[("add", ("probe",), "ca_bundle", "dir")])
@example(edits=[("add", ("probe",), "ca_bundle", "/proc/self/mem")])
@example(edits=[("set", ("fleet", "period_s"), None, 90)])
# Found by the search: an unassigned code point (not a control, not printable) was loaded.
@example(edits=[("set", ("fleet", "name"), None, "\U00018d09")])
@example(edits=[("set", ("environments", "test", "eip"), None, 2**64)])
@example(edits=[("set", ("fleet", "workers"), None, ["a" * 63])])
@example(edits=[("set", ("chain", "rpc_url"), None, "http://[::1")])
@example(edits=[("set", ("environments", "prod"), None, [{"a": [{"b": [1]}]}])])
@example(edits=[("add", ("fleet",), ": ", 1)])  # a quoted key holding ": " (found once)
def test_mutations_of_the_example_load_or_name_the_key(
    edits: list[tuple[str, Any, Any, Any]], base_dir: Path
) -> None:
    assert_validates_or_names_the_key(toml_document(mutate(EXAMPLE, edits)), base_dir)


#: Every number fleet.toml takes, by table and key.
NUMBER_KEYS = [
    ("fleet", "period_s"),
    ("aws", "connect_timeout_s"),
    ("aws", "read_timeout_s"),
    ("probe", "connect_timeout_s"),
    ("probe", "read_timeout_s"),
    ("probe", "retry_delay_s"),
    ("probe", "concurrency"),
    ("probe", "body_cap_bytes"),
    ("probe", "pass_deadline_s"),
    ("thresholds", "tls_amber_days"),
    ("thresholds", "tls_red_days"),
    ("thresholds", "slow_ms"),
    ("github", "rate_floor"),
    ("github", "queue_limit"),
    ("github", "slot_count"),
    ("github", "timeout_s"),
    ("chain", "chain_id"),
    ("chain", "decimals"),
    ("chain", "timeout_s"),
    ("chain", "max_block_age_s"),
    ("chain", "runway_days"),
    ("deploy", "memory_mb"),
    ("deploy", "shards"),
    ("deploy", "log_retention_days"),
    ("deploy", "history_days"),
]


@PROPERTY
@given(
    edits=st.lists(
        st.tuples(
            st.sampled_from(NUMBER_KEYS), NUMBERS | st.integers(0, 1000) | st.floats(0, 1000)
        ),
        min_size=1,
        max_size=3,
    )
)
# Found by the search: decimals = 0 under the default paymaster_min_deposit "0.2" raised
# ValueError out of validate (the stand-in for a refused amount was the default, re-parsed).
@example(edits=[(("chain", "decimals"), 0)])
@example(edits=[(("probe", "pass_deadline_s"), math.nan)])
@example(edits=[(("thresholds", "slow_ms"), math.inf)])
@example(edits=[(("fleet", "period_s"), 28860)])
@example(edits=[(("fleet", "period_s"), 3600), (("probe", "pass_deadline_s"), 897)])
def test_any_number_anywhere_loads_sane_or_names_the_key(
    edits: list[tuple[tuple[str, str], Any]], base_dir: Path
) -> None:
    doc = json.loads(json.dumps(EXAMPLE))
    for (table, key), value in edits:
        doc.setdefault(table, {})[key] = value
    assert_validates_or_names_the_key(toml_document(doc), base_dir)


@PROPERTY
@given(index=st.sampled_from(VALUE_LINES), value=VALUES)
@example(index=VALUE_LINES[0], value="x" * 5000)
def test_the_example_with_one_value_replaced_loads_or_names_the_key(
    index: int, value: Any, base_dir: Path
) -> None:
    assert_validates_or_names_the_key(replace_line_value(index, toml_value(value)), base_dir)


@PROPERTY
@given(index=st.sampled_from(VALUE_LINES), literal=st.text(max_size=40))
@example(index=VALUE_LINES[0], literal='"a')
@example(index=VALUE_LINES[0], literal="9" * 5000)
@example(index=VALUE_LINES[0], literal="[" * 3000 + "]" * 3000)
@example(index=VALUE_LINES[0], literal="{a=" * 1000 + "1" + "}" * 1000)
def test_the_example_with_raw_text_in_a_value_loads_or_names_the_key(
    index: int, literal: str, base_dir: Path
) -> None:
    assert_validates_or_names_the_key(replace_line_value(index, literal), base_dir)


@settings(
    PROPERTY, max_examples=max(60, EXAMPLES // 4)
)  # one number to vary; each deep one costs a recursion
@given(depth=st.integers(1, 3000), opener=st.sampled_from(["[", "{a=", "dotted", "header"]))
def test_nesting_of_any_depth_loads_or_names_the_key(
    depth: int, opener: str, base_dir: Path
) -> None:
    if opener == "dotted":
        literal = "x" + ".x" * depth + " = 1"
        text = EXAMPLE_TEXT + "\n[environments.prod.hosts.mcp]\n" + literal + "\n"
    elif opener == "header":
        text = EXAMPLE_TEXT + "\n[" + ".".join(["x"] * depth) + "]\n"
    else:
        closer = "]" if opener == "[" else "}"
        inner = opener * depth + "1" + closer * depth
        text = EXAMPLE_TEXT.replace("period_s = 60", f"period_s = {inner}")
    assert_validates_or_names_the_key(text, base_dir)


@settings(PROPERTY, max_examples=max(100, EXAMPLES // 2))
@given(data=st.binary(max_size=200) | st.builds(str.encode, st.text(max_size=200)))
@example(data=b"\xff\xfe[fleet]\n")
@example(data=b"\xef\xbb\xbf[fleet]\n")
def test_any_bytes_in_the_file_load_or_name_the_file(data: bytes, base_dir: Path) -> None:
    with tempfile.TemporaryDirectory(dir=base_dir) as tmp:
        path = Path(tmp) / "gen.toml"
        path.write_bytes(data)
        try:
            config.load(path)
        except config.ConfigError as exc:
            assert all(line.startswith(f"{path}: ") for line in exc.problems), exc.problems
            assert all(line.isprintable() for line in exc.problems), exc.problems
