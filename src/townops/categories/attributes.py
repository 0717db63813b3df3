"""A category's attributes (属性): the extra facts a case of that category needs.

A street light's pole number, a tree's species: what a handler must know to act and a
resident can read off the spot. A town declares them per category in
``categories.yaml`` (``attributes:``); they are Open311's service definition
(``GET /services/{code}``, ``metadata: true``) and are checked on every intake, whatever
the channel, by :func:`check_attributes`. Values are kept on the case
(``Case.attributes``), a code → value map: a string, or a list of keys for a
``multivaluelist``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from townops.errors import InvalidInput

__all__ = [
    "DATATYPES",
    "MAX_VALUE_LENGTH",
    "AttributeSpec",
    "AttributeValue",
    "Datatype",
    "attribute_specs",
    "check_attributes",
]

Datatype = Literal["string", "number", "datetime", "text", "singlevaluelist", "multivaluelist"]
DATATYPES: tuple[Datatype, ...] = (
    "string",
    "number",
    "datetime",
    "text",
    "singlevaluelist",
    "multivaluelist",
)
MAX_VALUE_LENGTH = {"string": 200, "text": 4000}
AttributeValue = str | list[str]

_NUMBER = re.compile(r"^-?\d+(\.\d+)?$")


@dataclass(frozen=True, slots=True)
class AttributeSpec:
    """One attribute of a category, as ``categories.yaml`` declares it."""

    code: str
    datatype: Datatype
    description_zh: str
    description_en: str
    required: bool = False
    # A singlevaluelist's or multivaluelist's choices: key → (zh name, en name).
    values: tuple[tuple[str, str, str], ...] = ()
    # Open311's ``variable: false``: a fixed notice shown to the resident, never sent.
    variable: bool = True
    pattern: str | None = None
    # False for a value the category does not declare, kept as the client sent it.
    declared: bool = True

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any]) -> AttributeSpec:
        return cls(
            code=str(raw["code"]),
            datatype=raw["datatype"],
            description_zh=str(raw.get("description_zh", "")),
            description_en=str(raw.get("description_en", "")),
            required=bool(raw.get("required", False)),
            values=tuple(
                (str(v["key"]), str(v.get("name_zh", v["key"])), str(v.get("name_en", v["key"])))
                for v in raw.get("values", [])
            ),
            variable=bool(raw.get("variable", True)),
            pattern=raw.get("pattern"),
        )

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(key for key, _zh, _en in self.values)


def attribute_specs(raw: Sequence[Mapping[str, Any]] | None) -> tuple[AttributeSpec, ...]:
    """The specs stored on a category row (JSON), in the town's order."""
    return tuple(AttributeSpec.from_dict(item) for item in raw or ())


def check_attributes(
    specs: Sequence[AttributeSpec], values: Mapping[str, AttributeValue]
) -> dict[str, AttributeValue]:
    """The values a case keeps, checked against its category's attributes.

    Every problem is named in one :class:`InvalidInput` (``field`` = ``attributes.<code>``
    of the first, ``problems`` listing all of them), so a client fixes its form at once.
    An attribute the category does not declare is kept as sent (a client's own field,
    e.g. FixMyStreet's ``uprn``): Open311 clients add such fields, and refusing them would
    lose the report. Empty values count as absent.
    """
    by_code = {spec.code: spec for spec in specs if spec.variable}
    problems: dict[str, str] = {}
    kept: dict[str, AttributeValue] = {}
    for code, value in values.items():
        spec = by_code.get(code) or _undeclared(code)
        cleaned = _cleaned(spec, value)
        if cleaned in ("", []):
            continue
        problem = _value_problem(spec, cleaned)
        if problem:
            problems[code] = problem
        else:
            kept[code] = cleaned
    for spec in by_code.values():
        if spec.required and spec.code not in kept and spec.code not in problems:
            problems[spec.code] = "is required"
    if problems:
        first = next(iter(problems))
        raise InvalidInput(
            "; ".join(f"attribute '{code}' {text}" for code, text in problems.items()),
            field=f"attributes.{first}",
            problems=[{"attribute": code, "problem": text} for code, text in problems.items()],
        )
    return kept


def _undeclared(code: str) -> AttributeSpec:
    """How a value of an attribute the category does not declare is checked: as a short
    string (or a list of them)."""
    return AttributeSpec(
        code=code, datatype="string", description_zh=code, description_en=code, declared=False
    )


def _cleaned(spec: AttributeSpec, value: AttributeValue) -> AttributeValue:
    """Stripped; a multivaluelist always a list (a form may send "a,b"), a single value
    a string (a client may send a list of one)."""
    items = value if isinstance(value, list) else [value]
    if spec.datatype == "multivaluelist":
        parts = [part.strip() for item in items for part in item.split(",")]
        return [part for part in parts if part]
    kept = [item.strip() for item in items if item.strip()]
    if len(kept) == 1:
        return kept[0]
    return kept  # empty (absent) or several (refused)


def _value_problem(spec: AttributeSpec, value: AttributeValue) -> str | None:
    if isinstance(value, list):
        if not spec.declared:
            too_long = any(len(item) > MAX_VALUE_LENGTH["string"] for item in value)
            return f"has a value longer than {MAX_VALUE_LENGTH['string']}" if too_long else None
        if spec.datatype != "multivaluelist":
            return "takes one value, not a list"
        unknown = [item for item in value if item not in spec.keys]
        return _not_a_choice(spec, unknown[0]) if unknown else None
    if spec.datatype == "singlevaluelist":
        return None if value in spec.keys else _not_a_choice(spec, value)
    if spec.datatype == "number":
        return None if _NUMBER.match(value) else f"must be a number, not '{value[:40]}'"
    if spec.datatype == "datetime":
        try:
            datetime.fromisoformat(value)
        except ValueError:
            return f"must be a date and time like 2024-05-01T08:30:00+08:00, not '{value[:40]}'"
        return None
    limit = MAX_VALUE_LENGTH.get(spec.datatype, 200)
    if len(value) > limit:
        return f"is longer than {limit} characters"
    if spec.pattern and not re.fullmatch(spec.pattern, value):
        return f"'{value[:40]}' is not in the expected form ({spec.description_en or spec.pattern})"
    return None


def _not_a_choice(spec: AttributeSpec, value: str) -> str:
    return f"'{value[:40]}' is not one of: {', '.join(spec.keys)}"
