"""Open311 input: the POST form and the GET /requests query, parsed into checked values.

Every problem is a :class:`townops.errors.DomainError` (HTTP 400, the spec's "general
service error") with a message naming the field, so clients never see a 500 for bad input.
Per the spec an empty parameter means the same as an absent one.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, field_validator

from townops.bounded import MAX_YEAR, MIN_YEAR, BoundedDatetime
from townops.errors import DomainError
from townops.open311.publication import is_safe_media_url
from townops.timeutil import as_utc

MAX_DESCRIPTION = 4000  # the spec's limit for description
MAX_IDS = 1000  # service_request_id values in one GET /requests, the spec's largest answer
MAX_REQUEST_ID = 2**31 - 1  # the largest case id the database can hold
WINDOW = timedelta(days=90)  # the spec's default and largest start_date..end_date span
STATUSES = ("open", "closed")

Short = Annotated[str | None, Field(max_length=200)]

# Parsed W3C datetimes pass the same range check as every other date a client sends.
BoundedUtc: TypeAdapter[datetime] = TypeAdapter(BoundedDatetime)


class Submission(BaseModel):
    """The fields of ``POST /requests`` (attribute[...] and unknown fields are ignored)."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    api_key: Short = None
    jurisdiction_id: Short = None
    service_code: Short = None
    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    long: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    address_string: str | None = Field(default=None, max_length=300)
    address_id: Short = None
    email: Short = None
    device_id: Short = None
    account_id: Short = None
    first_name: Short = None
    last_name: Short = None
    phone: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    media_url: str | None = Field(default=None, max_length=500)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("media_url")
    @classmethod
    def _media_url_is_a_web_link(cls, value: str | None) -> str | None:
        # Published to anyone by GET /requests: javascript:, data: and the like never are.
        if value is not None and not is_safe_media_url(value):
            raise ValueError("must be an http:// or https:// URL of the picture")
        return value

    def has_point(self) -> bool:
        return self.lat is not None and self.long is not None

    def requester_name(self) -> str:
        first, last = self.first_name or "", self.last_name or ""
        if (first + last).isascii():
            return f"{first} {last}".strip()
        return f"{last}{first}"  # Chinese order: family name first, no space


def parse_submission(fields: Mapping[str, str]) -> Submission:
    try:
        submission = Submission.model_validate(dict(fields))
    except ValidationError as exc:
        raise DomainError(_validation_text(exc)) from None
    if (submission.lat is None) != (submission.long is None):
        raise DomainError("lat and long must be sent together")
    return submission


def _validation_text(exc: ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in error['loc'])}: {error['msg']}" for error in exc.errors()
    )


@dataclass(frozen=True)
class RequestQuery:
    """GET /requests filters. ``ids`` overrides everything else, as the spec says."""

    ids: list[int] | None = None
    service_codes: list[str] | None = None
    start: datetime | None = None
    end: datetime | None = None
    statuses: frozenset[str] = frozenset()

    def window(self, now: datetime) -> tuple[datetime, datetime | None]:
        """[start, end] of requested_datetime; 90 days by default, never wider."""
        if self.start is not None:
            return self.start, self.end or self.start + WINDOW
        if self.end is not None:
            return self.end - WINDOW, self.end
        return now - WINDOW, None


def parse_request_query(
    *,
    service_request_id: str | None = None,
    service_code: str | None = None,
    start_date: str | None = None,
    end_date: str | None = None,
    status: str | None = None,
) -> RequestQuery:
    start = parse_w3_datetime(start_date, "start_date")
    end = parse_w3_datetime(end_date, "end_date")
    if start is not None and end is not None:
        if end < start:
            raise DomainError("end_date is before start_date")
        if end - start > WINDOW:
            raise DomainError("start_date to end_date may not span more than 90 days")
    return RequestQuery(
        ids=_parse_ids(service_request_id),
        service_codes=_comma_list(service_code) or None,
        start=start,
        end=end,
        statuses=_parse_statuses(status),
    )


def _comma_list(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(",") if part.strip()]


def _parse_ids(value: str | None) -> list[int] | None:
    parts = _comma_list(value)
    if not parts:
        return None
    if not all(part.isascii() and part.isdigit() for part in parts):
        raise DomainError("service_request_id must be a comma-separated list of request ids")
    if len(parts) > MAX_IDS:
        raise DomainError(f"service_request_id may list at most {MAX_IDS} ids")
    ids = [int(part) for part in parts]
    if max(ids) > MAX_REQUEST_ID:
        raise DomainError(f"service_request_id {max(ids)} is not a request id (too large)")
    return ids


def _parse_statuses(value: str | None) -> frozenset[str]:
    parts = {part.lower() for part in _comma_list(value)}
    unknown = parts - set(STATUSES)
    if unknown:
        raise DomainError(f"unknown status '{sorted(unknown)[0]}': use open, closed or both")
    return frozenset(parts)


# A '+' in an offset that a client forgot to URL-encode arrives as a space.
_UNENCODED_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}(?::?\d{2})?)$")


def parse_w3_datetime(value: str | None, name: str) -> datetime | None:
    """A W3C / ISO 8601 datetime ("2010-01-01T00:00:00Z", "…+08:00", or a date) as aware UTC.

    A value without an offset is read as the town's local time (Asia/Shanghai).
    """
    text = (value or "").strip()
    if not text:
        return None
    text = _UNENCODED_PLUS.sub(r"\1+\2", text)
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise DomainError(
            f"{name} '{value}' is not a W3C datetime, e.g. 2010-01-01T00:00:00Z"
        ) from None
    try:
        BoundedUtc.validate_python(parsed)
    except ValidationError:
        raise DomainError(
            f"{name} '{value}' is out of range: the year must be between {MIN_YEAR} and {MAX_YEAR}"
        ) from None
    return as_utc(parsed)
