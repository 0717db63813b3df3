"""Header matching: which column of the file gives which field (zh or en header names)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from townops.errors import InvalidInput

ColumnSpec = Mapping[str, Sequence[str]]
"""field → the headers that may give it (English matched case-insensitively, Chinese as is).
The last one names the field in a missing-columns message."""


@dataclass(frozen=True)
class Columns:
    """Where a file's header puts each field an import reads."""

    known: tuple[str, ...]  # every field the import reads, in this file or not
    index: dict[str, int]  # field -> position in a row
    label: dict[str, str]  # field -> its header as the file writes it
    skipped: list[str]  # headers no field has: ignored

    def has(self, name: str) -> bool:
        return name in self.index

    def label_of(self, name: str) -> str:
        """The header as written in the file (the field's name if the file lacks it)."""
        return self.label.get(name, name)

    def lacking(self, required: Iterable[str]) -> list[str]:
        return [name for name in required if name not in self.index]

    def cells_of(self, cells: Sequence[Any]) -> dict[str, Any]:
        """A row's cells by field (None past the row's end), for the fields the file has."""
        return {name: cells[i] if i < len(cells) else None for name, i in self.index.items()}


def match_header(
    header: Sequence[str],
    spec: ColumnSpec,
    *,
    required: Sequence[str] = (),
    first_wins: bool = False,
) -> Columns:
    """Field → column position and the header's own label, plus the headers no field has.

    Two headers giving one field is an error (with ``first_wins``, the first is used).
    A missing ``required`` field is an error naming every missing one.
    """
    names = {alias.casefold(): name for name, aliases in spec.items() for alias in aliases}
    index: dict[str, int] = {}
    label: dict[str, str] = {}
    skipped: list[str] = []
    for position, raw in enumerate(header):
        title = str(raw).strip()
        name = names.get(title.casefold())
        if name is None:
            if title:
                skipped.append(title)
            continue
        if name in index:
            if first_wins:
                continue
            raise InvalidInput(
                f"the columns '{label[name]}' and '{title}' both give {name}", column=name
            )
        index[name] = position
        label[name] = title
    columns = Columns(known=tuple(spec), index=index, label=label, skipped=skipped)
    missing = columns.lacking(required)
    if missing:
        raise lacking_columns(spec, missing)
    return columns


def lacking_columns(spec: ColumnSpec, missing: Sequence[str], *, hint: str = "") -> InvalidInput:
    """The error for a header without the ``missing`` fields (``hint`` is appended)."""
    wanted = ", ".join(f"{n} / {spec[n][-1]}" for n in missing)
    return InvalidInput(f"the header lacks the columns: {wanted}{hint}", missing=list(missing))
