"""Checking rows: the problems of each row, duplicate keys within a file, names to codes."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from townops.tabular.cells import cell_text, clip_text, is_valid_phone
from townops.tabular.columns import Columns

_K = TypeVar("_K", bound=Hashable)


@dataclass(frozen=True, order=True)
class RowError:
    row: int  # as the spreadsheet shows it: the header is row 1
    column: str  # the header as written in the file
    value: str
    reason: str


class RowCheck:
    """One row's cells by field name, their text, and the problems found in them.

    An import subclasses it with the checks of its own fields; a problem is reported under
    the column's header as the file writes it, with the cell's text, clipped.
    """

    def __init__(self, number: int, cells: Sequence[Any], columns: Columns) -> None:
        self.number = number
        self.columns = columns
        self.cells = columns.cells_of(cells)
        # Every field the import reads, "" when the file lacks its column.
        self.texts = {name: cell_text(self.cells.get(name)) for name in columns.known}
        self.errors: list[RowError] = []

    def fail(self, name: str, reason: str, *, value: str | None = None) -> None:
        """Report a problem with field ``name`` (the cell's text unless ``value`` is given)."""
        shown = self.texts.get(name, "") if value is None else value
        self.errors.append(
            RowError(self.number, self.columns.label_of(name), clip_text(shown), reason)
        )

    def require(self, name: str, reason: str) -> str:
        """The field's text; ``reason`` is reported when it is empty."""
        text = self.texts[name]
        if not text:
            self.fail(name, reason)
        return text

    def within_limits(self, limits: Mapping[str, int]) -> None:
        """Texts no longer than the columns they land in (PostgreSQL enforces the widths)."""
        for name, limit in limits.items():
            if len(self.texts[name]) > limit:
                self.fail(name, f"太长 longer than {limit} characters")

    def phone(self, name: str, *, masked_ok: bool = True) -> str:
        """Empty, or Chinese phone numbers (:func:`is_valid_phone`); masked ones only if
        ``masked_ok`` (a number someone must call is given in full)."""
        text = self.texts[name]
        if text and not is_valid_phone(text):
            self.fail(name, "电话号码格式不对 not a Chinese phone number")
        elif "*" in text and not masked_ok:
            self.fail(name, "号码被遮蔽，无法联系 masked number: give it in full")
        return text


class FirstRows(Generic[_K]):
    """The row each key was first seen on, to tell a later row that repeats it."""

    def __init__(self) -> None:
        self._first: dict[_K, int] = {}

    def repeat_of(self, key: _K, number: int) -> int | None:
        """The earlier row with ``key``, or None (and row ``number`` is now its first)."""
        first = self._first.setdefault(key, number)
        return None if first == number else first


class CheckedRow(Protocol):
    @property
    def number(self) -> int: ...

    @property
    def errors(self) -> list[RowError]: ...


_R = TypeVar("_R", bound=CheckedRow)


def flag_duplicates(
    rows: Iterable[_R], *, key: Callable[[_R], str], column: str, what: tuple[str, str]
) -> list[_R]:
    """Flag each row whose key repeats an earlier row's; return the rows flagged.

    An empty key repeats nothing. The problem is reported under ``column`` (the header as
    written) with the key as the value; ``what`` names the key in Chinese and English.
    """
    zh, en = what
    seen = FirstRows[str]()
    flagged: list[_R] = []
    for row in rows:
        value = key(row)
        first = seen.repeat_of(value, row.number) if value else None
        if first is not None:
            reason = f"{zh}重复（第 {first} 行） duplicate {en} (first on row {first})"
            row.errors.append(RowError(row.number, column, clip_text(value), reason))
            flagged.append(row)
    return flagged


def add_name(names: dict[str, str | None], name: str, code: str) -> None:
    """Let ``name`` look up ``code``; a name already given to another code becomes None
    (ambiguous: the file must use the code)."""
    names[name] = code if names.get(name, code) == code else None
