"""``GET /api/v1/locate``: where an address text or a point lies, and how sure that is."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from townops.access.actor import Role
from townops.api.deps import ActorDep, SessionDep
from townops.errors import Forbidden
from townops.gazetteer.service import LocateResult, locate

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get("/locate", response_model=LocateResult)
def get_locate(
    session: SessionDep,
    actor: ActorDep,
    q: Annotated[
        str | None, Query(max_length=1000, description="An address as a caller says it")
    ] = None,
    lat: Annotated[float | None, Query(description="Latitude (WGS 84 degrees)")] = None,
    lon: Annotated[float | None, Query(description="Longitude (WGS 84 degrees)")] = None,
) -> LocateResult:
    """The place (micro-grid, community, estate) named by ``q`` and/or the point.

    ``usable`` says whether the best place is sure enough to dispatch a case to.
    """
    # The gazetteer is the town's working tool, not a public geocoder.
    if actor.role == Role.resident:
        raise Forbidden("residents may not look up places", role=str(actor.role))
    return locate(session, text=q, lat=lat, lon=lon)
