"""Routes of automatic dispatch: the dispatcher's queue and reading a request before filing."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from townops.api.deps import ActorDep, ProfileDep, SessionDep
from townops.cases.access import TOWN_WIDE_ROLES, load_facts, require_role, visible_cases
from townops.cases.enums import State
from townops.cases.models import Case
from townops.cases.presenters import present_case
from townops.dispatch import service
from townops.dispatch.models import RoutingDecision, TrainingExample
from townops.dispatch.presenters import with_routing
from townops.dispatch.schemas import RoutedCaseOut

router = APIRouter(prefix="/api/v1/dispatch", tags=["dispatch"])


@router.get("/queue", response_model=list[RoutedCaseOut])
def dispatch_queue(
    session: SessionDep,
    actor: ActorDep,
    profile: ProfileDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[RoutedCaseOut]:
    """Cases waiting for a dispatcher (received or returned), most urgent deadline first,
    each with the routing decision and its suggestions."""
    require_role(actor, TOWN_WIDE_ROLES, "use the dispatch queue")
    rows = session.execute(
        select(Case, RoutingDecision)
        .outerjoin(RoutingDecision, RoutingDecision.case_id == Case.id)
        .where(
            Case.state.in_([State.received.value, State.returned.value]),
            visible_cases(actor),
        )
        .order_by(Case.open_due_at.asc(), Case.id.asc())
        .limit(limit)
    ).all()
    facts = load_facts(session, [case.id for case, _ in rows])
    return [
        with_routing(
            present_case(case, actor=actor, profile=profile, facts=facts[case.id]),
            decision,
            actor=actor,
            profile=profile,
        )
        for case, decision in rows
    ]


class ReadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: str = Field(min_length=1, max_length=5000)
    address: str = ""
    category: str | None = None


class ReadOut(BaseModel):
    category: str
    category_source: str
    confidence: float
    threshold: float
    labels: dict[str, float]
    categories: list[dict[str, Any]]
    place: dict[str, Any]
    suggestions: list[dict[str, Any]]


@router.post("/read", response_model=ReadOut)
def read_request(
    body: ReadRequest, session: SessionDep, actor: ActorDep, profile: ProfileDep
) -> ReadOut:
    """What automatic dispatch would make of a request, without filing it (for the call taker)."""
    require_role(actor, TOWN_WIDE_ROLES, "use the dispatch queue")
    preview = service.preview(
        session, content=body.content, address=body.address, category=body.category, profile=profile
    )
    return ReadOut(**preview)


class ExampleCount(BaseModel):
    source: str
    label: str
    count: int


@router.get("/examples", response_model=list[ExampleCount])
def training_examples(session: SessionDep, actor: ActorDep) -> list[ExampleCount]:
    """How many labelled examples people's dispatches have produced, by source and label."""
    require_role(actor, TOWN_WIDE_ROLES, "use the dispatch queue")
    rows = session.execute(
        select(TrainingExample.source, TrainingExample.label, func.count())
        .group_by(TrainingExample.source, TrainingExample.label)
        .order_by(TrainingExample.source, TrainingExample.label)
    )
    return [ExampleCount(source=s, label=lbl, count=n) for s, lbl, n in rows]
