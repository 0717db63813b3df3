"""The town's runtime profile: calendar, defaults, role permissions, Open311 identity.

Read from the ``town`` table (written by :func:`townops.towns.sync.sync_town`) and cached per
database, because every case action needs it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.cases.deadlines import WorkingCalendar
from townops.db import database_key
from townops.dispatch.config import DispatchConfig
from townops.errors import DomainError
from townops.sensing.config import SensingConfig
from townops.towns.models import TownRecord
from townops.towns.schema import Open311Public


@dataclass(frozen=True)
class RoleSpec:
    name_zh: str
    name_en: str
    actions: frozenset[str]
    sees_full_phone: bool


@dataclass(frozen=True)
class TownProfile:
    code: str
    name_zh: str
    name_en: str
    timezone: str
    open311_jurisdiction_id: str
    first_contact_working_days: int
    reopen_working_days: int
    whistle_report_in_hours: int
    auto_close_on_satisfied: bool
    roles: dict[str, RoleSpec]
    calendar: WorkingCalendar
    raw: dict[str, Any] = field(repr=False)
    levels: tuple[str, ...] = ("town", "community", "micro_grid", "building")
    dispatch: DispatchConfig = field(default_factory=DispatchConfig, repr=False)
    sensing: SensingConfig = field(default_factory=SensingConfig, repr=False)
    public: Open311Public = field(default_factory=Open311Public, repr=False)
    """``open311.public`` of town.yaml: what anonymous Open311 reads may publish."""

    def role(self, name: str) -> RoleSpec:
        spec = self.roles.get(name)
        if spec is None:
            raise DomainError(f"role '{name}' is not configured for this town")
        return spec

    @classmethod
    def from_dict(cls, raw: dict[str, Any]) -> TownProfile:
        defaults = raw.get("defaults", {})
        cal = raw.get("calendar", {})
        return cls(
            code=raw["code"],
            name_zh=raw["name_zh"],
            name_en=raw["name_en"],
            timezone=raw.get("timezone", "Asia/Shanghai"),
            open311_jurisdiction_id=raw.get("open311", {}).get("jurisdiction_id", raw["code"]),
            first_contact_working_days=int(defaults.get("first_contact_working_days", 1)),
            reopen_working_days=int(defaults.get("reopen_working_days", 3)),
            whistle_report_in_hours=int(defaults.get("whistle_report_in_hours", 24)),
            auto_close_on_satisfied=bool(defaults.get("auto_close_on_satisfied", True)),
            roles={
                name: RoleSpec(
                    name_zh=spec.get("name_zh", name),
                    name_en=spec.get("name_en", name),
                    actions=frozenset(spec.get("actions", [])),
                    sees_full_phone=bool(spec.get("sees_full_phone", False)),
                )
                for name, spec in raw.get("roles", {}).items()
            },
            calendar=WorkingCalendar(
                tz=raw.get("timezone", "Asia/Shanghai"),
                extra_holidays=[date.fromisoformat(str(d)) for d in cal.get("extra_holidays", [])],
                extra_workdays=[date.fromisoformat(str(d)) for d in cal.get("extra_workdays", [])],
            ),
            raw=raw,
            levels=tuple(raw.get("levels") or ("town", "community", "micro_grid", "building")),
            dispatch=DispatchConfig.model_validate(raw.get("dispatch") or {}),
            sensing=SensingConfig.model_validate(raw.get("sensing") or {}),
            public=Open311Public.model_validate(raw.get("open311", {}).get("public") or {}),
        )


_cache: dict[str, TownProfile] = {}


def get_profile(session: Session) -> TownProfile:
    key = database_key(session)
    profile = _cache.get(key)
    if profile is None:
        record = session.scalars(select(TownRecord)).first()
        if record is None:
            raise DomainError("no town is loaded in this database: run `townops town load`")
        profile = TownProfile.from_dict(record.profile)
        _cache[key] = profile
    return profile


def forget_profile(session: Session) -> None:
    _cache.pop(database_key(session), None)
