"""FastAPI dependencies: a session per request and the calling actor.

They are ``async`` on purpose: most do no blocking work worth a thread (a JWT decode, a
cached profile, creating a Session object), and each sync dependency would cost a hop to
the threadpool per request. The exception is the caller's user row, which
:func:`current_actor` reads on every request (logged out, deactivated, demoted → 401 at
once): one primary-key query, run in the threadpool on the request's own session so the
route body reuses its connection.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.auth.service import signing_key
from townops.auth.sessions import actor_from_claims, decode_claims
from townops.errors import Unauthenticated
from townops.settings import Settings
from townops.towns.profile import TownProfile, get_profile

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_session(request: Request) -> AsyncIterator[Session]:
    session: Session = request.app.state.session_factory()
    try:
        yield session
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]
SettingsDep = Annotated[Settings, Depends(get_settings_dep)]


async def token_key(request: Request) -> str:
    """The key that signs bearer tokens, resolved once per process (one query, then cached)."""
    key: str | None = getattr(request.app.state, "token_key", None)
    if key is None:
        with request.app.state.session_factory() as session:
            key = signing_key(session, configured=request.app.state.settings.secret_key)
        request.app.state.token_key = key
    return key


TokenKeyDep = Annotated[str, Depends(token_key)]


async def current_actor(
    key: TokenKeyDep,
    session: SessionDep,
    token: Annotated[str | None, Depends(oauth2_scheme)],
) -> Actor:
    """The caller as their user row says now; 401 without a token, with a bad or expired
    one, or one the user's row no longer stands behind (see townops.auth.sessions)."""
    if not token:
        raise Unauthenticated("a bearer token is required: POST /api/v1/auth/token")
    claims = decode_claims(token, secret=key)
    return await run_in_threadpool(actor_from_claims, session, claims)


ActorDep = Annotated[Actor, Depends(current_actor)]


async def town_profile(session: SessionDep) -> TownProfile:
    # Cached per database after the first call, so this rarely touches it.
    return get_profile(session)


ProfileDep = Annotated[TownProfile, Depends(town_profile)]
