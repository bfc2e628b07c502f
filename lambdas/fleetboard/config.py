"""fleet.toml -> Inventory, reporting every problem at once before any probe runs.

The shape is checked against schema/fleet.schema.json; the rules that span keys (duplicate
slots, a tag the pattern would never find, a broker name with no suffix rule) are checked
here. Every message names the file, the key path and the value, and says what would fix it.
"""

from __future__ import annotations

import difflib
import fnmatch
import ipaddress
import json
import math
import os
import re
import ssl
import stat
import tomllib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import date, time
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from fleetboard.chain import parse_amount
from fleetboard.inventory import (
    BROKER_PATHS,
    Address,
    AwsSettings,
    ChainIdentity,
    ChainSettings,
    Environment,
    GithubSettings,
    Host,
    Inventory,
    ProbeSettings,
    Thresholds,
    eip_tag_for,
    service_host,
    suffix_from_broker,
)
from fleetboard.model import EnvKind

DEFAULT_TAG_PATTERN = "agentkeys-broker-eip*"
DEFAULT_SERVICES = ("signer",)
DEFAULT_WORKERS = ("audit", "email", "cred", "memory", "config", "classify")
DEFAULT_BUCKET_PATTERN = r"^agentkeys-[a-z]+(?P<suffix>-test(?:-\d+)?|-base)?-\d{12}$"
DEFAULT_PERIOD_S = 60

#: What no fleet.toml comes near, checked before its shape: the file's size, its nesting (the
#: deepest real value, environments.<env>.hosts.<service>.address, is 5 keys down), a string
#: and a key. Each key's own limits are in the schema.
MAX_FILE_BYTES = 1024 * 1024
MAX_DEPTH = 6
MAX_STRING = 4096
MAX_KEY = 128
#: TOML integers are 64-bit (tomllib reads longer ones).
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
#: How many characters of a value a message quotes.
MAX_SHOWN = 120
#: The schedule's limits, owned here and used by infra/collector.py (cdk synth) too: the
#: staleness alarm waits this many periods, within CloudWatch's one day; the Lambda's
#: timeout is the period less a margin, at most Lambda's 900 s, and the pass ends a margin
#: before it.
STALE_PERIODS = 3
TIMEOUT_MARGIN_S = 5
MAX_LAMBDA_TIMEOUT_S = 900
#: How long a pass waits past its deadline for a late source before it shows it unknown.
DEADLINE_GRACE_S = 2.0
#: Kept back from the Lambda timeout, after the grace, for judging, rendering, publishing.
PUBLISH_RESERVE_S = 5.0
#: What the pass deadline must leave of the Lambda timeout, so Lambda never cuts it short.
AFTER_DEADLINE_S = DEADLINE_GRACE_S + PUBLISH_RESERVE_S
#: A CA bundle larger than this is not one (Mozilla's whole bundle is about 220 KB).
MAX_CA_BUNDLE_BYTES = 4 * 1024 * 1024
#: EC2 tag values have at most 256 characters.
MAX_TAG_VALUE = 256


