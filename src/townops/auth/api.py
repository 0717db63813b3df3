"""Log-in: OAuth2 password flow returning a bearer token."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends
from fastapi.security import OAuth2PasswordRequestForm

from townops.api.deps import ActorDep, ProfileDep, SessionDep, SettingsDep, TokenKeyDep
from townops.auth.models import User
from townops.auth.service import actor_for, authenticate, issue_token

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/token")
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    session: SessionDep,
    settings: SettingsDep,
    key: TokenKeyDep,
) -> dict[str, Any]:
    user = authenticate(session, username=form.username, password=form.password)
    actor = actor_for(session, user)
    return {
        "access_token": issue_token(actor, secret=key, ttl_minutes=settings.token_ttl_minutes),
        "token_type": "bearer",
        "expires_in": settings.token_ttl_minutes * 60,
        "role": actor.role.value,
    }


@router.get("/me")
def me(actor: ActorDep, profile: ProfileDep, session: SessionDep) -> dict[str, Any]:
    """Who the caller is, what their role may do, and their own phone (to prefill forms)."""
    spec = profile.roles.get(actor.role)
    user = session.get(User, actor.user_id) if actor.user_id is not None else None
    return {
        "username": actor.username,
        "role": actor.role.value,
        "role_name_zh": spec.name_zh if spec else actor.role.value,
        "role_name_en": spec.name_en if spec else actor.role.value,
        "department": actor.department_code,
        "scope": actor.scope_code,
        "actions": sorted(spec.actions) if spec else [],
        "display_name": user.display_name if user else "",
        "phone": user.phone if user else None,  # the caller's own number: never masked
    }
