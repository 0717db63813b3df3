"""The bounded types of route parameters (ids, pages, offsets, dates): see
:mod:`townops.bounded`, where they are defined for transports and domains alike."""

from __future__ import annotations

from townops.bounded import (
    MAX_DB_ID,
    MAX_OFFSET,
    MAX_PAGE,
    BoundedDate,
    BoundedDatetime,
    DbId,
    Offset,
    PageNumber,
)

__all__ = [
    "MAX_DB_ID",
    "MAX_OFFSET",
    "MAX_PAGE",
    "BoundedDate",
    "BoundedDatetime",
    "DbId",
    "Offset",
    "PageNumber",
]
