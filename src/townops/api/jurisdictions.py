"""The jurisdiction tree as GeoJSON, and the departments."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from townops.api.deps import ActorDep, SessionDep
from townops.jurisdiction.models import Jurisdiction
from townops.organization.models import Department

router = APIRouter(prefix="/api/v1", tags=["reference"])


@router.get("/jurisdictions")
def list_jurisdictions(
    session: SessionDep, _actor: ActorDep, level: str | None = None
) -> dict[str, Any]:
    stmt = select(Jurisdiction).order_by(Jurisdiction.path)
    if level:
        stmt = stmt.where(Jurisdiction.level == level)
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "id": j.code,
                "geometry": j.geometry,
                "properties": {
                    "code": j.code,
                    "name_zh": j.name_zh,
                    "name_en": j.name_en,
                    "level": j.level,
                    "parent": j.parent_code,
                },
            }
            for j in session.scalars(stmt)
        ],
    }


@router.get("/departments")
def list_departments(session: SessionDep, _actor: ActorDep) -> list[dict[str, Any]]:
    return [
        {"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en, "kind": d.kind}
        for d in session.scalars(select(Department).order_by(Department.code))
    ]
