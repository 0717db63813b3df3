"""The monthly assessment (月度考核): departments and communities ranked by weighted points.

The figures are the KPI module's (:func:`townops.kpi.service.compute_kpis`, the whole town,
the same month), so an assessment never disagrees with the KPI report: on-time rate,
satisfaction rate, return rate (departments: by events; communities: by cases) and
reopen rate. One figure the KPI report does not carry is computed here with one grouped
query: ``first_contact_rate`` (先行联系及时率), of the cases received in the month and
dispatched whose first-contact deadline has passed at the report time or that were
contacted, the share contacted by the deadline (grouped by the case's current department
or community, like the KPIs).

Scoring follows the town's ``assessment.yaml`` (:mod:`townops.assessment.config`): each
component's points = its maximum × the share its rule gives the figure; the total is the
sum of the (rounded) points, so the parts always add up. A figure with no denominator is
handled as ``ranking.missing_figure`` says: ``redistribute`` scales the other components'
maxima so they still add up to 100. A unit is ranked when it has ``ranking.min_cases``
cases (closed or received in the month); equal totals share a rank (1, 2, 2, 4).
The previous month is scored the same way, for the change in total and rank.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from functools import partial
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field
from sqlalchemy import and_, case, func, or_, select
from sqlalchemy.orm import Session

from townops.access import Reach, scope_of
from townops.access.actor import Actor, Role
from townops.assessment.config import ASSESSMENT_FILE, AssessmentConfig, Component
from townops.cases.access import require_role
from townops.cases.models import Case
from townops.errors import DomainError, Forbidden, InvalidInput
from townops.jurisdiction.models import Jurisdiction
from townops.kpi import Grouping, KpiRow, PeriodOut, compute_kpis, return_rate_basis
from townops.organization.models import Department
from townops.periods import (
    Period,
    month_period,
    parse_period,
    quarter_period,
    year_period,
)
from townops.timeutil import as_utc, utcnow
from townops.towns.profile import get_profile

PeriodKind = Literal["month", "quarter", "year"]

#: Who sees the rankings: the town's leadership and the operations centre, town-wide.
ASSESSOR_ROLES = frozenset({Role.admin, Role.leader, Role.duty_officer})
POINTS_DECIMALS = 2


class AssessmentOf(StrEnum):
    departments = "departments"
    communities = "communities"


UNIT_NAMES: dict[AssessmentOf, tuple[str, str]] = {
    AssessmentOf.departments: ("部门", "departments"),
    AssessmentOf.communities: ("居村", "communities"),
}
_GROUPING = {
    AssessmentOf.departments: Grouping.department,
    AssessmentOf.communities: Grouping.community,
}


class ComponentRule(BaseModel):
    """A component as the rules sheet and the API describe it."""

    key: str
    name_zh: str
    name_en: str
    weight: float
    rule_zh: str
    rule_en: str


class ComponentScore(BaseModel):
    """One component of one unit: the figure, its parts, and the points it earned."""

    key: str
    value: float | None  # the rate; None when its denominator is 0
    numerator: int
    denominator: int
    weight: float  # as configured
    max_points: float  # after redistribution of missing figures' weight
    points: float | None  # None: the figure is missing and its weight went to the others


class AssessmentRow(BaseModel):
    code: str
    name_zh: str
    name_en: str
    received: int
    closed: int
    ranked: bool
    note: str  # why a unit is not ranked ("" when ranked)
    components: list[ComponentScore]
    total: float | None
    rank: int | None
    previous_total: float | None
    previous_rank: int | None
    total_change: float | None
    rank_change: int | None  # positive: moved up (previous rank − rank)


class AssessmentReport(BaseModel):
    kind: PeriodKind = "month"
    label: str = Field(description="the period assessed: 2022-06, 2022-Q2 or 2022")
    previous_label: str = Field(description="the period before it, of the same kind")
    month: str = Field(description="= label (kept from when only months were assessed)")
    previous_month: str = Field(description="= previous_label")
    of: AssessmentOf
    period: PeriodOut
    now: datetime
    min_cases: int
    count_basis: Literal["closed", "received"]
    missing_figure: str
    return_rate_basis: Literal["events", "cases"]
    rules: list[ComponentRule]
    rows: list[AssessmentRow]


# --------------------------------------------------------------------------- config


def assessment_config(session: Session) -> AssessmentConfig:
    """The town's settings (assessment.yaml, carried in the town profile)."""
    profile = get_profile(session)
    if not profile.has_config(AssessmentConfig):
        raise DomainError(f"no monthly assessment is configured: the town has no {ASSESSMENT_FILE}")
    return profile.config(AssessmentConfig)


