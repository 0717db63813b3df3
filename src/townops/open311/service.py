"""Open311 GeoReport v2 over the one case engine: services are categories, requests are cases.

Keyword-only use cases, session passed in, no HTTP. Output is plain dicts in the spec's
field order, ready for :mod:`townops.open311.formats` to write as JSON or XML.

What is public: GET /requests needs no key, so a request never shows who asked (no name,
phone, e-mail, ID number), and only the cases the town's public-output policy publishes are
found at all (:mod:`townops.open311.publication`): by default what Open311 clients filed,
never a resident's own web request, a mediation or a device alarm in a home. What is shown
of them is cut down there too: the address to its building, numbers in every text masked,
coordinates rounded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access.actor import Actor, Role
from townops.auth.models import ApiKey
from townops.auth.service import check_api_key
from townops.cases import idempotency
from townops.cases.enums import State
from townops.cases.kinds import REQUEST
from townops.cases.models import Case
from townops.cases.schemas import CaseCreate
from townops.categories.attributes import AttributeSpec, attribute_specs
from townops.categories.models import Category
from townops.dispatch import receive_case
from townops.errors import DomainError, Forbidden, InvalidInput, NotFound
from townops.jurisdiction.models import Jurisdiction
from townops.jurisdiction.service import find_place
from townops.media import (
    MAX_PER_CALL,
    PhotoOut,
    PhotoRejected,
    present_photos_of_cases,
    store_photo,
)
from townops.open311.config import Open311Public
from townops.open311.formats import Locale
from townops.open311.publication import (
    is_safe_media_url,
    public_address,
    public_condition,
    public_coordinate,
    public_text,
    publishes_reply,
)
from townops.open311.schemas import (
    MAX_REQUEST_ID,
    RequestQuery,
    Submission,
    SubmittedForm,
    parse_submission,
    validation_text,
)
from townops.organization.models import Department
from townops.timeutil import utcnow
from townops.towns.models import TownRecord
from townops.towns.profile import TownProfile, get_profile

SPECIFICATION = "http://wiki.open311.org/GeoReport_v2"
FORMATS = ["text/xml", "application/json"]
MAX_RESULTS = 1000  # the spec's largest answer to GET /requests
SOURCE = "open311"

STATE_NOTES: dict[str, tuple[str, str]] = {
    State.received: ("已受理，等待派单", "Received, waiting to be dispatched"),
    State.linked: (
        "与此前反映的同一问题合并办理",
        "Handled together with an earlier report of the same problem",
    ),
    State.dispatched: ("已派单至承办单位", "Dispatched to the responsible unit"),
    State.accepted: ("承办单位已签收，正在处理", "Accepted by the responsible unit, in hand"),
    State.returned: ("承办单位退单，正在重新派单", "Returned by the unit, being re-dispatched"),
    State.resolved: ("已办结，等待回访", "Resolved, waiting for the follow-up call"),
    State.callback: ("已回访，等待结案", "Follow-up call done, waiting to be closed"),
    State.reopened: ("重新办理中", "Being handled again"),
    State.closed: ("已结案", "Closed"),
}
# The spec calls a request closed once it is resolved: the callback and the formal close
# that follow are the town's own steps.
CLOSED_STATES = frozenset({State.resolved.value, State.callback.value, State.closed.value})


def public_status(state: str) -> str:
    """GeoReport's two statuses: ``closed`` once the case is resolved, else ``open``."""
    return "closed" if state in CLOSED_STATES else "open"


def pick(locale: Locale, zh: str, en: str) -> str:
    return en if locale == "en" and en else zh


# --- jurisdiction and discovery ----------------------------------------------------------


def check_jurisdiction(session: Session, *, jurisdiction_id: str | None) -> None:
    """Optional everywhere (one jurisdiction); if given it must be this town's."""
    if jurisdiction_id is None or not jurisdiction_id.strip():
        return
    profile = get_profile(session)
    if jurisdiction_id.strip() not in (profile.open311_jurisdiction_id, profile.code):
        raise NotFound(f"jurisdiction_id '{jurisdiction_id}' not found")


def w3_datetime(value: datetime | None, tz: ZoneInfo) -> str | None:
    """W3C datetime with the town's offset, e.g. 2024-05-06T09:30:00+08:00."""
    return value.astimezone(tz).isoformat(timespec="seconds") if value else None


