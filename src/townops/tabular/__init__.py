"""Spreadsheet imports (CSV/XLSX), all rows or none: the one framework every import uses.

An import reads a :class:`Sheet` (CSV in UTF-8, UTF-8 with BOM, GBK or GB18030; XLSX),
matches its header to the fields it reads (:func:`match_header`: Chinese or English names,
English in any case), checks every row with a :class:`RowCheck` that collects each problem
as a :class:`RowError` (row as the spreadsheet shows it, the header as the file writes it,
the value, the reason), flags keys repeated within the file (:func:`flag_duplicates`), and
only then writes — nothing on a dry run, nothing when any row is bad unless told to skip
the bad rows (:meth:`ImportReport.goes_ahead`). Progress goes to a
:data:`ProgressCallback` (the CLI draws it as a bar).

This is core: it imports no domain. The hotline, device registry and manual vital-sign
figure imports are built on it; the CLI's ``--dry-run``, ``--skip-bad``, progress bar and
error table are in ``townops.cli``.
"""

from townops.tabular.cells import (
    cell_text,
    clip_text,
    is_valid_phone,
    parse_date,
    parse_datetime,
)
from townops.tabular.columns import Columns, ColumnSpec, lacking_columns, match_header
from townops.tabular.report import (
    PROGRESS_EVERY,
    ImportReport,
    ProgressCallback,
    chunks,
    with_progress,
)
from townops.tabular.rows import (
    CheckedRow,
    FirstRows,
    RowCheck,
    RowError,
    add_name,
    flag_duplicates,
)
from townops.tabular.sheet import Sheet, SheetSource, as_sheet, decode_csv_bytes, read_sheet

__all__ = [
    "PROGRESS_EVERY",
    "CheckedRow",
    "ColumnSpec",
    "Columns",
    "FirstRows",
    "ImportReport",
    "ProgressCallback",
    "RowCheck",
    "RowError",
    "Sheet",
    "SheetSource",
    "add_name",
    "as_sheet",
    "cell_text",
    "chunks",
    "clip_text",
    "decode_csv_bytes",
    "flag_duplicates",
    "is_valid_phone",
    "lacking_columns",
    "match_header",
    "parse_date",
    "parse_datetime",
    "read_sheet",
    "with_progress",
]
