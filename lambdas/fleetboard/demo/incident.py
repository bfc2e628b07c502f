"""The demo's live incident: while the board is served, one of prod's workers answers 502
for about three minutes and then recovers, so a viewer sees its since-time start, the
recent changes gain a line, and both move again when it ends; and, from the demo's alerts
(pager.py), one message when prod goes red and one when it is back.

prod must be quiet before it for that: an environment already red can only get "worse",
never "recovered", while it stays red (alerts/decide.py keeps one watch per environment).
With the chain, prod starts red (its paymaster deposit is below its floor, the first
board's story), so the first serving pass tops the deposit up, as an operator who saw the
first board would; that red held one pass only, so it pages nobody (`fail_passes`).

Counted in serving passes, not in seconds, so a test drives it pass by pass without
waiting: each change is made just before the pass it belongs to. The incident lasts at
least `hold` passes (the alerts' `fail_passes`), however long the passes are apart, so it
always holds long enough to alert.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fleetboard.demo import scenario
from fleetboard.demo.hosts import HostServer, Reply
from fleetboard.demo.past import BAD_GATEWAY
from fleetboard.inventory import HEALTH_PATH

if TYPE_CHECKING:
    from fleetboard.demo.chain_world import ChainWorld

ENV = "prod"
SERVICE = "email"
#: The serving pass that finds prod quiet (its deposit topped up, with the chain).
QUIET = 1
#: The serving pass it begins before: the viewer has seen a board or two without it.
BEGINS = 2
LASTS_S = 180


@dataclass(frozen=True, slots=True)
class LiveIncident:
    env: str
    host: str
    path: str
    broken: Reply
    healthy: Reply
    begins: int  # the serving pass (counted from 1) that first sees it
    ends: int  # the first serving pass that sees it over
    quiet: int = QUIET  # the serving pass before which prod is made quiet

    @classmethod
    def for_demo(cls, every_s: int, *, hold: int = 1) -> LiveIncident:
        """prod's email worker, from the second serving pass, for about LASTS_S seconds
        and at least `hold` passes."""
        env = next(e for e in scenario.DEMO_ENVS if e.name == ENV)
        passes = max(1, hold, math.ceil(LASTS_S / max(every_s, 1)))
        healthy = scenario.healthy_routes(env, SERVICE)[HEALTH_PATH]
        host = env.hostname(SERVICE)
        return cls(ENV, host, HEALTH_PATH, BAD_GATEWAY, healthy, BEGINS, BEGINS + passes)

    def lasts_s(self, every_s: int) -> int:
        return (self.ends - self.begins) * every_s

    def apply(
        self, hosts: HostServer, number: int, every_s: int, chain: ChainWorld | None = None
    ) -> str | None:
        """Change the fleet before serving pass `number`; what changed, for the terminal."""
        if number == self.quiet and chain is not None:
            deposit = chain.top_up_deposit()
            return (
                f"prod's paymaster deposit is topped up to {deposit}, over its floor: prod "
                "is green before its incident"
            )
        if number == self.begins:
            hosts.set_reply(self.host, self.path, self.broken)
            minutes = max(1, round(self.lasts_s(every_s) / 60))
            return (
                f"an incident begins on {self.env}: {self.host} answers "
                f"{self.broken.status} (for about {minutes} min; watch since, recent changes "
                "and the alerts)"
            )
        if number == self.ends:
            hosts.set_reply(self.host, self.path, self.healthy)
            return f"the incident on {self.env} ends: {self.host} answers again"
        return None
