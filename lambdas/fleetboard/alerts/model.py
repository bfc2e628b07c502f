"""What an alert is, and what the alerting remembers between passes. Plain data: the
decisions (decide.py) make them, the bodies (message.py) and the edge (deliver.py) read them."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class Kind(StrEnum):
    FIRING = "firing"  # an environment went red (or amber, by config) and held it
    WORSE = "worse"  # an alerting environment went from amber to red, or more of it failed
    RECOVERED = "recovered"  # it is back below the alerting level, and held it
    REMINDER = "reminder"  # it is still red, remind_minutes after the last message
    FLAPPING = "flapping"  # its checks keep changing: one message, then quiet until it settles
    FORECAST = "forecast"  # a wallet running dry or a certificate near its line: once a day
    DIGEST = "digest"  # more alerts fell due in one pass than digest_over: one lists them
    TEST = "test"  # `fleetboard alerts test`: says so, changes nothing


@dataclass(frozen=True, slots=True)
class Link:
    label: str  # "board", "run #4771", "broker-test-2.litentry.org", "deployer on the explorer"
    url: str


@dataclass(frozen=True, slots=True)
class Alert:
    """One message, before it is put into any channel's form."""

    #: Unique for what it says and when it was decided: the state keeps it before sending,
    #: so a retried or repeated pass never sends it twice (docs/decisions/0010).
    key: str
    kind: Kind
    env: str  # the environment, or "fleet"
    status: str  # its word now: "red", "amber", "green", "unknown", ...
    was: str | None  # its word before the change (None for a reminder, a forecast, a digest)
    at: datetime  # the pass that decided it
    since: datetime | None  # since when it has shown `status`, as far as the board remembers
    title: str  # one line: "test-2 is red: audit-test-2 HTTP 502 in 41 ms"
    lines: tuple[str, ...] = ()  # its issues, red first, each one line
    next_action: str | None = None
    links: tuple[Link, ...] = ()
    items: tuple[Alert, ...] = ()  # a digest's alerts


@dataclass(frozen=True, slots=True)
class Watch:
    """What the alerting remembers of one environment (or the fleet)."""

    #: The alerting level it stands at, as alerted: "red", "amber" or "" (quiet).
    alerted: str = ""
    #: The level it has shown for `count` consecutive passes (not yet alerted, or going).
    seen: str = ""
    count: int = 0
    #: The issues (by `env/check`) the last message named, so a new red is said once.
    named: tuple[str, ...] = ()
    last_sent: datetime | None = None  # the last message about it: reminders count from here
    flapping: bool = False  # a flapping message was sent; quiet until it settles


@dataclass(frozen=True, slots=True)
class Outgoing:
    """A message decided and not yet known to be delivered to every channel it is for."""

    alert: Alert
    channels: tuple[str, ...]  # the channels still to deliver it to, by name
    attempts: int = 0  # passes that tried it and failed


@dataclass(frozen=True, slots=True)
class AlertState:
    """Saved beside the timeline (`state/alerts.json`), read once and written before and
    after sending."""

    watches: dict[str, Watch] = field(default_factory=dict)  # by env name, or "fleet"
    #: The forecasts sent, by key (`wallet:<env>/<address>`, `cert:<check id>`), and the UTC
    #: day they were sent on: one a day at most.
    forecasts: dict[str, str] = field(default_factory=dict)
    outbox: tuple[Outgoing, ...] = ()
    #: Keys of messages delivered lately (the last day's), so none is sent twice.
    sent: tuple[str, ...] = ()
    #: The last delivery, for the page's footer: "<kind> to <channel> at <time>".
    last: str | None = None
    #: The channels the last pass could not deliver to, and why ("http 500", "timeout"):
    #: shown on the page until a delivery to them succeeds.
    failing: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Body:
    """An alert in one channel's form (message.py makes it, deliver.py sends it)."""

    content_type: str  # "application/json", "text/plain; charset=utf-8"
    data: bytes
    subject: str | None = None  # SNS: the e-mail's subject (at most 100 characters)
