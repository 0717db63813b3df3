"""Time-stamped requests to forecast from: the cases table or a CSV export.

Every source is reduced to the same :class:`RequestLog`: one local calendar day, a category
and a community per request, plus the calendar of working days where the requests were
made (working days drive weekly volume and are known ahead, so the model may use them).

CSV formats are told apart by their header:

- NYC 311 (NYC Open Data): ``created_date`` "MM/DD/YYYY hh:mm:ss AM" in New York time,
  ``complaint_type``, ``borough``; the full schema's "Created Date" etc. is the same.
- SF 311 (DataSF): ``created_date`` ISO-8601 with an offset, ``category``, ``neighborhood``.
- Citizen messages to a Chinese city government: ``留言时间`` "2019/4/25 9:32:09" with
  ``一级分类`` (often empty), or ``time`` with ``label``. They have no place column: the
  district ("A3区", "G4县") is read from the title, then the text.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from functools import cache
from pathlib import Path
from typing import NamedTuple, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import func, select, true
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.cases.access import visible_cases
from townops.cases.models import Case
from townops.categories.models import Category
from townops.deadlines import WorkingCalendar
from townops.errors import InvalidInput
from townops.jurisdiction.models import Jurisdiction
from townops.towns.profile import get_profile

# A file with more unreadable dates than this share is refused rather than half-read.
MAX_BAD_DATE_SHARE = 0.05
# Rows read from the database per round trip.
_DB_BATCH = 20_000
_INSTANT = timedelta(microseconds=1)
# Masked places: "A市A3区", "G4县"; the district or county is the finer, so it comes first.
_PLACES = (re.compile(r"[A-Z]\d*[区县]"), re.compile(r"[A-Z]\d*市"))
# Long message texts exceed csv's default field limit of 128 KiB.
_FIELD_LIMIT = 16 * 1024 * 1024


class SourceFormat(StrEnum):
    db = "db"
    nyc311 = "nyc311"
    sf311 = "sf311"
    gov_messages = "gov_messages"


class WorkdayCalendar(Protocol):
    def working_days_in(self, first: date, last: date) -> int: ...


class Request(NamedTuple):
    day: date  # local calendar day it was made
    category: str | None
    community: str | None


@dataclass
class RequestLog:
    """Requests from one source, with what is needed to bin and explain them."""

    name: str
    format: SourceFormat
    timezone: str
    calendar: WorkdayCalendar
    country: str  # "CN" or "US": which public-holiday effects apply (Spring Festival …)
    requests: list[Request]
    # The local days the source covers (a day with no request inside is a real zero).
    first_day: date
    last_day: date
    names: dict[str, str] = field(default_factory=dict)  # code → display name
    skipped: int = 0  # rows without a readable date
    notes: list[str] = field(default_factory=list)

    def display_name(self, code: str | None) -> str:
        if code is None:
            return "—"
        return self.names.get(code, code)


class UsFederalCalendar:
    """Monday–Friday less US federal holidays (as observed): NYC's and SF's working days."""

    def working_days_in(self, first: date, last: date) -> int:
        holidays = _us_holidays(first.year, last.year)
        days = (first + timedelta(days=i) for i in range((last - first).days + 1))
        return sum(1 for d in days if d.weekday() < 5 and d not in holidays)


@cache
def _us_holidays(first_year: int, last_year: int) -> frozenset[date]:
    from pandas.tseries.holiday import USFederalHolidayCalendar  # type: ignore[import-untyped]

    stamps = USFederalHolidayCalendar().holidays(f"{first_year}-01-01", f"{last_year}-12-31")
    return frozenset(stamp.date() for stamp in stamps)


# --------------------------------------------------------------------------- database


def read_cases(
    session: Session,
    *,
    actor: Actor | None = None,
    until: datetime | None = None,
    history_weeks: int = 156,
) -> RequestLog:
    """Cases received before ``until`` (default: all), over ``history_weeks`` weeks.

    ``actor`` limits the cases to those the actor may see. The log covers the local days
    from the first case read to the day before ``until``; without ``until``, to the day of
    the newest case: a live town receives cases every day, and a database whose data stop
    (the demo year) is not taken as weeks of zeros.
    """
    profile = get_profile(session)
    tz = ZoneInfo(profile.timezone)
    scope = visible_cases(actor) if actor is not None else true()
    cut = Case.received_at < until if until is not None else true()
    newest = session.scalar(select(func.max(Case.received_at)).where(scope, cut))
    if newest is None:
        raise InvalidInput("there are no cases to forecast from", field="data")
    newest = newest.astimezone(tz)
    # Given a cut, the days before it are complete, with or without a case on the last.
    last_day = newest.date() if until is None else (until - _INSTANT).astimezone(tz).date()
    start_day = newest.date() - timedelta(weeks=history_weeks)
    start = datetime.combine(start_day, datetime.min.time(), tzinfo=tz).astimezone(UTC)
    rows = session.execute(
        select(Case.received_at, Case.category_code, Case.community_code)
        .where(scope, cut, Case.received_at >= start)
        .execution_options(yield_per=_DB_BATCH)
    )
    requests = [
        Request(received.astimezone(tz).date(), category, community)
        for received, category, community in rows
    ]
    first_day = min(r.day for r in requests)
    return RequestLog(
        name="db",
        format=SourceFormat.db,
        timezone=profile.timezone,
        calendar=profile.calendar,
        country="CN",
        requests=requests,
        first_day=first_day,
        last_day=last_day,
        names=_names(session, requests),
    )


def _names(session: Session, requests: Sequence[Request]) -> dict[str, str]:
    categories = {r.category for r in requests if r.category}
    communities = {r.community for r in requests if r.community}
    # Result objects have keys() (column names): dict() would take them for a mapping.
    names = {
        code: name
        for code, name in session.execute(
            select(Category.code, Category.name_zh).where(Category.code.in_(sorted(categories)))
        )
    }
    places = select(Jurisdiction.code, Jurisdiction.name_zh).where(
        Jurisdiction.code.in_(sorted(communities))
    )
    names.update({code: name for code, name in session.execute(places)})
    return names


# --------------------------------------------------------------------------- CSV files


@dataclass(frozen=True)
class _Layout:
    """Where a format keeps its fields, and how it writes its times."""

    format: SourceFormat
    timezone: str
    country: str
    calendar: Callable[[], WorkdayCalendar]
    time_column: str
    category_columns: tuple[str, ...]
    community_column: str | None
    text_columns: tuple[str, ...] = ()  # where a place may be named when no column holds it


def _china() -> WorkdayCalendar:
    return WorkingCalendar(tz="Asia/Shanghai")


_NYC = _Layout(
    SourceFormat.nyc311,
    "America/New_York",
    "US",
    UsFederalCalendar,
    "created_date",
    ("complaint_type",),
    "borough",
)
_SF = _Layout(
    SourceFormat.sf311,
    "America/Los_Angeles",
    "US",
    UsFederalCalendar,
    "created_date",
    ("category",),
    "neighborhood",
)
_GOV = _Layout(
    SourceFormat.gov_messages,
    "Asia/Shanghai",
    "CN",
    _china,
    "留言时间",
    ("一级分类",),
    None,
    ("留言主题", "留言详情"),
)
_GOV_LABELED = _Layout(
    SourceFormat.gov_messages,
    "Asia/Shanghai",
    "CN",
    _china,
    "time",
    ("label",),
    None,
    ("title", "text"),
)
# Values that name no place.
_NO_PLACE = frozenset({"", "unspecified", "none", "null", "nan", "n/a"})


def read_csv(path: Path) -> RequestLog:
    """Read a NYC 311, SF 311 or citizen-message CSV; :class:`InvalidInput` if it cannot."""
    if not path.is_file():
        raise InvalidInput(f"{path}: no such file", field="data")
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return _read_csv(path, encoding)
        except UnicodeDecodeError:
            continue
    raise InvalidInput(f"{path}: not text in UTF-8 or GB18030", field="data")


def _read_csv(path: Path, encoding: str) -> RequestLog:
    previous_limit = csv.field_size_limit(_FIELD_LIMIT)
    try:
        with path.open(newline="", encoding=encoding) as handle:
            reader = csv.reader(handle)
            header = _header(path, reader)
            layout = detect_format(header, path)
            return _read_rows(path, reader, header, layout)
    except csv.Error as exc:
        raise InvalidInput(f"{path}: not a readable CSV file ({exc})", field="data") from None
    finally:
        csv.field_size_limit(previous_limit)


def _header(path: Path, reader: Iterator[list[str]]) -> list[str]:
    row = next(reader, None)
    if not row:
        raise InvalidInput(f"{path}: the file is empty", field="data")
    return [_column_key(name) for name in row]


def _column_key(name: str) -> str:
    """Headers "Created Date" and "created_date" name the same column."""
    return re.sub(r"\s+", "_", name.strip().lower())


def detect_format(header: Sequence[str], path: Path | str = "the file") -> _Layout:
    """The layout whose columns the header has, SF before NYC (SF has complaint_type too)."""
    columns = set(header)
    if {"created_date", "category", "neighborhood"} <= columns:
        return _SF
    if {"created_date", "complaint_type"} <= columns:
        return _NYC
    if "留言时间" in columns:
        return _GOV
    if {"time", "label"} <= columns:
        return _GOV_LABELED
    shown = ", ".join(header[:8]) + (", …" if len(header) > 8 else "")
    raise InvalidInput(
        f"{path}: cannot tell the format from its header ({shown}); expected NYC 311 "
        "(created_date, complaint_type, borough), SF 311 (created_date, category, "
        "neighborhood) or citizen messages (留言时间 or time + label)",
        field="data",
    )


def _read_rows(
    path: Path, reader: Iterable[list[str]], header: list[str], layout: _Layout
) -> RequestLog:
    index = {name: i for i, name in enumerate(header)}
    tz = ZoneInfo(layout.timezone)
    at_time = index[layout.time_column]
    categories = [index[c] for c in layout.category_columns if c in index]
    community = index.get(layout.community_column or "")
    texts = [index[c] for c in layout.text_columns if c in index]
    requests: list[Request] = []
    bad: list[tuple[int, str]] = []
    missing = 0
    for line, row in enumerate(reader, start=2):
        raw = row[at_time].strip() if at_time < len(row) else ""
        if not raw:
            missing += 1
            continue
        day = parse_local_day(raw, tz)
        if day is None:
            bad.append((line, raw))
            continue
        requests.append(Request(day, _first_value(row, categories), _place(row, community, texts)))
    _check_dates(path, layout, requests, bad)
    notes = []
    if missing or bad:
        notes.append(f"{missing + len(bad)} rows without a readable {layout.time_column} skipped")
    return RequestLog(
        name=path.name,
        format=layout.format,
        timezone=layout.timezone,
        calendar=layout.calendar(),
        country=layout.country,
        requests=requests,
        first_day=min(r.day for r in requests),
        last_day=max(r.day for r in requests),
        skipped=missing + len(bad),
        notes=notes,
    )


def _check_dates(
    path: Path, layout: _Layout, requests: Sequence[Request], bad: Sequence[tuple[int, str]]
) -> None:
    read = len(requests) + len(bad)
    if not requests or len(bad) > MAX_BAD_DATE_SHARE * read:
        example = f"; line {bad[0][0]}: '{bad[0][1][:40]}'" if bad else ""
        raise InvalidInput(
            f"{path}: {len(bad)} of {read} rows have a {layout.time_column} that is not a "
            f"date and time ({layout.format} format){example}",
            field="data",
        )


def _first_value(row: Sequence[str], columns: Sequence[int]) -> str | None:
    for i in columns:
        value = row[i].strip() if i < len(row) else ""
        if value:
            return value
    return None


def _place(row: Sequence[str], column: int | None, texts: Sequence[int]) -> str | None:
    if column is not None:
        value = row[column].strip() if column < len(row) else ""
        return None if value.lower() in _NO_PLACE else value
    for pattern in _PLACES:
        for i in texts:
            match = pattern.search(row[i]) if i < len(row) else None
            if match:
                return match.group(0)
    return None


_TIME_FORMATS = (
    "%m/%d/%Y %I:%M:%S %p",  # NYC Open Data
    "%Y/%m/%d %H:%M:%S",  # the citizen-message platform
    "%Y/%m/%d %H:%M",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
)


def parse_local_day(raw: str, tz: ZoneInfo) -> date | None:
    """The local calendar day of a time stamp; a naive time is already local."""
    moment = _parse_time(raw)
    if moment is None:
        return None
    if moment.tzinfo is not None:
        moment = moment.astimezone(tz)
    return moment.date()


def _parse_time(raw: str) -> datetime | None:
    try:
        return datetime.fromisoformat(raw)
    except ValueError:
        pass
    for pattern in _TIME_FORMATS:
        try:
            return datetime.strptime(raw, pattern)  # noqa: DTZ007 - local, zone added by caller
        except ValueError:
            continue
    return None
