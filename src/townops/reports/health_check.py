"""The yearly city health-check (城市体检): the figures behind the XLSX and the PDF.

The report reads vital signs only as ``SignValue``s, through a ``SignsProvider`` (the
vital-signs engine in production, a fake in tests). It compares each sign with the
previous year and its target, groups the signs by the dimensions of the national city
health-check indicator system, and gives, for each area one level below the scope (the
communities of the town), the share of its signs that are yellow or red: the colour of the
area on the vital-signs map (城市体征图).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.errors import InvalidInput, NotFound
from townops.jurisdiction.models import Jurisdiction
from townops.signs import (
    Direction,
    SignValue,
    Status,
    compute_signs,
    compute_signs_by_level,
    signs_config,
)
from townops.timeutil import SHANGHAI

STATUSES: tuple[Status, ...] = ("green", "yellow", "red", "none")
STATUS_NAMES: dict[Status, tuple[str, str]] = {
    "green": ("正常", "normal"),
    "yellow": ("关注", "watch"),
    "red": ("预警", "alert"),
    "none": ("未评价", "not rated"),
}
Trend = Literal["better", "worse", "flat"]
TREND_NAMES: dict[Trend, tuple[str, str]] = {
    "better": ("向好", "better"),
    "worse": ("变差", "worse"),
    "flat": ("持平", "flat"),
}
LEVEL_NAMES: dict[str, tuple[str, str]] = {
    "town": ("镇", "town"),
    "community": ("社区", "community"),
    "micro_grid": ("微网格", "micro-grid"),
    "building": ("楼组", "building"),
}
# The dimensions of the national city health-check indicator system (住房和城乡建设部城市
# 体检指标体系), with the vital-signs configuration's codes, plus its grassroots-governance
# dimension. The configuration's own names win (``SignsProvider.dimensions``); these serve
# a provider that has none.
NATIONAL_DIMENSIONS: dict[str, tuple[str, str]] = {
    "eco_livable": ("生态宜居", "Ecological livability"),
    "healthy_comfortable": ("健康舒适", "Healthy and comfortable"),
    "safety_resilience": ("安全韧性", "Safety and resilience"),
    "convenient_transport": ("交通便捷", "Convenient transport"),
    "distinctive_townscape": ("风貌特色", "Distinctive townscape"),
    "tidy_orderly": ("整洁有序", "Tidy and orderly"),
    "inclusive": ("多元包容", "Diverse and inclusive"),
    "innovative_vibrant": ("创新活力", "Innovation and vitality"),
    "governance": ("基层治理", "Grassroots governance"),
}


def national_dimensions() -> Mapping[str, tuple[str, str]]:
    return NATIONAL_DIMENSIONS


@dataclass(frozen=True)
class SignsProvider:
    """Where the report gets its signs: both functions take the period first ("2022").

    ``node(period, code)``: the signs of one node (``None``: the town).
    ``level(period, level, under)``: the signs of every node of a level under node ``under``
    (``None``: the town), each with its ``jurisdiction`` set.
    ``dimensions()``: dimension code → (zh, en) name, in the order the report follows.
    """

    node: Callable[[str, str | None], Sequence[SignValue]]
    level: Callable[[str, str, str | None], Sequence[SignValue]]
    dimensions: Callable[[], Mapping[str, tuple[str, str]]] = national_dimensions


@dataclass(frozen=True)
class Dimension:
    code: str
    name_zh: str
    name_en: str


@dataclass(frozen=True)
class IndicatorRow:
    id: str
    name_zh: str
    name_en: str
    dimension: str
    unit: str
    direction: Direction
    value: float | None
    previous: float | None
    target: float | None
    status: Status
    source: str
    numerator: float | None = None
    denominator: float | None = None
    judgement: str = ""  # what the status is judged against, or why there is none

    @property
    def change(self) -> float | None:
        if self.value is None or self.previous is None:
            return None
        return round(self.value - self.previous, 9)  # no 0.01999999999999991 in the XLSX

    @property
    def trend(self) -> Trend | None:
        change = self.change
        if change is None:
            return None
        if abs(change) < 1e-9:
            return "flat"
        rising_is_better = self.direction == "higher_is_better"
        return "better" if (change > 0) == rising_is_better else "worse"


def count_statuses(rows: Iterable[IndicatorRow]) -> dict[Status, int]:
    counted = Counter(row.status for row in rows)
    return {status: counted.get(status, 0) for status in STATUSES}


@dataclass(frozen=True)
class DimensionSection:
    dimension: Dimension
    rows: tuple[IndicatorRow, ...]

    @property
    def counts(self) -> dict[Status, int]:
        return count_statuses(self.rows)


@dataclass(frozen=True)
class Area:
    """A node one level below the scope, with its signs: a community of the town."""

    code: str
    name_zh: str
    name_en: str
    level: str
    geometry: dict[str, Any] | None
    rows: tuple[IndicatorRow, ...]

    @property
    def counts(self) -> dict[Status, int]:
        return count_statuses(self.rows)

    @property
    def alert_share(self) -> float | None:
        """Yellow and red signs over the rated ones (None: nothing rated)."""
        counts = self.counts
        rated = counts["green"] + counts["yellow"] + counts["red"]
        return (counts["yellow"] + counts["red"]) / rated if rated else None


@dataclass(frozen=True)
class Scope:
    code: str
    name_zh: str
    name_en: str
    level: str


@dataclass(frozen=True)
class HealthCheckReport:
    year: int
    scope: Scope
    town: Scope
    generated_at: datetime
    sections: tuple[DimensionSection, ...]
    area_level: str | None
    areas: tuple[Area, ...] = field(default=())
    # False when too few signs have data in the previous year to compare with it (as before
    # a town used townops, when every count is 0): see ``previous_year_usable``.
    has_previous_year: bool = True

    @property
    def previous_year(self) -> int:
        return self.year - 1

    @property
    def rows(self) -> list[IndicatorRow]:
        return [row for section in self.sections for row in section.rows]

    @property
    def counts(self) -> dict[Status, int]:
        return count_statuses(self.rows)

    @property
    def title_zh(self) -> str:
        return f"{self.scope.name_zh} {self.year} 年城市体检报告"

    @property
    def title_en(self) -> str:
        return f"{self.scope.name_en} City Health-Check Report {self.year}"


def build_health_check(
    session: Session,
    provider: SignsProvider,
    *,
    year: int,
    jurisdiction: str | None = None,
    now: datetime | None = None,
) -> HealthCheckReport:
    if not 2000 <= year <= 2100:
        raise InvalidInput(f"year {year} is out of range", field="year")
    nodes = list(session.scalars(select(Jurisdiction)))
    town = _root(nodes)
    scope_node = town if jurisdiction is None else _node(nodes, jurisdiction)
    period, previous = str(year), str(year - 1)
    code = None if jurisdiction is None else scope_node.code
    names = provider.dimensions()
    current, before = provider.node(period, code), provider.node(previous, code)
    has_previous = previous_year_usable(current, before)
    rows = _rows(current, before if has_previous else [])
    children = [n for n in nodes if n.parent_code == scope_node.code]
    area_level = children[0].level if children else None
    periods = (period, previous if has_previous else None)
    return HealthCheckReport(
        year=year,
        scope=_scope(scope_node),
        town=_scope(town),
        generated_at=(now or datetime.now(SHANGHAI)).astimezone(SHANGHAI),
        sections=_sections(rows, names),
        area_level=area_level,
        areas=_areas(provider, children, code, periods, names) if area_level else (),
        has_previous_year=has_previous,
    )


MIN_PREVIOUS_COVERAGE = 0.5


def previous_year_usable(current: Sequence[SignValue], previous: Sequence[SignValue]) -> bool:
    """Whether last year has data enough to compare with.

    The engine counts what townops holds, so a year before the town used townops reads as
    zeros, not as missing. Compare only when at least half of the signs with a non-zero
    value this year have a non-zero value last year too.
    """
    before = {sign.id: sign.value for sign in previous}
    present = [sign.id for sign in current if sign.value]
    if not present:
        return any(sign.value for sign in previous)
    covered = sum(1 for sign_id in present if before.get(sign_id))
    return covered >= MIN_PREVIOUS_COVERAGE * len(present)


def _root(nodes: list[Jurisdiction]) -> Jurisdiction:
    roots = [n for n in nodes if n.parent_code is None]
    if not roots:
        raise NotFound("no town is loaded: run `townops town load` first")
    return roots[0]


def _node(nodes: list[Jurisdiction], code: str) -> Jurisdiction:
    for node in nodes:
        if node.code == code:
            return node
    raise InvalidInput(f"unknown jurisdiction '{code}'", field="jurisdiction")


def _scope(node: Jurisdiction) -> Scope:
    return Scope(node.code, node.name_zh, node.name_en, node.level)


def _rows(current: Sequence[SignValue], previous: Sequence[SignValue]) -> list[IndicatorRow]:
    before = {sign.id: sign.value for sign in previous}
    return [_row(sign, before.get(sign.id)) for sign in current]


def _row(sign: SignValue, previous: float | None) -> IndicatorRow:
    return IndicatorRow(
        id=sign.id,
        name_zh=sign.name_zh,
        name_en=sign.name_en,
        dimension=sign.dimension,
        unit=sign.unit,
        direction=sign.direction,
        value=sign.value,
        previous=previous,
        target=sign.target,
        status=sign.status,
        source=sign.source,
        numerator=sign.numerator,
        denominator=sign.denominator,
        judgement=judgement_text(sign),
    )


BASIS_NAMES: dict[str, str] = {
    "national": "国家城市体检标准值 national standard",
    "town": "镇自定目标 town target",
    "history": "历史区间 own history",
    "unjudged": "不评价 not judged",
}
_PER = {"month": "月", "week": "周", "year": "年"}


def judgement_text(sign: SignValue) -> str:
    """The basis of the status; for history the usual range used; for none, why."""
    if sign.status == "none":
        return sign.unjudged_zh or "未评价"
    basis = BASIS_NAMES.get(sign.basis or "", "")
    band = sign.band
    if band is None:
        return basis
    per = _PER.get(band.per, band.per)
    text = (
        f"{basis}：常态 {_number(band.low, sign.unit)}–{_number(band.high, sign.unit)}/{per}"
        f"（{band.first}至{band.last}，{band.periods}期）"
    )
    if band.months_judged is not None:
        text += (
            f"；评价{band.months_judged}个月，关注{band.months_yellow}个月，"
            f"预警{band.months_red}个月"
        )
    return text


def _number(value: float, unit: str) -> str:
    if unit == "rate":
        return f"{value:.1%}"
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _dimension_order(names: Mapping[str, tuple[str, str]]) -> Callable[[str], tuple[int, str]]:
    order = {code: index for index, code in enumerate(names)}
    return lambda code: (order.get(code, len(order)), code)


def _sections(
    rows: list[IndicatorRow], names: Mapping[str, tuple[str, str]]
) -> tuple[DimensionSection, ...]:
    present = sorted({row.dimension for row in rows}, key=_dimension_order(names))
    return tuple(
        DimensionSection(
            Dimension(code, *names.get(code, (code, code))),
            tuple(row for row in rows if row.dimension == code),
        )
        for code in present
    )


def _areas(
    provider: SignsProvider,
    children: list[Jurisdiction],
    under: str | None,
    periods: tuple[str, str | None],
    names: Mapping[str, tuple[str, str]],
) -> tuple[Area, ...]:
    level = children[0].level
    period, previous = periods
    current = _by_node(provider.level(period, level, under))
    before = _by_node(provider.level(previous, level, under)) if previous else {}
    order = _dimension_order(names)
    return tuple(
        Area(
            code=child.code,
            name_zh=child.name_zh,
            name_en=child.name_en,
            level=child.level,
            geometry=child.geometry,
            rows=tuple(
                # stable sort: by dimension, as the town's sections, keeping the signs' order
                sorted(
                    _rows(current.get(child.code, []), before.get(child.code, [])),
                    key=lambda row: order(row.dimension),
                )
            ),
        )
        for child in sorted(children, key=lambda c: c.code)
    )


def _by_node(signs: Sequence[SignValue]) -> dict[str, list[SignValue]]:
    grouped: dict[str, list[SignValue]] = {}
    for sign in signs:
        if sign.jurisdiction is not None:
            grouped.setdefault(sign.jurisdiction, []).append(sign)
    return grouped


def engine_provider(session: Session) -> SignsProvider:
    """The vital-signs engine as the report's provider."""

    def level(period: str, level: str, under: str | None) -> list[SignValue]:
        result = compute_signs_by_level(session, level=level, period=period, under=under)
        return [
            replace(sign, jurisdiction=node.code) for node in result.nodes for sign in node.signs
        ]

    return SignsProvider(
        node=lambda period, code: compute_signs(session, jurisdiction=code, period=period),
        level=level,
        dimensions=lambda: signs_config(session).dimension_names(),
    )
