"""Alarm lifecycle: raise, acknowledge, verify, clear, false alarm; storm control; alarm → case.

An alarm is raised by a rule (:mod:`townops.sensing.alarms.rules`) or by the offline
sweep, at most one open per device and rule (``Alarm.open_key`` is unique while open and
NULL once closed). It is acknowledged by a person, verified on site by a person (现场核实:
the alarm is real, with a note), cleared when the readings come back past the clear line,
or marked a false alarm by a person (with a note). Persons' changes go to
the audit log and, when the alarm has a case, to the case's timeline; only the unit in
charge of the alarm and the operations centre may make them (:func:`may_handle_alarm`).

An alarm of at least ``cases.min_severity`` opens an ``iot_alarm`` case
(:mod:`townops.sensing.alarms.kind`) through the case engine, routed by the first
matching ``CaseRoute``, and is dispatched at once as the system. Storm control: an alarm
whose building (its storm key) already has an alarm raised within
``storm.window_seconds`` with an open case of the same category joins that case instead of
opening another.

Raising and clearing are set-based (one statement for many alarms) because the pipeline
and the sweep may handle thousands of devices at once. Nothing here commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import ColumnElement, Insert, Table, case, false, func, literal, select, update
from sqlalchemy.orm import Session

from townops.access import LOCAL_ROLES, NO_OWNER, Owner, Reach, owns, scope_of
from townops.access.actor import STAFF_ROLES, SYSTEM, Actor, Role
from townops.access.contact import ContactView, contact_view
from townops.auth.models import AuditEntry
from townops.cases.enums import Action
from townops.cases.models import Case
from townops.cases.schemas import ActionInput, CaseCreate
from townops.cases.service import create_case, perform_action, record_on_timeline
from townops.categories.service import find_category
from townops.errors import Forbidden, IllegalTransition, InvalidInput, NotFound
from townops.jurisdiction.service import place
from townops.sensing.alarms.kind import IOT_ALARM
from townops.sensing.config import SEVERITY_ORDER, AlarmRule, CaseRoute, SensingConfig
from townops.sensing.devices.facts import DeviceInfo
from townops.sensing.models import Alarm, Device
from townops.towns.profile import TownProfile

ALARMS = cast(Table, Alarm.__table__)

#: Who may read alarms (within their jurisdiction scope) and who may act on them.
ALARM_VIEWERS = STAFF_ROLES
ALARM_ACTORS = ALARM_VIEWERS - {Role.leader}
#: The operations centre's roles: they may act on any alarm they see (may_handle_alarm).
ALARM_TOWN_ACTORS = frozenset({Role.admin, Role.duty_officer, Role.dispatcher})
#: The case timeline's event for each person's action on an alarm of the case.
TIMELINE_KINDS = {
    "acknowledge": "alarm_acknowledged",
    "verify": "alarm_verified",
    "false_alarm": "alarm_false",
}
#: The actions that tell the case engine a person has seen the case (the on-duty chain stops):
#: whoever verified an alarm on site has certainly seen it.
ACKNOWLEDGING_ACTIONS = frozenset({"acknowledge", "verify"})
#: Severity order of the console's list (``order=severity``): critical first.
SEVERITY_RANK = {"critical": 0, "warning": 1, "info": 2}


def open_key(device_id: str, rule_id: str) -> str:
    """``Alarm.open_key`` of the open alarm of a device and a rule."""
    return f"{device_id}/{rule_id}"


@dataclass(frozen=True, slots=True)
class AlarmDraft:
    """An alarm to raise: which device, which rule, the value judged and the message."""

    device: DeviceInfo
    rule: AlarmRule
    message: str
    value: float | None = None
    reading_seq: int | None = None


@dataclass
class RaiseOutcome:
    alarms: list[int] = field(default_factory=list)
    cases_opened: list[int] = field(default_factory=list)


# --- messages ------------------------------------------------------------------------------


def _number(value: float) -> str:
    return f"{value:.1f}" if abs(value) >= 1 else f"{value:.3g}"


def _quantity_label(config: SensingConfig, device_type: str, code: str) -> tuple[str, str]:
    spec = config.device_type(device_type)
    quantity = next((q for q in spec.quantities if q.code == code), None) if spec else None
    return (quantity.name_zh, quantity.unit) if quantity else (code, "")


def alarm_message(
    config: SensingConfig, rule: AlarmRule, device_type: str, value: float | None
) -> str:
    """zh-CN text, e.g. ``可燃气体浓度 12.0 %LEL 超过 10``."""
    if rule.kind == "offline" or rule.quantity is None or value is None:
        return offline_message(config, device_type)
    name, unit = _quantity_label(config, device_type, rule.quantity)
    direction = "超过" if rule.above is not None else "低于"
    unit_part = f" {unit}" if unit else ""
    if rule.kind == "rate":
        return f"{name}每分钟变化 {value:+.2f}{unit_part}，{direction} {rule.line:g}"
    text = f"{name} {_number(value)}{unit_part} {direction} {rule.line:g}"
    if rule.kind == "held":
        text += f"，持续 {rule.for_seconds} 秒以上"
    return text


def offline_message(config: SensingConfig, device_type: str, heartbeat: int | None = None) -> str:
    seconds = (heartbeat or config.heartbeat_seconds(device_type)) * (
        config.online.missed_heartbeats
    )
    return f"设备离线：超过 {max(1, round(seconds / 60))} 分钟未收到数据"


# --- raising and clearing ------------------------------------------------------------------


def insert_skipping_conflicts(session: Session, table: Table, columns: Sequence[str]) -> Insert:
    """``INSERT … ON CONFLICT (columns) DO NOTHING`` for the session's back-end."""
    if session.get_bind().dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as pg_insert

        return pg_insert(table).on_conflict_do_nothing(index_elements=list(columns))
    from sqlalchemy.dialects.sqlite import insert as sqlite_insert

    return sqlite_insert(table).on_conflict_do_nothing(index_elements=list(columns))


