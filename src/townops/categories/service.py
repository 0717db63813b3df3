"""Case categories as the engine reads them: cached per database, refreshed on town sync.

Categories change only when the town configuration is loaded again, and every case
creation needs one, so a per-process snapshot saves a query per request.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.categories.attributes import AttributeSpec, attribute_specs
from townops.categories.models import Category
from townops.db import database_key
from townops.deadlines import Deadline
from townops.errors import InvalidInput


@dataclass(frozen=True, slots=True)
class CategoryInfo:
    code: str
    name_zh: str
    name_en: str
    department_code: str
    deadline: Deadline
    urgency: str
    type: str
    keywords: tuple[str, ...] = ()
    opened_by: str = "people"
    attributes: tuple[AttributeSpec, ...] = ()


_cache: dict[str, dict[str, CategoryInfo]] = {}


def _load(session: Session) -> dict[str, CategoryInfo]:
    return {
        c.code: CategoryInfo(
            code=c.code,
            name_zh=c.name_zh,
            name_en=c.name_en,
            department_code=c.department_code,
            deadline=Deadline(
                working_days=c.deadline_working_days,
                hours=c.deadline_hours,
                minutes=c.deadline_minutes,
            ),
            urgency=c.urgency,
            type=c.type,
            keywords=tuple(c.keywords or ()),
            opened_by=c.opened_by,
            attributes=attribute_specs(c.attributes),
        )
        for c in session.scalars(select(Category))
    }


def all_categories(session: Session) -> dict[str, CategoryInfo]:
    key = database_key(session)
    if key not in _cache:
        _cache[key] = _load(session)
    return _cache[key]


def find_category(session: Session, code: str) -> CategoryInfo | None:
    return all_categories(session).get(code)


def get_category(session: Session, code: str) -> CategoryInfo:
    info = find_category(session, code)
    if info is None:
        raise InvalidInput(f"unknown category '{code}'", field="category")
    return info


def forget_categories(session: Session) -> None:
    _cache.pop(database_key(session), None)
