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

from collections.abc import Sequence
from datetime import datetime

from fleetboard import schemas
from fleetboard.model import Transition
from fleetboard.publish import events_key
from fleetboard.schemas import JsonDoc
from fleetboard.snapshot import dumps, iso

SCHEMA_VERSION = 1

#: The schema, an object's problems (`path: message` lines) and the check that raises.
SCHEMA = schemas.Schema("events.schema.json", "events do not match")
schema = SCHEMA.schema
problems = SCHEMA.problems
validate = SCHEMA.validate


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
    saw no change. Raises schemas.Invalid (before anything is written) for a broken one."""
    if not changes:
        return {}
    doc = document(fleet, generated_at, changes)
    validate(doc)
    return {events_key(generated_at): dumps(doc)}
