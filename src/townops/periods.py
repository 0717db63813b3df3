"""Report periods: whole local days of the town, as half-open UTC intervals.

``year`` (2022), ``month`` (2022-06) or ``from``..``to`` (both days included). Bad input
raises :class:`townops.errors.InvalidInput` naming the field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from townops.errors import InvalidInput

_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
# Bounded so that "the day after the last day" always exists.
_YEARS = range(1900, 3000)


@dataclass(frozen=True)
class Period:
    """Whole local days ``first_day``..``last_day`` (both included)."""

    first_day: date
    last_day: date
    label: str

    def utc_bounds(self, tz: ZoneInfo) -> tuple[datetime, datetime]:
        """The half-open UTC interval ``[start, end)`` covering the local days."""
        start = datetime.combine(self.first_day, time.min, tzinfo=tz)
        end = datetime.combine(self.last_day + timedelta(days=1), time.min, tzinfo=tz)
        return start.astimezone(UTC), end.astimezone(UTC)


def year_period(year: int) -> Period:
    _check_year(year, "year")
    return Period(date(year, 1, 1), date(year, 12, 31), f"{year:04d}")


def month_period(year: int, month: int) -> Period:
    _check_year(year, "month")
    if not 1 <= month <= 12:
        raise InvalidInput(f"month {month} is not 01..12", field="month")
    first = date(year, month, 1)
    last = (first + timedelta(days=31)).replace(day=1) - timedelta(days=1)
    return Period(first, last, f"{year:04d}-{month:02d}")


def quarter_period(year: int, quarter: int) -> Period:
    """Quarter 1..4 of ``year``, labelled "2022-Q2"."""
    _check_year(year, "period")
    if not 1 <= quarter <= 4:
        raise InvalidInput(f"quarter {quarter} is not 1..4", field="period")
    first = date(year, 3 * quarter - 2, 1)
    last = month_period(year, 3 * quarter).last_day
    return Period(first, last, f"{year:04d}-Q{quarter}")


def range_period(first_day: date, last_day: date) -> Period:
    _check_year(first_day.year, "from")
    _check_year(last_day.year, "to")
    if last_day < first_day:
        raise InvalidInput(f"'to' ({last_day}) is before 'from' ({first_day})", field="to")
    return Period(first_day, last_day, f"{first_day.isoformat()}_{last_day.isoformat()}")


def parse_period(
    *,
    year: int | str | None = None,
    month: str | None = None,
    date_from: date | str | None = None,
    date_to: date | str | None = None,
) -> Period:
    """One of ``year`` (2022), ``month`` ("2022-06") or ``date_from`` + ``date_to``."""
    given = [
        name
        for name, value in (("year", year), ("month", month), ("from", date_from), ("to", date_to))
        if value not in (None, "")
    ]
    forms = {"year"} if year not in (None, "") else set()
    forms |= {"month"} if month not in (None, "") else set()
    forms |= {"from/to"} if {"from", "to"} & set(given) else set()
    if len(forms) != 1:
        raise InvalidInput(
            "give exactly one period: year (2022), month (2022-06), or from and to "
            "(2022-01-01, 2022-03-31)",
            given=given,
        )
    if "year" in forms:
        return year_period(_parse_int(year, "year"))
    if "month" in forms:
        match = _MONTH.fullmatch(str(month).strip())
        if match is None:
            raise InvalidInput(f"month '{month}' is not YYYY-MM", field="month")
        return month_period(int(match.group(1)), int(match.group(2)))
    if date_from in (None, "") or date_to in (None, ""):
        raise InvalidInput("'from' and 'to' go together", field="to" if date_from else "from")
    return range_period(_parse_date(date_from, "from"), _parse_date(date_to, "to"))


def _check_year(year: int, field: str) -> None:
    if year not in _YEARS:
        raise InvalidInput(f"year {year} is out of range", field=field)


def _parse_int(value: int | str | None, field: str) -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{field} '{value}' is not a number", field=field) from None


def _parse_date(value: date | str | None, field: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise InvalidInput(f"{field} '{value}' is not a date YYYY-MM-DD", field=field) from None
