"""Wallet runway: each wallet's and deposit's burn per day and days to its floor, from the
balance trails the board keeps (rules/runway.py, memory/wallets.py); amber under the
chain's `runway_days`; a funding starts the estimate again; too little history is said, not
a number; a lost or broken trail is a reset, never a failed pass."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from fractions import Fraction

import pytest
from tests.observed import SMALL_EIPS, SMALL_FLEET, all_running

from fleetboard import snapshot
from fleetboard.memory import wallets
from fleetboard.memory.wallets import Trails
from fleetboard.model import Board, Issue, Status, WalletView
from fleetboard.rules import runway
from fleetboard.rules.runway import Began, Sample, Trail, extend, trail_key

HEI = 10**18
T0 = datetime(2026, 11, 16, 8, 0, tzinfo=UTC)
DEPLOYER = "0xdE644936D5B7d5d42032fd08bbA42Fbbfd6663Bc"
PAYMASTER = "0x8e4A1c2B3d5F6a7B8c9D0e1F2a3B4c5D6e7F8091"
ENTRYPOINT = "0x0000000071727De22E5E9d8BAf0edAc6f37da032"
DEPLOYER_KEY = trail_key("deployer", None, DEPLOYER)


def fleet(chain: str = "") -> str:
    """SMALL_FLEET with prod's deployer and paymaster deposit on [chain] (floors 1 and
    0.2 HEI, the defaults)."""
    return (
        SMALL_FLEET
        + f'\n[chain]\nchain_id = 212013\nentrypoint = "{ENTRYPOINT}"\n{chain}'
        + f'\n[environments.prod.chain]\ndeployer = "{DEPLOYER}"\npaymaster = "{PAYMASTER}"\n'
    )


Balance = Callable[[float], int]  # hours since T0 -> wei


def drain(start: str, per_day: str) -> Balance:
    """A balance of `start` HEI at T0 falling `per_day` HEI a day, exactly."""
    a, b = Fraction(start) * HEI, Fraction(per_day) * HEI
    return lambda hours: int(a - b * Fraction(hours) / 24)


def one_pass(
    hours: float,
    trails: Trails,
    deployer: int | None,
    deposit: int = 5 * HEI,
    chain: str = "",
) -> tuple[Board, Trails]:
    """One pass `hours` after T0 through the real rules with the trails kept so far; the
    board and the trails after it (as collect.run_pass saves them)."""
    seen = all_running(fleet(chain), SMALL_EIPS, at=T0 + timedelta(hours=hours))
    if deployer is None:
        seen.balance_unread(DEPLOYER, "timeout")
    else:
        seen.balance(DEPLOYER, deployer, nonce=7)
    seen.deposit(ENTRYPOINT, PAYMASTER, deposit)
    seen.wallet_trails = dict(trails)
    board = seen.board()
    return board, wallets.advance(trails, board)


def passes(
    hours: Iterable[float], deployer: Balance, trails: Trails | None = None, chain: str = ""
) -> tuple[Board, Trails]:
    kept: Trails = dict(trails or {})
    board = None
    for h in hours:
        board, kept = one_pass(h, kept, deployer(h), chain=chain)
    assert board is not None
    return board, kept


def hourly(first: float, last: float) -> list[float]:
    return [float(h) for h in range(int(first), int(last) + 1)]


def prod_wallet(board: Board, role: str = "deployer") -> WalletView:
    prod = next(e for e in board.environments if e.name == "prod")
    assert prod.chain is not None
    return next(w for w in prod.chain.wallets if w.role == role)


def prod_issues(board: Board) -> dict[str, Issue]:
    prod = next(e for e in board.environments if e.name == "prod")
    return {i.check: i for i in prod.issues}


# --------------------------------------------------------------------------- the rules


def test_a_draining_wallets_days_left_match_the_scripted_burn_then_it_goes_amber() -> None:
    burn = drain("2", "0.1")  # 2 HEI, 0.1 HEI a day, floor 1 HEI: 10 days of runway
    board, trails = passes(hourly(0, 6), burn)
    w = prod_wallet(board)
    assert (w.burn_per_day_wei, w.burn_per_day) == (10**17, "0.1 HEI")
    assert w.days_left == 9.75  # 1.975 HEI, 0.975 above the floor: 9.75 days
    assert w.runway == "burns 0.1 HEI/day: runs dry in about 10 days"

    board, trails = passes(hourly(7, 48), burn, trails)
    w = prod_wallet(board)
    assert (w.status, w.days_left, w.burn_per_day_wei) == (Status.GREEN, 8.0, 10**17)
    assert w.text == "1.8 HEI (floor 1 HEI)"  # green: its sentence is unchanged
    assert "wallet:deployer" not in prod_issues(board)

    board, _ = passes(hourly(49, 96), burn, trails)  # four days: 1.6 HEI, 6 days left
    w = prod_wallet(board)
    assert (w.status, w.days_left) == (Status.AMBER, 6.0)
    assert w.runway == "burns 0.1 HEI/day: runs dry in about 6 days"
    assert w.text == "1.6 HEI (floor 1 HEI), burns 0.1 HEI/day: runs dry in about 6 days"
    issue = prod_issues(board)["wallet:deployer"]
    assert issue.status is Status.AMBER and "runs dry in about 6 days" in issue.text
    prod = next(e for e in board.environments if e.name == "prod")
    assert prod.status is Status.AMBER and prod.chain is not None
    assert prod.chain.status is Status.AMBER
    assert "runs dry in about 6 days" in board.summary.suggested_next_action


def test_too_little_history_says_not_enough_history_not_a_number() -> None:
    fast = drain("1.5", "1")  # it would be dry in 7 hours: still no number
    board, trails = passes(hourly(0, 5), fast)
    w = prod_wallet(board)
    assert (w.burn_per_day_wei, w.burn_per_day, w.days_left) == (None, None, None)
    assert w.runway == "not enough history"
    assert w.status is Status.GREEN and "wallet:deployer" not in prod_issues(board)
    assert len(trails[DEPLOYER_KEY].samples) == 2  # the first and the newest


def test_a_funded_wallet_starts_its_estimate_again() -> None:
    board, trails = passes(hourly(0, 72), drain("2.5", "0.2"))  # 1.9 HEI: 4.5 days left
    assert prod_wallet(board).status is Status.AMBER

    funded = drain("5.15", "0.05")  # topped up to 5 HEI at 72 h, then 0.05 HEI a day
    board, trails = passes([73.0], funded, trails)
    w = prod_wallet(board)
    assert w.status is Status.GREEN and w.days_left is None  # the old burn is gone
    assert w.runway == "not enough history since it was funded at 09:00 UTC"
    assert trails[DEPLOYER_KEY].began is Began.FUNDED
    assert [s.at for s in trails[DEPLOYER_KEY].samples] == [T0 + timedelta(hours=73)]

    board, _ = passes(hourly(74, 79), funded, trails)
    w = prod_wallet(board)
    assert w.burn_per_day_wei == 5 * 10**16  # the new burn only
    assert w.runway == "burns 0.05 HEI/day: runs dry in about 80 days"


def test_a_small_rise_is_part_of_the_net_burn_not_a_funding() -> None:
    def bundler(hours: float) -> int:  # down 0.004 HEI an hour, 0.001 back every 4 hours
        return 2 * HEI - int(hours) * 4 * 10**15 + (int(hours) // 4) * 10**15

    board, trails = passes(hourly(0, 24), bundler)
    assert trails[DEPLOYER_KEY].began is Began.FIRST
    w = prod_wallet(board)
    assert w.burn_per_day_wei == 24 * 4 * 10**15 - 6 * 10**15  # 0.09 HEI a day, net


def test_a_flat_balance_is_not_burning() -> None:
    board, _ = passes(hourly(0, 12), lambda _: 3 * HEI)
    w = prod_wallet(board)
    assert (w.burn_per_day_wei, w.burn_per_day, w.days_left) == (0, "0 HEI", None)
    assert w.runway == "not burning" and w.status is Status.GREEN


def test_the_paymaster_deposit_has_its_runway_too() -> None:
    kept: Trails = {}
    board = None
    for h in hourly(0, 24):  # 0.5 HEI, 0.1 HEI a day, floor 0.2: 3 days
        board, kept = one_pass(h, kept, 3 * HEI, deposit=drain("0.5", "0.1")(h))
    assert board is not None
    deposit = prod_wallet(board, "paymaster deposit")
    assert (deposit.status, deposit.days_left) == (Status.AMBER, 2.0)
    assert (
        deposit.text
        == "deposit 0.4 HEI (floor 0.2 HEI), burns 0.1 HEI/day: runs dry in about 2 days"
    )
    assert prod_issues(board)["wallet:paymaster-deposit"].status is Status.AMBER
    assert trail_key("paymaster deposit", None, PAYMASTER) in kept


def test_below_its_floor_it_stays_red_and_says_how_fast_it_sinks() -> None:
    board, _ = passes(hourly(0, 12), drain("0.9", "0.2"))
    w = prod_wallet(board)
    assert w.status is Status.RED and w.text.endswith("floor: fund it")
    assert (w.days_left, w.runway) == (0.0, "burns 0.2 HEI/day")
    assert prod_issues(board)["wallet:deployer"].status is Status.RED


@pytest.mark.parametrize(
    ("setting", "status"),
    [("runway_days = 0\n", Status.GREEN), ("runway_days = 30\n", Status.AMBER), ("", Status.GREEN)],
)
def test_the_horizon_is_the_chains_runway_days(setting: str, status: Status) -> None:
    board, _ = passes(hourly(0, 24), drain("2", "0.1"), chain=setting)  # 9 days left
    assert prod_wallet(board).status is status


def test_an_unread_balance_has_no_runway_and_keeps_its_trail() -> None:
    board, trails = passes(hourly(0, 12), drain("2", "0.1"))
    before = trails[DEPLOYER_KEY]
    board, trails = one_pass(13, trails, None)
    w = prod_wallet(board)
    assert w.status is Status.UNKNOWN and w.runway is None and w.days_left is None
    assert trails[DEPLOYER_KEY] == before


def test_a_wallet_no_longer_on_the_board_is_forgotten() -> None:
    _, trails = passes(hourly(0, 2), drain("2", "0.1"))
    stray = trail_key("deployer", None, "0x" + "1" * 40)
    trails[stray] = Trail((Sample(T0, HEI),))
    _, after = one_pass(3, trails, 2 * HEI)
    assert stray not in after and DEPLOYER_KEY in after


# --------------------------------------------------------------------------- the trail


def test_the_burn_follows_the_last_week_and_the_trail_stays_small() -> None:
    trail = None
    for h in range(0, 30 * 24 + 1):  # 0.5 HEI a day for 20 days, then 0.1 HEI a day
        wei = 100 * HEI - min(h, 480) * HEI // 48 - max(h - 480, 0) * HEI // 240
        trail = extend(trail, T0 + timedelta(hours=h), wei)
        assert len(trail.samples) <= wallets.MAX_SAMPLES
    assert trail is not None
    seen = runway.runway(trail, HEI, 18, "HEI")
    assert seen.burn_per_day_wei == 10**17  # the last seven days' burn, not the month's
    assert trail.samples[-1].at - trail.samples[0].at <= runway.WINDOW
    assert len(wallets.encode({DEPLOYER_KEY: trail})) < 1200  # bytes a wallet, at most


def test_a_collector_away_longer_than_the_window_starts_again() -> None:
    trail = extend(extend(None, T0, 2 * HEI), T0 + timedelta(hours=12), HEI * 19 // 10)
    later = extend(trail, T0 + timedelta(days=9), HEI * 15 // 10)
    assert later.samples == (Sample(T0 + timedelta(days=9), HEI * 15 // 10),)
    assert runway.runway(later, HEI, 18, "HEI").text == "not enough history"


def test_extending_with_the_sample_it_ends_with_changes_nothing() -> None:
    trail = extend(extend(None, T0, 2 * HEI), T0 + timedelta(hours=1), HEI)
    assert extend(trail, T0 + timedelta(hours=1), HEI) is trail


@pytest.mark.parametrize(
    ("days", "text"),
    [
        (Fraction(1, 100), "less than an hour"),
        (Fraction(1, 24), "about 1 hour"),
        (Fraction(14, 24), "about 14 hours"),
        (Fraction(35, 24), "about 35 hours"),
        (2, "about 2 days"),
        (Fraction(64, 10), "about 6 days"),
        (Fraction(65, 10), "about 7 days"),
        (400, "more than a year"),
    ],
)
def test_days_are_said_as_a_person_would(days: Fraction, text: str) -> None:
    assert runway.about_days(days) == text


def test_a_burn_is_said_to_three_digits_and_kept_exact() -> None:
    trail = extend(extend(None, T0, 2 * HEI), T0 + timedelta(days=3), 2 * HEI - HEI // 3 * 1)
    seen = runway.runway(trail, HEI, 18, "HEI")
    assert seen.burn_per_day_wei == (HEI // 3) // 3  # floored to the wei
    assert seen.text.startswith("burns 0.111 HEI/day")


# --------------------------------------------------------------------------- the memory


#: More samples than a trail ever keeps.
TOO_MANY = b"[" + b",".join(b'[%d, "1"]' % i for i in range(1, 40)) + b"]"


class Store:
    """A StateStore in memory; `broken` makes it raise."""

    def __init__(self, saved: bytes | None = None, *, broken: bool = False) -> None:
        self.saved = {"wallets": saved} if saved is not None else {}
        self.broken = broken

    def load_state(self, name: str) -> bytes | None:
        if self.broken:
            raise OSError("the disk is gone")
        return self.saved.get(name)

    def save_state(self, name: str, data: bytes) -> None:
        if self.broken:
            raise OSError("the disk is gone")
        self.saved[name] = data


def latest_of(board: Board) -> bytes:
    return snapshot.dumps(snapshot.to_document(board))


def test_the_trails_are_saved_and_read_back_whole() -> None:
    _, trails = passes(hourly(0, 30), drain("2", "0.1"))
    store = Store()
    wallets.save(store, trails)
    assert wallets.load(store, lambda: None) == trails
    assert set(trails) == {DEPLOYER_KEY, trail_key("paymaster deposit", None, PAYMASTER)}


@pytest.mark.parametrize(
    "data",
    [
        b'{"version": 1, "trails": ',  # a truncated write
        b'{"version": 2, "trails": {}}',  # another version
        b"[" * 5000,  # nested past what we parse
        b'{"version": 1, "trails": {"k": {"began": "first", "samples": []}}}',
        b'{"version": 1, "trails": {"k": {"began": "first", "samples": [[1, "x"]]}}}',
        b'{"version": 1, "trails": {"k": {"began": "gone", "samples": [[1, "1"]]}}}',
        b'{"version": 1, "trails": {"k": {"began": "first", "samples": [[2, "1"], [1, "1"]]}}}',
        b'{"version": 1, "trails": {"k": {"began": "first", "samples": [[true, "1"]]}}}',
        b'{"version": 1, "trails": {"k": {"began": "first", "samples": [[1, "\xd9\xa1"]]}}}',
        b'{"version": 1, "trails": {"k": {"began": "first", "samples": %s}}}' % TOO_MANY,
        b" " * (wallets.MAX_BYTES + 1),
    ],
)
def test_a_broken_trail_file_is_a_reset_from_the_last_board_and_said(data: bytes) -> None:
    board, _ = passes(hourly(0, 30), drain("2", "0.1"))
    with pytest.raises(ValueError):
        wallets.decode(data)
    rebuilt = wallets.load(Store(data), lambda: latest_of(board))
    at = T0 + timedelta(hours=30)
    assert rebuilt[DEPLOYER_KEY] == Trail((Sample(at, drain("2", "0.1")(30)),), Began.RESET)
    board, _ = one_pass(31, rebuilt, drain("2", "0.1")(31))
    assert prod_wallet(board).runway == (
        "not enough history: its balance history was reset (kept since 14:00 UTC)"
    )


def test_a_store_that_fails_is_a_reset_and_a_failed_save_is_only_logged(
    caplog: pytest.LogCaptureFixture,
) -> None:
    board, trails = passes(hourly(0, 2), drain("2", "0.1"))
    broken = Store(broken=True)
    rebuilt = wallets.load(broken, lambda: latest_of(board))
    assert rebuilt[DEPLOYER_KEY].began is Began.RESET
    wallets.save(broken, trails)  # never raises
    assert "was not saved (OSError)" in caplog.text


def test_nothing_saved_starts_from_the_last_board_unsaid_and_from_nothing_on_a_first_pass() -> None:
    board, _ = passes([0.0], drain("2", "0.1"))
    started = wallets.load(Store(), lambda: latest_of(board))
    assert started[DEPLOYER_KEY].began is Began.FIRST
    assert wallets.load(Store(), lambda: None) == {}
    assert wallets.load(Store(), lambda: b"not json") == {}


def test_the_snapshot_carries_the_runway_and_one_without_it_still_validates() -> None:
    board, _ = passes(hourly(0, 96), drain("2", "0.1"))
    doc = snapshot.to_document(board)
    snapshot.validate(doc)
    prod = next(e for e in doc["environments"] if e["name"] == "prod")
    deployer = prod["chain"]["wallets"][0]
    assert deployer["burn_per_day_wei"] == str(10**17) and deployer["days_left"] == 6.0
    assert deployer["runway"] == "burns 0.1 HEI/day: runs dry in about 6 days"
    for wallet in prod["chain"]["wallets"]:
        for key in ("burn_per_day_wei", "burn_per_day", "days_left", "runway"):
            del wallet[key]
    snapshot.validate(doc)  # a snapshot from before the runway


# --------------------------------------------------------------------------- the page


def test_the_card_shows_each_runway_once() -> None:
    from fleetboard import render

    board, trails = passes(hourly(0, 48), drain("2", "0.1"))
    green = render.render_page(snapshot.to_document(board))
    line = "burns 0.1 HEI/day: runs dry in about 8 days"
    assert green.count(line) == 1 and f">{line}</span>" in green
    assert '<span class="runway"' in green
    board, _ = passes(hourly(49, 96), drain("2", "0.1"), trails)
    amber = render.render_page(snapshot.to_document(board))
    said = "1.6 HEI (floor 1 HEI), burns 0.1 HEI/day: runs dry in about 6 days"
    assert f'<span class="why">{said}</span>' in amber
    # on the card, the row's title and its sentence; not a third time on a line of its own
    card = amber.split('id="env-prod"', 1)[1].split("</article>", 1)[0]
    assert card.count("runs dry in about 6 days") == 2
