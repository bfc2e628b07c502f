"""The alerting's state kept beside the board (`state/alerts.json`): what each environment
was alerted at, the forecasts sent today, the messages not yet delivered, the keys of
those delivered lately.

Read once before the decisions and written before sending and after each delivery
(alerts/decide.py says why). Checked whole on the way in; anything unreadable, or a store
that fails, starts the alerting afresh, logged, never a failed pass: an environment still
red then alerts again once it has held `fail_passes` passes (one message more, never
one less).
"""

from __future__ import annotations

import json
import logging
from datetime import datetime
from typing import Any

from fleetboard import stored
from fleetboard.alerts.model import Alert, AlertState, Kind, Link, Outgoing, Watch
from fleetboard.state import StateConflict, StateStore
from fleetboard.text import scrub

log = logging.getLogger("fleetboard")

STATE_NAME = "alerts"
VERSION = 1
#: Larger is not ours: 1,000 environments' watches and a day's outbox are well under it.
MAX_BYTES = 4 * 1024 * 1024


def encode(state: AlertState) -> bytes:
    doc = {
        "version": VERSION,
        "watches": {name: _watch(w) for name, w in sorted(state.watches.items())},
        "forecasts": dict(sorted(state.forecasts.items())),
        "outbox": [
            {"alert": _alert(o.alert), "channels": list(o.channels), "attempts": o.attempts}
            for o in state.outbox
        ],
        "sent": list(state.sent),
        "last": state.last,
        "failing": dict(sorted(state.failing.items())),
    }
    return json.dumps(doc, separators=(",", ":"), ensure_ascii=False).encode()


def decode(data: bytes) -> AlertState:
    """The saved state; ValueError saying what is wrong with it."""
    doc = stored.versioned(data, VERSION, "alert state", MAX_BYTES)
    try:
        return AlertState(
            watches={
                stored.text(k): _unwatch(v) for k, v in stored.mapping(doc["watches"]).items()
            },
            forecasts={
                stored.text(k): stored.text(v) for k, v in stored.mapping(doc["forecasts"]).items()
            },
            outbox=tuple(
                Outgoing(
                    _unalert(o["alert"]),
                    tuple(stored.text(c) for c in o["channels"]),
                    stored.count(o["attempts"]),
                )
                for o in doc["outbox"]
            ),
            sent=tuple(stored.text(k) for k in doc["sent"]),
            last=None if doc["last"] is None else stored.text(doc["last"]),
            failing={stored.text(k): stored.text(v) for k, v in _items(doc["failing"])},
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise ValueError(f"malformed ({type(exc).__name__})") from None


def load(store: StateStore) -> AlertState:
    """The state the last pass saved; a fresh one on the first pass, or (logged) when it
    cannot be read. Never raises."""
    try:
        data = store.load_state(STATE_NAME)
    except Exception as exc:  # the store itself failed: start afresh, never a failed pass
        why = f"could not be read ({type(exc).__name__})"
    else:
        if data is None:
            return AlertState()
        try:
            return decode(data)
        except ValueError as exc:
            why = f"was unreadable ({scrub(str(exc), limit=120)})"
    log.warning("alerts: the alert state %s; alerting starts afresh", why)
    return AlertState()


def save(store: StateStore, state: AlertState) -> StateConflict | None:
    """Write the state (see stored.save_or_log: a conflict means another pass wrote
    it since this one read it, and this one must not send)."""
    return stored.save_or_log(store, STATE_NAME, encode(state), "the alert state", part="alerts")


# --------------------------------------------------------------------------- shapes


def _watch(w: Watch) -> dict[str, Any]:
    return {
        "alerted": w.alerted,
        "seen": w.seen,
        "count": w.count,
        "named": list(w.named),
        "last_sent": _time(w.last_sent),
        "flapping": w.flapping,
    }


def _unwatch(v: Any) -> Watch:
    return Watch(
        alerted=stored.text(v["alerted"]),
        seen=stored.text(v["seen"]),
        count=stored.count(v["count"]),
        named=tuple(stored.text(k) for k in v["named"]),
        last_sent=_untime(v["last_sent"]),
        flapping=stored.flag(v["flapping"]),
    )


def _alert(a: Alert) -> dict[str, Any]:
    return {
        "key": a.key,
        "kind": a.kind.value,
        "env": a.env,
        "status": a.status,
        "was": a.was,
        "at": _time(a.at),
        "since": _time(a.since),
        "title": a.title,
        "lines": list(a.lines),
        "next_action": a.next_action,
        "links": [[link.label, link.url] for link in a.links],
        "items": [_alert(i) for i in a.items],
    }


def _unalert(v: Any) -> Alert:
    at = _untime(v["at"])
    if at is None:
        raise ValueError("an alert without its time")
    return Alert(
        key=stored.text(v["key"]),
        kind=Kind(v["kind"]),
        env=stored.text(v["env"]),
        status=stored.text(v["status"]),
        was=None if v["was"] is None else stored.text(v["was"]),
        at=at,
        since=_untime(v["since"]),
        title=stored.text(v["title"]),
        lines=tuple(stored.text(line) for line in v["lines"]),
        next_action=None if v["next_action"] is None else stored.text(v["next_action"]),
        links=tuple(Link(stored.text(label), stored.text(url)) for label, url in v["links"]),
        items=tuple(_unalert(i) for i in v["items"]),
    )


def _time(at: datetime | None) -> str | None:
    return None if at is None else stored.iso(at)


def _untime(value: object) -> datetime | None:
    return None if value is None else stored.when(value)


def _items(value: object) -> list[tuple[str, Any]]:
    return list(stored.mapping(value).items())


def footer(state: AlertState) -> str | None:
    """What the board's footer says of the alerting: the last message sent and where, and
    any channel the last pass could not reach (with why); None before any message."""
    parts = [f"last alert: {state.last}"] if state.last else []
    parts += [f"not delivered to {name}: {why}" for name, why in sorted(state.failing.items())]
    if state.outbox:
        parts.append(f"{len(state.outbox)} waiting to be sent")
    return "; ".join(parts) or None
