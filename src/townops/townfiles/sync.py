"""Load a validated town directory into the database (upsert; safe to run again)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session

from townops.auth.models import AuditEntry, User
from townops.auth.service import hash_password
from townops.categories.models import Category
from townops.categories.service import forget_categories
from townops.gazetteer.config import GazetteerSettings
from townops.gazetteer.models import GazetteerEntry
from townops.gazetteer.service import forget_gazetteer
from townops.jurisdiction.models import Jurisdiction
from townops.jurisdiction.service import forget_index
from townops.migrate import upgrade
from townops.organization.models import Department
from townops.townfiles.schema import Gazetteer, Town
from townops.towns.models import TownRecord
from townops.towns.profile import forget_profile
from townops.towns.sections import section_key


@dataclass(frozen=True)
class SyncReport:
    jurisdictions: int
    departments: int
    categories: int
    users_created: int
    gazetteer_entries: int = 0


def _paths(town: Town) -> dict[str, str]:
    parents = {j.code: j.parent for j in town.jurisdictions}
    paths: dict[str, str] = {}

    def path_of(code: str) -> str:
        if code not in paths:
            parent = parents[code]
            paths[code] = (path_of(parent) if parent else "") + code + "/"
        return paths[code]

    for code in parents:
        path_of(code)
    return paths


def town_profile_dict(town: Town) -> dict[str, Any]:
    info = town.info.model_dump(mode="json")
    info["roles"] = {str(role): spec.model_dump(mode="json") for role, spec in town.roles.items()}
    # Each domain's file under the key its model is declared with (townops.towns.sections).
    configs: tuple[BaseModel | None, ...] = (
        GazetteerSettings(min_confidence=town.gazetteer.min_confidence)
        if town.gazetteer is not None
        else None,
        town.dispatch,
        town.sensing,
        town.signs,
        town.assessment,
        town.risk,
        town.notifications,
        town.duty,
    )
    for config in configs:
        if config is not None:
            info[section_key(type(config))] = config.model_dump(mode="json")
    return info


def gazetteer_rows(gazetteer: Gazetteer | None) -> list[GazetteerEntry]:
    """One row per estate, landmark and road segment (a road's aliases on each segment)."""
    if gazetteer is None:
        return []
    rows = [
        GazetteerEntry(
            kind=kind, name=p.name, aliases=list(p.aliases), jurisdiction_code=p.jurisdiction
        )
        for kind, places in (("estate", gazetteer.estates), ("landmark", gazetteer.landmarks))
        for p in places
    ]
    rows.extend(
        GazetteerEntry(
            kind="road",
            name=road.name,
            aliases=list(road.aliases),
            jurisdiction_code=segment.jurisdiction,
            number_from=segment.number_from,
            number_to=segment.number_to,
            parity=segment.parity,
        )
        for road in gazetteer.roads
        for segment in road.segments
    )
    return rows


def _replace_gazetteer(session: Session, town: Town) -> int:
    # The file is the whole truth: entries it no longer has must not linger.
    session.execute(delete(GazetteerEntry))
    rows = gazetteer_rows(town.gazetteer)
    session.add_all(rows)
    return len(rows)


def _upsert(session: Session, model: type[Any], key: str, values: dict[str, Any]) -> None:
    row = session.get(model, key)
    if row is None:
        session.add(model(**values))
    else:
        for k, v in values.items():
            setattr(row, k, v)


def install_town(engine: Engine, town: Town, *, with_demo_users: bool) -> SyncReport:
    """Bring the schema up to date, then load the town, in its own transaction."""
    upgrade(engine)
    with Session(engine) as session:
        report = sync_town(session, town, with_demo_users=with_demo_users)
        session.commit()
    return report


def sync_town(session: Session, town: Town, *, with_demo_users: bool = True) -> SyncReport:
    paths = _paths(town)
    # Parents first, so foreign keys hold on PostgreSQL within the one flush.
    for j in sorted(town.jurisdictions, key=lambda j: paths[j.code].count("/")):
        _upsert(
            session,
            Jurisdiction,
            j.code,
            {
                "code": j.code,
                "name_zh": j.name_zh,
                "name_en": j.name_en,
                "level": j.level,
                "parent_code": j.parent,
                "path": paths[j.code],
                "aliases": list(j.aliases),
                "geometry": j.geojson_geometry,
            },
        )
        session.flush()
    for d in town.departments:
        _upsert(
            session,
            Department,
            d.code,
            {"code": d.code, "name_zh": d.name_zh, "name_en": d.name_en, "kind": str(d.kind)},
        )
    session.flush()
    for c in town.categories:
        _upsert(
            session,
            Category,
            c.code,
            {
                "code": c.code,
                "name_zh": c.name_zh,
                "name_en": c.name_en,
                "department_code": c.department,
                "deadline_working_days": c.deadline.working_days,
                "deadline_hours": c.deadline.hours,
                "deadline_minutes": c.deadline.minutes,
                "opened_by": c.opened_by,
                "urgency": str(c.urgency),
                "type": str(c.type),
                "requires_approval": c.requires_approval,
                "keywords": list(c.keywords),
                "description_zh": c.description_zh,
                "description_en": c.description_en,
                "attributes": [a.model_dump(exclude_none=True) for a in c.attributes],
            },
        )
    gazetteer_entries = _replace_gazetteer(session, town)
    _upsert(session, TownRecord, town.code, {"code": town.code, "profile": town_profile_dict(town)})
    created = 0
    if with_demo_users:
        existing = set(session.scalars(select(User.username)))
        for u in town.users:
            if u.username in existing:
                continue
            session.add(
                User(
                    username=u.username,
                    password_hash=hash_password(u.password),
                    role=str(u.role),
                    display_name=u.display_name,
                    scope_code=u.scope,
                    department_code=u.department,
                    phone=u.phone,
                    email=u.email,
                )
            )
            created += 1
    session.add(
        AuditEntry(
            actor="system",
            action="town.sync",
            target=town.code,
            data={"directory": str(town.directory), "users_created": created},
        )
    )
    session.flush()
    forget_profile(session)
    forget_categories(session)
    forget_index(session)
    forget_gazetteer(session)
    return SyncReport(
        jurisdictions=len(town.jurisdictions),
        departments=len(town.departments),
        categories=len(town.categories),
        users_created=created,
        gazetteer_entries=gazetteer_entries,
    )
