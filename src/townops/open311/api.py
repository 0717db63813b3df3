"""Open311 GeoReport v2 routes (filled in below)."""

from fastapi import APIRouter

router = APIRouter(prefix="/open311/v2", tags=["open311"])