class ConfigError(ValueError):
    """fleet.toml is wrong; `problems` holds one line per mistake."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


#: The Cognito group whose members see the board, unless [deploy.auth] group names another.
DEFAULT_AUTH_GROUP = "fleetboard-viewers"


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """[deploy.auth]: sign-in in front of the board (docs/decisions/0009).

    Stage 1 sets `domain_prefix` (the pool, its group, hosted UI and app client are built);
    stage 2 adds the pool's and client's ids from the fleetboard-auth stack's outputs, and
    the edge function that checks every request is built with them.
    """

    domain_prefix: str  # <prefix>.auth.<region>.amazoncognito.com
    group: str = DEFAULT_AUTH_GROUP
    callback_host: str | None = None  # default: domain_name, and the *.cloudfront.net host
    user_pool_id: str | None = None  # stage 2, with client_id
    client_id: str | None = None

    @property
    def ready(self) -> bool:
        """Both ids are known: the edge function can be built (stage 2)."""
        return bool(self.user_pool_id and self.client_id)


@dataclass(frozen=True, slots=True)
class DeploySettings:
    """[deploy]: how `cdk deploy` builds the scheduled board. Not read by a pass."""

    alarm_email: str | None = None
    memory_mb: int = 512
    log_retention_days: int = 30
    history_days: int = 30  # history/ objects expire after this many days
    domain_name: str | None = None
    certificate_arn: str | None = None  # ACM, us-east-1; with domain_name
    tracing: bool = False  # X-Ray: off, so the collector's role writes nothing but its logs
    auth: AuthSettings | None = None  # none: the board answers every request with 403


@dataclass(frozen=True, slots=True)
class LoadedConfig:
    inventory: Inventory
    period_s: int  # the schedule period the page uses to call a board stale
    deploy: DeploySettings = DeploySettings()


def load(path: str | Path) -> LoadedConfig:
    """Read and check fleet.toml; raise ConfigError listing every problem."""
    path = Path(path)
    try:
        with path.open("rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)
    except (OSError, ValueError) as exc:
        why = getattr(exc, "strerror", None) or str(exc)
        raise ConfigError([f"{path}: cannot read the file ({why})"]) from None
    if len(data) > MAX_FILE_BYTES:
        raise ConfigError([f"{path}: larger than {MAX_FILE_BYTES // 1024} KiB; not a fleet.toml"])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})"]) from None
    return loads(text, source=str(path), base_dir=path.parent)


def loads(text: str, *, source: str = "fleet.toml", base_dir: Path | None = None) -> LoadedConfig:
    """Like load(), for config text already in hand (tests, the demo)."""
    if len(text) > MAX_FILE_BYTES:
        raise ConfigError([f"{source}: larger than {MAX_FILE_BYTES // 1024} KiB; not a fleet.toml"])
    raw = _parse(text, source)
    shape, broken = _shape_problems(raw)
    problems = [f"{source}: {p}" for p in shape]
    # Check meaning too, so one run reports every problem: skip only what the shape check
    # already found broken (a broken [fleet] table leaves nothing to build on).
    if not problems or (broken is not None and "fleet" not in broken):
        envs = {k: v for k, v in raw["environments"].items() if k not in (broken or set())}
        builder = _Builder({**raw, "environments": envs}, base_dir or Path())
        inventory = builder.build(source)
        problems += [f"{source}: {p}" for p in builder.problems]
    if problems:
        raise ConfigError(problems)
    period = int(raw["fleet"].get("period_s", DEFAULT_PERIOD_S))
    return LoadedConfig(inventory=inventory, period_s=period, deploy=_deploy(raw.get("deploy", {})))


def schedule_problems(period_s: int, pass_deadline_s: float) -> list[tuple[str, str]]:
    """(key, text) for a schedule the scheduled board cannot run; empty when all is well.

    infra/collector.py synthesizes from the same rules (EventBridge Scheduler rates are
    whole minutes, the staleness alarm's window is one day, Lambda's timeout is at most
    900 s), so `validate` and `collect` refuse what `cdk synth` would.
    """
    found = []
    if period_s % 60:
        found.append(
            (
                "fleet.period_s",
                f"{period_s} is not a whole number of minutes; EventBridge Scheduler rates "
                f"are whole minutes (try {max(60, period_s // 60 * 60)})",
            )
        )
    if period_s * STALE_PERIODS > 86400:
        found.append(
            (
                "fleet.period_s",
                f"{period_s} is too long for the staleness alarm: {STALE_PERIODS} periods must "
                f"fit in CloudWatch's one-day window (at most {86400 // STALE_PERIODS})",
            )
        )
    timeout = min(period_s - TIMEOUT_MARGIN_S, MAX_LAMBDA_TIMEOUT_S)
    if pass_deadline_s > period_s - 2 * TIMEOUT_MARGIN_S:
        found.append(
            (
                "probe.pass_deadline_s",
                f"{pass_deadline_s:g} leaves less than {2 * TIMEOUT_MARGIN_S} s of the "
                f"{period_s} s schedule period; a pass must end before the next one starts",
            )
        )
    elif pass_deadline_s > timeout - AFTER_DEADLINE_S:
        found.append(
            (
                "probe.pass_deadline_s",
                f"{pass_deadline_s:g} leaves less than {AFTER_DEADLINE_S:g} s of the Lambda's "
                f"{timeout} s timeout to wait for late sources and publish in (Lambda allows "
                f"at most {MAX_LAMBDA_TIMEOUT_S} s)",
            )
        )
    return found


def _github(raw: dict[str, Any]) -> GithubSettings:
    # The schema has checked every key and type.
    return GithubSettings(**{**raw, "workflows": tuple(raw["workflows"])})


def _deploy(raw: dict[str, Any]) -> DeploySettings:
    # The schema has checked every key and type.
    auth = raw.get("auth")
    return DeploySettings(**{**raw, "auth": AuthSettings(**auth) if auth is not None else None})


# --------------------------------------------------------------------------- TOML syntax

_DUP_TABLE = re.compile(r"Cannot declare \((?P<keys>.*)\) twice \(at line (?P<line>\d+)")
_AT_LINE = re.compile(r"\(at line (?P<line>\d+), column \d+\)")
_AT_END = "(at end of document)"
_BIG_INT = re.compile(r"[+-]?\d[\d_]{4300,}")


def _parse(text: str, source: str) -> dict[str, Any]:
    """TOML -> dict, or ConfigError naming the line; never another exception."""
    # Measured before parsing, not left to tomllib's RecursionError: web3's import (py_ecc)
    # raises the process's recursion limit to 100,000, and the answer must not depend on
    # what was imported before.
    deep = _too_deep_line(text)
    if deep is not None:
        raise ConfigError([_too_deep_message(source, text, deep)])
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{source}: {_toml_message(str(exc), text)}"]) from None
    except RecursionError:  # deeper than the scan could tell (it skips strings roughly)
        raise ConfigError([_too_deep_message(source, text, 1)]) from None
    except ValueError as exc:  # an integer of more than 4300 digits (Python's int() limit)
        m = _BIG_INT.search(text)
        if m is None:
            raise ConfigError([f"{source}: not valid TOML ({_cap(str(exc))})"]) from None
        line = text.count("\n", 0, m.start()) + 1
        raise ConfigError(
            [
                f"{source}: line {line}: {_line_key(text, line)}an integer of thousands of "
                "digits; TOML integers are 64-bit"
            ]
        ) from None


def _too_deep_message(source: str, text: str, line: int) -> str:
    return (
        f"{source}: line {line}: {_line_key(text, line)}arrays or inline tables nested "
        f"too deeply (keys go at most {MAX_DEPTH} deep)"
    )


def _too_deep_line(text: str) -> int | None:
    """The line where brackets first nest deeper than MAX_DEPTH (strings and comments
    skipped); None when they never do."""
    depth, quote, line = 0, "", 1
    chars = iter(text)
    for c in chars:
        if c == "\n":
            line += 1
        if quote:
            if c == "\\" and quote == '"':
                next(chars, "")
            elif c == quote:
                quote = ""
        elif c in "\"'":
            quote = c
        elif c == "#":
            for c2 in chars:
                if c2 == "\n":
                    line += 1
                    break
        elif c in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return line
        elif c in "]}":
            depth = max(0, depth - 1)
    return None


def _line_key(text: str, line: int) -> str:
    """ "fleet.x: " for `x = ...` on that line (best effort), so a parse error names its key."""
    lines = text.splitlines()
    if not 0 < line <= len(lines):
        return ""
    m = re.match(r"\s*([A-Za-z0-9_.\"' -]{1,80}?)\s*=", lines[line - 1])
    return f"{_key_part(m.group(1).strip())}: " if m else ""


def _toml_message(message: str, text: str) -> str:
    m = _DUP_TABLE.search(message)
    if m:
        keys = [k.strip().strip("'\"") for k in m.group("keys").split(",") if k.strip()]
        table = ".".join(keys)
        if len(keys) == 2 and keys[0] == "environments":
            return (
                f"line {m.group('line')}: environment {_cap(keys[1])!r} is declared twice; "
                f"keep one [environments.{_cap(keys[1])}] table"
            )
        return f"line {m.group('line')}: [{_cap(table)}] is declared twice; keep one"
    m = _AT_LINE.search(message)
    if m:
        return f"line {m.group('line')}: not valid TOML ({_cap(_AT_LINE.sub('', message).strip())})"
    if message.endswith(_AT_END):
        last = text.count("\n") + (not text.endswith("\n"))
        why = message.removesuffix(_AT_END).strip()
        return f"line {max(last, 1)}: not valid TOML ({_cap(why)}, at the end of the file)"
    return f"not valid TOML ({_cap(message)})"


# --------------------------------------------------------------------------- shape

Path_ = tuple[str | int, ...]


@cache
def _schema() -> dict[str, Any]:
    text = resources.files("fleetboard").joinpath("schema/fleet.schema.json").read_text()
    doc: dict[str, Any] = json.loads(text)
    return doc


def _shape_problems(raw: dict[str, Any]) -> tuple[list[str], set[str] | None]:
    """Shape problems, and which parts they break: "fleet" and the names of environments.

    The second value is None when the breakage is everywhere (a top-level table missing or
    of the wrong kind, or [probe]/[thresholds]/[aws] wrong), so nothing can be built. One
    line per key: the first problem found there (the values check before the schema).
    """
    walk = _Values()
    clean = walk.check(raw, ())
    found = list(walk.problems)
    for error in _validator().iter_errors(clean):
        found.extend(_describe(error))
    lines: list[str] = []
    seen: list[Path_] = []
    broken: set[str] | None = set()
    for path, line in found:
        # Nothing more about a key whose value is already refused, or inside it.
        if any(path[: len(p)] == p for p in seen):
            continue
        seen.append(path)
        lines.append(line)
        if broken is None:
            continue
        if path[:1] == ("environments",) and len(path) >= 2:
            broken.add(str(path[1]))
        elif path[:1] == ("fleet",):
            broken.add("fleet")
        else:
            broken = None
    return sorted(set(lines), key=lines.index), broken


def _control_char(text: str) -> tuple[int, str] | None:
    """The first character that is not printable: a control (newline and tab too), a format
    character (a bidi override, a zero-width one), a separator other than the space, a
    private-use or unassigned code point; None when there is none."""
    if text.isprintable():
        return None
    return next((i, c) for i, c in enumerate(text) if not c.isprintable())


def _codepoint(c: str) -> str:
    return f"U+{ord(c):04X}"


class _Values:
    """What no fleet.toml value may be, whatever its key: NaN or infinity, an integer past
    64 bits, a control character, a string or key longer than any real one, nesting deeper
    than any real table. Gives a copy with the refused nesting cut off, safe to validate."""

    def __init__(self) -> None:
        self.problems: list[tuple[Path_, str]] = []

    def problem(self, path: Path_, text: str) -> None:
        self.problems.append((path, f"{_key_path(path)}: {text}"))

    def check(self, value: Any, path: Path_) -> Any:
        if isinstance(value, dict | list) and len(path) >= MAX_DEPTH:
            self.problem(
                path,
                "holds tables or arrays nested deeper than any fleet.toml "
                f"(keys at most {MAX_DEPTH} deep)",
            )
            return type(value)()
        if isinstance(value, dict):
            out = {}
            for key, item in value.items():
                here = (*path, key)
                if len(key) > MAX_KEY:
                    self.problem(here, f"the key is {len(key)} characters long; at most {MAX_KEY}")
                elif bad := _control_char(key):
                    self.problem(
                        here, f"the key has a control or invisible character ({_codepoint(bad[1])})"
                    )
                out[key] = self.check(item, here)
            return out
        if isinstance(value, list):
            return [self.check(item, (*path, i)) for i, item in enumerate(value)]
        if isinstance(value, bool):
            return value
        if isinstance(value, float) and not math.isfinite(value):
            self.problem(path, f"{_show(value)} is not a finite number")
        elif isinstance(value, int) and not INT64_MIN <= value <= INT64_MAX:
            self.problem(path, f"{_show(value)} does not fit in TOML's 64-bit integers")
        elif isinstance(value, str):
            if len(value) > MAX_STRING:
                self.problem(
                    path,
                    f"{_show(value)} is longer than any value fleet.toml takes "
                    f"(at most {MAX_STRING} characters)",
                )
                return value[:MAX_STRING]  # what the schema reads: refused already
            elif bad := _control_char(value):
                self.problem(
                    path,
                    f"{_show(value)} has a control or invisible character ({_codepoint(bad[1])} at "
                    f"position {bad[0]}); values are one line of printable text",
                )
        return value


_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")


def _key_path(parts: Iterable[Any]) -> str:
    """environments.test-2.hosts.mcp; a key that is not a bare TOML key is quoted, escaped."""
    return ".".join(_key_part(p) for p in parts) or "(top level)"


def _key_part(part: str | int) -> str:
    if isinstance(part, int) or (_BARE_KEY.fullmatch(part) and len(part) <= MAX_SHOWN):
        return str(part)
    return _show(part)


def _cap(text: str, limit: int = 2 * MAX_SHOWN) -> str:
    """Text from elsewhere (a parser, a library) as a message may quote it."""
    text = _escape(text)
    return text if len(text) <= limit else text[:limit] + "…"


def _escape(text: str) -> str:
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else f"\\U{ord(c):08x}"
        for c in text
    )


def _show(value: Any) -> str:
    """A value as a message quotes it: escaped, and at most MAX_SHOWN characters of it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else "inf" if value > 0 else "-inf"
    if isinstance(value, int) and value.bit_length() > 128:
        try:
            digits = str(abs(value))
        except ValueError:  # past Python's 4300-digit limit
            return f"an integer of {value.bit_length()} bits"
        return f"{'-' if value < 0 else ''}{digits[:20]}… ({len(digits)} digits)"
    if isinstance(value, str):
        shown = _escape(json.dumps(value[:MAX_SHOWN], ensure_ascii=False))
        return shown if len(value) <= MAX_SHOWN else f"{shown}… ({len(value)} characters)"
    try:
        text = json.dumps(value, ensure_ascii=False, default=str)
    except (ValueError, RecursionError):
        return type(value).__name__
    return _cap(text, MAX_SHOWN)


