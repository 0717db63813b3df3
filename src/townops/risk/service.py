"""The risk map (风险地图): a score per micro-grid or community that explains itself.

Six factors (``risk.yaml``, :mod:`townops.risk.config`), each a raw value measured in the
node's subtree and turned into points:

``alarms``
    alarms raised in the last ``window_days`` before ``at``, Σ severity weight; false
    alarms and the excluded rule kinds (outages: ``offline``) are not counted.
``open_cases`` / ``overdue_cases``
    cases whose handling clock runs (``open_due_at`` set), Σ urgency weight; overdue: of
    them, those whose deadline is before ``at``. Both read the cases' current state.
``vulnerable_households``
    active in-home devices (a household registered) of the configured types: elderly
    people living alone with a gas alarm; a home whose device is offline counts
    ``offline_weight`` times.
``coverage_gap``
    active area devices (in-home ones left out) per km² of the node's polygon; points for
    the gap below ``target_per_km2``. Area: the polygon in degrees scaled by the length
    of a degree at its middle latitude (plenty for a town).
``outages``
    share of the active devices offline at ``at`` (silent for their heartbeat × the
    sensing config's ``missed_heartbeats``, or never heard from).

Points = weight × share, share = min(raw / full_at, 1) (coverage: 1 − density / target,
clamped to [0, 1]); points are rounded to 0.01 and the score is their sum, so the
contributions add up to the score exactly; weights add up to 100, so does the score at
most. ``levels`` turn it into low / medium / high.

Cost: one grouped query per table (alarms, cases, devices), grouped by the rows'
``jurisdiction_path``, each at most one row per place; the paths are then rolled up to
their ancestor at the map's level in Python with the tree (one query). The number of
queries does not grow with the number of nodes. Rows with no place are counted in
``unplaced`` and drawn nowhere.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, func, not_, or_, select, true
from sqlalchemy.orm import InstrumentedAttribute, Session

from townops.access import Reach, scope_of
from townops.access.actor import STAFF_ROLES, Actor
from townops.cases.access import require_role
from townops.cases.models import Case
from townops.errors import DomainError, InvalidInput
from townops.jurisdiction.models import Jurisdiction
from townops.risk.config import MAP_LEVELS, RISK_FILE, RiskConfig
from townops.risk.scoring import DECIMALS, Contribution, contributions
from townops.sensing import (
    ALARM_STATES,
    Alarm,
    Device,
    DeviceState,
    SensingConfig,
    online_condition,
)
from townops.timeutil import as_utc, utcnow
from townops.towns.profile import get_profile

#: Everyone who works for the town sees the map; residents do not.
RISK_ROLES = STAFF_ROLES

RiskLevel = Literal["low", "medium", "high"]


@dataclass(frozen=True)
class NodeRisk:
    code: str
    name_zh: str
    name_en: str
    jurisdiction_level: str
    parent: str | None
    geometry: dict[str, Any] | None
    score: float
    level: RiskLevel
    rank: int
    contributions: list[Contribution]


@dataclass(frozen=True)
class RiskMap:
    jurisdiction_level: str
    at: datetime
    nodes: list[NodeRisk]
    # Rows inside the scope but placed above the map's level or nowhere, per table.
    unplaced: dict[str, int]
    levels: dict[str, float]


# --------------------------------------------------------------------------- config


def risk_config(session: Session) -> RiskConfig:
    """The town's settings (risk.yaml, carried in the town profile)."""
    profile = get_profile(session)
    if not profile.has_config(RiskConfig):
        raise DomainError(f"no risk map is configured: the town has no {RISK_FILE}")
    return profile.config(RiskConfig)


# --------------------------------------------------------------------------- the map


