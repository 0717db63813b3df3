"""``duty.yaml``: the duty roster (值班表) — who is on duty, in which shift, in what order.

The operations centre is staffed round the clock in shifts (白班, 夜班). Each shift has an
on-duty chain of positions, in the order they are called: the duty officer (值班员) first,
then the leader on duty (带班领导), then the town's chief on duty. Who holds a position
turns by rotation from a start date — every shift, every day or every week — and a swap
(换班) names someone else for one date.

A town's roster is data: read with ``profile.config(DutyConfig)``, checked when the town
loads (an unknown user, or a shift or position named twice → ``duty.yaml:LINE``).
"""

from __future__ import annotations

from datetime import date, time
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from townops.towns.sections import town_section

__all__ = ["DutyConfig", "Names", "Position", "Shift", "Swap"]

Id = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,39}$")]
Username = Annotated[str, StringConstraints(min_length=1, max_length=80)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Names(_Strict):
    zh: Annotated[str, StringConstraints(min_length=1, max_length=40)]
    en: Annotated[str, StringConstraints(min_length=1, max_length=60)]


class Shift(_Strict):
    """A shift starts at ``start`` (town time) and runs until the next shift starts; the
    last one of the day runs past midnight into the first of the next."""

    id: Id
    name: Names
    start: time


class Position(_Strict):
    """One link of the on-duty chain (值班岗位) and who holds it in turn."""

    id: Id
    name: Names
    rotation: Annotated[list[Username], Field(min_length=1, max_length=200)]
    turn: Literal["shift", "day", "week"] = "day"
    """How often the next person in ``rotation`` takes over."""
    start: date
    """The date the first person of ``rotation`` holds it (a Monday, for weekly turns)."""


class Swap(_Strict):
    """换班: ``user`` holds ``position`` on ``date`` (in ``shift`` only, or all day)."""

    date: date
    position: Id
    user: Username
    shift: Id | None = None


@town_section("duty")
class DutyConfig(_Strict):
    """``duty.yaml``. Without it a chain that names the duty roster falls back to the roles:
    every duty officer first, then every leader (:mod:`townops.notify`)."""

    shifts: Annotated[list[Shift], Field(min_length=1, max_length=6)]
    positions: Annotated[list[Position], Field(min_length=1, max_length=10)]
    swaps: list[Swap] = []

    @model_validator(mode="after")
    def _consistent(self) -> DutyConfig:
        for kind, ids in (
            ("shift", [s.id for s in self.shifts]),
            ("position", [p.id for p in self.positions]),
        ):
            repeated = sorted({i for i in ids if ids.count(i) > 1})
            if repeated:
                raise ValueError(f"{kind} id(s) listed twice: {', '.join(repeated)}")
        starts = [s.start for s in self.shifts]
        if starts != sorted(starts) or len(set(starts)) != len(starts):
            raise ValueError("shifts must be listed in the order they start, each at its own time")
        shift_ids = {s.id for s in self.shifts}
        position_ids = {p.id for p in self.positions}
        for index, swap in enumerate(self.swaps):
            if swap.position not in position_ids:
                raise ValueError(f"swaps[{index}]: unknown position {swap.position!r}")
            if swap.shift is not None and swap.shift not in shift_ids:
                raise ValueError(f"swaps[{index}]: unknown shift {swap.shift!r}")
        return self

    def usernames(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Every user the roster names, with where (for the town loader's line numbers)."""
        named: list[tuple[tuple[str | int, ...], str]] = [
            (("positions", p_index, "rotation", r_index), user)
            for p_index, position in enumerate(self.positions)
            for r_index, user in enumerate(position.rotation)
        ]
        named.extend((("swaps", index, "user"), swap.user) for index, swap in enumerate(self.swaps))
        return named
