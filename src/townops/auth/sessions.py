"""Sessions: log-in (throttled), the per-request token check, log-out, the signing key.

A bearer token names a user (``uid``, ``sub``) and the user's ``token_generation`` when it
was issued (``gen``). Every request reads the user's row by primary key (one query, joined
to the scope's path) and refuses the token at once if the user is gone, inactive, or the
generation moved on; the actor's role, scope and department come from that row, never from
the token, so a demotion takes effect on the next request. The generation is bumped by a
log-out (all of that user's tokens), a deactivation, and a change of role, scope or
department (:mod:`townops.auth.users`).

Log-in failures are limited per username and per client address
(:class:`LoginThrottle`, in the process's memory); an unknown username costs the same
time as a known one (:func:`townops.auth.service.authenticate`).

Outside the demo the signing key must come from the environment (``TOWNOPS_SECRET_KEY``):
a key kept in the database travels with every copy of it, and a copy would mint tokens.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jwt
from sqlalchemy import Engine, inspect, select
from sqlalchemy.orm import Session

from townops.access.actor import Actor, Role
from townops.auth.models import AuditEntry, User
from townops.auth.service import authenticate
from townops.errors import Unauthenticated
from townops.jurisdiction.models import Jurisdiction
from townops.ratelimit import MissLimiter
from townops.settings import Settings
from townops.towns.models import InstanceSetting

log = logging.getLogger(__name__)

# Written into the demo's database by `townops demo` (townops.cli.demo): the one database a
# server may run on with a generated signing key.
DEMO_MARK = "demo_database"
MIN_SECRET_KEY_LENGTH = 32
# Log-in failures: per username (guessing one account's password) and per address
# (trying many accounts), in any 15 minutes.
LOGIN_WINDOW_SECONDS = 900.0
LOGIN_FAILURES_PER_USERNAME = 5
LOGIN_FAILURES_PER_ADDRESS = 20
# A username longer than any real one still counts against one key, not a new one per byte.
_USERNAME_KEY_CHARS = 120

_INVALID = "invalid or expired token"


# --------------------------------------------------------------------------- tokens


def decode_claims(token: str, *, secret: str) -> dict[str, Any]:
    """The claims of a bearer token signed with ``secret`` and not expired, or 401."""
    try:
        claims: dict[str, Any] = jwt.decode(
            token, secret, algorithms=["HS256"], options={"require": ["exp", "sub", "uid", "gen"]}
        )
    except jwt.PyJWTError as exc:
        raise Unauthenticated(_INVALID) from exc
    if not isinstance(claims["uid"], int) or not isinstance(claims["gen"], int):
        raise Unauthenticated(_INVALID)
    return claims


def actor_from_claims(session: Session, claims: dict[str, Any]) -> Actor:
    """The actor as the user's row says now (one primary-key read), or 401 if the token no
    longer stands: user gone or renamed, inactive, or tokens revoked since it was issued."""
    row = session.execute(
        select(
            User.username,
            User.role,
            User.active,
            User.token_generation,
            User.department_code,
            User.scope_code,
            Jurisdiction.path,
        )
        .outerjoin(Jurisdiction, Jurisdiction.code == User.scope_code)
        .where(User.id == claims["uid"])
    ).first()
    if row is None or row.username != claims["sub"]:
        raise Unauthenticated(_INVALID)
    if not row.active:
        raise Unauthenticated("this account is deactivated")
    if row.token_generation != claims["gen"]:
        raise Unauthenticated("this token was revoked (logged out, or the account changed)")
    try:
        role = Role(row.role)
    except ValueError as exc:
        raise Unauthenticated(_INVALID) from exc
    return Actor(
        username=row.username,
        role=role,
        user_id=claims["uid"],
        department_code=row.department_code,
        scope_code=row.scope_code,
        scope_path=row.path if row.scope_code else None,
    )


def actor_for_token(session: Session, token: str, *, secret: str) -> Actor:
    """:func:`decode_claims`, then :func:`actor_from_claims`."""
    return actor_from_claims(session, decode_claims(token, secret=secret))


def revoke_tokens(session: Session, user: User) -> None:
    """Refuse every token issued to ``user`` so far (flushed; the caller commits)."""
    user.token_generation = User.token_generation + 1
    session.flush()
    session.refresh(user, ["token_generation"])


def log_out(session: Session, *, actor: Actor) -> None:
    """Revoke all of the caller's tokens (every device) and audit it; the caller commits."""
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    if user is None:
        raise Unauthenticated(_INVALID)
    revoke_tokens(session, user)
    session.add(
        AuditEntry(
            actor=actor.username,
            action="auth.logout",
            target=actor.username,
            data={"token_generation": user.token_generation},
        )
    )
    session.flush()


