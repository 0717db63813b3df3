"""The gazetteer (地名库): estate, road and landmark names a caller may say, and where they are."""

from __future__ import annotations

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from townops.db import Base


class GazetteerEntry(Base):
    """One name of a place (with its aliases) and the jurisdiction node it lies in.

    A road is split into segments: one row per house-number range, so "东靖路 1200 号" and
    "东靖路 88 号" can land in different communities.
    """

    __tablename__ = "gazetteer_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(20), index=True)  # estate | road | landmark
    name: Mapped[str] = mapped_column(String(100), index=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    jurisdiction_code: Mapped[str] = mapped_column(ForeignKey("jurisdictions.code"), index=True)
    # Road segments only: house numbers number_from..number_to; parity odd | even | all.
    number_from: Mapped[int | None] = mapped_column(Integer, default=None)
    number_to: Mapped[int | None] = mapped_column(Integer, default=None)
    parity: Mapped[str] = mapped_column(String(4), default="all")
