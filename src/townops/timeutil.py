"""Time is an input: everything is stored in UTC and converted only for display and calendars."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(value: datetime, *, naive_tz: ZoneInfo = SHANGHAI) -> datetime:
    """Return ``value`` as aware UTC; a naive value is read as local (town) time."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=naive_tz)
    return value.astimezone(UTC)
