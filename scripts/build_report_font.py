"""Build the CJK font that the health-check PDF embeds (a dev tool; its output is committed).

    .venv/bin/python scripts/build_report_font.py [--source FILE.ttc] [--check]

Source: Noto Sans CJK SC Regular (SIL OFL 1.1) from Debian's ``fonts-noto-cjk``. That font
has PostScript (CFF) outlines, and reportlab embeds TrueType (``glyf``) outlines only, so
the subset's cubic curves are converted to quadratic ones (fontTools' cu2qu, at most
1 font unit of error: invisible at report sizes). The subset keeps what a town's report
needs: ASCII, Latin-1, general punctuation, CJK punctuation, full-width forms, every
character of GB2312 (6,763 hanzi and its symbols) and every character found in the
shipped town files, the vital-signs definitions and the report code itself.

``--check`` only reports which wanted characters the shipped font lacks (exit 1 if any):
run it after adding names to a town.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from fontTools import subset
from fontTools.pens.cu2quPen import Cu2QuPen
from fontTools.pens.ttGlyphPen import TTGlyphPen
from fontTools.ttLib import TTCollection, TTFont, newTable

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "townops"
DEFAULT_SOURCE = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")
SOURCE_FAMILY = "Noto Sans CJK SC"
OUTPUT = PACKAGE / "reports" / "fonts" / "NotoSansCJKsc-ReportSubset.ttf"
FAMILY = "Noto Sans CJK SC Report Subset"
POSTSCRIPT_NAME = "NotoSansCJKsc-ReportSubset"
MAX_CURVE_ERROR = 1.0  # font units (1/1000 em)

# Text files whose characters the report may print: the town files, the sign definitions and
# the report's own headings.
SCANNED = (
    "townfiles/**/*.yaml",
    "townfiles/**/*.geojson",
    "townfiles/**/*.md",
    "signs/**/*",
    "reports/*.py",
)
RANGES = (
    (0x0020, 0x007E),  # ASCII
    (0x00A0, 0x00FF),  # Latin-1 supplement
    (0x2010, 0x2027),  # dashes, quotes, bullets, ellipsis
    (0x2030, 0x203B),  # per mille, primes, reference mark
    (0x2103, 0x2103),  # ℃
    (0x2190, 0x2193),  # arrows
    (0x2212, 0x2212),  # − (minus sign)
    (0x2264, 0x2265),  # ≤ ≥
    (0x25A0, 0x25CF),  # squares, triangles, circles (legend marks)
    (0x3000, 0x303F),  # CJK symbols and punctuation
    (0xFF01, 0xFF5E),  # full-width ASCII
    (0xFFE0, 0xFFE6),  # full-width signs
)


def gb2312_characters() -> Iterator[str]:
    for lead in range(0xA1, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                yield bytes((lead, trail)).decode("gb2312")
            except UnicodeDecodeError:
                continue


def scanned_characters(package: Path = PACKAGE) -> Iterator[str]:
    for pattern in SCANNED:
        for path in sorted(package.glob(pattern)):
            if path.is_file() and path.suffix not in (".pyc", ".ttf"):
                yield from path.read_text(encoding="utf-8", errors="ignore")


def required_codepoints(extra: Iterable[str] = ()) -> set[int]:
    """What the font must hold: GB2312 and every character of the scanned files."""
    chars = (*gb2312_characters(), *scanned_characters(), *extra)
    return {ord(ch) for ch in chars if ch.isprintable()}


def wanted_codepoints() -> set[int]:
    # The ranges are best effort: the source lacks a few rare symbols in them.
    return required_codepoints() | {cp for low, high in RANGES for cp in range(low, high + 1)}


def load_source(path: Path) -> TTFont:
    if path.suffix.lower() in (".ttc", ".otc"):
        for font in TTCollection(path).fonts:
            if font["name"].getDebugName(1) == SOURCE_FAMILY:
                return font
        raise SystemExit(f"{path} has no '{SOURCE_FAMILY}' face")
    return TTFont(path)


def subset_font(font: TTFont, codepoints: set[int]) -> None:
    options = subset.Options()
    options.layout_features = []  # reportlab does no shaping
    options.drop_tables += ["GSUB", "GPOS", "GDEF", "BASE", "VORG", "vhea", "vmtx", "DSIG"]
    options.hinting = False
    options.notdef_outline = True  # the box readers see for a character the font lacks
    options.desubroutinize = True
    options.name_IDs = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]
    subsetter = subset.Subsetter(options)
    subsetter.populate(unicodes=codepoints & set(font.getBestCmap()))
    subsetter.subset(font)


def cff_to_glyf(font: TTFont) -> None:
    """Replace the CFF outlines by TrueType ones, as reportlab needs."""
    order = font.getGlyphOrder()
    glyph_set = font.getGlyphSet()
    glyphs = {}
    for name in order:
        pen = TTGlyphPen(None)
        # TrueType winds outer contours clockwise, PostScript counter-clockwise.
        glyph_set[name].draw(Cu2QuPen(pen, MAX_CURVE_ERROR, reverse_direction=True))
        glyphs[name] = pen.glyph()
    glyf = newTable("glyf")
    glyf.glyphOrder = order
    glyf.glyphs = glyphs
    font["glyf"] = glyf
    font["loca"] = newTable("loca")
    del font["CFF "]
    font.sfntVersion = "\x00\x01\x00\x00"
    _truetype_maxp(font)
    post = font["post"]
    post.formatType = 3.0  # no glyph names: saves space, nothing reads them
    post.extraNames, post.mapping = [], {}
    font["head"].glyphDataFormat = 0


def _truetype_maxp(font: TTFont) -> None:
    maxp = font["maxp"]
    maxp.tableVersion = 0x00010000
    for field in (
        "maxZones",
        "maxTwilightPoints",
        "maxStorage",
        "maxFunctionDefs",
        "maxInstructionDefs",
        "maxStackElements",
        "maxSizeOfInstructions",
        "maxComponentElements",
        "maxComponentDepth",
    ):
        setattr(maxp, field, 1 if field == "maxZones" else 0)
    for field in ("maxPoints", "maxContours", "maxCompositePoints", "maxCompositeContours"):
        setattr(maxp, field, 0)  # recalculated on save


def rename(font: TTFont) -> None:
    # OFL 1.1: a modified version keeps the copyright and licence; it is named apart from
    # the original so nobody mistakes the subset for the full font.
    table = font["name"]
    note = f"{FAMILY}: a subset of {SOURCE_FAMILY} with TrueType outlines, made for townops."
    for name_id, value in (
        (1, FAMILY),
        (3, f"townops;{POSTSCRIPT_NAME}"),
        (4, FAMILY),
        (6, POSTSCRIPT_NAME),
        (10, note),
    ):
        table.setName(value, name_id, 3, 1, 0x409)
        table.setName(value, name_id, 1, 0, 0)
    table.names = [n for n in table.names if n.nameID not in (16, 17)]


def build(source: Path, output: Path) -> set[int]:
    font = load_source(source)
    wanted = wanted_codepoints()
    subset_font(font, wanted)
    cff_to_glyf(font)
    rename(font)
    output.parent.mkdir(parents=True, exist_ok=True)
    font.save(output)
    return check(output)


def check(output: Path) -> set[int]:
    return required_codepoints() - set(TTFont(output).getBestCmap())


def describe(missing: set[int]) -> str:
    shown = "".join(chr(cp) for cp in sorted(missing) if chr(cp).isprintable())[:200]
    return f"{len(missing)} wanted character(s) not in the font: {shown}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--output", type=Path, default=OUTPUT)
    parser.add_argument("--check", action="store_true", help="only list missing characters")
    args = parser.parse_args()
    if args.check:
        missing = check(args.output)
        print(describe(missing))
        return 1 if missing else 0
    if not args.source.exists():
        print(f"{args.source} not found: apt-get install fonts-noto-cjk", file=sys.stderr)
        return 2
    missing = build(args.source, args.output)
    font = TTFont(args.output)
    size = args.output.stat().st_size
    glyphs = len(font.getGlyphOrder())
    print(f"wrote {args.output} ({size / 1_048_576:.2f} MiB, {glyphs} glyphs)")
    if missing:
        # Characters the source font itself lacks (rare hanzi in place names, emoji …):
        # the PDF prints the fallback mark for them.
        print(describe(missing))
    return 0


if __name__ == "__main__":
    sys.exit(main())
