"""Weekly request counts per category, community or both, over complete ISO weeks.

Weeks run Monday to Sunday in the source's time zone (ISO 8601). Only complete weeks are
counted: a source that starts on a Wednesday or stops on a Saturday would otherwise show
a false dip at its edges. A week inside the covered days with no request is a real zero.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum

import chinese_calendar
import numpy as np
import numpy.typing as npt

from townops.errors import InvalidInput
from townops.forecast.sources import RequestLog, SourceFormat, WorkdayCalendar

FloatArray = npt.NDArray[np.float64]


class Grouping(StrEnum):
    total = "total"
    category = "category"
    community = "community"
    category_community = "category_community"


GROUPING_NAMES: dict[Grouping, tuple[str, str]] = {
    Grouping.total: ("全部", "total"),
    Grouping.category: ("类别", "category"),
    Grouping.community: ("社区", "community"),
    Grouping.category_community: ("类别×社区", "category × community"),
}
# Series averaging fewer requests a week (over the last year) are left out: a forecast of "0 or 1"
# helps nobody, and each pair of category × community splits the volume thinner.
DEFAULT_MIN_WEEKLY: dict[Grouping, float] = {
    Grouping.total: 0.0,
    Grouping.category: 1.0,
    Grouping.community: 1.0,
    Grouping.category_community: 3.0,
}
# The floor is judged on the last year: a growing source's early years would hide
# series that matter now.
VOLUME_WEEKS = 52
# Leading/trailing weeks below this share of the median week are a collection window
# opening or closing (a sample pulled between two dates), not demand: they are cut.
RAGGED_EDGE_SHARE = 0.2
# A source with more than this share of its requests in one week was not sampled over time.
MAX_WEEK_SHARE = 0.5
CALENDAR_FEATURES = ("workdays", "spring_festival_days")
_NO_CATEGORY = "未分类 (no category)"
_NO_COMMUNITY = "未定位 (no community)"


@dataclass(frozen=True, order=True)
class SeriesKey:
    category: str | None = None
    community: str | None = None


@dataclass
class WeeklySeries:
    key: SeriesKey
    name: str
    counts: FloatArray  # one count per week of the set

    @property
    def mean(self) -> float:
        return float(self.counts.mean()) if len(self.counts) else 0.0

    @property
    def recent_mean(self) -> float:
        """The mean of the last year: what the volume floor is judged on."""
        recent = self.counts[-VOLUME_WEEKS:]
        return float(recent.mean()) if len(recent) else 0.0


@dataclass
class SeriesSet:
    """All series of one source and grouping, on the same weeks."""

    source: str
    format: SourceFormat
    by: Grouping
    calendar: WorkdayCalendar
    country: str
    weeks: list[date]  # Mondays
    features: FloatArray  # one row per week: CALENDAR_FEATURES
    series: list[WeeklySeries]
    left_out: int = 0  # series under the volume floor
    min_weekly: float = 0.0
    notes: list[str] = field(default_factory=list)

    def future_weeks(self, horizon: int) -> list[date]:
        last = self.weeks[-1]
        return [last + timedelta(weeks=i) for i in range(1, horizon + 1)]

    def future_features(self, horizon: int) -> FloatArray:
        return calendar_features(self.calendar, self.country, self.future_weeks(horizon))


def week_start(day: date) -> date:
    return day - timedelta(days=day.weekday())


def iso_label(monday: date) -> str:
    year, week, _ = monday.isocalendar()
    return f"{year}-W{week:02d}"


def calendar_features(calendar: WorkdayCalendar, country: str, mondays: list[date]) -> FloatArray:
    """Per week: working days, and days of the Spring Festival holiday (China only).

    Both are known in advance. The Spring Festival empties Chinese cities well beyond
    what its count of days off says, so it gets its own column rather than passing for
    an ordinary holiday week (and so it does not bend the working-day effect).
    """
    rows = [
        (
            calendar.working_days_in(m, m + timedelta(days=6)),
            _spring_festival_days(m) if country == "CN" else 0,
        )
        for m in mondays
    ]
    return np.array(rows, dtype=np.float64).reshape(len(mondays), len(CALENDAR_FEATURES))


def _spring_festival_days(monday: date) -> int:
    days = 0
    for offset in range(7):
        try:
            off, name = chinese_calendar.get_holiday_detail(monday + timedelta(days=offset))
        except NotImplementedError:  # a year the package has no official calendar for
            return 0
        days += bool(off and name == chinese_calendar.Holiday.spring_festival.value)
    return days


def build_series(log: RequestLog, by: Grouping, *, min_weekly: float | None = None) -> SeriesSet:
    """Weekly counts per group of ``by``; groups under ``min_weekly`` a week are left out."""
    floor = DEFAULT_MIN_WEEKLY[by] if min_weekly is None else min_weekly
    _check_spread(log)
    first, last = _complete_weeks(log)
    n_weeks = (last - first).days // 7 + 1
    per_group: dict[SeriesKey, FloatArray] = {}
    for request in log.requests:
        index = (week_start(request.day) - first).days // 7
        if 0 <= index < n_weeks:
            key = _key(by, request.category, request.community)
            counts = per_group.get(key)
            if counts is None:
                counts = per_group[key] = np.zeros(n_weeks, dtype=np.float64)
            counts[index] += 1
    weeks = [first + timedelta(weeks=i) for i in range(n_weeks)]
    total = sum(per_group.values(), np.zeros(n_weeks, dtype=np.float64))
    notes = list(log.notes)
    keep = _trim_ragged_edges(total, weeks, notes)
    weeks = weeks[keep]
    series = [WeeklySeries(key, _name(log, key), counts[keep]) for key, counts in per_group.items()]
    kept = [s for s in series if s.recent_mean >= floor and s.counts.sum() > 0]
    kept.sort(key=lambda s: (-s.counts.sum(), s.key.category or "", s.key.community or ""))
    return SeriesSet(
        source=log.name,
        format=log.format,
        by=by,
        calendar=log.calendar,
        country=log.country,
        weeks=weeks,
        features=calendar_features(log.calendar, log.country, weeks),
        series=kept,
        left_out=len(series) - len(kept),
        min_weekly=floor,
        notes=notes,
    )


def _complete_weeks(log: RequestLog) -> tuple[date, date]:
    first = week_start(log.first_day)
    if first < log.first_day:
        first += timedelta(weeks=1)
    last = week_start(log.last_day)
    if log.last_day.weekday() != 6:
        last -= timedelta(weeks=1)
    if last < first:
        raise InvalidInput(
            f"{log.name}: covers {log.first_day} to {log.last_day}, less than one complete "
            "ISO week (Monday to Sunday); weekly forecasts need many weeks",
            field="data",
        )
    return first, last


def _key(by: Grouping, category: str | None, community: str | None) -> SeriesKey:
    if by == Grouping.category:
        return SeriesKey(category=category)
    if by == Grouping.community:
        return SeriesKey(community=community)
    if by == Grouping.category_community:
        return SeriesKey(category, community)
    return SeriesKey()


def _name(log: RequestLog, key: SeriesKey) -> str:
    parts = []
    if key == SeriesKey():
        return "全部 (all)"
    if key.category is not None or not key.community:
        parts.append(log.display_name(key.category) if key.category else _NO_CATEGORY)
    if key.community is not None or not key.category:
        parts.append(log.display_name(key.community) if key.community else _NO_COMMUNITY)
    return " · ".join(parts)


def _check_spread(log: RequestLog) -> None:
    per_week = Counter(week_start(r.day) for r in log.requests)
    if len(per_week) < 4:
        return
    busiest, count = per_week.most_common(1)[0]
    share = count / len(log.requests)
    if share > MAX_WEEK_SHARE:
        raise InvalidInput(
            f"{log.name}: {share:.0%} of its {len(log.requests)} requests fall in one week "
            f"({iso_label(busiest)}) of the {len(per_week)} weeks it spans; the file is not a "
            "sample spread over time, so weekly forecasts of it would mean nothing",
            field="data",
        )


def _trim_ragged_edges(total: FloatArray, weeks: list[date], notes: list[str]) -> slice:
    # The median of the weeks with requests: a file that holds a few stray requests from
    # years before its real window has a median week of zero.
    active = total[total > 0]
    if len(active) == 0:
        return slice(0, len(total))
    busy = np.flatnonzero(total >= RAGGED_EDGE_SHARE * float(np.median(active)))
    start, stop = int(busy[0]), int(busy[-1]) + 1
    if start > 0 or stop < len(total):
        notes.append(
            f"edges cut: {start} leading and {len(total) - stop} trailing weeks under "
            f"{RAGGED_EDGE_SHARE:.0%} of the median week (a collection window opening or "
            f"closing); weeks used: {iso_label(weeks[start])} to {iso_label(weeks[stop - 1])}"
        )
    return slice(start, stop)
