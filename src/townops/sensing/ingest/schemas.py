"""API shapes of readings sent over HTTP."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel


class IngestOut(BaseModel):
    """What became of readings sent over HTTP."""

    stored: int
    duplicates: int
    late: int
    alarms_raised: list[int]
    alarms_cleared: list[int]
    cases_opened: list[int]


class IngestProblem(BaseModel):
    index: int
    reason: str
    detail: str

    def as_dict(self) -> dict[str, Any]:
        return self.model_dump()
