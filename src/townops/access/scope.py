"""The actor's scope (管辖范围) as one value, and the one SQL condition built from it.

Every domain selects what an actor may see with :meth:`Scope.where`, naming the columns
its rows offer (a jurisdiction path, the department or community in charge, the
requesting user). The rule for each reach is written once, here; a domain whose rows lack
the column a reach needs shows that actor nothing (deny by default).

- ``town``: the system; admin, leader, duty officer and dispatcher at the town; staff
  scoped at the root. Everything, rows with no place yet included.
- ``subtree``: a role scoped below the town (a community, a micro-grid). Rows whose place
  lies in the subtree, and rows assigned to the scope's own community.
- ``department``: a department's handler. Rows the department is in charge of or summoned
  to; the whole town where a domain says departments serve the town (devices, alarms).
- ``own``: a resident. Their own requests.
- ``nothing``: anyone else (a handler without a department, local staff without a scope).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, false, or_, true

from townops.access.actor import Actor, Role

TOWN_WIDE_ROLES = frozenset({Role.admin, Role.leader, Role.duty_officer, Role.dispatcher})
LOCAL_ROLES = frozenset({Role.community_staff, Role.grid_worker})


class Reach(StrEnum):
    town = "town"
    subtree = "subtree"
    department = "department"
    own = "own"
    nothing = "nothing"


@dataclass(frozen=True, slots=True)
class Scope:
    reach: Reach
    path: str | None = None  # the subtree's materialised path ("310115121/310115121020/")
    code: str | None = None  # the subtree's root node
    department: str | None = None
    user_id: int | None = None

    @property
    def whole_town(self) -> bool:
        return self.reach == Reach.town

    @property
    def local_path(self) -> str | None:
        """The subtree's path when the scope is below the town, else None."""
        return self.path if self.reach == Reach.subtree else None

    def where(
        self,
        *,
        path: Any = None,
        community: Any = None,
        department: Any = None,
        summoned: ColumnElement[bool] | None = None,
        requester: Any = None,
        departments_serve_town: bool = False,
    ) -> ColumnElement[bool]:
        """The SQL condition selecting the rows this scope reaches.

        ``path``: the row's jurisdiction path column; ``community``: the community the row
        is assigned to; ``department``: the department in charge; ``summoned``: a condition
        true when the department was summoned (吹哨) to the row; ``requester``: the user
        who filed it. ``departments_serve_town``: a department's handler sees every row of
        this domain (devices, alarms: departments serve the whole town).
        """
        if self.reach == Reach.town:
            return true()
        if self.reach == Reach.subtree:
            return self._in_subtree(path, community)
        if self.reach == Reach.department:
            return self._of_department(department, summoned, departments_serve_town)
        if self.reach == Reach.own and requester is not None:
            return requester == self.user_id  # type: ignore[no-any-return]
        return false()

    def _in_subtree(self, path: Any, community: Any) -> ColumnElement[bool]:
        conditions = []
        if path is not None:
            conditions.append(path.startswith(self.path, autoescape=True))
        if community is not None:
            conditions.append(community == self.code)
        return or_(*conditions) if conditions else false()

    def _of_department(
        self, department: Any, summoned: ColumnElement[bool] | None, serve_town: bool
    ) -> ColumnElement[bool]:
        if serve_town:
            return true()
        conditions = []
        if department is not None:
            conditions.append(department == self.department)
        if summoned is not None:
            conditions.append(summoned)
        return or_(*conditions) if conditions else false()

    def contains_path(self, path: str | None, *, departments_serve_town: bool = False) -> bool:
        """Whether a place (by its path) lies in this scope, in Python (the same rule as
        :meth:`where` over a path column)."""
        if self.reach == Reach.town:
            return True
        if self.reach == Reach.subtree:
            return path is not None and path.startswith(self.path or "")
        return self.reach == Reach.department and departments_serve_town


def scope_of(actor: Actor) -> Scope:
    """The one place that turns an actor's role and scope into what they reach."""
    if actor.is_system:
        return Scope(Reach.town)
    root = actor.scope_path is None or actor.scope_path.count("/") == 1
    if actor.role in TOWN_WIDE_ROLES:
        return Scope(Reach.town) if root else _subtree(actor)
    if actor.role == Role.handler:
        if actor.department_code is None:
            return Scope(Reach.nothing)
        return Scope(Reach.department, department=actor.department_code)
    if actor.role in LOCAL_ROLES:
        if actor.scope_path is None:
            return Scope(Reach.nothing)
        return Scope(Reach.town) if root else _subtree(actor)
    if actor.role == Role.resident and actor.user_id is not None:
        return Scope(Reach.own, user_id=actor.user_id)
    return Scope(Reach.nothing)


def _subtree(actor: Actor) -> Scope:
    return Scope(Reach.subtree, path=actor.scope_path, code=actor.scope_code)
