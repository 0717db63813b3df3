"""The Case and the rows that record what happened to it.

State changes are rows: every transition appends a :class:`CaseEvent`, which is also the
case's audit timeline. Nothing updates or deletes an event.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    event,
    inspect,
    text,
)
from sqlalchemy.orm import Mapped, Mapper, mapped_column, relationship

from townops.cases.bigrams import document_terms
from townops.cases.enums import CLOCK_STATES
from townops.db import Base, UTCDateTime
from townops.timeutil import utcnow

_CLOCK_STATES = frozenset(s.value for s in CLOCK_STATES)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        UniqueConstraint("source", "external_id"),
        # Work queues: open cases only (partial), by deadline, town-wide and per department.
        Index(
            "ix_cases_open_due_at",
            "open_due_at",
            postgresql_where=text("open_due_at IS NOT NULL"),
            sqlite_where=text("open_due_at IS NOT NULL"),
        ),
        Index(
            "ix_cases_department_code_open_due_at",
            "department_code",
            "open_due_at",
            postgresql_where=text("open_due_at IS NOT NULL"),
            sqlite_where=text("open_due_at IS NOT NULL"),
        ),
        # Sparse columns: partial indexes skip the many rows where they are NULL.
        Index(
            "ix_cases_assignee_community_code",
            "assignee_community_code",
            postgresql_where=text("assignee_community_code IS NOT NULL"),
            sqlite_where=text("assignee_community_code IS NOT NULL"),
        ),
        Index(
            "ix_cases_requester_user_id",
            "requester_user_id",
            postgresql_where=text("requester_user_id IS NOT NULL"),
            sqlite_where=text("requester_user_id IS NOT NULL"),
        ),
        # What the overdue sweep has not claimed yet: the sweep reads only this.
        Index(
            "ix_cases_sweep_due_at",
            "sweep_due_at",
            postgresql_where=text("sweep_due_at IS NOT NULL"),
            sqlite_where=text("sweep_due_at IS NOT NULL"),
        ),
        # KPI indexes: each covers every column its period query reads, so a year of a
        # million cases is an index-only scan (SQLite and PostgreSQL alike).
        Index(
            "ix_cases_kpi_received",
            "received_at",
            "department_code",
            "community_code",
            "category_code",
            "dispatched_at",
            "return_count",
        ),
        Index(
            "ix_cases_kpi_closed",
            "closed_at",
            "department_code",
            "community_code",
            "category_code",
            "breached",
            "callback_count",
            "reopen_count",
            "handling_working_hours",
            # Partial: updates to open cases (the sweep's) never touch it.
            postgresql_where=text("closed_at IS NOT NULL"),
            sqlite_where=text("closed_at IS NOT NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(20))
    external_id: Mapped[str | None] = mapped_column(String(80), default=None)
    token: Mapped[str] = mapped_column(String(40), unique=True)

    category_code: Mapped[str] = mapped_column(ForeignKey("categories.code"))
    content: Mapped[str] = mapped_column(Text)
    address: Mapped[str] = mapped_column(String(300), default="")
    # The bigrams of content and address (townops.cases.bigrams), kept in step on every
    # write below; the text search's index reads them (PostgreSQL: a GIN index on their
    # tsvector; SQLite: the FTS5 table cases_search, kept in step by triggers).
    search_terms: Mapped[str] = mapped_column(Text, default="", server_default="", deferred=True)
    lat: Mapped[float | None] = mapped_column(Float, default=None)
    lon: Mapped[float | None] = mapped_column(Float, default=None)
    media_url: Mapped[str | None] = mapped_column(String(500), default=None)
    # Every picture link a client sent (media_url is the first): Open311 clients send
    # several.
    media_urls: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # The category's attributes (属性), e.g. a street light's pole number: code → value
    # (a list for a multi-choice), checked by townops.categories.attributes.
    attributes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")

    jurisdiction_code: Mapped[str | None] = mapped_column(
        ForeignKey("jurisdictions.code"), default=None
    )
    jurisdiction_path: Mapped[str | None] = mapped_column(String(400), index=True, default=None)
    community_code: Mapped[str | None] = mapped_column(String(40), default=None)

    department_code: Mapped[str | None] = mapped_column(
        ForeignKey("departments.code"), default=None
    )
    assignee_community_code: Mapped[str | None] = mapped_column(String(40), default=None)

    requester_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    requester_name: Mapped[str] = mapped_column(String(100), default="")
    requester_phone: Mapped[str] = mapped_column(String(40), default="")
    requester_id_number: Mapped[str] = mapped_column(String(40), default="")
    requester_email: Mapped[str] = mapped_column(String(200), default="", server_default="")

    state: Mapped[str] = mapped_column(String(20))
    version: Mapped[int] = mapped_column(Integer, default=1)
    urgency: Mapped[str] = mapped_column(String(20), default="normal")

    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    original_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # due_at while the handling clock runs (someone must act), else NULL: the work queues.
    open_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # due_at until the overdue sweep has claimed this deadline, else NULL.
    sweep_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    accepted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    first_contact_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    first_contact_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Set once, by the overdue sweep or a late resolution; on-time rate counts cases without it.
    breached: Mapped[bool] = mapped_column(Boolean, default=False)
    overdue_marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)

    reply: Mapped[str | None] = mapped_column(Text, default=None)
    rating: Mapped[str | None] = mapped_column(String(30), default=None)
    rated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    handling_working_hours: Mapped[float | None] = mapped_column(Float, default=None)

    return_count: Mapped[int] = mapped_column(Integer, default=0)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    extension_count: Mapped[int] = mapped_column(Integer, default=0)
    supervision_count: Mapped[int] = mapped_column(Integer, default=0)
    callback_count: Mapped[int] = mapped_column(Integer, default=0)
    duplicate_of_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), default=None)

    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def refresh_clock(self) -> None:
        """Keep the queue and sweep columns in step with state, deadline and overdue mark."""
        running = self.state in _CLOCK_STATES
        self.open_due_at = self.due_at if running else None
        self.sweep_due_at = self.due_at if running and self.overdue_marked_at is None else None

    # UPDATE ... WHERE id = :id AND version = :seen: two people acting on one stale case
    # cannot both win, on SQLite or PostgreSQL.
    __mapper_args__ = {"version_id_col": version}  # noqa: RUF012


@event.listens_for(Case, "before_insert")
def _terms_on_insert(_mapper: Mapper[Case], _conn: Connection, case: Case) -> None:
    case.search_terms = document_terms(case.content, case.address)


@event.listens_for(Case, "before_update")
def _terms_on_update(_mapper: Mapper[Case], _conn: Connection, case: Case) -> None:
    # Most updates move a case's state: its text, and so its terms, stay.
    attrs = inspect(case).attrs
    if attrs.content.history.has_changes() or attrs.address.history.has_changes():
        case.search_terms = document_terms(case.content, case.address)


class CaseEvent(Base):
    """One transition or action on a case; the append-only audit trail."""

    __tablename__ = "case_events"
    __table_args__ = (
        # Covers the KPI event counts by department (period, action, department, rating).
        Index("ix_case_events_kpi", "at", "action", "department_code", "rating", "case_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    # Write-only link so a new case and its first event go out in one flush.
    case: Mapped[Case] = relationship(lazy="raise")
    action: Mapped[str] = mapped_column(String(30))
    from_state: Mapped[str | None] = mapped_column(String(20), default=None)
    to_state: Mapped[str] = mapped_column(String(20))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    actor_name: Mapped[str] = mapped_column(String(80))
    actor_role: Mapped[str] = mapped_column(String(30))
    # The department in charge when this happened: returns and dispatches count against it.
    department_code: Mapped[str | None] = mapped_column(String(40), default=None)
    comment: Mapped[str] = mapped_column(Text, default="")
    # The rating a callback recorded: each callback counts in the satisfaction rate.
    rating: Mapped[str | None] = mapped_column(String(30), default=None)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class Extension(Base):
    """延期: a handler asks to move the deadline; the duty officer approves or denies."""

    __tablename__ = "extensions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    status: Mapped[str] = mapped_column(String(20), index=True)
    working_days: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str] = mapped_column(Text)
    requested_by: Mapped[str] = mapped_column(String(80))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime)
    decided_by: Mapped[str | None] = mapped_column(String(80), default=None)
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    decision_comment: Mapped[str] = mapped_column(Text, default="")
    old_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    new_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)


class Summons(Base):
    """吹哨报到: one department summoned to a case; it must report in before its deadline."""

    __tablename__ = "summonses"
    __table_args__ = (Index("ix_summonses_department_code_case_id", "department_code", "case_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    summoned_by: Mapped[str] = mapped_column(String(80))
    summoned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    report_in_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reported_in_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    # Set once by the sweep when the report-in deadline passed without a report.
    overdue_marked_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=None)
    reported_by: Mapped[str | None] = mapped_column(String(80), default=None)
    note: Mapped[str] = mapped_column(Text, default="")
