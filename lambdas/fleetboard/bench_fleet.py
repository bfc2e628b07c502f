"""The benchmark's simulated fleet: N test environments of the same shape, their hosts and
the fleet.toml a pass over them is collected with (`fleetboard bench`, bench_measure.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from fleetboard.demo.hosts import SimHost, json_reply, text_reply
from fleetboard.inventory import Address, service_host

ZONE = "litentry.org"
_NAMES = ("signer", "audit", "email", "cred", "memory", "config", "classify", "channel", "weixin")


def services(endpoints: int) -> list[str]:
    """The non-broker hosts of an environment with `endpoints` hosts in all."""
    extra = [f"worker{i}" for i in range(len(_NAMES), endpoints)]
    return [*_NAMES, *extra][: endpoints - 1]


def hosts(env: int, endpoints: int, delay_s: float) -> list[SimHost]:
    """Environment test-`env`'s hosts, each answering after `delay_s`."""
    suffix = f"-test-{env}"
    broker = f"broker{suffix}.{ZONE}"
    out = [
        SimHost(
            broker,
            {
                "/healthz": text_reply("ok", delay_s=delay_s),
                "/readyz": json_reply(
                    {"status": "ready", "degraded": False, "checks": []}, delay_s=delay_s
                ),
                "/.well-known/openid-configuration": json_reply(
                    {"issuer": f"https://{broker}"}, delay_s=delay_s
                ),
            },
        )
    ]
    for name in services(endpoints):
        out.append(
            SimHost(
                service_host(name, suffix, ZONE), {"/healthz": text_reply("ok", delay_s=delay_s)}
            )
        )
    return out


def fleet_toml(
    world_zone_id: str,
    endpoint: str,
    ca: Path,
    envs: int,
    endpoints: int,
    server: Address,
    holes: dict[str, Address],
    *,
    resolve: bool,
    workers: int = 1,
) -> str:
    """The fleet's fleet.toml: its hosts at `server`, the black-holed ones at their hole;
    with `resolve`, addresses by name, so every probe looks its host up; `workers`: the
    probe processes ([probe] workers)."""
    names = services(endpoints)
    lines = [
        "[fleet]",
        'name = "bench"',
        f'zone = "{ZONE}"',
        f'zone_id = "{world_zone_id}"',
        'region = "us-east-1"',
        "services = []",
        f"workers = [{', '.join(json.dumps(s) for s in names)}]",
        "period_s = 120",  # room for a 60 s pass deadline: a big fleet on a small machine
        "[aws]",
        f'endpoint_url = "{endpoint}"',
        "[probe]",
        f'ca_bundle = "{ca}"',
        "pass_deadline_s = 60",
        f"workers = {workers}",
    ]
    for i in range(1, envs + 1):
        lines += [f"[environments.test-{i}]", f'broker_host = "broker-test-{i}.{ZONE}"']
        if not resolve:
            lines.append(f'address = "{server}"')
        for key in ["broker", *names]:
            host = (
                f"broker-test-{i}.{ZONE}"
                if key == "broker"
                else service_host(key, f"-test-{i}", ZONE)
            )
            at = holes.get(host, server)
            if resolve:
                # A name in the address is looked up like the host's own name would be: only
                # the port is fixed, since the simulated hosts cannot listen on 443.
                lines.append(f'hosts.{key}.address = "{host}:{at.port}"')
            elif host in holes:
                lines.append(f'hosts.{key}.address = "{at}"')
    return "\n".join(lines) + "\n"
