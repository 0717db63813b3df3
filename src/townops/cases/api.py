"""REST routes of the case engine: lists and timelines (thin). Filing, reading and acting
on one case answer with the whole case file: :mod:`townops.casefile.api`."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Query, Response

from townops.access.actor import Role
from townops.api.deps import ActorDep, ProfileDep, SessionDep, SettingsDep
from townops.api.params import BoundedDatetime, DbId, PageNumber
from townops.cases import service
from townops.cases.access import case_contact, load_facts
from townops.cases.enums import ExtensionStatus, State
from townops.cases.export import XLSX_MEDIA_TYPE, export_cases
from townops.cases.intake import kinds_filed_by
from townops.cases.kinds import case_kinds, kind_rule
from townops.cases.presenters import present_case, present_event
from townops.cases.schemas import CaseKindOut, CasePage, EventOut
from townops.errors import Forbidden, InvalidInput
from townops.timeutil import utcnow

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])
kinds_router = APIRouter(prefix="/api/v1/case-kinds", tags=["cases"])


def case_filters(
    session: SessionDep,
    state: Annotated[list[State] | None, Query()] = None,
    kind: Annotated[str | None, Query(max_length=20)] = None,
    category: Annotated[str | None, Query(max_length=60)] = None,
    department: Annotated[str | None, Query(max_length=60)] = None,
    jurisdiction: Annotated[
        str | None, Query(max_length=40, description="a jurisdiction code: its whole subtree")
    ] = None,
    community: Annotated[
        str | None,
        Query(
            max_length=40,
            description="a community's code: the cases it is in charge of or that lie in it",
        ),
    ] = None,
    source: Annotated[
        list[Annotated[str, Query(max_length=20)]] | None,
        Query(description="where cases came from (12345, open311, web, api, iot …), repeatable"),
    ] = None,
    overdue: bool | None = None,
    open: bool | None = None,
    received_from: BoundedDatetime | None = None,
    received_to: BoundedDatetime | None = None,
    due_from: BoundedDatetime | None = None,
    due_to: BoundedDatetime | None = None,
    extension: ExtensionStatus | None = None,
    mine: Annotated[
        bool | None,
        Query(
            description="true: only the cases your own unit (department, community) holds; "
            "false: only the others you can see"
        ),
    ] = None,
    q: Annotated[
        str | None,
        Query(
            max_length=service.MAX_QUERY_LENGTH,
            description="text in the content or the address (any case); a tracking code or "
            "#id finds that case",
        ),
    ] = None,
    phone: Annotated[
        str | None,
        Query(
            max_length=40,
            description="the requester's phone (digits compared); only for roles shown phones",
        ),
    ] = None,
    order: Annotated[
        Literal["-received_at", "received_at", "due_at", "-due_at", "id", "-id"], Query()
    ] = "-received_at",
) -> service.CaseFilters:
    """The search of the case list and of its export (one set of parameters)."""
    if kind is not None and kind_rule(kind) is None:
        raise InvalidInput(f"unknown case kind {kind!r}", field="kind")
    return service.CaseFilters(
        state=[s.value for s in state] if state else None,
        kind=kind,
        category=category,
        department=department,
        jurisdiction=jurisdiction,
        community=community,
        source=source or None,
        overdue=overdue,
        open=open,
        received_from=received_from,
        received_to=received_to,
        due_from=due_from,
        due_to=due_to,
        extension=extension.value if extension else None,
        mine=mine,
        q=q,
        phone=phone,
        order=order,
    )


FiltersDep = Annotated[service.CaseFilters, Depends(case_filters)]


@router.get("", response_model=CasePage)
def list_cases(
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
    settings: SettingsDep,
    filters: FiltersDep,
    page: PageNumber = 1,
    page_size: Annotated[int, Query(ge=1)] = 50,
    with_total: bool = False,
) -> CasePage:
    if page_size > settings.page_size_max:
        raise InvalidInput(f"page_size may be at most {settings.page_size_max}", field="page_size")
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


@router.get(
    "/export.xlsx",
    response_class=Response,
    responses={200: {"content": {XLSX_MEDIA_TYPE: {}}, "description": "The workbook"}},
)
def export_cases_xlsx(session: SessionDep, actor: ActorDep, filters: FiltersDep) -> Response:
    """The cases of the same search as an Excel workbook (at most 10,000; more is a 422:
    narrow the search), contact data masked as the list masks it. Recorded in the audit
    log."""
    if actor.role == Role.resident:
        raise Forbidden("a resident may not export cases", role=actor.role)
    now = utcnow()
    data, _rows = export_cases(session, actor=actor, filters=filters, now=now)
    session.commit()
    stamp = now.strftime("%Y%m%d-%H%M")
    return Response(
        content=data,
        media_type=XLSX_MEDIA_TYPE,
        headers={"Content-Disposition": f'attachment; filename="cases-{stamp}.xlsx"'},
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
