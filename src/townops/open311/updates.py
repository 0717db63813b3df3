"""Service request updates, both ways: mySociety's extension of GeoReport v2, which
FixMyStreet calls on every run (``GET`` and ``POST /servicerequestupdates``).

Out: each step of a public case that a resident should hear of is one update, read from
the case's history (the engine's events): ``update_id`` is the event's id, ``status`` the
extension's word for where the step left the case, ``description`` what a resident may
read (the reply, the requester's own comment, or a sentence for the step; never an
internal reason), ``media_url`` the step's first photo (a resolution photo, a photo sent
with a comment) as a signed link. What is public follows the public-output policy
(:mod:`townops.open311.publication`), exactly as ``GET /requests``.

In: a requester's comment or photo becomes the engine's ``comment`` action on the case;
``OPEN`` on a resolved or closed case also asks the engine to reopen it, under the
engine's own rules (the state table and the client's role), and the comment is kept
whether or not it may.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.cases.enums import Action, State
from townops.cases.models import Case, CaseEvent
from townops.cases.schemas import ActionInput
from townops.cases.service import perform_action
from townops.errors import DomainError, Forbidden, IllegalTransition
from townops.media import PhotoOut, present_photos_of_cases
from townops.open311.config import Open311Public
from townops.open311.formats import Locale
from townops.open311.publication import public_condition, public_text, publishes_reply
from townops.open311.schemas import SubmittedForm, UpdateQuery, parse_update
from townops.open311.service import (
    CLOSED_STATES,
    MAX_RESULTS,
    STATE_NOTES,
    check_jurisdiction,
    client_actor_of,
    client_key,
    first_photo,
    get_request,
    pick,
    store_client_photos,
    town_zone,
    w3_datetime,
)
from townops.timeutil import utcnow
from townops.towns.profile import get_profile

__all__ = ["STATUS_OF_STATE", "find_updates", "post_update", "present_updates"]

#: The extension's status for where a step left the case.
STATUS_OF_STATE: dict[str, str] = {
    State.received: "OPEN",
    State.dispatched: "ACTION_SCHEDULED",
    State.accepted: "IN_PROGRESS",
    State.returned: "INVESTIGATING",
    State.linked: "DUPLICATE",
    State.resolved: "FIXED",
    State.callback: "FIXED",
    State.reopened: "OPEN",
    State.closed: "CLOSED",
}

# The steps a resident hears of, and what each says when it carries no text of its own.
_STEP_TEXT: dict[str, tuple[str, str]] = {
    Action.dispatch: STATE_NOTES[State.dispatched],
    Action.accept: STATE_NOTES[State.accepted],
    Action.first_contact: ("承办单位已与您联系", "The responsible unit has been in touch"),
    Action.return_: ("正在重新派单", "Being dispatched again"),
    Action.link: STATE_NOTES[State.linked],
    Action.resolve: ("已办结", "Resolved"),
    Action.reopen: ("重新办理", "Reopened"),
    Action.close: STATE_NOTES[State.closed],
    Action.comment: ("补充了照片", "Added a photo"),
}
PUBLISHED_ACTIONS = tuple(str(action) for action in _STEP_TEXT)
# A comment is published only if a client sent it: one taken down by the town's staff
# for a caller may hold what the caller said in confidence.
_CLIENT_PREFIX = "open311:"

_REOPEN_NOTE = "诉求人通过 Open311 反映问题仍未解决，申请重办"


# --- out ---------------------------------------------------------------------------------


def find_updates(
    session: Session, *, query: UpdateQuery, now: datetime | None = None
) -> list[CaseEvent]:
    """The published steps of public cases in the window, told oldest first, at most 1,000:
    from ``start_date`` on (a client walks on from the last ``updated_datetime`` it got;
    ``update_id`` tells the steps it has already seen), or without one the latest."""
    public = public_condition(get_profile(session).config(Open311Public))
    start, end = query.window(now or utcnow())
    stmt = (
        select(CaseEvent)
        .join(Case, Case.id == CaseEvent.case_id)
        .where(
            public,
            CaseEvent.at >= start,
            CaseEvent.action.in_(PUBLISHED_ACTIONS),
            or_(
                CaseEvent.action != Action.comment.value,
                CaseEvent.actor_name.startswith(_CLIENT_PREFIX, autoescape=True),
            ),
        )
    )
    if end is not None:
        stmt = stmt.where(CaseEvent.at <= end)
    if query.ids is not None:
        stmt = stmt.where(CaseEvent.case_id.in_(query.ids))
    if query.start is None:
        # No start: the latest 1,000 (a poller that sends no dates wants what is new), still
        # told oldest first.
        stmt = stmt.order_by(CaseEvent.at.desc(), CaseEvent.id.desc()).limit(MAX_RESULTS)
        return list(reversed(session.scalars(stmt).all()))
    stmt = stmt.order_by(CaseEvent.at, CaseEvent.id).limit(MAX_RESULTS)
    return list(session.scalars(stmt))


@dataclass(frozen=True)
class _Context:
    locale: Locale
    base_url: str
    photos: dict[int, PhotoOut]
    zone: ZoneInfo
    policy: Open311Public
    sources: dict[int, str]  # case id → source, for publishes_reply
    # A repeat (重复件) is answered with its master: the master's resolution photo.
    master_photos: dict[int, PhotoOut | None]
    # A repeat's public master, named in the DUPLICATE update.
    public_masters: dict[int, int]


def present_updates(
    session: Session, *, events: Sequence[CaseEvent], locale: Locale, base_url: str
) -> list[dict[str, Any]]:
    """Steps as the extension's ``request_update`` rows, every text as published."""
    profile = get_profile(session)
    case_ids = sorted({e.case_id for e in events})
    rows = session.execute(
        select(Case.id, Case.source, Case.duplicate_of_id).where(Case.id.in_(case_ids))
    )
    sources: dict[int, str] = {}
    masters: dict[int, int] = {}
    for case_id, source, master in rows:
        sources[case_id] = source
        if master is not None:
            masters[case_id] = master
    policy = profile.config(Open311Public)
    # A repeat names the request it joins, if that one is public too.
    public_masters = (
        set(
            session.scalars(
                select(Case.id).where(
                    Case.id.in_(sorted(set(masters.values()))), public_condition(policy)
                )
            )
        )
        if masters
        else set()
    )
    with_photos = {e.case_id for e in events if (e.data or {}).get("photos")}
    by_case = present_photos_of_cases(session, case_ids=sorted(with_photos | set(masters.values())))
    context = _Context(
        locale,
        base_url,
        {p.id: p for listed in by_case.values() for p in listed},
        town_zone(profile),
        policy,
        sources,
        {case: first_photo(by_case.get(master), "resolve") for case, master in masters.items()},
        {case: master for case, master in masters.items() if master in public_masters},
    )
    return [_update(event, context) for event in events]


