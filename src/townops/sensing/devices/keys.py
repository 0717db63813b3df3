"""Ingestion keys: who may post readings for which device over HTTP.

An API key has a purpose (``townops.auth.models.ApiKey.purpose``). An Open311 key files
requests and nothing else; an ``ingest`` key posts readings, and only for the devices it is
bound to (``bound_to = {"devices": [ids]}``), so a key leaked from one gateway cannot raise
or clear another device's alarms. Made with ``townops api-key create NAME --purpose ingest
--device ID…`` (or ``--devices-file``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.auth.models import ApiKey
from townops.auth.service import check_api_key, create_api_key
from townops.errors import Forbidden, InvalidInput
from townops.sensing.devices.facts import DEVICE_ID_PATTERN
from townops.sensing.models import Device
from townops.tabular import decode_csv_bytes

OPEN311 = "open311"
INGEST = "ingest"
PURPOSES = (OPEN311, INGEST)

#: Why a key was refused (``details.reason`` of the 403).
NO_KEY = "no_key"
INVALID_KEY = "invalid_key"
WRONG_PURPOSE = "wrong_purpose"
NOT_BOUND = "not_bound"


def bound_devices(key: ApiKey) -> frozenset[str]:
    """The devices an ingestion key may post readings for."""
    devices = (key.bound_to or {}).get("devices") or []
    return frozenset(d for d in devices if isinstance(d, str))


def create_ingest_key(
    session: Session, *, name: str, devices: Iterable[str], actor: str = "cli"
) -> str:
    """A new ingestion key bound to ``devices`` (at least one; ids as in the registry)."""
    wanted = sorted({d.strip() for d in devices if d.strip()})
    if not wanted:
        raise InvalidInput("an ingestion key needs at least one device", field="devices")
    bad = [d for d in wanted if DEVICE_ID_PATTERN.match(d) is None]
    if bad:
        raise InvalidInput(f"not a device id: {bad[0][:80]!r}", field="devices")
    bound_to: dict[str, Any] = {"devices": wanted}
    return create_api_key(session, name=name, actor=actor, purpose=INGEST, bound_to=bound_to)


def unregistered(session: Session, devices: Iterable[str]) -> list[str]:
    """The ids of ``devices`` not in the registry (a key may name them ahead of import)."""
    wanted = sorted({d.strip() for d in devices if d.strip()})
    known: set[str] = set()
    for start in range(0, len(wanted), 5_000):
        chunk = wanted[start : start + 5_000]
        known.update(session.scalars(select(Device.device_id).where(Device.device_id.in_(chunk))))
    return [d for d in wanted if d not in known]


def require_ingest_key(session: Session, *, key: str | None, device_id: str) -> ApiKey:
    """The ingestion key bound to ``device_id``, or :class:`Forbidden` naming why not.

    Checked before the registry is read, so a key learns nothing about devices it does
    not serve.
    """
    if not key:
        raise Forbidden("an ingestion key is required in the X-API-Key header", reason=NO_KEY)
    found = check_api_key(session, key=key, purpose=INGEST)
    if found is None:
        if check_api_key(session, key=key, purpose=OPEN311) is not None:
            raise Forbidden(
                "this is an Open311 key: readings need an ingestion key bound to the device "
                "(townops api-key create NAME --purpose ingest --device ID)",
                reason=WRONG_PURPOSE,
            )
        raise Forbidden("the X-API-Key is not a valid ingestion key", reason=INVALID_KEY)
    if device_id not in bound_devices(found):
        raise Forbidden(
            f"this ingestion key is not bound to device '{device_id[:64]}'",
            reason=NOT_BOUND,
            device_id=device_id[:64],
        )
    return found


_ID_HEADERS = ("device_id", "设备编号")


def read_device_ids(path: Path) -> list[str]:
    """Device ids from a file: one per line, or a CSV whose ``device_id`` (设备编号) column
    holds them (e.g. the registry's import file); blank lines and ``#`` comments skipped."""
    text = decode_csv_bytes(path.read_bytes())
    lines = [
        line for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")
    ]
    if not lines:
        return []
    rows = list(csv.reader(io.StringIO("\n".join(lines))))
    header = [cell.strip().lower() for cell in rows[0]]
    column = next((header.index(h) for h in _ID_HEADERS if h in header), None)
    if column is None:
        return [row[0].strip() for row in rows if row and row[0].strip()]
    return [row[column].strip() for row in rows[1:] if len(row) > column and row[column].strip()]