# --------------------------------------------------------------------------- log-in


def _username_limiter(clock: Callable[[], float] = time.monotonic) -> MissLimiter:
    return MissLimiter(
        max_misses=LOGIN_FAILURES_PER_USERNAME,
        window=LOGIN_WINDOW_SECONDS,
        clock=clock,
        message="too many wrong passwords for this username; try again later",
    )


def _address_limiter(clock: Callable[[], float] = time.monotonic) -> MissLimiter:
    return MissLimiter(
        max_misses=LOGIN_FAILURES_PER_ADDRESS,
        window=LOGIN_WINDOW_SECONDS,
        clock=clock,
        message="too many failed log-ins from this address; try again later",
    )


@dataclass
class LoginThrottle:
    """Failed log-ins per username and per client address (in this process's memory)."""

    by_username: MissLimiter = field(default_factory=_username_limiter)
    by_address: MissLimiter = field(default_factory=_address_limiter)

    @classmethod
    def on_clock(cls, clock: Callable[[], float]) -> LoginThrottle:
        """The same limits on another clock (tests move time forward)."""
        return cls(by_username=_username_limiter(clock), by_address=_address_limiter(clock))


def log_in(
    session: Session, *, username: str, password: str, client: str, throttle: LoginThrottle
) -> User:
    """:func:`authenticate`, refused with 429 (and ``Retry-After``) once the username or the
    address has too many recent failures: the right password too, so a guesser past the
    limit learns nothing. Each attempt counts as a failure while it is checked (parallel
    guesses cannot slip past the limit) and is taken back if the password was right; a
    right password also clears the username's earlier failures."""
    name_key = username[:_USERNAME_KEY_CHARS]
    name_stamp = throttle.by_username.take(name_key)
    try:
        address_stamp = throttle.by_address.take(client)
    except Exception:
        throttle.by_username.give_back(name_key, name_stamp)
        raise
    try:
        user = authenticate(session, username=username, password=password)
    except Unauthenticated:
        log.info("failed log-in for %r from %s", name_key, client)
        raise
    except BaseException:
        throttle.by_username.give_back(name_key, name_stamp)
        throttle.by_address.give_back(client, address_stamp)
        raise
    throttle.by_username.forget(name_key)
    throttle.by_address.give_back(client, address_stamp)
    return user


# --------------------------------------------------------------------------- signing key


def secret_key_problem(settings: Settings, engine: Engine) -> str | None:
    """Why a server may not start with these settings (None if it may).

    ``TOWNOPS_SECRET_KEY`` must be set, at least 32 characters, except on the demo's own
    database (made by ``townops demo``), which keeps the key it generated."""
    key = settings.secret_key
    if key:
        if len(key) < MIN_SECRET_KEY_LENGTH:
            return (
                f"TOWNOPS_SECRET_KEY is too short ({len(key)} characters): give at least "
                f"{MIN_SECRET_KEY_LENGTH}, e.g. the output of "
                "`python3 -c 'import secrets; print(secrets.token_urlsafe(48))'`"
            )
        return None
    if is_demo_database(engine):
        return None
    return (
        "TOWNOPS_SECRET_KEY is not set: outside the demo, the key that signs log-in tokens "
        "must come from the environment (a key kept in the database would let any copy of "
        "the database mint tokens). Set it, the same in every server process, e.g. "
        "TOWNOPS_SECRET_KEY=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))'); "
        "see docs/security.md"
    )


def is_demo_database(engine: Engine) -> bool:
    """True for a database that ``townops demo`` built (it carries the demo's mark)."""
    url = engine.url
    # An SQLite file that does not exist is not the demo's (and is not created by asking).
    if url.get_backend_name() == "sqlite" and not (
        url.database and url.database != ":memory:" and Path(url.database).is_file()
    ):
        return False
    with engine.connect() as conn:
        if not inspect(conn).has_table(InstanceSetting.__tablename__):
            return False
        with Session(bind=conn) as session:
            return session.get(InstanceSetting, DEMO_MARK) is not None
