"""The outbox of notifications (通知): one row per message, per recipient, per channel.

A row is written in the same transaction as the change that causes it (a subscriber to the
case engine's events, :mod:`townops.notify.subscribers`), so a case dispatched is a
message queued, and a rolled-back dispatch queues nothing. The worker
(:mod:`townops.notify.worker`) sends it after the commit and moves it through its states:

    queued → sending → delivered
                    ↘ failed_temporary → (retried after a backoff) … → failed
    queued | failed_temporary → cancelled (the reason went away) | expired (too late)

``key`` is unique: the same rule, subject, recipient, channel and moment never make two
rows, however often the event is seen. ``address`` is contact data (an e-mail address or
a phone number): pages show it masked.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from townops.db import Base, UTCDateTime
from townops.timeutil import utcnow


class DeliveryState(StrEnum):
    queued = "queued"
    sending = "sending"
    delivered = "delivered"
    failed_temporary = "failed_temporary"
    failed = "failed"
    cancelled = "cancelled"
    expired = "expired"


#: States the worker still has to act on.
PENDING_STATES = (DeliveryState.queued.value, DeliveryState.failed_temporary.value)


class Notification(Base):
    __tablename__ = "notifications"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(250), unique=True)
    rule: Mapped[str] = mapped_column(String(60))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None, index=True)
    recipient_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    channel: Mapped[str] = mapped_column(String(60))
    address: Mapped[str] = mapped_column(String(200), default="")
    title: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    title_en: Mapped[str] = mapped_column(String(300), default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    template_params: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(20), default=DeliveryState.queued.value)
    critical: Mapped[bool] = mapped_column(default=False)
    # Not before: the moment it is due (a reminder), pushed past the quiet hours.
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # A worker's lease while sending: past it, the row is another worker's to retry.
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    last_error: Mapped[str | None] = mapped_column(String(300), default=None)
    receipt: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    __table_args__ = (
        Index("ix_notifications_due", "state", "next_attempt_at"),
        Index("ix_notifications_inbox", "recipient_user_id", "channel", "id"),
    )


class NotificationPreference(Base):
    """One user's choices (通知设置): the channels they do not want and their language.

    A missing row is the default: every channel the rules name, in Chinese. Critical
    messages (a rule's ``critical``) go through muted channels all the same, and in-app
    cannot be muted: it is the record of what the person was told.
    """

    __tablename__ = "notification_preferences"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), primary_key=True)
    muted_channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    locale: Mapped[str] = mapped_column(String(5), default="zh")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
