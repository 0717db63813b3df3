"""Case use cases: create, act, read. Keyword-only, session passed in, no HTTP.

One use case is one transaction owned by the caller (the API or CLI commits or rolls
back); services flush so that conflicts surface here as domain errors, and never commit
or roll back. What the domains do with a case happens through :mod:`townops.cases.events`.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, func, not_, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.orm.exc import StaleDataError

from townops.access import Reach, scope_of
from townops.access.actor import SYSTEM, Actor, Role
from townops.bounded import MAX_DB_ID
from townops.cases import actions as rules
from townops.cases import events, search
from townops.cases.access import (
    check_may_act,
    check_may_search_contact,
    contact_shown,
    in_hands_of,
    role_may,
    visible_cases,
)
from townops.cases.enums import Action, State
from townops.cases.intake import check_server_set_fields
from townops.cases.models import Case, CaseEvent, Extension
from townops.cases.schemas import ActionInput, CaseCreate
from townops.cases.transitions import allowed_actions, next_state
from townops.categories.attributes import check_attributes
from townops.categories.service import get_category
from townops.deadlines import due_at
from townops.errors import (
    Duplicate,
    Forbidden,
    IllegalTransition,
    InvalidInput,
    NotFound,
    StaleVersion,
)
from townops.jurisdiction.service import PlaceInfo, find_place, locate_point, place
from townops.timeutil import as_utc, utcnow
from townops.towns.profile import TownProfile, get_profile

TOKEN_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


def new_tracking_code() -> str:
    return "".join(secrets.choice(TOKEN_ALPHABET) for _ in range(10))


def _resolve_place(session: Session, *, actor: Actor, data: CaseCreate) -> PlaceInfo | None:
    info: PlaceInfo | None = None
    if data.jurisdiction:
        info = place(session, data.jurisdiction)
    elif data.lat is not None and data.lon is not None:
        info = locate_point(session, lat=data.lat, lon=data.lon)
    if info is None and actor.role in (Role.community_staff, Role.grid_worker) and actor.scope_code:
        info = place(session, actor.scope_code)
    scope = scope_of(actor)
    if info is not None and scope.reach == Reach.subtree and not scope.contains_path(info.path):
        raise Forbidden("that place is outside your jurisdiction", jurisdiction=info.code)
    return info


def _all_links(first: str | None, more: list[str]) -> list[str]:
    """Every picture link once, in the order sent."""
    return list(dict.fromkeys([first, *more] if first else more))


def create_case(
    session: Session, *, actor: Actor, data: CaseCreate, now: datetime | None = None
) -> Case:
    now = now or utcnow()
    profile = get_profile(session)
    if not role_may(actor, Action.create, profile):
        raise Forbidden(f"role '{actor.role}' may not create cases", role=actor.role)
    check_server_set_fields(actor, data)
    if data.external_id is not None:
        taken = session.scalar(
            select(Case.id).where(Case.source == data.source, Case.external_id == data.external_id)
        )
        if taken is not None:
            raise Duplicate(
                f"external_id '{data.external_id}' of source '{data.source}' is taken",
                field="external_id",
                source=data.source,
            )
    if data.category is None:
        raise InvalidInput("'category' is required", field="category")
    category = get_category(session, data.category)
    if category.opened_by == "townops" and not actor.is_system:
        raise InvalidInput(
            f"category '{category.code}' is opened by townops itself (device alarms, "
            "vital-sign warnings), not by a person",
            field="category",
        )
    attributes = check_attributes(category.attributes, data.attributes)
    received_at = as_utc(data.received_at) if data.received_at else now
    info = _resolve_place(session, actor=actor, data=data)
    due = due_at(received_at, category.deadline, profile.calendar)
    case = Case(
        kind=data.kind,
        source=data.source,
        external_id=data.external_id,
        token=new_tracking_code(),
        category_code=category.code,
        content=data.content,
        address=data.address,
        lat=data.lat,
        lon=data.lon,
        media_url=data.media_url or (data.media_urls[0] if data.media_urls else None),
        media_urls=_all_links(data.media_url, data.media_urls),
        attributes=attributes,
        jurisdiction_code=info.code if info else None,
        jurisdiction_path=info.path if info else None,
        community_code=info.community_code if info else None,
        requester_user_id=actor.user_id if actor.role == Role.resident else None,
        requester_name=data.requester_name,
        requester_phone=data.requester_phone,
        requester_id_number=data.requester_id_number,
        requester_email=data.requester_email,
        state=State.received.value,
        urgency=category.urgency,
        received_at=received_at,
        due_at=due,
        original_due_at=due,
        created_at=now,
        updated_at=now,
    )
    case.refresh_clock()
    photos = {"photos": list(data.photos)} if data.photos else {}
    event = _event(case, action=Action.create, from_state=None, actor=actor, now=now, data=photos)
    event.case = case
    # One flush inserts both: the event's case_id is filled in from the new case's id.
    session.add_all([case, event])
    try:
        session.flush()
    except IntegrityError as exc:
        # Lost a race for the same external_id: the transaction is spoiled, the caller
        # rolls back; the client hears what the check above would have said.
        if data.external_id is None:
            raise
        raise Duplicate(
            f"external_id '{data.external_id}' of source '{data.source}' is taken",
            field="external_id",
            source=data.source,
        ) from exc
    events.publish(
        events.CaseCreated(
            session=session, now=now, case=case, actor=actor, photos=data.photos, profile=profile
        )
    )
    return case


def _event(
    case: Case,
    *,
    action: Action,
    from_state: str | None,
    actor: Actor,
    now: datetime,
    data: dict[str, Any],
    comment: str = "",
    department_code: str | None = None,
) -> CaseEvent:
    return CaseEvent(
        case_id=case.id,
        action=action.value,
        from_state=from_state,
        to_state=case.state,
        at=now,
        actor_user_id=actor.user_id,
        actor_name=actor.username,
        actor_role=actor.role.value,
        department_code=department_code or case.department_code,
        comment=comment,
        rating=data.get("rating") if action == Action.callback else None,
        data=_jsonable(data),
    )


def _jsonable(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v.isoformat() if isinstance(v, datetime) else v for k, v in data.items()}


def record_on_timeline(
    session: Session,
    *,
    case: Case,
    actor: Actor,
    kind: str,
    now: datetime,
    comment: str = "",
    data: dict[str, Any] | None = None,
    acknowledges: bool = False,
) -> CaseEvent:
    """Put on the case's timeline something done about it outside the case engine (e.g. its
    device alarm acknowledged or marked a false alarm), without moving the case: its state,
    version and clock stay, and the event's ``from_state`` is its ``to_state``, like the
    engine's own actions that record without moving (``transitions._STAYS``).

    ``kind`` is the event's ``action``; it must not be one of the engine's actions, so a
    timeline never shows an action that the engine did not take. ``acknowledges``: the
    person has seen what the case is about (published with :class:`events.CaseNoted`).
    """
    if kind in {a.value for a in Action}:
        raise ValueError(f"'{kind}' is a case action: take it with perform_action")
    event = CaseEvent(
        case_id=case.id,
        action=kind,
        from_state=case.state,
        to_state=case.state,
        at=now,
        actor_user_id=actor.user_id,
        actor_name=actor.username,
        actor_role=actor.role.value,
        department_code=case.department_code,
        comment=comment,
        data=_jsonable(data or {}),
    )
    session.add(event)
    events.publish(
        events.CaseNoted(
            session=session,
            now=now,
            case=case,
            actor=actor,
            kind=kind,
            acknowledges=acknowledges,
        )
    )
    return event


def perform_action(
    session: Session,
    *,
    actor: Actor,
    case_id: int,
    action: Action,
    body: ActionInput,
    now: datetime | None = None,
) -> Case:
    """Check the state table, the version and the actor; apply the rule; record the event."""
    now = now or utcnow()
    profile = get_profile(session)
    case = get_case_for(session, actor=actor, case_id=case_id)
    if body.version != case.version:
        raise StaleVersion(expected=body.version, actual=case.version)
    if body.photos and action not in (Action.resolve, Action.comment):
        raise InvalidInput("photos go with the resolve and comment actions only", field="photos")
    if body.media_urls and action != Action.comment:
        raise InvalidInput("picture links go with the comment action only", field="media_urls")
    # The versioned UPDATE may run at any flush from here on — an autoflush before a query
    # in the rule, the follow-up or the repeats it answers — so the whole step is guarded:
    # a concurrent writer got there first, and every loser hears 409, never a 500.
    try:
        _apply(session, case=case, actor=actor, action=action, body=body, now=now, profile=profile)
        session.flush()
    except StaleDataError as exc:
        # The transaction is spoiled; it is the caller's to roll back (one use case, one
        # transaction, owned by the route or the CLI), so the current version is not read.
        raise StaleVersion(expected=body.version, actual=None) from exc
    return case


def _apply(
    session: Session,
    *,
    case: Case,
    actor: Actor,
    action: Action,
    body: ActionInput,
    now: datetime,
    profile: TownProfile,
    automatic: bool = False,
) -> None:
    state = State(case.state)
    target = next_state(state, action)
    if target is None:
        raise IllegalTransition(
            action=action.value, state=state.value, allowed=allowed_actions(state)
        )
    check_may_act(actor, action, case, profile)
    department_before = case.department_code
    due_before = case.due_at
    outcome = rules.RULES[action](
        rules.ActionContext(
            session=session, case=case, actor=actor, body=body, now=now, profile=profile
        )
    )
    case.state = target.value
    case.updated_at = now
    case.refresh_clock()
    department = department_before if action == Action.return_ else None
    session.add(
        _event(
            case,
            action=action,
            from_state=state.value,
            actor=actor,
            now=now,
            data={**outcome.data, "photos": body.photos} if body.photos else outcome.data,
            comment=body.comment or (body.reason or ""),
            department_code=department,
        )
    )
    events.publish(
        events.CaseActed(
            session=session,
            now=now,
            case=case,
            actor=actor,
            action=action,
            from_state=state.value,
            to_state=target.value,
            photos=body.photos,
            data=outcome.data,
            automatic=automatic,
            profile=profile,
        )
    )
    if case.due_at != due_before:
        events.publish(
            events.DeadlineMoved(
                session=session,
                now=now,
                case=case,
                action=action,
                old_due_at=due_before,
                new_due_at=case.due_at,
            )
        )
    if action == Action.resolve:
        _answer_repeats(session, master=case, now=now, profile=profile)
    if outcome.follow_up is not None:
        follow_body = ActionInput(version=case.version, comment=f"auto: after {action.value}")
        _apply(
            session,
            case=case,
            actor=SYSTEM,
            action=outcome.follow_up,
            body=follow_body,
            now=now,
            profile=profile,
            automatic=True,
        )


def _answer_repeats(session: Session, *, master: Case, now: datetime, profile: TownProfile) -> None:
    """Resolving a case answers its linked repeats: each requester gets the reply and their
    own callback."""
    repeats = session.scalars(
        select(Case).where(Case.duplicate_of_id == master.id, Case.state == State.linked.value)
    )
    for repeat in repeats:
        body = ActionInput(
            version=repeat.version,
            reply=master.reply,
            comment=f"与工单 #{master.id} 合并办理 / answered with case {master.id}",
        )
        _apply(
            session,
            case=repeat,
            actor=SYSTEM,
            action=Action.resolve,
            body=body,
            now=now,
            profile=profile,
            automatic=True,
        )


def get_case_for(session: Session, *, actor: Actor, case_id: int) -> Case:
    """Load a case the actor may see, or raise NotFound (existence is not leaked)."""
    case = session.scalars(select(Case).where(Case.id == case_id, visible_cases(actor))).first()
    if case is None:
        raise NotFound(f"case {case_id} not found", case_id=case_id)
    return case


@dataclass(frozen=True)
class CaseFilters:
    state: list[str] | None = None
    kind: str | None = None
    category: str | None = None
    department: str | None = None
    jurisdiction: str | None = None
    community: str | None = None  # the community in charge, or the one the case lies in
    source: list[str] | None = None
    overdue: bool | None = None
    open: bool | None = None
    received_from: datetime | None = None
    received_to: datetime | None = None
    due_from: datetime | None = None
    due_to: datetime | None = None
    extension: str | None = None  # cases with an extension request in this status
    mine: bool | None = None  # True: only the cases the caller's unit holds; False: the others
    q: str | None = None  # text in the content or address; a tracking code; #id
    phone: str | None = None  # the requester's phone (digits compared)
    order: str = "-received_at"


_ORDERS = {
    "-received_at": (Case.received_at.desc(), Case.id.desc()),
    "received_at": (Case.received_at.asc(), Case.id.asc()),
    "due_at": (Case.due_at.asc(), Case.id.asc()),
    # Work queues (open / overdue filters) order on the open-cases-only deadline index.
    "open_due_at": (Case.open_due_at.asc(), Case.id.asc()),
    "-due_at": (Case.due_at.desc(), Case.id.desc()),
    "id": (Case.id.asc(),),
    "-id": (Case.id.desc(),),
}
#: The orders a client may ask for (``open_due_at`` is chosen by the server itself).
ORDERS = ("-received_at", "received_at", "due_at", "-due_at", "id", "-id")

#: The longest text a search takes (a sentence; the column's own limits are far above).
MAX_QUERY_LENGTH = 100
_CASE_ID = re.compile(r"#\s*(\d{1,10})|(\d{1,10})")
_TRACKING_CODE = re.compile(r"[A-Za-z0-9]{6,40}")
# A run of seven digits or more (separators allowed) is a number :func:`mask_text` hides:
# searching the text for it is a search by contact data.
_CONTACT_NUMBER = re.compile(r"\d(?:[\s\-.]?\d){6,}")
# What people type between a phone's digits; the column is compared without them.
_PHONE_SEPARATORS = (" ", "-", "+", "(", ")", ".", "/", "\u3000")


def _digits_of(column: Any) -> Any:
    for separator in _PHONE_SEPARATORS:
        column = func.replace(column, separator, "")
    return column


def _phone_match(phone: str) -> ColumnElement[bool]:
    digits = re.sub(r"\D", "", phone)
    if not 3 <= len(digits) <= 20:
        raise InvalidInput("phone must hold 3 to 20 digits", field="phone")
    if len(digits) == 13 and digits.startswith("86"):
        digits = digits[2:]  # +86 138…: the country code is not part of the number
    stored: ColumnElement[str] = _digits_of(Case.requester_phone)
    return stored.in_([digits, f"86{digits}"])


def _text_match(q: str, actor: Actor, profile: TownProfile, dialect: str) -> ColumnElement[bool]:
    """A case whose content or address holds ``q`` (any case of letters), or the case
    whose id (``#123``, ``123``) or tracking code ``q`` is. The text is looked up in the
    bigram index first (:mod:`townops.cases.search`), then compared exactly."""
    found: list[ColumnElement[bool]] = []
    number = _CASE_ID.fullmatch(q)
    if number is not None:
        case_id = int(number.group(1) or number.group(2))
        if 1 <= case_id <= MAX_DB_ID:
            found.append(Case.id == case_id)
        if number.group(1):  # "#123" names a case, nothing else
            return or_(*found) if found else false()
    if _TRACKING_CODE.fullmatch(q):
        found.append(Case.token == q.upper())
    needle = q.lower()
    text: ColumnElement[bool] = or_(
        func.lower(Case.content).contains(needle, autoescape=True),
        func.lower(Case.address).contains(needle, autoescape=True),
    )
    indexed = search.candidates(needle, dialect)
    if indexed is not None:
        # The index's candidates hold every case the LIKE finds: the same rows, fast.
        candidates, exact = indexed
        text = candidates if exact else and_(candidates, text)
    if _CONTACT_NUMBER.search(q):
        # A phone typed into the text: only the caller's own unmasked cases may answer.
        check_may_search_contact(actor, profile, field="q")
        text = and_(text, contact_shown(actor, profile))
    found.append(text)
    return or_(*found)


def _filtered(
    session: Session, actor: Actor, f: CaseFilters, now: datetime, profile: TownProfile
) -> Any:
    stmt = select(Case).where(visible_cases(actor))
    if f.state:
        stmt = stmt.where(Case.state.in_(f.state))
    if f.kind:
        stmt = stmt.where(Case.kind == f.kind)
    if f.category:
        stmt = stmt.where(Case.category_code == f.category)
    if f.department:
        stmt = stmt.where(Case.department_code == f.department)
    if f.jurisdiction:
        stmt = stmt.where(
            Case.jurisdiction_path.startswith(place(session, f.jurisdiction).path, autoescape=True)
        )
    if f.community:
        community = find_place(session, f.community)
        if community is None or community.community_code != community.code:
            raise InvalidInput(f"unknown community '{f.community}'", field="community")
        stmt = stmt.where(
            (Case.community_code == community.code)
            | (Case.assignee_community_code == community.code)
        )
    if f.source:
        stmt = stmt.where(Case.source.in_(f.source))
    # "Open" = the handling clock runs: someone must act (received … reopened).
    if f.open is True:
        stmt = stmt.where(Case.open_due_at.is_not(None))
    elif f.open is False:
        stmt = stmt.where(Case.open_due_at.is_(None))
    if f.overdue is True:
        stmt = stmt.where(Case.open_due_at < now)
    elif f.overdue is False:
        stmt = stmt.where(Case.open_due_at.is_(None) | (Case.open_due_at >= now))
    if f.received_from:
        stmt = stmt.where(Case.received_at >= as_utc(f.received_from))
    if f.received_to:
        stmt = stmt.where(Case.received_at < as_utc(f.received_to))
    if f.due_from:
        stmt = stmt.where(Case.due_at >= as_utc(f.due_from))
    if f.due_to:
        stmt = stmt.where(Case.due_at < as_utc(f.due_to))
    if f.extension:
        stmt = stmt.where(
            exists(
                select(Extension.id).where(
                    Extension.case_id == Case.id, Extension.status == f.extension
                )
            )
        )
    if f.mine is True:
        stmt = stmt.where(in_hands_of(actor))
    elif f.mine is False:
        # NULL-safe: a case with no unit in charge yet is "not mine" too.
        stmt = stmt.where(not_(func.coalesce(in_hands_of(actor), false())))
    q = (f.q or "").strip()
    if len(q) > MAX_QUERY_LENGTH:
        raise InvalidInput(f"q may be at most {MAX_QUERY_LENGTH} characters", field="q")
    if q:
        stmt = stmt.where(_text_match(q, actor, profile, session.get_bind().dialect.name))
    if f.phone is not None:
        # Only a role shown phones may search by one, and only among the cases whose
        # phone it is shown: a search never tells a masked number.
        check_may_search_contact(actor, profile, field="phone")
        stmt = stmt.where(_phone_match(f.phone), contact_shown(actor, profile))
    return stmt


def search_cases(
    session: Session, *, actor: Actor, filters: CaseFilters, now: datetime | None = None
) -> Any:
    """The filtered, ordered statement of the cases ``actor`` may see (unpaged): the list's
    and the export's one query."""
    now = now or utcnow()
    if filters.order not in ORDERS:
        raise InvalidInput(f"unknown order '{filters.order}'", field="order", allowed=list(ORDERS))
    stmt = _filtered(session, actor, filters, now, get_profile(session))
    order = filters.order
    if order == "due_at" and (filters.open or filters.overdue):
        order = "open_due_at"  # same order for open cases, served by the partial index
    return stmt.order_by(*_ORDERS[order])


def list_cases_for(
    session: Session,
    *,
    actor: Actor,
    filters: CaseFilters,
    page: int = 1,
    page_size: int = 50,
    with_total: bool = False,
    now: datetime | None = None,
) -> tuple[list[Case], bool, int | None]:
    stmt = search_cases(session, actor=actor, filters=filters, now=now)
    rows = list(session.scalars(stmt.limit(page_size + 1).offset((page - 1) * page_size)))
    total = None
    if with_total:
        total = count_cases(session, stmt)
    return rows[:page_size], len(rows) > page_size, total


def count_cases(session: Session, stmt: Any) -> int:
    """How many rows a :func:`search_cases` statement selects."""
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def case_history(session: Session, *, actor: Actor, case_id: int) -> list[CaseEvent]:
    get_case_for(session, actor=actor, case_id=case_id)
    return list(
        session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == case_id).order_by(CaseEvent.id)
        )
    )
