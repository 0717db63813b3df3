"""REST routes for the device registry and device history (thin).

Every route checks the caller's role and scope in the service it calls: residents are
refused (403), community staff and grid workers see the devices of their part of the town
only, and a device outside the caller's scope is a 404 like one that does not exist.
"""

from __future__ import annotations

from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query

from townops.api.deps import ActorDep, ProfileDep, SessionDep, SettingsDep
from townops.api.params import BoundedDatetime, Offset, PageNumber
from townops.errors import InvalidInput
from townops.sensing.devices.registry import (
    DeviceFilters,
    get_device_for,
    list_devices,
    open_alarm_count,
)
from townops.sensing.devices.schemas import (
    DeviceDetail,
    DevicePage,
    ReadingOut,
    ReadingPage,
    RollupOut,
    present_device,
    present_device_detail,
    present_reading,
    present_rollup,
)
from townops.sensing.devices.telemetry import raw_readings, rollups
from townops.timeutil import as_utc, utcnow

router = APIRouter(prefix="/api/v1", tags=["sensing"])

MAX_READINGS_PAGE = 1000


@router.get("/devices", response_model=DevicePage)
def get_devices(
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
    settings: SettingsDep,
    type: Annotated[str | None, Query(description="device type code")] = None,
    jurisdiction: Annotated[str | None, Query(description="code: its whole subtree")] = None,
    network: Annotated[str | None, Query(description="e.g. 中脑, 社区小脑")] = None,
    online: bool | None = None,
    active: bool | None = None,
    q: Annotated[
        str | None, Query(description="in device id, address, building, model, owner unit")
    ] = None,
    page: PageNumber = 1,
    page_size: Annotated[int, Query(ge=1)] = 50,
) -> DevicePage:
    """Registered devices the caller may see, with online state and latest values."""
    if page_size > settings.page_size_max:
        raise InvalidInput(f"page_size may be at most {settings.page_size_max}", field="page_size")
    now = utcnow()
    filters = DeviceFilters(
        type=type, jurisdiction=jurisdiction, network=network, online=online, active=active, q=q
    )
    listing = list_devices(
        session, actor=actor, filters=filters, page=page, page_size=page_size, now=now
    )
    return DevicePage(
        items=[
            present_device(device, state, actor=actor, profile=profile, now=now)
            for device, state in listing.rows
        ],
        page=page,
        page_size=page_size,
        total=listing.total,
        has_more=page * page_size < listing.total,
    )


@router.get("/devices/{device_id}", response_model=DeviceDetail)
def get_device(
    device_id: str, session: SessionDep, actor: ActorDep, profile: ProfileDep
) -> DeviceDetail:
    """One device: registry, online state, last reading, open alarms."""
    device, state = get_device_for(session, actor=actor, device_id=device_id)
    return present_device_detail(
        device,
        state,
        actor=actor,
        profile=profile,
        now=utcnow(),
        open_alarms=open_alarm_count(session, device_id),
    )


@router.get("/devices/{device_id}/readings", response_model=ReadingPage)
def get_readings(
    device_id: str,
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
    start: Annotated[
        BoundedDatetime | None,
        Query(alias="from", description="ISO 8601; no offset: town time"),
    ] = None,
    end: Annotated[BoundedDatetime | None, Query(alias="to", description="excluded")] = None,
    resolution: Annotated[
        Literal["raw", "rollup"],
        Query(description="raw readings, or the roll-ups of readings past the raw retention"),
    ] = "raw",
    limit: Annotated[int, Query(ge=1, le=MAX_READINGS_PAGE)] = 100,
    offset: Offset = 0,
) -> ReadingPage:
    """A device's history in ``[from, to)``, oldest first, with the total count."""
    get_device_for(session, actor=actor, device_id=device_id)
    zone = ZoneInfo(profile.timezone)
    start_utc = as_utc(start, naive_tz=zone) if start else None
    end_utc = as_utc(end, naive_tz=zone) if end else None
    if start_utc and end_utc and end_utc < start_utc:
        raise InvalidInput("'to' is before 'from'", field="to")
    items: list[ReadingOut] | list[RollupOut]
    if resolution == "raw":
        readings, total = raw_readings(
            session, device_id, start=start_utc, end=end_utc, limit=limit, offset=offset
        )
        items = [present_reading(r) for r in readings]
    else:
        buckets, total = rollups(
            session, device_id, start=start_utc, end=end_utc, limit=limit, offset=offset
        )
        items = [present_rollup(r) for r in buckets]
    return ReadingPage(
        device_id=device_id,
        resolution=resolution,
        start=start_utc,
        end=end_utc,
        limit=limit,
        offset=offset,
        total=total,
        items=items,
    )
