"""Deadline maths for 12345 hotline cases.

Pure functions and value objects only: no database, no HTTP, no clock reads.

Conventions
-----------
* Every ``datetime`` argument must be timezone-aware (any zone); naive values
  raise ``ValueError``. Every ``datetime`` returned is an aware UTC datetime.
* Calendar days ("the day of receipt", "a working day") are judged in the
  town's time zone, ``Asia/Shanghai`` by default.
* A deadline of N working days ends at 23:59:59 local time on the Nth working
  day *after* the local day of receipt. The day of receipt never counts, not
  even when it is a working day and the case arrived at 00:01.
* A deadline of N hours is N elapsed clock hours after receipt, regardless of
  holidays.
* Working days follow the State Council arrangement as published in
  ``chinese-calendar`` (official holidays *and* adjusted working weekends,
  e.g. Saturday 2023-01-28 was a working day). For years the package has no
  data for, Monday-Friday is used and a warning is logged once per year per
  calendar; the town should then list its holidays in ``town.yaml``
  (``calendar``), which arrive here as ``extra_holidays``/``extra_workdays``.
"""

from __future__ import annotations

import logging
import threading
from bisect import bisect_left
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar
from chinese_calendar import constants as _cc_constants

__all__ = [
    "END_OF_DAY",
    "Deadline",
    "WorkingCalendar",
    "due_at",
    "extend_due_at",
    "is_overdue",
    "supported_years",
    "time_left",
    "working_hours_between",
]

logger = logging.getLogger(__name__)

#: Local wall-clock time at which a working-day deadline expires.
END_OF_DAY = time(23, 59, 59)

_ONE_MICROSECOND = timedelta(microseconds=1)
_MICROSECONDS_PER_HOUR = 3_600_000_000


def supported_years() -> range:
    """Years for which ``chinese-calendar`` has the official holiday arrangement."""
    years = [d.year for d in _cc_constants.holidays]
    return range(min(years), max(years) + 1)


_SUPPORTED_YEARS = supported_years()


