"""The demo's live incident: while the board is served, one of prod's workers answers 502
for about three minutes and then recovers, so a viewer sees its since-time start, the
recent changes gain a line, and both move again when it ends.

Counted in serving passes, not in seconds, so a test drives it pass by pass without
waiting: the change is made just before the pass it belongs to.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fleetboard.demo import scenario
from fleetboard.demo.hosts import HostServer, Reply
from fleetboard.demo.past import BAD_GATEWAY
from fleetboard.inventory import HEALTH_PATH

ENV = "prod"
SERVICE = "email"
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

    @classmethod
    def for_demo(cls, every_s: int) -> LiveIncident:
        """prod's email worker, from the second serving pass, for about LASTS_S seconds (at
        least one pass)."""
        env = next(e for e in scenario.DEMO_ENVS if e.name == ENV)
        passes = max(1, math.ceil(LASTS_S / max(every_s, 1)))
        healthy = scenario.healthy_routes(env, SERVICE)[HEALTH_PATH]
        host = env.hostname(SERVICE)
        return cls(ENV, host, HEALTH_PATH, BAD_GATEWAY, healthy, BEGINS, BEGINS + passes)

    def lasts_s(self, every_s: int) -> int:
        return (self.ends - self.begins) * every_s

    def apply(self, hosts: HostServer, number: int, every_s: int) -> str | None:
        """Change the fleet before serving pass `number`; what changed, for the terminal."""
        if number == self.begins:
            hosts.set_reply(self.host, self.path, self.broken)
            minutes = max(1, round(self.lasts_s(every_s) / 60))
            return (
                f"an incident begins on {self.env}: {self.host} answers "
                f"{self.broken.status} (for about {minutes} min; watch since and recent changes)"
            )
        if number == self.ends:
            hosts.set_reply(self.host, self.path, self.healthy)
            return f"the incident on {self.env} ends: {self.host} answers again"
        return None
