"""Duty roster routes (thin): who is on duty now and in the days ahead (staff only)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import select

from townops.access import STAFF_ROLES
from townops.api.deps import ActorDep, SessionDep
from townops.auth.models import User
from townops.cases.access import require_role
from townops.duty import service
from townops.errors import NotFound
from townops.timeutil import utcnow

router = APIRouter(prefix="/api/v1/duty", tags=["duty"])


class LinkOut(BaseModel):
    position: str
    position_zh: str
    position_en: str
    username: str
    display_name: str
    swapped: bool
    """Held by a swap (换班), not by the rotation."""


class WatchOut(BaseModel):
    day: date
    shift: str
    shift_zh: str
    shift_en: str
    starts_at: datetime
    ends_at: datetime
    on_now: bool
    chain: list[LinkOut]
    """The on-duty chain, in the order its links are called."""


class RosterOut(BaseModel):
    now: WatchOut
    watches: list[WatchOut]


def _present(watch: service.Watch, names: dict[str, str], now: datetime) -> WatchOut:
    return WatchOut(
        day=watch.day,
        shift=watch.shift.id,
        shift_zh=watch.shift.name.zh,
        shift_en=watch.shift.name.en,
        starts_at=watch.starts_at,
        ends_at=watch.ends_at,
        on_now=watch.starts_at <= now < watch.ends_at,
        chain=[
            LinkOut(
                position=link.position.id,
                position_zh=link.position.name.zh,
                position_en=link.position.name.en,
                username=link.username,
                display_name=names.get(link.username, link.username),
                swapped=link.swapped,
            )
            for link in watch.links
        ],
    )


@router.get("", response_model=RosterOut)
def roster(
    session: SessionDep,
    actor: ActorDep,
    start: Annotated[date | None, Query(alias="date")] = None,
    days: Annotated[int, Query(ge=1, le=31)] = 7,
) -> RosterOut:
    """The shift on duty now and the roster for ``days`` duty dates from ``date`` (today by
    default): each shift's on-duty chain (值班员 → 带班领导 → …) in calling order."""
    require_role(actor, STAFF_ROLES, "read the duty roster")
    config = service.roster_of(session)
    if config is None:
        raise NotFound("this town keeps no duty roster (duty.yaml)")
    now = utcnow()
    current = service.watch_at(config, now)
    laid_out = service.watches(config, start or current.day, days)
    usernames = {link.username for w in (current, *laid_out) for link in w.links}
    names = {
        username: display_name
        for username, display_name in session.execute(
            select(User.username, User.display_name).where(User.username.in_(sorted(usernames)))
        )
    }
    return RosterOut(
        now=_present(current, names, now),
        watches=[_present(w, names, now) for w in laid_out],
    )


__all__ = ["router"]
