"""The town's runtime profile: calendar, defaults, role permissions, Open311 identity.

Read from the ``town`` table (written by :func:`townops.townfiles.sync.sync_town`) and cached
per database, because every case action needs it. Each domain reads its own configuration
from it with :meth:`TownProfile.config` (see :mod:`townops.towns.sections`); the profile
itself knows no domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any, TypeVar

from pydantic import BaseModel
from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.db import database_key
from townops.deadlines import WorkingCalendar
from townops.errors import DomainError
from townops.towns.models import TownRecord
from townops.towns.sections import read_section, section_value

M = TypeVar("M", bound=BaseModel)


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
    # Each section asked of config(), validated once per profile (a profile is replaced,
    # not changed, when the town is synced again).
    _configs: dict[type[BaseModel], BaseModel] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def config(self, model: type[M]) -> M:
        """The town's configuration section ``model`` (declared with
        :func:`townops.towns.sections.town_section`), validated from :attr:`raw` once.

        A section the town's files leave out has ``model``'s defaults. Raises
        :class:`townops.towns.sections.NotATownSection` for a model no domain declared.
        """
        cached = self._configs.get(model)
        if isinstance(cached, model):
            return cached
        value = read_section(self.raw, model)
        self._configs[model] = value
        return value

    def has_config(self, model: type[BaseModel]) -> bool:
        """Whether the town's files give section ``model`` at all (an optional file such as
        ``risk.yaml`` may be absent: :meth:`config` then gives the model's defaults)."""
        return section_value(self.raw, model) is not None

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
