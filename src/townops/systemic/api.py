"""Systemic issue routes (举一反三): thin, each calls one service function and commits.

Reading is for the town-wide roles (leader, duty officer, dispatcher, admin) within their
scope; refreshing for the duty officer, a leader or an admin; opening the root-cause case
for the duty officer or a leader.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, status

from townops.api.deps import ActorDep, ProfileDep, SessionDep
from townops.api.params import BoundedDatetime, DbId
from townops.systemic import service
from townops.systemic.schemas import (
    IssueStatus,
    RefreshOut,
    RootCaseInput,
    SystemicIssueList,
    SystemicIssueOut,
)
from townops.systemic.settings import SystemicSettings
from townops.timeutil import utcnow

router = APIRouter(prefix="/api/v1/systemic-issues", tags=["systemic issues"])


async def systemic_settings(profile: ProfileDep) -> SystemicSettings:
    """The town's detection settings (``systemic:`` in ``dispatch.yaml``)."""
    return profile.config(SystemicSettings)


SettingsDep = Annotated[SystemicSettings, Depends(systemic_settings)]


@router.get("", response_model=SystemicIssueList)
def list_issues(
    session: SessionDep,
    actor: ActorDep,
    status: IssueStatus | None = None,
    place: Annotated[
        str | None, Query(description="Jurisdiction code: issues at it or below it")
    ] = None,
    min_cases: Annotated[int | None, Query(ge=1, le=1_000_000)] = None,
) -> SystemicIssueList:
    items = service.list_systemic_issues(
        session, actor=actor, status=status, place=place, min_cases=min_cases
    )
    return SystemicIssueList(items=items, total=len(items))


@router.get("/{issue_id}", response_model=SystemicIssueOut)
def get_issue(issue_id: DbId, session: SessionDep, actor: ActorDep) -> SystemicIssueOut:
    return service.get_systemic_issue(session, actor=actor, issue_id=issue_id)


@router.post("/refresh", response_model=RefreshOut)
def refresh(
    session: SessionDep,
    actor: ActorDep,
    settings: SettingsDep,
    now: Annotated[
        BoundedDatetime | None, Query(description="End of the look-back window; default now")
    ] = None,
) -> RefreshOut:
    service.check_may_refresh(actor)
    report = service.refresh_systemic_issues(session, now=now or utcnow(), settings=settings)
    session.commit()
    return report


@router.post(
    "/{issue_id}/root-case", status_code=status.HTTP_201_CREATED, response_model=SystemicIssueOut
)
def open_root_case(
    issue_id: DbId, session: SessionDep, actor: ActorDep, body: RootCaseInput | None = None
) -> SystemicIssueOut:
    issue, _case = service.open_root_case(
        session, actor=actor, issue_id=issue_id, note=body.note if body else ""
    )
    session.commit()
    return issue
