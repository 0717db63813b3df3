"""What automatic dispatch decided for a case, and what people taught it afterwards."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from townops.db import Base, UTCDateTime
from townops.timeutil import utcnow


class RoutingDecision(Base):
    """One per case: how the case was read, placed and routed when it arrived (自动指令).

    ``outcome`` is ``dispatched`` (sent without a person), ``queued`` (waits for a
    dispatcher with suggestions) or ``duplicate`` (linked to an open case).
    """

    __tablename__ = "routing_decisions"

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True)
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    automatic: Mapped[bool] = mapped_column(Boolean, default=False)
    outcome: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(200), default="")
    rule: Mapped[str | None] = mapped_column(String(80), default=None)
    category_code: Mapped[str] = mapped_column(String(40))
    category_source: Mapped[str] = mapped_column(String(20))  # given | classifier
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    threshold: Mapped[float] = mapped_column(Float, default=0.0)
    model_version: Mapped[str | None] = mapped_column(String(40), default=None)
    # {"labels": {label: p}, "keywords": [...], "category_scores": {...}}
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # {"method": "point|address|given|actor|none", "code": ..., "confidence": ..., "matched": ...}
    place: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    target_department: Mapped[str | None] = mapped_column(String(40), default=None)
    target_community: Mapped[str | None] = mapped_column(String(40), default=None)
    # Top suggestions when queued: [{"category", "department"|"community", "score", "rule"}]
    suggestions: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None)
    # Clock seconds from receipt to the first dispatch, by the system or a person.
    seconds_to_dispatch: Mapped[float | None] = mapped_column(Float, default=None)
    # Set when an automatically dispatched case was returned or re-dispatched: it was wrong.
    corrected_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class TrainingExample(Base):
    """A labelled text people produced while working: a correction, a return, a confirmation."""

    __tablename__ = "training_examples"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, default=None)
    text: Mapped[str] = mapped_column(Text)
    label: Mapped[str] = mapped_column(String(40))  # the classifier's label
    category_code: Mapped[str] = mapped_column(String(40))
    source: Mapped[str] = mapped_column(String(20))  # correction | return | confirmation
    created_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    used_in_model: Mapped[str | None] = mapped_column(String(40), default=None)
