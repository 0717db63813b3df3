"""The sensing network's tables: devices, their live state, readings, alarms, set-aside messages.

Readings are keyed by ``(device_id, seq)``: a reading delivered twice (QoS 1 redelivery,
a device resending after a lost acknowledgement) is stored once. ``device_states`` is the
one hot row per device that ingestion updates; the registry row (``devices``) changes only
on import.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column

from townops.db import Base, UTCDateTime
from townops.timeutil import utcnow

#: Open alarm states: at most one per (device, rule), enforced by ``Alarm.open_key``.
#: ``verified``: a person on site confirmed the alarm is real (现场核实). The column is a
#: free string (no CHECK constraint), so a new state needs no migration.
OPEN_ALARM_STATES = ("raised", "acknowledged", "verified")
ALARM_STATES = ("raised", "acknowledged", "verified", "cleared", "false_alarm")


class Device(Base):
    """A registered device (设备台账): what it is, where it is, who owns it."""

    __tablename__ = "devices"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    type: Mapped[str] = mapped_column(String(40), index=True)
    model: Mapped[str] = mapped_column(String(80), default="")
    # The platform it reports through, e.g. 中脑 (public safety) or 社区小脑 (fire safety).
    network: Mapped[str] = mapped_column(String(40), default="")
    jurisdiction_code: Mapped[str | None] = mapped_column(
        ForeignKey("jurisdictions.code"), default=None
    )
    jurisdiction_path: Mapped[str | None] = mapped_column(String(400), index=True, default=None)
    community_code: Mapped[str | None] = mapped_column(String(40), index=True, default=None)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    address: Mapped[str] = mapped_column(String(300), default="")
    # Storm control groups alarms by building; "" = the device is its own group.
    building: Mapped[str] = mapped_column(String(120), default="")
    owner_unit: Mapped[str] = mapped_column(String(120), default="")
    installed_on: Mapped[date | None] = mapped_column(Date, default=None)
    # In-home devices (e.g. gas alarms of elderly people living alone): the household.
    household_name: Mapped[str] = mapped_column(String(100), default="")
    household_phone: Mapped[str] = mapped_column(String(40), default="")
    household_note: Mapped[str] = mapped_column(String(200), default="")
    heartbeat_seconds: Mapped[int | None] = mapped_column(Integer, default=None)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    @property
    def in_home(self) -> bool:
        return bool(self.household_name or self.household_phone)


class DeviceState(Base):
    """Latest state of one device, updated by ingestion (one row per device)."""

    __tablename__ = "device_states"

    device_id: Mapped[str] = mapped_column(
        ForeignKey("devices.device_id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(BigInteger)
    last_ts: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the last reading arrived (the broker's time, not the device's clock). Not
    # indexed: rewritten for every device on every batch (migration 0006).
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    values: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Per rule: what the rules need between readings, e.g. since when a line is held.
    rule_state: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    offline_since: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    readings_count: Mapped[int] = mapped_column(BigInteger, default=0)


class Reading(Base):
    """One reading, stored once per ``(device_id, seq)``.

    No index on time: a device's history is found by the primary key's ``device_id``
    prefix (at most ``telemetry.raw_days`` of one device's readings), and a second index
    cost a quarter of SQLite's ingestion rate (bench/pipeline.py).
    """

    __tablename__ = "readings"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    values: Mapped[dict[str, Any]] = mapped_column(JSON)


class ReadingRollup(Base):
    """Readings older than the raw retention, summarised per device, quantity and bucket."""

    __tablename__ = "reading_rollups"

    device_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    bucket_start: Mapped[datetime] = mapped_column(UTCDateTime, primary_key=True)
    quantity: Mapped[str] = mapped_column(String(40), primary_key=True)
    bucket_seconds: Mapped[int] = mapped_column(Integer)
    count: Mapped[int] = mapped_column(Integer)
    min: Mapped[float] = mapped_column(Float)
    max: Mapped[float] = mapped_column(Float)
    mean: Mapped[float] = mapped_column(Float)


class Alarm(Base):
    """An alarm: raised by a rule, acknowledged by a person, cleared or marked false."""

    __tablename__ = "alarms"
    __table_args__ = (
        Index("ix_alarms_state_raised_at", "state", "raised_at"),
        Index("ix_alarms_storm_key_raised_at", "storm_key", "raised_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    device_id: Mapped[str] = mapped_column(ForeignKey("devices.device_id"), index=True)
    rule_id: Mapped[str] = mapped_column(String(40), index=True)
    kind: Mapped[str] = mapped_column(String(20))
    severity: Mapped[str] = mapped_column(String(10))
    state: Mapped[str] = mapped_column(String(20))
    # "<device_id>/<rule_id>" while open, NULL once closed: one open alarm per device and rule.
    open_key: Mapped[str | None] = mapped_column(String(110), unique=True, default=None)
    quantity: Mapped[str | None] = mapped_column(String(40), default=None)
    value: Mapped[float | None] = mapped_column(Float, default=None)
    line: Mapped[float | None] = mapped_column(Float, default=None)
    message: Mapped[str] = mapped_column(String(300), default="")
    reading_seq: Mapped[int | None] = mapped_column(BigInteger, default=None)
    # Denormalised from the device so alarm lists and KPIs need no join.
    device_type: Mapped[str] = mapped_column(String(40))
    device_model: Mapped[str] = mapped_column(String(80), default="")
    jurisdiction_code: Mapped[str | None] = mapped_column(String(40), default=None)
    jurisdiction_path: Mapped[str | None] = mapped_column(String(400), index=True, default=None)
    community_code: Mapped[str | None] = mapped_column(String(40), default=None)
    storm_key: Mapped[str] = mapped_column(String(200))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    acknowledged_by: Mapped[str | None] = mapped_column(String(80), default=None)
    cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # cleared_at or the false-alarm time: when the alarm stopped being open.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_by: Mapped[str | None] = mapped_column(String(80), default=None)
    note: Mapped[str] = mapped_column(String(500), default="")
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, default=None)


class QuarantinedMessage(Base):
    """A message that could not be used (malformed, unknown device), kept for inspection."""

    __tablename__ = "quarantined_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    transport: Mapped[str] = mapped_column(String(10))  # mqtt | http
    topic: Mapped[str] = mapped_column(String(300), default="")
    device_id: Mapped[str | None] = mapped_column(String(64), default=None)
    reason: Mapped[str] = mapped_column(String(40), index=True)
    detail: Mapped[str] = mapped_column(Text, default="")
    payload: Mapped[bytes] = mapped_column(LargeBinary)
