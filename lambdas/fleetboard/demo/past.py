"""What the demo fleet went through in the 90 days before the demo started: its script.

Pure: the clock the demo starts at in; the passes a board watching it would have made and,
at each, what the fleet answered then that it does not answer now (a `Scene`). The replay
(history.py) turns each scene into what the sources would have seen and runs it through the
real rules and memory. Everything is said as a difference from the live fleet, so the last
scene is the fleet the first live pass finds, and the board carries on from it unbroken.

The passes are coarse long ago and finer towards now (PACES): 90 days at one pass a minute
would be 129,600 passes. Each pass says its own step as its period, so the memory counts
the time up to the next pass as what it showed (memory/uptime.py counts at most
GAP_PERIODS periods after a pass): coarse passes are honest uptime, never gaps. Only the
collector outage of the script is a gap.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from fleetboard.demo import scenario
from fleetboard.demo.chain_world import HEI, PAYMASTER, WALLETS
from fleetboard.demo.hosts import Reply, text_reply
from fleetboard.inventory import HEALTH_PATH

DAYS = 90
HOUR = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class Pace:
    """How the replay moves through one stretch of the past."""

    older: timedelta  # for passes older than this (the first match wins)
    step_s: int  # one pass every so many seconds
    #: The rules judge afresh at least this often (time alone changes verdicts: a
    #: certificate's days left), and balances move by this much time.
    judge: timedelta


#: Coarse long ago and finer towards now: every four hours before the last week (nothing
#: happens there but wallets draining), half an hour in the last week (the incident and
#: the outage are there), ten minutes in the last day (the hour bars), and the live
#: period in the last hour (flapping is counted in passes, so it needs the live pace).
#: About 1,000 passes: `memory.remember` costs ~1.3 ms a pass with 90 days of tallies.
PACES = (
    Pace(timedelta(days=8), 4 * 3600, timedelta(hours=12)),
    Pace(timedelta(days=1), 1800, HOUR),
    Pace(HOUR, 600, HOUR),
    Pace(timedelta(0), 60, HOUR),
)

BAD_GATEWAY = text_reply("<html><center>502 Bad Gateway</center></html>", 502)
UNAVAILABLE = text_reply("<html><center>503 Service Temporarily Unavailable</center></html>", 503)

#: Slot 1's deployer pays for its CI runs: 0.25 HEI a day, topped up by 2 HEI every 8 days.
DEPLOYER_BURN_WEI_PER_DAY = HEI // 4
TOP_UP_EVERY = timedelta(days=8)
#: prod's paymaster deposit pays for sponsored operations: 0.02 HEI a day, never topped up.
DEPOSIT_BURN_WEI_PER_DAY = HEI // 50
#: What test-2's broken redeploy spent of its deployer: it was 1.6 HEI before, 0.4 after.
REDEPLOY_COST_WEI = 12 * HEI // 10
#: Why slot 1 was in maintenance two days ago (the demo's fleet.toml says it).
MAINTENANCE_REASON = "slot 1 rebuilt from the new AMI"


@dataclass(frozen=True, slots=True)
class Scene:
    """How the fleet at one moment differed from the live one. Hashable: the replay judges
    each distinct scene once in each judging stretch (Pace.judge) and re-dates that board
    for the passes in between."""

    #: (host, path) -> what it answered instead of its live reply.
    replies: tuple[tuple[tuple[str, str], Reply], ...] = ()
    #: host -> the environment whose EIP its A record held instead of its live one.
    records: tuple[tuple[str, str], ...] = ()
    #: lower-case address -> wei it held more than it holds now (an account).
    balances: tuple[tuple[str, int], ...] = ()
    #: lower-case paymaster -> wei its EntryPoint deposit held more than now.
    deposits: tuple[tuple[str, int], ...] = ()


@dataclass(frozen=True, slots=True)
class Window:
    start: datetime
    end: datetime

    def __contains__(self, at: object) -> bool:
        return isinstance(at, datetime) and self.start <= at < self.end


def _env(name: str) -> scenario.DemoEnv:
    return next(e for e in scenario.DEMO_ENVS if e.name == name)


@dataclass(frozen=True, slots=True)
class Past:
    """The script, anchored at `now`: when the demo starts and its first live pass runs."""

    now: datetime
    today: datetime = field(init=False)

    def __post_init__(self) -> None:
        now = self.now.astimezone(UTC)
        object.__setattr__(self, "today", datetime(now.year, now.month, now.day, tzinfo=UTC))

    # ------------------------------------------------------------------- when

    @property
    def began(self) -> datetime:
        """The first pass: midnight UTC 89 days ago, so the 90 days are whole days."""
        return self.today - timedelta(days=DAYS - 1)

    @property
    def incident(self) -> Window:
        """audit-test-2 answers 502: red with its reason, six days ago."""
        day = self.today - timedelta(days=6)
        return Window(day + timedelta(hours=14), day + timedelta(hours=19, minutes=30))

    @property
    def outage(self) -> Window:
        """The collector did not run: no pass at all (a gap in every environment's time)."""
        day = self.today - timedelta(days=4)
        return Window(day + timedelta(hours=1), day + timedelta(hours=7))

    @property
    def maintenance(self) -> Window:
        """Slot 1 ("test") rebuilt in a maintenance window, two days ago: its time is
        maintenance, neither up nor down, and the window is a line in its history."""
        day = self.today - timedelta(days=2)
        return Window(day + timedelta(hours=2), day + timedelta(hours=5))

    def maintenance_toml(self) -> str:
        """The window as the demo's fleet.toml declares it, so the rules see it."""
        window = self.maintenance
        return "\n".join(
            [
                "",
                "[[maintenance]]",
                f'reason = "{MAINTENANCE_REASON}"',
                'environments = ["test"]',
                f'start = "{window.start:%Y-%m-%dT%H:%M:%SZ}"',
                f'end = "{window.end:%Y-%m-%dT%H:%M:%SZ}"',
                "",
            ]
        )

    @property
    def redeploy(self) -> datetime:
        """test-2 was redeployed from slot 1's config: its live faults begin here."""
        return self.now - timedelta(hours=3)

    @property
    def flapping(self) -> Window:
        """classify-test answers 503 every other 2 minutes."""
        return Window(self.now - timedelta(minutes=50), self.now - timedelta(minutes=8))

    def pace(self, at: datetime) -> Pace:
        age = self.now - at
        return next(p for p in PACES if age > p.older)

    def step(self, at: datetime) -> int:
        """Seconds from a pass at `at` to the next one."""
        return self.pace(at).step_s

    def judged(self, at: datetime) -> int:
        """Which stretch of `judge` length `at` falls in, counted back from now: the rules
        judge each scene afresh once in each."""
        return (self.now - at) // self.pace(at).judge

    def passes(self) -> Iterator[tuple[datetime, int]]:
        """Each pass's time and its period (the step it followed: what the memory counts
        after the pass before it), oldest first, up to before `now`; none in the outage."""
        at, period = self.began, self.step(self.began)
        while at < self.now:
            if at not in self.outage or at == self.outage.start:
                # The pass at the outage's start is its last: the collector stopped after it.
                yield at, period
            period = self.step(at)
            at += timedelta(seconds=period)

    # ------------------------------------------------------------------- what

    def scene(self, at: datetime) -> Scene:
        """What the fleet answered at `at` that it does not answer now."""
        replies: dict[tuple[str, str], Reply] = {}
        records: dict[str, str] = {}
        test2, test = _env("test-2"), _env("test")
        if at < self.redeploy:  # test-2 healthy but for what time did to it (its certificate)
            for service, paths in test2.faults.items():
                healthy = scenario.healthy_routes(test2, service)
                for path in paths:
                    replies[(test2.hostname(service), path)] = healthy[path]
            for service in test2.records_to:
                records[test2.hostname(service)] = test2.name
        if at in self.incident:
            replies[(test2.hostname("audit"), HEALTH_PATH)] = BAD_GATEWAY
        if at in self.flapping and ((self.now - at) // timedelta(minutes=2)) % 2 == 1:
            replies[(test.hostname("classify"), HEALTH_PATH)] = UNAVAILABLE
        return Scene(
            replies=tuple(sorted(replies.items(), key=lambda kv: kv[0])),
            records=tuple(sorted(records.items())),
            balances=self._balances(at),
            deposits=((PAYMASTER.lower(), self._burnt(at, DEPOSIT_BURN_WEI_PER_DAY)),),
        )

    def _balances(self, at: datetime) -> tuple[tuple[str, int], ...]:
        slot1 = self._burnt(at, DEPLOYER_BURN_WEI_PER_DAY, TOP_UP_EVERY)
        out = {WALLETS["test"].deployer.lower(): slot1}
        if at < self.redeploy:
            out[WALLETS["test-2"].deployer.lower()] = REDEPLOY_COST_WEI
        return tuple(sorted(out.items()))

    def _burnt(self, at: datetime, per_day: int, cycle: timedelta | None = None) -> int:
        """What a steady burn of `per_day` spent from `at` to now (since the last top-up,
        every `cycle`), moved by the judging stretch: one scene per stretch."""
        judge = self.pace(at).judge
        age = (self.now - at) // judge * judge
        if cycle is not None:
            age %= cycle
        return per_day * (age // HOUR) // 24
