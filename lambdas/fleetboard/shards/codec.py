"""The probing sources' facts as JSON and back: what a shard hands the merge.

JSON, not pickle: the objects sit in the board's bucket between two invocations, and
reading them must never run code. Every field is written; `decode` raises ValueError on
anything it did not write, which the merge turns into that shard's environments unknown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fleetboard.model import (
    CertFacts,
    HttpExchange,
    HttpFacts,
    ProbeError,
    Reason,
    SourceFailure,
    TlsFacts,
)

Json = dict[str, Any]


def _when(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _at(value: object) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError(f"a time must be a string, not {value!r}")
    return datetime.fromisoformat(value)


def _error(error: ProbeError | None) -> Json | None:
    return None if error is None else {"reason": error.reason.value, "detail": error.detail}


def _probe_error(doc: Json | None) -> ProbeError | None:
    return None if doc is None else ProbeError(Reason(doc["reason"]), str(doc["detail"]))


def _cert(cert: CertFacts) -> Json:
    return {
        "host": cert.host,
        "not_after": _when(cert.not_after),
        "issuer": cert.issuer,
        "subject": cert.subject,
        "verified": cert.verified,
        "error": cert.error,
        "observed_at": _when(cert.observed_at),
    }


def _cert_facts(doc: Json) -> CertFacts:
    return CertFacts(
        host=str(doc["host"]),
        not_after=_at(doc["not_after"]),
        issuer=str(doc["issuer"]),
        subject=str(doc["subject"]),
        verified=bool(doc["verified"]),
        error=doc["error"],
        observed_at=_at(doc["observed_at"]),
    )


def _exchange(ex: HttpExchange) -> Json:
    return {
        "host": ex.host,
        "path": ex.path,
        "observed_at": _when(ex.observed_at),
        "attempts": ex.attempts,
        "status_code": ex.status_code,
        "body": ex.body,
        "body_truncated": ex.body_truncated,
        "latency_ms": ex.latency_ms,
        "error": _error(ex.error),
    }


def _http_exchange(doc: Json) -> HttpExchange:
    observed = _at(doc["observed_at"])
    if observed is None:
        raise ValueError("an exchange without observed_at")
    return HttpExchange(
        host=str(doc["host"]),
        path=str(doc["path"]),
        observed_at=observed,
        attempts=int(doc["attempts"]),
        status_code=doc["status_code"],
        body=str(doc["body"]),
        body_truncated=bool(doc["body_truncated"]),
        latency_ms=doc["latency_ms"],
        error=_probe_error(doc["error"]),
    )


def _failure(failure: SourceFailure) -> Json:
    return {
        "failure": {
            "source": failure.source,
            "reason": failure.reason,
            "blind": failure.blind,
            "access": failure.access,
            "information": failure.information,
            "requests": failure.requests,
        }
    }


def _source_failure(doc: Json) -> SourceFailure:
    return SourceFailure(
        source=str(doc["source"]),
        reason=str(doc["reason"]),
        blind=bool(doc["blind"]),
        access=bool(doc["access"]),
        information=bool(doc["information"]),
        requests=doc["requests"],
    )


def encode_http(facts: object) -> Json:
    if isinstance(facts, SourceFailure):
        return _failure(facts)
    if not isinstance(facts, HttpFacts):
        raise TypeError(f"not http facts: {type(facts).__name__}")
    return {
        "exchanges": [_exchange(ex) for ex in facts.exchanges.values()],
        "certs": [_cert(cert) for cert in facts.certs.values()],
        "skipped": dict(facts.skipped),
    }


def decode_http(doc: Json) -> HttpFacts | SourceFailure:
    try:
        if "failure" in doc:
            return _source_failure(doc["failure"])
        exchanges = [_http_exchange(ex) for ex in doc["exchanges"]]
        certs = [_cert_facts(cert) for cert in doc["certs"]]
        return HttpFacts(
            exchanges={(ex.host, ex.path): ex for ex in exchanges},
            certs={cert.host: cert for cert in certs},
            skipped={str(k): str(v) for k, v in doc["skipped"].items()},
        )
    except (KeyError, TypeError, AttributeError) as exc:
        why = f"http facts not as a shard writes them ({type(exc).__name__}: {exc})"
        raise ValueError(why) from None


def encode_tls(facts: object) -> Json:
    if isinstance(facts, SourceFailure):
        return _failure(facts)
    if not isinstance(facts, TlsFacts):
        raise TypeError(f"not tls facts: {type(facts).__name__}")
    return {
        "certs": {
            host: _cert(found) if isinstance(found, CertFacts) else {"unseen": _error(found)}
            for host, found in facts.certs.items()
        },
        "reused": facts.reused,
    }


def decode_tls(doc: Json) -> TlsFacts | SourceFailure:
    try:
        if "failure" in doc:
            return _source_failure(doc["failure"])
        certs: dict[str, CertFacts | ProbeError] = {}
        for host, found in doc["certs"].items():
            unseen = _probe_error(found["unseen"]) if "unseen" in found else None
            certs[str(host)] = unseen if unseen is not None else _cert_facts(found)
        return TlsFacts(certs=certs, reused=int(doc["reused"]))
    except (KeyError, TypeError, AttributeError) as exc:
        why = f"tls facts not as a shard writes them ({type(exc).__name__}: {exc})"
        raise ValueError(why) from None
