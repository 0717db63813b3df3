"""Routes that answer with a whole case file: file a case, read one, act on one. Thin: each
calls one use case, commits, and presents the case file."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Response, status
from pydantic import BaseModel

from townops.api.deps import ActorDep, ProfileDep, SessionDep, SettingsDep
from townops.api.params import DbId
from townops.casefile.presenters import present_case_file
from townops.casefile.schemas import CaseFileOut
from townops.cases import idempotency, service
from townops.cases.enums import Action
from townops.cases.intake import check_filing_limit
from townops.cases.models import Case
from townops.cases.schemas import ActionInput, CaseCreate
from townops.categories.service import find_category
from townops.dispatch import (
    BatchDispatchIn,
    BatchDispatchOut,
    check_batch,
    decisions_for,
    dispatch_item,
    item_failure,
    receive_case,
)
from townops.errors import DomainError, InvalidInput
from townops.timeutil import utcnow

router = APIRouter(prefix="/api/v1/cases", tags=["cases"])


def _json(model: BaseModel, status_code: int = 200) -> Response:
    # The model is already validated: skip FastAPI's second validation pass on a hot path.
    return Response(model.model_dump_json(), status_code=status_code, media_type="application/json")


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=CaseFileOut,
    responses={200: {"model": CaseFileOut, "description": "Replay: the case this key made before"}},
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
        replayed = present_case_file(case, session, actor=actor, profile=profile)
        return _json(replayed, 200)
    # A new case has no summonses or extensions yet: no need to query for them.
    out = present_case_file(
        case,
        session,
        actor=actor,
        profile=profile,
        details=False,
        category=find_category(session, case.category_code),
        photos=bool(body.photos),
    )
    return _json(out, 201)


@router.get("/{case_id}", response_model=CaseFileOut)
def get_case(
    case_id: DbId, session: SessionDep, actor: ActorDep, profile: ProfileDep
) -> CaseFileOut:
    case = service.get_case_for(session, actor=actor, case_id=case_id)
    return present_case_file(case, session, actor=actor, profile=profile)


@router.post("/{case_id}/actions/{action}", response_model=CaseFileOut)
def act(
    case_id: DbId,
    action: str,
    body: ActionInput,
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
) -> CaseFileOut:
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
    return present_case_file(case, session, actor=actor, profile=profile)


@router.post("/dispatch-batch", response_model=BatchDispatchOut)
def dispatch_batch(body: BatchDispatchIn, session: SessionDep, actor: ActorDep) -> BatchDispatchOut:
    """批量派单: dispatch up to 100 cases, each to the unit named or, with none named, as
    its routing suggests. Each item is the ordinary dispatch action in a transaction of its
    own: the good ones are dispatched, each refused one is reported with the error a single
    dispatch would have answered (409 stale version, 403, 422 naming ``items[i].…``). A
    role that may not dispatch, or a case named twice, refuses the whole request."""
    check_batch(session, actor=actor, batch=body)
    decisions = decisions_for(session, [item.case_id for item in body.items])
    now = utcnow()
    results = []
    for index, item in enumerate(body.items):
        try:
            result = dispatch_item(
                session,
                actor=actor,
                index=index,
                item=item,
                decision=decisions.get(item.case_id),
                comment=body.comment,
                now=now,
            )
            session.commit()
        except DomainError as exc:
            session.rollback()  # this item only: the ones before are committed
            result = item_failure(item, exc)
        results.append(result)
    done = sum(r.dispatched for r in results)
    return BatchDispatchOut(dispatched=done, failed=len(results) - done, items=results)
