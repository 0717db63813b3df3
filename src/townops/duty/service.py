"""Who is on duty (值班): the shift at a moment and its on-duty chain, from ``duty.yaml``.

Pure rules over :class:`DutyConfig` (no HTTP, no writes): :func:`watch_at` answers "who is
on duty now, in what order are they called", :func:`watches` lays the roster out over days
for the page, and :func:`chain_at` finds the people (active users) behind the usernames.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.auth.models import User
from townops.duty.config import DutyConfig, Position, Shift
from townops.timeutil import SHANGHAI
from townops.towns.profile import get_profile

__all__ = ["Link", "Watch", "chain_at", "roster_of", "watch_at", "watches"]


@dataclass(frozen=True)
class Link:
    """One link of the chain: a position and who holds it in this shift."""

    position: Position
    username: str
    swapped: bool = False


@dataclass(frozen=True)
class Watch:
    """One shift on one duty date (a night shift's date is the evening it starts)."""

    day: date
    shift: Shift
    starts_at: datetime
    ends_at: datetime
    links: tuple[Link, ...]


def roster_of(session: Session) -> DutyConfig | None:
    """The town's roster, or None when it keeps none."""
    profile = get_profile(session)
    return profile.config(DutyConfig) if profile.has_config(DutyConfig) else None


def _turn_index(position: Position, day: date, shift_index: int, shifts: int) -> int:
    days = (day - position.start).days
    if position.turn == "shift":
        return days * shifts + shift_index
    if position.turn == "week":
        return days // 7
    return days


def _holder(config: DutyConfig, position: Position, day: date, shift_index: int) -> Link:
    shift = config.shifts[shift_index]
    for swap in config.swaps:
        if swap.date == day and swap.position == position.id and swap.shift in (None, shift.id):
            return Link(position, swap.user, swapped=True)
    index = _turn_index(position, day, shift_index, len(config.shifts))
    return Link(position, position.rotation[index % len(position.rotation)])


def _watch(config: DutyConfig, day: date, shift_index: int) -> Watch:
    shift = config.shifts[shift_index]
    starts = datetime.combine(day, shift.start, tzinfo=SHANGHAI)
    if shift_index + 1 < len(config.shifts):
        ends = datetime.combine(day, config.shifts[shift_index + 1].start, tzinfo=SHANGHAI)
    else:
        ends = datetime.combine(day + timedelta(days=1), config.shifts[0].start, tzinfo=SHANGHAI)
    links = tuple(_holder(config, p, day, shift_index) for p in config.positions)
    return Watch(day, shift, starts, ends, links)


def watch_at(config: DutyConfig, moment: datetime) -> Watch:
    """The shift on duty at ``moment`` (before the day's first shift starts, the previous
    day's last shift is still on)."""
    local = moment.astimezone(SHANGHAI)
    day, clock = local.date(), local.time().replace(tzinfo=None)
    started = [i for i, shift in enumerate(config.shifts) if shift.start <= clock]
    if not started:
        return _watch(config, day - timedelta(days=1), len(config.shifts) - 1)
    return _watch(config, day, started[-1])


def watches(config: DutyConfig, first_day: date, days: int) -> list[Watch]:
    """Every shift of ``days`` duty dates from ``first_day``, in order."""
    return [
        _watch(config, first_day + timedelta(days=offset), index)
        for offset in range(days)
        for index in range(len(config.shifts))
    ]


def chain_at(session: Session, moment: datetime) -> list[tuple[Link, User]] | None:
    """The on-duty chain at ``moment``, link by link, with each holder's account (a link
    whose user is unknown or inactive is skipped); None when the town keeps no roster."""
    config = roster_of(session)
    if config is None:
        return None
    links = watch_at(config, moment).links
    users = {
        user.username: user
        for user in session.scalars(
            select(User).where(User.username.in_([link.username for link in links]), User.active)
        )
    }
    return [(link, users[link.username]) for link in links if link.username in users]
