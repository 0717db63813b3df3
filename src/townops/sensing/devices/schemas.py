"""API output of the device registry, and how a device is shown to a given viewer.

The household of an in-home device (a gas alarm in an elderly person's home) and its
address are contact data, shown through the one access layer's rule
(:func:`townops.access.sees_contact`): unmasked for roles that see contact data
town-wide; ``138****1234``, the surname only (``张*``) and the address to its building
for everyone else (a department's handler included: no department is in charge of a
home). The unit in charge of an alarm's case sees the household on the alarm.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import BaseModel, Field

from townops.access import Owner
from townops.access.actor import Actor
from townops.access.contact import ContactView, contact_view
from townops.sensing.config import SensingConfig
from townops.sensing.devices.registry import heartbeat_of, is_online
from townops.sensing.models import Device, DeviceState, Reading, ReadingRollup
from townops.towns.profile import TownProfile


class Household(BaseModel):
    name: str
    phone: str
    note: str
    masked: bool


class DeviceOut(BaseModel):
    device_id: str
    type: str
    type_name_zh: str | None
    type_name_en: str | None
    model: str
    network: str
    jurisdiction_code: str | None
    community_code: str | None
    lat: float | None
    lon: float | None
    address: str
    building: str
    owner_unit: str
    installed_on: date | None
    household: Household | None = Field(
        default=None, description="in-home devices only; masked for roles without full phones"
    )
    heartbeat_seconds: int = Field(description="its own, else its type's, else the town's")
    active: bool
    online: bool
    last_seen: datetime | None
    offline_since: datetime | None
    values: dict[str, float] = Field(default_factory=dict, description="latest values")


class DeviceDetail(DeviceOut):
    last_seq: int | None
    last_ts: datetime | None
    readings_count: int
    open_alarms: int


class DevicePage(BaseModel):
    items: list[DeviceOut]
    page: int
    page_size: int
    total: int
    has_more: bool


class ReadingOut(BaseModel):
    seq: int
    ts: datetime
    received_at: datetime
    values: dict[str, float]


class RollupOut(BaseModel):
    bucket_start: datetime
    bucket_seconds: int
    quantity: str
    count: int
    min: float
    max: float
    mean: float


class ReadingPage(BaseModel):
    device_id: str
    resolution: Literal["raw", "rollup"]
    start: datetime | None = Field(serialization_alias="from")
    end: datetime | None = Field(serialization_alias="to")
    limit: int
    offset: int
    total: int
    items: list[ReadingOut] | list[RollupOut]


def device_contact(actor: Actor, device: Device, profile: TownProfile) -> ContactView:
    """How an in-home device's household reads for ``actor``: the one contact rule. The
    registry names no unit in charge of a home, so only the roles that see contact data
    town-wide see it; the unit in charge of an alarm's case sees it on the alarm."""
    return contact_view(actor, profile.roles, Owner(community=device.community_code))


def _household(device: Device, contact: ContactView) -> Household | None:
    if not device.in_home:
        return None
    return Household(
        name=contact.name(device.household_name),
        phone=contact.phone(device.household_phone),
        note=contact.text(device.household_note) or "",
        masked=not contact.full,
    )


def _fields(
    device: Device,
    state: DeviceState | None,
    *,
    actor: Actor,
    profile: TownProfile,
    now: datetime,
) -> dict[str, object]:
    config: SensingConfig = profile.config(SensingConfig)
    kind = config.device_type(device.type)
    contact = device_contact(actor, device, profile)
    # A home's address is contact data; a street device's is not.
    address = contact.address(device.address) if device.in_home else device.address
    return {
        "device_id": device.device_id,
        "type": device.type,
        "type_name_zh": kind.name_zh if kind else None,
        "type_name_en": kind.name_en if kind else None,
        "model": device.model,
        "network": device.network,
        "jurisdiction_code": device.jurisdiction_code,
        "community_code": device.community_code,
        "lat": device.lat,
        "lon": device.lon,
        "address": address,
        "building": device.building,
        "owner_unit": device.owner_unit,
        "installed_on": device.installed_on,
        "household": _household(device, contact),
        "heartbeat_seconds": heartbeat_of(device, config),
        "active": device.active,
        "online": is_online(state, device, config, now),
        "last_seen": state.last_seen if state else None,
        "offline_since": state.offline_since if state else None,
        "values": dict(state.values) if state else {},
    }


def present_device(
    device: Device,
    state: DeviceState | None,
    *,
    actor: Actor,
    profile: TownProfile,
    now: datetime,
) -> DeviceOut:
    return DeviceOut.model_validate(_fields(device, state, actor=actor, profile=profile, now=now))


def present_device_detail(
    device: Device,
    state: DeviceState | None,
    *,
    actor: Actor,
    profile: TownProfile,
    now: datetime,
    open_alarms: int,
) -> DeviceDetail:
    fields = _fields(device, state, actor=actor, profile=profile, now=now)
    return DeviceDetail.model_validate(
        fields
        | {
            "last_seq": state.last_seq if state else None,
            "last_ts": state.last_ts if state else None,
            "readings_count": state.readings_count if state else 0,
            "open_alarms": open_alarms,
        }
    )


def present_reading(reading: Reading) -> ReadingOut:
    return ReadingOut(
        seq=reading.seq, ts=reading.ts, received_at=reading.received_at, values=reading.values
    )


def present_rollup(rollup: ReadingRollup) -> RollupOut:
    return RollupOut(
        bucket_start=rollup.bucket_start,
        bucket_seconds=rollup.bucket_seconds,
        quantity=rollup.quantity,
        count=rollup.count,
        min=rollup.min,
        max=rollup.max,
        mean=rollup.mean,
    )
