"""[[maintenance]]: windows in which environments, or some of their checks, are worked on.

The schema checks each key's type and form; this module checks what spans keys: that a
window is either one-off (start, end in UTC) or recurring (every, at, for_minutes,
timezone), that it ends after it starts and is not overlong, that its time zone is one the
tz database knows, and that the environments and checks it names exist.
"""

from __future__ import annotations

import difflib
from collections.abc import Collection, Mapping, Sequence
from datetime import UTC, datetime, time, timedelta
from functools import cache
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from fleetboard.config.messages import Problems, show, unknown_env
from fleetboard.inventory import (
    CheckSelector,
    Environment,
    MaintenanceWindow,
    OneOff,
    Recurring,
)

#: The longest windows. A window hides an environment's health from the fleet's colour and
#: from alerting; one longer than this is not maintenance but an environment out of
#: service, which `retired = true` (or letting it be stopped) says honestly.
MAX_ONE_OFF = timedelta(days=7)
#: A recurring window repeats, so its limit is tighter: half of every day at most.
MAX_RECURRING_MINUTES = 12 * 60

ONE_OFF_KEYS = ("start", "end")
RECURRING_KEYS = ("every", "at", "for_minutes", "timezone")


def maintenance_windows(
    raw: Sequence[Mapping[str, Any] | None],
    envs: Sequence[Environment],
    declared: Collection[str],
    problems: Problems,
) -> tuple[MaintenanceWindow, ...]:
    """Each [[maintenance]] table as a window; a table with a problem is reported and left
    out. `raw[i]` is None for a table the shape check already refused (so the indexes in
    messages stay the file's); `declared` names every environment of the file, and `envs`
    the ones built (whose checks are known)."""
    built = {e.name: e for e in envs}
    windows = []
    for i, spec in enumerate(raw):
        if spec is None:
            continue
        window = _window(f"maintenance.{i}", spec, built, declared, problems)
        if window is not None:
            windows.append(window)
    return tuple(windows)


def _window(
    where: str,
    spec: Mapping[str, Any],
    built: Mapping[str, Environment],
    declared: Collection[str],
    problems: Problems,
) -> MaintenanceWindow | None:
    before = len(problems.lines)
    envs = tuple(spec.get("environments", ()))
    for name in envs:
        if name not in declared:
            problems.add(f"{where}.environments", unknown_env(name, declared))
    checks = tuple(
        _selector(f"{where}.checks", text, built, declared, problems)
        for text in spec.get("checks", ())
    )
    if not envs and not checks:
        problems.add(
            where,
            'covers nothing: name what it is for, environments = ["test"] or '
            'checks = ["test/worker:audit"]',
        )
    when = _when(where, spec, problems)
    if when is None or len(problems.lines) > before:
        return None
    return MaintenanceWindow(
        reason=spec["reason"],
        when=when,
        environments=envs,
        checks=tuple(c for c in checks if c is not None),
    )


def _selector(
    where: str,
    text: str,
    built: Mapping[str, Environment],
    declared: Collection[str],
    problems: Problems,
) -> CheckSelector | None:
    """`<environment>/<check>`: the schema made sure of the slash; here, that both exist."""
    env_name, _, name = text.partition("/")
    if env_name not in declared:
        problems.add(where, f"{show(text)}: {unknown_env(env_name, declared)}")
        return None
    selector = CheckSelector(env_name, name)
    env = built.get(env_name)
    if env is None:  # its table is broken: reported there, and its checks are not known
        return selector
    names = env.check_names()
    if not any(selector.matches(env_name, n) for n in names):
        close = difflib.get_close_matches(name, names, n=1)
        hint = f"did you mean {env_name + '/' + close[0]!r}? " if close else ""
        problems.add(
            where,
            # env_name has a built table here, so it and its check names passed the schema
            f"{show(text)} names no check of {env_name} ({hint}its checks: {', '.join(names)}; "
            'a name ending in "*" takes every check that starts so)',
        )
        return None
    return selector