def _alarm_row(draft: AlarmDraft, now: datetime) -> dict[str, Any]:
    device, rule = draft.device, draft.rule
    return {
        "device_id": device.device_id,
        "rule_id": rule.id,
        "kind": rule.kind,
        "severity": rule.severity,
        "state": "raised",
        "open_key": open_key(device.device_id, rule.id),
        "quantity": rule.quantity,
        "value": draft.value,
        "line": rule.line if rule.kind != "offline" else None,
        "message": draft.message[:300],
        "reading_seq": draft.reading_seq,
        "device_type": device.type,
        "device_model": device.model,
        "jurisdiction_code": device.jurisdiction_code,
        "jurisdiction_path": device.jurisdiction_path,
        "community_code": device.community_code,
        "storm_key": device.storm_key[:200],
        "raised_at": now,
        "note": "",
    }


def raise_alarms(
    session: Session, drafts: Sequence[AlarmDraft], *, now: datetime, profile: TownProfile
) -> RaiseOutcome:
    """Raise the drafts (an already open alarm of the same device and rule is left alone)
    and open or join a case for each that qualifies, in the drafts' order."""
    outcome = RaiseOutcome()
    if not drafts:
        return outcome
    by_key = {open_key(d.device.device_id, d.rule.id): d for d in drafts}
    stmt = insert_skipping_conflicts(session, ALARMS, ["open_key"]).returning(
        ALARMS.c.id, ALARMS.c.open_key
    )
    rows = session.execute(stmt, [_alarm_row(d, now) for d in by_key.values()]).all()
    raised = sorted((row.id, by_key[row.open_key]) for row in rows)
    for alarm_id, draft in raised:
        outcome.alarms.append(alarm_id)
        case_id = _case_for(session, alarm_id=alarm_id, draft=draft, now=now, profile=profile)
        if case_id is not None:
            outcome.cases_opened.append(case_id)
    return outcome


def clear_alarms(session: Session, keys: Iterable[str], *, now: datetime) -> list[int]:
    """Close the open alarms with these open keys as cleared; returns their ids."""
    wanted = sorted(set(keys))
    if not wanted:
        return []
    stmt = (
        update(ALARMS)
        .where(ALARMS.c.open_key.in_(wanted))
        .values(
            state="cleared", cleared_at=now, closed_at=now, closed_by=SYSTEM.username, open_key=None
        )
        .returning(ALARMS.c.id)
    )
    return sorted(session.scalars(stmt).all())


