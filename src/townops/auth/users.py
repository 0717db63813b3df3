"""Changing an account: deactivate, reactivate, change role, scope or department.

Every change is audited, and every change that narrows or moves what the account may do
(deactivation; role, scope or department) revokes its tokens at once
(:func:`townops.auth.sessions.revoke_tokens`): the next request with an older token is 401.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access.actor import Role
from townops.auth.models import AuditEntry, User
from townops.auth.service import check_assignment
from townops.auth.sessions import revoke_tokens
from townops.errors import NotFound

# Given for scope or department: take the value away (e.g. a handler made a leader).
CLEAR = ""


def _user(session: Session, username: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        raise NotFound(f"no user '{username}'")
    return user


def deactivate_user(session: Session, *, username: str, actor: str = "cli") -> User:
    """The account can no longer log in, and its tokens are refused from now on."""
    user = _user(session, username)
    user.active = False
    revoke_tokens(session, user)
    session.add(
        AuditEntry(
            actor=actor,
            action="user.deactivate",
            target=username,
            data={"token_generation": user.token_generation},
        )
    )
    session.flush()
    return user


def activate_user(session: Session, *, username: str, actor: str = "cli") -> User:
    """The account may log in again (its old tokens stay revoked)."""
    user = _user(session, username)
    user.active = True
    session.add(AuditEntry(actor=actor, action="user.activate", target=username, data={}))
    session.flush()
    return user


def update_user(
    session: Session,
    *,
    username: str,
    role: Role | None = None,
    scope_code: str | None = None,
    department_code: str | None = None,
    actor: str = "cli",
) -> dict[str, Any]:
    """Change what is given (``CLEAR`` for scope or department removes it); the result must
    still be a valid assignment. Returns the changes as ``{field: [old, new]}``; any change
    revokes the account's tokens."""
    user = _user(session, username)
    new_role = role.value if role is not None else user.role
    new_scope = user.scope_code if scope_code is None else (scope_code or None)
    new_department = user.department_code if department_code is None else (department_code or None)
    check_assignment(
        session, role=Role(new_role), scope_code=new_scope, department_code=new_department
    )
    changes: dict[str, Any] = {
        name: [old, new]
        for name, old, new in (
            ("role", user.role, new_role),
            ("scope", user.scope_code, new_scope),
            ("department", user.department_code, new_department),
        )
        if old != new
    }
    if not changes:
        return changes
    user.role = new_role
    user.scope_code = new_scope
    user.department_code = new_department
    revoke_tokens(session, user)
    session.add(
        AuditEntry(
            actor=actor,
            action="user.update",
            target=username,
            data={**changes, "token_generation": user.token_generation},
        )
    )
    session.flush()
    return changes
