"""Turn cases into API output, applying the phone / ID masking rules for the viewer."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.access.contact import ContactView
from townops.cases.access import CaseFacts, actions_for, case_contact
from townops.cases.enums import CLOCK_STATES
from townops.cases.models import Case, CaseEvent, Extension, Summons
from townops.cases.schemas import CaseOut, EventOut, ExtensionOut, Requester, SummonsOut
from townops.categories.service import CategoryInfo, find_category
from townops.deadlines import is_overdue, time_left
from townops.timeutil import utcnow
from townops.towns.profile import TownProfile

_CLOCK = {s.value for s in CLOCK_STATES}


def _requester(case: Case, contact: ContactView) -> Requester:
    return Requester(
        name=contact.name(case.requester_name),
        phone=contact.phone(case.requester_phone),
        id_number=contact.id_number(case.requester_id_number),
        email=contact.email(case.requester_email),
        masked=not contact.full,
    )


def _attributes(values: dict[str, Any] | None, contact: ContactView) -> dict[str, Any]:
    """Attribute values as the viewer may see them: typed-in numbers masked like free text."""
    return {
        code: value if isinstance(value, list) else contact.text(str(value)) or ""
        for code, value in (values or {}).items()
    }


def present_case(
    case: Case,
    *,
    actor: Actor,
    profile: TownProfile,
    session: Session | None = None,
    now: datetime | None = None,
    category: CategoryInfo | None = None,
    facts: CaseFacts | None = None,
) -> CaseOut:
    """The case as the engine holds it, as ``actor`` may see it (what the domains attach to
    it, routing and photos, is :mod:`townops.casefile`'s). With ``session`` the details
    (summonses, extensions) are loaded; a list passes the page's ``facts``
    (:func:`townops.cases.access.load_facts`) instead, so it offers the same actions."""
    now = now or utcnow()
    running = case.state in _CLOCK
    contact = case_contact(actor, case, profile)
    out = CaseOut(
        id=case.id,
        token=case.token,
        kind=case.kind,
        source=case.source,
        external_id=case.external_id,
        category=case.category_code,
        category_name_zh=category.name_zh if category else None,
        category_name_en=category.name_en if category else None,
        content=contact.text(case.content) or "",
        address=contact.address(case.address),
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
        reply=contact.text(case.reply),
        rating=case.rating,
        return_count=case.return_count,
        reopen_count=case.reopen_count,
        extension_count=case.extension_count,
        supervision_count=case.supervision_count,
        duplicate_of=case.duplicate_of_id,
        attributes=_attributes(case.attributes, contact),
        media_urls=list(case.media_urls or ()),
        requester=_requester(case, contact),
        allowed_actions=[],
    )
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
        facts = CaseFacts(
            pending_extension=any(e.status == "pending" for e in out.extensions),
            pending_summons=frozenset(
                s.department for s in out.summonses if s.reported_in_at is None
            ),
        )
        out.allowed_actions = actions_for(actor, case, profile, facts=facts, now=now)
    else:
        # Without the facts, what depends on them is not offered rather than guessed.
        out.allowed_actions = actions_for(actor, case, profile, facts=facts, now=now)
    return out


def present_event(event: CaseEvent, contact: ContactView | None = None) -> EventOut:
    """One timeline row; with a masked ``contact`` view, numbers typed into its comment
    and its texts (a reply) are masked as on the case itself."""
    masked = contact is not None and not contact.full
    comment, data = event.comment, event.data
    if contact is not None and masked:
        comment = contact.text(comment) or ""
        data = {k: contact.text(v) if isinstance(v, str) else v for k, v in data.items()}
    return EventOut(
        id=event.id,
        action=event.action,
        from_state=event.from_state,
        to_state=event.to_state,
        at=event.at,
        actor=event.actor_name,
        actor_role=event.actor_role,
        department=event.department_code,
        comment=comment,
        data=data,
    )