def _update(event: CaseEvent, context: _Context) -> dict[str, Any]:
    return {
        "update_id": str(event.id),
        "service_request_id": str(event.case_id),
        "status": STATUS_OF_STATE.get(event.to_state, "OPEN"),
        "updated_datetime": w3_datetime(event.at, context.zone),
        "description": public_text(_description(event, context)),
        "media_url": _photo(event, context),
    }


def _description(event: CaseEvent, context: _Context) -> str:
    data = event.data or {}
    reply = data.get("reply") if event.action == Action.resolve.value else None
    if reply and publishes_reply(context.sources.get(event.case_id, ""), context.policy):
        return str(reply)
    if event.action == Action.comment.value and event.comment.strip():
        return event.comment
    master = context.public_masters.get(event.case_id)
    if event.action == Action.link.value and master is not None:
        return pick(
            context.locale,
            f"与此前反映的同一问题（编号 {master}）合并办理",
            f"Handled together with an earlier report of the same problem (request {master})",
        )
    zh, en = _STEP_TEXT.get(event.action, ("处理中", "In hand"))
    return pick(context.locale, zh, en)


def _photo(event: CaseEvent, context: _Context) -> str | None:
    for photo_id in (event.data or {}).get("photos") or ():
        photo = context.photos.get(int(photo_id))
        if photo is not None:
            return context.base_url + photo.url
    if event.action == Action.resolve.value:
        master = context.master_photos.get(event.case_id)
        return context.base_url + master.url if master is not None else None
    links = (event.data or {}).get("media_urls") or ()
    return str(links[0]) if links else None


# --- in ----------------------------------------------------------------------------------


def post_update(session: Session, *, form: SubmittedForm, now: datetime | None = None) -> int:
    """Record a requester's comment or photo sent by a client; the new ``update_id``.

    The same ``update_id`` from the same client again answers the update it made the
    first time, and changes nothing.
    """
    update = parse_update(form)
    actor = client_actor_of(client_key(session, api_key=update.api_key))
    check_jurisdiction(session, jurisdiction_id=update.jurisdiction_id)
    case = get_request(session, service_request_id=str(update.case_id()))
    if update.update_id and (seen := _earlier(session, case, actor, update.update_id)):
        return seen
    text = update.description or ""
    photos = store_client_photos(session, actor=actor, files=form.files, now=now)
    if not text and not photos and not update.media_urls:
        raise DomainError("description was not provided: say what to add, or send a photo")
    perform_action(
        session,
        actor=actor,
        case_id=case.id,
        action=Action.comment,
        body=ActionInput(
            version=case.version,
            comment=text,
            photos=photos,
            reference=update.update_id,
            media_urls=update.media_urls,
        ),
        now=now,
    )
    update_id = _last_comment(session, case)
    if update.status in ("OPEN", "REOPEN") and case.state in CLOSED_STATES:
        _ask_to_reopen(session, case=case, actor=actor, now=now)
    return update_id


def _earlier(session: Session, case: Case, actor: Actor, reference: str) -> int | None:
    rows = session.execute(
        select(CaseEvent.id, CaseEvent.data).where(
            CaseEvent.case_id == case.id,
            CaseEvent.action == Action.comment.value,
            CaseEvent.actor_name == actor.username,
        )
    )
    return next((i for i, data in rows if (data or {}).get("reference") == reference), None)


def _last_comment(session: Session, case: Case) -> int:
    session.flush()
    found = session.scalar(
        select(CaseEvent.id)
        .where(CaseEvent.case_id == case.id, CaseEvent.action == Action.comment.value)
        .order_by(CaseEvent.id.desc())
        .limit(1)
    )
    assert found is not None  # the comment was just recorded
    return found


def _ask_to_reopen(session: Session, *, case: Case, actor: Actor, now: datetime | None) -> None:
    """Reopen through the engine; if its rules refuse (the state, the client's role), the
    comment stands alone and the town's staff decide."""
    try:
        perform_action(
            session,
            actor=actor,
            case_id=case.id,
            action=Action.reopen,
            body=ActionInput(version=case.version, comment=_REOPEN_NOTE),
            now=now,
        )
    except (IllegalTransition, Forbidden):
        return