def town_zone(profile: TownProfile) -> ZoneInfo:
    return ZoneInfo(profile.timezone)


def discovery(session: Session, *, endpoint_url: str) -> dict[str, Any]:
    profile = get_profile(session)
    info = profile.raw.get("open311", {})
    synced = session.scalar(select(TownRecord.synced_at).where(TownRecord.code == profile.code))
    changeset = w3_datetime(synced, town_zone(profile))
    return {
        "changeset": changeset,
        "contact": info.get("contact", ""),
        "key_service": info.get("key_service", ""),
        "endpoints": [
            {
                "specification": SPECIFICATION,
                "url": endpoint_url,
                "changeset": changeset,
                "type": "production",
                "formats": list(FORMATS),
            }
        ],
    }


# --- services ----------------------------------------------------------------------------


def _departments(session: Session) -> dict[str, Department]:
    return {d.code: d for d in session.scalars(select(Department))}


def _categories(session: Session) -> dict[str, Category]:
    return {c.code: c for c in session.scalars(select(Category))}


def list_services(session: Session, *, locale: Locale) -> list[dict[str, Any]]:
    departments = _departments(session)
    rows = session.scalars(select(Category).order_by(Category.department_code, Category.code))
    return [
        _service(c, departments.get(c.department_code), locale) for c in rows if not c.townops_only
    ]


def _service(category: Category, department: Department | None, locale: Locale) -> dict[str, Any]:
    group = pick(locale, department.name_zh, department.name_en) if department else category.type
    return {
        "service_code": category.code,
        "service_name": pick(locale, category.name_zh, category.name_en),
        "description": pick(locale, category.description_zh, category.description_en),
        # true: the category has attributes, GET /services/{code} lists them.
        "metadata": bool(category.attributes),
        "type": "realtime",
        "keywords": ",".join(category.keywords or []),
        "group": group,
    }


def _category(session: Session, service_code: str | None) -> Category:
    if not service_code:
        raise DomainError("service_code was not provided")
    category = session.get(Category, service_code)
    if category is None or category.townops_only:
        raise NotFound(f"service_code '{service_code}' not found")
    return category


def service_definition(session: Session, *, service_code: str, locale: Locale) -> dict[str, Any]:
    """The category's attributes in the spec's shape (``attributes: []`` if it has none)."""
    category = _category(session, service_code)
    specs = attribute_specs(category.attributes)
    return {
        "service_code": category.code,
        "attributes": [_attribute(spec, order, locale) for order, spec in enumerate(specs, 1)],
    }


def _attribute(spec: AttributeSpec, order: int, locale: Locale) -> dict[str, Any]:
    description = pick(locale, spec.description_zh, spec.description_en)
    return {
        "variable": spec.variable,
        "code": spec.code,
        "datatype": spec.datatype,
        "required": spec.required,
        "datatype_description": description if spec.datatype in ("string", "text") else None,
        "order": order,
        "description": description,
        "values": [{"key": key, "name": pick(locale, zh, en)} for key, zh, en in spec.values],
    }


# --- POST /requests ----------------------------------------------------------------------


def client_key(session: Session, *, api_key: str | None) -> ApiKey:
    """The client's Open311 key, or 403."""
    key = check_api_key(session, key=api_key) if api_key else None
    if key is None:
        raise Forbidden("api_key was not provided or is invalid")
    return key


def client_actor(session: Session, *, api_key: str | None) -> Actor:
    """The actor for a client key: the admin role, named after the key, no user behind it."""
    return client_actor_of(client_key(session, api_key=api_key))


def client_actor_of(key: ApiKey) -> Actor:
    return Actor(username=f"open311:{key.name}"[:80], role=Role.admin)


