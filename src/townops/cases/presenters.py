"""Turn cases into API output, applying the phone / ID masking rules for the viewer."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.auth.actor import Actor
from townops.cases.access import can_see_full_phone
from townops.cases.deadlines import is_overdue, time_left
from townops.cases.enums import CLOCK_STATES, Action, Role
from townops.cases.models import Case, CaseEvent, Extension, Summons
from townops.cases.schemas import CaseOut, EventOut, ExtensionOut, Requester, SummonsOut
from townops.cases.service import actions_for
from townops.categories.service import CategoryInfo, find_category
from townops.dispatch.models import RoutingDecision
from townops.dispatch.schemas import RoutingOut
from townops.media.presenters import present_case_photos
from townops.timeutil import utcnow
from townops.towns.profile import TownProfile

_CLOCK = {s.value for s in CLOCK_STATES}


def mask_phone(phone: str) -> str:
    """138****1234: keep the first three and last four digits of a number."""
    digits = phone.strip()
    if len(digits) >= 7:
        return f"{digits[:3]}****{digits[-4:]}"
    return "*" * len(digits)


def mask_id_number(value: str) -> str:
    """310***********1234 for a resident ID number."""
    v = value.strip()
    if len(v) > 7:
        return f"{v[:3]}{'*' * (len(v) - 7)}{v[-4:]}"
    return "*" * len(v)


def _requester(case: Case, full: bool) -> Requester:
    if full:
        return Requester(
            name=case.requester_name,
            phone=case.requester_phone,
            id_number=case.requester_id_number,
            masked=False,
        )
    name = case.requester_name[:1] + "*" * max(len(case.requester_name) - 1, 0)
    return Requester(
        name=name,
        phone=mask_phone(case.requester_phone),
        id_number=mask_id_number(case.requester_id_number),
        masked=True,
    )


def present_case(
    case: Case,
    *,
    actor: Actor,
    profile: TownProfile,
    session: Session | None = None,
    now: datetime | None = None,
    category: CategoryInfo | None = None,
    routing: RoutingDecision | None = None,
) -> CaseOut:
    now = now or utcnow()
    running = case.state in _CLOCK
    out = CaseOut(
        id=case.id,
        token=case.token,
        kind=case.kind,
        source=case.source,
        external_id=case.external_id,
        category=case.category_code,
        category_name_zh=category.name_zh if category else None,
        category_name_en=category.name_en if category else None,
        content=case.content,
        address=case.address,
        lat=case.lat,
        lon=case.lon,
        jurisdiction=case.jurisdiction_code,
        community=case.community_code,
        department=case.department_code,
        assignee_community=case.assignee_community_code,
        state=case.state,
        version=case.version,
        urgency=case.urgency,
        received_at=case.received_at,
        due_at=case.due_at,
        original_due_at=case.original_due_at,
        overdue=running and is_overdue(case.due_at, now),
        seconds_left=int(time_left(case.due_at, now).total_seconds()) if running else 0,
        breached=case.breached,
        dispatched_at=case.dispatched_at,
        accepted_at=case.accepted_at,
        first_contact_due_at=case.first_contact_due_at,
        first_contact_at=case.first_contact_at,
        first_contact_overdue=(
            case.first_contact_at is None
            and case.first_contact_due_at is not None
            and running
            and is_overdue(case.first_contact_due_at, now)
        ),
        resolved_at=case.resolved_at,
        closed_at=case.closed_at,
        reply=case.reply,
        rating=case.rating,
        return_count=case.return_count,
        reopen_count=case.reopen_count,
        extension_count=case.extension_count,
        supervision_count=case.supervision_count,
        duplicate_of=case.duplicate_of_id,
        requester=_requester(case, can_see_full_phone(actor, case, profile)),
        allowed_actions=actions_for(actor, case, profile),
    )
    if Action.request_extension.value in out.allowed_actions and now > case.due_at:
        out.allowed_actions.remove(Action.request_extension.value)
    if session is not None and routing is None:
        routing = session.get(RoutingDecision, case.id)
    if routing is not None and actor.role != Role.resident:
        notes = {rule.name: rule.note for rule in profile.dispatch.rules if rule.note}
        out.routing = RoutingOut.of(routing, notes)
    if session is not None:
        cat = category or find_category(session, case.category_code)
        if cat is not None:
            out.category_name_zh, out.category_name_en = cat.name_zh, cat.name_en
        out.summonses = [
            SummonsOut(
                department=s.department_code,
                summoned_at=s.summoned_at,
                report_in_due_at=s.report_in_due_at,
                reported_in_at=s.reported_in_at,
                overdue=s.reported_in_at is None and now > s.report_in_due_at,
            )
            for s in session.scalars(
                select(Summons).where(Summons.case_id == case.id).order_by(Summons.id)
            )
        ]
        out.extensions = [
            ExtensionOut.model_validate(e, from_attributes=True)
            for e in session.scalars(
                select(Extension).where(Extension.case_id == case.id).order_by(Extension.id)
            )
        ]
        out.allowed_actions = _drop_impossible(out, actor)
        out.photos = present_case_photos(session, case_id=case.id)
    else:
        # Without the summonses and extensions loaded, do not offer what depends on them.
        out.allowed_actions = [a for a in out.allowed_actions if a not in _NEEDS_DETAIL]
    return out


# Actions that need a pending summons or a pending extension request to succeed.
_NEEDS_DETAIL = frozenset(
    {Action.report_in.value, Action.approve_extension.value, Action.deny_extension.value}
)


def _drop_impossible(out: CaseOut, actor: Actor) -> list[str]:
    """Offer only what would succeed now: the hints a client builds its buttons from."""
    pending_extension = any(e.status == "pending" for e in out.extensions)
    summoned = {s.department for s in out.summonses if s.reported_in_at is None}
    may_report = bool(summoned) and (
        actor.role != Role.handler or actor.department_code in summoned
    )
    keep = []
    for action in out.allowed_actions:
        deciding = action in (Action.approve_extension.value, Action.deny_extension.value)
        if deciding and not pending_extension:
            continue
        if action == Action.request_extension.value and pending_extension:
            continue
        if action == Action.report_in.value and not may_report:
            continue
        keep.append(action)
    return keep


def present_event(event: CaseEvent) -> EventOut:
    return EventOut(
        id=event.id,
        action=event.action,
        from_state=event.from_state,
        to_state=event.to_state,
        at=event.at,
        actor=event.actor_name,
        actor_role=event.actor_role,
        department=event.department_code,
        comment=event.comment,
        data=event.data,
    )
