"""FastAPI dependencies: a session per request and the calling actor."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import OAuth2PasswordBearer
from sqlalchemy.orm import Session

from townops.auth.actor import Actor
from townops.auth.service import actor_from_token, signing_key
from townops.errors import Unauthenticated
from townops.settings import Settings
from townops.towns.profile import TownProfile, get_profile

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def get_session(request: Request) -> Iterator[Session]:
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


def token_key(request: Request) -> str:
    """The key that signs bearer tokens, resolved once per process."""
    key: str | None = getattr(request.app.state, "token_key", None)
    if key is None:
        with request.app.state.session_factory() as session:
            key = signing_key(session, configured=request.app.state.settings.secret_key)
        request.app.state.token_key = key
    return key


TokenKeyDep = Annotated[str, Depends(token_key)]


def current_actor(key: TokenKeyDep, token: Annotated[str | None, Depends(oauth2_scheme)]) -> Actor:
    if not token:
        raise Unauthenticated("a bearer token is required: POST /api/v1/auth/token")
    return actor_from_token(token, secret=key)


ActorDep = Annotated[Actor, Depends(current_actor)]


def town_profile(session: SessionDep) -> TownProfile:
    return get_profile(session)


ProfileDep = Annotated[TownProfile, Depends(town_profile)]
