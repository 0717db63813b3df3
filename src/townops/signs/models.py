"""Tables of the vital signs: figures people enter, and the warnings red signs raise."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from townops.db import Base, UTCDateTime


class ManualFigure(Base):
    """One figure townops has no data for (river patrols, mediation …), entered by a person.

    One value per sign, jurisdiction node and period label (``2022``, ``2022-06``,
    ``2022-W23``); entering it again replaces it (the audit log keeps the old value).
    """

    __tablename__ = "manual_figures"
    __table_args__ = (
        UniqueConstraint("sign_id", "jurisdiction_code", "period"),
        Index("ix_manual_figures_period_sign_id", "period", "sign_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sign_id: Mapped[str] = mapped_column(String(60))
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"))
    period: Mapped[str] = mapped_column(String(10))
    value: Mapped[float] = mapped_column(Float)
    note: Mapped[str] = mapped_column(Text, default="")
    entered_by: Mapped[str] = mapped_column(String(80))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SignWarning(Base):
    """A sign that turned red for a node and period (体征预警): raised once, maybe cased."""

    __tablename__ = "sign_warnings"
    __table_args__ = (UniqueConstraint("sign_id", "jurisdiction_code", "period"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sign_id: Mapped[str] = mapped_column(String(60))
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"))
    period: Mapped[str] = mapped_column(String(10), index=True)
    value: Mapped[float] = mapped_column(Float)
    # The yellow bound it fell beyond, as configured when it was raised.
    threshold: Mapped[float] = mapped_column(Float)
    owner: Mapped[str] = mapped_column(String(40))
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True, default=None)