# --- alarm → case ----------------------------------------------------------------------------


def find_route(config: SensingConfig, device: DeviceInfo, rule: AlarmRule) -> CaseRoute | None:
    """The first route that takes this alarm, if its severity calls for a case at all."""
    cases = config.cases
    if not cases.enabled or SEVERITY_ORDER[rule.severity] < SEVERITY_ORDER[cases.min_severity]:
        return None
    for route in cases.routes:
        if route.device_types and device.type not in route.device_types:
            continue
        if route.rules and rule.id not in route.rules:
            continue
        if route.household is not None and route.household != device.in_home:
            continue
        return route
    return None


def _case_for(
    session: Session, *, alarm_id: int, draft: AlarmDraft, now: datetime, profile: TownProfile
) -> int | None:
    """Open (or, in a storm, join) the case of a new alarm; returns the id of a new case."""
    config = profile.config(SensingConfig)
    route = find_route(config, draft.device, draft.rule)
    if route is None:
        return None
    joined = _storm_case(session, draft=draft, route=route, now=now, config=config)
    if joined is not None:
        _link(session, alarm_id, joined)
        return None
    data = _case_input(config, alarm_id, draft, route, now)
    case = create_case(session, actor=SYSTEM, data=data, now=now)
    _link(session, alarm_id, case.id)
    _dispatch(session, case=case, draft=draft, route=route, now=now)
    return case.id


def _link(session: Session, alarm_id: int, case_id: int) -> None:
    session.execute(update(ALARMS).where(ALARMS.c.id == alarm_id).values(case_id=case_id))


def _storm_case(
    session: Session, *, draft: AlarmDraft, route: CaseRoute, now: datetime, config: SensingConfig
) -> int | None:
    if not config.storm.enabled:
        return None
    since = now - timedelta(seconds=config.storm.window_seconds)
    return session.scalar(
        select(Alarm.case_id)
        .join(Case, Case.id == Alarm.case_id)
        .where(
            Alarm.storm_key == draft.device.storm_key[:200],
            Alarm.raised_at >= since,
            Case.open_due_at.is_not(None),
            Case.category_code == route.category,
        )
        .order_by(Alarm.raised_at.desc(), Alarm.id.desc())
        .limit(1)
    )


def _case_input(
    config: SensingConfig, alarm_id: int, draft: AlarmDraft, route: CaseRoute, now: datetime
) -> CaseCreate:
    device = draft.device
    return CaseCreate(
        kind=IOT_ALARM.name,
        category=route.category,
        content=case_text(config, draft, route),
        address=device.address,
        jurisdiction=device.jurisdiction_code,
        lat=device.lat,
        lon=device.lon,
        # The engine masks these for the roles that may not see a household's contact.
        requester_name=device.household_name if device.in_home else "",
        requester_phone=device.household_phone if device.in_home else "",
        received_at=now,
        source="iot",
        external_id=f"alarm-{alarm_id}",
        auto_dispatch=False,
    )


def case_text(config: SensingConfig, draft: AlarmDraft, route: CaseRoute) -> str:
    """The case description: device, place, value, rule (no personal data: the household's
    contact travels in the requester fields, which the engine masks)."""
    device, rule = draft.device, draft.rule
    spec = config.device_type(device.type)
    type_name = spec.name_zh if spec else device.type
    where = device.address or device.building or device.jurisdiction_code or "位置未登记"
    lines = [
        f"【物联告警】{rule.name_zh}（{rule.name_en}）",
        f"设备：{type_name} {device.device_id}" + (f"（{device.model}）" if device.model else ""),
        f"地点：{where}" + (f"，{device.building}" if device.building and device.address else ""),
        f"告警：{draft.message}",
    ]
    if device.in_home:
        lines.append("居家设备：住户联系方式见诉求人信息")
    if route.note:
        lines.append(f"处置提示：{route.note}")
    return "\n".join(lines)


