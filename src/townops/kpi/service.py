"""KPIs (考核指标) per department, community, category or the whole town, per period.

Every figure is computed in the database: one ``GROUP BY`` per family of figures with
conditional sums, so the cost is a few index range scans whatever the number of cases.

Period: whole local days of the town (Asia/Shanghai for Gaohang), ``year``, ``month`` or
``from``..``to`` (both days included), turned into a half-open UTC interval
``[start, end)``. "In the period" below means "at an instant in that interval".

Figures (the glossary's names):

``received`` 受理量
    cases whose ``received_at`` is in the period.
``closed`` 办结量
    cases whose ``closed_at`` is in the period (a reopened case loses its ``closed_at``
    and counts again when it is closed again).
``on_time_rate`` 按时办结率
    of the closed cases, the share with ``breached = false``. ``breached`` is set by the
    overdue sweep or by a resolution after the deadline (an approved extension moves the
    deadline and lifts a breach marked while the request was pending).
``satisfaction_rate`` 满意率
    (satisfied + basically_satisfied) / rated, over the callbacks (回访) made in the period:
    every callback counts, so a case rated dissatisfied, reopened and then rated satisfied
    contributes one of each — the 12345 way of counting.
``callback_coverage`` 回访率
    closed cases with at least one callback / closed.
``return_rate`` 退单率 — two bases, named in the output as ``return_rate_basis``:
    * ``events`` (grouping by department): ``return`` events recorded against the
      department / ``dispatch`` events to it, both by event time in the period. Events on
      cases assigned to a community carry no department and are not counted.
    * ``cases`` (community, category, town): of the cases received in the period that
      were dispatched at least once, the share returned at least once
      (``return_count > 0``).
``reopen_rate`` 重办率
    closed cases with ``reopen_count > 0`` / closed.
``median_handling_hours`` 办理时长中位数
    median of ``handling_working_hours`` (hours on working days, receipt → resolution)
    over the closed cases.
``auto_dispatch_rate`` 自动派单率
    of the cases received in the period that went through automatic dispatch (have a
    routing decision), the share the system dispatched without a person.
``auto_dispatch_accuracy`` 自动派单准确率
    of those automatic dispatches, the share never returned (退单) nor re-dispatched (改派)
    by a person.
``median_minutes_to_dispatch`` 派单时长中位数
    median clock minutes from receipt to the first dispatch (by the system or a person),
    over the routed cases received in the period and dispatched.
``overdue_open`` 当前超期
    cases whose clock runs (received, dispatched, accepted, returned, reopened) with
    ``due_at`` before ``now``: a snapshot at ``now``, not bound to the period.
``extensions`` 延期 / ``supervisions`` 督办
    ``approve_extension`` / ``supervise`` events (manual and automatic) in the period.

A rate is ``None`` when its denominator is 0. A case is grouped by its *current*
``department_code`` / ``community_code`` / ``category_code``; ``None`` is a group of its
own (e.g. not dispatched yet, or handled by a community).

Scope: with an actor, only :func:`townops.cases.access.visible_cases` count; a handler
counts only the cases its department is in charge of (a summons gives sight, not
ownership) and the events recorded against its department.

Indexes relied on: ``ix_cases_received_at``, ``ix_cases_closed_at``,
``ix_cases_open_due_at`` (overdue snapshot), ``ix_case_events_at`` (event figures), and
the primary keys of cases / departments / jurisdictions / categories for the joins.

Periods are parsed in :mod:`townops.periods`; names and definitions of the figures,
as shown in every output, live in :mod:`townops.kpi.figures`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict
from sqlalchemy import (
    ColumnElement,
    Select,
    SQLColumnExpression,
    and_,
    case,
    false,
    func,
    null,
    select,
    true,
)
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import True_

from townops.access.actor import Actor, Role
from townops.cases.access import visible_cases
from townops.cases.enums import Action, Rating
from townops.cases.models import Case, CaseEvent
from townops.categories.models import Category
from townops.dispatch import RoutingDecision
from townops.jurisdiction.models import Jurisdiction
from townops.kpi.figures import Figure, Grouping, figures_for, return_rate_basis
from townops.organization.models import Department
from townops.periods import Period, month_period, parse_period, range_period, year_period
from townops.timeutil import as_utc, utcnow
from townops.towns.profile import get_profile

__all__ = [
    "Grouping",
    "KpiReport",
    "KpiRow",
    "Period",
    "PeriodOut",
    "build_report",
    "compute_kpis",
    "median_by_window",
    "month_period",
    "parse_period",
    "range_period",
    "year_period",
]

Key = SQLColumnExpression[Any] | None


class KpiRow(BaseModel):
    """The figures of one group (or of the town) for one period."""

    model_config = ConfigDict(frozen=True)

    code: str | None
    name_zh: str
    name_en: str
    received: int
    closed: int
    on_time_rate: float | None
    satisfaction_rate: float | None
    callback_coverage: float | None
    return_rate: float | None
    reopen_rate: float | None
    median_handling_hours: float | None
    auto_dispatch_rate: float | None
    auto_dispatch_accuracy: float | None
    median_minutes_to_dispatch: float | None
    overdue_open: int
    extensions: int
    supervisions: int
    closed_on_time: int
    rated: int
    satisfied: int
    reopened: int
    returned: int
    dispatched: int
    routed: int
    auto_dispatched: int
    auto_correct: int


class PeriodOut(BaseModel):
    """The period as local days and as the UTC interval ``[start, end)`` actually queried."""

    label: str
    first_day: date
    last_day: date
    timezone: str
    start: datetime
    end: datetime

    @classmethod
    def of(cls, period: Period, timezone: str) -> PeriodOut:
        start, end = period.utc_bounds(ZoneInfo(timezone))
        return cls(
            label=period.label,
            first_day=period.first_day,
            last_day=period.last_day,
            timezone=timezone,
            start=start,
            end=end,
        )


class KpiReport(BaseModel):
    """What every output shows: the rows with their period, basis and definitions."""

    period: PeriodOut
    by: Grouping
    now: datetime
    return_rate_basis: Literal["events", "cases"]
    definitions: list[Figure]
    rows: list[KpiRow]


_NO_GROUP_NAMES: dict[Grouping, tuple[str, str]] = {
    Grouping.department: (
        "无部门（未派单或居村处置）",
        "no department (undispatched or community)",
    ),
    Grouping.community: ("未定位到居村", "no community located"),
    Grouping.category: ("无类别", "no category"),
}


def compute_kpis(
    session: Session,
    *,
    by: Grouping,
    period: Period,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> list[KpiRow]:
    """The figures per group of ``by`` for ``period``, as ``actor`` may see them."""
    now = as_utc(now) if now else utcnow()
    profile = get_profile(session)
    start, end = period.utc_bounds(ZoneInfo(profile.timezone))
    tallies = _tallies(session, by=by, start=start, end=end, actor=actor, now=now)
    if by == Grouping.town:
        town = (profile.name_zh, profile.name_en)
        return [_row(profile.code, town, tallies.get(None, {}), by)]
    names = _names(session, by, [code for code in tallies if code is not None])
    return [
        _row(code, names.get(code) if code else _NO_GROUP_NAMES[by], tallies[code], by)
        for code in sorted(tallies, key=lambda c: (c is None, c or ""))
        if any(tallies[code].values())
    ]


def build_report(
    session: Session,
    *,
    by: Grouping,
    period: Period,
    actor: Actor | None = None,
    now: datetime | None = None,
) -> KpiReport:
    """:func:`compute_kpis` with its period, definitions and basis: what every output shows."""
    now = as_utc(now) if now else utcnow()
    return KpiReport(
        period=PeriodOut.of(period, get_profile(session).timezone),
        by=by,
        now=now,
        return_rate_basis=return_rate_basis(by),
        definitions=list(figures_for(by)),
        rows=compute_kpis(session, by=by, period=period, actor=actor, now=now),
    )


def _rate(numerator: Any, denominator: Any) -> float | None:
    return None if not denominator else float(numerator or 0) / float(denominator)


def _row(
    code: str | None,
    names: tuple[str, str] | None,
    tally: dict[str, int | float | None],
    by: Grouping,
) -> KpiRow:
    t: dict[str, Any] = defaultdict(int, tally)
    name_zh, name_en = names or (code or "", code or "")
    returned, dispatched = (
        (t["return_events"], t["dispatch_events"])
        if return_rate_basis(by) == "events"
        else (t["returned_cases"], t["dispatched_cases"])
    )
    median = tally.get("median")
    to_dispatch = tally.get("median_dispatch_seconds")
    return KpiRow(
        code=code,
        name_zh=name_zh,
        name_en=name_en,
        received=int(t["received"]),
        closed=int(t["closed"]),
        on_time_rate=_rate(t["closed_on_time"], t["closed"]),
        satisfaction_rate=_rate(t["satisfied"], t["rated"]),
        callback_coverage=_rate(t["called_back"], t["closed"]),
        return_rate=_rate(returned, dispatched),
        reopen_rate=_rate(t["reopened"], t["closed"]),
        median_handling_hours=None if median is None else float(median),
        auto_dispatch_rate=_rate(t["auto_dispatched"], t["routed"]),
        auto_dispatch_accuracy=_rate(t["auto_correct"], t["auto_dispatched"]),
        median_minutes_to_dispatch=None if to_dispatch is None else float(to_dispatch) / 60,
        overdue_open=int(t["overdue_open"]),
        extensions=int(t["extensions"]),
        supervisions=int(t["supervisions"]),
        closed_on_time=int(t["closed_on_time"]),
        rated=int(t["rated"]),
        satisfied=int(t["satisfied"]),
        reopened=int(t["reopened"]),
        returned=int(returned),
        dispatched=int(dispatched),
        routed=int(t["routed"]),
        auto_dispatched=int(t["auto_dispatched"]),
        auto_correct=int(t["auto_correct"]),
    )


# --------------------------------------------------------------------------- queries


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _case_key(by: Grouping) -> Key:
    keys: dict[Grouping, SQLColumnExpression[Any]] = {
        Grouping.department: Case.department_code,
        Grouping.community: Case.community_code,
        Grouping.category: Case.category_code,
    }
    return keys.get(by)


def _event_key(by: Grouping) -> Key:
    return CaseEvent.department_code if by == Grouping.department else _case_key(by)


def _grouped(key: Key, *columns: SQLColumnExpression[Any]) -> Select[Any]:
    """SELECT key AS g, columns ... GROUP BY key; the town is one group with g = NULL."""
    if key is None:
        return select(null().label("g"), *columns)
    return select(key.label("g"), *columns).group_by(key)


def _needs_case_columns(by: Grouping, actor: Actor | None) -> bool:
    # Grouped by department with no case-level scope, the event index alone answers:
    # skipping the join keeps a year of events an index-only scan.
    if by not in (Grouping.department, Grouping.town):
        return True
    if actor is None or actor.role == Role.handler:
        return False
    return not isinstance(visible_cases(actor), True_)


def _case_scope(actor: Actor | None) -> ColumnElement[bool]:
    if actor is None:
        return true()
    if actor.role == Role.handler:
        return and_(visible_cases(actor), Case.department_code == actor.department_code)
    return visible_cases(actor)


def _event_scope(actor: Actor | None) -> ColumnElement[bool]:
    if actor is not None and actor.role == Role.handler:
        # A department's returns count against it even after the case left it.
        if actor.department_code is None:
            return false()
        return CaseEvent.department_code == actor.department_code
    return _case_scope(actor)


_SATISFIED = [Rating.satisfied.value, Rating.basically_satisfied.value]


def _tallies(
    session: Session,
    *,
    by: Grouping,
    start: datetime,
    end: datetime,
    actor: Actor | None,
    now: datetime,
) -> dict[str | None, dict[str, int | float | None]]:
    key, scope = _case_key(by), _case_scope(actor)
    received = Case.received_at >= start, Case.received_at < end
    closed = Case.closed_at >= start, Case.closed_at < end
    dispatched = Case.dispatched_at.is_not(None)
    statements = [
        _grouped(
            key,
            func.count().label("received"),
            _count_if(dispatched).label("dispatched_cases"),
            _count_if(and_(dispatched, Case.return_count > 0)).label("returned_cases"),
        ).where(*received, scope),
        _grouped(
            key,
            func.count().label("closed"),
            _count_if(Case.breached.is_(False)).label("closed_on_time"),
            _count_if(Case.callback_count > 0).label("called_back"),
            _count_if(Case.reopen_count > 0).label("reopened"),
        ).where(*closed, scope),
        _grouped(key, func.count().label("overdue_open")).where(Case.open_due_at < now, scope),
        _event_counts(by, start=start, end=end, actor=actor),
        _routing_counts(key).where(*received, scope),
    ]
    tallies: dict[str | None, dict[str, int | float | None]] = defaultdict(dict)
    for stmt in statements:
        _collect(tallies, session.execute(stmt).mappings())
    handling = (*closed, Case.handling_working_hours.is_not(None), scope)
    hours = Case.handling_working_hours
    for code, value in _medians(session, key=key, value=hours, where=handling).items():
        tallies[code]["median"] = value
    seconds = RoutingDecision.seconds_to_dispatch
    to_dispatch = (*received, seconds.is_not(None), scope, RoutingDecision.case_id == Case.id)
    for code, value in _medians(session, key=key, value=seconds, where=to_dispatch).items():
        tallies[code]["median_dispatch_seconds"] = value
    return tallies


def _routing_counts(key: Key) -> Select[Any]:
    """Cases that went through automatic dispatch, how many it dispatched, how many stood."""
    automatic = RoutingDecision.outcome == "dispatched"
    return _grouped(
        key,
        func.count().label("routed"),
        _count_if(automatic).label("auto_dispatched"),
        _count_if(and_(automatic, RoutingDecision.corrected_at.is_(None))).label("auto_correct"),
    ).join_from(Case, RoutingDecision, RoutingDecision.case_id == Case.id)


def _event_counts(
    by: Grouping, *, start: datetime, end: datetime, actor: Actor | None
) -> Select[Any]:
    counted = {
        "extensions": Action.approve_extension,
        "supervisions": Action.supervise,
        "rated": Action.callback,
    }
    if return_rate_basis(by) == "events":
        counted |= {"dispatch_events": Action.dispatch, "return_events": Action.return_}
    stmt = (
        _grouped(
            _event_key(by),
            *(_count_if(CaseEvent.action == a.value).label(name) for name, a in counted.items()),
            _count_if(CaseEvent.rating.in_(_SATISFIED)).label("satisfied"),
        )
        .select_from(CaseEvent)
        .where(
            CaseEvent.at >= start,
            CaseEvent.at < end,
            CaseEvent.action.in_([a.value for a in counted.values()]),
            _event_scope(actor),
        )
    )
    if _needs_case_columns(by, actor):
        stmt = stmt.join(Case, Case.id == CaseEvent.case_id)
    if by == Grouping.department:
        # Returns by a community carry the community's code: not a department's figure.
        stmt = stmt.where(CaseEvent.department_code.in_(select(Department.code)))
    return stmt


def _collect(
    tallies: dict[str | None, dict[str, int | float | None]],
    rows: Iterable[Any],
) -> None:
    for row in rows:
        figures = dict(row)
        tallies[figures.pop("g")].update({k: int(v or 0) for k, v in figures.items()})


def _medians(
    session: Session,
    *,
    key: Key,
    value: SQLColumnExpression[Any],
    where: Iterable[ColumnElement[bool]],
) -> dict[str | None, float]:
    """Median of ``value`` per group, computed by the database."""
    if session.get_bind().dialect.name == "postgresql":
        stmt = _grouped(key, func.percentile_cont(0.5).within_group(value).label("median"))
        stmt = stmt.where(*where)
    else:
        stmt = median_by_window(key, value, where)
    return {row.g: float(row.median) for row in session.execute(stmt) if row.median is not None}


def median_by_window(
    key: Key,
    value: SQLColumnExpression[Any],
    where: Iterable[ColumnElement[bool]],
) -> Select[Any]:
    """Portable median: rank the values per group, average the middle one or two.

    With n values ranked 1..n, the middle ranks are (n + 1) div 2 and (n + 2) div 2: the
    same rank when n is odd, two neighbours when n is even.
    """
    partition = [key] if key is not None else None
    ranked = (
        select(
            (key if key is not None else null()).label("g"),
            value.label("v"),
            func.row_number().over(partition_by=partition, order_by=value).label("rn"),
            func.count().over(partition_by=partition).label("n"),
        )
        .where(*where)
        .subquery()
    )
    return (
        select(ranked.c.g, func.avg(ranked.c.v).label("median"))
        .where(ranked.c.rn.between((ranked.c.n + 1) // 2, (ranked.c.n + 2) // 2))
        .group_by(ranked.c.g)
    )


def _names(session: Session, by: Grouping, codes: list[str]) -> dict[str, tuple[str, str]]:
    models: dict[Grouping, type[Department] | type[Jurisdiction] | type[Category]] = {
        Grouping.department: Department,
        Grouping.community: Jurisdiction,
        Grouping.category: Category,
    }
    model = models[by]
    if not codes:
        return {}
    stmt = select(model.code, model.name_zh, model.name_en).where(model.code.in_(codes))
    return {code: (zh, en) for code, zh, en in session.execute(stmt)}
