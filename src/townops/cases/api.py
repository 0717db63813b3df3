"""REST routes of the case engine: lists and timelines (thin). Filing, reading and acting
on one case answer with the whole case file: :mod:`townops.casefile.api`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from townops.api.deps import ActorDep, ProfileDep, SessionDep, SettingsDep
from townops.api.params import BoundedDatetime, DbId, PageNumber
from townops.cases import service
from townops.cases.access import case_contact, load_facts
from townops.cases.enums import ExtensionStatus, State
from townops.cases.intake import kinds_filed_by
from townops.cases.kinds import case_kinds, kind_rule
from townops.cases.presenters import present_case, present_event
from townops.cases.schemas import CaseKindOut, CasePage, EventOut
from townops.errors import InvalidInput

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
kinds_router = APIRouter(prefix="/api/v1/case-kinds", tags=["cases"])


@router.get("", response_model=CasePage)
def list_cases(
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
    settings: SettingsDep,
    state: Annotated[list[State] | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    category: str | None = None,
    department: str | None = None,
    jurisdiction: str | None = None,
    overdue: bool | None = None,
    open: bool | None = None,
    received_from: BoundedDatetime | None = None,
    received_to: BoundedDatetime | None = None,
    extension: ExtensionStatus | None = None,
    mine: Annotated[
        bool | None,
        Query(
            description="true: only the cases your own unit (department, community) holds; "
            "false: only the others you can see"
        ),
    ] = None,
    order: str = "-received_at",
    page: PageNumber = 1,
    page_size: Annotated[int, Query(ge=1)] = 50,
    with_total: bool = False,
) -> CasePage:
    if page_size > settings.page_size_max:
        raise InvalidInput(f"page_size may be at most {settings.page_size_max}", field="page_size")
    if kind is not None and kind_rule(kind) is None:
        raise InvalidInput(f"unknown case kind {kind!r}", field="kind")
    filters = service.CaseFilters(
        state=[s.value for s in state] if state else None,
        kind=kind,
        category=category,
        department=department,
        jurisdiction=jurisdiction,
        overdue=overdue,
        open=open,
        received_from=received_from,
        received_to=received_to,
        extension=extension.value if extension else None,
        mine=mine,
        order=order,
    )
    rows, has_more, total = service.list_cases_for(
        session, actor=actor, filters=filters, page=page, page_size=page_size, with_total=with_total
    )
    facts = load_facts(session, [c.id for c in rows])
    return CasePage(
        items=[present_case(c, actor=actor, profile=profile, facts=facts.get(c.id)) for c in rows],
        page=page,
        page_size=page_size,
        has_more=has_more,
        total=total,
    )


@router.get("/{case_id}/history", response_model=list[EventOut])
def get_history(
    case_id: DbId, session: SessionDep, actor: ActorDep, profile: ProfileDep
) -> list[EventOut]:
    case = service.get_case_for(session, actor=actor, case_id=case_id)
    contact = case_contact(actor, case, profile)
    return [
        present_event(e, contact)
        for e in service.case_history(session, actor=actor, case_id=case_id)
    ]


@kinds_router.get("", response_model=list[CaseKindOut])
def list_case_kinds(actor: ActorDep) -> list[CaseKindOut]:
    """Every kind of case, its names, and whether you may file one by hand."""
    yours = set(kinds_filed_by(actor.role)) if not actor.is_system else set()
    return [
        CaseKindOut(
            name=rule.name,
            label_zh=rule.label_zh,
            label_en=rule.label_en,
            public=rule.public,
            you_may_file=rule.name in yours,
        )
        for rule in case_kinds()
    ]