def _toml_type(value: Any) -> str:
    match value:
        case bool():
            return "true/false"
        case int():
            return "an integer"
        case float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "an array"
        case dict():
            return "a table"
    return "a date or time" if isinstance(value, date | time) else type(value).__name__


_EXPECTED = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "object": "a table",
    "array": "an array",
}


# ---------------------------------------------------------------- the validator and its rules


@cache
def _python_regex(pattern: str) -> re.Pattern[str]:
    r"""A schema pattern (ECMA 262) as Python reads it: `$` outside a class is the very end.

    Python's `$` also matches before a trailing newline, so "us-east-1\n" would pass
    "^[a-z]{2}-[a-z]+-\d$"; `\Z` does not.
    """
    out, in_class, chars = [], False, iter(pattern)
    for c in chars:
        if c == "\\":
            out.append(c + next(chars, ""))
            continue
        if in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "$":
            c = r"\Z"
        out.append(c)
    return re.compile("".join(out))


@cache
def _validator() -> Any:
    from jsonschema import Draft202012Validator, FormatChecker, validators
    from jsonschema.exceptions import ValidationError

    def pattern(validator: Any, pattern: str, instance: Any, schema: Any) -> Iterator[Any]:
        if validator.is_type(instance, "string") and not _python_regex(pattern).search(instance):
            yield ValidationError(f"{instance!r} does not match {pattern!r}")

    formats = FormatChecker(formats=())
    formats.checks("fleet-hostname", raises=ValueError)(_check_hostname)
    formats.checks("fleet-address", raises=ValueError)(_check_address)
    formats.checks("fleet-url", raises=ValueError)(_check_url)
    # types-jsonschema leaves extend() untyped; it returns a validator class.
    cls = validators.extend(Draft202012Validator, {"pattern": pattern})  # type: ignore[no-untyped-call]
    return cls(_schema(), format_checker=formats)


