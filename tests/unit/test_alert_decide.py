"""The alert decisions (alerts/decide.py) pass by pass: boards made by the real rules from
observations, carried through the real memory (since, flapping), then decided. Each case
is a script of passes a minute apart and the messages each pass adds."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from tests.observed import NOW, SMALL_FLEET, Observed, all_running

from fleetboard import memory
from fleetboard.alerts import saved
from fleetboard.alerts.decide import decide, delivered
from fleetboard.alerts.model import AlertState, Kind, Outgoing
from fleetboard.inventory import AlertChannel, AlertSettings, Hold
from fleetboard.memory.timeline import Timeline
from fleetboard.model import Board, ProbeError, Reason
from fleetboard.publish import LocalPublisher

AUDIT = "audit-test-2.litentry.org"
CRED = "cred-test-2.litentry.org"
OPS = AlertChannel("ops", "webhook", url_env="OPS_URL")
SETTINGS = AlertSettings(channels=(OPS,), board_url="https://board.example")
MINUTE = timedelta(minutes=1)
BAD_GATEWAY = "<html>502 Bad Gateway</html>"
#: A one-off window over test-2, 08:05 to 08:10.
WINDOW = """
[[maintenance]]
reason = "slot 2 rebuild"
environments = ["test-2"]
start = "2026-11-23T08:05:00Z"
end = "2026-11-23T08:10:00Z"
"""

Scene = Callable[[Observed], None]


def healthy(seen: Observed) -> None:
    """Every host answers."""


def audit_down(seen: Observed) -> None:
    seen.answers(AUDIT, code=502, body=BAD_GATEWAY, ms=41)


def audit_and_cred_down(seen: Observed) -> None:
    audit_down(seen)
    seen.answers(CRED, code=503, body="", ms=12)


def audit_slow(seen: Observed) -> None:
    seen.answers(AUDIT, ms=2600)  # green, but slower than 2 s: amber


def slot2_unreachable(seen: Observed) -> None:
    seen.probes_fail(ProbeError(Reason.CONNECT, "connection refused"), "test-2")


def prod_and_test2_down(seen: Observed) -> None:
    audit_down(seen)
    seen.answers("broker.litentry.org", code=500, body="", ms=9)


def blind(seen: Observed) -> None:
    seen.nothing_resolves("no resolver")


def cert_soon(seen: Observed) -> None:
    seen.cert("signer.litentry.org", days_left=12)


@dataclass
class Script:
    """Passes a minute apart from NOW, each through the rules, the memory and decide."""

    settings: AlertSettings = SETTINGS
    fleet: str = SMALL_FLEET
    at: datetime = NOW
    timeline: Timeline | None = None
    state: AlertState | None = None

    def board(self, scene: Scene, *, stopped: tuple[str, ...] = ()) -> Board:
        seen = all_running(self.fleet, stopped=stopped, at=self.at)
        scene(seen)
        board, self.timeline = memory.remember(self.timeline, seen.board())
        return board

    def run(self, scene: Scene, **kwargs: tuple[str, ...]) -> list[Outgoing]:
        """One pass: the messages it adds (and, as if they were delivered, the state)."""
        decision = decide(self.state, self.board(scene, **kwargs), self.settings, self.at)
        state = decision.state
        for o in decision.due:
            for channel in o.channels:
                state = delivered(state, o.alert.key, channel, self.at, "sent")
        self.state = state
        self.at += MINUTE
        return list(decision.due)

    def passes(self, scene: Scene, n: int, **kwargs: tuple[str, ...]) -> list[list[Outgoing]]:
        return [self.run(scene, **kwargs) for _ in range(n)]


def kinds(due: Sequence[Outgoing]) -> list[tuple[str, str]]:
    return [(o.alert.kind.value, o.alert.env) for o in due]


def flat(passes: Sequence[Sequence[Outgoing]]) -> list[tuple[str, str]]:
    return [k for due in passes for k in kinds(due)]


# --------------------------------------------------------------------------- thresholds


def test_a_failure_alerts_once_it_has_held_two_passes_and_says_what_to_do() -> None:
    script = Script()
    assert flat(script.passes(healthy, 3)) == []
    assert kinds(script.run(audit_down)) == []  # one pass: a blip, not yet a page
    (fired,) = script.run(audit_down)
    alert = fired.alert
    assert (alert.kind, alert.env, alert.status, alert.was) == (
        Kind.FIRING,
        "test-2",
        "red",
        "green",
    )
    assert alert.title.startswith("test-2 is red: ")
    assert "502" in alert.title
    assert any("audit" in line for line in alert.lines)
    assert alert.next_action and "audit" in alert.next_action
    assert alert.links[0].url == "https://board.example/#env-test-2"
    assert any(link.url == f"https://{AUDIT}/healthz" for link in alert.links)
    assert fired.channels == ("ops",)
    assert flat(script.passes(audit_down, 30)) == []  # said once; the reminder is at 60 min


def test_a_blip_of_one_pass_is_never_said() -> None:
    script = Script()
    script.passes(healthy, 2)
    assert flat([script.run(audit_down), *script.passes(healthy, 5)]) == []


def test_a_recovery_is_said_once_it_has_held_two_passes() -> None:
    script = Script()
    script.passes(audit_down, 2)
    assert kinds(script.run(healthy)) == []
    (back,) = script.run(healthy)
    assert (back.alert.kind, back.alert.status, back.alert.was) == (Kind.RECOVERED, "green", "red")
    assert back.alert.title == "test-2 is green again (was red)"
    assert flat(script.passes(healthy, 5)) == []


def test_thresholds_are_the_settings_own() -> None:
    script = Script(settings=replace(SETTINGS, fail_passes=3, recover_passes=1))
    assert flat(script.passes(audit_down, 2)) == []
    assert kinds(script.run(audit_down)) == [("firing", "test-2")]
    assert kinds(script.run(healthy)) == [("recovered", "test-2")]


def test_an_environment_and_a_level_may_hold_for_their_own_number_of_passes() -> None:
    """prod pages at once and is said back after three; amber waits five passes."""
    holds = replace(
        SETTINGS,
        amber=True,
        levels={"amber": Hold(fail_passes=5)},
        environments={"prod": Hold(fail_passes=1, recover_passes=3)},
    )
    script = Script(settings=holds)
    assert kinds(script.run(prod_and_test2_down)) == [("firing", "prod")]  # at once
    assert kinds(script.run(prod_and_test2_down)) == [("firing", "test-2")]  # two passes
    back = script.passes(healthy, 3)
    assert [kinds(due) for due in back] == [[], [("recovered", "test-2")], [("recovered", "prod")]]
    slow = script.passes(audit_slow, 5)  # amber: five passes before it is said
    assert [kinds(due) for due in slow] == [[], [], [], [], [("firing", "test-2")]]


def test_a_reminder_comes_every_remind_minutes_while_it_stays_red() -> None:
    script = Script()
    fired = flat(script.passes(audit_down, 2))
    assert fired == [("firing", "test-2")]
    said = script.passes(audit_down, 125)  # up to 2 h 5 min after the firing pass
    at = [i for i, due in enumerate(said) if due]
    assert at == [59, 119]  # 60 and 120 minutes after the firing message
    reminder = said[59][0].alert
    assert reminder.kind is Kind.REMINDER
    assert reminder.title.startswith("test-2 is still red (for 1 h 1 min)")
    quiet = Script(settings=replace(SETTINGS, remind_minutes=0))
    quiet.passes(audit_down, 2)
    assert flat(quiet.passes(audit_down, 125)) == []


# --------------------------------------------------------------------------- few messages


def test_an_unreachable_instance_is_one_message_for_its_environment() -> None:
    script = Script()
    said = flat(script.passes(slot2_unreachable, 2))
    assert said == [("firing", "test-2")]  # every check of it red: still one message


def test_the_lines_name_every_failing_check_of_the_environment() -> None:
    script = Script()
    script.run(slot2_unreachable)
    (fired,) = script.run(slot2_unreachable)
    assert len(fired.alert.lines) >= 3  # broker, signer, workers: one message, every line


def test_a_check_failing_later_in_a_red_environment_is_one_worse_message() -> None:
    script = Script()
    script.passes(audit_down, 2)
    assert kinds(script.run(audit_and_cred_down)) == []  # cred: one pass, not yet held
    (worse,) = script.run(audit_and_cred_down)
    assert (worse.alert.kind, worse.alert.was) == (Kind.WORSE, "red")
    assert "now also" in worse.alert.title and "cred" in worse.alert.title
    assert flat(script.passes(audit_and_cred_down, 10)) == []


def test_a_flapping_environment_gets_one_message_then_quiet_until_it_settles() -> None:
    script = Script()
    script.passes(healthy, 2)
    said = []
    for i in range(24):  # audit down every other pass: it flaps
        said += kinds(script.run(audit_down if i % 2 == 0 else healthy))
    assert said.count(("flapping", "test-2")) == 1
    assert ("firing", "test-2") not in said and ("recovered", "test-2") not in said
    settled = flat(script.passes(healthy, 25))  # the flap window empties
    assert settled == []  # it was never alerted red: nothing to recover from


def test_a_digest_stands_for_a_storm() -> None:
    script = Script(settings=replace(SETTINGS, digest_over=1))
    script.run(prod_and_test2_down)
    (digest,) = script.run(prod_and_test2_down)
    assert digest.alert.kind is Kind.DIGEST
    assert {a.env for a in digest.alert.items} == {"prod", "test-2"}
    assert "2 alerts at once across 2 environments (2 red)" in digest.alert.title


def test_below_the_digest_limit_each_environment_is_its_own_message() -> None:
    script = Script()
    script.run(prod_and_test2_down)
    assert sorted(kinds(script.run(prod_and_test2_down))) == [
        ("firing", "prod"),
        ("firing", "test-2"),
    ]


# --------------------------------------------------------------------------- silence


def test_a_maintenance_window_is_silent_and_a_failure_left_after_it_alerts() -> None:
    script = Script(fleet=SMALL_FLEET + WINDOW, at=NOW.replace(minute=5, second=0))
    assert flat(script.passes(audit_down, 5)) == []  # 08:05-08:09: in the window
    assert kinds(script.run(audit_down)) == []  # 08:10, out: first pass of the failure
    assert kinds(script.run(audit_down)) == [("firing", "test-2")]


def test_an_alerting_environment_going_into_maintenance_says_nothing_more() -> None:
    script = Script(fleet=SMALL_FLEET + WINDOW, at=NOW.replace(minute=3, second=0))
    assert flat(script.passes(audit_down, 2)) == [("firing", "test-2")]  # 08:03, 08:04
    assert flat(script.passes(healthy, 5)) == []  # 08:05-08:09: no recovery either
    # Still down once the window is over: said again, the window did not fix it.
    assert flat(script.passes(audit_down, 2)) == [("firing", "test-2")]


def test_a_parked_slot_is_silent() -> None:
    script = Script()
    assert flat(script.passes(healthy, 5, stopped=("test-3",))) == []


def test_what_cannot_be_seen_is_neither_an_outage_nor_a_recovery() -> None:
    script = Script()
    assert flat(script.passes(audit_down, 2)) == [("firing", "test-2")]
    assert flat(script.passes(blind, 5)) == []  # the collector blind: no recovery claimed
    assert script.state and script.state.watches["test-2"].alerted == "red"
    assert flat(script.passes(healthy, 2)) == [("recovered", "test-2")]
    fresh = Script()
    assert flat(fresh.passes(blind, 5)) == []  # blind from the start: no page either


# --------------------------------------------------------------------------- levels


def test_red_amber_red_with_amber_alerts() -> None:
    script = Script(settings=replace(SETTINGS, amber=True))
    assert flat(script.passes(audit_down, 2)) == [("firing", "test-2")]
    amber = script.passes(audit_slow, 2)
    assert flat(amber) == [("recovered", "test-2")]
    assert (amber[1][0].alert.status, amber[1][0].alert.was) == ("amber", "red")
    back = script.passes(audit_down, 2)
    assert flat(back) == [("worse", "test-2")]
    assert back[1][0].alert.was == "amber"


def test_red_amber_red_without_amber_alerts() -> None:
    script = Script()
    assert flat(script.passes(audit_down, 2)) == [("firing", "test-2")]
    assert flat(script.passes(audit_slow, 2)) == [("recovered", "test-2")]
    assert flat(script.passes(audit_slow, 5)) == []  # amber alone is not said
    assert flat(script.passes(audit_down, 2)) == [("firing", "test-2")]


def test_a_channel_hears_only_its_environments_and_levels() -> None:
    prod_only = AlertChannel("prod-pager", "slack", url_env="PAGER_URL", environments=("prod",))
    amber_only = AlertChannel("quiet", "webhook", url_env="Q_URL", levels=("amber",))
    settings = replace(SETTINGS, amber=True, channels=(OPS, prod_only, amber_only))
    script = Script(settings=settings)
    script.run(prod_and_test2_down)
    routed = {o.alert.env: o.channels for o in script.run(prod_and_test2_down)}
    assert routed == {"prod": ("ops", "prod-pager"), "test-2": ("ops",)}
    script.run(audit_slow)
    amber = {o.alert.env: o.channels for o in script.run(audit_slow)}
    # prod recovered (heard where red is), test-2 went from red to amber
    assert amber == {"prod": ("ops", "prod-pager"), "test-2": ("ops",)}


def test_settings_changed_between_passes_carry_the_state_over() -> None:
    script = Script()
    script.run(audit_down)
    script.settings = replace(SETTINGS, fail_passes=3)  # the operator raised the threshold
    assert kinds(script.run(audit_down)) == []
    assert kinds(script.run(audit_down)) == [("firing", "test-2")]
    pager = AlertChannel("pager", "sns")
    script.settings = replace(SETTINGS, channels=(OPS, pager))  # a channel added
    script.passes(healthy, 1)
    (back,) = script.run(healthy)
    assert back.channels == ("ops", "pager")


# --------------------------------------------------------------------------- forecasts


def test_a_forecast_is_said_once_a_day() -> None:
    script = Script()
    said = flat(script.passes(cert_soon, 30))
    assert said == [("forecast", "prod")]
    script.at = NOW + timedelta(days=1)
    assert flat(script.passes(cert_soon, 3)) == [("forecast", "prod")]
    off = Script(settings=replace(SETTINGS, forecasts=False))
    assert flat(off.passes(cert_soon, 3)) == []


# --------------------------------------------------------------------------- exactly once


def test_a_retried_pass_decides_nothing_the_first_attempt_already_queued() -> None:
    script = Script()
    script.run(audit_down)
    board = script.board(audit_down)
    first = decide(script.state, board, SETTINGS, script.at)
    assert kinds(first.due) == [("firing", "test-2")]
    # The first attempt saved its state (the outbox with the message) and died: Lambda
    # runs the pass again on the same board. Nothing new is due; the outbox still has it.
    again = decide(first.state, board, SETTINGS, script.at)
    assert again.due == ()
    assert [o.alert.key for o in again.state.outbox] == [first.due[0].alert.key]


def test_a_message_not_delivered_stays_in_the_outbox_and_is_never_decided_twice() -> None:
    script = Script()
    script.run(audit_down)
    first = decide(script.state, script.board(audit_down), SETTINGS, script.at)
    later = decide(first.state, script.board(audit_down), SETTINGS, script.at + MINUTE)
    assert later.due == ()
    assert len(later.state.outbox) == 1
    day_later = NOW + timedelta(days=1, minutes=5)
    dropped = decide(later.state, script.board(audit_down), SETTINGS, day_later)
    assert dropped.state.outbox == ()
    assert dropped.state.last and "dropped" in dropped.state.last


@pytest.mark.parametrize("channels", [("ops",), ("ops", "pager")])
def test_delivered_takes_a_message_off_each_channel_then_remembers_its_key(
    channels: tuple[str, ...],
) -> None:
    settings = replace(SETTINGS, channels=(OPS, AlertChannel("pager", "sns")))
    script = Script(settings=settings)
    script.run(audit_down)
    decision = decide(script.state, script.board(audit_down), settings, script.at)
    (due,) = decision.due
    state = decision.state
    for channel in channels:
        state = delivered(state, due.alert.key, channel, script.at, f"firing to {channel}")
    left = set(due.channels) - set(channels)
    assert [set(o.channels) for o in state.outbox] == ([left] if left else [])
    assert (due.alert.key in state.sent) == (not left)
    assert state.last == f"firing to {channels[-1]}"


# --------------------------------------------------------------------------- the saved state


def test_the_state_is_saved_whole_and_read_back_the_same(tmp_path: Path) -> None:
    """Watches, today's forecasts, an outbox holding a digest of two, the sent keys."""
    script = Script(settings=replace(SETTINGS, digest_over=1))
    script.passes(cert_soon, 1)
    script.run(prod_and_test2_down)
    decision = decide(script.state, script.board(prod_and_test2_down), script.settings, script.at)
    assert decision.due and decision.due[0].alert.items  # a digest, not yet delivered
    store = LocalPublisher(tmp_path)
    assert saved.load(store) == AlertState()  # the first pass: nothing saved yet
    assert saved.save(store, decision.state) is None
    back = saved.load(LocalPublisher(tmp_path))
    assert back == decision.state
    assert back.forecasts and back.sent and back.watches["test-2"].alerted == "red"


