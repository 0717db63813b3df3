"""``open311.public`` of a town's ``town.yaml``: the public-output policy (公开范围).

What anonymous Open311 reads may publish; applied by :mod:`townops.open311.publication`,
read with ``get_profile(session).config(Open311Public)``. Imports only pydantic, the
section registry and the case kinds' registry, so the town loader (:mod:`townops.townfiles`)
validates it cheaply.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    field_validator,
)

from townops.cases.kinds import kind_rule, public_kinds
from townops.towns.sections import Reference, town_section

__all__ = [
    "PRIVATE_SOURCES",
    "SERVICE_CODE_PATTERN",
    "Open311Public",
]

#: A category's code, which is also its Open311 ``service_code``.
SERVICE_CODE_PATTERN = r"^[a-z0-9_.-]+$"

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
ServiceCode = Annotated[
    str, StringConstraints(min_length=1, max_length=64, pattern=SERVICE_CODE_PATTERN)
]

# Never public, whatever a town writes: a resident's own request filed in the web app.
PRIVATE_SOURCES = frozenset({"web"})


def _publishable_kind(value: str) -> str:
    rule = kind_rule(value)
    if rule is not None and not rule.public:
        raise ValueError(f"{rule.name} cases ({rule.label_zh}) are never public")
    if rule is None:
        raise ValueError(f"unknown case kind {value!r} (allowed: {', '.join(public_kinds())})")
    return value


def _no_private_source(value: object) -> object:
    if isinstance(value, str) and value.strip().lower() in PRIVATE_SOURCES:
        raise ValueError(
            f"source {value.strip()!r} is never public: a resident's request filed in the "
            "web app is private"
        )
    return value


@town_section("open311.public")
class Open311Public(BaseModel):
    """``open311.public``: the public-output policy, what anonymous Open311 reads publish.

    A case is public when its kind is in ``kinds`` and its source is in ``sources`` or its
    category in ``categories``. Whatever is written here, a resident's own request (filed
    in the web app), a mediation case and a device alarm in a home are never public.
    Published addresses stop at the building, numbers in text are masked, and coordinates
    are rounded to ``coordinate_decimals`` (3 ≈ 100 m).
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    sources: list[Annotated[Text, BeforeValidator(_no_private_source)]] = Field(
        default_factory=lambda: ["open311"]
    )
    """Case sources published whatever their category (default: what Open311 clients filed)."""
    categories: list[ServiceCode] = Field(default_factory=list)
    """Categories published whatever their source (within ``kinds``), e.g. street lights."""
    kinds: list[Annotated[str, AfterValidator(_publishable_kind)]] = Field(
        default_factory=lambda: list(public_kinds())
    )
    """The case kinds that may be published at all."""
    coordinate_decimals: Annotated[int, Field(strict=True, ge=0, le=6)] = 3
    """Decimals of published lat/long: 3 is about 100 m, a block rather than a front door."""

    def references(self) -> list[Reference]:
        """The categories marked public: the town loader checks each exists."""
        return [
            Reference(("categories", i), "category", code, "open311.public")
            for i, code in enumerate(self.categories)
        ]

    @field_validator("sources", "categories", "kinds")
    @classmethod
    def _lists_are_unique(cls, values: list[str]) -> list[str]:
        repeated = sorted({v for v in values if values.count(v) > 1})
        if repeated:
            raise ValueError(f"listed twice: {', '.join(repeated)}")
        return values
