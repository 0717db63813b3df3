"""What a person reads (the bell, 站内信) and what the administrator sees of the sending
(the delivery log, 发送记录), with a resend. No HTTP: :mod:`townops.notify.api` calls these.

A person reads only their own in-app messages, once they are due. The delivery log is for
the administrator: every message, its state, attempts and last error, the address masked
(an e-mail to its first letter and domain, a phone number to 138****1234).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session

from townops.access.actor import Actor, Role
from townops.access.masking import mask_address_of
from townops.auth.models import AuditEntry
from townops.cases.enums import Action, State
from townops.cases.models import Case, CaseEvent
from townops.cases.transitions import next_state
from townops.errors import Forbidden, InvalidInput, NotFound
from townops.notify.config import INAPP
from townops.notify.models import DeliveryState, Notification
from townops.notify.schemas import DeliveryOut, DeliveryPage, InboxOut, NotificationOut
from townops.notify.service import config_of

S = DeliveryState
_SHOWN = (S.queued.value, S.delivered.value)  # an in-app message is there once it is due
_RESENDABLE = frozenset({S.failed.value, S.expired.value, S.cancelled.value})
# The states in which a case can still be acknowledged: the engine's state table says.
ACKNOWLEDGEABLE = tuple(s for s in State if next_state(s, Action.acknowledge) is not None)


def _mine(actor: Actor, now: datetime) -> list[ColumnElement[bool]]:
    if actor.user_id is None:
        raise Forbidden("notifications are for people who log in", field="authorization")
    return [
        Notification.recipient_user_id == actor.user_id,
        Notification.channel == INAPP,
        Notification.state.in_(_SHOWN),
        Notification.next_attempt_at <= now,
    ]


def inbox(
    session: Session, *, actor: Actor, now: datetime, unread_only: bool, limit: int
) -> InboxOut:
    where = _mine(actor, now)
    stmt = select(Notification).where(*where)
    if unread_only:
        stmt = stmt.where(Notification.read_at.is_(None))
    rows = session.scalars(
        stmt.order_by(Notification.next_attempt_at.desc(), Notification.id.desc()).limit(limit)
    )
    unread = session.scalar(select(func.count()).where(*where, Notification.read_at.is_(None)))
    listed = list(rows)
    waiting = _still_unacknowledged(session, listed)
    return InboxOut(
        items=[_out(row, asks=row.case_id in waiting.get(row.rule, ())) for row in listed],
        unread=int(unread or 0),
    )


def _still_unacknowledged(session: Session, rows: list[Notification]) -> dict[str, set[int]]:
    """For each ``unacknowledged`` rule among ``rows``, the cases still waiting for someone
    to acknowledge them: not signed for, not acknowledged, the chain not stopped."""
    rules = {r.id for r in config_of(session).rules if r.when == "unacknowledged"}
    asked = {row.case_id for row in rows if row.rule in rules and row.case_id is not None}
    if not asked:
        return {}
    answered = set(
        session.scalars(
            select(CaseEvent.case_id).where(
                CaseEvent.case_id.in_(asked),
                CaseEvent.action.in_([Action.acknowledge.value, Action.accept.value]),
            )
        )
    ) | set(
        session.scalars(
            select(Notification.case_id).where(
                Notification.case_id.in_(asked),
                Notification.rule.in_(rules),
                Notification.state == S.cancelled.value,
            )
        )
    )
    open_states = [s.value for s in ACKNOWLEDGEABLE]
    waiting = set(
        session.scalars(
            select(Case.id).where(Case.id.in_(asked - answered), Case.state.in_(open_states))
        )
    )
    return {
        rule: {row.case_id for row in rows if row.rule == rule and row.case_id in waiting}
        for rule in rules
    }


def _out(row: Notification, *, asks: bool = False) -> NotificationOut:
    return NotificationOut(
        id=row.id,
        rule=row.rule,
        case_id=row.case_id,
        title_zh=row.title,
        body_zh=row.body,
        title_en=row.title_en,
        body_en=row.body_en,
        at=row.next_attempt_at,
        read=row.read_at is not None,
        asks_acknowledgement=asks,
    )


def mark_read(session: Session, *, actor: Actor, now: datetime, notification_id: int | None) -> int:
    """Mark one of your messages read (or all of them: ``notification_id`` None)."""
    where = _mine(actor, now)
    stmt = update(Notification).where(*where, Notification.read_at.is_(None))
    if notification_id is not None:
        stmt = stmt.where(Notification.id == notification_id)
    result = session.execute(stmt.values(read_at=now).execution_options(synchronize_session=False))
    changed = int(getattr(result, "rowcount", 0) or 0)
    if notification_id is not None and changed == 0:
        exists = session.scalar(
            select(Notification.id).where(*where, Notification.id == notification_id)
        )
        if exists is None:
            raise NotFound(f"no notification {notification_id} of yours")
    return changed


def _require_admin(actor: Actor) -> None:
    if actor.role != Role.admin:
        raise Forbidden("the delivery log is for the administrator")


def delivery_log(
    session: Session,
    *,
    actor: Actor,
    state: str | None,
    channel: str | None,
    page: int,
    page_size: int,
) -> DeliveryPage:
    _require_admin(actor)
    stmt = select(Notification)
    if state is not None:
        if state not in {s.value for s in S}:
            raise InvalidInput(f"unknown state {state!r}", field="state")
        stmt = stmt.where(Notification.state == state)
    if channel is not None:
        stmt = stmt.where(Notification.channel == channel)
    rows = list(
        session.scalars(
            stmt.order_by(Notification.id.desc())
            .offset((page - 1) * page_size)
            .limit(page_size + 1)
        )
    )
    return DeliveryPage(
        items=[_delivery(row) for row in rows[:page_size]],
        page=page,
        page_size=page_size,
        has_more=len(rows) > page_size,
    )


def _delivery(row: Notification) -> DeliveryOut:
    return DeliveryOut(
        id=row.id,
        rule=row.rule,
        case_id=row.case_id,
        channel=row.channel,
        recipient_user_id=row.recipient_user_id,
        address=mask_address_of(row.address),
        title=row.title,
        state=row.state,
        attempts=row.attempts,
        due_at=row.next_attempt_at,
        sent_at=row.sent_at,
        expires_at=row.expires_at,
        last_error=row.last_error,
    )


def resend(session: Session, *, actor: Actor, notification_id: int, now: datetime) -> DeliveryOut:
    """Queue a failed, expired or cancelled message again (attempts start over)."""
    _require_admin(actor)
    row = session.get(Notification, notification_id)
    if row is None:
        raise NotFound(f"no notification {notification_id}")
    if row.state not in _RESENDABLE:
        raise InvalidInput(
            f"only a failed, expired or cancelled message is sent again (this one is {row.state})",
            field="state",
        )
    before = row.state
    row.state = S.queued.value
    row.attempts = 0
    row.next_attempt_at = now
    row.expires_at = None
    row.last_error = None
    session.add(
        AuditEntry(
            actor=actor.username,
            action="notification.resend",
            target=f"notification:{row.id}",
            data={"from_state": before, "rule": row.rule, "channel": row.channel},
            at=now,
        )
    )
    session.flush()
    return _delivery(row)
