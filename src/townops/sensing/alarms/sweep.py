"""The heartbeat-lost sweep: devices silent too long go offline and raise ``offline`` alarms.

A device is offline once nothing has been heard from it for its heartbeat (the device's
own ``heartbeat_seconds``, else its type's, else the town default) times
``online.missed_heartbeats``. A device registered but never heard from counts from its
registration. Going offline sets ``DeviceState.offline_since`` and raises each ``offline``
rule of the device's type (and its case, per the routes); the next reading clears both
(:mod:`townops.sensing.ingest.pipeline`).

The sweep is set-based: one statement per (device type, heartbeat override) group, not
one per device, so it stays cheap with thousands of devices. A silence raises its alarm
once: a device already marked offline is not raised again until it has been heard from.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import cast

from sqlalchemy import ColumnElement, Table, and_, exists, select, update
from sqlalchemy.orm import Session

from townops.sensing.alarms.lifecycle import AlarmDraft, offline_message, raise_alarms
from townops.sensing.alarms.rules import offline_after_seconds
from townops.sensing.config import SensingConfig
from townops.sensing.devices.facts import device_infos
from townops.sensing.models import Alarm, Device, DeviceState
from townops.timeutil import utcnow
from townops.towns.profile import get_profile

STATES = cast(Table, DeviceState.__table__)


@dataclass
class SweepReport:
    devices_offline: list[str] = field(default_factory=list)
    alarms_raised: list[int] = field(default_factory=list)
    cases_opened: list[int] = field(default_factory=list)


def sweep_offline(session: Session, *, now: datetime | None = None) -> SweepReport:
    """Mark newly silent devices offline and raise their offline alarms. No commit."""
    now = now or utcnow()
    profile = get_profile(session)
    config = profile.config(SensingConfig)
    report = SweepReport()
    groups = session.execute(
        select(Device.type, Device.heartbeat_seconds).where(Device.active).distinct()
    ).all()
    for device_type, heartbeat in sorted(groups, key=lambda g: (g[0], g[1] or 0)):
        silent_for = offline_after_seconds(
            heartbeat or config.heartbeat_seconds(device_type), config.online.missed_heartbeats
        )
        cutoff = now - timedelta(seconds=silent_for)
        group = _group(device_type, heartbeat)
        report.devices_offline += _mark_heard_devices(session, group, cutoff, now)
        if _offline_rules(config, device_type):
            report.devices_offline += _never_heard(session, group, cutoff)
    report.devices_offline.sort()
    drafts = _drafts(session, report.devices_offline, config)
    raised = raise_alarms(session, drafts, now=now, profile=profile)
    report.alarms_raised, report.cases_opened = raised.alarms, raised.cases_opened
    return report


def _group(device_type: str, heartbeat: int | None) -> ColumnElement[bool]:
    same_heartbeat = (
        Device.heartbeat_seconds.is_(None)
        if heartbeat is None
        else Device.heartbeat_seconds == heartbeat
    )
    return and_(Device.active, Device.type == device_type, same_heartbeat)


def _mark_heard_devices(
    session: Session, group: ColumnElement[bool], cutoff: datetime, now: datetime
) -> list[str]:
    """Devices heard from before, silent since ``cutoff`` and not yet marked offline."""
    stmt = (
        update(STATES)
        .where(
            STATES.c.offline_since.is_(None),
            STATES.c.last_seen < cutoff,
            STATES.c.device_id.in_(select(Device.device_id).where(group)),
        )
        .values(offline_since=now)
        .returning(STATES.c.device_id)
    )
    return list(session.scalars(stmt))


def _never_heard(session: Session, group: ColumnElement[bool], cutoff: datetime) -> list[str]:
    """Devices registered before ``cutoff`` and never heard from, not yet raised offline.

    They have no state row to mark, so "already raised" is an offline alarm raised since
    the device was registered.
    """
    has_state = exists().where(DeviceState.device_id == Device.device_id)
    raised = exists().where(
        Alarm.device_id == Device.device_id,
        Alarm.kind == "offline",
        Alarm.raised_at >= Device.created_at,
    )
    stmt = select(Device.device_id).where(group, Device.created_at < cutoff, ~has_state, ~raised)
    return list(session.scalars(stmt))


def _offline_rules(config: SensingConfig, device_type: str) -> list[str]:
    return [r.id for r in config.rules_for(device_type) if r.kind == "offline"]


def _drafts(session: Session, device_ids: list[str], config: SensingConfig) -> list[AlarmDraft]:
    if not device_ids:
        return []
    devices = device_infos(session, device_ids)
    drafts = []
    for device_id in device_ids:
        device = devices.get(device_id)
        if device is None:
            continue
        message = offline_message(config, device.type, device.heartbeat_seconds)
        drafts += [
            AlarmDraft(device=device, rule=rule, message=message)
            for rule in config.rules_for(device.type)
            if rule.kind == "offline"
        ]
    return drafts
