"""Per-check verdicts: an answer, a failure or a certificate -> (status, reason, summary).

Each returns a `Verdict`; the reason is "" when green, otherwise it starts with a Reason
value so tools can group by failure class."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from fleetboard import jsonsafe, text
from fleetboard.model import (
    CertFacts,
    HttpExchange,
    ProbeError,
    Reason,
    Status,
)
from fleetboard.text import visible

# Each classify_* returns (status, reason, summary). reason is "" when green, otherwise it
# starts with a Reason value so tools can group by failure class.

Verdict = tuple[Status, str, str]


# --------------------------------------------------------------------------- the health rule
# A /healthz body is green only on a positive, unambiguous signal: a board that once showed
# `not ok`, `["ok"]` and `{"ok": false} ok` as green (any `\bok\b` passed) must never call a
# body healthy that does not say so plainly. The whole rule is the data below; the code after
# it only applies it (tests/unit/test_health_body.py holds the table of bodies).
#
# - A text body is green when all of it, stripped of HTTP whitespace, is `ok` in any case.
# - A JSON body is green when it is an object whose `ok` is JSON true (not "true", not 1)
#   and every field of HEALTH_FIELDS it carries holds a value that agrees with that. Any
#   other value of such a field contradicts it: the body gets that field's `otherwise`
#   status, and the summary quotes the field. A key that appears twice is ambiguous: red.
# - Anything else (an array, a string, a number, HTML, `not ok`, `okay`) is red.

#: The only text body that is green (compared stripped of HTTP whitespace, ASCII case-folded).
HEALTH_OK_TEXT = "ok"
#: The field a JSON body must carry, holding exactly JSON `true`.
HEALTH_OK_FIELD = "ok"


@dataclass(frozen=True, slots=True)
class Agrees:
    """A field that, when a health body carries it, must agree with `"ok": true`."""

    field: str
    values: tuple[object, ...]  # the JSON values that agree; compared with their type too
    empty: bool = False  # "", [] and {} agree as well (an error list with nothing in it)
    folded: bool = False  # strings are compared stripped and lower-cased
    otherwise: Status = Status.RED  # the status of a body where it says something else
    says: str = "contradicts ok"  # what such a body says: its reason is "body: <says>"
    #: Fields whose value explains the disagreement in the summary (the bundler's `reason`).
    explained_by: tuple[str, ...] = ()


HEALTH_FIELDS: tuple[Agrees, ...] = (
    Agrees(
        "status",
        ("ok", "pass", "passing", "healthy", "up", "green", "ready", "running"),
        folded=True,
    ),
    Agrees("healthy", (True,)),
    Agrees("error", (None, False), empty=True),
    Agrees("errors", (None,), empty=True),
    # The bundler says ok but not ready until its submitter is funded: test slots run
    # unsponsored by design, so that is amber, not red (docs/fleet.md#health).
    Agrees(
        "ready",
        (True,),
        otherwise=Status.AMBER,
        says="not ready",
        explained_by=("reason", "missing"),
    ),
    Agrees("degraded", (False,), otherwise=Status.AMBER, says="degraded"),
)

#: How much of a body, field or value a summary quotes.
QUOTE_CAP = 60
#: Whitespace a text body may carry around `ok` (HTTP's, not Unicode's).
_HTTP_SPACE = " \t\r\n"


def quoted(text: str, cap: int = QUOTE_CAP) -> str:
    """Evidence for a summary: `visible(text)` in single quotes, or (empty)."""
    return f"'{visible(text, cap)}'" if text else "(empty)"


class _Object(dict[str, Any]):
    """A JSON object that remembers which of its keys appeared more than once."""

    duplicates: frozenset[str] = frozenset()


def _object_pairs(pairs: list[tuple[str, Any]]) -> _Object:
    doc = _Object(pairs)
    if len(doc) != len(pairs):
        seen: set[str] = set()
        twice: set[str] = set()
        for key, _ in pairs:
            (twice if key in seen else seen).add(key)
        doc.duplicates = frozenset(twice)
    return doc


def _duplicates(doc: dict[str, Any]) -> frozenset[str]:
    return doc.duplicates if isinstance(doc, _Object) else frozenset()


def _parse_json(body: str) -> tuple[bool, Any]:
    """(True, value) when the body is JSON, else (False, None). Never raises: a body
    nested too deep for the parser is simply not JSON to us."""
    try:
        return True, jsonsafe.loads(body, object_pairs_hook=_object_pairs)
    except (ValueError, RecursionError):
        return False, None


def _same(value: object, wanted: object) -> bool:
    return type(value) is type(wanted) and value == wanted


def _agrees(rule: Agrees, value: object) -> bool:
    if rule.empty and isinstance(value, str | list | dict) and not value:
        return True
    if rule.folded and isinstance(value, str):
        value = value.strip().lower()
    return any(_same(value, wanted) for wanted in rule.values)


def _evidence(field: str, value: object) -> str:
    try:
        shown = json.dumps(value, ensure_ascii=False)
    except (ValueError, RecursionError):
        shown = "…"
    return quoted(f"{json.dumps(field)}: {shown}")


def _ms(latency_ms: float | None) -> str:
    return "" if latency_ms is None else f" in {text.latency(latency_ms)}"


def classify_probe_error(error: ProbeError) -> Verdict:
    """A probe with no HTTP answer. The layer tells the operator where to look."""
    detail = error.detail
    match error.reason:
        case Reason.DNS | Reason.CONNECT | Reason.TIMEOUT:
            # The transport's detail is already a sentence: "connection refused",
            # "NXDOMAIN: x does not resolve", "TLS handshake timed out after 4 s".
            return Status.RED, f"{error.reason.value}: {detail}", detail
        case Reason.TLS:
            return Status.RED, f"tls: {detail}", f"TLS: {detail}"
        case Reason.HTTP | Reason.BODY:  # it answered, but not in HTTP we could read
            return Status.RED, f"{error.reason.value}: {detail}", detail
        case Reason.DEADLINE:
            return Status.UNKNOWN, f"deadline: {detail}", "not probed: the pass ran out of time"
        case _:
            return Status.UNKNOWN, f"{error.reason.value}: {detail}", detail


def json_object(body: str) -> dict[str, Any] | None:
    """The body as a JSON object; None for anything else (an array, text, malformed)."""
    parsed, value = _parse_json(body)
    return value if parsed and isinstance(value, dict) else None


def _first_failure(exchange: HttpExchange, slow_ms: float) -> Verdict | None:
    """The verdict shared by every path: no answer, a non-200, or a body too big to read."""
    if exchange.error is not None:
        return classify_probe_error(exchange.error)
    code = exchange.status_code
    took = _ms(exchange.latency_ms)
    if exchange.body_truncated:
        return (
            Status.RED,
            "body: too large",
            f"HTTP {code}{took}, but the body is over the cap; not a health answer",
        )
    if code != 200:
        return Status.RED, f"http {code}", f"HTTP {code}{took}"
    return None


def _slow(verdict: Verdict, exchange: HttpExchange, slow_ms: float) -> Verdict:
    if verdict[0] is Status.GREEN and (exchange.latency_ms or 0) > slow_ms:
        return Status.AMBER, "slow: over the slow_ms threshold", verdict[2]
    return verdict


def classify_health(exchange: HttpExchange, slow_ms: float) -> Verdict:
    """/healthz, by the rule at the top of this module: the text `ok`, or a JSON object whose
    `ok` is true and that nothing in HEALTH_FIELDS contradicts; a bundler not ready is amber."""
    failure = _first_failure(exchange, slow_ms)
    if failure is not None:
        return failure
    verdict = health_body(exchange.body, _ms(exchange.latency_ms))
    return _slow(verdict, exchange, slow_ms)


def health_body(body: str, took: str = "") -> Verdict:
    """The verdict of a 200 answer's /healthz body alone (`took`: " in 41 ms" or "")."""
    text = body.strip(_HTTP_SPACE)
    if text.isascii() and text.lower() == HEALTH_OK_TEXT:
        return Status.GREEN, "", f"HTTP 200 ok{took}"
    parsed, doc = _parse_json(body)
    if not parsed:
        return Status.RED, "body: not ok", f"HTTP 200{took} but the body is {quoted(text)}, not ok"
    if not isinstance(doc, dict):
        kind = {list: "a JSON array", str: "a JSON string", type(None): "JSON null"}.get(
            type(doc), "a bare JSON value"
        )
        summary = f"HTTP 200{took} but the body is {kind}, not a health object: {quoted(text)}"
        return Status.RED, "body: not ok", summary
    return _health_object(doc, took)


