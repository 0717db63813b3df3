"""A device as ingestion, rules and alarms see it: its registry facts, cached per database.

:func:`device_infos` is on the ingestion hot path (one query per batch for the devices not
cached yet). Registry facts change only on import, which calls :func:`forget_devices`
(:func:`townops.sensing.devices.registry.import_devices`); other processes' imports are
picked up after :data:`DEVICE_CACHE_SECONDS`.

Both the registry (which changes devices) and ingestion (which reads them) import this
module; it imports neither.
"""

from __future__ import annotations

import re
import time
from collections.abc import Collection
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.db import database_key
from townops.sensing.models import Device

#: What a device id may be: it is part of the MQTT topic.
DEVICE_ID_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")


@dataclass(frozen=True, slots=True)
class DeviceInfo:
    """The registry facts that rules, alarms and their cases need about a device."""

    device_id: str
    type: str
    model: str = ""
    building: str = ""
    address: str = ""
    jurisdiction_code: str | None = None
    jurisdiction_path: str | None = None
    community_code: str | None = None
    lat: float | None = None
    lon: float | None = None
    household_name: str = ""
    household_phone: str = ""
    heartbeat_seconds: int | None = None
    active: bool = True

    @property
    def in_home(self) -> bool:
        return bool(self.household_name or self.household_phone)

    @property
    def storm_key(self) -> str:
        return self.building or self.device_id


# --- the device cache --------------------------------------------------------------------

#: Registry facts change only on import (which calls :func:`forget_devices`); other
#: processes' imports are picked up after this many seconds.
DEVICE_CACHE_SECONDS = 60.0
DEVICE_CACHE_MAX = 500_000


@dataclass
class _DeviceCache:
    loaded_at: float
    devices: dict[str, DeviceInfo] = field(default_factory=dict)


_device_caches: dict[str, _DeviceCache] = {}


def forget_devices(session: Session) -> None:
    """Drop this database's cached registry facts (after an import or a device change)."""
    _device_caches.pop(database_key(session), None)


def device_infos(session: Session, device_ids: Collection[str]) -> dict[str, DeviceInfo]:
    """Registry facts of the given devices that exist (one query for those not cached)."""
    key = database_key(session)
    clock = time.monotonic()
    cache = _device_caches.get(key)
    if (
        cache is None
        or clock - cache.loaded_at > DEVICE_CACHE_SECONDS
        or len(cache.devices) > DEVICE_CACHE_MAX
    ):
        cache = _device_caches[key] = _DeviceCache(loaded_at=clock)
    known = cache.devices
    missing = [d for d in device_ids if d not in known]
    if missing:
        for device in _load_devices(session, missing):
            known[device.device_id] = device
    return {d: known[d] for d in device_ids if d in known}


def _load_devices(session: Session, device_ids: list[str]) -> list[DeviceInfo]:
    rows = session.execute(
        select(
            Device.device_id,
            Device.type,
            Device.model,
            Device.building,
            Device.address,
            Device.jurisdiction_code,
            Device.jurisdiction_path,
            Device.community_code,
            Device.lat,
            Device.lon,
            Device.household_name,
            Device.household_phone,
            Device.heartbeat_seconds,
            Device.active,
        ).where(Device.device_id.in_(device_ids))
    )
    return [DeviceInfo(*row) for row in rows]
