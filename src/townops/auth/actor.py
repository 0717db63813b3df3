"""Who is acting: a user (from a bearer token) or the system itself (sweeps, imports)."""

from __future__ import annotations

from dataclasses import dataclass

from townops.cases.enums import Role


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
