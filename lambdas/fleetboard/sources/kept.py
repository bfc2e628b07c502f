"""Figures a source reads now and then (CloudWatch's, the Price List's, Cost Explorer's)
and keeps between passes through a stored.Keeping. Each kept object says when its figures
were read (`read_at`): that, not when it was written, decides whether they still stand.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from fleetboard import stored
from fleetboard.sources import PassContext

READ_AT = "read_at"


def keep(
    keeping: stored.Keeping[Any], ctx: PassContext, read_at: datetime, doc: Mapping[str, Any]
) -> None:
    """Keep `doc`, the figures read at `read_at`, for the next passes; a failure is logged."""
    keeping.save(ctx.state, {READ_AT: stored.iso(read_at), **doc})


def when_read(doc: Mapping[str, Any]) -> datetime:
    """When a kept object's figures were read (its zone checked)."""
    return stored.when(doc[READ_AT])
