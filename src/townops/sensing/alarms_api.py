"""Routes: alarms (list, detail, acknowledge, false alarm) and HTTP ingestion of readings.

``POST /api/v1/devices/{device_id}/readings`` is for devices that cannot speak MQTT: the
body is one payload of the MQTT wire format or a list of them, the client authenticates
with an ingestion key bound to the device (``X-API-Key``; ``townops api-key create NAME
--purpose ingest --device ID``; an Open311 key is refused). A body that cannot be used —
malformed, or a reading dated too far ahead of the server clock — is set aside in
``quarantined_messages`` (committed on its own, so the error answer does not undo it) and
refused as a whole with a structured 422.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

from townops.api.deps import ActorDep, ProfileDep, SessionDep
from townops.api.params import DbId, Offset
from townops.auth.actor import Actor
from townops.errors import Conflict, InvalidInput, NotFound
from townops.sensing import alarms as service
from townops.sensing.config import Severity
from townops.sensing.keys import require_ingest_key
from townops.sensing.messages import (
    DEVICE_ID_PATTERN,
    IncomingReading,
    MalformedMessage,
    SetAside,
    quarantine,
    reading_from_body,
)
from townops.sensing.models import ALARM_STATES
from townops.sensing.pipeline import (
    INACTIVE_DEVICE,
    UNKNOWN_DEVICE,
    device_infos,
    process_readings,
    set_aside_detail,
)
from townops.sensing.schemas_alarms import (
    AlarmOut,
    AlarmPage,
    FalseAlarmIn,
    Household,
    IngestOut,
    IngestProblem,
)
from townops.timeutil import utcnow
from townops.towns.profile import TownProfile

router = APIRouter(tags=["alarms"])

MAX_LIMIT = 200
MAX_HTTP_BODY_BYTES = 1_048_576
MAX_HTTP_READINGS = 1_000


# --- alarms ------------------------------------------------------------------------------


def _present(row: service.AlarmRow, *, actor: Actor, profile: TownProfile) -> AlarmOut:
    household, address = None, row.address
    if row.household_name or row.household_phone:
        # An alarm in a home: its household and its address are contact data.
        contact = service.household_contact(actor, row, profile)
        household = Household.of(row.household_name, row.household_phone, contact=contact)
        address = contact.address(row.address) or ""
    return AlarmOut.of(
        row.alarm,
        config=profile.sensing,
        address=address,
        building=row.building,
        household=household,
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
    )
    rows, total = service.list_alarms(
        session, actor=actor, filters=filters, limit=limit, offset=offset
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


@router.post("/api/v1/alarms/{alarm_id}/false-alarm", response_model=AlarmOut)
def false_alarm(
    alarm_id: DbId, body: FalseAlarmIn, session: SessionDep, actor: ActorDep, profile: ProfileDep
) -> AlarmOut:
    service.mark_false_alarm(session, actor=actor, alarm_id=alarm_id, note=body.note, now=utcnow())
    session.commit()
    return _present(
        service.alarm_detail(session, actor=actor, alarm_id=alarm_id), actor=actor, profile=profile
    )


# --- readings over HTTP ------------------------------------------------------------------


@router.post(
    "/api/v1/devices/{device_id}/readings",
    response_model=IngestOut,
    tags=["devices"],
    summary="Send readings (devices that cannot speak MQTT)",
)
async def post_readings(
    device_id: str,
    request: Request,
    session: SessionDep,
    x_api_key: Annotated[
        str | None, Header(description="An ingestion key bound to this device")
    ] = None,
) -> IngestOut:
    """Body: ``{"seq": N, "ts": "<ISO 8601 with offset>", "values": {...}}`` or a list of
    them (at most 1,000), as on MQTT. The answer says what was stored and what it raised.
    The key must be an ``ingest`` key bound to the device (403 otherwise, with the reason)."""
    payload = await request.body()
    # The database work blocks: off the event loop, as for the synchronous routes.
    return await run_in_threadpool(
        _ingest,
        session,
        device_id=device_id,
        payload=payload,
        api_key=x_api_key,
        path=request.url.path,
    )


def _ingest(
    session: Session, *, device_id: str, payload: bytes, api_key: str | None, path: str
) -> IngestOut:
    require_ingest_key(session, key=api_key, device_id=device_id)
    received_at = utcnow()

    def set_aside(problems: list[IngestProblem], items: list[bytes]) -> None:
        quarantine(
            session,
            [
                SetAside("http", path, item, p.reason, p.detail, device_id, received_at)
                for p, item in zip(problems, items, strict=True)
            ],
        )
        session.commit()  # kept even though the request is refused

    device = device_infos(session, [device_id]).get(device_id) if _plausible(device_id) else None
    if device is None or not device.active:
        reason = UNKNOWN_DEVICE if device is None else INACTIVE_DEVICE
        set_aside([IngestProblem(index=0, reason=reason, detail=device_id[:64])], [payload])
        if device is None:
            raise NotFound(f"device '{device_id[:64]}' is not registered", reason=reason)
        raise Conflict(f"device '{device_id}' is inactive", reason=reason)
    readings, problems, items = _parse(device_id, payload, received_at=received_at)
    if problems:
        set_aside(problems, items)
        raise InvalidInput(
            "the readings could not be used; nothing was stored",
            problems=[p.as_dict() for p in problems],
        )
    result = process_readings(session, readings, now=received_at)
    if result.unknown:
        # Readings the pipeline would not take (dated too far ahead of the server clock, or
        # the device changed meanwhile): nothing of the body is kept but those, set aside.
        session.rollback()
        refused = [
            IngestProblem(
                index=index, reason=reason, detail=set_aside_detail(reason, readings[index])
            )
            for index, reason in result.unknown
        ]
        set_aside(refused, [_raw(readings[p.index]) for p in refused])
        raise InvalidInput(
            "the readings could not be used; nothing was stored",
            problems=[p.as_dict() for p in refused],
        )
    session.commit()
    return IngestOut(
        stored=result.stored,
        duplicates=result.duplicates,
        late=result.late,
        alarms_raised=result.alarms_raised,
        alarms_cleared=result.alarms_cleared,
        cases_opened=result.cases_opened,
    )


def _raw(reading: IncomingReading) -> bytes:
    """A reading as its device sent it (for the set-aside row)."""
    body = {"seq": reading.seq, "ts": reading.ts.isoformat(), "values": reading.values}
    return json.dumps(body, ensure_ascii=False).encode()


def _plausible(device_id: str) -> bool:
    return DEVICE_ID_PATTERN.match(device_id) is not None


def _parse(
    device_id: str, payload: bytes, *, received_at: datetime
) -> tuple[list[IncomingReading], list[IngestProblem], list[bytes]]:
    """All readings of the body, or the problems and the raw items to set aside."""
    if len(payload) > MAX_HTTP_BODY_BYTES:
        detail = f"{len(payload)} bytes, at most {MAX_HTTP_BODY_BYTES}"
        return [], [IngestProblem(index=0, reason="too_large", detail=detail)], [payload]
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError) as exc:
        return [], [IngestProblem(index=0, reason="not_json", detail=str(exc)[:200])], [payload]
    items = body if isinstance(body, list) else [body]
    if not items or len(items) > MAX_HTTP_READINGS:
        detail = f"send 1 to {MAX_HTTP_READINGS} readings, got {len(items)}"
        return [], [IngestProblem(index=0, reason="bad_schema", detail=detail)], [payload]
    readings: list[IncomingReading] = []
    problems: list[IngestProblem] = []
    raw: list[bytes] = []
    for index, item in enumerate(items):
        try:
            readings.append(reading_from_body(item, device_id=device_id, received_at=received_at))
        except MalformedMessage as exc:
            problems.append(IngestProblem(index=index, reason=exc.reason, detail=exc.detail))
            raw.append(json.dumps(item, ensure_ascii=False).encode())
    return readings, problems, raw