# --------------------------------------------------------------------------- access


def check_may_see_assessment(actor: Actor) -> None:
    """Leaders, duty officers and admins with the whole town in scope; everyone else 403."""
    require_role(actor, ASSESSOR_ROLES, "see the monthly assessment")
    if scope_of(actor).reach == Reach.subtree:
        raise Forbidden("the monthly assessment ranks the whole town: a town-wide scope is needed")


# --------------------------------------------------------------------------- assessment


def assess(
    session: Session,
    *,
    month: str | None = None,
    period: str | None = None,
    of: AssessmentOf,
    actor: Actor | None = None,
    now: datetime | None = None,
    config: AssessmentConfig | None = None,
) -> AssessmentReport:
    """The ranking of ``of`` for a month ("2022-06"), or for a quarter ("2022-Q2") or a year
    ("2022") given as ``period``, with the change from the period before (same kind).

    The town's assessment is monthly; a quarter or a year is scored the same way over its
    whole span, and a unit needs ``min_cases`` for each month of it to be ranked.
    """
    if actor is not None:
        check_may_see_assessment(actor)
    now = as_utc(now) if now else utcnow()
    config = config or assessment_config(session)
    assessed = assessed_period(month=month, period=period)
    units = assessed_units(session, of, config)
    min_cases = config.ranking.min_cases * assessed.months
    score = partial(
        _score_period, session, of=of, units=units, config=config, min_cases=min_cases, now=now
    )
    current, before = score(period=assessed.period), score(period=assessed.previous)
    rows = [_with_previous(row, before.get(row.code)) for row in current.values()]
    return AssessmentReport(
        kind=assessed.kind,
        label=assessed.period.label,
        previous_label=assessed.previous.label,
        month=assessed.period.label,
        previous_month=assessed.previous.label,
        of=of,
        period=PeriodOut.of(assessed.period, get_profile(session).timezone),
        now=now,
        min_cases=min_cases,
        count_basis=config.ranking.count,
        missing_figure=config.ranking.missing_figure,
        return_rate_basis=return_rate_basis(_GROUPING[of]),
        rules=component_rules(config),
        rows=sorted(rows, key=_row_order),
    )


@dataclass(frozen=True)
class AssessedPeriod:
    kind: PeriodKind
    period: Period
    previous: Period
    months: int


_QUARTER = re.compile(r"(\d{4})-Q([1-4])", re.IGNORECASE)
_YEAR = re.compile(r"\d{4}")


def assessed_period(*, month: str | None = None, period: str | None = None) -> AssessedPeriod:
    """``month`` "2022-06", or ``period`` "2022-06" | "2022-Q2" | "2022"; exactly one."""
    if (month is None) == (period is None):
        raise InvalidInput("give either month (2022-06) or period (2022-06, 2022-Q2, 2022)")
    if month is not None:
        text, field = month, "month"
    else:
        text, field = str(period).strip(), "period"
    if field == "period" and (found := _QUARTER.fullmatch(text)):
        year, quarter = int(found.group(1)), int(found.group(2))
        before = (year, quarter - 1) if quarter > 1 else (year - 1, 4)
        return AssessedPeriod(
            "quarter", quarter_period(year, quarter), quarter_period(*before), months=3
        )
    if field == "period" and _YEAR.fullmatch(text):
        year = int(text)
        return AssessedPeriod("year", year_period(year), year_period(year - 1), months=12)
    try:
        current = parse_period(month=text)
    except InvalidInput as error:
        raise InvalidInput(
            f"{field} '{text}' is not a month (2022-06)"
            + (", a quarter (2022-Q2) or a year (2022)" if field == "period" else ""),
            field=field,
        ) from error
    return AssessedPeriod("month", current, previous_month(current), months=1)


