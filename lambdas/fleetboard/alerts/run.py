"""A pass's alerting, after its board is published: read the alert state, decide, write the
state, send what is due and what earlier passes could not, write the state after each
delivery. Never raises and never touches the board: a channel that is down is one line in
the log, a metric, and the footer of the next board (docs/decisions/0010-alerts-sent-once.md
says why the state is written before sending and after each delivery).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from fleetboard.alerts import saved
from fleetboard.alerts.decide import decide, delivered, failed, forget_sent
from fleetboard.alerts.deliver import Delivery, send
from fleetboard.alerts.message import body
from fleetboard.alerts.model import AlertState, Body
from fleetboard.inventory import AlertChannel, AlertSettings
from fleetboard.model import Board
from fleetboard.secrets import Secret
from fleetboard.state import StateStore

log = logging.getLogger("fleetboard")


@dataclass(frozen=True, slots=True)
class Wires:
    """How this run reaches its channels."""

    #: A webhook channel's URL: the webhook secret's key on Lambda, the channel's
    #: `url_env` on a laptop; None when it is not filled in.
    url: Callable[[AlertChannel], Secret | None]
    sns: Any | None = None  # a boto3 SNS client, for an sns channel
    topic_arn: str | None = None  # the stack's topic; None: sns channels are not configured
    ca_bundle: Path | None = None  # CAs trusted besides the system's (the demo's receiver)
    timeout_s: float = 5.0  # the most one delivery may take (and what is left of the pass)

    def send(self, channel: AlertChannel, form: Body, deadline: float) -> Delivery:
        """`form` to `channel` the way these wires reach it, by `deadline`. Never raises."""
        return send(
            channel,
            form,
            url=self.url(channel) if channel.kind != "sns" else None,
            sns=self.sns,
            topic_arn=self.topic_arn,
            deadline=deadline,
            timeout_s=self.timeout_s,
            ca_bundle=self.ca_bundle,
        )


@dataclass(frozen=True, slots=True)
class AlertReport:
    """What a pass's alerting did, for the log, the metrics and the next board's footer."""

    due: int = 0  # messages this pass decided
    sent: int = 0  # deliveries that reached their channel
    failed: tuple[Delivery, ...] = ()  # deliveries that did not (retried next pass)
    undelivered: int = 0  # messages left in the outbox for the next pass
    #: Another pass wrote the alert state since this one read it: this one sent nothing.
    conflict: bool = False


def run_alerts(
    store: StateStore,
    board: Board,
    settings: AlertSettings,
    wires: Wires,
    *,
    before: AlertState,
    now: datetime,
    deadline: float,
) -> AlertReport:
    """Decide and deliver this pass's messages (see the module's doc); `before` is the
    state as this pass read it from `store` (saved.load). Never raises."""
    try:
        decision = decide(before, board, settings, now)
    except Exception as exc:  # alerting never fails the pass it follows
        log.warning("alerts: not decided (%s)", type(exc).__name__)
        return AlertReport()
    # From here nothing raises: a body that cannot be made, a channel that fails and a
    # state that cannot be written are each said, and the next pass tries again.
    state = written = decision.state
    # A quiet fleet's state does not change from pass to pass: no write then.
    if state != before and saved.save(store, state) is not None:
        return AlertReport(due=len(decision.due), conflict=True)
    channels = {c.name: c for c in settings.channels}
    sent = 0
    failures: list[Delivery] = []
    for outgoing in state.outbox:
        for name in outgoing.channels:
            channel = channels.get(name)
            if channel is None:  # taken out of fleet.toml since: nowhere to send it
                state = delivered(state, outgoing.alert.key, name, now, state.last or "")
                continue
            try:
                form = body(channel.kind, outgoing.alert)
            except Exception as exc:  # a body that cannot be made is that message's failure
                failures.append(Delivery(name, False, f"not sent: no body ({type(exc).__name__})"))
                continue
            delivery = wires.send(channel, form, deadline)
            if not delivery.ok:
                failures.append(delivery)
                continue
            sent += 1
            line = f"{outgoing.alert.kind.value} to {name} at {now:%Y-%m-%d %H:%M} UTC"
            state = written = delivered(state, outgoing.alert.key, name, now, line)
            if saved.save(store, state) is not None:  # another pass took over: stop here
                return AlertReport(len(decision.due), sent, tuple(failures), conflict=True)
    failing = {d.channel: d.detail for d in failures}
    state = forget_sent(failed(state, _keys_failed(state, failing)), now)
    state = replace(state, failing=failing)
    if state != written and saved.save(store, state) is not None:
        return AlertReport(len(decision.due), sent, tuple(failures), conflict=True)
    return AlertReport(len(decision.due), sent, tuple(failures), len(state.outbox))


def _keys_failed(state: AlertState, failing: dict[str, str]) -> list[str]:
    return [o.alert.key for o in state.outbox if set(o.channels) & set(failing)]
