"""Reading a sheet: the header and the non-blank rows of a CSV (UTF-8 or GBK) or XLSX file."""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from townops.errors import InvalidInput
from townops.tabular.cells import cell_text


@dataclass(frozen=True)
class Sheet:
    header: list[str]
    rows: list[tuple[int, list[Any]]]  # (spreadsheet row number, cells)


SheetSource = Path | Sheet | Sequence[Mapping[str, Any]]
"""What an import reads: a CSV/XLSX path, a read :class:`Sheet`, or rows as mappings keyed
by header (the first row is row 2, as under a header)."""


def read_sheet(path: Path) -> Sheet:
    """The header and the non-blank rows of a CSV or XLSX file."""
    suffix = path.suffix.lower()
    if suffix in (".csv", ".txt"):
        records = _csv_records(path)
    elif suffix in (".xlsx", ".xlsm"):
        records = _xlsx_records(path)
    else:
        raise InvalidInput(
            f"cannot read '{path.name}': give a .csv or .xlsx file (save .xls as .xlsx)",
            file=str(path),
        )
    if not records or not any(cell_text(c) for c in records[0]):
        raise InvalidInput(f"'{path.name}' has no header row", file=str(path))
    header = [cell_text(c) for c in records[0]]
    rows = [
        (number, list(cells))
        for number, cells in enumerate(records[1:], start=2)
        if any(cell_text(c) for c in cells)
    ]
    return Sheet(header=header, rows=rows)


def as_sheet(source: SheetSource) -> Sheet:
    """A path read, a sheet as it is, or mappings as a sheet (header: their keys in order)."""
    if isinstance(source, Path):
        return read_sheet(source)
    if isinstance(source, Sheet):
        return source
    header: list[str] = []
    for row in source:
        header.extend(key for key in row if key not in header)
    rows = [(n, [row.get(key) for key in header]) for n, row in enumerate(source, start=2)]
    return Sheet(header=header, rows=[(n, cells) for n, cells in rows if any(cells)])


def decode_csv_bytes(data: bytes) -> str:
    """UTF-8 (with or without BOM), else GB18030, the superset of the GBK offices export."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("gb18030")
    except UnicodeDecodeError as exc:
        raise InvalidInput("the CSV file is neither UTF-8 nor GBK/GB18030 text") from exc


def _csv_records(path: Path) -> list[Sequence[Any]]:
    text = decode_csv_bytes(path.read_bytes())
    first_line = text.split("\n", 1)[0]
    delimiter = max((",", "\t", ";"), key=first_line.count)
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


def _xlsx_records(path: Path) -> list[Sequence[Any]]:
    from openpyxl import load_workbook  # loaded only when a workbook is read
    from openpyxl.utils.exceptions import InvalidFileException

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError) as exc:
        raise InvalidInput(
            f"'{path.name}' is not a readable XLSX workbook", file=str(path)
        ) from exc
    try:
        return [tuple(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
    finally:
        workbook.close()
