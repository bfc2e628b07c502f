"""The events log: every change the board saw, one small object per pass that saw any.

`history/events/YYYY/MM/DD/HHMMSSZ.json` holds the changes of the pass at that time (an
environment's word or a check's status: from, to, when, why), each one, also those that
`recent` folds into one line for a flapping check. A pass writes its object with its board,
only when it saw a change, and never reads the log: its work and bytes are those of its own
changes, however long the log has grown, and there is no growing object to rewrite (or to
lose to a second pass writing at once). A tool reads a day by listing its prefix. The
objects follow `schema/events.schema.json`, checked before anything is written, like the
snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from fleetboard import schemas
from fleetboard.model import Transition
from fleetboard.publish import events_key
from fleetboard.snapshot import iso

SCHEMA_VERSION = 1
SCHEMA_FILE = "events.schema.json"

JsonDoc = dict[str, Any]


class EventsInvalid(ValueError):
    """An events object that does not match its schema: a collector bug, never published."""


def document(fleet: str, generated_at: datetime, changes: Sequence[Transition]) -> JsonDoc:
    """The events object of the pass at `generated_at`, in the schema's shape. A change
    stands for one change here (`times` is the snapshot's, for its folded lines)."""
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": iso(generated_at),
        "fleet": fleet,
        "events": [
            {
                "at": iso(t.at),
                "env": t.env,
                "check": t.check,
                "from": t.before,
                "to": t.after,
                "reason": t.reason,
            }
            for t in changes
        ],
    }


def objects(fleet: str, generated_at: datetime, changes: Sequence[Transition]) -> dict[str, bytes]:
    """The pass's events object by its key, checked against the schema; none when the pass
    saw no change. Raises EventsInvalid (before anything is written) for a broken one."""
    if not changes:
        return {}
    doc = document(fleet, generated_at, changes)
    validate(doc)
    data = json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n"
    return {events_key(generated_at): data.encode()}


def schema() -> JsonDoc:
    return schemas.load(SCHEMA_FILE)


def problems(doc: JsonDoc) -> list[str]:
    """Every way `doc` breaks the schema, as `path: message` lines (empty when valid)."""
    return schemas.problems(SCHEMA_FILE, doc)


def validate(doc: JsonDoc) -> None:
    """Raise EventsInvalid listing the problems; return quietly when the doc is valid."""
    found = problems(doc)
    if found:
        raise EventsInvalid(f"events do not match {SCHEMA_FILE}: {schemas.summary(found)}")