def submit_request(
    session: Session,
    *,
    fields: SubmittedForm | Mapping[str, str],
    now: datetime | None = None,
    idempotency_key: str | None = None,
) -> Case:
    """Validate a GeoReport POST and open a ``request`` case from it.

    Kept: the name, phone and e-mail (contact data, masked like any), every
    ``media_url``, the ``attribute[…]`` values (checked against the category's attributes),
    and photos sent as multipart parts (stored and cleaned like the app's photos). Not
    kept: device_id and account_id. ``description`` is optional, as the spec says: the
    case then reads as its service's name and attributes. With an ``idempotency_key``
    (the ``Idempotency-Key`` header), a client that retries the same request under the
    same key gets the case it made the first time (:mod:`townops.cases.idempotency`,
    owner ``key:<api key id>``).
    """
    form = fields if isinstance(fields, SubmittedForm) else None
    submission = parse_submission(fields)
    key = client_key(session, api_key=submission.api_key)
    actor = client_actor_of(key)
    check_jurisdiction(session, jurisdiction_id=submission.jurisdiction_id)
    category = _category(session, submission.service_code)
    _require_location(session, submission)
    files = form.files if form else []

    def create() -> Case:
        photos = store_client_photos(session, actor=actor, files=files, now=now)
        return _open_case(
            session,
            actor=actor,
            submission=submission,
            category=category,
            photos=photos,
            now=now,
        )

    if idempotency_key is None:
        return create()
    try:
        case, _created = idempotency.find_or_remember(
            session,
            owner=f"key:{key.id}",
            key=idempotency_key,
            request_hash=idempotency.request_hash(
                {
                    **submission.model_dump(exclude={"api_key"}),
                    "files": [hashlib.sha256(data).hexdigest() for _n, data, _f in files],
                }
            ),
            create=create,
        )
    except InvalidInput as exc:
        # The spec knows 400 for any bad submission, not 422.
        raise DomainError(exc.message, **exc.details) from None
    return case


def store_client_photos(
    session: Session, *, actor: Actor, files: Sequence[tuple[str, bytes, str]], now: datetime | None
) -> list[int]:
    """Store the photos a client sent as multipart parts (cleaned like every upload);
    their ids go with the new case or comment, which claims them in its transaction."""
    if len(files) > MAX_PER_CALL:
        raise DomainError(f"at most {MAX_PER_CALL} photos in one request ({len(files)} sent)")
    ids: list[int] = []
    for field, data, filename in files:
        try:
            photo = store_photo(session, actor=actor, data=data, filename=filename, now=now)
        except PhotoRejected as exc:
            raise DomainError(f"{field}: {exc.message}", field=field) from None
        ids.append(photo.id)
    return ids


def _open_case(
    session: Session,
    *,
    actor: Actor,
    submission: Submission,
    category: Category,
    photos: list[int],
    now: datetime | None,
) -> Case:
    links = submission.all_media_urls()
    try:
        data = CaseCreate(
            category=category.code,
            content=submission.description or _content_without_description(category, submission),
            kind=REQUEST.name,
            address=submission.address_string or "",
            lat=submission.lat,
            lon=submission.long,
            jurisdiction=submission.address_id,
            requester_name=submission.requester_name(),
            requester_phone=submission.phone or "",
            requester_email=submission.email or "",
            media_url=links[0] if links else None,
            media_urls=links,
            attributes=submission.attributes,
            photos=photos,
            source=SOURCE,
        )
        return receive_case(session, actor=actor, data=data, now=now)
    except ValidationError as exc:
        raise DomainError(validation_text(exc)) from None
    except InvalidInput as exc:
        # The spec knows 400 for any bad submission, not 422.
        raise DomainError(exc.message, **exc.details) from None


def _content_without_description(category: Category, submission: Submission) -> str:
    """What a case reads when the client sent no description (the spec allows it): the
    service's name and the attributes it was sent with."""
    names = {spec.code: spec.description_zh for spec in attribute_specs(category.attributes)}
    facts = [
        f"{names.get(code, code)}：{'、'.join(v) if isinstance(v, list) else v}"
        for code, v in submission.attributes.items()
    ]
    return "；".join([category.name_zh, *facts])


def _require_location(session: Session, submission: Submission) -> None:
    if not (submission.has_point() or submission.address_string or submission.address_id):
        raise DomainError("a location is required: lat and long, address_string or address_id")
    if submission.address_id and find_place(session, submission.address_id) is None:
        raise DomainError(f"address_id '{submission.address_id}' is not a known address")


