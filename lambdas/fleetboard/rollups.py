"""The daily rollups: `history/days/YYYY-MM-DD.json`, one small object per closed UTC day.

Each holds every environment's seconds of that day by class of time (up, degraded, down,
unknown, parked, maintenance) and the gap no pass accounted for, as the memory tallied them
(memory/uptime.py). The first pass after midnight writes the day once, before its snapshot;
a tool charting a month reads 30 of these rather than 43,000 snapshots. The objects follow
`schema/days.schema.json`, checked before anything is written, like the snapshot.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fleetboard import memory, schemas
from fleetboard.memory.uptime import Tally
from fleetboard.publish import rollup_key

SCHEMA_VERSION = 1
#: An object's problems (`path: message` lines) and the check that raises schemas.Invalid.
SCHEMA = schemas.Schema("days.schema.json", "daily rollup does not match")

JsonDoc = dict[str, Any]


def document(day: datetime, tallies: Mapping[str, Tally], began: datetime) -> JsonDoc:
    """The rollup of the UTC day starting at `day`, in the schema's shape (`began`: when
    the memory began)."""
    return {"schema_version": SCHEMA_VERSION, **memory.rollup(day, tallies, began)}


def objects(timeline: memory.Timeline) -> dict[str, bytes]:
    """The `history/days/` objects of the days a pass closed, by key, as published (the
    demo's replay writes its 90 days with this too). Raises schemas.Invalid for a broken one."""
    out = {}
    for day in timeline.closed:
        doc = document(day, timeline.tallies, timeline.began)
        SCHEMA.validate(doc)
        out[rollup_key(day)] = json.dumps(doc, indent=1).encode()
    return out
