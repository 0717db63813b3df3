"""``GET /api/v1/track/{code}``: public tracking of a request by its code (no log-in)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Request, Response

from townops.api.deps import SessionDep
from townops.cases.tracking import LookupLimiter, TrackOut, track_limited

router = APIRouter(prefix="/api/v1/track", tags=["cases"])


def _limiter(request: Request) -> LookupLimiter:
    # One per application, so each app (and each test's app) counts its own misses.
    limiter: LookupLimiter | None = getattr(request.app.state, "tracking_limiter", None)
    if limiter is None:
        limiter = request.app.state.tracking_limiter = LookupLimiter()
    return limiter


@router.get(
    "/{code}",
    response_model=TrackOut,
    responses={
        404: {"description": "No request has this code"},
        422: {"description": "Not a tracking code"},
        429: {"description": "Too many unknown codes from this address"},
    },
)
def get_tracking(
    code: Annotated[str, Path(max_length=64, description="The tracking code (查询码)")],
    request: Request,
    response: Response,
    session: SessionDep,
) -> TrackOut:
    """Where a request stands: state, category, dates, overdue, whether it was rated.

    Public: the code is the key. Nothing personal is answered (no text, place or names)."""
    client = request.client.host if request.client else "unknown"
    out = track_limited(session, code=code, client=client, limiter=_limiter(request))
    # A state changes: a shared cache must not keep it, and the code must not linger.
    response.headers["Cache-Control"] = "no-store"
    return out
