"""Reference data for clients: categories (= Open311 services)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from sqlalchemy import select

from townops.api.deps import ActorDep, SessionDep
from townops.categories.models import Category

router = APIRouter(prefix="/api/v1", tags=["reference"])


def category_out(c: Category) -> dict[str, Any]:
    deadline = {
        name: value
        for name, value in (
            ("working_days", c.deadline_working_days),
            ("hours", c.deadline_hours),
            ("minutes", c.deadline_minutes),
        )
        if value is not None
    }
    return {
        "code": c.code,
        "name_zh": c.name_zh,
        "name_en": c.name_en,
        "department": c.department_code,
        "deadline": deadline,
        "urgency": c.urgency,
        "type": c.type,
        "requires_approval": c.requires_approval,
        "description_zh": c.description_zh,
        "description_en": c.description_en,
    }


@router.get("/categories")
def list_categories(session: SessionDep, _actor: ActorDep) -> list[dict[str, Any]]:
    return [category_out(c) for c in session.scalars(select(Category).order_by(Category.code))]
