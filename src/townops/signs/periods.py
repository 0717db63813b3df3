"""Sign periods: a year ``2022``, a month ``2022-06`` or an ISO week ``2022-W23``.

Built on :mod:`townops.periods` (whole local days as half-open UTC intervals), so a
sign and the KPI report of the same period count the same cases. Bad input raises
:class:`townops.errors.InvalidInput` with ``field="period"``.
"""

from __future__ import annotations

import re
from datetime import date, timedelta

from townops.errors import InvalidInput
from townops.periods import Period, month_period, range_period, year_period

__all__ = ["Period", "months_of", "parse_sign_period", "previous_period"]

_YEAR = re.compile(r"(\d{4})")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_WEEK = re.compile(r"(\d{4})-W(\d{1,2})", re.IGNORECASE)
_EXPECTED = "give a year (2022), a month (2022-06) or an ISO week (2022-W23)"


def parse_sign_period(text: str | None) -> Period:
    """The period a label names; its ``label`` is the normalised form (``2022-06``)."""
    value = (text or "").strip()
    try:
        if match := _YEAR.fullmatch(value):
            return year_period(int(match.group(1)))
        if match := _MONTH.fullmatch(value):
            return month_period(int(match.group(1)), int(match.group(2)))
        if match := _WEEK.fullmatch(value):
            return week_period(int(match.group(1)), int(match.group(2)))
    except InvalidInput as exc:
        raise InvalidInput(f"period '{value}': {exc.message}", field="period") from exc
    raise InvalidInput(f"period '{value}' is not understood: {_EXPECTED}", field="period")


def week_period(year: int, week: int) -> Period:
    """ISO week ``week`` of ``year``: Monday to Sunday."""
    try:
        monday = date.fromisocalendar(year, week, 1)
    except ValueError:
        raise InvalidInput(f"{year} has no ISO week {week}", field="period") from None
    period = range_period(monday, monday + timedelta(days=6))
    return Period(period.first_day, period.last_day, f"{year:04d}-W{week:02d}")


def kind_of(period: Period) -> str:
    """``year``, ``month`` or ``week``, from the label's form."""
    if "-W" in period.label:
        return "week"
    return "month" if "-" in period.label else "year"


def months_of(period: Period) -> list[str]:
    """The month labels of a year period (empty for months and weeks)."""
    if kind_of(period) != "year":
        return []
    return [f"{period.first_day.year:04d}-{month:02d}" for month in range(1, 13)]


def previous_period(period: Period) -> Period:
    """The same kind of period just before (the year, month or week before)."""
    kind = kind_of(period)
    if kind == "year":
        return year_period(period.first_day.year - 1)
    if kind == "month":
        before = period.first_day - timedelta(days=1)
        return month_period(before.year, before.month)
    iso = (period.first_day - timedelta(days=7)).isocalendar()
    return week_period(iso.year, iso.week)
