"""REST routes for cases: thin, each calls one service function and commits."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel

from townops.api.deps import ActorDep, ProfileDep, SessionDep, SettingsDep
from townops.api.params import BoundedDatetime, DbId, PageNumber
from townops.cases import idempotency, service
from townops.cases.access import case_contact, load_facts
from townops.cases.enums import Action, CaseKind, ExtensionStatus, State
from townops.cases.intake import check_filing_limit
from townops.cases.models import Case
from townops.cases.presenters import present_case, present_event
from townops.cases.schemas import ActionInput, CaseCreate, CaseOut, CasePage, EventOut
from townops.categories.service import find_category
from townops.dispatch.models import RoutingDecision
from townops.dispatch.service import receive_case
from townops.errors import InvalidInput
from townops.media.presenters import present_case_photos
from townops.timeutil import utcnow

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


def _json(model: BaseModel, status_code: int = 200) -> Response:
    # The model is already validated: skip FastAPI's second validation pass on a hot path.
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseOut,
    responses={200: {"model": CaseOut, "description": "Replay: the case this key made before"}},
)
def create_case(
    body: CaseCreate,
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
    settings: SettingsDep,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias=idempotency.HEADER,
            max_length=idempotency.MAX_KEY_LENGTH,
            description="Retry safely: the same key with the same body answers the case it "
            "made the first time (200), with another body 422",
        ),
    ] = None,
) -> Response:
    def create() -> Case:
        check_filing_limit(
            session, actor=actor, per_day=settings.resident_cases_per_day, now=utcnow()
        )
        return receive_case(session, actor=actor, data=body)

    if idempotency_key is None:
        case, created = create(), True
    else:
        owner = f"user:{actor.user_id}" if actor.user_id else f"actor:{actor.username}"
        case, created = idempotency.find_or_remember(
            session,
            owner=owner,
            key=idempotency_key,
            request_hash=idempotency.request_hash(body),
            create=create,
        )
    session.commit()
    if not created:
        replayed = present_case(case, actor=actor, profile=profile, session=session)
        return _json(replayed, 200)
    # A new case has no summonses or extensions yet: no need to query for them.
    category = find_category(session, case.category_code)
    routing = session.get(RoutingDecision, case.id)  # in the identity map: no query
    out = present_case(case, actor=actor, profile=profile, category=category, routing=routing)
    if body.photos:
        out.photos = present_case_photos(session, case_id=case.id)
    return _json(out, 201)


@router.get("", response_model=CasePage)
def list_cases(
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
    settings: SettingsDep,
    state: Annotated[list[State] | None, Query()] = None,
    kind: CaseKind | None = None,
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
    filters = service.CaseFilters(
        state=[s.value for s in state] if state else None,
        kind=kind.value if kind else None,
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


@router.get("/{case_id}", response_model=CaseOut)
def get_case(case_id: DbId, session: SessionDep, actor: ActorDep, profile: ProfileDep) -> CaseOut:
    case = service.get_case_for(session, actor=actor, case_id=case_id)
    return present_case(case, actor=actor, profile=profile, session=session)


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


@router.post("/{case_id}/actions/{action}", response_model=CaseOut)
def act(
    case_id: DbId,
    action: str,
    body: ActionInput,
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
) -> CaseOut:
    try:
        parsed = Action(action)
    except ValueError:
        raise InvalidInput(
            f"unknown action '{action}'", allowed=[a.value for a in Action if a != Action.create]
        ) from None
    if parsed == Action.create:
        raise InvalidInput("use POST /api/v1/cases to create a case")
    case = service.perform_action(session, actor=actor, case_id=case_id, action=parsed, body=body)
    session.commit()
    return present_case(case, actor=actor, profile=profile, session=session)
