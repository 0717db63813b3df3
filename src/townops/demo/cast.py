"""The people who act in the simulated year, as engine actors.

The town's demo personas play their roles (dispatcher, duty, leader, housing, nanxin …).
A department or community without a demo persona gets a demo account of its own
(``h_<department>``, ``cs_<community>``, password ``demo1234``), created through the auth
service the first time it is needed, so every action is taken by a real, permitted user.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access.actor import Actor, Role
from townops.auth.models import User
from townops.auth.service import actor_for, create_user
from townops.jurisdiction.models import Jurisdiction
from townops.organization.models import Department

DEMO_PASSWORD = "demo1234"


class Cast:
    """Actors by role, department or community; looked up or created once, then reused."""

    def __init__(self, session: Session) -> None:
        self._session = session
        self._handlers: dict[str, Actor] = {}
        self._community_staff: dict[str, Actor] = {}
        self.created: list[str] = []
        self.dispatcher = self._town_role(Role.dispatcher, "dispatcher")
        self.duty = self._town_role(Role.duty_officer, "duty")
        self.leader = self._town_role(Role.leader, "leader")

    def handler(self, department: str) -> Actor:
        if department not in self._handlers:
            self._handlers[department] = self._get_or_create(
                Role.handler, f"h_{department}", department=department
            )
        return self._handlers[department]

    def community_staff(self, community: str) -> Actor:
        if community not in self._community_staff:
            self._community_staff[community] = self._get_or_create(
                Role.community_staff, f"cs_{community}", scope=community
            )
        return self._community_staff[community]

    def resident(self, username: str) -> Actor | None:
        """A demo resident by username (resident_a …); None if the town has no such user."""
        user = self._session.scalars(
            select(User).where(
                User.username == username, User.role == Role.resident.value, User.active
            )
        ).first()
        return actor_for(self._session, user) if user is not None else None

    def open311_client(self, name: str) -> Actor:
        """The town's Open311 front end, as its API key acts (:mod:`townops.open311`)."""
        return Actor(username=f"open311:{name}", role=Role.admin)

    def _town_role(self, role: Role, preferred: str) -> Actor:
        user = self._session.scalars(
            select(User).where(User.username == preferred, User.role == role.value, User.active)
        ).first()
        if user is not None:
            return actor_for(self._session, user)
        return self._get_or_create(role, f"demo_{role.value}")

    def _get_or_create(
        self, role: Role, username: str, *, department: str | None = None, scope: str | None = None
    ) -> Actor:
        stmt = select(User).where(User.role == role.value, User.active).order_by(User.id)
        if department is not None:
            stmt = stmt.where(User.department_code == department)
        if scope is not None:
            stmt = stmt.where(User.scope_code == scope)
        user = self._session.scalars(stmt).first()
        if user is None:
            user = create_user(
                self._session,
                username=username,
                password=DEMO_PASSWORD,
                role=role,
                department_code=department,
                scope_code=scope,
                display_name=self._display_name(role, department, scope),
                actor="demo",
            )
            self.created.append(username)
        return actor_for(self._session, user)

    def _display_name(self, role: Role, department: str | None, scope: str | None) -> str:
        if department is not None:
            unit = self._session.get(Department, department)
            return f"{unit.name_zh if unit else department} 处置员"
        if scope is not None:
            node = self._session.get(Jurisdiction, scope)
            return f"{node.name_zh if node else scope} 居委干部"
        return f"演示{role.value}"
