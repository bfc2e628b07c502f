"""Whole passes with [alerts]: the real pass (rules, memory, publishing into a folder, the
alert state beside it) over scripted observations, sending to the loopback webhook
receiver over HTTPS. What an operator sees: one message when test-2 goes red and holds it,
one when it is back, none twice, the footer saying the last message, and a receiver that
is down never costing the board."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import ClassVar

import pytest
from tests.observed import NOW, SMALL_FLEET, Observed, all_running

from fleetboard import collect, config
from fleetboard.alerts import message, saved
from fleetboard.config import LoadedConfig
from fleetboard.demo.receiver import Answer, Receiver
from fleetboard.inventory import Inventory
from fleetboard.publish import LocalPublisher
from fleetboard.sources import PassContext

AUDIT = "audit-test-2.litentry.org"
URL_ENV = "FLEETBOARD_TEST_OPS_URL"
#: The secret part of the webhook URL: it must show nowhere.
TOKEN = "T0ALERTS/B0PASS/sEcReTtOkEn"


@dataclass
class Seen:
    """A source answering with what the script says it saw: no network."""

    name: str
    facts: object
    needs: ClassVar[tuple[str, ...]] = ()
    wants: ClassVar[tuple[str, ...]] = ()

    def collect(self, inventory: Inventory, ctx: PassContext) -> object:
        return self.facts


@dataclass
class Fleet:
    loaded: LoadedConfig
    out: Path
    receiver: Receiver
    at: datetime = NOW

    def run(self, audit_down: bool) -> collect.PassResult:
        """One pass a minute after the last, audit-test-2 answering 502 or 200."""
        seen: Observed = all_running(SMALL_FLEET, at=self.at)
        if audit_down:
            seen.answers(AUDIT, code=502, body="<html>502 Bad Gateway</html>", ms=41)
        sources = [Seen(name, facts) for name, facts in seen.results().items()]
        ctx = PassContext(deadline=time.monotonic() + 10, now=lambda: self.at)
        result = collect.run_pass(self.loaded, ctx, LocalPublisher(self.out), sources=sources)
        self.at += timedelta(minutes=1)
        return result

    def bodies(self) -> list[dict[str, object]]:
        return [json.loads(r.body) for r in self.receiver.received]


@pytest.fixture
def fleet(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Fleet:
    with Receiver(tick_s=0.05) as receiver:
        toml = tmp_path / "fleet.toml"
        toml.write_text(
            SMALL_FLEET
            + f'\n[probe]\nca_bundle = "{receiver.ca_bundle}"\n'
            + '\n[alerts]\nboard_url = "https://board.example"\n'
            + f'[[alerts.channels]]\nname = "ops"\nkind = "webhook"\nurl_env = "{URL_ENV}"\n'
        )
        monkeypatch.setenv(URL_ENV, receiver.url(f"/services/{TOKEN}?key={TOKEN}"))
        yield Fleet(config.load(toml), tmp_path / "board", receiver)


def test_a_failure_that_holds_is_one_message_and_its_recovery_another(fleet: Fleet) -> None:
    for audit_down in (False, True, True, True, True):
        result = fleet.run(audit_down)
        assert result.error is None and result.alerts is not None
    bodies = fleet.bodies()
    assert [(b["kind"], b["env"], b["status"]) for b in bodies] == [("firing", "test-2", "red")]
    assert message.SCHEMA.problems(bodies[0]) == []
    assert result.alerts.due == 0 and result.alerts.sent == 0  # said once, not each pass
    for _ in range(3):
        fleet.run(audit_down=False)
    kinds = [(b["kind"], b["status"], b["was"]) for b in fleet.bodies()]
    assert kinds == [("firing", "red", "green"), ("recovered", "green", "red")]
    # The next board's footer says the last message and where it went.
    latest = json.loads((fleet.out / "latest.json").read_text())
    assert latest["collector"]["alerts"].startswith("last alert: recovered to ops at ")
    assert "last alert: recovered to ops" in (fleet.out / "index.html").read_text()


def test_a_receiver_that_fails_keeps_the_message_and_the_board(fleet: Fleet) -> None:
    fleet.receiver.answer = Answer.ERROR
    fleet.run(audit_down=True)
    result = fleet.run(audit_down=True)
    assert result.error is None and result.published  # the board is out regardless
    assert result.alerts is not None and result.alerts.sent == 0
    assert [d.detail.split(":")[0] for d in result.alerts.failed] == ["http 500"]
    assert result.alerts.undelivered == 1
    after = fleet.run(audit_down=True)  # still failing: tried again, once
    assert len(fleet.receiver.received) == 2
    latest = json.loads((fleet.out / "latest.json").read_text())
    assert "not delivered to ops: http 500" in latest["collector"]["alerts"]
    assert after.alerts is not None and after.alerts.undelivered == 1
    fleet.receiver.answer = Answer.OK
    fleet.run(audit_down=True)  # the receiver is back: the message goes, once
    kinds = [json.loads(r.body)["kind"] for r in fleet.receiver.received]
    assert kinds == ["firing", "firing", "firing"]  # two refused, one taken
    assert saved.load(LocalPublisher(fleet.out)).outbox == ()
    fleet.run(audit_down=True)
    assert len(fleet.receiver.received) == 3


def test_the_webhook_url_shows_in_no_artifact(
    fleet: Fleet, caplog: pytest.LogCaptureFixture
) -> None:
    fleet.receiver.answer = Answer.ERROR
    for audit_down in (True, True, True):
        fleet.run(audit_down)
    written = [p.read_text(errors="replace") for p in fleet.out.rglob("*") if p.is_file()]
    assert written and not [text for text in written if TOKEN in text]
    assert TOKEN not in caplog.text
