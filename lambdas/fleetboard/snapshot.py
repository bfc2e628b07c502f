"""Board -> snapshot JSON, and the check of every snapshot against the schema in the repo.

The JSON is the contract other tools read (DESIGN §6); the page is only a view of it, so
render.py takes the validated document, not the dataclasses.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from functools import cache
from importlib import resources
from typing import Any

from fleetboard.model import (
    Board,
    CertSummary,
    ChainSummary,
    ChainView,
    Check,
    CiSummary,
    DeployView,
    Drift,
    EnvironmentView,
    Issue,
    Machine,
    RunView,
    SlotCi,
    WalletView,
)

SCHEMA_VERSION = 1

JsonDoc = dict[str, Any]


class SnapshotInvalid(ValueError):
    """A snapshot that does not match the schema: a collector bug, never published."""


def iso(value: datetime | None) -> str | None:
    """UTC, seconds precision, `Z` suffix: the one time format of the snapshot."""
    if value is None:
        return None
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def to_document(board: Board) -> JsonDoc:
    """The snapshot as plain JSON-able data, in the schema's shape."""
    c = board.collector
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": iso(board.generated_at),
        "fleet": {"name": board.fleet, "zone": board.zone, "region": board.region},
        "collector": {
            "version": c.version,
            "duration_s": round(c.duration_s, 3),
            "aws_requests": c.aws_requests,
            "probes": c.probes,
            "sources": {
                name: {"ok": run.ok, "duration_s": round(run.duration_s, 3), "error": run.error}
                for name, run in c.sources.items()
            },
        },
        "summary": {
            "status": str(board.summary.status),
            "message": board.summary.message,
            "suggested_next_action": board.summary.suggested_next_action,
            "issues": [_issue(i) for i in board.summary.issues],
            "counts": dict(board.summary.counts),
            "blind": board.summary.blind,
        },
        "environments": [_environment(e) for e in board.environments],
        "drift": [_drift(d) for d in board.fleet_drift],
        "ci": _ci(board.ci),
        "chain": _chain(board.chain),
        "chain_networks": [_chain(c) for c in board.chain_networks],
    }


def _wei(value: int | None) -> str | None:
    """Money as an exact integer string: JSON numbers lose precision past 2**53."""
    return None if value is None else str(value)


def _wallet(w: WalletView) -> JsonDoc:
    return {
        "role": w.role,
        "address": w.address,
        "balance_wei": _wei(w.balance_wei),
        "balance": w.balance,
        "floor_wei": str(w.floor_wei),
        "nonce": w.nonce,
        "nonce_moved": w.nonce_moved,
        "status": str(w.status),
        "text": w.text,
        "url": w.url,
    }


def _chain_env(c: ChainView | None) -> JsonDoc | None:
    if c is None:
        return None
    return {
        "status": str(c.status),
        "omni": c.omni,
        "registry": c.registry,
        "master": c.master,
        "master_registered": c.master_registered,
        "master_text": c.master_text,
        "wallets": [_wallet(w) for w in c.wallets],
        "network": c.network,
    }


def _chain(c: ChainSummary | None) -> JsonDoc | None:
    if c is None:
        return None
    return {
        "status": str(c.status),
        "text": c.text,
        "chain_id": c.chain_id,
        "expected_chain_id": c.expected_chain_id,
        "block_number": c.block_number,
        "block_age_s": None if c.block_age_s is None else round(c.block_age_s, 1),
        "requests": c.requests,
        "error": c.error,
        "network": c.network,
        "name": c.name,
    }


def _run(run: RunView) -> JsonDoc:
    return {
        "run_id": run.run_id,
        "number": run.number,
        "url": run.url,
        "workflow": run.workflow,
        "status": run.status,
        "event": run.event,
        "pr": run.pr,
        "title": run.title,
        "branch": run.branch,
        "actor": run.actor,
        "created_at": iso(run.created_at),
        "started_at": iso(run.started_at),
        "job": run.job,
        "slot": run.slot,
        "mapped_by": run.mapped_by,
        "group": run.group,
    }


def _slot_ci(ci: SlotCi | None) -> JsonDoc | None:
    if ci is None:
        return None
    return {
        "holder": _run(ci.holder) if ci.holder else None,
        "holders": [_run(r) for r in ci.holders],
        "queued": [_run(r) for r in ci.queued],
    }


