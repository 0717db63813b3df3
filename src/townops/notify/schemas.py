"""Shapes of the notification routes."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field


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
    asks_acknowledgement: bool = Field(
        default=False,
        description="a call up the on-duty chain for a case nobody has acknowledged yet: "
        "POST /api/v1/cases/{case_id}/actions/acknowledge answers it",
    )


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


class ChannelChoice(BaseModel):
    """One channel of the town, as a person's settings show it."""

    name: str
    kind: str
    muted: bool
    mutable: bool = Field(description="false for in-app: the record of what you were told")


class PreferencesOut(BaseModel):
    channels: list[ChannelChoice]
    locale: Literal["zh", "en"]


class PreferencesIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    muted_channels: list[Annotated[str, Field(max_length=60)]] = Field(
        default_factory=list, max_length=50
    )
    locale: Literal["zh", "en"] = "zh"
