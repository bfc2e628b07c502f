"""Per-check verdicts: an answer, a failure or a certificate -> (status, reason, summary).

Each returns a `Verdict`; the reason is "" when green, otherwise it starts with a Reason
value so tools can group by failure class."""

from __future__ import annotations

import json
import math
import re
from datetime import datetime
from typing import Any

from fleetboard import text
from fleetboard.model import (
    CertFacts,
    HttpExchange,
    ProbeError,
    Reason,
    Status,
)

# Each classify_* returns (status, reason, summary). reason is "" when green, otherwise it
# starts with a Reason value so tools can group by failure class.

Verdict = tuple[Status, str, str]


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
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


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
    """/healthz: `ok` text, or JSON with "ok": true; a bundler not ready is amber, not red."""
    failure = _first_failure(exchange, slow_ms)
    if failure is not None:
        return failure
    took = _ms(exchange.latency_ms)
    doc = json_object(exchange.body)
    if doc is None:
        if re.search(r"\bok\b", exchange.body, re.IGNORECASE):
            return _slow((Status.GREEN, "", f"HTTP 200 ok{took}"), exchange, slow_ms)
        shown = exchange.body.strip()[:60] or "(empty)"
        return Status.RED, "body: not ok", f"HTTP 200{took} but the body is {shown!r}, not ok"
    if doc.get("ok") is not True:
        return (
            Status.RED,
            "body: ok is not true",
            f"HTTP 200{took} but ok={json.dumps(doc.get('ok'))}",
        )
    if doc.get("ready") is False:
        why = doc.get("reason") or ", ".join(map(str, doc.get("missing") or [])) or "no reason"
        return Status.AMBER, "body: not ready", f"ok but not ready: {str(why)[:120]}"
    return _slow((Status.GREEN, "", f"HTTP 200 ok{took}"), exchange, slow_ms)


def classify_readyz(exchange: HttpExchange, slow_ms: float) -> Verdict:
    """Broker /readyz: ready green, degraded amber (test slots boot degraded), unready red."""
    if exchange.error is None and exchange.status_code in (200, 503):
        doc = json_object(exchange.body) if not exchange.body_truncated else None
        if doc is not None and isinstance(doc.get("status"), str):
            took = _ms(exchange.latency_ms)
            failing = [
                str(c.get("name"))
                for c in doc.get("checks") or []
                if isinstance(c, dict) and c.get("status") not in ("ok", "ready", "pass")
            ]
            detail = ", ".join(failing[:4]) or "no failing check named"
            match doc["status"]:
                case "ready":
                    return _slow((Status.GREEN, "", f"ready{took}"), exchange, slow_ms)
                case "degraded":
                    return Status.AMBER, "body: degraded", f"degraded: {detail}"
                case "unready":
                    return Status.RED, f"http {exchange.status_code}", f"unready: {detail}"
    if exchange.error is None and exchange.status_code == 404:
        return Status.AMBER, "http 404", "no /readyz on this build (HTTP 404)"
    failure = _first_failure(exchange, slow_ms)
    if failure is not None:
        return failure
    return Status.RED, "body: no status", "HTTP 200 but no readiness status in the body"


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
    if reason.startswith("dns"):
        return Status.UNKNOWN, f"optional: {reason}", f"{summary} (optional)"
    return Status.AMBER, reason, f"{summary} (optional)"
