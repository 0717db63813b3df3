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
from townops.cases.schemas import Email
from townops.errors import DomainError
from townops.open311.publication import is_safe_media_url
from townops.timeutil import as_utc

MAX_DESCRIPTION = 4000  # the spec's limit for description
# service_request_id values in one GET /requests: all of them are answered (FixMyStreet
# asks for every open report at once); past this many the client hears 400, never a cut.
# 5,000 ids of seven digits make a 40 KB URL, inside the 64 KiB the HTTP server reads.
MAX_IDS = 5_000
MAX_REQUEST_ID = 2**31 - 1  # the largest case id the database can hold
WINDOW = timedelta(days=90)  # the spec's default and largest start_date..end_date span
STATUSES = ("open", "closed")
MAX_MEDIA_URLS = 9  # as many as photos on one case
MAX_ATTRIBUTES = 50

Short = Annotated[str | None, Field(max_length=200)]
AttributeValue = str | list[str]


@dataclass(frozen=True)
class SubmittedForm:
    """A POST's fields as sent: every value of a repeated field, and the files.

    ``fields`` holds each field's last value; ``media_url`` (repeated by FixMyStreet when
    it sends several photos) and ``attribute[code]`` / ``attribute[code][]`` (a list
    attribute) keep all their values; ``files`` are the multipart file parts (``photo1``,
    ``photo2``, … or ``media``) as (field name, bytes, file name).
    """

    fields: dict[str, str]
    media_urls: list[str]
    attributes: dict[str, AttributeValue]
    files: list[tuple[str, bytes, str]]

    @classmethod
    def from_pairs(
        cls, pairs: list[tuple[str, str]], files: list[tuple[str, bytes, str]] | None = None
    ) -> SubmittedForm:
        fields: dict[str, str] = {}
        media_urls: list[str] = []
        attributes: dict[str, AttributeValue] = {}
        for name, value in pairs:
            code = _attribute_code(name)
            if code is not None:
                _add_attribute(attributes, code, value, many=name.endswith("[]"))
            elif name in ("media_url", "media_url[]"):
                if value.strip():
                    media_urls.append(value.strip())
            else:
                fields[name] = value
        return cls(fields, media_urls, attributes, list(files or []))


_ATTRIBUTE = re.compile(r"^attribute\[([^\[\]]{1,64})\](\[\])?$")


def _attribute_code(name: str) -> str | None:
    found = _ATTRIBUTE.match(name)
    return found.group(1) if found else None


def _add_attribute(
    attributes: dict[str, AttributeValue], code: str, value: str, *, many: bool
) -> None:
    if len(attributes) >= MAX_ATTRIBUTES and code not in attributes:
        raise DomainError(f"at most {MAX_ATTRIBUTES} attributes in one request")
    before = attributes.get(code)
    if before is None:
        attributes[code] = [value] if many else value
    elif isinstance(before, list):
        before.append(value)
    else:
        attributes[code] = [before, value]


# Parsed W3C datetimes pass the same range check as every other date a client sends.
BoundedUtc: TypeAdapter[datetime] = TypeAdapter(BoundedDatetime)


def one_line_break(text: str | None) -> str | None:
    """A form's CRLF line breaks (how browsers and FixMyStreet's client encode them) as
    the "\n" every other channel stores."""
    return text.replace("\r\n", "\n").replace("\r", "\n") if text else text