def host_problem(host: str) -> str | None:
    """Why `host` is not a DNS host name (RFC 1123: labels of letters, digits and '-', each
    1-63 long, not starting or ending with '-', 253 in all), or None when it is one."""
    if len(host) > 253:
        return f"is {len(host)} characters long; a host name has at most 253"
    labels = host.split(".")
    for label in labels:
        if not label:
            return "has an empty label (two dots in a row, or a dot at an end)"
        if len(label) > 63:
            return f"has a label of {len(label)} characters; labels have at most 63"
        if not _LABEL.fullmatch(label):
            return "has characters other than letters, digits, '-' and '.'"
        if label.startswith("-") or label.endswith("-"):
            return "has a label that starts or ends with '-'"
    if labels[-1].isdigit():
        return "ends in a number but is not an IP address"
    return None


_LABEL = re.compile(r"[A-Za-z0-9-]+")


def _check_hostname(value: object) -> bool:
    if isinstance(value, str) and (why := host_problem(value)):
        raise ValueError(f"it {why}")
    return True


def _check_address(value: object) -> bool:
    if not isinstance(value, str):
        return True
    host = value.rpartition(":")[0] if _has_port(value) else value
    if host.startswith("[") or host.endswith("]"):
        inner = host.removeprefix("[").removesuffix("]")
        if not (host.startswith("[") and host.endswith("]") and ":" in inner and is_ip(inner)):
            raise ValueError("brackets hold an IPv6 address, and only one")
    elif not is_ip(host) and (why := host_problem(host)):
        raise ValueError(f"the host {why}")
    return True


