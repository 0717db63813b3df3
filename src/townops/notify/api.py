"""Notification routes (thin): your in-app messages, and the administrator's delivery log."""

from __future__ import annotations

import os
from typing import Annotated, Any

from fastapi import APIRouter, Body, Query, Request
from fastapi import Path as PathParam

from townops.api.deps import ActorDep, SessionDep
from townops.api.params import DbId, PageNumber
from townops.errors import Forbidden
from townops.notify import inbox, preferences, receipts
from townops.notify.schemas import (
    DeliveryOut,
    DeliveryPage,
    InboxOut,
    PreferencesIn,
    PreferencesOut,
    ReadOut,
)
from townops.ratelimit import MissLimiter
from townops.timeutil import utcnow

router = APIRouter(prefix="/api/v1/notifications", tags=["notifications"])


@router.get("", response_model=InboxOut)
def my_notifications(
    session: SessionDep,
    actor: ActorDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> InboxOut:
    """Your in-app messages (站内信), newest first, and how many are unread."""
    return inbox.inbox(session, actor=actor, now=utcnow(), unread_only=unread, limit=limit)


@router.get("/preferences", response_model=PreferencesOut)
def my_preferences(session: SessionDep, actor: ActorDep) -> PreferencesOut:
    """Your settings: the town's channels (muted or not) and the language of what is sent."""
    return preferences.my_preferences(session, actor=actor)


@router.put("/preferences", response_model=PreferencesOut)
def set_my_preferences(
    wanted: PreferencesIn, session: SessionDep, actor: ActorDep
) -> PreferencesOut:
    """Mute channels (not in-app; critical messages still come) and choose zh or en."""
    out = preferences.set_my_preferences(session, actor=actor, wanted=wanted, now=utcnow())
    session.commit()
    return out


@router.post("/read", response_model=ReadOut)
def mark_all_read(session: SessionDep, actor: ActorDep) -> ReadOut:
    marked = inbox.mark_read(session, actor=actor, now=utcnow(), notification_id=None)
    session.commit()
    return ReadOut(marked=marked)


@router.post("/{notification_id}/read", response_model=ReadOut)
def mark_read(notification_id: DbId, session: SessionDep, actor: ActorDep) -> ReadOut:
    marked = inbox.mark_read(session, actor=actor, now=utcnow(), notification_id=notification_id)
    session.commit()
    return ReadOut(marked=marked)


@router.get("/deliveries", response_model=DeliveryPage)
def delivery_log(
    session: SessionDep,
    actor: ActorDep,
    state: str | None = None,
    channel: Annotated[str | None, Query(max_length=60)] = None,
    page: PageNumber = 1,
    page_size: Annotated[int, Query(ge=1, le=200)] = 50,
) -> DeliveryPage:
    """Every message sent or to be sent (administrator): state, attempts, last error."""
    return inbox.delivery_log(
        session, actor=actor, state=state, channel=channel, page=page, page_size=page_size
    )


@router.post("/deliveries/{notification_id}/resend", response_model=DeliveryOut)
def resend(notification_id: DbId, session: SessionDep, actor: ActorDep) -> DeliveryOut:
    out = inbox.resend(session, actor=actor, notification_id=notification_id, now=utcnow())
    session.commit()
    return out


# A wrong token is what a guesser pays for: 20 per address in 10 minutes, then nothing.
WRONG_TOKENS = MissLimiter(message="too many delivery reports with a wrong token; try later")


@router.post("/receipts/{channel}")
def delivery_reports(
    channel: Annotated[str, PathParam(max_length=60)],
    request: Request,
    session: SessionDep,
    reports: Annotated[list[Any], Body(max_length=receipts.MAX_REPORTS)],
    token: Annotated[str, Query(max_length=200)] = "",
) -> dict[str, object]:
    """The SMS gateways' delivery reports (Aliyun SmsReport, Tencent status callback),
    pushed to the URL the town gives them with the channel's token; answered in the shape
    each gateway expects. No login: the token is the credential."""
    client = request.client.host if request.client else "unknown"
    WRONG_TOKENS.check(client)
    try:
        taken = receipts.record_reports(
            session, channel=channel, token=token, reports=reports, env=os.environ, now=utcnow()
        )
    except Forbidden:
        WRONG_TOKENS.miss(client)
        raise
    session.commit()
    return receipts.provider_answer(taken.kind)
