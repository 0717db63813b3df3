"""The year in figures, computed by the database from what the engine recorded.

The town-level KPIs (received, closed, on-time rate, satisfaction rate) come from
:func:`townops.kpi.service.compute_kpis`, the same code the KPI reports use; the event
counts (returns, reopens, extensions, supervisions, whistles, every callback rating) are one
``GROUP BY`` over ``case_events``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townops.cases.enums import Action, ExtensionStatus, Rating, State
from townops.cases.models import Case, CaseEvent, Extension
from townops.demo.year import DemoYear
from townops.kpi.service import Grouping, compute_kpis
from townops.signs.seed_figures import SEED_YEAR


@dataclass(frozen=True)
class YearFigures:
    cases: int
    events: int
    received: int
    closed: int
    closed_on_time: int
    on_time_rate: float | None
    # KPI definition: every callback in the year counts (before and after a reopening).
    satisfaction_rate: float | None
    callbacks: int
    callbacks_satisfied: int
    callbacks_dissatisfied: int
    returns: int
    reopens: int
    extensions_requested: int
    extensions_approved: int
    extensions_denied: int
    supervisions: int
    automatic_supervisions: int
    whistles: int
    report_ins: int
    still_open: int

    @property
    def callback_satisfaction_rate(self) -> float | None:
        """(satisfied + basically satisfied) / every callback rating, first or repeated."""
        return self.callbacks_satisfied / self.callbacks if self.callbacks else None


def year_figures(
    session: Session, *, year: DemoYear = DemoYear.calendar_year(SEED_YEAR)
) -> YearFigures:
    """Town-level figures of the simulated year, as seen at its end."""
    year_end = year.end
    (kpi,) = compute_kpis(session, by=Grouping.town, period=year.period, now=year_end)
    actions = _event_counts(session, year_end)
    ratings = _callback_ratings(session, year_end)
    extensions = _extension_decisions(session)
    return YearFigures(
        cases=int(session.scalar(select(func.count()).select_from(Case)) or 0),
        events=sum(actions.values()),
        received=kpi.received,
        closed=kpi.closed,
        closed_on_time=kpi.closed_on_time,
        on_time_rate=kpi.on_time_rate,
        satisfaction_rate=kpi.satisfaction_rate,
        callbacks=sum(ratings.values()),
        callbacks_satisfied=ratings.get(Rating.satisfied.value, 0)
        + ratings.get(Rating.basically_satisfied.value, 0),
        callbacks_dissatisfied=ratings.get(Rating.dissatisfied.value, 0),
        returns=actions.get(Action.return_.value, 0),
        reopens=actions.get(Action.reopen.value, 0),
        extensions_requested=actions.get(Action.request_extension.value, 0),
        extensions_approved=extensions.get(ExtensionStatus.approved.value, 0),
        extensions_denied=extensions.get(ExtensionStatus.denied.value, 0),
        supervisions=actions.get(Action.supervise.value, 0),
        automatic_supervisions=_automatic_supervisions(session, year_end),
        whistles=actions.get(Action.whistle.value, 0),
        report_ins=actions.get(Action.report_in.value, 0),
        still_open=int(
            session.scalar(
                select(func.count()).where(
                    Case.state != State.closed.value, Case.received_at < year_end
                )
            )
            or 0
        ),
    )


def _event_counts(session: Session, before: datetime) -> dict[str, int]:
    rows = session.execute(
        select(CaseEvent.action, func.count())
        .where(CaseEvent.at < before)
        .group_by(CaseEvent.action)
    )
    return {action: int(n) for action, n in rows}


def _callback_ratings(session: Session, before: datetime) -> dict[str, int]:
    rating = CaseEvent.data["rating"].as_string()
    rows = session.execute(
        select(rating, func.count())
        .where(CaseEvent.action == Action.callback.value, CaseEvent.at < before)
        .group_by(rating)
    )
    return {str(value): int(n) for value, n in rows}


def _automatic_supervisions(session: Session, before: datetime) -> int:
    stmt = select(func.count()).where(
        CaseEvent.action == Action.supervise.value,
        CaseEvent.actor_user_id.is_(None),
        CaseEvent.at < before,
    )
    return int(session.scalar(stmt) or 0)


def _extension_decisions(session: Session) -> dict[str, int]:
    rows = session.execute(select(Extension.status, func.count()).group_by(Extension.status))
    return {status: int(n) for status, n in rows}
