"""Signs of every node of a level as the workbook (or CSV) the district above asks for.

XLSX: ``体征 signs`` (one row per node and sign, with numerator and denominator so the
receiver can re-add them), ``宽表 wide`` (one row per node, one column per sign) and
``定义 definitions``. CSV: the long sheet only, UTF-8 with BOM so Excel reads the Chinese.
Rows: the nodes of the level, then the ``unassigned`` remainder, then the total.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from townops.signs.config import SignsConfig
from townops.signs.service import UNASSIGNED, LevelSigns, definition_dict
from townops.signs.values import SignValue
from townops.workbook import XLSX_MEDIA_TYPE, Book, Sheet, csv_cell

__all__ = ["LONG_HEADER", "XLSX_MEDIA_TYPE", "long_rows", "write_csv", "write_xlsx", "xlsx_bytes"]

LONG_HEADER = (
    "辖区代码 code",
    "辖区名称 name",
    "层级 level",
    "上级 parent",
    "指标代码 sign",
    "指标名称 name_zh",
    "indicator name_en",
    "维度 dimension",
    "单位 unit",
    "值 value",
    "状态 status",
    "目标 target",
    "分子 numerator",
    "分母 denominator",
    "期间 period",
    "来源 source",
    "评价依据 basis",
    "常态区间 usual range",
    "未评价原因 why not judged",
)
_UNASSIGNED_NAMES = ("未落到该层级", "not placed at this level")


def long_rows(result: LevelSigns) -> Iterator[list[Any]]:
    """One row per node and sign: the level's nodes, the remainder, then the total."""
    for node in result.nodes:
        yield from _node_rows(node.code, node.name_zh, result.level, node.parent, node.signs)
    if result.unassigned:
        name = f"{_UNASSIGNED_NAMES[0]} {_UNASSIGNED_NAMES[1]}"
        yield from _node_rows(UNASSIGNED, name, result.level, None, result.unassigned)
    total = result.total
    yield from _node_rows(total.code, total.name_zh, total.level, total.parent, total.signs)


def _node_rows(
    code: str, name: str, level: str, parent: str | None, signs: list[SignValue]
) -> Iterator[list[Any]]:
    for v in signs:
        yield [
            code,
            name,
            level,
            parent or "",
            v.id,
            v.name_zh,
            v.name_en,
            v.dimension,
            v.unit,
            _number(v.value, v.unit),
            v.status,
            _number(v.target, v.unit),
            _number(v.numerator, "count"),
            _number(v.denominator, "count"),
            v.period,
            v.source,
            v.basis or "",
            _usual_range(v),
            v.unjudged_zh and f"{v.unjudged_zh} / {v.unjudged_en}",
        ]


def _usual_range(value: SignValue) -> str:
    """A history sign's band as words: "12–30 per month (2026-01…2026-10)"."""
    band = value.band
    if band is None:
        return ""
    return f"{band.low:.4g}–{band.high:.4g} per {band.per} ({band.first}…{band.last})"


def _number(value: float | None, unit: str) -> float | int | None:
    """Whole counts as integers (``71``, not ``71.0``); rates and measures as they are."""
    if value is not None and unit != "rate" and float(value).is_integer():
        return int(value)
    return value


def write_csv(result: LevelSigns, target: Path) -> int:
    """The long rows as CSV; returns the number of data rows."""
    rows = list(long_rows(result))
    with target.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(LONG_HEADER)
        writer.writerows([csv_cell(cell) for cell in row] for row in rows)
    return len(rows)


def write_xlsx(result: LevelSigns, config: SignsConfig, target: Path | IO[bytes]) -> int:
    """The three sheets; returns the number of rows of the long sheet."""
    book, count = _build(result, config)
    book.save(target)
    return count


def xlsx_bytes(result: LevelSigns, config: SignsConfig) -> bytes:
    return _build(result, config)[0].to_bytes()


def _build(result: LevelSigns, config: SignsConfig) -> tuple[Book, int]:
    book = Book()
    sheet = book.sheet("体征 signs")
    sheet.append(list(LONG_HEADER))
    rate_formats = [None] * 9 + ["0.0%", None, "0.0%"]
    count = 0
    for row in long_rows(result):
        sheet.append(row, formats=rate_formats if row[8] == "rate" else None)
        count += 1
    _style_header(sheet)
    _wide_sheet(book.sheet("宽表 wide"), result)
    _definitions_sheet(book.sheet("定义 definitions"), config)
    return book, count


def _style_header(sheet: Sheet) -> None:
    """A bold header row, frozen with the code and name columns."""
    sheet.style_row(1, fill=None, alignment=None)
    sheet.ws.freeze_panes = "C2"


def _wide_sheet(sheet: Sheet, result: LevelSigns) -> None:
    signs = result.total.signs if not result.nodes else result.nodes[0].signs
    sheet.append(["辖区代码 code", "辖区名称 name", *(f"{s.name_zh} ({s.id})" for s in signs)])
    rows: list[tuple[str, str, list[SignValue]]] = [
        (node.code, node.name_zh, node.signs) for node in result.nodes
    ]
    if result.unassigned:
        rows.append((UNASSIGNED, _UNASSIGNED_NAMES[0], result.unassigned))
    rows.append((result.total.code, result.total.name_zh, result.total.signs))
    for code, name, values in rows:
        by_id = {v.id: _number(v.value, v.unit) for v in values}
        sheet.append([code, name, *(by_id.get(s.id) for s in signs)])
    for index, sign in enumerate(signs, start=3):
        if sign.unit == "rate":
            sheet.format_column(index, "0.0%")
    _style_header(sheet)


def _definitions_sheet(sheet: Sheet, config: SignsConfig) -> None:
    columns = ("id", "name_zh", "name_en", "dimension_zh", "unit", "direction", "rollup",
               "target", "owner", "origin", "source", "note", "basis", "basis_note")  # fmt: skip
    sheet.append(list(columns))
    for sign in config.signs:
        definition = definition_dict(config, sign)
        sheet.append([definition[c] for c in columns])
    sheet.style_row(1, fill=None, alignment=None)
