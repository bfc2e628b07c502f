"""What the tests of the sources that run beside the aws source share (host, agent, metrics,
prices, billing, logs): a state store in memory, the aws source's answer, one source (or
a pass) given it, ways to garble a kept object (keepers.py has each source's), what was
logged at WARNING, and the faults the proxy inflicts (every JSON-protocol call's)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import pytest
from tests.integration.aws.fleet import CountingProxy
from tests.integration.aws.fleet import collect as collect_aws
from tests.integration.aws.fleet import facts_of as aws_facts_of
from tests.integration.github import helpers as github

from fleetboard import collect
from fleetboard.config import LoadedConfig
from fleetboard.demo.aws_world import World
from fleetboard.inventory import Inventory
from fleetboard.model import AwsFacts, SourceRun
from fleetboard.sources import PassContext, Source, utc_now
from fleetboard.sources.awsapi import AwsClientFactory, StaticCredentials

INTERNAL = "An internal error has occurred."
PORTAL = b"<!DOCTYPE html><html><body>Welcome to Hotel WiFi: please log in</body></html>"


class MemoryState(github.MemoryState):
    """A StateStore in memory, as the publishers keep `state/<name>.json`, holding `seeded`
    to begin with (not counted as saves)."""

    def __init__(self, seeded: dict[str, bytes] | None = None) -> None:
        super().__init__()
        self.saved.update(seeded or {})


class UnreadableState(MemoryState):
    """A store whose reads fail (S3 denied, the network): its writes still land."""

    def load_state(self, name: str) -> bytes | None:
        raise PermissionError("s3:GetObject denied")


def warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    """What was logged at WARNING or worse, in order."""
    return [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]


def ids_of(world: World) -> dict[str, str]:
    return {name: env.instance_id or "" for name, env in world.environments.items()}


def utc(*times: datetime | None) -> bool:
    """Every one of `times` is there and in UTC."""
    return all(t is not None and t.utcoffset() == timedelta(0) for t in times)


def read_aws(inv: Inventory, factory: AwsClientFactory) -> AwsFacts:
    """The aws source's facts; fails the test if it failed."""
    return aws_facts_of(collect_aws(inv, factory))


def read_after_aws(
    source: Source,
    inv: Inventory,
    factory: AwsClientFactory,
    aws: object,
    *,
    now: datetime,
    state: MemoryState | None = None,
) -> object:
    """One run of `source` given the aws source's answer `aws`, at `now`."""
    ctx = PassContext(
        deadline=time.monotonic() + 30.0,
        now=lambda: now,
        aws_client=factory,
        results={"aws": aws},
        state=state,
    )
    return source.collect(inv, ctx)


def signatures(factory: AwsClientFactory, *services: str) -> list[tuple[str, str]]:
    """(service, region) of the signature of every request the clients of `services` that
    `factory` makes send from now on, in order: where a request was signed for."""
    signed: list[tuple[str, str]] = []

    def record(request: Any = None, **_: Any) -> None:
        # The credential scope of the signature: <key>/<date>/<region>/<service>/aws4_request.
        scope = str(request.headers["Authorization"]).split("Credential=")[1].split(",")[0]
        region, service = scope.split("/")[2:4]
        signed.append((service, region))

    for service in services:
        factory(service).meta.events.register("before-send", record)
    return signed


def a_pass(
    inv: Inventory,
    factory: AwsClientFactory,
    sources: Sequence[Source],
    *,
    now: datetime | None = None,
    state: MemoryState | None = None,
    deadline_s: float = 30.0,
) -> tuple[dict[str, object], dict[str, SourceRun]]:
    """The sources side by side, each on its own thread, as a pass runs them: each one's
    answer and run, by name. `now`: the pass's clock (the real one unless given)."""
    ctx = PassContext(
        deadline=time.monotonic() + deadline_s,
        now=utc_now if now is None else lambda: now,
        aws_client=factory,
        state=state,
    )
    return collect.run_sources(sources, LoadedConfig(inv, period_s=60), ctx)


# --------------------------------------------------------------------------- kept objects


#: Turns a kept object into the bytes a garbled store holds.
Garble = Callable[[dict[str, Any]], bytes]


def replaced(path: tuple[str, ...], value: object) -> Garble:
    """The kept object with the value at `path` replaced ("*" is every key at that level)."""

    def garble(doc: dict[str, Any]) -> bytes:
        targets = [doc]
        for key in path[:-1]:
            targets = [v for t in targets for v in (t.values() if key == "*" else [t[key]])]
        for target in targets:
            target[path[-1]] = value
        return json.dumps(doc).encode()

    return garble


