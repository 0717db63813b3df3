"""Case categories: each is also an Open311 service (service_code = code)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from townops.db import Base


class Category(Base):
    __tablename__ = "categories"

    code: Mapped[str] = mapped_column(String(60), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100), index=True)
    name_en: Mapped[str] = mapped_column(String(200))
    department_code: Mapped[str] = mapped_column(ForeignKey("departments.code"))
    deadline_working_days: Mapped[int | None] = mapped_column(Integer, default=None)
    deadline_hours: Mapped[int | None] = mapped_column(Integer, default=None)
    deadline_minutes: Mapped[int | None] = mapped_column(Integer, default=None)
    # "people": anyone may file it (hotline, Open311, staff); "townops": only townops opens
    # it (device alarms, vital-sign warnings).
    opened_by: Mapped[str] = mapped_column(String(10), default="people", server_default="people")
    urgency: Mapped[str] = mapped_column(String(20), default="normal")
    type: Mapped[str] = mapped_column(String(20), default="help")
    requires_approval: Mapped[bool] = mapped_column(Boolean, default=False)
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    description_zh: Mapped[str] = mapped_column(Text, default="")
    description_en: Mapped[str] = mapped_column(Text, default="")
    # The extra facts a case of this category needs (townops.categories.attributes), as
    # categories.yaml declares them; [] for most.
    attributes: Mapped[list[dict[str, Any]]] = mapped_column(
        JSON, default=list, server_default="[]"
    )

    @property
    def townops_only(self) -> bool:
        """Only townops opens such cases (device alarms, vital-sign warnings), no person."""
        return self.opened_by == "townops"
