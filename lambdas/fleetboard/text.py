"""How numbers read for people, in one place: the rules' sentences and the page agree."""

from __future__ import annotations


def latency(ms: float | None) -> str:
    """`41 ms`, `1.2 s`, or a dash when there was no answer."""
    if ms is None:
        return "—"
    if ms >= 1000:
        return f"{ms / 1000:.1f} s"
    return f"{ms:.0f} ms"
