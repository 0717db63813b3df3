"""One cell of a spreadsheet: as text, clipped for a report, read as a time, a date, a phone."""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

from townops.timeutil import SHANGHAI, as_utc

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d %H:%M")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日")
_MOBILE = re.compile(r"(?:\+?86)?1[3-9]\d(?:\d{4}|\*{4})\d{4}")
_LANDLINE = re.compile(r"(?:\(?0\d{2,3}\)?-?)?[2-9]\d{6,7}(?:(?:-|转)\d{1,6})?")
_PHONE_SEPARATORS = re.compile(r"[,，;；/、]")


def cell_text(value: Any) -> str:
    """A cell as trimmed text; Excel stores numbers typed into text columns as floats."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.isoformat(sep=" ")
    return str(value).strip()


def clip_text(text: str, limit: int = 60) -> str:
    """``text`` cut to ``limit`` characters (the last one an ellipsis) for a problem report."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def parse_datetime(value: Any) -> datetime | None:
    """Aware UTC, or None if unreadable; times without an offset are Asia/Shanghai.

    An Excel date-time, ISO 8601, ``2022-06-01 08:30[:00]`` or ``2022/06/01 08:30[:00]``.
    """
    if isinstance(value, datetime):
        return as_utc(value)
    text = cell_text(value)
    if not text:
        return None
    try:
        return as_utc(datetime.fromisoformat(text))
    except ValueError:
        pass
    for form in _TIME_FORMATS:
        try:
            return as_utc(datetime.strptime(text, form).replace(tzinfo=SHANGHAI))
        except ValueError:
            continue
    return None


def parse_date(value: Any) -> date | None:
    """A date from a cell: an Excel date, ISO 8601, 2022/03/01, 20220301 or 2022年3月1日."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = cell_text(value)
    if not text:
        return None
    try:
        return datetime.fromisoformat(text).date()
    except ValueError:
        pass
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(text, form).date()  # noqa: DTZ007 - a date, no time
        except ValueError:
            continue
    return None


def is_valid_phone(value: str) -> bool:
    """One or more Chinese phone numbers (separated by ``,;/、``), each a mainland mobile or
    a landline.

    A mobile is 11 digits starting 1, optional +86; its middle four may be masked as
    ``****``, as exports to towns often are. A landline is 7-8 digits, optional area code
    0xx/0xxx with optional dash or brackets, optional extension after ``-`` or ``转``.
    """
    numbers = [n for n in _PHONE_SEPARATORS.split(value) if n.strip()]
    return bool(numbers) and all(_is_one_phone(n) for n in numbers)


def _is_one_phone(number: str) -> bool:
    compact = re.sub(r"\s", "", number)
    return bool(_MOBILE.fullmatch(compact.replace("-", "")) or _LANDLINE.fullmatch(compact))
