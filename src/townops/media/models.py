"""The photos table: re-encoded image bytes and their thumbnail, kept in the database."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from townops.db import Base, UTCDateTime


class Photo(Base):
    """One photo. Unattached (``case_id`` NULL) from upload until a case or an action
    claims it; then it belongs to that case for good, with the stage it came with."""

    __tablename__ = "photos"
    __table_args__ = (
        # The upload limit counts a user's recent uploads.
        Index("ix_photos_uploader_user_id_created_at", "uploader_user_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, default=None)
    # "report" (sent with a new case), "resolve" (with the resolve action) or "comment"
    # (with the requester's comment); NULL while unattached.
    stage: Mapped[str | None] = mapped_column(String(10), default=None)
    uploader_user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    uploaded_by: Mapped[str] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    content_type: Mapped[str] = mapped_column(String(40))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    # Of the stored bytes (what is served): checks a backup, and is the ETag.
    sha256: Mapped[str] = mapped_column(String(64))
    # Deferred: listing a case's photos must not drag megabytes out of the database.
    data: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    thumb: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
