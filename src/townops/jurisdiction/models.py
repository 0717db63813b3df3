"""The jurisdiction tree (辖区): town → community → micro_grid → building, as configured."""

from __future__ import annotations

from typing import Any

from sqlalchemy import JSON, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from townops.db import Base


class Jurisdiction(Base):
    __tablename__ = "jurisdictions"

    code: Mapped[str] = mapped_column(String(40), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str] = mapped_column(String(200))
    level: Mapped[str] = mapped_column(String(30), index=True)
    parent_code: Mapped[str | None] = mapped_column(
        ForeignKey("jurisdictions.code"), index=True, default=None
    )
    # Materialised path "root/child/.../self/" so a subtree is one indexed LIKE 'prefix%'.
    path: Mapped[str] = mapped_column(String(400), index=True)
    aliases: Mapped[list[str]] = mapped_column(JSON, default=list)
    geometry: Mapped[dict[str, Any] | None] = mapped_column(JSON, default=None)
