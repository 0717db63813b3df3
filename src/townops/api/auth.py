"""Log-in (OAuth2 password flow returning a bearer token) and log-out."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response, status
from fastapi.security import OAuth2PasswordRequestForm

from townops.access import may_search_contact
from townops.api.deps import ActorDep, ProfileDep, SessionDep, SettingsDep, TokenKeyDep
from townops.auth.models import User
from townops.auth.service import actor_for, issue_token
from townops.auth.sessions import LoginThrottle, log_in, log_out

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])

# A token must not be kept by a browser's or a proxy's cache.
_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def _throttle(request: Request) -> LoginThrottle:
    # One per application, so each app (and each test's app) counts its own failures.
    throttle: LoginThrottle | None = getattr(request.app.state, "login_throttle", None)
    if throttle is None:
        throttle = request.app.state.login_throttle = LoginThrottle()
    return throttle


@router.post(
    "/token",
    responses={
        401: {"description": "Wrong username or password"},
        429: {"description": "Too many failed log-ins for this username or from this address"},
    },
)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()],
    request: Request,
    response: Response,
    session: SessionDep,
    settings: SettingsDep,
    key: TokenKeyDep,
) -> dict[str, Any]:
    """A bearer token for a username and password (``expires_in`` seconds). After 5 wrong
    passwords for a username, or 20 failed log-ins from an address, in 15 minutes: 429
    with ``Retry-After``."""
    client = request.client.host if request.client else "unknown"
    user = log_in(
        session,
        username=form.username,
        password=form.password,
        client=client,
        throttle=_throttle(request),
    )
    actor = actor_for(session, user)
    generation = user.token_generation
    session.commit()  # a rehashed password
    response.headers.update(_NO_STORE)
    return {
        "access_token": issue_token(
            actor, secret=key, ttl_minutes=settings.token_ttl_minutes, generation=generation
        ),
        "token_type": "bearer",
        "expires_in": settings.token_ttl_minutes * 60,
        "role": actor.role.value,
    }


@router.post(
    "/logout",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={401: {"description": "No valid token"}},
)
def logout(actor: ActorDep, session: SessionDep) -> Response:
    """Log out everywhere: every token of the caller's account is refused from now on."""
    log_out(session, actor=actor)
    session.commit()
    return Response(status_code=status.HTTP_204_NO_CONTENT)


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
        # Whether a case search may ask for a requester's phone (else a 403).
        "may_search_phone": may_search_contact(actor, profile.roles),
    }
