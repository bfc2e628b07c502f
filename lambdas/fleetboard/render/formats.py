"""How the page writes values: times, durations, latencies, counts, `code` spans.

Small pure functions over plain values (no snapshot keys), shared by every part of the
page; `parse_time` reads the snapshot's ISO times once each (cached: a 100-environment page
reads thousands of them, most alike).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from markupsafe import Markup, escape

from fleetboard import text

JsonDoc = Mapping[str, Any]


def utc(iso: str | None, seconds: bool = False) -> str:
    """`2026-11-23T08:00:03Z` -> `2026-11-23 08:00 UTC` (with `:03` when seconds)."""
    if not iso:
        return "never"
    return f"{iso[:10]} {iso[11:19] if seconds else iso[11:16]} UTC"


def seen(source: str, iso: str | None) -> str:
    """The title of an observed value: its source and observation time."""
    return f"source {source} · observed {utc(iso, seconds=True)}"


ms = text.latency


def seconds(duration: float) -> str:
    return f"{duration:.2f} s" if duration < 10 else f"{duration:.0f} s"


def code_spans(text: str) -> Markup:
    """Escape `text` and show its `backtick` spans as <code>, as a command to copy."""
    parts = text.split("`")
    if len(parts) % 2 == 0:  # an unpaired backtick: leave the text as it is
        return escape(text)
    out = [escape(p) if i % 2 == 0 else Markup("<code>%s</code>") % p for i, p in enumerate(parts)]
    return Markup("").join(out)


@functools.lru_cache(maxsize=4096)
def parse_time(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).astimezone(UTC)


def clock(at: datetime, day: datetime) -> str:
    """`07:46 UTC` on the pass's own (UTC) day, else `2026-11-20 07:46 UTC`."""
    return at.strftime("%H:%M UTC" if at.date() == day.date() else "%Y-%m-%d %H:%M UTC")


def thousands(n: int) -> str:
    """4771 -> `4,771`."""
    return f"{int(n):,}"
