"""Passwords, bearer tokens, Open311 API keys, users. No HTTP here."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townops.access.actor import Actor, Role
from townops.auth.models import ApiKey, AuditEntry, User

# hash_password is re-exported: code outside townops.auth imports it from here.
from townops.auth.passwords import hash_password as hash_password
from townops.auth.passwords import needs_rehash, verify_dummy, verify_password
from townops.errors import Conflict, InvalidInput, Unauthenticated
from townops.jurisdiction.models import Jurisdiction
from townops.organization.models import Department
from townops.timeutil import utcnow
from townops.towns.models import InstanceSetting


def create_user(
    session: Session,
    *,
    username: str,
    password: str,
    role: Role,
    scope_code: str | None = None,
    department_code: str | None = None,
    display_name: str = "",
    phone: str | None = None,
    actor: str = "cli",
) -> User:
    if len(password) < 8:
        raise InvalidInput("the password must have at least 8 characters", field="password")
    if session.scalars(select(User).where(User.username == username)).first():
        raise Conflict(f"user '{username}' already exists")
    check_assignment(session, role=role, scope_code=scope_code, department_code=department_code)
    user = User(
        username=username,
        password_hash=hash_password(password),
        role=role.value,
        scope_code=scope_code,
        department_code=department_code,
        display_name=display_name or username,
        phone=phone,
    )
    session.add(user)
    session.add(
        AuditEntry(
            actor=actor,
            action="user.create",
            target=username,
            data={"role": role.value, "scope": scope_code, "department": department_code},
        )
    )
    session.flush()
    return user


def check_assignment(
    session: Session, *, role: Role, scope_code: str | None, department_code: str | None
) -> None:
    """422 unless the role has what it needs (a handler a department, community staff and
    grid workers a scope) and the scope and department exist."""
    if role == Role.handler and not department_code:
        raise InvalidInput("a handler needs --department", field="department")
    if role in (Role.community_staff, Role.grid_worker) and not scope_code:
        raise InvalidInput(f"a {role.value} needs --scope", field="scope")
    if scope_code and session.get(Jurisdiction, scope_code) is None:
        raise InvalidInput(f"unknown jurisdiction '{scope_code}'", field="scope")
    if department_code and session.get(Department, department_code) is None:
        raise InvalidInput(f"unknown department '{department_code}'", field="department")


def authenticate(session: Session, *, username: str, password: str) -> User:
    """The user with this username and password, or 401.

    As slow for an unknown or inactive user as for a real one (a dummy hash is verified),
    so the answer time does not tell which usernames exist. A right password stored in an
    old or weaker hash is rehashed (flushed; the caller commits)."""
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None:
        verify_dummy(password)
        raise Unauthenticated("wrong username or password")
    if not verify_password(password, user.password_hash) or not user.active:
        raise Unauthenticated("wrong username or password")
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
        session.flush()
    return user


def actor_for(session: Session, user: User) -> Actor:
    scope_path = None
    if user.scope_code:
        node = session.get(Jurisdiction, user.scope_code)
        scope_path = node.path if node else None
    return Actor(
        username=user.username,
        role=Role(user.role),
        user_id=user.id,
        department_code=user.department_code,
        scope_code=user.scope_code,
        scope_path=scope_path,
    )


def issue_token(
    actor: Actor,
    *,
    secret: str,
    ttl_minutes: int,
    now: datetime | None = None,
    generation: int = 0,
) -> str:
    """A signed bearer token. ``gen`` is the user's ``token_generation`` when it was issued:
    each request compares it with the user's row (:mod:`townops.auth.sessions`), so a
    logout, deactivation or change of role refuses it at once. The role and scope claims
    are informative (and what a live-feed ticket carries); requests take them from the row."""
    now = now or utcnow()
    claims: dict[str, Any] = {
        "sub": actor.username,
        "uid": actor.user_id,
        "gen": generation,
        "role": actor.role.value,
        "dept": actor.department_code,
        "scope": actor.scope_code,
        "spath": actor.scope_path,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=ttl_minutes)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def actor_from_token(token: str, *, secret: str) -> Actor:
    """Decode a token into the actor its claims describe, with no database read: for
    one-minute live-feed tickets only. A bearer token goes through
    :func:`townops.auth.sessions.actor_for_token`, which checks the user's row."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"])
        return Actor(
            username=claims["sub"],
            role=Role(claims["role"]),
            user_id=claims["uid"],
            department_code=claims.get("dept"),
            scope_code=claims.get("scope"),
            scope_path=claims.get("spath"),
        )
    except (jwt.PyJWTError, KeyError, ValueError) as exc:
        raise Unauthenticated("invalid or expired token") from exc


def _key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def create_api_key(
    session: Session,
    *,
    name: str,
    actor: str = "cli",
    purpose: str = "open311",
    bound_to: dict[str, Any] | None = None,
) -> str:
    """A new key (shown once): ``open311`` files requests; ``ingest`` posts readings for
    the devices in ``bound_to`` (``{"devices": [ids]}``) and nothing else."""
    key = "to_" + secrets.token_urlsafe(24)
    session.add(
        ApiKey(
            name=name, key_hash=_key_hash(key), prefix=key[:8], purpose=purpose, bound_to=bound_to
        )
    )
    data = {"purpose": purpose, "bound_to": bound_to} if purpose != "open311" else {}
    session.add(AuditEntry(actor=actor, action="api_key.create", target=name, data=data))
    session.flush()
    return key


def check_api_key(session: Session, *, key: str, purpose: str = "open311") -> ApiKey | None:
    """The active key of this purpose, or None (a key of another purpose is no key here)."""
    found = session.scalars(select(ApiKey).where(ApiKey.key_hash == _key_hash(key))).first()
    if found is None or not found.active or found.purpose != purpose:
        return None
    return found


def signing_key(session: Session, *, configured: str | None) -> str:
    """The configured token key, or the one this installation generated and stored (which
    only the demo's database may serve with: :func:`townops.auth.sessions.secret_key_problem`).

    Its own use case: generating the key commits ``session``, so callers pass a session of
    their own, never one holding a use case's work (:func:`townops.api.deps.token_key`,
    :func:`townops.media.service.url_secret`)."""
    if configured:
        return configured
    row = session.get(InstanceSetting, "token_signing_key")
    if row is None:
        row = InstanceSetting(key="token_signing_key", value=secrets.token_urlsafe(48))
        session.add(row)
        try:
            session.commit()
        except IntegrityError:
            # Another worker created it first: use theirs.
            session.rollback()
            row = session.get(InstanceSetting, "token_signing_key")
            assert row is not None
    return row.value
