"""举一反三: clusters of cases on one topic at one place over weeks, and their members."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from townops.db import Base, UTCDateTime


class SystemicIssue(Base):
    __tablename__ = "systemic_issues"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # Stable identity across refreshes: "<place code>|<topic>|<n>".
    key: Mapped[str] = mapped_column(String(200), unique=True)
    place_code: Mapped[str | None] = mapped_column(ForeignKey("jurisdictions.code"), default=None)
    place_label: Mapped[str] = mapped_column(String(200))
    topic: Mapped[str] = mapped_column(String(80))
    topic_label: Mapped[str] = mapped_column(String(200))
    first_seen: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    case_count: Mapped[int] = mapped_column(Integer)
    weeks_active: Mapped[int] = mapped_column(Integer)
    # [{"week": "2022-W05", "count": 3}, ...]
    weekly_counts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    trend: Mapped[str] = mapped_column(String(12))  # rising | steady | falling
    slope: Mapped[float] = mapped_column(Float, default=0.0)
    # open | root_case_opened | lapsed
    status: Mapped[str] = mapped_column(String(20), default="open", index=True)
    root_case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None)
    refreshed_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SystemicIssueMember(Base):
    __tablename__ = "systemic_issue_members"

    issue_id: Mapped[int] = mapped_column(ForeignKey("systemic_issues.id"), primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), primary_key=True, index=True)