def risk_map(
    session: Session,
    *,
    level: str,
    actor: Actor | None = None,
    at: datetime | None = None,
    config: RiskConfig | None = None,
) -> RiskMap:
    """Scores of every node at ``level`` the actor may see, riskiest first."""
    if level not in MAP_LEVELS:
        raise InvalidInput(f"level '{level}' is not one of {', '.join(MAP_LEVELS)}", field="level")
    scope = _scope_path(actor)
    at = as_utc(at) if at else utcnow()
    config = config or risk_config(session)
    levels = {"medium_from": config.levels.medium_from, "high_from": config.levels.high_from}
    if _sees_no_place(actor):
        return RiskMap(jurisdiction_level=level, at=at, nodes=[], unplaced={}, levels=levels)
    nodes = _nodes(session, level, scope)
    ancestor = _AncestorAt(session, level)
    unplaced: dict[str, int] = {}
    measures = _Measures()
    for table, rows in (
        ("alarms", _alarm_rows(session, config, scope, at)),
        ("cases", _case_rows(session, config, scope, at)),
        ("devices", _device_rows(session, config, scope, at)),
    ):
        unplaced[table] = measures.add(table, rows, ancestor)
    scored = [
        (node, contributions(config, level, measures.of(node.code), node.geometry))
        for node in nodes
    ]
    totals = {node.code: round(sum(c.points for c in parts), DECIMALS) for node, parts in scored}
    ranks = _competition_ranks(totals)
    result = [
        NodeRisk(
            code=node.code,
            name_zh=node.name_zh,
            name_en=node.name_en,
            jurisdiction_level=level,
            parent=node.parent_code,
            geometry=node.geometry,
            score=totals[node.code],
            level=config.levels.of(totals[node.code]),
            rank=ranks[node.code],
            contributions=parts,
        )
        for node, parts in scored
    ]
    result.sort(key=lambda n: (n.rank, n.code))
    return RiskMap(jurisdiction_level=level, at=at, nodes=result, unplaced=unplaced, levels=levels)


def feature_collection(risk: RiskMap) -> dict[str, Any]:
    """The map as a GeoJSON FeatureCollection (RFC 7946), one feature per node."""
    return {
        "type": "FeatureCollection",
        "jurisdiction_level": risk.jurisdiction_level,
        "at": risk.at.isoformat(),
        "max_score": 100,
        "levels": risk.levels,
        "unplaced": risk.unplaced,
        "features": [
            {
                "type": "Feature",
                "id": node.code,
                "geometry": node.geometry,
                "properties": {
                    "code": node.code,
                    "name_zh": node.name_zh,
                    "name_en": node.name_en,
                    "jurisdiction_level": node.jurisdiction_level,
                    "parent": node.parent,
                    "score": node.score,
                    "level": node.level,
                    "rank": node.rank,
                    "contributions": [vars(c) for c in node.contributions],
                },
            }
            for node in risk.nodes
        ],
    }


# --------------------------------------------------------------------------- scope


def _sees_no_place(actor: Actor | None) -> bool:
    """A grid worker or community staff member without a place sees none."""
    return actor is not None and scope_of(actor).reach == Reach.nothing


def _scope_path(actor: Actor | None) -> str | None:
    """The subtree the actor sees (None: the whole town, which departments serve);
    residents are refused."""
    if actor is None or actor.is_system:
        return None
    require_role(actor, RISK_ROLES, "see the risk map")
    return scope_of(actor).local_path


def _in_scope(path: InstrumentedAttribute[str | None], scope: str | None) -> ColumnElement[bool]:
    return true() if scope is None else path.startswith(scope, autoescape=True)


# --------------------------------------------------------------------------- nodes


@dataclass(frozen=True)
class _Node:
    code: str
    name_zh: str
    name_en: str
    parent_code: str | None
    geometry: dict[str, Any] | None


def _nodes(session: Session, level: str, scope: str | None) -> list[_Node]:
    stmt = (
        select(
            Jurisdiction.code,
            Jurisdiction.name_zh,
            Jurisdiction.name_en,
            Jurisdiction.parent_code,
            Jurisdiction.geometry,
        )
        .where(Jurisdiction.level == level, _in_scope(Jurisdiction.path, scope))
        .order_by(Jurisdiction.path)
    )
    return [_Node(*row) for row in session.execute(stmt)]


class _AncestorAt:
    """Maps a materialised path to the code of its node at one level (or None)."""

    def __init__(self, session: Session, level: str) -> None:
        stmt = select(Jurisdiction.code).where(Jurisdiction.level == level)
        self._codes = set(session.scalars(stmt))
        self._cache: dict[str | None, str | None] = {}

    def __call__(self, path: str | None) -> str | None:
        if path not in self._cache:
            segments = path.strip("/").split("/") if path else []
            self._cache[path] = next((s for s in segments if s in self._codes), None)
        return self._cache[path]


# --------------------------------------------------------------------------- measures

# A grouped row: (jurisdiction_path, {measure name: amount}).
Row = tuple[str | None, dict[str, float]]


