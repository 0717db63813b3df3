"""Who is acting: a user (from a bearer token) or the system itself (sweeps, imports), and
the town's roles. Core: every layer above names its actor with these."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    admin = "admin"
    leader = "leader"
    duty_officer = "duty_officer"
    dispatcher = "dispatcher"
    handler = "handler"
    community_staff = "community_staff"
    grid_worker = "grid_worker"
    resident = "resident"


#: Everyone who works for the town: every role but the resident.
STAFF_ROLES = frozenset(Role) - {Role.resident}


@dataclass(frozen=True, slots=True)
class Actor:
    username: str
    role: Role
    user_id: int | None = None
    department_code: str | None = None
    scope_code: str | None = None
    # Materialised path of the scope node, e.g. "310115121/310115121020/"; None = whole town.
    scope_path: str | None = None

    @property
    def is_system(self) -> bool:
        return self.user_id is None and self.username == "system"


SYSTEM = Actor(username="system", role=Role.admin)
