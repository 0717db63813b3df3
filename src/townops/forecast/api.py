"""Forecast routes (未呼先应): weekly forecasts with intervals, and proactive suggestions.

For the town-wide staff roles (admin, leader, duty officer, dispatcher), over the cases
within their scope; any other role gets a 403. Read-only: nothing is written.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query

from townops.api.deps import ActorDep, SessionDep
from townops.api.params import BoundedDate
from townops.forecast.proactive import DEFAULT_K, MAX_WEEKS, forecast_cases, suggest_for_cases
from townops.forecast.schemas import ForecastList, SuggestBy, SuggestionList
from townops.forecast.series import Grouping

router = APIRouter(prefix="/api/v1/forecasts", tags=["forecasts"])

AsOfQuery = Annotated[
    BoundedDate | None,
    Query(description="Forecast as on this local day (cases of earlier days only); default: all"),
]


@router.get("", response_model=ForecastList)
def list_forecasts(
    session: SessionDep,
    actor: ActorDep,
    by: Annotated[
        Literal["category", "community", "category_community", "total"],
        Query(description="category | community | category_community | total"),
    ] = "category",
    weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS, description="Weeks ahead")] = 4,
    as_of: AsOfQuery = None,
    min_weekly: Annotated[
        float | None, Query(ge=0, description="Leave out series averaging less a week")
    ] = None,
) -> ForecastList:
    """Weekly case-volume forecasts after the last complete week, with 80 % intervals."""
    return forecast_cases(
        session, actor=actor, by=Grouping(by), weeks=weeks, as_of=as_of, min_weekly=min_weekly
    )


@router.get("/suggestions", response_model=SuggestionList)
def list_suggestions(
    session: SessionDep,
    actor: ActorDep,
    by: SuggestBy = SuggestBy.all,
    weeks: Annotated[int, Query(ge=1, le=MAX_WEEKS, description="Coming weeks to look at")] = 1,
    k: Annotated[float, Query(gt=0, le=10, description="Spreads above normal")] = DEFAULT_K,
    as_of: AsOfQuery = None,
) -> SuggestionList:
    """Series expected well above normal in the coming week(s), each with a reason (zh-CN)."""
    return suggest_for_cases(session, actor=actor, by=by, weeks=weeks, k=k, as_of=as_of)
