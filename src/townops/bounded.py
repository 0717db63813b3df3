"""Bounded types for what a client sends: ids, pages, offsets, dates and text.

An unbounded ``int`` or ``datetime`` parameter lets a client send a number the database
cannot hold or a date that overflows on conversion to UTC, which surfaced as a 500. Every
route's path and query parameters use these types instead (through
:mod:`townops.api.params`), so such input is a 422 naming the parameter, and the bounds are
in the OpenAPI. Body schemas use the text types so that lengths are the column sizes on
SQLite and PostgreSQL alike, and NUL is refused.

Core: imports nothing of townops, so domains and transports may both use it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated
from urllib.parse import urlsplit

from annotated_types import Interval
from pydantic import AfterValidator, Field

#: The largest id a database column holds on every back-end (``INTEGER`` on PostgreSQL).
MAX_DB_ID = 2_147_483_647
#: Pages and offsets: generous, and far from any integer overflow (page × page size).
MAX_PAGE = 1_000_000
MAX_OFFSET = 100_000_000
#: Dates a client may name: wide enough for any real record, narrow enough to convert
#: between time zones without overflow.
MIN_YEAR = 1900
MAX_YEAR = 2200

DbId = Annotated[int, Interval(ge=1, le=MAX_DB_ID)]
PageNumber = Annotated[int, Interval(ge=1, le=MAX_PAGE)]
Offset = Annotated[int, Interval(ge=0, le=MAX_OFFSET)]


def _datetime_in_range(value: datetime) -> datetime:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    if value.tzinfo is not None:
        # Converting to UTC must not leave the range either (0001-01-01T00:00+14:00).
        moved = value.astimezone(UTC)
        if not MIN_YEAR <= moved.year <= MAX_YEAR:
            raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return value


def _date_in_range(value: date) -> date:
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        raise ValueError(f"the year must be between {MIN_YEAR} and {MAX_YEAR}")
    return value


#: A datetime between the years 1900 and 2200 (ISO 8601; naive = the town's time).
BoundedDatetime = Annotated[datetime, AfterValidator(_datetime_in_range)]
BoundedDate = Annotated[date, AfterValidator(_date_in_range)]


def _no_nul(value: str) -> str:
    if "\x00" in value:
        raise ValueError("must not contain the NUL character (\\x00)")
    return value


NoNul = AfterValidator(_no_nul)

#: Text of a column of ``n`` characters: ``Annotated[str, Field(max_length=n), NoNul]``.
Code = Annotated[str, Field(max_length=60), NoNul]  # category, department, place codes
ShortText = Annotated[str, Field(max_length=100), NoNul]
LongText = Annotated[str, Field(max_length=5000), NoNul]


# A media URL: a plain web link or one of townops' own photo paths, nothing a browser
# would run or load from the machine (javascript:, data:, file: …).
_OWN_PHOTO = re.compile(r"^/api/v1/media/photos/\d{1,18}/(?:full|thumb)(?:\?[A-Za-z0-9=&._%-]*)?$")
_WEB_SCHEMES = frozenset({"http", "https"})


def is_safe_media_url(url: str) -> bool:
    """Whether ``url`` may be kept and published as a media URL.

    Only a plain web link (``http``/``https`` with a host) or one of the town's own photo
    paths: ``javascript:``, ``data:``, ``file:`` and the like would run or load something
    in the browser of whoever follows them. Control characters and spaces are refused too,
    because browsers drop them (``java\\tscript:`` is ``javascript:``).
    """
    if not url or any(ch <= " " or ch == "\x7f" for ch in url):
        return False
    if _OWN_PHOTO.match(url):
        return True
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() in _WEB_SCHEMES and bool(parts.hostname)


def _safe_media_url(value: str) -> str:
    if not is_safe_media_url(value):
        raise ValueError("only an http(s) link or a townops photo path is a media URL")
    return value


MediaUrl = Annotated[str, Field(max_length=500), NoNul, AfterValidator(_safe_media_url)]
