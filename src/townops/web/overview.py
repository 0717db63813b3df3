"""The one screen's figures (一屏总览): one aggregated answer per jurisdiction node.

Everything the screen shows for a node comes from a handful of grouped queries, never
from a list of cases: the cost follows the number of groups (areas, days, categories),
not the number of cases, and nothing but counts leaves the database.

Definitions (the same as :mod:`townops.kpi.service` wherever the name is the same):

``window``
    the ``days`` local days ending with ``as_of`` (default 30 days ending today). With
    ``as_of`` given, "now" is the end of that day: what is overdue is judged then.
``today_intake`` 今日受理
    cases received on the ``as_of`` day.
``received`` / ``closed`` / ``on_time_rate`` / ``satisfaction_rate``
    over the window, exactly as ``compute_kpis(by=town, period=window)`` counts them.
``open`` 在办
    cases whose handling clock runs (received, dispatched, accepted, returned, reopened),
    as the database holds them now.
``overdue`` 超期
    open cases whose deadline is before "now" (``overdue_open`` of the KPIs).
``alarms`` 告警
    device alarms raised in the window; ``open_alarms`` are those still raised or
    acknowledged.
``devices`` / ``devices_online``
    active registered devices and, of them, those heard from within their heartbeat
    window at the real clock (a device's online state has no history to replay).

Scope: the node must lie in the caller's jurisdiction; the figures are those of the
caller *as if* their scope were the node (:func:`townops.cases.access.visible_cases`), so
a community's figures include the cases assigned to it that lie elsewhere, as its staff
see them. The map splits the node into its children by where cases lie; cases with no
place, or at the node itself, are counted in ``unplaced``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import ColumnElement, case, func, literal, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from townops.access import Reach, scope_of
from townops.access.actor import Actor, Role
from townops.cases.access import TOWN_WIDE_ROLES, require_role, visible_cases
from townops.cases.enums import Action, Rating
from townops.cases.models import Case, CaseEvent
from townops.categories.models import Category
from townops.errors import Forbidden, InvalidInput, NotFound
from townops.jurisdiction.models import Jurisdiction
from townops.sensing.alarms.lifecycle import visible_alarms
from townops.sensing.config import SensingConfig
from townops.sensing.devices.registry import online_condition, visible_by_path
from townops.sensing.models import OPEN_ALARM_STATES, Alarm, Device, DeviceState
from townops.timeutil import utcnow
from townops.towns.profile import TownProfile, get_profile
from townops.web.live import FeedItem, recent_feed

#: Who sees the one screen: the town-wide roles, and community staff and grid workers for
#: their own part of the town. Handlers and residents work from their case lists.
OVERVIEW_ROLES = TOWN_WIDE_ROLES | {Role.community_staff, Role.grid_worker}
MAP_FIGURES = ("open", "overdue", "alarms", "satisfaction")
DEFAULT_DAYS = 30
MAX_DAYS = 92
TOP_CATEGORIES = 10
FEED_SIZE = 20
_SATISFIED = (Rating.satisfied.value, Rating.basically_satisfied.value)


class NodeOut(BaseModel):
    code: str
    name_zh: str
    name_en: str
    level: str
    parent: str | None


class AreaOut(NodeOut):
    """One child of the node on the map, with every figure the map can be coloured by."""

    geometry: dict[str, Any] | None
    open: int = 0
    overdue: int = 0
    alarms: int = 0
    rated: int = 0
    satisfied: int = 0
    satisfaction_rate: float | None = None


class UnplacedOut(BaseModel):
    """Figures of cases and alarms in scope that lie in no child of the node."""

    open: int = 0
    overdue: int = 0
    alarms: int = 0
    rated: int = 0


class TilesOut(BaseModel):
    today_intake: int
    received: int
    open: int
    overdue: int
    closed: int
    closed_on_time: int
    on_time_rate: float | None
    rated: int
    satisfied: int
    satisfaction_rate: float | None
    devices: int
    devices_online: int
    open_alarms: int
    alarms: int


class WindowOut(BaseModel):
    as_of: date
    first_day: date
    days: int
    # "now" for the overdue snapshot: the real clock, or the end of the as_of day.
    at: datetime
    timezone: str
    mode: Literal["now", "date", "auto"]
    # True when the window ends today (the figures are live).
    live: bool
    # With mode "auto": the window was moved back because the last days had no case.
    moved_back: bool


class DayOut(BaseModel):
    day: date
    received: int
    closed: int


class CategoryCount(BaseModel):
    code: str
    name_zh: str
    name_en: str
    received: int


class OverviewOut(BaseModel):
    town: NodeOut
    node: NodeOut
    # From the highest node the caller may see down to ``node`` (the way back up).
    trail: list[NodeOut]
    outline: dict[str, Any] | None
    areas: list[AreaOut]
    unplaced: UnplacedOut
    window: WindowOut
    tiles: TilesOut
    days: list[DayOut]
    categories: list[CategoryCount]
    feed: list[FeedItem]
    figures: list[str] = list(MAP_FIGURES)


# --------------------------------------------------------------------------- scope


def top_node(session: Session, actor: Actor, profile: TownProfile) -> Jurisdiction:
    """The highest node ``actor`` may look at: its scope, or the whole town."""
    scope = scope_of(actor)
    code = scope.code if scope.reach == Reach.subtree else None
    node = session.get(Jurisdiction, code or profile.code)
    if node is None:
        raise NotFound(f"jurisdiction '{code or profile.code}' is not loaded")
    return node


def resolve_node(
    session: Session, *, actor: Actor, code: str | None, profile: TownProfile | None = None
) -> Jurisdiction:
    """The node to show, checked against the caller's role and jurisdiction."""
    require_role(actor, OVERVIEW_ROLES, "see the overview (一屏总览)")
    profile = profile or get_profile(session)
    top = top_node(session, actor, profile)
    if not code:
        return top
    node = session.get(Jurisdiction, code)
    if node is None:
        raise NotFound(f"jurisdiction '{code}' not found", jurisdiction=code)
    if not node.path.startswith(top.path):
        raise Forbidden("that jurisdiction is outside yours", jurisdiction=code)
    return node