def _dispatch(
    session: Session, *, case: Case, draft: AlarmDraft, route: CaseRoute, now: datetime
) -> None:
    department, community = route.department, None
    if route.community:
        community = draft.device.community_code
        if community is None:
            # No community on record: the category's own department takes it.
            category = find_category(session, route.category)
            department = category.department_code if category else None
    if department is None and community is None:
        return  # left in the dispatcher's queue
    body = ActionInput(
        version=case.version,
        department=department,
        community=community,
        comment=f"物联告警自动派单 / IoT alarm dispatched by route '{route.name}'",
    )
    perform_action(
        session, actor=SYSTEM, case_id=case.id, action=Action.dispatch, body=body, now=now
    )


# --- who sees alarms, persons' actions -----------------------------------------------------


def visible_alarms(actor: Actor) -> ColumnElement[bool]:
    """A SQL condition selecting exactly the alarms ``actor`` may see: the access layer's
    scope over the alarm's place (departments serve the whole town)."""
    if not actor.is_system and actor.role not in ALARM_VIEWERS:
        return false()
    return scope_of(actor).where(path=Alarm.jurisdiction_path, departments_serve_town=True)


def require_alarm_role(actor: Actor, *, acting: bool) -> None:
    allowed = ALARM_ACTORS if acting else ALARM_VIEWERS
    if not actor.is_system and actor.role not in allowed:
        doing = "act on alarms" if acting else "see alarms"
        raise Forbidden(f"role '{actor.role}' may not {doing}", role=actor.role)


def household_contact(actor: Actor, row: AlarmRow, profile: TownProfile) -> ContactView:
    """How the alarm's household reads for ``actor``: the one contact rule, with the unit
    in charge of the alarm's case as the owner who must call the household."""
    return contact_view(actor, profile.roles, row.owner, owner_must_call=True)


def may_handle_alarm(actor: Actor, alarm: Alarm, case: Case | None) -> bool:
    """Whether ``actor`` may act on ``alarm`` (acknowledge it, verify it on site, mark it a
    false alarm).

    The operations centre's roles (duty officer, dispatcher, admin) may act on any alarm.
    Otherwise it is for the unit in charge: of the alarm's ``case`` when it has one (the
    department it is dispatched to, or the staff and grid workers of the community it is
    assigned to); of the alarm's place when it has none (info alarms: low battery, most
    outages), i.e. community staff and grid workers whose scope holds it. A handler's unit
    is a department, not an area: it acts on its own department's alarm cases only.
    Visibility (404) is checked before this (403).
    """
    owner = (
        Owner(department=case.department_code, community=case.assignee_community_code)
        if case is not None
        else None
    )
    return _may_handle(actor, alarm, owner)


def may_handle_row(actor: Actor, row: AlarmRow) -> bool:
    """:func:`may_handle_alarm` for an alarm of a list (its case's unit already joined):
    what the pages need to offer the buttons only to whoever may use them."""
    return _may_handle(actor, row.alarm, row.owner if row.alarm.case_id is not None else None)


def _may_handle(actor: Actor, alarm: Alarm, case_owner: Owner | None) -> bool:
    """The rule of :func:`may_handle_alarm`; ``case_owner``: the unit in charge of the
    alarm's case, None when it has no case."""
    if actor.is_system or actor.role in ALARM_TOWN_ACTORS:
        return True
    if actor.role not in ALARM_ACTORS:
        return False
    if case_owner is not None:
        return owns(actor, case_owner)
    scope = scope_of(actor)
    # An area smaller than the town: staff scoped at the root are no unit in charge.
    return (
        actor.role in LOCAL_ROLES
        and scope.reach == Reach.subtree
        and scope.contains_path(alarm.jurisdiction_path)
    )


def get_alarm_for(session: Session, *, actor: Actor, alarm_id: int) -> Alarm:
    require_alarm_role(actor, acting=False)
    alarm = session.scalars(
        select(Alarm).where(Alarm.id == alarm_id, visible_alarms(actor))
    ).first()
    if alarm is None:
        raise NotFound(f"alarm {alarm_id} not found", alarm_id=alarm_id)
    return alarm


