"""The one way townops writes an Excel workbook: every export goes through here.

Cells are filled from data a resident, a device or an import chose (a device model, a
community name, a note), so no text may become a formula (CSV / formula injection: a
model of ``=HYPERLINK("http://…"&A1,"open")`` must stay that text). openpyxl makes any
string starting with ``=`` a formula and one like ``#N/A`` an error; here every string is
stored as a string cell (``data_type == "s"``, the visible value unchanged), and one that
starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return also gets Excel's
"quote prefix" (what typing ``'`` in front does: shown without the ``'``, and still text
after the cell is edited). Characters XML cannot hold are dropped. Numbers, dates and
booleans stay what they are.

A formula the code writes on purpose is a :class:`Formula` value: the only way a cell
becomes one. :meth:`Book.save` checks every cell once more before writing, so a cell
written past this module (straight through openpyxl) is made safe all the same.

The styling the exports share lives here too: the header row (bold on light blue,
wrapped), column widths that count CJK characters twice, number formats per column.

Usage::

    book = Book()
    sheet = book.sheet("指标 KPI")
    sheet.append(["代码 (code)", "名称 (name)", "受理量 (received)"])
    sheet.style_header()
    for row in rows:
        sheet.append([row.code, row.name, row.received], formats=[None, None, "0"])
    sheet.set_widths(headers, wide={2: names})
    sheet.ws.freeze_panes = "C2"
    book.save(path)  # or book.to_bytes()
"""

from __future__ import annotations

import io
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

__all__ = [
    "FORMULA_TRIGGERS",
    "HEADER_FILL",
    "HEADER_FONT",
    "WRAP",
    "XLSX_MEDIA_TYPE",
    "Book",
    "Formula",
    "Sheet",
    "csv_cell",
    "display_width",
    "is_formula_like",
]

XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

#: A text starting with one of these is read as a formula by a spreadsheet (OWASP).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")

HEADER_FONT = Font(bold=True)
HEADER_FILL = PatternFill("solid", fgColor="DDEBF7")
WRAP = Alignment(wrap_text=True, vertical="top")

_PLAIN = (bool, int, float, Decimal, datetime, date, time, timedelta)


@dataclass(frozen=True)
class Formula:
    """A formula written on purpose by the code (never from data), e.g. ``=SUM(C2:C9)``."""

    text: str

    def __post_init__(self) -> None:
        if not self.text.startswith("="):
            raise ValueError(f"a formula starts with '=': {self.text!r}")


def is_formula_like(text: str) -> bool:
    """Would a spreadsheet take this text for a formula (or a formula's sign)?"""
    return text.startswith(FORMULA_TRIGGERS)


def csv_cell(value: object) -> object:
    """A value for a CSV file (no cell types there): ``None`` as empty, and a text a
    spreadsheet would take for a formula behind a ``'`` (OWASP); numbers unchanged."""
    if value is None:
        return ""
    if isinstance(value, str) and is_formula_like(value):
        return "'" + value
    return value


