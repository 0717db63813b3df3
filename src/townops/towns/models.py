"""The loaded town's settings, kept in the database so every process reads the same."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, String
from sqlalchemy.orm import Mapped, mapped_column

from townops.db import Base, UTCDateTime
from townops.timeutil import utcnow


class InstanceSetting(Base):
    """Values one installation generates once and every process must share (token key)."""

    __tablename__ = "instance_settings"

    key: Mapped[str] = mapped_column(String(60), primary_key=True)
    value: Mapped[str] = mapped_column(String(400))


class TownRecord(Base):
    __tablename__ = "town"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    profile: Mapped[dict[str, Any]] = mapped_column(JSON)
    synced_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