def _check_url(value: object) -> bool:
    if not isinstance(value, str):
        return True
    parts = urlsplit(value)  # ValueError: an unclosed "[" (its message is the reason)
    if parts.username is not None or parts.password is not None:
        raise ValueError("it holds a user name or password; credentials go in a secret")
    host = parts.hostname
    if not host:
        raise ValueError("it has no host")
    if parts.port == 0:  # ValueError for a port that is not a number or past 65535
        raise ValueError("port 0")
    if not is_ip(host) and (why := host_problem(host)):
        raise ValueError(f"the host {why}")
    return True


def _describe(error: Any) -> Iterator[tuple[Path_, str]]:
    """One jsonschema error -> (key, the line a person reads) (the interface, so tested exactly)."""
    path: Path_ = tuple(error.absolute_path)
    where = _key_path(path)
    schema = error.schema
    kind = error.validator
    value = error.instance
    # A key's name that breaks its table's propertyNames: reported at the table, about the key.
    at: Path_ = (*path, value) if "propertyNames" in error.absolute_schema_path else path
    if kind == "additionalProperties":
        allowed = list(schema.get("properties", {}))
        for key in sorted(set(value) - set(allowed)):
            hint = difflib.get_close_matches(key, allowed, n=1)
            did_you_mean = f"; did you mean {hint[0]!r}?" if hint else ""
            known = ", ".join(allowed)
            yield (
                (*path, key),
                f"{_key_path([*path, key])}: unknown key{did_you_mean} (known here: {known})",
            )
    elif kind == "required":
        props = schema.get("properties", {})
        for key in error.validator_value:
            if key not in value:
                prop = props.get(key, {})
                hint = prop.get("x-hint") or prop.get("description")
                suffix = f": {hint}" if hint else ""
                yield (*path, key), f"{_key_path([*path, key])}: missing{suffix}"
    elif kind == "type":
        expected = error.validator_value
        names = [expected] if isinstance(expected, str) else list(expected)
        want = " or ".join(_EXPECTED.get(n, n) for n in names)
        yield at, f"{where}: {_show(value)} is {_toml_type(value)}; expected {want}"
    elif kind == "pattern" and "x-rule" in schema:
        what = "has a space" if re.search(r"\s", value) else "is not allowed"
        yield at, f"{where}: {_show(value)} {what}; {schema['x-rule']}"
    elif kind in {"pattern", "format"} and "x-message" in schema:
        why = f"; {_cap(str(error.cause))}" if kind == "format" and error.cause else ""
        yield at, f"{where}: {_show(value)} {schema['x-message']}{why}"
    elif kind == "format":
        yield at, f"{where}: {_show(value)} is not allowed; {_cap(str(error.cause))}"
    elif kind == "propertyNames":
        # The failing name is the instance of the nested error; report it by name.
        rule = schema["propertyNames"].get("x-message", "is not allowed")
        yield (*path, value), f"{where}: {_show(value)} {rule}"
    elif kind == "enum":
        options = ", ".join(_show(v) for v in error.validator_value)
        yield at, f"{where}: {_show(value)} is not one of {options}"
    elif kind in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        bound = {
            "minimum": "at least",
            "maximum": "at most",
            "exclusiveMinimum": "more than",
            "exclusiveMaximum": "less than",
        }[kind]
        yield at, f"{where}: {_show(value)} must be {bound} {error.validator_value}"
    elif kind == "maxLength":
        size = "" if len(value) > MAX_SHOWN else f"{len(value)} characters; "
        yield at, f"{where}: {_show(value)} is too long ({size}at most {error.validator_value})"
    elif kind == "minLength":
        yield at, f"{where}: {_show(value)} is empty; give a value or leave the key out"
    elif kind == "uniqueItems":
        yield at, f"{where}: {_show(value)} lists a name twice"
    elif kind == "minProperties":
        yield at, f"{where}: declare at least one environment, e.g. [environments.prod]"
    elif kind == "minItems":
        yield at, f"{where}: {_show(value)} is empty; list at least {error.validator_value}"
    else:
        yield at, f"{where}: {_show(value)}: {_cap(error.message)}"


# --------------------------------------------------------------------------- meaning


