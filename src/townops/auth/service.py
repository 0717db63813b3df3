"""Passwords, bearer tokens, Open311 API keys, users. No HTTP here."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta
from typing import Any

import jwt
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from townops.auth.actor import Actor
from townops.auth.models import ApiKey, AuditEntry, User
from townops.cases.enums import Role
from townops.errors import Conflict, InvalidInput, Unauthenticated
from townops.jurisdiction.models import Jurisdiction
from townops.organization.models import Department
from townops.timeutil import utcnow
from townops.towns.models import InstanceSetting

_SCRYPT = {"n": 2**14, "r": 8, "p": 1, "dklen": 32}


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **_SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    try:
        scheme, salt_hex, digest_hex = stored.split("$")
    except ValueError:
        return False
    if scheme != "scrypt":
        return False
    digest = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt_hex), **_SCRYPT)
    return hmac.compare_digest(digest.hex(), digest_hex)


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
    if role == Role.handler and not department_code:
        raise InvalidInput("a handler needs --department", field="department")
    if role in (Role.community_staff, Role.grid_worker) and not scope_code:
        raise InvalidInput(f"a {role.value} needs --scope", field="scope")
    if scope_code and session.get(Jurisdiction, scope_code) is None:
        raise InvalidInput(f"unknown jurisdiction '{scope_code}'", field="scope")
    if department_code and session.get(Department, department_code) is None:
        raise InvalidInput(f"unknown department '{department_code}'", field="department")
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


def authenticate(session: Session, *, username: str, password: str) -> User:
    user = session.scalars(select(User).where(User.username == username)).first()
    if user is None or not user.active or not verify_password(password, user.password_hash):
        raise Unauthenticated("wrong username or password")
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


def issue_token(actor: Actor, *, secret: str, ttl_minutes: int, now: datetime | None = None) -> str:
    now = now or utcnow()
    claims: dict[str, Any] = {
        "sub": actor.username,
        "uid": actor.user_id,
        "role": actor.role.value,
        "dept": actor.department_code,
        "scope": actor.scope_code,
        "spath": actor.scope_path,
        "iat": int(now.timestamp()),
        "exp": int((now + timedelta(minutes=ttl_minutes)).timestamp()),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def actor_from_token(token: str, *, secret: str) -> Actor:
    """Decode a bearer token into an actor; the claims carry role and scope, no DB read."""
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


def create_api_key(session: Session, *, name: str, actor: str = "cli") -> str:
    key = "to_" + secrets.token_urlsafe(24)
    session.add(ApiKey(name=name, key_hash=_key_hash(key), prefix=key[:8]))
    session.add(AuditEntry(actor=actor, action="api_key.create", target=name, data={}))
    session.flush()
    return key


def check_api_key(session: Session, *, key: str) -> ApiKey | None:
    found = session.scalars(select(ApiKey).where(ApiKey.key_hash == _key_hash(key))).first()
    return found if found is not None and found.active else None


def signing_key(session: Session, *, configured: str | None) -> str:
    """The configured token key, or the one this installation generated and stored."""
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