def _transition(
    session: Session,
    *,
    actor: Actor,
    alarm_id: int,
    action: str,
    from_states: Sequence[str],
    values: dict[str, Any],
    audit: dict[str, Any],
    now: datetime,
) -> Alarm:
    require_alarm_role(actor, acting=True)
    alarm = get_alarm_for(session, actor=actor, alarm_id=alarm_id)
    case = session.get(Case, alarm.case_id) if alarm.case_id is not None else None
    if not may_handle_alarm(actor, alarm, case):
        holder = f"case {case.id}" if case is not None else "the alarm's place"
        raise Forbidden(
            f"only the unit in charge of {holder} or the operations centre may "
            f"'{action}' alarm {alarm_id}",
            action=action,
            alarm_id=alarm_id,
        )
    # Conditional UPDATE: a concurrent acknowledgement or clear wins cleanly, never twice.
    changed = session.execute(
        update(ALARMS)
        .where(ALARMS.c.id == alarm_id, ALARMS.c.state.in_(list(from_states)))
        .values(**values)
        .returning(ALARMS.c.id)
    ).first()
    session.refresh(alarm)
    if changed is None:
        allowed = [a for a, states in _ACTIONS.items() if alarm.state in states]
        raise IllegalTransition(action=action, state=alarm.state, allowed=allowed)
    session.add(
        AuditEntry(
            at=now,
            actor=actor.username,
            action=f"alarm.{action}",
            target=f"alarm:{alarm_id}",
            data=audit,
        )
    )
    if case is not None:
        record_on_timeline(
            session,
            case=case,
            actor=actor,
            kind=TIMELINE_KINDS[action],
            now=now,
            comment=str(audit.get("note", "")),
            data={"alarm_id": alarm_id, "device_id": alarm.device_id, "rule": alarm.rule_id},
            # Acknowledging (or verifying) the alarm is acknowledging its case: the on-duty
            # chain stops.
            acknowledges=action in ACKNOWLEDGING_ACTIONS,
        )
    session.flush()
    return alarm


# From which states each person's action may be taken. A verified alarm is known to be
# real: it can no longer be called a false alarm; it closes when its readings clear.
_ACTIONS: dict[str, tuple[str, ...]] = {
    "acknowledge": ("raised",),
    "verify": ("raised", "acknowledged"),
    "false_alarm": ("raised", "acknowledged"),
}


def acknowledge_alarm(session: Session, *, actor: Actor, alarm_id: int, now: datetime) -> Alarm:
    """A person has seen the alarm and takes it on (state ``acknowledged``)."""
    return _transition(
        session,
        actor=actor,
        alarm_id=alarm_id,
        action="acknowledge",
        from_states=_ACTIONS["acknowledge"],
        values={"state": "acknowledged", "acknowledged_at": now, "acknowledged_by": actor.username},
        audit={},
        now=now,
    )


def verify_alarm(
    session: Session, *, actor: Actor, alarm_id: int, note: str, now: datetime
) -> Alarm:
    """A person on site confirms the alarm is real (现场核实): state ``verified``, with what
    was found as the alarm's note.

    Verifying a raised alarm acknowledges it too (``acknowledged_at/by`` are kept when it
    was acknowledged before), so the time to acknowledge counts it and its case's on-duty
    chain stops. Who verified and when are in the audit log and on the case's timeline.
    """
    note = note.strip()
    if not note:
        raise InvalidInput("a verification needs a note: what was found on site", field="note")
    return _transition(
        session,
        actor=actor,
        alarm_id=alarm_id,
        action="verify",
        from_states=_ACTIONS["verify"],
        values={
            "state": "verified",
            # Typed literals: the column's own conversion (UTC) applies to the bound value.
            "acknowledged_at": func.coalesce(
                ALARMS.c.acknowledged_at, literal(now, ALARMS.c.acknowledged_at.type)
            ),
            "acknowledged_by": func.coalesce(
                ALARMS.c.acknowledged_by, literal(actor.username, ALARMS.c.acknowledged_by.type)
            ),
            "note": note[:500],
        },
        audit={"note": note[:500]},
        now=now,
    )


