"""The one typeface of the PDF reports: a shipped subset of Noto Sans CJK SC (SIL OFL 1.1).

Shipped so a report prints Chinese on a machine with no CJK font; built by
scripts/build_report_font.py (docs/health-check.md says why this font and how).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont

FONT_NAME = "TownopsSansSC"
FONT_FILE = Path(__file__).with_name("fonts") / "NotoSansCJKsc-ReportSubset.ttf"
LICENCE_FILE = Path(__file__).with_name("fonts") / "OFL.txt"
# 〓 (geta mark) is what Chinese typesetting prints for a character it has no type for.
FALLBACK_MARK = "\u3013"


@cache
def register_font() -> str:
    """Register the shipped font with reportlab once; return the name to use."""
    pdfmetrics.registerFont(TTFont(FONT_NAME, str(FONT_FILE)))
    return FONT_NAME


@cache
def _covered() -> frozenset[int]:
    register_font()
    font = pdfmetrics.getFont(FONT_NAME)
    return frozenset(font.face.charToGlyph)  # type: ignore[attr-defined]


def covers(text: str) -> bool:
    covered = _covered()
    return all(ord(ch) in covered for ch in text)


def printable(text: str) -> str:
    """``text`` with every character the font lacks replaced by the fallback mark."""
    covered = _covered()
    return "".join(ch if ord(ch) in covered or ch in "\n\t" else FALLBACK_MARK for ch in text)