class _ClientFields(BaseModel):
    """What every client POST carries: the key, the jurisdiction, who sends it, a text and
    picture links. Unknown fields are ignored; an empty field is an absent one."""

    model_config = ConfigDict(extra="ignore", str_strip_whitespace=True)

    api_key: Short = None
    jurisdiction_id: Short = None
    service_code: Short = None
    email: Short = None
    account_id: Short = None
    first_name: Short = None
    last_name: Short = None
    phone: str | None = Field(default=None, max_length=40)
    description: str | None = Field(default=None, max_length=MAX_DESCRIPTION)
    media_urls: list[str] = Field(default_factory=list, max_length=MAX_MEDIA_URLS)

    @field_validator("*", mode="before")
    @classmethod
    def _blank_is_absent(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("description")
    @classmethod
    def _plain_line_breaks(cls, value: str | None) -> str | None:
        return one_line_break(value)

    @field_validator("media_urls")
    @classmethod
    def _media_urls_are_web_links(cls, values: list[str]) -> list[str]:
        for value in values:
            if len(value) > 500 or not is_safe_media_url(value):
                raise ValueError(f"'{value[:60]}' is not an http:// or https:// picture URL")
        return values


class Submission(_ClientFields):
    """The fields of ``POST /requests``.

    Everything a client sends is kept: ``email`` as contact data (masked like the phone),
    every ``media_url``, ``attribute[…]`` (checked against the category's attributes by
    the engine), and photos sent as multipart parts (the route stores them).
    """

    lat: float | None = Field(default=None, ge=-90, le=90, allow_inf_nan=False)
    long: float | None = Field(default=None, ge=-180, le=180, allow_inf_nan=False)
    address_string: str | None = Field(default=None, max_length=300)
    address_id: Short = None
    device_id: Short = None
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    media_url: str | None = Field(default=None, max_length=500)
    # Kept as the requester's e-mail: checked as the case engine checks it.
    email: Email | None = None

    @field_validator("media_url")
    @classmethod
    def _media_url_is_a_web_link(cls, value: str | None) -> str | None:
        # Published to anyone by GET /requests: javascript:, data: and the like never are.
        if value is not None and not is_safe_media_url(value):
            raise ValueError("must be an http:// or https:// URL of the picture")
        return value

    def all_media_urls(self) -> list[str]:
        """Every picture link once, in the order sent."""
        first = [self.media_url] if self.media_url else []
        return list(dict.fromkeys(first + self.media_urls))

    def has_point(self) -> bool:
        return self.lat is not None and self.long is not None

    def requester_name(self) -> str:
        """The name as the client split it, joined again. A Chinese name has no space: a
        client that splits the name as typed (FixMyStreet: 王 小明 → first_name 王,
        last_name 小明) gets it back in the order the resident wrote it."""
        first, last = self.first_name or "", self.last_name or ""
        if (first + last).isascii():
            return f"{first} {last}".strip()
        return f"{first}{last}"


def parse_submission(form: SubmittedForm | Mapping[str, str]) -> Submission:
    if not isinstance(form, SubmittedForm):
        form = SubmittedForm.from_pairs(list(form.items()))
    values: dict[str, Any] = dict(form.fields)
    values.pop("media_urls", None)
    values.pop("attributes", None)
    values["media_urls"] = form.media_urls
    values["attributes"] = form.attributes
    try:
        submission = Submission.model_validate(values)
    except ValidationError as exc:
        raise DomainError(validation_text(exc)) from None
    if (submission.lat is None) != (submission.long is None):
        raise DomainError("lat and long must be sent together")
    return submission


def validation_text(exc: ValidationError) -> str:
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

    @property
    def oldest_first(self) -> bool:
        """With a start_date the answer runs forward from it, so a client walks a long
        window by asking again from the last time it got; otherwise newest first."""
        return self.start is not None and self.ids is None

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


# --- service request updates (mySociety's extension, which FixMyStreet uses) -------------

#: The extension's statuses; a client's POST may send any of them.
UPDATE_STATUSES = (
    "OPEN",
    "CLOSED",
    "FIXED",
    "IN_PROGRESS",
    "ACTION_SCHEDULED",
    "INVESTIGATING",
    "DUPLICATE",
    "NOT_COUNCILS_RESPONSIBILITY",
    "NO_FURTHER_ACTION",
    "INTERNAL_REFERRAL",
    "REOPEN",
    "FOR_TRIAGE",
    "CANCELLED",
)


class UpdateSubmission(_ClientFields):
    """The fields of ``POST /servicerequestupdates``: a requester's comment or photo.

    ``update_id`` is the client's own id for the comment (FixMyStreet's comment id): the
    same one sent again is answered with the update it made the first time.
    """

    service_request_id: Short = None
    update_id: Annotated[str | None, Field(max_length=80)] = None
    updated_datetime: Short = None
    status: Short = None

    @field_validator("status")
    @classmethod
    def _known_status(cls, value: str | None) -> str | None:
        if value is None:
            return None
        status = value.strip().upper().replace(" ", "_")
        if status not in UPDATE_STATUSES:
            raise ValueError(f"'{value[:40]}' is not one of {', '.join(UPDATE_STATUSES)}")
        return status

    def case_id(self) -> int:
        """The case the update is about, or 400 naming ``service_request_id``."""
        wanted = (self.service_request_id or "").strip()
        if not wanted:
            raise DomainError("service_request_id was not provided")
        if not (wanted.isascii() and wanted.isdigit()) or int(wanted) > MAX_REQUEST_ID:
            raise DomainError(f"service_request_id '{wanted[:40]}' is not a request id")
        return int(wanted)


def parse_update(form: SubmittedForm) -> UpdateSubmission:
    values: dict[str, Any] = {
        k: v for k, v in form.fields.items() if k not in ("media_urls", "attributes")
    }
    values["media_urls"] = form.media_urls
    try:
        update = UpdateSubmission.model_validate(values)
    except ValidationError as exc:
        raise DomainError(validation_text(exc)) from None
    parse_w3_datetime(update.updated_datetime, "updated_datetime")
    return update


@dataclass(frozen=True)
class UpdateQuery:
    """GET /servicerequestupdates filters: a window of the updates' times, oldest first,
    optionally narrowed to some requests."""

    start: datetime | None = None
    end: datetime | None = None
    ids: list[int] | None = None

    def window(self, now: datetime) -> tuple[datetime, datetime | None]:
        return RequestQuery(start=self.start, end=self.end).window(now)


def parse_update_query(
    *,
    start_date: str | None = None,
    end_date: str | None = None,
    service_request_id: str | None = None,
) -> UpdateQuery:
    base = parse_request_query(
        start_date=start_date, end_date=end_date, service_request_id=service_request_id
    )
    return UpdateQuery(start=base.start, end=base.end, ids=base.ids)
