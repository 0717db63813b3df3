"""The city health-check report (城市体检): XLSX and PDF from an injected set of signs.

The signs come from a fake provider that honours the ``SignValue`` contract; the town's
jurisdictions (names and geometry for the map) come from the database, on both back-ends.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import zlib
from collections import Counter
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
import typer
from openpyxl import load_workbook
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from townops.cli import report_health
from townops.errors import InvalidInput
from townops.jurisdiction.models import Jurisdiction
from townops.reports import health_check
from townops.reports.font import FALLBACK_MARK, FONT_FILE, LICENCE_FILE, covers, printable
from townops.reports.health_check import (
    STATUSES,
    HealthCheckReport,
    IndicatorRow,
    SignsProvider,
    build_health_check,
)
from townops.reports.map import share_class, short_name
from townops.reports.pdf import pdf_bytes
from townops.reports.xlsx import (
    INDICATORS_SHEET,
    MAP_SHEET,
    NOTES_SHEET,
    SUMMARY_SHEET,
    indicator_headers,
    xlsx_bytes,
)
from townops.signs.values import Direction, SignValue, Status
from townops.timeutil import SHANGHAI
from townops.townfiles.loader import default_town_dir

NOW = datetime(2023, 1, 5, 9, 30, tzinfo=SHANGHAI)
Spec = tuple[str, str, str, str, str, Direction, float | None, float | None, float]

# id, zh, en, dimension, unit, direction, value 2022, value 2021, target
SPECS: list[Spec] = [
    (
        "hotline_on_time",
        "12345 按时办结率",
        "12345 on-time rate",
        "governance",
        "rate",
        "higher_is_better",
        1.0,
        0.985,
        0.98,
    ),
    (
        "hotline_satisfaction",
        "12345 市民满意率",
        "12345 satisfaction",
        "governance",
        "rate",
        "higher_is_better",
        0.93,
        0.92,
        0.95,
    ),
    (
        "hotline_cases",
        "12345 工单数",
        "12345 cases",
        "governance",
        "cases",
        "lower_is_better",
        11097,
        12480,
        12000,
    ),
    (
        "gas_alarms_online",
        "燃气报警器在线率",
        "Gas alarms online",
        "safety_resilience",
        "rate",
        "higher_is_better",
        0.962,
        0.94,
        0.98,
    ),
    (
        "fire_alarms",
        "消防类警情数",
        "Fire alarms",
        "safety_resilience",
        "alarms",
        "lower_is_better",
        41,
        37,
        35,
    ),
    (
        "police_alarms",
        "报警类警情数",
        "Police alarms",
        "safety_resilience",
        "cases",
        "lower_is_better",
        1761,
        2269,
        2000,
    ),
    (
        "illegal_building",
        "违法搭建案件数",
        "Illegal construction cases",
        "tidy_orderly",
        "cases",
        "lower_is_better",
        118,
        164,
        120,
    ),
    (
        "river_patrol",
        "河长巡河率",
        "River patrol rate",
        "eco_livable",
        "rate",
        "higher_is_better",
        1.0,
        1.0,
        1.0,
    ),
    (
        "mediation_success",
        "矛盾纠纷调解成功率",
        "Mediation success rate",
        "inclusive",
        "rate",
        "higher_is_better",
        0.99,
        0.985,
        0.98,
    ),
    (
        "elderly_meals",
        "助餐服务老人数",
        "Elderly served meals",
        "healthy_comfortable",
        "people",
        "higher_is_better",
        308,
        280,
        300,
    ),
    (
        "new_jobs",
        "新增就业岗位",
        "New jobs",
        "innovative_vibrant",
        "items",
        "higher_is_better",
        None,
        1100,
        1200,
    ),
]


def _status(value: float | None, target: float, direction: Direction) -> Status:
    if value is None:
        return "none"
    gap = (value - target) if direction == "higher_is_better" else (target - value)
    if gap >= 0:
        return "green"
    return "yellow" if abs(gap) <= 0.05 * abs(target) else "red"


def _vary(value: float | None, unit: str, seed: str) -> float | None:
    # A deterministic spread per node so the communities differ on the map.
    if value is None:
        return None
    factor = 0.85 + (zlib.crc32(seed.encode()) % 300) / 1000
    return min(value * factor, 1.0) if unit == "rate" else round(value * factor / 37)


def _sign(spec: Spec, period: str, node: str | None) -> SignValue:
    sign_id, zh, en, dimension, unit, direction, now, before, target = spec
    value = now if period == "2022" else before
    if node is not None:
        value = _vary(value, unit, f"{node}{sign_id}{period}")
        target = target if unit == "rate" else round(target / 37)
    denominator = (1000.0 if node is None else 30.0) if unit == "rate" else None
    numerator = value * denominator if value is not None and denominator else None
    return SignValue(
        id=sign_id,
        name_zh=zh,
        name_en=en,
        dimension=dimension,
        unit=unit,
        value=value,
        status=_status(value, target, direction),
        source="002: 52项动态体征",
        direction=direction,
        target=target,
        numerator=numerator,
        denominator=denominator,
        jurisdiction=node,
        period=period,
    )


def fake_provider(session: Session, specs: list[Spec] | None = None) -> SignsProvider:
    chosen = specs if specs is not None else SPECS

    def node(period: str, code: str | None) -> list[SignValue]:
        return [_sign(spec, period, code) for spec in chosen]

    def level(period: str, level: str, under: str | None) -> list[SignValue]:
        query = select(Jurisdiction.code).where(Jurisdiction.level == level)
        if under is not None:
            query = query.where(Jurisdiction.path.contains(f"/{under}/"))
        codes = session.scalars(query)
        return [_sign(spec, period, code) for code in codes for spec in chosen]

    return SignsProvider(node=node, level=level)


@pytest.fixture
def report(session: Session) -> HealthCheckReport:
    return build_health_check(session, fake_provider(session), year=2022, now=NOW)


def _communities(session: Session) -> list[Jurisdiction]:
    query = select(Jurisdiction).where(Jurisdiction.level == "community")
    return list(session.scalars(query.order_by(Jurisdiction.code)))


# ------------------------------------------------------------------------------ the data


def test_rows_compare_with_last_year_and_follow_direction(report: HealthCheckReport) -> None:
    rows = {row.id: row for row in report.rows}
    police = rows["police_alarms"]
    assert police.value == 1761 and police.previous == 2269
    assert police.change == pytest.approx(-508)
    assert police.trend == "better"  # fewer alarms is better
    assert rows["fire_alarms"].trend == "worse"
    assert rows["river_patrol"].trend == "flat"
    assert rows["new_jobs"].status == "none" and rows["new_jobs"].change is None


def test_a_previous_year_without_data_is_not_compared(session: Session) -> None:
    # Before a town used townops its counts read 0: no "+1,144, worse" against nothing.
    specs = [(*spec[:7], 0.0 if spec[4] != "rate" else None, spec[8]) for spec in SPECS]
    report = build_health_check(session, fake_provider(session, specs), year=2022, now=NOW)
    assert not report.has_previous_year
    assert all(row.previous is None and row.trend is None for row in report.rows)
    assert all(row.previous is None for area in report.areas for row in area.rows)
    with_data = build_health_check(session, fake_provider(session), year=2022, now=NOW)
    assert with_data.has_previous_year


def test_sections_follow_the_national_dimension_order(report: HealthCheckReport) -> None:
    codes = [section.dimension.code for section in report.sections]
    assert codes == [
        "eco_livable",
        "healthy_comfortable",
        "safety_resilience",
        "tidy_orderly",
        "inclusive",
        "innovative_vibrant",
        "governance",
    ]
    assert report.sections[0].dimension.name_zh == "生态宜居"
    assert sum(len(s.rows) for s in report.sections) == len(SPECS)


def test_areas_are_the_communities_with_their_share_of_alerts(
    session: Session, report: HealthCheckReport
) -> None:
    communities = _communities(session)
    assert report.area_level == "community"
    assert [a.code for a in report.areas] == [c.code for c in communities]
    area = report.areas[0]
    counts = Counter(row.status for row in area.rows)
    rated = counts["green"] + counts["yellow"] + counts["red"]
    assert area.alert_share == pytest.approx((counts["yellow"] + counts["red"]) / rated)
    assert area.geometry is not None and area.geometry["type"] == "Polygon"


def test_a_community_scope_maps_its_micro_grids(session: Session) -> None:
    community = _communities(session)[0]
    report = build_health_check(
        session, fake_provider(session), year=2022, jurisdiction=community.code, now=NOW
    )
    assert report.scope.code == community.code
    assert report.area_level == "micro_grid"
    assert report.areas and all(a.level == "micro_grid" for a in report.areas)


def test_unknown_jurisdiction_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput):
        build_health_check(session, fake_provider(session), year=2022, jurisdiction="nope")


def test_share_classes_and_labels() -> None:
    assert share_class(None) is None
    assert share_class(0.0) is share_class(0.09)
    assert share_class(0.10) is not share_class(0.09)
    darkest = share_class(1.0)
    assert darkest is not None and darkest.dark
    assert short_name("东沟一居委会") == "东沟一"


def test_trend_is_none_without_last_year() -> None:
    row = IndicatorRow("x", "x", "x", "governance", "rate", "higher_is_better",
                       0.5, None, None, "none", "")  # fmt: skip
    assert row.change is None and row.trend is None


def test_the_engine_provider_tags_each_level_sign_with_its_node(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[dict[str, object]] = []
    sign = _sign(SPECS[0], "2022", None)

    def by_level(_: Session, **kwargs: object) -> object:
        calls.append(kwargs)
        nodes = [SimpleNamespace(code=code, signs=[sign]) for code in ("a", "b")]
        return SimpleNamespace(nodes=nodes)

    monkeypatch.setattr(health_check, "compute_signs_by_level", by_level)
    provider = health_check.engine_provider(session)
    signs = provider.level("2022", "micro_grid", "310115121001")
    assert [s.jurisdiction for s in signs] == ["a", "b"]
    assert calls == [{"level": "micro_grid", "period": "2022", "under": "310115121001"}]
    names = provider.dimensions()
    assert list(names)[:3] == ["eco_livable", "healthy_comfortable", "safety_resilience"]


# ------------------------------------------------------------------------------ the XLSX


def test_xlsx_has_the_sheets_headers_and_rows(
    session: Session, report: HealthCheckReport, tmp_path: Path
) -> None:
    path = tmp_path / "health-check-2022.xlsx"
    path.write_bytes(xlsx_bytes(report))
    workbook = load_workbook(path)
    communities = _communities(session)
    assert workbook.sheetnames == [
        SUMMARY_SHEET,
        INDICATORS_SHEET,
        MAP_SHEET,
        *(c.name_zh for c in communities),
        NOTES_SHEET,
    ]
    indicators = workbook[INDICATORS_SHEET]
    header = [cell.value for cell in indicators[1]]
    assert header == indicator_headers(report)
    assert header[5] == "2022 年值 (value)" and header[6] == "2021 年值 (previous)"
    rows = {r[1]: r for r in indicators.iter_rows(min_row=2, values_only=True)}
    assert len(rows) == len(SPECS)
    police = rows["police_alarms"]
    assert police[2] == "报警类警情数" and police[4] == "件"
    assert (police[5], police[6], police[7], police[8]) == (1761, 2269, -508, 2000)
    assert police[9] == "正常 (normal)" and police[10] == "向好 (better)"
    on_time = next(r for r in indicators.iter_rows(min_row=2) if r[1].value == "hotline_on_time")
    assert on_time[5].number_format == "0.0%" and on_time[4].value == "%"
    assert (on_time[12].value, on_time[13].value) == (1000.0, 1000.0)  # numerator, denominator
    assert on_time[9].fill.fgColor.rgb.endswith("C6EFCE")  # green status cell
    assert indicators.freeze_panes == "D2"


def test_xlsx_summary_counts_match_the_signs(report: HealthCheckReport) -> None:
    import io

    workbook = load_workbook(io.BytesIO(xlsx_bytes(report)))
    summary = list(workbook[SUMMARY_SHEET].iter_rows(values_only=True))
    assert summary[0][4:8] == (
        "正常 (normal)",
        "关注 (watch)",
        "预警 (alert)",
        "未评价 (not rated)",
    )
    by_code = {row[0]: row for row in summary[1:-1]}
    safety = by_code["safety_resilience"]
    expected = Counter(_status(s[6], s[8], s[5]) for s in SPECS if s[3] == "safety_resilience")
    assert safety[3] == 3
    assert list(safety[4:8]) == [expected.get(s, 0) for s in STATUSES]
    total = summary[-1]
    assert total[1] == "合计" and total[3] == len(SPECS) and sum(total[4:8]) == len(SPECS)


def test_xlsx_community_sheets_hold_their_values(
    session: Session, report: HealthCheckReport
) -> None:
    import io

    workbook = load_workbook(io.BytesIO(xlsx_bytes(report)))
    area = report.areas[3]
    sheet = workbook[area.name_zh]
    rows = list(sheet.iter_rows(min_row=2, values_only=True))
    assert len(rows) == len(SPECS)
    by_id = {row[1]: row for row in rows}
    expected = {row.id: row.value for row in area.rows}
    assert {k: v[4] for k, v in by_id.items()} == expected
    map_rows = {r[0]: r for r in workbook[MAP_SHEET].iter_rows(min_row=2, values_only=True)}
    assert map_rows[area.code][7] == pytest.approx(area.alert_share)
    link = workbook[MAP_SHEET].cell(row=5, column=2).hyperlink
    assert link is not None and area.name_zh in link.location


# ------------------------------------------------------------------------------ the PDF


def _pdf_text(pdf: bytes, tmp_path: Path) -> str:
    path = tmp_path / "report.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-enc", "UTF-8", str(path), "-"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout


def _fonts_that_show_text(pdf: bytes) -> set[str]:
    """The font resource of every text-showing operator in the page streams.

    The font is graphics state: it outlives BT/ET and is saved and restored by q/Q.
    """
    used: set[str] = set()
    for match in re.finditer(rb"stream\r?\n(.*?)endstream", pdf, re.S):
        data = match.group(1).strip()
        if data.endswith(b"~>"):
            data = base64.a85decode(data[:-2])
        try:
            content = zlib.decompress(data).decode("latin-1")
        except zlib.error:
            continue  # an embedded font file, not a page
        content = re.sub(r"\((?:\\.|[^\\)])*\)", "()", content)  # string operands
        font, saved = "", []
        for token in re.finditer(r"(/\S+)\s+[\d.]+\s+Tf|\b(q|Q|Tj|TJ)\b", content):
            name, operator = token.group(1), token.group(2)
            if name:
                font = name
            elif operator == "q":
                saved.append(font)
            elif operator == "Q":
                font = saved.pop() if saved else font
            else:
                used.add(font)
    return used


def test_pdf_is_valid_and_embeds_the_shipped_font(report: HealthCheckReport) -> None:
    pdf = pdf_bytes(report)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    assert b"/FontFile2" in pdf  # TrueType outlines embedded
    assert b"NotoSansCJKsc-ReportSubset" in pdf
    # reportlab declares Helvetica as /F1 on every page; no text may be shown in it.
    fonts = _fonts_that_show_text(pdf)
    assert fonts and "/F1" not in fonts
    assert len(pdf) < 2_000_000


@pytest.mark.skipif(shutil.which("pdftotext") is None, reason="needs poppler-utils")
def test_pdf_text_has_the_town_names_and_no_missing_glyphs(
    session: Session, report: HealthCheckReport, tmp_path: Path
) -> None:
    text = _pdf_text(pdf_bytes(report), tmp_path)
    assert "高行镇 2022 年城市体检报告" in text
    assert "城市体征图" in text and "安全韧性" in text and "报警类警情数" in text
    for community in _communities(session):
        assert short_name(community.name_zh) in text, community.name_zh
    assert FALLBACK_MARK not in text
    assert "\ufffd" not in text


def test_the_font_covers_the_names_the_report_prints(session: Session) -> None:
    names = session.scalars(select(Jurisdiction.name_zh))
    assert all(covers(name) for name in names)
    assert covers("城市体检 体征图 安全韧性 整洁有序 健康舒适 ≥ ≤ ％ （）“”、。")


def test_the_font_covers_gb2312_and_every_town_file() -> None:
    hanzi = []
    for lead in range(0xB0, 0xF8):
        for trail in range(0xA1, 0xFF):
            try:
                hanzi.append(bytes((lead, trail)).decode("gb2312"))
            except UnicodeDecodeError:
                continue
    assert len(hanzi) == 6763
    assert covers("".join(hanzi))
    town_text = "".join(
        path.read_text(encoding="utf-8")
        for path in sorted(default_town_dir().iterdir())
        if path.suffix in (".yaml", ".geojson", ".md")
    )
    missing = {ch for ch in town_text if ch.isprintable() and not covers(ch)}
    assert not missing, f"rebuild with scripts/build_report_font.py: {sorted(missing)}"


def test_the_font_is_small_and_ships_its_licence() -> None:
    assert FONT_FILE.stat().st_size < 5 * 1024 * 1024
    licence = LICENCE_FILE.read_text(encoding="utf-8")
    assert "SIL OPEN FONT LICENSE Version 1.1" in licence and "Adobe" in licence


def test_a_character_outside_the_font_prints_the_fallback_mark(
    session: Session, tmp_path: Path
) -> None:
    rare = "𠀀"  # CJK extension B: not in the subset
    assert not covers(rare)
    assert printable(f"A{rare}B") == f"A{FALLBACK_MARK}B"
    spec: Spec = ("odd", f"生僻字{rare}指标😀", "Odd", "governance", "cases", "higher_is_better",
            1.0, 2.0, 1.0)  # fmt: skip
    report = build_health_check(session, fake_provider(session, [spec]), year=2022, now=NOW)
    pdf = pdf_bytes(report)
    assert pdf.startswith(b"%PDF-")
    if shutil.which("pdftotext"):
        assert f"生僻字{FALLBACK_MARK}指标{FALLBACK_MARK}" in _pdf_text(pdf, tmp_path)


# ------------------------------------------------------------------------------ the CLI


def test_cli_writes_both_files(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_health, "provider_for", fake_provider)
    app = typer.Typer()
    app.command("health-check")(report_health.health_check)
    app.command("other")(lambda: None)  # a group, as under `townops report`
    url = engine.url.render_as_string(hide_password=False)
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["health-check", "--year", "2022", "--out", str(out), "--database-url", url]
    )
    assert result.exit_code == 0, result.output
    xlsx, pdf = out / "health-check-2022.xlsx", out / "health-check-2022.pdf"
    assert pdf.read_bytes().startswith(b"%PDF-")
    assert INDICATORS_SHEET in load_workbook(xlsx).sheetnames
    assert "wrote" in result.output and "health-check-2022.pdf" in result.output


def test_cli_refuses_an_unknown_jurisdiction(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(report_health, "provider_for", fake_provider)
    app = typer.Typer()
    app.command("health-check")(report_health.health_check)
    app.command("other")(lambda: None)
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        app,
        ["health-check", "--year", "2022", "--out", str(tmp_path), "--jurisdiction", "x",
         "--database-url", url],
    )  # fmt: skip
    assert result.exit_code == 1
    assert not list(tmp_path.iterdir())
