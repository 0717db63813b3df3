"""Routes: alarms (list, detail, acknowledge, verify on site, false alarm).

Readings sent over HTTP have their route in :mod:`townops.sensing.ingest.api`.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from townops.access.actor import Actor
from townops.api.deps import ActorDep, ProfileDep, SessionDep
from townops.api.params import BoundedDatetime, DbId, Offset
from townops.errors import InvalidInput
from townops.sensing.alarms import lifecycle as service
from townops.sensing.alarms.schemas import AlarmOut, AlarmPage, FalseAlarmIn, Household, VerifyIn
from townops.sensing.config import SensingConfig, Severity
from townops.sensing.models import ALARM_STATES
from townops.timeutil import as_utc, utcnow
from townops.towns.profile import TownProfile

router = APIRouter(tags=["alarms"])

MAX_LIMIT = 200


def _present(row: service.AlarmRow, *, actor: Actor, profile: TownProfile) -> AlarmOut:
    household, address = None, row.address
    if row.household_name or row.household_phone:
        # An alarm in a home: its household and its address are contact data.
        contact = service.household_contact(actor, row, profile)
        household = Household.of(row.household_name, row.household_phone, contact=contact)
        address = contact.address(row.address) or ""
    return AlarmOut.of(
        row.alarm,
        config=profile.config(SensingConfig),
        address=address,
        building=row.building,
        household=household,
        may_act=service.may_handle_row(actor, row),
    )


@router.get("/api/v1/alarms", response_model=AlarmPage)
def list_alarms(
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
    state: Annotated[list[str] | None, Query(description=f"One of {ALARM_STATES}")] = None,
    open: Annotated[bool | None, Query(description="Only open (or only closed) alarms")] = None,
    device: str | None = None,
    rule: str | None = None,
    jurisdiction: Annotated[str | None, Query(description="Jurisdiction code: its subtree")] = None,
    type: Annotated[str | None, Query(description="Device type code")] = None,
    severity: Severity | None = None,
    case: Annotated[DbId | None, Query(description="The alarms of one case")] = None,
    closed_from: Annotated[
        BoundedDatetime | None,
        Query(description="Closed at or after this instant (ISO 8601; no offset: town time)"),
    ] = None,
    order: Annotated[
        Literal["newest", "severity"],
        Query(description="newest first, or critical first then newest (the alarm console)"),
    ] = "newest",
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = 50,
    offset: Offset = 0,
) -> AlarmPage:
    unknown = sorted(set(state or []) - set(ALARM_STATES))
    if unknown:
        raise InvalidInput(f"unknown alarm state(s) {unknown}", allowed=list(ALARM_STATES))
    filters = service.AlarmFilters(
        state=state,
        open=open,
        device=device,
        rule=rule,
        jurisdiction=jurisdiction,
        type=type,
        severity=severity,
        case_id=case,
        closed_from=as_utc(closed_from, naive_tz=ZoneInfo(profile.timezone))
        if closed_from
        else None,
    )
    rows, total = service.list_alarms(
        session, actor=actor, filters=filters, limit=limit, offset=offset, order=order
    )
    return AlarmPage(
        items=[_present(r, actor=actor, profile=profile) for r in rows],
        total=total,
        limit=limit,
        offset=offset,
    )


@router.get("/api/v1/alarms/{alarm_id}", response_model=AlarmOut)
def get_alarm(
    alarm_id: DbId, session: SessionDep, actor: ActorDep, profile: ProfileDep
) -> AlarmOut:
    row = service.alarm_detail(session, actor=actor, alarm_id=alarm_id)
    return _present(row, actor=actor, profile=profile)


@router.post("/api/v1/alarms/{alarm_id}/acknowledge", response_model=AlarmOut)
def acknowledge(
    alarm_id: DbId, session: SessionDep, actor: ActorDep, profile: ProfileDep
) -> AlarmOut:
    service.acknowledge_alarm(session, actor=actor, alarm_id=alarm_id, now=utcnow())
    session.commit()
    return _present(
        service.alarm_detail(session, actor=actor, alarm_id=alarm_id), actor=actor, profile=profile
    )


@router.post("/api/v1/alarms/{alarm_id}/verify", response_model=AlarmOut)
def verify(
    alarm_id: DbId, body: VerifyIn, session: SessionDep, actor: ActorDep, profile: ProfileDep
) -> AlarmOut:
    """现场核实: a person on site confirms the alarm is real (from raised or acknowledged)."""
    service.verify_alarm(session, actor=actor, alarm_id=alarm_id, note=body.note, now=utcnow())
    session.commit()
    return _present(
        service.alarm_detail(session, actor=actor, alarm_id=alarm_id), actor=actor, profile=profile
    )


@router.post("/api/v1/alarms/{alarm_id}/false-alarm", response_model=AlarmOut)
def false_alarm(
    alarm_id: DbId, body: FalseAlarmIn, session: SessionDep, actor: ActorDep, profile: ProfileDep
) -> AlarmOut:
    service.mark_false_alarm(session, actor=actor, alarm_id=alarm_id, note=body.note, now=utcnow())
    session.commit()
    return _present(
        service.alarm_detail(session, actor=actor, alarm_id=alarm_id), actor=actor, profile=profile
    )