def previous_month(period: Period) -> Period:
    first = period.first_day.replace(day=1) - timedelta(days=1)
    return month_period(first.year, first.month)


def component_rules(config: AssessmentConfig) -> list[ComponentRule]:
    return [
        ComponentRule(
            key=c.key,
            name_zh=c.name_zh,
            name_en=c.name_en,
            weight=c.weight,
            rule_zh=c.scoring.describe()[0],
            rule_en=c.scoring.describe()[1],
        )
        for c in config.components
    ]


@dataclass(frozen=True)
class Unit:
    code: str
    name_zh: str
    name_en: str


def assessed_units(session: Session, of: AssessmentOf, config: AssessmentConfig) -> list[Unit]:
    """Every unit assessed, whether or not it had cases this month."""
    if of == AssessmentOf.departments:
        stmt = (
            select(Department.code, Department.name_zh, Department.name_en)
            .where(Department.kind.in_(config.units.department_kinds))
            .order_by(Department.code)
        )
    else:
        stmt = (
            select(Jurisdiction.code, Jurisdiction.name_zh, Jurisdiction.name_en)
            .where(Jurisdiction.level == "community")
            .order_by(Jurisdiction.code)
        )
    return [Unit(*row) for row in session.execute(stmt)]


def _score_period(
    session: Session,
    *,
    of: AssessmentOf,
    period: Period,
    units: Sequence[Unit],
    config: AssessmentConfig,
    min_cases: int,
    now: datetime,
) -> dict[str, AssessmentRow]:
    by = _GROUPING[of]
    kpis = {row.code: row for row in compute_kpis(session, by=by, period=period, now=now)}
    contacts = first_contact_counts(session, by=by, period=period, now=now)
    rows = [
        _score_unit(unit, kpis.get(unit.code), contacts.get(unit.code, (0, 0)), config, min_cases)
        for unit in units
    ]
    ranks = competition_ranks({r.code: r.total for r in rows if r.ranked and r.total is not None})
    return {r.code: r.model_copy(update={"rank": ranks.get(r.code)}) for r in rows}


def _score_unit(
    unit: Unit,
    kpi: KpiRow | None,
    contacts: tuple[int, int],
    config: AssessmentConfig,
    min_cases: int,
) -> AssessmentRow:
    figures = figure_parts(kpi, contacts)
    scores = score_components(config.components, figures, config.ranking.missing_figure)
    received, closed = (kpi.received, kpi.closed) if kpi else (0, 0)
    count = closed if config.ranking.count == "closed" else received
    applicable = [s.points for s in scores if s.points is not None]
    total = round(sum(applicable), POINTS_DECIMALS) if applicable else None
    note = ""
    if count < min_cases:
        basis = "办结" if config.ranking.count == "closed" else "受理"
        note = f"{basis}量 {count} 件，不足 {min_cases} 件，不参与排名"
    elif total is None:
        note = "无可评分指标，不参与排名"
    return AssessmentRow(
        code=unit.code,
        name_zh=unit.name_zh,
        name_en=unit.name_en,
        received=received,
        closed=closed,
        ranked=note == "",
        note=note,
        components=scores,
        total=total,
        rank=None,
        previous_total=None,
        previous_rank=None,
        total_change=None,
        rank_change=None,
    )


_NO_CASES = KpiRow.model_validate(
    {name: 0 for name in KpiRow.model_fields} | {"code": None, "name_zh": "", "name_en": ""}
)


def figure_parts(kpi: KpiRow | None, contacts: tuple[int, int]) -> dict[str, tuple[int, int]]:
    """numerator, denominator of every figure the assessment can score."""
    kpi = kpi or _NO_CASES
    return {
        "on_time_rate": (kpi.closed_on_time, kpi.closed),
        "satisfaction_rate": (kpi.satisfied, kpi.rated),
        "return_rate": (kpi.returned, kpi.dispatched),
        "reopen_rate": (kpi.reopened, kpi.closed),
        "first_contact_rate": contacts,
    }