def display_width(text: str) -> int:
    """Columns the text takes in Excel's default fonts: CJK characters count twice."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class Book:
    """A workbook whose cells come from data; sheets in the order they are asked for."""

    def __init__(self) -> None:
        self.workbook: Any = Workbook()
        self._sheets: list[Sheet] = []

    def sheet(self, title: str) -> Sheet:
        """A new sheet at the end (the first one reuses openpyxl's default sheet)."""
        if self._sheets:
            worksheet = self.workbook.create_sheet(title)
        else:
            worksheet = self.workbook.active
            worksheet.title = title
        sheet = Sheet(worksheet)
        self._sheets.append(sheet)
        return sheet

    def save(self, target: Path | IO[bytes]) -> None:
        self.make_safe()
        self.workbook.save(target)

    def to_bytes(self) -> bytes:
        buffer = io.BytesIO()
        self.save(buffer)
        return buffer.getvalue()

    def make_safe(self) -> int:
        """Turn every formula or error cell not written as a :class:`Formula` into text.

        Returns how many cells it changed (0 when everything went through :class:`Sheet`).
        """
        changed = 0
        for sheet in self._sheets:
            for cell in sheet.ws._cells.values():  # every cell ever written
                if cell.data_type in ("f", "e") and cell.coordinate not in sheet.formulas:
                    _as_text(cell, str(cell.value))
                    changed += 1
                elif (
                    cell.data_type == "s"
                    and isinstance(cell.value, str)
                    and is_formula_like(cell.value)
                    and not cell.quotePrefix
                ):
                    cell.quotePrefix = True
                    changed += 1
        return changed


class Sheet:
    """One worksheet: rows written safely, the shared styling. ``ws`` is openpyxl's sheet,
    for what is not about cell values (freeze panes, hyperlinks, a column's width)."""

    def __init__(self, worksheet: Any) -> None:
        self.ws = worksheet
        self.formulas: set[str] = set()  # coordinates of the cells written as Formula
        self._appended = 0  # the last row append() wrote (an empty row writes no cell)

    @property
    def last_row(self) -> int:
        """The last row written, by append() or put()."""
        return max(int(self.ws._current_row), self._appended)  # not ws.max_row: O(cells)

    def append(
        self,
        values: Iterable[object],
        *,
        formats: Sequence[str | None] | None = None,
        font: Font | None = None,
        alignment: Alignment | None = None,
    ) -> int:
        """Write a row below the last one; returns its number (1-based).

        ``formats``: a number format per cell (None: none); ``font``, ``alignment``: for
        every cell of the row.
        """
        row = self._appended = self.last_row + 1
        for column, value in enumerate(values, start=1):
            cell = self.put(row, column, value)
            if formats is not None and column <= len(formats) and formats[column - 1]:
                cell.number_format = formats[column - 1]
            _style(cell, font=font, alignment=alignment)
        return row

    def append_facts(self, facts: Iterable[tuple[str, object]], *, wrap: bool = False) -> int:
        """Label / value rows (a notes or definitions sheet): the label bold, the value
        wrapped if ``wrap``. Returns the last row's number."""
        row = self.last_row
        for label, value in facts:
            row = self.append([label, value])
            _style(self.ws.cell(row=row, column=1), font=HEADER_FONT)
            if wrap:
                _style(self.ws.cell(row=row, column=2), alignment=WRAP)
        return row

    def put(self, row: int, column: int, value: object) -> Any:
        """Write one cell (see the module's rules); returns openpyxl's cell."""
        cell = self.ws.cell(row=row, column=column)
        if isinstance(value, Formula):
            cell.value = value.text
            self.formulas.add(cell.coordinate)
        elif value is None or isinstance(value, _PLAIN):
            cell.value = value
            self.formulas.discard(cell.coordinate)
        else:  # text, and anything else as its text (an enum, a code)
            _as_text(cell, value if isinstance(value, str) else str(value))
            self.formulas.discard(cell.coordinate)
        return cell

    def style_row(
        self,
        row: int = 1,
        *,
        font: Font | None = HEADER_FONT,
        fill: PatternFill | None = HEADER_FILL,
        alignment: Alignment | None = WRAP,
    ) -> None:
        """The header look (bold on light blue, wrapped) for every written cell of a row."""
        for cell in self.ws[row]:
            _style(cell, font=font, fill=fill, alignment=alignment)

    def style_header(self, row: int = 1) -> None:
        self.style_row(row)

    def format_column(self, column: int, number_format: str, *, first_row: int = 2) -> None:
        """A number format for a column's cells from ``first_row`` down."""
        for (cell,) in self.ws.iter_rows(min_row=first_row, min_col=column, max_col=column):
            cell.number_format = number_format

    def set_widths(
        self,
        headers: Sequence[str],
        *,
        wide: Mapping[int, Iterable[str]] | None = None,
        header_cap: int = 24,
        value_cap: int = 40,
        fixed: Mapping[int, float] | None = None,
    ) -> None:
        """Each column as wide as its header (at most ``header_cap``); a ``wide`` column
        (1-based) also as wide as its longest value (at most ``value_cap``, at least 12);
        a ``fixed`` column exactly so wide."""
        wide, fixed = wide or {}, fixed or {}
        for index, header in enumerate(headers, start=1):
            width: float = min(display_width(header), header_cap) + 2
            if index in wide:
                longest = max((min(display_width(v), value_cap) for v in wide[index]), default=0)
                width = max(width, longest + 2, 12)
            width = fixed.get(index, width)
            self.ws.column_dimensions[get_column_letter(index)].width = width

    def set_column_widths(self, widths: Sequence[float], *, first: int = 1) -> None:
        """Widths for consecutive columns from ``first`` (1-based)."""
        for index, width in enumerate(widths, start=first):
            self.ws.column_dimensions[get_column_letter(index)].width = width


def _style(
    cell: Any,
    *,
    font: Font | None = None,
    fill: PatternFill | None = None,
    alignment: Alignment | None = None,
) -> None:
    if font is not None:
        cell.font = font
    if fill is not None:
        cell.fill = fill
    if alignment is not None:
        cell.alignment = alignment


def _as_text(cell: Any, text: str) -> None:
    """Store ``text`` as a string cell whatever it starts with; never a formula or error."""
    text = ILLEGAL_CHARACTERS_RE.sub("", text)
    cell.value = text  # openpyxl may call it a formula ("=…") or an error ("#N/A")…
    cell.data_type = "s"  # …it is text
    if is_formula_like(text):
        cell.quotePrefix = True