def _health_object(doc: dict[str, Any], took: str) -> Verdict:
    duplicates = _duplicates(doc)
    named = {HEALTH_OK_FIELD, *(rule.field for rule in HEALTH_FIELDS)}
    ambiguous = sorted(duplicates & named)
    if ambiguous:
        field = quoted(ambiguous[0])
        return Status.RED, "body: ambiguous", f"HTTP 200{took} but {field} appears twice"
    if not _same(doc.get(HEALTH_OK_FIELD), True):
        shown = (
            _evidence(HEALTH_OK_FIELD, doc[HEALTH_OK_FIELD])
            if HEALTH_OK_FIELD in doc
            else f"no {quoted(HEALTH_OK_FIELD)} field"
        )
        return Status.RED, "body: ok is not true", f"HTTP 200{took} but {shown}"
    against = [rule for rule in HEALTH_FIELDS if rule.field in doc]
    against = [rule for rule in against if not _agrees(rule, doc[rule.field])]
    if not against:
        return Status.GREEN, "", f"HTTP 200 ok{took}"
    worst = next((rule for rule in against if rule.otherwise is Status.RED), against[0])
    reason = f"body: {worst.says}"
    why = next((doc[k] for k in worst.explained_by if doc.get(k)), None)
    if isinstance(why, list):
        why = ", ".join(map(str, why))
    if why is not None:
        return worst.otherwise, reason, f"ok but {worst.says}: {visible(str(why), 120)}"
    return (
        worst.otherwise,
        reason,
        f"HTTP 200{took}, ok is true but {_evidence(worst.field, doc[worst.field])}",
    )