def submission_receipt(session: Session, *, case: Case, locale: Locale) -> dict[str, Any]:
    profile = get_profile(session)
    category = session.get(Category, case.category_code)
    notice = _deadline_notice(category, locale)
    due = case.due_at.astimezone(town_zone(profile)).strftime("%Y-%m-%d %H:%M")
    received = pick(
        locale,
        f"已受理，查询码 {case.token}；{notice}，预计 {due} 前办结。",
        f"Received, tracking code {case.token}. {notice}; expected by {due}.",
    )
    return {
        "service_request_id": str(case.id),
        "token": case.token,
        "service_notice": received,
        "account_id": None,
    }


def _deadline_notice(category: Category | None, locale: Locale) -> str:
    if category is None:
        return ""
    if category.deadline_working_days is not None:
        n = category.deadline_working_days
        return pick(locale, f"承办时限 {n} 个工作日", f"Handled within {n} working day(s)")
    if category.deadline_minutes is not None:
        n = category.deadline_minutes
        return pick(locale, f"承办时限 {n} 分钟", f"Handled within {n} minute(s)")
    n = category.deadline_hours or 0
    return pick(locale, f"承办时限 {n} 小时", f"Handled within {n} hour(s)")


# --- GET /requests -----------------------------------------------------------------------


def find_requests(
    session: Session, *, query: RequestQuery, now: datetime | None = None
) -> list[Case]:
    """Public cases matching the query.

    An explicit id list is answered in full, newest first (read 1,000 ids a query).
    Otherwise at most 1,000: newest first, or oldest first from a ``start_date`` so a
    client walks a busy window forward.
    """
    public = public_condition(get_profile(session).config(Open311Public))
    if query.ids is not None:
        return _requests_by_id(session, ids=query.ids, public=public)
    start, end = query.window(now or utcnow())
    stmt = select(Case).where(public, Case.received_at >= start)
    if end is not None:
        stmt = stmt.where(Case.received_at <= end)
    if query.service_codes:
        stmt = stmt.where(Case.category_code.in_(query.service_codes))
    if query.statuses == {"open"}:
        stmt = stmt.where(Case.state.not_in(sorted(CLOSED_STATES)))
    elif query.statuses == {"closed"}:
        stmt = stmt.where(Case.state.in_(sorted(CLOSED_STATES)))
    if query.oldest_first:
        stmt = stmt.order_by(Case.received_at, Case.id)
    else:
        stmt = stmt.order_by(Case.received_at.desc(), Case.id.desc())
    return list(session.scalars(stmt.limit(MAX_RESULTS)))


_ID_CHUNK = 1000  # ids in one IN (...): well inside every database's parameter limit


def _requests_by_id(session: Session, *, ids: list[int], public: Any) -> list[Case]:
    wanted = list(dict.fromkeys(ids))
    found: dict[int, Case] = {}
    for at in range(0, len(wanted), _ID_CHUNK):
        chunk = wanted[at : at + _ID_CHUNK]
        found.update(
            (c.id, c) for c in session.scalars(select(Case).where(public, Case.id.in_(chunk)))
        )
    # Newest first, as every list of requests.
    return sorted(found.values(), key=lambda c: (c.received_at, c.id), reverse=True)


def get_request(session: Session, *, service_request_id: str) -> Case:
    """One public case; a case the policy does not publish is "not found", like no case."""
    case = None
    wanted = service_request_id.strip()
    if wanted.isascii() and wanted.isdigit() and int(wanted) <= MAX_REQUEST_ID:
        public = public_condition(get_profile(session).config(Open311Public))
        case = session.scalars(select(Case).where(Case.id == int(wanted), public)).first()
    if case is None:
        raise NotFound(f"service_request_id '{service_request_id[:40]}' not found")
    return case


def request_for_token(session: Session, *, token: str) -> dict[str, Any]:
    """The id of the public case with this tracking code (查询码); others are "not found"."""
    # Tracking codes are issued in capitals; people type them in any case.
    public = public_condition(get_profile(session).config(Open311Public))
    case = session.scalars(
        select(Case).where(Case.token == token.strip().upper()[:64], public)
    ).first()
    if case is None:
        raise NotFound(f"token '{token[:40]}' not found")
    return {"service_request_id": str(case.id), "token": case.token}


# --- the request representation ----------------------------------------------------------


@dataclass(frozen=True)
class _Names:
    """Everything a page of requests refers to, loaded once for the page."""

    categories: dict[str, Category]
    departments: dict[str, Department]
    communities: dict[str, Jurisdiction]
    operations_centre: Department | None
    tz: ZoneInfo
    locale: Locale
    policy: Open311Public


