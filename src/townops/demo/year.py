"""Which twelve months the demo simulates: the year up to now (a living town), or a
calendar year replayed (``--year 2022``, the seeds' year, for the health-check and the work
report's figures).

The living demo's last day is today and it stops at ``now``: cases received in the last
hours are still waiting for a dispatcher, some are overdue by hours or days, the rest of the
year is closed. A replayed year runs to its last midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from townops.periods import Period, range_period, year_period
from townops.timeutil import SHANGHAI

__all__ = ["DemoYear", "local_midnight"]


def local_midnight(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=SHANGHAI).astimezone(UTC)


@dataclass(frozen=True)
class DemoYear:
    """Local days ``first`` … ``last`` (both included), simulated until ``end`` (UTC)."""

    first: date
    last: date
    end: datetime

    @classmethod
    def calendar_year(cls, year: int) -> DemoYear:
        last = date(year, 12, 31)
        return cls(date(year, 1, 1), last, local_midnight(last + timedelta(days=1)))

    @classmethod
    def up_to(cls, now: datetime) -> DemoYear:
        """The 365 local days that end today, simulated until ``now``."""
        today = now.astimezone(SHANGHAI).date()
        return cls(today - timedelta(days=364), today, now.astimezone(UTC))

    @property
    def is_calendar_year(self) -> bool:
        return (self.first.month, self.first.day, self.last.month, self.last.day) == (1, 1, 12, 31)

    @property
    def days(self) -> list[date]:
        return [self.first + timedelta(days=i) for i in range((self.last - self.first).days + 1)]

    @property
    def start(self) -> datetime:
        return local_midnight(self.first)

    @property
    def period(self) -> Period:
        if self.is_calendar_year and self.first.year == self.last.year:
            return year_period(self.first.year)
        return range_period(self.first, self.last)

    @property
    def label(self) -> str:
        """ "2022", or "2025-12-08 – 2026-12-07"."""
        if self.is_calendar_year:
            return str(self.first.year)
        return f"{self.first:%Y-%m-%d} – {self.last:%Y-%m-%d}"

    def day_end(self, day: date) -> datetime:
        """When ``day``'s steps stop: its last midnight, or ``end`` on the last day."""
        return min(local_midnight(day + timedelta(days=1)), self.end)