def without(key: str) -> Garble:
    """The kept object without `key`."""
    return lambda doc: json.dumps({k: v for k, v in doc.items() if k != key}).encode()


#: Every kept object is a JSON object with a version and the time it was read: garbled so,
#: whichever source kept it, it is unreadable.
GARBLED_ENVELOPE: dict[str, Garble] = {
    "not-json": lambda doc: b'{"version": 1, "read_at": ',
    "another-version": replaced(("version",), 2),
    "no-version": without("version"),
    "no-read-at": without("read_at"),
    "read-at-not-a-time": replaced(("read_at",), "yesterday"),
    "read-at-without-zone": replaced(("read_at",), "2026-11-23T08:00:00"),
}


# --------------------------------------------------------------------------- faults

#: What the proxy is told to do to a call.
Inflict = Callable[[CountingProxy], None]


@dataclass(frozen=True)
class Fault:
    """What the proxy does to one call, and what the failed source must say."""

    call: str
    inflict: Inflict
    said: str  # the reason begins so
    sent: int  # requests for the call that reached the proxy (retries included)
    deadline_s: float = 30.0


def fails(call: str, status: int, code: str, message: str) -> Inflict:
    """`call` answered with AWS's error `code` (retried as botocore retries it)."""
    return lambda proxy: proxy.fail_call(call, status, code, message)


def answers(call: str, content_type: str, body: bytes) -> Inflict:
    """`call` answered 200 with `body`, labelled `content_type`."""
    return lambda proxy: proxy.answer_call(call, 200, content_type, body)


HINT = "check that aws.endpoint_url"
#: What the collector's role allowed, in these tests, before the sources beside the aws
#: source: EC2's two listings.
EC2_LISTINGS = ["ec2:DescribeAddresses", "ec2:DescribeInstances"]
#: The role_allowing fixture: (inventory, actions) -> a client factory signed as a role
#: allowed exactly those actions, and that role's credentials.
RoleAllowing = Callable[[Inventory, list[str]], tuple[AwsClientFactory, StaticCredentials]]


def call_faults(
    call: str,
    *,
    protocol: str,
    internal: str,
    throttling: str,
    denied: tuple[int, str, str],
    another_call: tuple[str, bytes],
    another_said: str,
) -> dict[str, Fault]:
    """How an AWS call `call` fails through the proxy, and the reason the source gives: an
    AWS error of its service's own codes (`internal` for a 500, `throttling` for a 400), a
    denial (`denied`: status, code, message), a captive portal's page, not the `protocol`
    ("JSON", "XML") the call speaks, and a well-formed answer of another call
    (`another_call`: content type, body), of which the source says `another_said`."""
    status, code, message = denied
    return {
        "500": Fault(
            call,
            fails(call, 500, internal, INTERNAL),
            f"{call} failed after 3 attempts ({internal}): {INTERNAL}",
            3,
        ),
        "throttled": Fault(
            call,
            fails(call, 400, throttling, "Rate exceeded"),
            f"{call} throttled after 3 attempts ({throttling}): Rate exceeded",
            3,
        ),
        # The role predates the source: the reason says which action to add.
        "denied": Fault(
            call,
            fails(call, status, code, message),
            f"{call} denied ({code}): {message} — allow {call} for the collector's role",
            1,
        ),
        "html-200": Fault(
            call,
            answers(call, "text/html; charset=utf-8", PORTAL),
            f"{call} answered 200 with text/html, not AWS's {protocol}: \"<!DOCTYPE html>",
            1,
        ),
        f"another-call-s-{protocol.lower()}": Fault(
            call, answers(call, *another_call), f"{call} {another_said}", 1
        ),
    }


def json_call_faults(
    call: str,
    *,
    internal: str,
    throttling: str = "ThrottlingException",
    content_type: str = "application/x-amz-json-1.1",
    another_call: bytes,
    missing: str,
) -> dict[str, Fault]:
    """`call_faults` of a JSON-protocol call (CloudWatch's, the Price List's): denied as IAM
    denies it, and the answer of another call (`another_call`, in `content_type`) lacks the
    `missing` key every answer of `call` has. Most JSON services spell their throttling
    and their content type as the defaults do."""
    denial = (
        "User: arn:aws:iam::123456789012:user/fleetboard-collector is not authorized to "
        f"perform: {call}"
    )
    return call_faults(
        call,
        protocol="JSON",
        internal=internal,
        throttling=throttling,
        denied=(400, "AccessDeniedException", denial),
        another_call=(content_type, another_call),
        another_said=f"answered without {missing}, which AWS always sends — {HINT}",
    )