class _Measures:
    """Raw amounts per node code, summed from grouped rows."""

    def __init__(self) -> None:
        self._by_node: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))

    def add(self, table: str, rows: Iterable[Row], ancestor: _AncestorAt) -> int:
        """Sums ``rows`` into their nodes; returns how many rows' records found no node."""
        unplaced = 0
        for path, amounts in rows:
            code = ancestor(path)
            if code is None:
                unplaced += int(amounts.get(f"{table}_rows", 0))
                continue
            node = self._by_node[code]
            for name, amount in amounts.items():
                node[name] += amount
        return unplaced

    def of(self, code: str) -> dict[str, float]:
        return self._by_node.get(code, {})


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _alarm_rows(
    session: Session, config: RiskConfig, scope: str | None, at: datetime
) -> Iterable[Row]:
    factor = config.factors.alarms
    since = at - timedelta(days=factor.window_days)
    stmt = (
        select(Alarm.jurisdiction_path, Alarm.severity, func.count())
        .where(
            Alarm.raised_at >= since,
            Alarm.raised_at < at,
            # Listed rather than "!= false_alarm" so that the (state, raised_at) index serves.
            Alarm.state.in_([state for state in ALARM_STATES if state != "false_alarm"]),
            Alarm.kind.not_in(factor.exclude_rule_kinds),
            _in_scope(Alarm.jurisdiction_path, scope),
        )
        .group_by(Alarm.jurisdiction_path, Alarm.severity)
    )
    for path, severity, count in session.execute(stmt):
        weight = factor.severity_weights.get(severity, 0.0)
        yield (
            path,
            {
                "alarms_rows": count,
                f"alarms_{severity}": count,
                "alarms_weighted": weight * count,
            },
        )


def _case_rows(
    session: Session, config: RiskConfig, scope: str | None, at: datetime
) -> Iterable[Row]:
    open_weights = config.factors.open_cases.urgency_weights
    overdue_weights = config.factors.overdue_cases.urgency_weights
    # Grouped by an expression, not the bare column: else SQLite walks the whole path index
    # to save a sort instead of reading the partial index of open cases.
    place = func.coalesce(Case.jurisdiction_path, "")
    stmt = (
        select(place, Case.urgency, func.count(), _count_if(Case.open_due_at < at))
        .where(Case.open_due_at.is_not(None), _in_scope(Case.jurisdiction_path, scope))
        .group_by(place, Case.urgency)
    )
    for path, urgency, count, overdue in session.execute(stmt):
        yield (
            path,
            {
                "cases_rows": count,
                f"open_{urgency}": count,
                "open_weighted": open_weights.get(urgency, 1.0) * count,
                f"overdue_{urgency}": overdue,
                "overdue_weighted": overdue_weights.get(urgency, 1.0) * overdue,
            },
        )


def _device_rows(
    session: Session, config: RiskConfig, scope: str | None, at: datetime
) -> Iterable[Row]:
    homes = config.factors.vulnerable_households
    coverage_types = config.factors.coverage_gap.device_types
    in_home = or_(Device.household_name != "", Device.household_phone != "")
    vulnerable = and_(in_home, Device.type.in_(homes.device_types))
    counted_for_coverage = ~in_home
    if coverage_types:
        counted_for_coverage = and_(counted_for_coverage, Device.type.in_(coverage_types))
    online = online_condition(session, get_profile(session).config(SensingConfig), at)
    # Never heard from: no state row, and the online condition is NULL rather than false.
    offline = or_(DeviceState.device_id.is_(None), not_(online))
    stmt = (
        select(
            Device.jurisdiction_path.label("path"),
            func.count().label("devices"),
            _count_if(offline).label("offline"),
            _count_if(DeviceState.device_id.is_(None)).label("never_seen"),
            _count_if(vulnerable).label("homes"),
            _count_if(and_(vulnerable, offline)).label("homes_offline"),
            _count_if(counted_for_coverage).label("area_devices"),
        )
        .outerjoin(DeviceState, DeviceState.device_id == Device.device_id)
        .where(Device.active.is_(True), _in_scope(Device.jurisdiction_path, scope))
        .group_by(Device.jurisdiction_path)
    )
    for row in session.execute(stmt).mappings():
        amounts = {name: float(value) for name, value in row.items() if name != "path"}
        yield row["path"], amounts | {"devices_rows": amounts["devices"]}


# --------------------------------------------------------------------------- scoring


def _competition_ranks(totals: dict[str, float]) -> dict[str, int]:
    """1 = riskiest; equal scores share a rank (1, 2, 2, 4)."""
    first: dict[float, int] = {}
    for position, total in enumerate(sorted(totals.values(), reverse=True), start=1):
        first.setdefault(total, position)
    return {code: first[total] for code, total in totals.items()}