#: Broker /readyz (docs/fleet.md#health): the body's `status` -> its status and the one HTTP code it
#: comes with. A status with another code, or `ready` beside `"degraded": true`, says two
#: things at once and is never green.
READY_STATUSES: dict[str, tuple[Status, int]] = {
    "ready": (Status.GREEN, 200),
    "degraded": (Status.AMBER, 200),
    "unready": (Status.RED, 503),
}
#: A check in the body's `checks` with one of these statuses is passing.
READY_CHECK_PASSING = ("ok", "ready", "pass")


def _failing_checks(doc: dict[str, Any]) -> str:
    checks = doc.get("checks")
    failing = [
        visible(str(check.get("name")), 40)
        for check in (checks if isinstance(checks, list) else [])
        if isinstance(check, dict) and check.get("status") not in READY_CHECK_PASSING
    ]
    return ", ".join(failing[:4]) or "no failing check named"


def classify_readyz(exchange: HttpExchange, slow_ms: float) -> Verdict:
    """Broker /readyz: ready green, degraded amber (test slots boot degraded), unready red."""
    code = exchange.status_code
    if exchange.error is None and code == 404:
        return Status.AMBER, "http 404", "no /readyz on this build (HTTP 404)"
    if exchange.error is not None or exchange.body_truncated or code not in (200, 503):
        failure = _first_failure(exchange, slow_ms)
        if failure is not None:
            return failure
    took = _ms(exchange.latency_ms)
    parsed, doc = _parse_json(exchange.body)
    if not (parsed and isinstance(doc, dict)):
        if code != 200:
            return Status.RED, f"http {code}", f"HTTP {code}{took}"
        shown = quoted(exchange.body.strip(_HTTP_SPACE))
        return Status.RED, "body: no status", f"HTTP 200 but no readiness status in {shown}"
    if {"status", "degraded"} & _duplicates(doc):
        return Status.RED, "body: ambiguous", f"HTTP {code}{took} but a key appears twice"
    status = doc.get("status")
    known = READY_STATUSES.get(status) if isinstance(status, str) else None
    if known is None:
        if code != 200:
            return Status.RED, f"http {code}", f"HTTP {code}{took}"
        shown = _evidence("status", status) if "status" in doc else "no readiness status"
        return Status.RED, "body: no status", f"HTTP 200 but {shown} in the body"
    verdict, usual_code = known
    detail = _failing_checks(doc)
    if code != usual_code:  # a 503 that says ready, a 200 that says unready
        return Status.RED, f"http {code}", f"HTTP {code}{took} but the body says {status}: {detail}"
    if verdict is Status.GREEN and not _same(doc.get("degraded", False), False):
        shown = _evidence("degraded", doc["degraded"])
        return Status.AMBER, "body: degraded", f"ready but {shown}: {detail}"
    if verdict is Status.GREEN:
        return _slow((Status.GREEN, "", f"ready{took}"), exchange, slow_ms)
    if verdict is Status.AMBER:
        return Status.AMBER, "body: degraded", f"degraded: {detail}"
    return Status.RED, f"http {code}", f"unready: {detail}"