def view_of(actor: Actor, node: Jurisdiction) -> Actor:
    """The caller as if its scope were ``node``: what it sees there and nowhere else."""
    return replace(actor, scope_code=node.code, scope_path=node.path)


def _node_out(node: Jurisdiction) -> NodeOut:
    return NodeOut(
        code=node.code,
        name_zh=node.name_zh,
        name_en=node.name_en,
        level=node.level,
        parent=node.parent_code,
    )


def _trail(session: Session, top: Jurisdiction, node: Jurisdiction) -> list[NodeOut]:
    codes = [c for c in node.path.strip("/").split("/") if c]
    below_top = codes[codes.index(top.code) :] if top.code in codes else [node.code]
    stmt = select(Jurisdiction).where(Jurisdiction.code.in_(below_top))
    rows = {j.code: j for j in session.scalars(stmt)}
    return [_node_out(rows[c]) for c in below_top if c in rows]


# --------------------------------------------------------------------------- window


@dataclass(frozen=True)
class Window:
    as_of: date
    days: int
    tz: ZoneInfo
    at: datetime
    mode: Literal["now", "date", "auto"]
    live: bool
    moved_back: bool = False

    @property
    def first_day(self) -> date:
        return self.as_of - timedelta(days=self.days - 1)

    def day_start(self, day: date) -> datetime:
        return datetime.combine(day, time.min, tzinfo=self.tz).astimezone(UTC)

    @property
    def start(self) -> datetime:
        return self.day_start(self.first_day)

    @property
    def end(self) -> datetime:
        return self.day_start(self.as_of + timedelta(days=1))

    def boundaries(self) -> list[datetime]:
        """The UTC start of each day of the window, then the end of the last one."""
        return [self.day_start(self.first_day + timedelta(days=i)) for i in range(self.days + 1)]

    def out(self) -> WindowOut:
        return WindowOut(
            as_of=self.as_of,
            first_day=self.first_day,
            days=self.days,
            at=self.at,
            timezone=str(self.tz),
            mode=self.mode,
            live=self.live,
            moved_back=self.moved_back,
        )