def test_an_unreadable_state_starts_alerting_afresh_and_says_so(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    (tmp_path / "state").mkdir()
    (tmp_path / "state" / "alerts.json").write_text('{"version": 1, "watches": {"x": 1}}')
    assert saved.load(LocalPublisher(tmp_path)) == AlertState()
    assert "alerts: the alert state was unreadable (malformed (TypeError))" in caplog.text


def test_a_second_pass_that_wrote_first_keeps_its_state_and_this_one_must_not_send(
    tmp_path: Path,
) -> None:
    mine, theirs = LocalPublisher(tmp_path), LocalPublisher(tmp_path)
    saved.load(mine)
    saved.load(theirs)
    assert saved.save(theirs, AlertState(last="theirs")) is None
    conflict = saved.save(mine, AlertState(last="mine"))
    assert conflict is not None  # the caller sends nothing on a conflict
    assert saved.load(LocalPublisher(tmp_path)).last == "theirs"


def test_a_wallet_running_dry_is_a_forecast_once_a_day() -> None:
    """The runway's own script (tests/unit/test_runway.py): 2 HEI burning 0.1 a day, four
    days in: amber, "runs dry in about 6 days"."""
    from tests.unit.test_runway import drain, hourly, passes

    board, _ = passes(hourly(0, 96), drain("2", "0.1"))
    first = decide(None, board, SETTINGS, board.generated_at)
    forecasts = [o.alert for o in first.due if o.alert.kind is Kind.FORECAST]
    assert [(a.env, a.status) for a in forecasts] == [("prod", "amber")]
    assert forecasts[0].title == "prod deployer: burns 0.1 HEI/day: runs dry in about 6 days"
    later = replace(board, generated_at=board.generated_at + timedelta(hours=1))
    assert decide(first.state, later, SETTINGS, later.generated_at).due == ()
    tomorrow = replace(board, generated_at=board.generated_at + timedelta(days=1))
    again = decide(first.state, tomorrow, SETTINGS, tomorrow.generated_at)
    assert [o.alert.kind for o in again.due] == [Kind.FORECAST]
