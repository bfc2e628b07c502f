"""Wallet runway: from a wallet's balance trail, its burn per day and the days left until its
floor at that rate. Pure: the trail the last pass kept (memory/wallets.py saves it), this
pass's balance and the clock in; the trail after this pass and the runway out.

A trail is a few samples of one balance, oldest first: one kept at most every SPACING, none
older than WINDOW, and the newest always this pass's. Its burn is the drop from the oldest
sample to the newest over the time between them (exact integers of wei), so the estimate
follows the last week and the work and bytes per wallet are bounded however long the board
has been remembering. A rise of more than FUNDED_FRACTION of the balance is a funding: the
trail starts again from it, so a top-up resets the estimate instead of averaging into it. A
smaller rise (a bundler's reimbursement) is part of the net burn. Until the trail spans
MIN_SPAN the runway is "not enough history", never a number.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from fractions import Fraction

import fleetboard.chain as evm

#: How far back the burn is measured, at most.
WINDOW = timedelta(days=7)
#: One kept sample at most this often: a trail holds at most WINDOW / SPACING + 2 samples.
SPACING = timedelta(hours=6)
#: The least time a trail must span before its burn is a number.
MIN_SPAN = timedelta(hours=6)
#: A rise of more than this part of the last balance is a funding (the trail restarts).
FUNDED_FRACTION = Fraction(1, 100)
DAY_S = 86_400
#: Past this many days, "more than a year" (a trickle is not a date).
FAR_DAYS = 365
#: The role of the paymaster's EntryPoint deposit among an environment's wallets.
DEPOSIT = "paymaster deposit"


class Began(StrEnum):
    """Why a trail starts where it does, said while it is too short to tell."""

    FIRST = "first"  # the first balance the board saw
    FUNDED = "funded"  # the balance rose: a top-up
    RESET = "reset"  # the saved trails were lost or unreadable


@dataclass(frozen=True, slots=True)
class Sample:
    at: datetime
    wei: int


@dataclass(frozen=True, slots=True)
class Trail:
    """One balance's recent samples, oldest first; the newest is the last one seen."""

    samples: tuple[Sample, ...]
    began: Began = Began.FIRST


@dataclass(frozen=True, slots=True)
class Runway:
    """A wallet's burn and the days to its floor; None where there is no number to give."""

    burn_per_day_wei: int | None  # None: not enough history; 0: not burning
    days_left: float | None  # None: not enough history, or not burning; 0 at the floor
    text: str  # "burns 0.1 HEI/day: runs dry in about 6 days", "not enough history", ...


def trail_key(role: str, network: str | None, address: str) -> str:
    """Which trail is a wallet's: an account's balance by network and address (two roles
    or environments sharing one wallet share its trail), a deposit apart from it."""
    key = f"{network or ''}:{address.lower()}"
    return f"deposit:{key}" if role == DEPOSIT else key


def extend(trail: Trail | None, at: datetime, wei: int) -> Trail:
    """The trail with this pass's balance: restarted on a funding or when every sample has
    aged out of the window; the newest sample replaced while it is closer than SPACING to
    the one before it, else kept. Extending with the sample it ends with changes nothing."""
    if trail is None:
        return Trail((Sample(at, wei),))
    if trail.samples and trail.samples[-1] == Sample(at, wei):
        return trail
    kept = [s for s in trail.samples if s.at < at and at - s.at <= WINDOW]
    if not kept:  # every sample aged out (the collector stopped for a week), or time went back
        return Trail((Sample(at, wei),))
    if wei - kept[-1].wei > kept[-1].wei * FUNDED_FRACTION:
        return Trail((Sample(at, wei),), Began.FUNDED)
    if len(kept) >= 2 and kept[-1].at - kept[-2].at < SPACING:
        kept.pop()
    return Trail((*kept, Sample(at, wei)), trail.began)


def runway(trail: Trail, floor_wei: int, decimals: int, token: str) -> Runway:
    """The burn per day over the trail and the days until `floor_wei` at that rate."""
    oldest, newest = trail.samples[0], trail.samples[-1]
    span_s = int((newest.at - oldest.at).total_seconds())
    if span_s < MIN_SPAN.total_seconds():
        return Runway(None, None, _too_short(trail))
    burned = oldest.wei - newest.wei
    if burned <= 0:
        return Runway(0, None, "not burning")
    per_day = burned * DAY_S // span_s
    rate = f"burns {_about_amount(Fraction(burned * DAY_S, span_s), decimals, token)}/day"
    if newest.wei < floor_wei:  # red already: how fast it sinks further
        return Runway(per_day, 0.0, rate)
    days = Fraction((newest.wei - floor_wei) * span_s, burned * DAY_S)
    return Runway(per_day, float(days), f"{rate}: runs dry in {about_days(days)}")


def about_days(days: Fraction | float) -> str:
    """6.4 -> "about 6 days"; 0.6 -> "about 14 hours"; past FAR_DAYS, "more than a year"."""
    if days > FAR_DAYS:
        return "more than a year"
    hours = int(days * 24 + Fraction(1, 2))
    if hours < 1:
        return "less than an hour"
    if hours < 36:
        return f"about {hours} hour{'s' if hours != 1 else ''}"
    return f"about {int(days + Fraction(1, 2))} days"


def _about_amount(wei: Fraction, decimals: int, token: str) -> str:
    """An amount to three significant digits, for a sentence: 0.0999… HEI -> "0.1 HEI"."""
    whole = int(wei + Fraction(1, 2))
    drop = max(len(str(whole)) - 3, 0)
    rounded = (whole + 10**drop // 2) // 10**drop * 10**drop if drop else whole
    return evm.format_amount(rounded, decimals, token)


def _too_short(trail: Trail) -> str:
    since = trail.samples[0].at.astimezone(UTC).strftime("%H:%M UTC")
    if trail.began is Began.FUNDED:
        return f"not enough history since it was funded at {since}"
    if trail.began is Began.RESET:
        return f"not enough history: its balance history was reset (kept since {since})"
    return "not enough history"
