"""Shapes of the notification routes."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class NotificationOut(BaseModel):
    """One in-app message (站内信), in both languages."""

    id: int
    rule: str
    case_id: int | None
    title_zh: str
    body_zh: str
    title_en: str
    body_en: str
    at: datetime = Field(description="when it became due")
    read: bool


class InboxOut(BaseModel):
    items: list[NotificationOut]
    unread: int = Field(description="unread messages in all (not only those listed)")


class ReadOut(BaseModel):
    marked: int


class DeliveryOut(BaseModel):
    """One row of the delivery log (发送记录), the address masked."""

    id: int
    rule: str
    case_id: int | None
    channel: str
    recipient_user_id: int | None
    address: str
    title: str
    state: str
    attempts: int
    due_at: datetime
    sent_at: datetime | None
    expires_at: datetime | None
    last_error: str | None


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    page: int
    page_size: int
    has_more: bool
