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

from fleetboard import collect, config, memory
from fleetboard.alerts import message, saved
from fleetboard.alerts.run import AlertReport, Wires, run_alerts
from fleetboard.config import LoadedConfig
from fleetboard.demo.receiver import Answer, Receiver
from fleetboard.inventory import Inventory
from fleetboard.model import Board
from fleetboard.publish import LocalPublisher
from fleetboard.secrets import Secret
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

    def run(self, audit_down: bool, store: LocalPublisher | None = None) -> collect.PassResult:
        """One pass a minute after the last, audit-test-2 answering 502 or 200."""
        try:
            ctx = PassContext(deadline=time.monotonic() + 10, now=lambda: self.at)
            publisher = store or LocalPublisher(self.out)
            return collect.run_pass(self.loaded, ctx, publisher, sources=self.sources(audit_down))
        finally:
            self.at += timedelta(minutes=1)

    def sources(self, audit_down: bool) -> list[Seen]:
        seen: Observed = all_running(SMALL_FLEET, at=self.at)
        if audit_down:
            seen.answers(AUDIT, code=502, body="<html>502 Bad Gateway</html>", ms=41)
        return [Seen(name, facts) for name, facts in seen.results().items()]

    def board(self, audit_down: bool) -> Board:
        """This minute's board, as a pass remembers it (for driving run_alerts alone)."""
        ctx = PassContext(deadline=time.monotonic() + 10, now=lambda: self.at)
        board = collect.build_board(self.loaded, ctx, sources=self.sources(audit_down))
        store = LocalPublisher(self.out)
        remembered = memory.load(store, lambda: None, board.generated_at)
        board, timeline = memory.remember(remembered, board)
        memory.save(store, timeline)
        return board

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


# --------------------------------------------------------------------------- sent once


class Dies(LocalPublisher):
    """A folder publisher whose process dies at its n-th alert-state write, before it is
    written or just after: what Lambda sees of a pass killed at that line."""

    def __init__(self, root: Path, at_write: int, *, after: bool = False) -> None:
        super().__init__(root)
        self.writes = 0
        self.at_write = at_write
        self.after = after

    def save_state(self, name: str, data: bytes) -> None:
        if name == saved.STATE_NAME:
            self.writes += 1
            if self.writes == self.at_write and not self.after:
                raise Died
        super().save_state(name, data)
        if name == saved.STATE_NAME and self.writes == self.at_write and self.after:
            raise Died


class Died(BaseException):
    """The process ended (not an error a pass could catch)."""


def test_a_pass_that_dies_before_sending_is_sent_by_the_next_once(fleet: Fleet) -> None:
    fleet.run(audit_down=True)
    # The firing pass writes its state (watch changed, message queued) and dies before
    # sending: on Lambda, the retry or the next tick finds the message queued.
    with pytest.raises(Died):
        fleet.run(audit_down=True, store=Dies(fleet.out, at_write=1, after=True))
    assert fleet.receiver.received == ()
    fleet.run(audit_down=True)
    fleet.run(audit_down=True)
    assert [b["kind"] for b in fleet.bodies()] == ["firing"]


def test_a_pass_that_dies_between_the_answer_and_its_write_repeats_one_message_once(
    fleet: Fleet,
) -> None:
    """The one window decision 0010 names: the channel answered, the write after it did
    not happen. The next pass sends that message again, with the same id, and never a
    third time."""
    fleet.run(audit_down=True)
    with pytest.raises(Died):
        # write 1: the decision (before sending); write 2: after the delivery.
        fleet.run(audit_down=True, store=Dies(fleet.out, at_write=2))
    for _ in range(3):
        fleet.run(audit_down=True)
    bodies = fleet.bodies()
    assert [b["kind"] for b in bodies] == ["firing", "firing"]
    assert bodies[0]["id"] == bodies[1]["id"]  # a receiver can drop the second


def test_a_pass_run_again_on_the_same_board_sends_nothing_twice(fleet: Fleet) -> None:
    """A retried invocation (or a second quick pass) over a board whose message went out."""
    fleet.run(audit_down=True)
    fleet.run(audit_down=True)
    fleet.at -= timedelta(minutes=1)  # the same minute again
    again = fleet.run(audit_down=True)
    assert again.alerts is not None and again.alerts.due == 0
    assert [b["kind"] for b in fleet.bodies()] == ["firing"]


def test_a_receiver_slower_than_the_timeout_gets_it_again_with_the_same_id(
    fleet: Fleet,
) -> None:
    settings = fleet.loaded.inventory.alerts
    assert settings is not None
    store = LocalPublisher(fleet.out)
    wires = Wires(
        url=lambda channel: Secret(fleet.receiver.url(f"/services/{TOKEN}")),
        ca_bundle=fleet.receiver.ca_bundle,
        timeout_s=0.3,
    )

    def alerting(board: Board) -> AlertReport:
        return run_alerts(
            store,
            board,
            settings,
            wires,
            before=saved.load(store),
            now=board.generated_at,
            deadline=time.monotonic() + 5,
        )

    alerting(fleet.board(audit_down=True))
    fleet.at += timedelta(minutes=1)
    fleet.receiver.answer = Answer.HANG  # takes the message, answers after we gave up
    slow = alerting(fleet.board(audit_down=True))
    assert [d.detail.split(":")[0] for d in slow.failed] == ["timeout"]
    fleet.receiver.release()
    fleet.receiver.answer = Answer.OK
    fleet.at += timedelta(minutes=1)
    alerting(fleet.board(audit_down=True))
    fleet.at += timedelta(minutes=1)
    alerting(fleet.board(audit_down=True))
    bodies = fleet.bodies()
    assert [b["kind"] for b in bodies] == ["firing", "firing"]
    assert bodies[0]["id"] == bodies[1]["id"]