# --------------------------------------------------------------------------- #
# Deadline value object
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class Deadline:
    """A time limit: N working days, N clock hours or N minutes (exactly one).

    Minutes are for alarms a device raised (物联告警): someone must be on the spot at once.
    """

    working_days: int | None = None
    hours: int | None = None
    minutes: int | None = None

    def __post_init__(self) -> None:
        given = [
            (name, value)
            for name, value in (
                ("working_days", self.working_days),
                ("hours", self.hours),
                ("minutes", self.minutes),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValueError("a Deadline needs exactly one of working_days, hours or minutes")
        name, value = given[0]
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"Deadline.{name} must be an int, got {value!r}")
        if value <= 0:
            raise ValueError(f"Deadline.{name} must be positive, got {value}")

    def describe(self) -> str:
        """Human-readable form, e.g. ``"5 working days"`` or ``"2 hours"``."""
        if self.working_days is not None:
            n = self.working_days
            return f"{n} working day" if n == 1 else f"{n} working days"
        if self.minutes is not None:
            n = self.minutes
            return f"{n} minute" if n == 1 else f"{n} minutes"
        n = self.hours if self.hours is not None else 0
        return f"{n} hour" if n == 1 else f"{n} hours"


# --------------------------------------------------------------------------- #
# Working calendar
# --------------------------------------------------------------------------- #


class _YearTable:
    """Pre-computed working-day data for one calendar year (local days)."""

    __slots__ = ("count_prefix", "first_ordinal", "flags", "micros_prefix", "n_days")

    def __init__(self, first_ordinal: int, flags: bytes) -> None:
        self.first_ordinal = first_ordinal
        self.flags = flags
        self.n_days = len(flags)
        # count_prefix[i] = number of working days among the first i days of the year.
        prefix = [0] * (self.n_days + 1)
        running = 0
        for i, flag in enumerate(flags):
            running += flag
            prefix[i + 1] = running
        self.count_prefix = prefix
        # micros_prefix[i] = working microseconds among the first i days (built lazily).
        self.micros_prefix: list[int] | None = None


class WorkingCalendar:
    """Which local calendar days are working days for a town.

    Lookups are cached per calendar year, so repeated calls are cheap.
    Create one instance per town and reuse it.
    """

    def __init__(
        self,
        *,
        tz: str = "Asia/Shanghai",
        extra_holidays: Iterable[date] = (),
        extra_workdays: Iterable[date] = (),
    ) -> None:
        self._tz_name = tz
        self._tz = ZoneInfo(tz)
        self._extra_holidays = frozenset(_check_date(d, "extra_holidays") for d in extra_holidays)
        self._extra_workdays = frozenset(_check_date(d, "extra_workdays") for d in extra_workdays)
        both = self._extra_holidays & self._extra_workdays
        if both:
            listed = ", ".join(d.isoformat() for d in sorted(both))
            raise ValueError(f"dates listed both as extra holidays and extra workdays: {listed}")
        self._day_cache: dict[date, bool] = {}
        self._years: dict[int, _YearTable] = {}
        self._fallback_years_warned: set[int] = set()
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return (
            f"WorkingCalendar(tz={self._tz_name!r}, "
            f"extra_holidays={len(self._extra_holidays)}, "
            f"extra_workdays={len(self._extra_workdays)})"
        )

    # -- properties -------------------------------------------------------- #

    @property
    def tz(self) -> ZoneInfo:
        """The town's time zone; calendar days are judged in it."""
        return self._tz

    @property
    def tz_name(self) -> str:
        return self._tz_name

    @property
    def supported_years(self) -> range:
        """Years with official holiday data; other years fall back to Monday-Friday."""
        return _SUPPORTED_YEARS

    @property
    def extra_holidays(self) -> frozenset[date]:
        return self._extra_holidays

    @property
    def extra_workdays(self) -> frozenset[date]:
        return self._extra_workdays

    # -- day queries ------------------------------------------------------- #

    def local_date(self, moment: datetime) -> date:
        """The town-local calendar day of an aware ``moment``."""
        return _require_aware(moment, "moment").astimezone(self._tz).date()

    def is_working_day(self, d: date) -> bool:
        """Whether the local calendar day ``d`` is a working day."""
        try:
            return self._day_cache[d]
        except KeyError:
            pass
        _check_date(d, "d")
        self._year(d.year)
        return self._day_cache[d]

    def next_working_day(self, d: date) -> date:
        """The first working day strictly after ``d``."""
        return self.working_day_after(d, 1)

    def working_day_after(self, d: date, n: int) -> date:
        """The ``n``-th working day strictly after ``d`` (``n >= 1``)."""
        if isinstance(n, bool) or not isinstance(n, int):
            raise TypeError(f"n must be an int, got {n!r}")
        if n < 1:
            raise ValueError(f"n must be at least 1, got {n}")
        _check_date(d, "d")
        year = d.year
        table = self._year(year)
        already = table.count_prefix[d.toordinal() - table.first_ordinal + 1]
        remaining = n
        target = already + remaining
        while True:
            prefix = table.count_prefix
            if target <= prefix[-1]:
                # First index whose prefix reaches target; the day before it is the answer.
                k = bisect_left(prefix, target)
                return date.fromordinal(table.first_ordinal + k - 1)
            remaining = target - prefix[-1]
            year += 1
            if year > date.max.year:
                raise OverflowError("working day lies beyond the supported date range")
            table = self._year(year)
            target = remaining

    def working_days_in(self, first: date, last: date) -> int:
        """Number of working days in the inclusive local-day range [first, last]."""
        if last < first:
            return 0
        total = 0
        for table, lo, hi in self._spans(first, last):
            total += table.count_prefix[hi] - table.count_prefix[lo]
        return total

    # -- internals --------------------------------------------------------- #

    def _spans(self, first: date, last: date) -> Iterable[tuple[_YearTable, int, int]]:
        """Per-year half-open index ranges covering the inclusive range [first, last]."""
        first_ord = first.toordinal()
        last_ord = last.toordinal()
        for year in range(first.year, last.year + 1):
            table = self._year(year)
            lo = max(first_ord - table.first_ordinal, 0)
            hi = min(last_ord - table.first_ordinal + 1, table.n_days)
            yield table, lo, hi

    def _year(self, year: int) -> _YearTable:
        table = self._years.get(year)
        if table is not None:
            return table
        with self._lock:
            table = self._years.get(year)
            if table is None:
                table = self._build_year(year)
                self._years[year] = table
        return table

    def _build_year(self, year: int) -> _YearTable:
        first = date(year, 1, 1)
        first_ordinal = first.toordinal()
        n_days = date(year, 12, 31).toordinal() - first_ordinal + 1
        days = [date.fromordinal(first_ordinal + i) for i in range(n_days)]
        official: list[bool]
        try:
            official = [bool(chinese_calendar.is_workday(d)) for d in days]
        except NotImplementedError:
            official = [d.weekday() < 5 for d in days]
            if year not in self._fallback_years_warned:
                self._fallback_years_warned.add(year)
                logger.warning(
                    "chinese-calendar has no official holiday data for %d (it covers %d-%d); "
                    "treating Monday-Friday as working days in %d. The town should add its "
                    "%d holidays and adjusted working days to town.yaml `calendar`.",
                    year,
                    _SUPPORTED_YEARS.start,
                    _SUPPORTED_YEARS.stop - 1,
                    year,
                    year,
                )
        flags = bytearray(n_days)
        for i, d in enumerate(days):
            if d in self._extra_workdays:
                working = True
            elif d in self._extra_holidays:
                working = False
            else:
                working = official[i]
            flags[i] = 1 if working else 0
            self._day_cache[d] = working
        return _YearTable(first_ordinal, bytes(flags))

    def _day_start(self, d: date) -> datetime:
        """Local midnight starting day ``d``, as UTC."""
        return datetime.combine(d, time(0), tzinfo=self._tz).astimezone(UTC)

    def _micros_prefix(self, table: _YearTable) -> list[int]:
        prefix = table.micros_prefix
        if prefix is not None:
            return prefix
        first = date.fromordinal(table.first_ordinal)
        starts = [self._day_start(first + timedelta(days=i)) for i in range(table.n_days + 1)]
        prefix = [0] * (table.n_days + 1)
        running = 0
        for i, flag in enumerate(table.flags):
            if flag:
                running += (starts[i + 1] - starts[i]) // _ONE_MICROSECOND
            prefix[i + 1] = running
        table.micros_prefix = prefix
        return prefix

    def _working_micros_in_days(self, first: date, last: date) -> int:
        """Working microseconds in the whole local days [first, last] (inclusive)."""
        if last < first:
            return 0
        total = 0
        for table, lo, hi in self._spans(first, last):
            prefix = self._micros_prefix(table)
            total += prefix[hi] - prefix[lo]
        return total


def _check_date(value: object, name: str) -> date:
    if isinstance(value, datetime) or not isinstance(value, date):
        raise TypeError(f"{name} must contain datetime.date values (not datetimes), got {value!r}")
    return value


def _require_aware(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime, got {value!r}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware, got naive {value.isoformat()}")
    return value


def _end_of_local_day(d: date, calendar: WorkingCalendar) -> datetime:
    return datetime.combine(d, END_OF_DAY, tzinfo=calendar.tz).astimezone(UTC)


# --------------------------------------------------------------------------- #
# Deadline maths
# --------------------------------------------------------------------------- #


def due_at(received_at: datetime, deadline: Deadline, calendar: WorkingCalendar) -> datetime:
    """When a case received at ``received_at`` with ``deadline`` falls due (UTC).

    * N working days: 23:59:59 local on the Nth working day after the local day
      of receipt (the day of receipt never counts).
    * N hours (or minutes): ``received_at`` + N elapsed hours (minutes).
    """
    received_utc = _require_aware(received_at, "received_at").astimezone(UTC)
    if deadline.hours is not None:
        return received_utc + timedelta(hours=deadline.hours)
    if deadline.minutes is not None:
        return received_utc + timedelta(minutes=deadline.minutes)
    if deadline.working_days is None:  # pragma: no cover - Deadline validates this
        raise ValueError("deadline has neither working_days nor hours")
    receipt_day = received_utc.astimezone(calendar.tz).date()
    return _end_of_local_day(
        calendar.working_day_after(receipt_day, deadline.working_days), calendar
    )


def extend_due_at(
    current_due_at: datetime, working_days: int, calendar: WorkingCalendar
) -> datetime:
    """Apply an approved extension of ``working_days`` working days (UTC result).

    Counts from the local day of the current deadline: the result is 23:59:59
    local on the Nth working day after that day.
    """
    current_local_day = calendar.local_date(_require_aware(current_due_at, "current_due_at"))
    return _end_of_local_day(calendar.working_day_after(current_local_day, working_days), calendar)


def working_hours_between(start: datetime, end: datetime, calendar: WorkingCalendar) -> float:
    """Hours of the interval [start, end] that fall on local working days.

    Elapsed (not wall-clock) time is measured, so a DST day in a zone that has
    DST contributes 23 or 25 hours. Returns 0.0 when ``end <= start``. Cost is
    linear in the number of years spanned once a year's table is cached.
    """
    start_utc = _require_aware(start, "start").astimezone(UTC)
    end_utc = _require_aware(end, "end").astimezone(UTC)
    if end_utc <= start_utc:
        return 0.0
    first_day = start_utc.astimezone(calendar.tz).date()
    last_day = end_utc.astimezone(calendar.tz).date()
    if first_day == last_day:
        if not calendar.is_working_day(first_day):
            return 0.0
        return ((end_utc - start_utc) // _ONE_MICROSECOND) / _MICROSECONDS_PER_HOUR

    micros = 0
    if calendar.is_working_day(first_day):
        next_start = calendar._day_start(first_day + timedelta(days=1))
        micros += (next_start - start_utc) // _ONE_MICROSECOND
    if calendar.is_working_day(last_day):
        micros += (end_utc - calendar._day_start(last_day)) // _ONE_MICROSECOND
    micros += calendar._working_micros_in_days(
        first_day + timedelta(days=1), last_day - timedelta(days=1)
    )
    return micros / _MICROSECONDS_PER_HOUR


def time_left(due_at: datetime, now: datetime) -> timedelta:
    """Time remaining until ``due_at``; negative once overdue."""
    due_utc = _require_aware(due_at, "due_at").astimezone(UTC)
    now_utc = _require_aware(now, "now").astimezone(UTC)
    return due_utc - now_utc


def is_overdue(due_at: datetime, now: datetime) -> bool:
    """Whether ``now`` is strictly after ``due_at`` (a case due now is not yet overdue)."""
    due_utc = _require_aware(due_at, "due_at").astimezone(UTC)
    now_utc = _require_aware(now, "now").astimezone(UTC)
    return now_utc > due_utc