def _deploy(deploy: DeployView | None) -> JsonDoc | None:
    if deploy is None:
        return None
    return {
        "at": iso(deploy.at),
        "run_id": deploy.run_id,
        "ref": deploy.ref,
        "status": deploy.status,
        "stale": deploy.stale,
        "text": deploy.text,
    }


def _ci(ci: CiSummary | None) -> JsonDoc | None:
    if ci is None:
        return None
    return {
        "configured": ci.configured,
        "status": str(ci.status),
        "text": ci.text,
        "in_progress": ci.in_progress,
        "queued": ci.queued,
        "rate_remaining": ci.rate_remaining,
        "rate_limit": ci.rate_limit,
        "requests": ci.requests,
        "not_modified": ci.not_modified,
        "notes": list(ci.notes),
        "error": ci.error,
        "runs": [_run(r) for r in ci.runs],
        "main_sha": ci.main_sha,
    }


def _issue(issue: Issue) -> JsonDoc:
    return {"status": str(issue.status), "env": issue.env, "check": issue.check, "text": issue.text}


def _drift(drift: Drift) -> JsonDoc:
    return {"kind": drift.kind, "status": str(drift.status), "text": drift.text}


def _cert(cert: CertSummary | None) -> JsonDoc | None:
    if cert is None:
        return None
    return {"not_after": iso(cert.not_after), "days_left": cert.days_left, "issuer": cert.issuer}


def _check(check: Check) -> JsonDoc:
    return {
        "id": check.id,
        "name": check.name,
        "kind": check.kind,
        "status": str(check.status),
        "reason": check.reason,
        "summary": check.summary,
        "source": check.source,
        "observed_at": iso(check.observed_at),
        "host": check.host,
        "latency_ms": None if check.latency_ms is None else round(check.latency_ms, 1),
        "optional": check.optional,
        "cert": _cert(check.cert),
    }


def _machine(m: Machine) -> JsonDoc:
    return {
        "instance_id": m.instance_id,
        "state": m.state,
        "type": m.instance_type,
        "launched_at": iso(m.launched_at),
        "eip": m.eip,
        "eip_tag": m.eip_tag,
        "eip_declared": m.eip_declared,
    }


def _environment(env: EnvironmentView) -> JsonDoc:
    return {
        "name": env.name,
        "kind": str(env.kind),
        "slot": env.slot,
        "lifecycle": str(env.lifecycle),
        "status": str(env.status),
        "broker_host": env.broker_host,
        "machine": _machine(env.machine),
        "checks": [_check(c) for c in env.checks],
        "drift": [_drift(d) for d in env.drift],
        "ci": _slot_ci(env.ci),
        "deploy": _deploy(env.deploy),
        "chain": _chain_env(env.chain),
    }


@cache
def schema() -> JsonDoc:
    text = resources.files("fleetboard").joinpath("schema/snapshot.schema.json").read_text()
    doc: JsonDoc = json.loads(text)
    return doc


@cache
def _fast_check() -> Any:
    """The schema compiled to Python once per process: a 100-environment snapshot checks in
    tens of milliseconds, where a generic validator takes most of a second."""
    import fastjsonschema

    return fastjsonschema.compile(schema())


def problems(doc: JsonDoc) -> list[str]:
    """Every way `doc` breaks the schema, as `path: message` lines (empty when valid)."""
    import fastjsonschema

    try:
        _fast_check()(doc)
    except fastjsonschema.JsonSchemaValueException:
        pass
    else:
        return []
    # Slow path, only for a broken snapshot: list every problem, not just the first.
    from jsonschema import Draft7Validator

    errors = sorted(
        Draft7Validator(schema()).iter_errors(doc), key=lambda e: list(map(str, e.absolute_path))
    )
    return [f"{'.'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}" for e in errors]


def validate(doc: JsonDoc) -> None:
    """Raise SnapshotInvalid listing every problem; return quietly when the doc is valid."""
    found = problems(doc)
    if found:
        shown = "; ".join(found[:5]) + (f"; and {len(found) - 5} more" if len(found) > 5 else "")
        raise SnapshotInvalid(f"snapshot does not match snapshot.schema.json: {shown}")


def dumps(doc: JsonDoc) -> bytes:
    """Compact, stable JSON (keys in schema order) with a trailing newline."""
    return (json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