def score_components(
    components: Sequence[Component],
    figures: dict[str, tuple[int, int]],
    missing: str,
) -> list[ComponentScore]:
    """Points per component; with ``redistribute`` the present ones share the whole 100."""
    values: dict[str, float | None] = {
        key: (numerator / denominator if denominator else None)
        for key, (numerator, denominator) in figures.items()
    }
    maxima = _max_points(components, values, missing)
    scores = []
    for component in components:
        value, max_points = values[component.key], maxima[component.key]
        if value is not None:
            points: float | None = round(
                max_points * component.scoring.share(value), POINTS_DECIMALS
            )
        elif missing == "redistribute":
            points = None
        else:
            points = max_points if missing == "full" else 0.0
        numerator, denominator = figures[component.key]
        scores.append(
            ComponentScore(
                key=component.key,
                value=value,
                numerator=numerator,
                denominator=denominator,
                weight=component.weight,
                max_points=max_points,
                points=points,
            )
        )
    return scores


def _max_points(
    components: Sequence[Component], values: dict[str, float | None], missing: str
) -> dict[str, float]:
    """Each component's maximum, in hundredths that add up to the weights' sum exactly."""
    weights = {c.key: c.weight for c in components}
    if missing == "redistribute":
        present = {k: w for k, w in weights.items() if values[k] is not None}
        scale = sum(weights.values()) / sum(present.values()) if present else 0.0
        weights = {k: (w * scale if k in present else 0.0) for k, w in weights.items()}
    # Largest remainder: round down to hundredths, then give the hundredths left over to
    # the largest remainders, so that a unit at full marks scores exactly 100.
    unit = 10**POINTS_DECIMALS
    hundredths = {k: w * unit for k, w in weights.items()}
    floors = {k: math.floor(h + 1e-9) for k, h in hundredths.items()}
    left = round(sum(hundredths.values())) - sum(floors.values())
    for key in sorted(floors, key=lambda k: floors[k] - hundredths[k])[:left]:
        floors[key] += 1
    return {k: n / unit for k, n in floors.items()}


def competition_ranks(totals: dict[str, float]) -> dict[str, int]:
    """1, 2, 2, 4: equal totals share a rank, the next rank skips."""
    ordered = sorted(totals.values(), reverse=True)
    first_position: dict[float, int] = {}
    for position, total in enumerate(ordered, start=1):
        first_position.setdefault(total, position)
    return {code: first_position[total] for code, total in totals.items()}


def _with_previous(row: AssessmentRow, before: AssessmentRow | None) -> AssessmentRow:
    if before is None:
        return row
    change = None
    if row.total is not None and before.total is not None and row.ranked and before.ranked:
        change = round(row.total - before.total, POINTS_DECIMALS)
    moved = None
    if row.rank is not None and before.rank is not None:
        moved = before.rank - row.rank
    return row.model_copy(
        update={
            "previous_total": before.total if before.ranked else None,
            "previous_rank": before.rank,
            "total_change": change,
            "rank_change": moved,
        }
    )


def _row_order(row: AssessmentRow) -> tuple[Any, ...]:
    # Ranked units by rank, then the others; each by code.
    return (row.rank is None, row.rank or 0, row.code)


# --------------------------------------------------------------------------- queries


def first_contact_counts(
    session: Session, *, by: Grouping, period: Period, now: datetime
) -> dict[str | None, tuple[int, int]]:
    """(on time, decided) first contacts per department or community, cases received in
    ``period``: decided = contacted, or the deadline passed at ``now``."""
    key = Case.department_code if by == Grouping.department else Case.community_code
    start, end = period.utc_bounds(ZoneInfo(get_profile(session).timezone))
    on_time = and_(
        Case.first_contact_at.is_not(None), Case.first_contact_at <= Case.first_contact_due_at
    )
    decided = or_(Case.first_contact_at.is_not(None), Case.first_contact_due_at < now)
    stmt = (
        select(
            key.label("g"),
            func.coalesce(func.sum(case((on_time, 1), else_=0)), 0),
            func.count(),
        )
        .where(
            Case.received_at >= start,
            Case.received_at < end,
            Case.first_contact_due_at.is_not(None),
            decided,
        )
        .group_by(key)
    )
    return {g: (int(n), int(d)) for g, n, d in session.execute(stmt)}
