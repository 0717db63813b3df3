"""Pydantic shapes for case input (used by services and the API) and case output."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints

from townops.bounded import MAX_DB_ID, BoundedDatetime, DbId, MediaUrl, NoNul
from townops.cases.enums import Rating
from townops.cases.kinds import REQUEST, KindName

# Input text is bounded by its column (so SQLite, which stores any length, and PostgreSQL,
# which refuses past it, answer alike: 422 naming the field) and never holds NUL, which
# PostgreSQL cannot store in text.
Text = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=5000), NoNul
]
FreeText = Annotated[str, Field(max_length=5000), NoNul]


def _column(length: int) -> Any:
    return Field(max_length=length)


Code60 = Annotated[str, _column(60), NoNul]  # categories.code
AttributeCode = Annotated[str, StringConstraints(min_length=1, max_length=64), NoNul]
AttributeInput = (
    Annotated[str, Field(max_length=4000), NoNul]
    | Annotated[list[Annotated[str, Field(max_length=200), NoNul]], Field(max_length=50)]
)
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def _plausible_email(value: str) -> str:
    # Only the shape: whether anyone reads it is the mail server's to say.
    if value and not _EMAIL.match(value):
        raise ValueError("is not an e-mail address (name@example.org)")
    return value


Email = Annotated[
    str,
    StringConstraints(strip_whitespace=True, max_length=200),
    NoNul,
    AfterValidator(_plausible_email),
]
Code40 = Annotated[str, _column(40), NoNul]  # departments, jurisdictions (communities)


class CaseKindOut(BaseModel):
    """One kind of case (:mod:`townops.cases.kinds`)."""

    name: str
    label_zh: str
    label_en: str
    public: bool = Field(description="may be followed in public (a tracking code, Open311)")
    you_may_file: bool


class CaseCreate(BaseModel):
    """A new case. ``kind``, ``source``, ``external_id`` and ``received_at`` are set by the
    system, imports and the intake desk (duty officer, dispatcher, admin) only: see
    :data:`SERVER_SET_FIELDS`."""

    model_config = ConfigDict(extra="forbid")

    category: Code60 | None = Field(
        default=None,
        description="Category code (= Open311 service_code); omit it to let the classifier read it",
    )
    content: Text
    kind: KindName = Field(
        default=REQUEST.name, description="The case's kind (GET /api/v1/case-kinds lists them)"
    )
    address: Annotated[str, _column(300), NoNul] = ""
    lat: float | None = Field(default=None, ge=-90, le=90)
    lon: float | None = Field(default=None, ge=-180, le=180)
    jurisdiction: Code40 | None = Field(default=None, description="Jurisdiction code, if known")
    requester_name: Annotated[str, _column(100), NoNul] = ""
    requester_phone: Annotated[str, _column(40), NoNul] = ""
    requester_id_number: Annotated[str, _column(40), NoNul] = ""
    requester_email: Email = ""
    media_url: MediaUrl | None = None
    media_urls: list[MediaUrl] = Field(
        default_factory=list,
        max_length=9,
        description="More picture links (http/https), at most 9; media_url is the first",
    )
    attributes: dict[AttributeCode, AttributeInput] = Field(
        default_factory=dict,
        max_length=50,
        description="The category's attributes (GET /open311/v2/services/{code} lists them)",
    )
    received_at: BoundedDatetime | None = Field(
        default=None,
        description="When it was received; default now. Naive = Asia/Shanghai. Intake desk "
        "and imports only.",
    )
    source: Annotated[str, Field(min_length=1, max_length=20), NoNul] = Field(
        default="api", description="The channel: api or web; others for the intake desk only"
    )
    external_id: Annotated[str, _column(80), NoNul] | None = Field(
        default=None,
        description="The order number in the source system (unique per source); intake desk "
        "and imports only",
    )
    auto_dispatch: bool = Field(
        default=True,
        description="false: leave the case in the dispatch queue (suggestions are still made)",
    )
    photos: list[DbId] = Field(
        default_factory=list,
        max_length=9,
        description="Ids of your photos from POST /api/v1/media/photos (at most 9)",
    )


class ActionInput(BaseModel):
    """Body of ``POST /cases/{id}/actions/{action}``; which fields matter depends on the action."""

    model_config = ConfigDict(extra="forbid")

    version: int = Field(
        ge=0, le=MAX_DB_ID, description="The case version you saw; a stale one gets 409"
    )
    comment: FreeText = ""
    department: Code40 | None = Field(default=None, description="dispatch / report_in: department")
    community: Code40 | None = Field(default=None, description="dispatch: community code")
    category: Code60 | None = Field(
        default=None, description="dispatch: correct the category (the deadline follows it)"
    )
    duplicate_of: DbId | None = Field(default=None, description="link: the open case it repeats")
    reply: FreeText | None = Field(default=None, description="resolve: the reply to the requester")
    rating: Rating | None = Field(default=None, description="callback: the requester's rating")
    reason: FreeText | None = Field(default=None, description="return / extension: why")
    working_days: int | None = Field(default=None, ge=1, le=60, description="extension length")
    departments: list[Code40] | None = Field(
        default=None, max_length=100, description="whistle: summoned units"
    )
    report_in_hours: int | None = Field(default=None, ge=1, le=720)
    reference: Annotated[str, Field(min_length=1, max_length=80), NoNul] | None = Field(
        default=None,
        description="comment: the sender's own id for it (an Open311 client's update_id)",
    )
    media_urls: list[MediaUrl] = Field(
        default_factory=list,
        max_length=9,
        description="comment: picture links (http/https) the requester's client sent",
    )
    photos: list[DbId] = Field(
        default_factory=list,
        max_length=9,
        description="resolve, comment: ids of your photos from POST /api/v1/media/photos "
        "(at most 9)",
    )


class Named(BaseModel):
    code: str
    name_zh: str
    name_en: str


class SummonsOut(BaseModel):
    department: str
    summoned_at: datetime
    report_in_due_at: datetime
    reported_in_at: datetime | None
    overdue: bool


class ExtensionOut(BaseModel):
    id: int
    status: str
    working_days: int
    reason: str
    requested_by: str
    requested_at: datetime
    decided_by: str | None
    decided_at: datetime | None
    old_due_at: datetime
    new_due_at: datetime | None


class Requester(BaseModel):
    name: str
    phone: str
    id_number: str
    email: str = ""
    masked: bool


class CaseOut(BaseModel):
    id: int
    token: str
    kind: str
    source: str
    external_id: str | None
    category: str
    category_name_zh: str | None = None
    category_name_en: str | None = None
    content: str
    address: str
    lat: float | None
    lon: float | None
    jurisdiction: str | None
    community: str | None
    department: str | None
    assignee_community: str | None
    state: str
    version: int
    urgency: str
    received_at: datetime
    due_at: datetime
    original_due_at: datetime
    overdue: bool
    seconds_left: int
    breached: bool
    dispatched_at: datetime | None
    accepted_at: datetime | None
    first_contact_due_at: datetime | None
    first_contact_at: datetime | None
    first_contact_overdue: bool
    resolved_at: datetime | None
    closed_at: datetime | None
    reply: str | None
    rating: str | None
    return_count: int
    reopen_count: int
    extension_count: int
    supervision_count: int
    duplicate_of: int | None
    attributes: dict[str, str | list[str]] = Field(
        default_factory=dict, description="The category's attributes, e.g. a pole number"
    )
    media_urls: list[str] = Field(
        default_factory=list, description="Picture links the requester's client sent"
    )
    requester: Requester
    allowed_actions: list[str]
    summonses: list[SummonsOut] = []
    extensions: list[ExtensionOut] = []


class CasePage(BaseModel):
    items: list[CaseOut]
    page: int
    page_size: int
    has_more: bool
    total: int | None = None


class EventOut(BaseModel):
    id: int
    action: str
    from_state: str | None
    to_state: str
    at: datetime
    actor: str
    actor_role: str
    department: str | None
    comment: str
    data: dict[str, Any]
