"""`fleetboard alerts test --config fleet.toml`: one clearly marked test message to every
configured channel, reached the way a pass reaches it (a webhook's URL from its `url_env`,
the SNS topic from FLEETBOARD_ALERT_TOPIC_ARN with the operator's own credentials), and
which channels answered. It decides nothing and writes no state: the board's alerting is
exactly as it was.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime

from fleetboard import collect
from fleetboard.alerts.message import body
from fleetboard.alerts.model import Alert, Kind, Link
from fleetboard.config import LoadedConfig
from fleetboard.exits import EXIT_ALERTS_UNANSWERED, EXIT_BAD_INPUT, EXIT_OK
from fleetboard.inventory import AlertChannel, AlertSettings

#: How long each channel is given to answer.
TIMEOUT_S = 10.0

ALERTS_TEST_EXIT_CODES = """exit codes:
  0  every channel answered (a webhook's 2xx, the topic's MessageId)
  1  a channel did not answer, or is not configured on this machine: the lines say which
  2  bad input: fleet.toml has a problem, or no [alerts]"""


def run_alerts_test(loaded: LoadedConfig, *, now: datetime | None = None) -> int:
    """Send the test message to each channel, print one line a channel; the exit code."""
    settings = loaded.inventory.alerts
    if settings is None:
        print(f"{loaded.inventory.source}: no [alerts]: there is no channel to test")
        return EXIT_BAD_INPUT
    at = (now or datetime.now(UTC)).replace(microsecond=0)
    reach = collect.alert_wires(loaded, collect.laptop_context(loaded))
    wires = replace(reach, timeout_s=TIMEOUT_S)
    print(f"test message to {len(settings.channels)} channel(s) of {loaded.inventory.fleet}:")
    unanswered = 0
    for channel in settings.channels:
        form = body(channel.kind, trial_alert(channel, settings, at))
        delivery = wires.send(channel, form, time.monotonic() + TIMEOUT_S)
        said = "answered" if delivery.ok else "NOT answered"
        print(f"  {channel.name} ({channel.kind}): {said}: {delivery.detail}")
        unanswered += not delivery.ok
    if unanswered:
        print(f"{unanswered} of {len(settings.channels)} did not answer: see the lines above")
        return EXIT_ALERTS_UNANSWERED
    return EXIT_OK


def trial_alert(channel: AlertChannel, settings: AlertSettings, at: datetime) -> Alert:
    """The test message for one channel: says it is a test, and what to expect of real ones."""
    links = (Link("board", settings.board_url),) if settings.board_url else ()
    return Alert(
        key=f"test/{channel.name}@{at:%Y-%m-%dT%H:%M:%SZ}",
        kind=Kind.TEST,
        env="fleet",
        status="green",
        was=None,
        at=at,
        since=None,
        title=f"alerts from fleetboard reach {channel.name}",
        lines=(
            "This is a test sent by `fleetboard alerts test`: nothing changed on the fleet.",
            "Real messages say an environment went red, recovered, stays red, or flaps.",
        ),
        next_action="Nothing to do: this is a test.",
        links=links,
    )