def parse_as_of(value: str | None) -> date | Literal["auto"] | None:
    """``YYYY-MM-DD``, ``auto`` (the last day with a case if the window would be empty)
    or nothing (today)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if text == "auto":
        return "auto"
    try:
        day = date.fromisoformat(text)
    except ValueError:
        raise InvalidInput(f"as_of '{value}' is not YYYY-MM-DD or 'auto'", field="as_of") from None
    if not 1900 <= day.year < 3000:
        raise InvalidInput(f"as_of {day} is out of range", field="as_of")
    return day


def make_window(
    session: Session,
    *,
    actor: Actor,
    as_of: date | Literal["auto"] | None,
    days: int,
    tz: ZoneInfo,
    now: datetime,
) -> Window:
    if not 1 <= days <= MAX_DAYS:
        raise InvalidInput(f"days must be 1..{MAX_DAYS}", field="days")
    today = now.astimezone(tz).date()
    if isinstance(as_of, date):
        window = Window(as_of=as_of, days=days, tz=tz, at=now, mode="date", live=as_of == today)
        return window if window.live else replace(window, at=window.end)
    live = Window(as_of=today, days=days, tz=tz, at=now, mode="auto" if as_of else "now", live=True)
    if as_of is None:
        return live
    # Over the caller's whole scope, so zooming in keeps the same days.
    latest = session.scalar(select(func.max(Case.received_at)).where(visible_cases(actor)))
    if latest is None or latest >= live.start:
        return live
    moved = Window(
        as_of=latest.astimezone(tz).date(), days=days, tz=tz, at=now, mode="auto", live=False
    )
    return replace(moved, at=moved.end, moved_back=True)


# --------------------------------------------------------------------------- figures


def _count_if(condition: ColumnElement[bool]) -> ColumnElement[Any]:
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _rate(numerator: int, denominator: int) -> float | None:
    return None if not denominator else numerator / denominator


class _Areas:
    """Folds per-path tallies into the node's children (or into ``unplaced``)."""

    def __init__(self, node: Jurisdiction, children: Sequence[Jurisdiction]) -> None:
        # A leaf is its own one area: paths are then cut at its own depth.
        self.depth = node.path.count("/") - (0 if children else 1)
        self.by_path = {c.path: c.code for c in children or [node]}
        self.tally: dict[str | None, dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def child_of(self, path: str | None) -> str | None:
        if not path:
            return None
        segments = path.split("/")
        if len(segments) <= self.depth + 1:
            return None
        return self.by_path.get("/".join(segments[: self.depth + 1]) + "/")

    def add(self, path: str | None, **figures: int) -> None:
        tally = self.tally[self.child_of(path)]
        for name, value in figures.items():
            tally[name] += int(value or 0)

    def total(self, name: str) -> int:
        return sum(t[name] for t in self.tally.values())


def _open_by_path(
    session: Session, scope: ColumnElement[bool], at: datetime, areas: _Areas
) -> None:
    stmt = (
        select(Case.jurisdiction_path, func.count(), _count_if(Case.open_due_at < at))
        .where(Case.open_due_at.is_not(None), scope)
        .group_by(Case.jurisdiction_path)
    )
    for path, open_count, overdue in session.execute(stmt):
        areas.add(path, open=open_count, overdue=overdue)


def _ratings_by_path(
    session: Session, scope: ColumnElement[bool], window: Window, areas: _Areas
) -> None:
    stmt = (
        select(
            Case.jurisdiction_path,
            func.count(),
            _count_if(CaseEvent.rating.in_(_SATISFIED)),
        )
        .select_from(CaseEvent)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            CaseEvent.at >= window.start,
            CaseEvent.at < window.end,
            CaseEvent.action == Action.callback.value,
            scope,
        )
        .group_by(Case.jurisdiction_path)
    )
    for path, rated, satisfied in session.execute(stmt):
        areas.add(path, rated=rated, satisfied=satisfied)


def _alarms_by_path(session: Session, view: Actor, window: Window, areas: _Areas) -> None:
    stmt = (
        select(Alarm.jurisdiction_path, func.count())
        .where(Alarm.raised_at >= window.start, Alarm.raised_at < window.end, visible_alarms(view))
        .group_by(Alarm.jurisdiction_path)
    )
    for path, count in session.execute(stmt):
        areas.add(path, alarms=count)


def _by_day(
    session: Session,
    column: InstrumentedAttribute[Any],
    where: Iterable[ColumnElement[bool]],
    window: Window,
    extra: ColumnElement[bool] | None = None,
) -> dict[int, tuple[int, int]]:
    """Rows per local day of the window: {day index: (count, count where ``extra``)}.

    Days are cut at the town's midnights computed in Python (DST-proof, and the same SQL
    on both back-ends); grouping happens on a subquery so PostgreSQL sees one expression.
    """
    bounds = window.boundaries()
    bucket = case(*((column < bounds[i + 1], i) for i in range(window.days)), else_=None).label("d")
    flag = case((extra, 1), else_=0) if extra is not None else literal(0)
    inner = (
        select(bucket, flag.label("f"))
        .where(column >= bounds[0], column < bounds[-1], *where)
        .subquery()
    )
    stmt = select(inner.c.d, func.count(), func.coalesce(func.sum(inner.c.f), 0)).group_by(
        inner.c.d
    )
    return {int(d): (int(n), int(f)) for d, n, f in session.execute(stmt) if d is not None}


def _top_categories(
    session: Session, scope: ColumnElement[bool], window: Window
) -> list[CategoryCount]:
    count = func.count().label("n")
    stmt = (
        select(Case.category_code, count)
        .where(Case.received_at >= window.start, Case.received_at < window.end, scope)
        .group_by(Case.category_code)
        .order_by(count.desc(), Case.category_code)
        .limit(TOP_CATEGORIES)
    )
    counts = list(session.execute(stmt))
    names = {
        code: (zh, en)
        for code, zh, en in session.execute(
            select(Category.code, Category.name_zh, Category.name_en).where(
                Category.code.in_([c for c, _ in counts])
            )
        )
    }
    return [
        CategoryCount(
            code=code,
            name_zh=names.get(code, (code, code))[0],
            name_en=names.get(code, (code, code))[1],
            received=int(n),
        )
        for code, n in counts
    ]


