"""The sections of a town's configuration, each declared by the domain it configures.

The town loader (:mod:`townops.townfiles`) checks a town's files and stores them in the
``town`` table as one dict, ``TownProfile.raw``: ``dispatch.yaml`` under ``"dispatch"``,
``sensing.yaml`` under ``"sensing"``, ``town.yaml``'s ``open311.public`` under
``"open311"`` → ``"public"``, and so on. A domain reads its own part, typed, with
:meth:`townops.towns.profile.TownProfile.config`, after declaring which part is its own::

    @town_section("dispatch")
    class DispatchConfig(BaseModel): ...

    config = get_profile(session).config(DispatchConfig)

The key is where the section sits in the raw dict; a dotted key walks nested mappings
(``"open311.public"``, ``"dispatch.systemic"``). So the town layer knows no domain: each
domain names its own model, and this registry only maps models to keys.

Imports only the standard library and pydantic.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from pydantic import BaseModel

__all__ = [
    "NotATownSection",
    "Reference",
    "Section",
    "read_section",
    "section_key",
    "section_value",
    "sections",
    "town_section",
]

M = TypeVar("M", bound=BaseModel)


class NotATownSection(TypeError):
    """A model asked of the town profile that no domain declared with ``@town_section``."""


@dataclass(frozen=True)
class Section:
    """One declared section: where it sits in the town's raw dict, and its model."""

    key: str
    model: type[BaseModel]

    @property
    def path(self) -> tuple[str, ...]:
        return tuple(self.key.split("."))


@dataclass(frozen=True)
class Reference:
    """A code a section names that must exist in the town's reference data: the section's
    own check (a ``references()`` method on its model) lists them, and the town loader
    reports each missing one at its line (``owner``: who names it, e.g. "route 'gas'")."""

    loc: tuple[int | str, ...]
    kind: Literal["category", "department", "jurisdiction"]
    code: str
    owner: str = ""


_by_model: dict[type[BaseModel], Section] = {}
_by_key: dict[str, Section] = {}


def _name(model: type[BaseModel]) -> str:
    return f"{model.__module__}.{model.__qualname__}"


def town_section(key: str) -> Callable[[type[M]], type[M]]:
    """Class decorator: ``model`` is the town configuration found under ``key``.

    ``key`` is the key the town loader stores the section under in the town's raw dict;
    dots separate nested keys. One model per key, one key per model.
    """
    parts = key.split(".")
    if not key or not all(parts):
        raise ValueError(f"invalid town section key {key!r}")

    def register(model: type[M]) -> type[M]:
        taken = _by_key.get(key)
        # The same class defined again (a module reloaded) replaces its earlier self.
        if taken is not None and _name(taken.model) != _name(model):
            raise ValueError(
                f"town section {key!r} is declared twice: by {_name(taken.model)} "
                f"and by {_name(model)}"
            )
        known = next((s for s in _by_model.values() if _name(s.model) == _name(model)), None)
        if known is not None and known.key != key:
            raise ValueError(
                f"{_name(model)} is declared as town section {known.key!r} and {key!r}"
            )
        if taken is not None:
            _by_model.pop(taken.model, None)
        section = Section(key, model)
        _by_model[model] = section
        _by_key[key] = section
        return model

    return register


def _section(model: type[BaseModel]) -> Section:
    section = _by_model.get(model)
    if section is None:
        declared = ", ".join(sorted(_by_key)) or "none"
        raise NotATownSection(
            f"{_name(model)} is not a section of the town configuration: declare it with "
            f"@town_section('<key>') where it is defined (declared sections: {declared})"
        )
    return section


def section_key(model: type[BaseModel]) -> str:
    """The key (dotted when nested) ``model`` is declared under."""
    return _section(model).key


def sections() -> tuple[Section, ...]:
    """Every section declared so far (by the modules imported so far), by key."""
    return tuple(_by_key[key] for key in sorted(_by_key))


def section_value(raw: Mapping[str, Any], model: type[BaseModel]) -> Any:
    """What the town's raw dict holds for ``model``'s section; ``None`` when absent."""
    value: Any = raw
    for part in _section(model).path:
        if not isinstance(value, Mapping):
            return None
        value = value.get(part)
    return value


def read_section(raw: Mapping[str, Any], model: type[M]) -> M:
    """``model`` validated from its section of ``raw`` (its defaults when the section is
    absent or empty). Raises :class:`NotATownSection` for a model no domain declared."""
    return model.model_validate(section_value(raw, model) or {})
