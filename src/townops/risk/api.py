"""Risk map route: GeoJSON for the one screen (一屏总览), scoped to the caller.

Staff of every role see the map (community staff and grid workers: their part of the
town); residents get 403.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query

from townops.api.deps import ActorDep, SessionDep
from townops.api.params import BoundedDatetime
from townops.risk.service import feature_collection, risk_map

router = APIRouter(prefix="/api/v1", tags=["risk"])

LevelQuery = Annotated[
    Literal["micro_grid", "community"], Query(description="micro_grid | community")
]
AtQuery = Annotated[
    BoundedDatetime | None,
    Query(
        description="Score as of this instant (ISO 8601; default now). Moves the alarm "
        "window, the overdue line and the online check; cases are read as they are now."
    ),
]


@router.get("/risk-map")
def get_risk_map(
    session: SessionDep,
    actor: ActorDep,
    level: LevelQuery = "micro_grid",
    at: AtQuery = None,
) -> dict[str, Any]:
    """风险地图: a GeoJSON FeatureCollection; each feature's score with its contributions."""
    return feature_collection(risk_map(session, level=level, actor=actor, at=at))
