"""The formula vocabulary turned into SQL: one grouped query per family of measures.

Every data measure (a :class:`~townops.signs.config.Count` or
:class:`~townops.signs.config.Extreme`) becomes one aggregate column — a conditional sum,
max or min — of the query of its family (cases by receipt, cases by closure, case events,
summonses, alarms, devices). Each query groups by ``jurisdiction_path``: the answer is a
few hundred rows (one per place used) whatever the number of cases, and the engine rolls
them up to every node of the tree in Python, so children always add up to their parent.

Definitions shared with the KPI report (:mod:`townops.kpi.service`): a case is closed in
the period when ``closed_at`` is in it, on time when not ``breached``; a callback counts at
its event time with its rating; a return counts on the cases received in the period.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    exists,
    extract,
    false,
    func,
    literal,
    null,
    or_,
    select,
    true,
)
from sqlalchemy.orm import InstrumentedAttribute, Session

from townops.cases.enums import Action, State
from townops.cases.models import Case, CaseEvent, Summons
from townops.dispatch import RoutingDecision
from townops.sensing import Alarm, Device, DeviceState, SensingConfig, online_condition
from townops.signs.config import Count, Extreme, Measure, Where
from townops.towns.profile import get_profile

#: Rows per place: measure key -> value (None: an extreme with nothing to measure).
PathTallies = dict[str | None, dict[str, float | None]]

_FINISHED = (State.resolved.value, State.callback.value, State.closed.value)


def records_start(session: Session) -> datetime | None:
    """When the town's records begin: its first case received (None: no case yet).

    Before it, counts read as 0 because townops held nothing, not because nothing happened.
    """
    return session.scalar(select(func.min(Case.received_at)))


def measure_key(measure: Measure) -> str:
    """A stable name for a measure, so two signs reading the same measure query it once."""
    return json.dumps(
        measure.model_dump(mode="json", exclude_none=True, exclude_defaults=True),
        sort_keys=True,
        ensure_ascii=False,
    )


def combine_op(measure: Measure) -> str:
    """How values of one measure combine from places to a node: sum, max or min."""
    return measure.op if isinstance(measure, Extreme) else "sum"


@dataclass(frozen=True)
class Window:
    """The period as the queries see it.

    ``start``/``end``: the half-open UTC interval of the period's local days. ``cutoff``:
    the period's end, or now if that is earlier — the moment snapshots (open cases,
    devices online) are taken at.
    """

    start: datetime
    end: datetime
    cutoff: datetime
    last_day: date


def data_tallies(
    session: Session,
    measures: Iterable[Count | Extreme],
    *,
    window: Window,
    under_path: str | None,
) -> PathTallies:
    """Every measure per ``jurisdiction_path`` (None: no place), within ``under_path``."""
    families: dict[str, dict[str, Count | Extreme]] = defaultdict(dict)
    for measure in measures:
        families[_family(measure)][measure_key(measure)] = measure
    tallies: PathTallies = defaultdict(dict)
    for family, members in sorted(families.items()):
        build = _BUILDERS[family.split(":")[0]]
        stmt = build(session, family, members, window, under_path)
        for row in session.execute(stmt).mappings():
            values = dict(row)
            path = values.pop("p")
            tallies[path].update(
                {key: None if value is None else float(value) for key, value in values.items()}
            )
    return tallies


def _family(measure: Count | Extreme) -> str:
    if isinstance(measure, Extreme):
        return "alarms"
    if measure.count == "cases":
        return f"cases:{measure.case_time}"
    if measure.count in ("callbacks", "supervisions"):
        return "events"
    return measure.count


# --------------------------------------------------------------------------- aggregates


def _aggregate(measure: Count | Extreme, condition: ColumnElement[bool], value: Any) -> Any:
    if isinstance(measure, Extreme):
        picked = case((condition, value), else_=null())
        return func.max(picked) if measure.op == "max" else func.min(picked)
    return func.coalesce(func.sum(case((condition, 1), else_=0)), 0)


def _grouped(
    path: InstrumentedAttribute[str | None],
    members: dict[str, Count | Extreme],
    condition: Callable[[Count | Extreme], ColumnElement[bool]],
    value: Callable[[Extreme], Any] | None = None,
) -> Select[Any]:
    columns = [
        _aggregate(
            measure,
            condition(measure),
            value(measure) if value is not None and isinstance(measure, Extreme) else None,
        ).label(key)
        for key, measure in members.items()
    ]
    return select(path.label("p"), *columns).group_by(path)


def _under(path: InstrumentedAttribute[str | None], under_path: str | None) -> ColumnElement[bool]:
    return true() if under_path is None else path.startswith(under_path, autoescape=True)


def _all(conditions: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    return and_(true(), *conditions) if conditions else true()


def _flag(condition: ColumnElement[bool], wanted: bool | None) -> list[ColumnElement[bool]]:
    if wanted is None:
        return []
    return [condition if wanted else ~condition]


def _in(column: Any, values: Iterable[Any] | None) -> list[ColumnElement[bool]]:
    return [] if values is None else [column.in_([str(v) for v in values])]


# --------------------------------------------------------------------------- cases


def _case_filters(where: Where) -> list[ColumnElement[bool]]:
    return [
        *_in(Case.kind, where.kind),
        *_in(Case.category_code, where.category),
        *_in(Case.source, where.source),
    ]


def _case_conditions(where: Where, window: Window) -> list[ColumnElement[bool]]:
    routed = exists(select(RoutingDecision.case_id).where(RoutingDecision.case_id == Case.id))
    automatic = exists(
        select(RoutingDecision.case_id).where(
            RoutingDecision.case_id == Case.id, RoutingDecision.outcome == "dispatched"
        )
    )
    return [
        *_case_filters(where),
        *_in(Case.state, where.state),
        *_flag(Case.breached.is_(False), where.on_time),
        *_flag(Case.reopen_count > 0, where.reopened),
        *_flag(Case.return_count > 0, where.returned),
        *_flag(Case.dispatched_at.is_not(None), where.dispatched),
        *_flag(Case.callback_count > 0, where.called_back),
        *_flag(Case.state.in_(_FINISHED), where.resolved),
        *_flag(Case.due_at < window.cutoff, where.overdue),
        *_flag(Case.duplicate_of_id.is_not(None), where.repeat),
        *_flag(routed, where.routed),
        *_flag(automatic, where.auto_dispatched),
    ]


def _case_time(at: str, window: Window) -> ColumnElement[bool]:
    if at == "open_at_end":
        # Received before the cutoff, not yet finished then, not waiting on another case.
        return and_(
            Case.received_at < window.cutoff,
            or_(Case.resolved_at.is_(None), Case.resolved_at >= window.cutoff),
            or_(Case.closed_at.is_(None), Case.closed_at >= window.cutoff),
            Case.duplicate_of_id.is_(None),
        )
    column = {
        "received": Case.received_at,
        "closed": Case.closed_at,
        "resolved": Case.resolved_at,
    }[at]
    return and_(column >= window.start, column < window.end)


def _cases(
    _session: Session,
    family: str,
    members: dict[str, Count | Extreme],
    window: Window,
    under_path: str | None,
) -> Select[Any]:
    at = family.split(":")[1]
    return _grouped(
        Case.jurisdiction_path,
        members,
        lambda m: _all(_case_conditions(m.where, window)),
    ).where(_case_time(at, window), _under(Case.jurisdiction_path, under_path))


def _events(
    _session: Session,
    _family: str,
    members: dict[str, Count | Extreme],
    window: Window,
    under_path: str | None,
) -> Select[Any]:
    actions = {"callbacks": Action.callback.value, "supervisions": Action.supervise.value}

    def condition(measure: Count | Extreme) -> ColumnElement[bool]:
        assert isinstance(measure, Count)
        where = measure.where
        return _all(
            [
                CaseEvent.action == actions[measure.count],
                *_case_filters(where),
                *_in(CaseEvent.rating, where.rating),
            ]
        )

    return (
        _grouped(Case.jurisdiction_path, members, condition)
        .select_from(CaseEvent)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            CaseEvent.at >= window.start,
            CaseEvent.at < window.end,
            CaseEvent.action.in_(list(actions.values())),
            _under(Case.jurisdiction_path, under_path),
        )
    )


def _summonses(
    _session: Session,
    _family: str,
    members: dict[str, Count | Extreme],
    window: Window,
    under_path: str | None,
) -> Select[Any]:
    reported = Summons.reported_in_at.is_not(None)
    on_time = and_(reported, Summons.reported_in_at <= Summons.report_in_due_at)

    def condition(measure: Count | Extreme) -> ColumnElement[bool]:
        where = measure.where
        return _all(
            [
                *_case_filters(where),
                *_in(Summons.department_code, where.department),
                *_flag(reported, where.reported_in),
                *_flag(on_time, where.reported_in_on_time),
            ]
        )

    return (
        _grouped(Case.jurisdiction_path, members, condition)
        .select_from(Summons)
        .join(Case, Case.id == Summons.case_id)
        .where(
            Summons.summoned_at >= window.start,
            Summons.summoned_at < window.end,
            _under(Case.jurisdiction_path, under_path),
        )
    )


# --------------------------------------------------------------------------- sensing


def seconds_between(session: Session, later: Any, earlier: Any) -> ColumnElement[Any]:
    """``later - earlier`` in seconds; interval arithmetic differs between the back-ends."""
    if session.get_bind().dialect.name == "sqlite":
        return (func.julianday(later) - func.julianday(earlier)) * literal(86400.0)
    return extract("epoch", later - earlier)


def _alarm_conditions(session: Session, where: Where) -> list[ColumnElement[bool]]:
    acknowledged: list[ColumnElement[bool]] = []
    if where.acknowledged_within_minutes is not None:
        waited = seconds_between(session, Alarm.acknowledged_at, Alarm.raised_at)
        acknowledged = [
            Alarm.acknowledged_at.is_not(None),
            waited <= where.acknowledged_within_minutes * 60,
        ]
    return [
        *_in(Alarm.device_type, where.device_type),
        *_in(Alarm.severity, where.severity),
        *_in(Alarm.state, where.alarm_state),
        *_in(Alarm.rule_id, where.rule),
        *_flag(Alarm.state == "false_alarm", where.false_alarm),
        *_flag(Alarm.case_id.is_not(None), where.case_opened),
        *acknowledged,
    ]


def _alarms(
    session: Session,
    _family: str,
    members: dict[str, Count | Extreme],
    window: Window,
    under_path: str | None,
) -> Select[Any]:
    minutes = seconds_between(session, Alarm.acknowledged_at, Alarm.raised_at) / 60.0
    fields = {"alarm_value": Alarm.value, "minutes_to_acknowledge": minutes}
    return _grouped(
        Alarm.jurisdiction_path,
        members,
        lambda m: _all(_alarm_conditions(session, m.where)),
        lambda m: fields[m.field],
    ).where(
        Alarm.raised_at >= window.start,
        Alarm.raised_at < window.end,
        _under(Alarm.jurisdiction_path, under_path),
    )


def _devices(
    session: Session,
    _family: str,
    members: dict[str, Count | Extreme],
    window: Window,
    under_path: str | None,
) -> Select[Any]:
    in_home = or_(Device.household_name != "", Device.household_phone != "")
    wants_online = any(m.where.online is not None for m in members.values())
    online = (
        online_condition(session, get_profile(session).config(SensingConfig), window.cutoff)
        if wants_online
        else false()
    )

    # A device never heard from has no state row: offline, not unknown.
    offline = or_(DeviceState.last_seen.is_(None), ~online)

    def condition(measure: Count | Extreme) -> ColumnElement[bool]:
        where = measure.where
        seen = [] if where.online is None else [online if where.online else offline]
        return _all(
            [
                *_in(Device.type, where.device_type),
                *_in(Device.network, where.network),
                *_flag(in_home, where.in_home),
                *seen,
            ]
        )

    return (
        _grouped(Device.jurisdiction_path, members, condition)
        .select_from(Device)
        .outerjoin(DeviceState, DeviceState.device_id == Device.device_id)
        .where(
            Device.active.is_(True),
            or_(Device.installed_on.is_(None), Device.installed_on <= window.last_day),
            _under(Device.jurisdiction_path, under_path),
        )
    )


_Builder = Callable[[Session, str, dict[str, Count | Extreme], Window, str | None], Select[Any]]
_BUILDERS: dict[str, _Builder] = {
    "cases": _cases,
    "events": _events,
    "summonses": _summonses,
    "alarms": _alarms,
    "devices": _devices,
}