class _Builder:
    """Turns a shape-checked config into an Inventory, collecting cross-key problems."""

    def __init__(self, raw: dict[str, Any], base_dir: Path) -> None:
        self.raw = raw
        self.base_dir = base_dir
        self.problems: list[str] = []

    def problem(self, where: str, text: str) -> None:
        self.problems.append(f"{where}: {text}")

    def build(self, source: str) -> Inventory:
        fleet = self.raw["fleet"]
        pattern = fleet.get("eip_tag_pattern", DEFAULT_TAG_PATTERN)
        aws_raw = self.raw.get("aws", {})
        aws = AwsSettings(
            region=fleet["region"],
            zone=fleet["zone"],
            zone_id=fleet["zone_id"],
            eip_tag_pattern=pattern,
            endpoint_url=aws_raw.get("endpoint_url"),
            connect_timeout_s=float(aws_raw.get("connect_timeout_s", 3.0)),
            read_timeout_s=float(aws_raw.get("read_timeout_s", 5.0)),
        )
        probe = self._probe(self.raw.get("probe", {}))
        thresholds = self._thresholds(self.raw.get("thresholds", {}))
        bucket_pattern = fleet.get("bucket_pattern", DEFAULT_BUCKET_PATTERN)
        self._check_bucket_pattern(bucket_pattern)
        envs = tuple(
            self._environment(name, spec, fleet, pattern)
            for name, spec in self.raw["environments"].items()
        )
        self.check_deploy(int(fleet.get("period_s", DEFAULT_PERIOD_S)), probe)
        self._check_unique(envs)
        services = {h.label.removeprefix("worker:") for e in envs for h in e.hosts}
        for name in fleet.get("optional", ()):
            if envs and name not in services:
                self.problem("fleet.optional", f"{name!r} is a service of no environment")
        github = self.raw.get("github")
        chain = self.raw.get("chain")
        chain_settings = self._chain(chain) if chain is not None else None
        networks = {
            name: self._chain(spec, where=f"chain.networks.{name}", name=name)
            for name, spec in (chain or {}).get("networks", {}).items()
        }
        if chain is not None:
            envs = tuple(replace(e, chain=self._identity(e.name, chain)) for e in envs)
        else:
            for e in envs:
                if "chain" in self.raw["environments"][e.name]:
                    self.problem(
                        f"environments.{e.name}.chain",
                        "needs a [chain] section (at least chain_id) to be read",
                    )
        return Inventory(
            github=_github(github) if github is not None else None,
            chain=chain_settings,
            chain_networks=networks,
            source=source,
            fleet=fleet.get("name", fleet["zone"]),
            aws=aws,
            probe=probe,
            thresholds=thresholds,
            environments=envs,
            bucket_pattern=bucket_pattern,
        )

    def _probe(self, raw: Mapping[str, Any]) -> ProbeSettings:
        defaults = ProbeSettings()
        ca_bundle = self._ca_bundle(raw["ca_bundle"]) if "ca_bundle" in raw else None
        return ProbeSettings(
            connect_timeout_s=float(raw.get("connect_timeout_s", defaults.connect_timeout_s)),
            read_timeout_s=float(raw.get("read_timeout_s", defaults.read_timeout_s)),
            retry_delay_s=float(raw.get("retry_delay_s", defaults.retry_delay_s)),
            concurrency=int(raw.get("concurrency", defaults.concurrency)),
            body_cap_bytes=int(raw.get("body_cap_bytes", defaults.body_cap_bytes)),
            pass_deadline_s=float(raw.get("pass_deadline_s", defaults.pass_deadline_s)),
            ca_bundle=ca_bundle,
        )

    def _ca_bundle(self, text: str) -> Path | None:
        """probe.ca_bundle: a readable file holding at least one PEM certificate, read the way
        the TLS probe will read it (ssl's load_verify_locations)."""
        where, shown = "probe.ca_bundle", _show(text)
        try:
            path = (self.base_dir / text).resolve()
            with path.open("rb") as f:
                if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
                    self.problem(where, f"{shown}: not a file")
                    return None
                data = f.read(MAX_CA_BUNDLE_BYTES + 1)
        except FileNotFoundError:
            self.problem(where, f"{shown}: no such file")
            return None
        except (OSError, ValueError, RuntimeError) as exc:
            why = getattr(exc, "strerror", None) or str(exc)
            self.problem(where, f"{shown}: cannot be read ({_cap(why)})")
            return None
        if len(data) > MAX_CA_BUNDLE_BYTES:
            self.problem(
                where, f"{shown}: larger than {MAX_CA_BUNDLE_BYTES // 1024**2} MiB; not a CA bundle"
            )
            return None
        if b"-----BEGIN CERTIFICATE-----" not in data:
            self.problem(
                where,
                f"{shown}: holds no PEM certificate (-----BEGIN CERTIFICATE-----); the TLS probe "
                "trusts the CA certificates in this file",
            )
            return None
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(
                cadata=data.decode("ascii")
            )
        except (ssl.SSLError, UnicodeDecodeError, ValueError) as exc:
            self.problem(
                where, f"{shown}: not a PEM bundle the TLS probe can load ({_cap(str(exc))})"
            )
            return None
        return path

    def _chain(
        self, raw: Mapping[str, Any], *, where: str = "chain", name: str | None = None
    ) -> ChainSettings:
        decimals = int(raw.get("decimals", 18))
        defaults = ChainSettings(chain_id=int(raw["chain_id"]))
        return ChainSettings(
            chain_id=int(raw["chain_id"]),
            name=raw.get("name", name or defaults.name),
            token=raw.get("token", defaults.token),
            decimals=decimals,
            rpc_env=raw.get("rpc_env", defaults.rpc_env),
            rpc_url=raw.get("rpc_url"),
            explorer_url=raw.get("explorer_url"),
            deploy_min_wei=self._wei(raw, where, "deploy_min", "1", decimals),
            paymaster_min_deposit_wei=self._wei(
                raw, where, "paymaster_min_deposit", "0.2", decimals
            ),
            timeout_s=float(raw.get("timeout_s", defaults.timeout_s)),
            max_block_age_s=int(raw.get("max_block_age_s", defaults.max_block_age_s)),
        )

    def _wei(
        self, raw: Mapping[str, Any], where: str, key: str, default: str, decimals: int
    ) -> int:
        """ "0.2" HEI -> 200000000000000000 wei, exactly (Decimal, never a float)."""
        text = str(raw.get(key, default))
        try:
            return parse_amount(text, decimals)
        except ValueError as exc:
            self.problem(f"{where}.{key}", f"{_show(text)} {exc}")
            return 0  # a stand-in (the default itself may be finer than the token: decimals 0)

    def _identity(self, name: str, chain: Mapping[str, Any]) -> ChainIdentity | None:
        spec = self.raw["environments"][name].get("chain")
        if spec is None:
            return None
        network = spec.get("network")
        # The contract set an environment does not name comes from its network's table.
        shared: Mapping[str, Any] = chain
        if network is not None:
            known = chain.get("networks", {})
            if network not in known:
                listed = ", ".join(sorted(known)) or "none"
                self.problem(
                    f"environments.{name}.chain.network",
                    f"{_show(network)} is no [chain.networks] entry (declared: {listed})",
                )
                return None
            shared = known[network]
        return ChainIdentity(
            network=network,
            deployer=spec.get("deployer"),
            registry=spec.get("registry", shared.get("registry")),
            entrypoint=spec.get("entrypoint", shared.get("entrypoint")),
            paymaster=spec.get("paymaster", shared.get("paymaster")),
            sponsor=spec.get("sponsor"),
            bundler=spec.get("bundler"),
        )

    def check_deploy(self, period_s: int, probe: ProbeSettings) -> None:
        deploy = self.raw.get("deploy", {})
        if ("domain_name" in deploy) != ("certificate_arn" in deploy):
            have, want = (
                ("domain_name", "certificate_arn")
                if "domain_name" in deploy
                else ("certificate_arn", "domain_name")
            )
            self.problem(
                f"deploy.{want}", f"missing: deploy.{have} is set, and one needs the other"
            )
        auth = deploy.get("auth", {})
        if ("user_pool_id" in auth) != ("client_id" in auth):
            have, want = (
                ("user_pool_id", "client_id")
                if "user_pool_id" in auth
                else ("client_id", "user_pool_id")
            )
            self.problem(
                f"deploy.auth.{want}",
                f"missing: deploy.auth.{have} is set, and the edge function needs both "
                "(the fleetboard-auth stack's UserPoolId and ClientId outputs)",
            )
        region = self.raw.get("fleet", {}).get("region")
        pool = auth.get("user_pool_id")
        if pool and region and not pool.startswith(f"{region}_"):
            self.problem(
                "deploy.auth.user_pool_id",
                f"{_show(pool)} is not in the fleet region {_show(region)}; the fleetboard-auth "
                "stack builds the pool there: copy its UserPoolId output",
            )
        for key, text in schedule_problems(period_s, probe.pass_deadline_s):
            self.problem(key, text)

    def _thresholds(self, raw: Mapping[str, Any]) -> Thresholds:
        defaults = Thresholds()
        t = Thresholds(
            tls_amber_days=int(raw.get("tls_amber_days", defaults.tls_amber_days)),
            tls_red_days=int(raw.get("tls_red_days", defaults.tls_red_days)),
            slow_ms=float(raw.get("slow_ms", defaults.slow_ms)),
        )
        if t.tls_red_days > t.tls_amber_days:
            self.problem(
                "thresholds.tls_red_days",
                f"{t.tls_red_days} is more than tls_amber_days ({t.tls_amber_days}); "
                "red must come at fewer days left than amber",
            )
        return t

    def _check_bucket_pattern(self, pattern: str) -> None:
        try:
            compiled = re.compile(pattern)
        except re.error as exc:
            self.problem(
                "fleet.bucket_pattern", f"{_show(pattern)} is not a regular expression ({exc})"
            )
            return
        if "suffix" not in compiled.groupindex:
            self.problem("fleet.bucket_pattern", f"{_show(pattern)} has no (?P<suffix>...) group")

    def _environment(
        self, name: str, spec: Mapping[str, Any], fleet: Mapping[str, Any], pattern: str
    ) -> Environment:
        where = f"environments.{name}"
        zone = fleet["zone"]
        broker_host = spec["broker_host"]
        if not broker_host.endswith("." + zone):
            self.problem(
                f"{where}.broker_host", f"{_show(broker_host)} is not in the zone {zone!r}"
            )
        suffix = spec.get("suffix")
        if suffix is None:
            suffix = suffix_from_broker(broker_host)
            if suffix is None:
                self.problem(
                    f"{where}.broker_host",
                    f"{_show(broker_host)} does not follow the broker naming rule "
                    '(broker., test-broker., broker-test-N., broker-base.); set "suffix"',
                )
                suffix = f"-{name}"  # a stand-in, so one mistake does not cascade
        kind, slot = self._kind_and_slot(where, spec, suffix)
        tag_base = pattern.rstrip("*?")
        eip_tag = spec.get("eip_tag", eip_tag_for(tag_base, suffix))
        if len(eip_tag) > MAX_TAG_VALUE:
            self.problem(
                f"{where}.eip_tag",
                f"{_show(eip_tag)} is {len(eip_tag)} characters long; an EC2 tag value has at "
                f"most {MAX_TAG_VALUE}",
            )
        if not fnmatch.fnmatchcase(eip_tag, pattern):
            self.problem(
                f"{where}.eip_tag",
                f"{_show(eip_tag)} does not match fleet.eip_tag_pattern {_show(pattern)}, "
                "so discovery would never find its EIP",
            )
        optional = set(fleet.get("optional", ())) | set(spec.get("optional", ()))
        hosts = self._hosts(where, spec, fleet, broker_host, suffix, zone, optional)
        return Environment(
            name=name,
            kind=kind,
            slot=slot,
            suffix=suffix,
            broker_host=broker_host,
            eip_tag=eip_tag,
            expected_issuer=spec.get("issuer", f"https://{broker_host}"),
            hosts=hosts,
            instance_id=spec.get("instance_id"),
            eip=spec.get("eip"),
            retired=bool(spec.get("retired", False)),
        )

    def _kind_and_slot(
        self, where: str, spec: Mapping[str, Any], suffix: str
    ) -> tuple[EnvKind, int | None]:
        inferred_slot: int | None = None
        if suffix == "":
            inferred = EnvKind.PROD
        elif suffix == "-base":
            inferred = EnvKind.BASE
        elif m := re.fullmatch(r"-test(?:-(\d+))?", suffix):
            inferred, inferred_slot = EnvKind.TEST_SLOT, int(m.group(1) or 1)
        else:
            inferred = EnvKind.OTHER
        kind = EnvKind(spec.get("kind", inferred))
        slot = spec.get("slot", inferred_slot if kind is EnvKind.TEST_SLOT else None)
        if kind is EnvKind.TEST_SLOT and slot is None:
            self.problem(f"{where}.slot", "missing: a test-slot environment needs its slot number")
        if slot is not None and kind is not EnvKind.TEST_SLOT:
            self.problem(
                f"{where}.slot", f'{slot} is set but kind is {kind.value!r}, not "test-slot"'
            )
        return kind, slot

    def _hosts(
        self,
        where: str,
        spec: Mapping[str, Any],
        fleet: Mapping[str, Any],
        broker_host: str,
        suffix: str,
        zone: str,
        optional: set[str],
    ) -> tuple[Host, ...]:
        env_address = self._address(f"{where}.address", spec.get("address"))
        overrides: Mapping[str, Mapping[str, Any]] = spec.get("hosts", {})
        services = list(spec.get("services", fleet.get("services", DEFAULT_SERVICES)))
        workers = list(spec.get("workers", fleet.get("workers", DEFAULT_WORKERS)))
        plan: list[tuple[str, str, str, str, tuple[str, ...]]] = [
            ("broker", "broker", "broker", broker_host, BROKER_PATHS)
        ]
        plan += [(s, "service", s, service_host(s, suffix, zone), ("/healthz",)) for s in services]
        plan += [
            (w, "worker", f"worker:{w}", service_host(w, suffix, zone), ("/healthz",))
            for w in workers
        ]
        known = {key for key, *_ in plan}
        for key in overrides:
            if key not in known:
                close = difflib.get_close_matches(key, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                self.problem(
                    f"{where}.hosts.{key}",
                    f"no such service in this environment{hint} "
                    f"(known: {', '.join(sorted(known))})",
                )
        # fleet.optional may name services some environments lack ("may be absent" is its
        # point); an environment's own list must name its own services.
        for name in set(spec.get("optional", ())) - known:
            self.problem(f"{where}.optional", f"{name!r} is not a service of this environment")
        hosts = []
        for key, role, label, hostname, paths in plan:
            o = overrides.get(key, {})
            if "hostname" not in o and key != "broker" and (why := host_problem(hostname)):
                listed = "services" if role == "service" else "workers"
                origin = f"{where}.{listed}" if listed in spec else f"fleet.{listed}"
                self.problem(
                    origin,
                    f"{_show(key)} makes the host name {_show(hostname)}, which {why}; "
                    f'name it in [{where}.hosts.{key}] hostname = "..."',
                )
            address = self._address(f"{where}.hosts.{key}.address", o.get("address"))
            hosts.append(
                Host(
                    role=role,
                    label=label,
                    hostname=o.get("hostname", hostname),
                    paths=paths,
                    address=address or env_address,
                    optional=bool(o.get("optional", key in optional)),
                    skip=bool(o.get("skip", False)),
                )
            )
        return tuple(hosts)

    def _address(self, where: str, text: str | None) -> Address | None:
        if text is None:
            return None
        host, _, port_text = text.rpartition(":") if _has_port(text) else (text, "", "")
        host = host.strip("[]")
        port = int(port_text) if port_text else 443
        if not 0 < port < 65536:
            self.problem(where, f"{_show(text)} has port {port}; ports run from 1 to 65535")
        return Address(host=host, port=port)

    def _check_unique(self, envs: tuple[Environment, ...]) -> None:
        def dupes(label: str, key: str, values: Iterable[tuple[str, object]]) -> None:
            seen: dict[object, str] = {}
            for env_name, value in values:
                if value is None:
                    continue
                if value in seen:
                    self.problem(
                        f"environments.{env_name}.{key}",
                        f"{_show(value)} is already the {label} of environments.{seen[value]}",
                    )
                else:
                    seen[value] = env_name

        dupes("slot", "slot", ((e.name, e.slot) for e in envs))
        dupes("broker host", "broker_host", ((e.name, e.broker_host) for e in envs))
        dupes("EIP tag", "eip_tag", ((e.name, e.eip_tag) for e in envs))
        dupes("instance", "instance_id", ((e.name, e.instance_id) for e in envs))
        dupes("EIP", "eip", ((e.name, e.eip) for e in envs))


def _has_port(text: str) -> bool:
    if text.startswith("["):
        return "]:" in text
    if text.count(":") > 1:  # a bare IPv6 address
        return False
    return ":" in text


def is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True