def _when(where: str, spec: Mapping[str, Any], problems: Problems) -> OneOff | Recurring | None:
    one_off = [k for k in ONE_OFF_KEYS if k in spec]
    recurring = [k for k in RECURRING_KEYS if k in spec]
    if one_off and recurring:
        problems.add(
            where,
            f"mixes a one-off window ({', '.join(one_off)}) with a recurring one "
            f"({', '.join(recurring)}); make it two [[maintenance]] tables",
        )
        return None
    if one_off:
        return _one_off(where, spec, problems)
    if recurring:
        return _recurring(where, spec, problems)
    problems.add(
        where,
        'says no time: give start and end in UTC (start = "2026-12-05T02:00:00Z"), or every, '
        'at, for_minutes and timezone (every = "sunday", at = "03:00", for_minutes = 60, '
        'timezone = "Europe/Berlin")',
    )
    return None


def _missing(where: str, spec: Mapping[str, Any], keys: Sequence[str], problems: Problems) -> bool:
    gone = [k for k in keys if k not in spec]
    for key in gone:
        problems.add(f"{where}.{key}", f"missing: {_NEEDS[key]}")
    return bool(gone)


_NEEDS = {
    "start": 'the window\'s start in UTC, e.g. "2026-12-05T02:00:00Z"',
    "end": 'the window\'s end in UTC, e.g. "2026-12-05T04:00:00Z"',
    "every": '"day", or the day of the week it opens, e.g. "sunday"',
    "at": 'the wall-clock time it opens in its time zone, e.g. "03:00"',
    "for_minutes": "how many minutes it stays open, e.g. 60",
    "timezone": 'the time zone its `at` is read in, e.g. "Europe/Berlin" or "UTC"',
}


def _one_off(where: str, spec: Mapping[str, Any], problems: Problems) -> OneOff | None:
    if _missing(where, spec, ONE_OFF_KEYS, problems):
        return None
    start = _utc(f"{where}.start", spec["start"], problems)
    end = _utc(f"{where}.end", spec["end"], problems)
    if start is None or end is None:
        return None
    if end <= start:
        problems.add(
            f"{where}.end", f"{show(spec['end'])} is not after start {show(spec['start'])}"
        )
        return None
    if end - start > MAX_ONE_OFF:
        problems.add(
            f"{where}.end",
            f"{show(spec['end'])} makes the window {_length(end - start)} long; a window lasts "
            f"at most {MAX_ONE_OFF.days} days (longer is not maintenance: mark the environment "
            "retired = true instead)",
        )
        return None
    return OneOff(start, end)


def _utc(where: str, text: str, problems: Problems) -> datetime | None:
    """The schema's pattern holds (`...Z`); the calendar may not (a 30 February)."""
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError as exc:
        problems.add(where, f"{show(text)} is not a real time ({exc})")
        return None


def _recurring(where: str, spec: Mapping[str, Any], problems: Problems) -> Recurring | None:
    if _missing(where, spec, RECURRING_KEYS, problems):
        return None
    minutes: int = spec["for_minutes"]
    zone = spec["timezone"]
    fine = True
    if minutes > MAX_RECURRING_MINUTES:
        problems.add(
            f"{where}.for_minutes",
            f"{minutes} minutes is {_length(timedelta(minutes=minutes))}; a recurring window "
            f"lasts at most {MAX_RECURRING_MINUTES // 60} h",
        )
        fine = False
    if not _known_zone(zone):
        close = difflib.get_close_matches(zone, sorted(_zones()), n=1, cutoff=0.8)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        problems.add(
            f"{where}.timezone",
            f'{show(zone)} is not a time zone the tz database knows, such as "Europe/Berlin" '
            f'or "UTC"{hint}',
        )
        fine = False
    if not fine:
        return None
    hour, minute = (int(part) for part in spec["at"].split(":"))
    return Recurring(every=spec["every"], at=time(hour, minute), minutes=minutes, timezone=zone)


def _known_zone(name: str) -> bool:
    """In the database the Lambda reads, and readable here."""
    if name not in _zones():
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


@cache
def _zones() -> frozenset[str]:
    """The names of the tz database in the `tzdata` package, the one the Lambda bundle ships
    (its image has no system database): a name only this machine's own database has
    (`localtime`, `posix/...`) would pass `validate` here and be refused on Lambda. Without
    the package, this machine's names."""
    try:
        listed = resources.files("tzdata").joinpath("zones").read_text()
    except (ModuleNotFoundError, OSError):
        return frozenset(available_timezones())
    return frozenset(listed.split())


def _length(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours / 24:.1f} days" if hours >= 48 else f"{hours:.1f} h".replace(".0 h", " h")