def _names(session: Session, cases: Sequence[Case], locale: Locale) -> _Names:
    departments = _departments(session)
    community_codes = {c.assignee_community_code for c in cases if c.assignee_community_code}
    communities: dict[str, Jurisdiction] = {}
    if community_codes:
        found = session.scalars(select(Jurisdiction).where(Jurisdiction.code.in_(community_codes)))
        communities = {j.code: j for j in found}
    centre = next((d for d in departments.values() if d.kind == "operations_centre"), None)
    profile = get_profile(session)
    return _Names(
        categories=_categories(session),
        departments=departments,
        communities=communities,
        operations_centre=centre,
        tz=town_zone(profile),
        locale=locale,
        policy=profile.config(Open311Public),
    )


def present_requests(
    session: Session, *, cases: Sequence[Case], locale: Locale, base_url: str = ""
) -> list[dict[str, Any]]:
    """Cases as GeoReport requests. ``base_url`` (the server's address) makes the signed
    links of photos sent as files absolute, so a client can fetch them."""
    names = _names(session, cases, locale)
    needs_photo = [c.id for c in cases if not _client_link(c)]
    photos = present_photos_of_cases(session, case_ids=needs_photo) if needs_photo else {}
    rows = []
    for case in cases:
        sent = first_photo(photos.get(case.id), "report")
        rows.append(_request(case, names, base_url + sent.url if sent else None))
    return rows


def _client_link(case: Case) -> str | None:
    return case.media_url if case.media_url and is_safe_media_url(case.media_url) else None


def first_photo(photos: Sequence[PhotoOut] | None, stage: str) -> PhotoOut | None:
    """The first of a case's photos taken at ``stage`` (report, resolve, comment)."""
    return next((p for p in photos or () if p.stage == stage), None)


def _request(case: Case, names: _Names, photo_url: str | None) -> dict[str, Any]:
    """One case as published: nothing about who asked, the place no finer than a building.

    Every text goes through the public masking, even those townops writes itself (a
    department's name could carry a hotline number): nothing here is trusted to be clean.
    """
    category = names.categories.get(case.category_code)
    status = public_status(case.state)
    return {
        "service_request_id": str(case.id),
        "status": status,
        "status_notes": public_text(_status_notes(case, names)),
        "service_name": public_text(_service_name(category, names.locale)),
        "service_code": case.category_code,
        "description": public_text(case.content),
        "agency_responsible": public_text(_agency(case, names)),
        "service_notice": public_text(_deadline_notice(category, names.locale)) or None,
        "requested_datetime": w3_datetime(case.received_at, names.tz),
        "updated_datetime": w3_datetime(case.updated_at, names.tz),
        "expected_datetime": w3_datetime(case.due_at, names.tz),
        "address": public_address(case.address) if case.address else None,
        "address_id": case.jurisdiction_code,
        "zipcode": None,
        "lat": public_coordinate(case.lat, names.policy.coordinate_decimals),
        "long": public_coordinate(case.lon, names.policy.coordinate_decimals),
        "media_url": _client_link(case) or photo_url,
    }


def _service_name(category: Category | None, locale: Locale) -> str | None:
    return pick(locale, category.name_zh, category.name_en) if category else None


def _status_notes(case: Case, names: _Names) -> str:
    """Where the case stands; once resolved, the reply itself (what the resident waits
    for) where the policy publishes it (:func:`publishes_reply`)."""
    if case.state in CLOSED_STATES and case.reply and publishes_reply(case.source, names.policy):
        return case.reply
    zh, en = STATE_NOTES.get(case.state, ("处理中", "In hand"))
    return pick(names.locale, zh, en)


def _agency(case: Case, names: _Names) -> str | None:
    if case.department_code and case.department_code in names.departments:
        unit = names.departments[case.department_code]
        return pick(names.locale, unit.name_zh, unit.name_en)
    if case.assignee_community_code and case.assignee_community_code in names.communities:
        place = names.communities[case.assignee_community_code]
        return pick(names.locale, place.name_zh, place.name_en)
    # Not dispatched yet: the operations centre holds it.
    centre = names.operations_centre
    return pick(names.locale, centre.name_zh, centre.name_en) if centre else None
