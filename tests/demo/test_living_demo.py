"""The living demo: the year up to now, so the first screen shows a working town today."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townops.auth.models import User
from townops.cases.enums import CLOCK_STATES, State
from townops.cases.models import Case, CaseEvent
from townops.demo.simulate import DemoParams, simulate_year
from townops.demo.summary import year_figures
from townops.demo.year import DemoYear


def _utc(moment: datetime) -> datetime:
    """SQLite gives naive UTC, PostgreSQL aware datetimes."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


NANXIN = "310115121020"

# A living demo's "now": a Monday afternoon in town time (06:30 UTC = 14:30 Shanghai).
LIVING_NOW = datetime(2026, 12, 7, 6, 30, tzinfo=UTC)


def test_the_living_year_ends_now_with_work_waiting_and_nothing_late_by_years(
    session: Session,
) -> None:
    living = DemoYear.up_to(LIVING_NOW)
    assert (living.first, living.last) == (date(2025, 12, 8), date(2026, 12, 7))
    simulate_year(session, DemoParams(seed=7, cases=300, year=living, personas=True))
    cases = list(session.scalars(select(Case).order_by(Case.external_id)))
    received = [_utc(c.received_at) for c in cases]
    assert min(received) >= living.start and max(received) < LIVING_NOW
    events = session.scalar(select(func.max(CaseEvent.at)))
    assert events is not None and _utc(events) <= LIVING_NOW
    still_open = [c for c in cases if c.state != State.closed.value]
    assert still_open, "the demo opens on a town with work waiting"
    waiting = [c for c in still_open if c.state in CLOCK_STATES]
    assert waiting, "someone has a case to act on"
    # Open cases were received in the last weeks, so none is overdue by months or years.
    oldest_open = min(_utc(c.received_at) for c in still_open)
    assert LIVING_NOW - oldest_open < timedelta(days=60)
    figures = year_figures(session, year=living)
    assert figures.received == len(cases) and figures.still_open == len(still_open)

    # Every persona has work: cases held by communities (community staff, grid workers) and
    # the demo residents' own web requests.
    held = [c for c in cases if c.assignee_community_code is not None]
    assert held
    nanxin = [c for c in held if c.assignee_community_code == NANXIN]
    assert any(c.state != State.closed.value for c in nanxin), "南新's staff have work waiting"
    residents = dict(
        session.execute(select(User.id, User.username).where(User.role == "resident")).all()
    )
    own = [(residents[c.requester_user_id], c) for c in cases if c.requester_user_id is not None]
    filed = Counter(name for name, _ in own)
    assert set(filed) == {"resident_a", "resident_b"} and min(filed.values()) >= 10
    assert all(c.kind == "request" and c.source == "web" for _, c in own)
    assert {name for name, c in own if c.state != State.closed.value} == {
        "resident_a",
        "resident_b",
    }, "each demo resident has a request still being handled"