def mark_false_alarm(
    session: Session, *, actor: Actor, alarm_id: int, note: str, now: datetime
) -> Alarm:
    """A person found nothing wrong: the alarm closes as ``false_alarm`` with the note.

    The rule stays raised until the readings return past the clear line, so a device that
    keeps reporting the same value does not raise again at once.
    """
    note = note.strip()
    if not note:
        raise InvalidInput("a false alarm needs a note: what was found", field="note")
    return _transition(
        session,
        actor=actor,
        alarm_id=alarm_id,
        action="false_alarm",
        from_states=_ACTIONS["false_alarm"],
        values={
            "state": "false_alarm",
            "closed_at": now,
            "closed_by": actor.username,
            "note": note[:500],
            "open_key": None,
        },
        audit={"note": note[:500]},
        now=now,
    )


# --- lists ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class AlarmFilters:
    state: list[str] | None = None
    open: bool | None = None
    device: str | None = None
    rule: str | None = None
    jurisdiction: str | None = None
    type: str | None = None
    severity: str | None = None
    case_id: int | None = None
    # Closed at or after this instant (the console's "closed in the last 24 h").
    closed_from: datetime | None = None


def _conditions(session: Session, actor: Actor, f: AlarmFilters) -> list[ColumnElement[bool]]:
    conditions = [visible_alarms(actor)]
    if f.state:
        conditions.append(Alarm.state.in_(f.state))
    if f.open is True:
        conditions.append(Alarm.open_key.is_not(None))
    elif f.open is False:
        conditions.append(Alarm.open_key.is_(None))
    if f.device:
        conditions.append(Alarm.device_id == f.device)
    if f.rule:
        conditions.append(Alarm.rule_id == f.rule)
    if f.jurisdiction:
        path = place(session, f.jurisdiction).path
        conditions.append(Alarm.jurisdiction_path.startswith(path, autoescape=True))
    if f.type:
        conditions.append(Alarm.device_type == f.type)
    if f.severity:
        conditions.append(Alarm.severity == f.severity)
    if f.case_id is not None:
        conditions.append(Alarm.case_id == f.case_id)
    if f.closed_from is not None:
        conditions.append(Alarm.closed_at >= f.closed_from)
    return conditions


def _order(order: str) -> list[Any]:
    """Newest first; ``severity``: critical first, then newest (the alarm console)."""
    newest = [Alarm.raised_at.desc(), Alarm.id.desc()]
    if order == "severity":
        return [case(SEVERITY_RANK, value=Alarm.severity, else_=len(SEVERITY_RANK)), *newest]
    return newest


def _detail_query() -> Any:
    return (
        select(
            Alarm,
            Device.address,
            Device.building,
            Device.household_name,
            Device.household_phone,
            Case.department_code,
            Case.assignee_community_code,
            Alarm.case_id,
        )
        .join(Device, Device.device_id == Alarm.device_id)
        .outerjoin(Case, Case.id == Alarm.case_id)
    )


@dataclass(frozen=True)
class AlarmRow:
    """An alarm with what its presentation needs from its device and its case."""

    alarm: Alarm
    address: str
    building: str
    household_name: str
    household_phone: str
    case_department: str | None
    # The unit in charge of the alarm's case (none before there is a case).
    owner: Owner

    @classmethod
    def of(cls, row: Sequence[Any]) -> AlarmRow:
        alarm, address, building, name, phone, department, assignee, case_id = row
        owner = Owner(department=department, community=assignee) if case_id else NO_OWNER
        return cls(alarm, address, building, name, phone, department, owner)


def list_alarms(
    session: Session,
    *,
    actor: Actor,
    filters: AlarmFilters,
    limit: int = 50,
    offset: int = 0,
    order: str = "newest",
) -> tuple[list[AlarmRow], int]:
    """A page of alarms (newest first, or by severity then newest) with their device's
    place and household, and the total that match."""
    require_alarm_role(actor, acting=False)
    conditions = _conditions(session, actor, filters)
    rows = session.execute(
        _detail_query().where(*conditions).order_by(*_order(order)).limit(limit).offset(offset)
    ).all()
    total = session.scalar(select(func.count(Alarm.id)).where(*conditions)) or 0
    return [AlarmRow.of(row) for row in rows], total


def alarm_detail(session: Session, *, actor: Actor, alarm_id: int) -> AlarmRow:
    get_alarm_for(session, actor=actor, alarm_id=alarm_id)
    return AlarmRow.of(session.execute(_detail_query().where(Alarm.id == alarm_id)).one())