def _devices(
    session: Session, view: Actor, profile: TownProfile, clock: datetime
) -> tuple[int, int]:
    online = case((online_condition(session, profile.config(SensingConfig), clock), 1), else_=0)
    row = session.execute(
        select(func.count(), func.coalesce(func.sum(online), 0))
        .select_from(Device)
        .outerjoin(DeviceState, DeviceState.device_id == Device.device_id)
        .where(Device.active.is_(True), visible_by_path(view, Device.jurisdiction_path))
    ).one()
    return int(row[0]), int(row[1])


def _open_alarms(session: Session, view: Actor) -> int:
    return int(
        session.scalar(
            select(func.count())
            .select_from(Alarm)
            .where(Alarm.state.in_(OPEN_ALARM_STATES), visible_alarms(view))
        )
        or 0
    )


def _area_out(child: Jurisdiction, tally: dict[str, int]) -> AreaOut:
    return AreaOut(
        **_node_out(child).model_dump(),
        geometry=child.geometry,
        open=tally["open"],
        overdue=tally["overdue"],
        alarms=tally["alarms"],
        rated=tally["rated"],
        satisfied=tally["satisfied"],
        satisfaction_rate=_rate(tally["satisfied"], tally["rated"]),
    )


def _tiles(
    session: Session,
    view: Actor,
    profile: TownProfile,
    clock: datetime,
    areas: _Areas,
    received: dict[int, tuple[int, int]],
    closed: dict[int, tuple[int, int]],
    window: Window,
) -> TilesOut:
    devices, online = _devices(session, view, profile, clock)
    closed_total = sum(n for n, _ in closed.values())
    on_time = sum(on_time for _, on_time in closed.values())
    rated, satisfied = areas.total("rated"), areas.total("satisfied")
    return TilesOut(
        today_intake=received.get(window.days - 1, (0, 0))[0],
        received=sum(n for n, _ in received.values()),
        open=areas.total("open"),
        overdue=areas.total("overdue"),
        closed=closed_total,
        closed_on_time=on_time,
        on_time_rate=_rate(on_time, closed_total),
        rated=rated,
        satisfied=satisfied,
        satisfaction_rate=_rate(satisfied, rated),
        devices=devices,
        devices_online=online,
        open_alarms=_open_alarms(session, view),
        alarms=areas.total("alarms"),
    )


# --------------------------------------------------------------------------- the answer


def build_overview(
    session: Session,
    *,
    actor: Actor,
    jurisdiction: str | None = None,
    as_of: date | Literal["auto"] | None = None,
    days: int = DEFAULT_DAYS,
    now: datetime | None = None,
    feed_size: int = FEED_SIZE,
) -> OverviewOut:
    """Every figure of the one screen for one node, as ``actor`` may see it."""
    clock = now or utcnow()
    profile = get_profile(session)
    node = resolve_node(session, actor=actor, code=jurisdiction, profile=profile)
    top = top_node(session, actor, profile)
    town = session.get(Jurisdiction, profile.code) or node
    view = view_of(actor, node)
    tz = ZoneInfo(profile.timezone)
    window = make_window(session, actor=actor, as_of=as_of, days=days, tz=tz, now=clock)
    scope = visible_cases(view)

    children = list(
        session.scalars(
            select(Jurisdiction)
            .where(Jurisdiction.parent_code == node.code)
            .order_by(Jurisdiction.path)
        )
    )
    areas = _Areas(node, children)
    _open_by_path(session, scope, window.at, areas)
    _ratings_by_path(session, scope, window, areas)
    _alarms_by_path(session, view, window, areas)
    received = _by_day(session, Case.received_at, (scope,), window)
    closed = _by_day(session, Case.closed_at, (scope,), window, extra=Case.breached.is_(False))
    leftover = areas.tally.get(None, defaultdict(int))
    return OverviewOut(
        town=_node_out(town),
        node=_node_out(node),
        trail=_trail(session, top, node),
        outline=node.geometry,
        areas=[_area_out(c, areas.tally.get(c.code, defaultdict(int))) for c in children or [node]],
        unplaced=UnplacedOut(
            open=leftover["open"],
            overdue=leftover["overdue"],
            alarms=leftover["alarms"],
            rated=leftover["rated"],
        ),
        window=window.out(),
        tiles=_tiles(session, view, profile, clock, areas, received, closed, window),
        days=[
            DayOut(
                day=window.first_day + timedelta(days=i),
                received=received.get(i, (0, 0))[0],
                closed=closed.get(i, (0, 0))[0],
            )
            for i in range(window.days)
        ],
        categories=_top_categories(session, scope, window),
        feed=recent_feed(session, view=view, profile=profile, limit=feed_size),
    )