def deployed_issuer(exchange: HttpExchange | None) -> str | None:
    """The `issuer` of /.well-known/openid-configuration, if the broker answered one."""
    if exchange is None or exchange.error is not None or exchange.status_code != 200:
        return None
    doc = json_object(exchange.body)
    issuer = doc.get("issuer") if doc else None
    return issuer if isinstance(issuer, str) else None


def classify_issuer(exchange: HttpExchange, slow_ms: float) -> Verdict:
    """Whether the broker tells its issuer; whether it is the right one is a drift rule."""
    issuer = deployed_issuer(exchange)
    if issuer is not None:
        return Status.GREEN, "", f"issuer {issuer}"
    failure = _first_failure(exchange, slow_ms)
    if failure is not None:
        status, reason, summary = failure
        # The broker's own health has its check; an unreadable issuer only hides drift.
        return (
            (Status.AMBER if status is Status.RED else status),
            reason,
            f"issuer unknown: {summary}",
        )
    return Status.AMBER, "body: no issuer", "issuer unknown: no issuer in the answer"


def days_left(not_after: datetime, now: datetime) -> int:
    """Whole days until expiry, rounded down; negative once expired."""
    return math.floor((not_after - now).total_seconds() / 86400)


def classify_cert(cert: CertFacts, now: datetime, amber_days: int, red_days: int) -> Verdict:
    """Days left against the thresholds; a certificate that does not verify is red."""
    left = days_left(cert.not_after, now) if cert.not_after else None
    if not cert.verified:
        when = f" (expires in {left} days)" if left is not None and left >= 0 else ""
        return (
            Status.RED,
            f"tls: {cert.error or 'not verified'}",
            f"{cert.error or 'not verified'}{when}",
        )
    if left is None:
        return Status.UNKNOWN, "cert: no expiry date", "certificate has no expiry date"
    if left < 0:
        return Status.RED, "cert: expired", f"certificate expired {-left} days ago"
    if left <= red_days:
        return Status.RED, "cert: expiring", f"certificate expires in {left} days"
    if left <= amber_days:
        return (
            Status.AMBER,
            "cert: expiring",
            f"certificate expires in {left} days; renewal is late",
        )
    return Status.GREEN, "", f"valid {left} more days ({cert.issuer})"


def optional_verdict(verdict: Verdict) -> Verdict:
    """An optional endpoint never makes its environment red: absent is grey, broken amber."""
    status, reason, summary = verdict
    if status is not Status.RED:
        return verdict
    if Reason.of(reason) is Reason.DNS:
        return Status.UNKNOWN, f"optional: {reason}", f"{summary} (optional)"
    return Status.AMBER, reason, f"{summary} (optional)"
