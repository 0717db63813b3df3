"""Vital signs (动态体征): definitions, periods, formulas, roll-ups, figures, warnings.

The story (March 2025, working days; the town has nothing else in it):

=====  ========  =====================  ==============================================
case   kind      place                  what happened
=====  ========  =====================  ==============================================
A      hotline   Nanxin micro-grid 1    resolved next day, satisfied
B      hotline   Nanxin micro-grid 2    resolved late (breached), dissatisfied →
                                        reopened → resolved, satisfied
C      hotline   Dongou-1 (community)   resolved next day, basically satisfied
D      hotline   the town only          resolved next day, satisfied
E      patrol    nowhere                received, never dispatched
G      hotline   Nanxin micro-grid 1    dispatched 10 March, never resolved (overdue)
F      hotline   Nanxin micro-grid 1    received 2 April (outside March)
=====  ========  =====================  ==============================================

Sensing: three smoke detectors in Nanxin micro-grid 1 (one heard just before the period's
end, one silent since 20 March, one never heard), a gas alarm installed after March, and
water-level sensors in Dongou-1 micro-grid 1 (0.35 m) and Nanxin micro-grid 2 (0.20 m).
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from openpyxl import load_workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests import factories
from townops.access.actor import SYSTEM
from townops.cases.enums import Action
from townops.cases.models import Case
from townops.errors import Forbidden, InvalidInput, NotFound
from townops.kpi.figures import Grouping
from townops.kpi.service import compute_kpis
from townops.periods import month_period
from townops.sensing.models import Alarm, Device, DeviceState
from townops.signs.config import (
    SIGNS_FILE,
    Manual,
    SignDefinition,
    SignsConfig,
    SignsConfigError,
    read_signs_file,
)
from townops.signs.export import write_csv, write_xlsx
from townops.signs.manual import enter_figure, import_figures, manual_values
from townops.signs.models import ManualFigure, SignWarning
from townops.signs.periods import parse_sign_period, previous_period
from townops.signs.service import (
    UNASSIGNED,
    compute_signs,
    compute_signs_by_level,
    node_for,
    signs_config,
    source_text,
    status_of,
)
from townops.signs.values import SignValue
from townops.signs.warnings import WARNING_CATEGORY, raise_warnings
from townops.tabular import Sheet
from townops.townfiles.loader import default_town_dir, load_town

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOWN = "310115121"
NANXIN = "310115121020"
NANXIN_G1, NANXIN_G2 = f"{NANXIN}-G01", f"{NANXIN}-G02"
DONGOU = "310115121001"
DONGOU_G1 = f"{DONGOU}-G01"
NOW = datetime(2025, 6, 1, 12, 0, tzinfo=SHANGHAI)
MARCH = "2025-03"
SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds"


def at(month: int, day: int, hour: int = 9, minute: int = 0) -> datetime:
    return datetime(2025, month, day, hour, minute, tzinfo=SHANGHAI)


# --------------------------------------------------------------------------- the story


@dataclass
class Story:
    session: Session
    cases: dict[str, Case]


class _Town(factories.Town):
    """tests/factories.py's Town, every step taken by the system: hotline cases saying 测试."""

    def __init__(self, session: Session) -> None:
        super().__init__(session, receiver=SYSTEM, kind="hotline", content="测试")

    def handle(self, case: Case, department: str, start: datetime) -> None:
        self.act(
            case, SYSTEM, Action.dispatch, start + timedelta(minutes=10), department=department
        )
        self.act(case, SYSTEM, Action.accept, start + timedelta(minutes=20))

    def finish(self, case: Case, resolved: datetime, rating: str) -> None:
        self.act(case, SYSTEM, Action.resolve, resolved, reply="已处理")
        self.act(case, SYSTEM, Action.callback, resolved + timedelta(hours=1), rating=rating)


def build_story(session: Session) -> Story:
    town = _Town(session)
    cases: dict[str, Case] = {}
    a = cases["A"] = town.receive("house_leak", NANXIN_G1, at(3, 3))
    town.handle(a, "housing_office", at(3, 3))
    town.finish(a, at(3, 4, 10), "satisfied")
    b = cases["B"] = town.receive("house_leak", NANXIN_G2, at(3, 3))  # due 10 March
    town.handle(b, "housing_office", at(3, 3))
    town.finish(b, at(3, 12, 10), "dissatisfied")  # late: breached, then reopened
    town.finish(b, at(3, 13, 10), "satisfied")
    c = cases["C"] = town.receive("illegal_construction", DONGOU, at(3, 5))
    town.handle(c, "urban_management", at(3, 5))
    town.finish(c, at(3, 6, 10), "basically_satisfied")
    d = cases["D"] = town.receive("sanitation", TOWN, at(3, 6))
    town.handle(d, "environment_office", at(3, 6))
    town.finish(d, at(3, 7, 10), "satisfied")
    cases["E"] = town.receive("street_vending", None, at(3, 7), kind="patrol")
    g = cases["G"] = town.receive("house_leak", NANXIN_G1, at(3, 10))
    town.handle(g, "housing_office", at(3, 10))
    cases["F"] = town.receive("house_leak", NANXIN_G1, at(4, 2))
    _sensing(session)
    session.flush()
    return Story(session, cases)


def _path(session: Session, code: str) -> str:
    return node_for(session, actor=None, code=code).path


def _sensing(session: Session) -> None:
    def device(device_id: str, kind: str, network: str, place: str, **extra: Any) -> Device:
        return Device(
            device_id=device_id,
            type=kind,
            network=network,
            jurisdiction_code=place,
            jurisdiction_path=_path(session, place),
            installed_on=extra.pop("installed_on", date(2025, 1, 6)),
            **extra,
        )

    session.add_all(
        [
            device("T-SD-1", "smoke_detector", "社区小脑", NANXIN_G1),
            device("T-SD-2", "smoke_detector", "社区小脑", NANXIN_G1),
            device("T-SD-3", "smoke_detector", "社区小脑", NANXIN_G1),
            device(
                "T-GAS-1",
                "gas_alarm",
                "居家安防",
                NANXIN_G1,
                household_name="张*",
                installed_on=date(2025, 6, 1),
            ),
            device("T-WL-1", "water_level_sensor", "中脑", DONGOU_G1),
            device("T-WL-2", "water_level_sensor", "中脑", NANXIN_G2),
        ]
    )
    session.flush()
    for device_id, seen in (("T-SD-1", at(3, 31, 23)), ("T-SD-2", at(3, 20))):
        session.add(
            DeviceState(device_id=device_id, last_seq=1, last_ts=seen, last_seen=seen, values={})
        )

    def alarm(device_id: str, kind: str, place: str, raised: datetime, **extra: Any) -> Alarm:
        return Alarm(
            device_id=device_id,
            rule_id=extra.pop("rule_id", "smoke_alarm"),
            kind="threshold",
            severity=extra.pop("severity", "warning"),
            state=extra.pop("state", "raised"),
            device_type=kind,
            jurisdiction_path=_path(session, place),
            storm_key=device_id,
            raised_at=raised,
            **extra,
        )

    session.add_all(
        [
            alarm("T-SD-1", "smoke_detector", NANXIN_G1, at(3, 5, 10), severity="critical",
                  state="acknowledged", acknowledged_at=at(3, 5, 10, 10)),
            alarm("T-SD-1", "smoke_detector", NANXIN_G1, at(3, 6, 10), state="cleared",
                  acknowledged_at=at(3, 6, 10, 20)),
            alarm("T-SD-2", "smoke_detector", NANXIN_G1, at(3, 7, 10), severity="info",
                  state="false_alarm"),
            alarm("T-WL-1", "water_level_sensor", DONGOU_G1, at(3, 8, 10), rule_id="waterlogging",
                  value=0.35),
            alarm("T-WL-2", "water_level_sensor", NANXIN_G2, at(3, 8, 11), rule_id="waterlogging",
                  value=0.20),
        ]
    )  # fmt: skip


@pytest.fixture
def story(session: Session) -> Story:
    return build_story(session)


def signs_of(values: list[SignValue]) -> dict[str, SignValue]:
    return {v.id: v for v in values}


def at_node(session: Session, code: str | None, period: str = MARCH) -> dict[str, SignValue]:
    return signs_of(compute_signs(session, jurisdiction=code, period=period, now=NOW))


# --------------------------------------------------------------------------- definitions


@pytest.fixture(scope="module")
def gaohang() -> SignsConfig:
    town = load_town(default_town_dir())
    return read_signs_file(
        default_town_dir() / SIGNS_FILE,
        categories={c.code for c in town.categories},
        departments={d.code for d in town.departments},
        levels=list(town.info.levels),
    )


def test_gaohang_ships_at_least_52_signs_at_every_level_it_reports(gaohang: SignsConfig) -> None:
    assert len(gaohang.signs) >= 52
    for level in ("town", "community", "micro_grid"):
        assert sum(level in s.levels for s in gaohang.signs) >= 52, level
    assert {s.dimension for s in gaohang.signs} == {d.code for d in gaohang.dimensions}


def _squeeze(text: str) -> str:
    return re.sub(r"\s+", "", text)


def test_every_sign_quotes_its_seed_word_for_word(gaohang: SignsConfig) -> None:
    if not SEEDS.is_dir():
        pytest.skip(f"the seed documents are not beside the repository ({SEEDS})")
    seeds = {s.code: _squeeze((SEEDS / s.file).read_text(encoding="utf-8")) for s in gaohang.seeds}
    for sign in gaohang.signs:
        assert sign.source.quote, f"{sign.id} paraphrases instead of quoting"
        assert _squeeze(sign.source.quote) in seeds[sign.source.seed], sign.id


def test_a_manual_sign_says_it_is_entered_by_people(gaohang: SignsConfig) -> None:
    for sign in gaohang.signs:
        text = source_text(gaohang, sign)
        if sign.is_manual:
            assert "人工填报" in sign.note and "entered manually" in text, sign.id
        else:
            assert "computed from" in text and "entered manually" not in text, sign.id
            reads_figures = any(isinstance(m, Manual) for m in sign.measures())
            assert reads_figures == ("manual figures" in text), sign.id


def test_the_definitions_survive_the_round_trip_through_the_town_profile(
    gaohang: SignsConfig,
) -> None:
    assert SignsConfig.model_validate(gaohang.model_dump(mode="json")) == gaohang


def _bad_file(tmp_path: Path, sign: str) -> Path:
    path = tmp_path / SIGNS_FILE
    path.write_text(
        "dimensions:\n  - {code: governance, name_zh: 治理, name_en: Governance}\nsigns:\n" + sign,
        encoding="utf-8",
    )
    return path


GOOD_SIGN = """\
  - id: x_rate
    name_zh: 测试
    name_en: Test
    dimension: governance
    unit: rate
    formula: {count: cases}
    levels: [town]
    rollup: sum
    owner: operations_centre
    source: {seed: "003", quote: 测试}
    direction: higher_is_better
    basis: history
"""


@pytest.mark.parametrize(
    ("change", "line", "message"),
    [
        ("formula: {count: cases}", 9, "where.rating is not a filter of cases"),
        ("rollup: sum", 4, "rollup 'ratio' does not fit the formula"),
        ("unit: rate", 8, "Input should be 'rate'"),
        ("owner: operations_centre", 12, "owner 'nobody' is not a department"),
    ],
)
def test_a_bad_definition_is_reported_with_its_file_and_line(
    tmp_path: Path, change: str, line: int, message: str
) -> None:
    replacement = {
        "formula: {count: cases}": "formula: {count: cases, where: {rating: [satisfied]}}",
        "rollup: sum": "rollup: ratio",
        "unit: rate": "unit: percent",
        "owner: operations_centre": "owner: nobody",
    }[change]
    path = _bad_file(tmp_path, GOOD_SIGN.replace(change, replacement))
    with pytest.raises(SignsConfigError) as caught:
        read_signs_file(path, departments={"operations_centre"})
    assert any(
        issue.startswith(f"{SIGNS_FILE}:{line}:") and message in issue
        for issue in caught.value.issues
    ), caught.value.issues


def test_thresholds_must_be_ordered_for_their_direction(tmp_path: Path) -> None:
    sign = GOOD_SIGN.replace("higher_is_better", "lower_is_better").replace(
        "basis: history",
        "basis: town\n    basis_note: x\n    thresholds: {green: 0.9, yellow: 0.5}",
    )
    with pytest.raises(SignsConfigError, match="green must be <= yellow"):
        read_signs_file(_bad_file(tmp_path, sign))


def test_a_formula_of_no_known_form_says_which_forms_there_are(tmp_path: Path) -> None:
    with pytest.raises(SignsConfigError, match=r"a formula is one of \{count"):
        read_signs_file(_bad_file(tmp_path, GOOD_SIGN.replace("{count: cases}", "{sum: 3}")))


# --------------------------------------------------------------------------- periods


def test_periods_are_years_months_and_iso_weeks() -> None:
    week = parse_sign_period("2022-W23")
    assert (week.first_day, week.last_day, week.label) == (
        date(2022, 6, 6),
        date(2022, 6, 12),
        "2022-W23",
    )
    assert parse_sign_period("2022-6").label == "2022-06"
    assert parse_sign_period(" 2022 ").last_day == date(2022, 12, 31)
    assert previous_period(parse_sign_period("2022-W01")).label == "2021-W52"
    assert previous_period(parse_sign_period("2022-01")).label == "2021-12"


@pytest.mark.parametrize("text", ["2022-13", "2022-W54", "June", "", "2022-06-01"])
def test_a_bad_period_names_the_period_field(text: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_sign_period(text)
    assert caught.value.details["field"] == "period"


# --------------------------------------------------------------------------- status


def _sign(direction: str, **thresholds: Any) -> SignDefinition:
    return SignDefinition.model_validate(
        {
            "id": "x_sign",
            "name_zh": "x",
            "name_en": "x",
            "dimension": "governance",
            "unit": "rate",
            "formula": {"ratio": [{"count": "cases"}, {"count": "cases"}]},
            "levels": ["town", "community"],
            "rollup": "ratio",
            "direction": direction,
            "basis": "town",
            "basis_note": "x",
            "thresholds": {"green": 0.95, "yellow": 0.9, **thresholds}
            if direction == "higher_is_better"
            else {"green": 0.05, "yellow": 0.1, **thresholds},
            "level_thresholds": {"community": {"green": 0.5, "yellow": 0.4}}
            if direction == "higher_is_better"
            else {},
            "owner": "operations_centre",
            "source": {"seed": "003", "quote": "x"},
        }
    )


@pytest.mark.parametrize(
    ("direction", "value", "expected"),
    [
        ("higher_is_better", 0.95, "green"),  # exactly at the bound earns the colour
        ("higher_is_better", 19 / 20, "green"),
        ("higher_is_better", 0.93, "yellow"),
        ("higher_is_better", 0.9, "yellow"),
        ("higher_is_better", 0.89, "red"),
        ("lower_is_better", 0.05, "green"),
        ("lower_is_better", 0.07, "yellow"),
        ("lower_is_better", 0.11, "red"),
        ("lower_is_better", None, "none"),
    ],
)
def test_status_follows_the_thresholds_in_the_signs_direction(
    direction: str, value: float | None, expected: str
) -> None:
    assert status_of(_sign(direction), value, level="town") == expected


def test_a_level_may_have_its_own_thresholds_and_few_cases_get_no_colour() -> None:
    sign = _sign("higher_is_better", min_denominator=10)
    assert status_of(sign, 0.6, level="town", denominator=50) == "red"
    assert status_of(sign, 0.6, level="community", denominator=50) == "green"
    assert status_of(sign, 0.1, level="town", denominator=9) == "none"


# --------------------------------------------------------------------------- formulas


def test_hotline_figures_on_hand_made_cases(story: Story) -> None:
    town = at_node(story.session, None)
    assert town["hotline_received"].value == 5  # A B C D G; F is April, E is patrol
    assert town["cases_received"].value == 6
    on_time = town["hotline_on_time_rate"]
    assert (on_time.numerator, on_time.denominator, on_time.value) == (3, 4, 0.75)
    satisfied = town["hotline_satisfaction_rate"]  # every callback counts: B twice
    assert (satisfied.numerator, satisfied.denominator) == (4, 5)
    assert town["hotline_reopen_rate"].numerator == 1
    assert town["hotline_overdue_open"].value == 1  # G
    assert town["illegal_construction_cases"].value == 1
    assert town["proactive_discovery_rate"].value == pytest.approx(1 / 6)
    assert (
        town["hotline_received"].jurisdiction is None and town["hotline_received"].period == MARCH
    )


def test_a_community_sees_only_its_own_cases(story: Story) -> None:
    nanxin = at_node(story.session, NANXIN)
    assert nanxin["hotline_received"].value == 3
    assert (
        nanxin["hotline_on_time_rate"].numerator,
        nanxin["hotline_on_time_rate"].denominator,
    ) == (1, 2)
    assert nanxin["hotline_overdue_open"].status == "yellow"  # the community's own bounds
    grid = at_node(story.session, NANXIN_G1)
    assert (
        grid["hotline_received"].value == 2 and grid["hotline_received"].jurisdiction == NANXIN_G1
    )


def test_the_sign_rates_are_the_kpi_rates(story: Story) -> None:
    [row] = compute_kpis(story.session, by=Grouping.town, period=month_period(2025, 3), now=NOW)
    town = at_node(story.session, None)
    assert town["cases_on_time_rate"].value == row.on_time_rate
    assert town["cases_satisfaction_rate"].value == row.satisfaction_rate
    assert town["cases_received"].value == row.received


def test_weeks_and_years_count_their_own_days(story: Story) -> None:
    week = at_node(story.session, None, "2025-W10")  # 3–9 March
    assert week["hotline_received"].value == 4  # G came on Monday the 10th
    assert (week["hotline_on_time_rate"].numerator, week["hotline_on_time_rate"].denominator) == (
        3,
        3,
    )
    assert at_node(story.session, None, "2025")["hotline_received"].value == 6


def test_alarm_and_device_figures(story: Story) -> None:
    town = at_node(story.session, None)
    ack = town["alarm_ack_15min_rate"]  # warning and critical only: 10 min yes, 20 min no
    assert (ack.numerator, ack.denominator) == (1, 4)
    assert (town["false_alarm_rate"].numerator, town["false_alarm_rate"].denominator) == (1, 5)
    assert town["max_water_depth"].value == 0.35 and town["max_water_depth"].status == "red"
    assert at_node(story.session, NANXIN)["max_water_depth"].status == "yellow"
    online = town["fire_device_online_rate"]  # heard at 23:00 on the 31st; silent; never
    assert (online.numerator, online.denominator) == (1, 3)
    assert town["fire_safety_devices"].value == 3
    coverage = town["home_gas_alarm_online_rate"]  # the gas alarm came in June
    assert coverage.denominator == 0 and coverage.value is None and coverage.status == "none"
    assert at_node(story.session, None, "2025-06")["home_gas_alarm_online_rate"].denominator == 1


# --------------------------------------------------------------------------- roll-ups


def _parts(value: SignValue) -> tuple[float, float]:
    if value.denominator is not None:
        return value.numerator or 0.0, value.denominator
    return value.value or 0.0, 0.0


@pytest.mark.parametrize("level", ["community", "micro_grid"])
def test_the_nodes_of_a_level_and_the_unassigned_remainder_add_up_to_the_town(
    story: Story, level: str
) -> None:
    result = compute_signs_by_level(story.session, level=level, period=MARCH, now=NOW)
    config = signs_config(story.session)
    additive = {s.id for s in config.signs if s.rollup in ("sum", "ratio") and not s.is_manual}
    total = signs_of(result.total.signs)
    remainder = signs_of(result.unassigned)
    assert all(v.jurisdiction == UNASSIGNED for v in result.unassigned)
    for sign_id in additive & set(remainder):
        numerator = sum(_parts(signs_of(n.signs)[sign_id])[0] for n in result.nodes)
        denominator = sum(_parts(signs_of(n.signs)[sign_id])[1] for n in result.nodes)
        left, right = _parts(remainder[sign_id])
        assert (numerator + left, denominator + right) == _parts(total[sign_id]), sign_id
    # What has no node at the level is shown, not lost.
    expected = {"community": 1, "micro_grid": 2}[level]  # D; C and D
    assert remainder["hotline_received"].value == expected
    assert remainder["cases_received"].value == expected + 1  # E has no place at all


def test_a_level_under_a_community_is_only_that_community(story: Story) -> None:
    result = compute_signs_by_level(
        story.session, level="micro_grid", period=MARCH, under=NANXIN, now=NOW
    )
    assert [n.code for n in result.nodes] == [NANXIN_G1, NANXIN_G2, f"{NANXIN}-G03"]
    assert result.total.code == NANXIN
    assert signs_of(result.unassigned)["hotline_received"].value == 0


def test_extremes_roll_up_as_extremes(story: Story) -> None:
    result = compute_signs_by_level(story.session, level="community", period=MARCH, now=NOW)
    depth = {n.code: signs_of(n.signs)["max_water_depth"].value for n in result.nodes}
    assert depth[DONGOU] == 0.35 and depth[NANXIN] == 0.2
    assert signs_of(result.total.signs)["max_water_depth"].value == 0.35


def test_unknown_places_and_levels_are_refused(session: Session) -> None:
    with pytest.raises(NotFound):
        compute_signs(session, jurisdiction="nowhere", period="2025")
    with pytest.raises(InvalidInput):
        compute_signs_by_level(session, level="street", period="2025")


# --------------------------------------------------------------------------- manual figures


@pytest.fixture
def figures(session: Session) -> None:
    config = signs_config(session)
    entries = [
        ("mediation_disputes", NANXIN, 100),
        ("mediation_disputes", DONGOU, 50),
        ("mediation_disputes", TOWN, 200),
        ("mediation_successes", NANXIN, 99),
        ("mediation_successes", DONGOU, 45),
        ("property_disputes", NANXIN, 100),
        ("property_disputes", DONGOU, 300),
        ("property_dispute_satisfaction", NANXIN, "90%"),
        ("property_dispute_satisfaction", DONGOU, 0.99),
    ]
    for sign, place, value in entries:
        enter_figure(
            session,
            actor=SYSTEM,
            config=config,
            sign_id=sign,
            jurisdiction=place,
            period=MARCH,
            value=value,
        )


@pytest.mark.usefixtures("figures")
def test_manual_figures_roll_up_by_their_sign(session: Session) -> None:
    town = at_node(session, None)
    assert town["mediation_disputes"].value == 200  # the town's own figure wins
    assert town["mediation_successes"].value == 144  # none of its own: the sum
    assert (
        town["mediation_success_rate"].numerator,
        town["mediation_success_rate"].denominator,
    ) == (144, 200)
    weighted = town["property_dispute_satisfaction"]  # (0.9×100 + 0.99×300) / 400
    assert weighted.value == pytest.approx(0.9675)
    assert weighted.numerator == pytest.approx(387) and weighted.denominator == 400
    assert at_node(session, DONGOU)["mediation_success_rate"].status == "red"  # 45/50
    result = compute_signs_by_level(session, level="community", period=MARCH, now=NOW)
    assert signs_of(result.unassigned)["mediation_disputes"].value == 50  # 200 − 100 − 50


def test_a_year_without_its_own_figure_adds_up_its_months(session: Session) -> None:
    config = signs_config(session)
    for month, value in (("2025-01", 10), ("2025-02", 5)):
        enter_figure(session, actor=SYSTEM, config=config, sign_id="elderly_checkups",
                     jurisdiction=NANXIN, period=month, value=value)  # fmt: skip
    sign = config.sign("elderly_checkups")
    assert sign is not None
    year = manual_values(session, signs=[sign], period=parse_sign_period("2025"))
    assert year == {"elderly_checkups": {NANXIN: 15}}
    assert at_node(session, None, "2025")["elderly_checkups"].value == 15


def _sheet(*rows: list[Any]) -> Sheet:
    header = ["指标代码", "辖区", "期间", "数值", "备注"]
    return Sheet(header=header, rows=[(n, list(r)) for n, r in enumerate(rows, start=2)])


def test_an_import_with_a_bad_row_writes_nothing_and_names_every_problem(session: Session) -> None:
    config = signs_config(session)
    sheet = _sheet(
        ["river_patrol_rate", "南新居委会", "2025", "98%", ""],
        ["hotline_on_time_rate", NANXIN, "2025", 1, ""],  # computed, not entered
        ["river_patrol_rate", "nowhere", "2025-13", "lots", ""],
        ["river_patrol_rate", NANXIN, "2025", 1, ""],  # repeats row 2
    )
    report = import_figures(session, actor=SYSTEM, config=config, sheet=sheet)
    assert report.bad_rows == [3, 4, 5]
    assert {(e.row, e.column) for e in report.errors} >= {
        (3, "指标代码"), (4, "辖区"), (4, "期间"), (4, "数值"), (5, "指标代码"),
    }  # fmt: skip
    assert session.scalar(select(func.count()).select_from(ManualFigure)) == 0
    first_row = sheet.rows[0][1]
    good = import_figures(session, actor=SYSTEM, config=config, sheet=_sheet(first_row))
    assert (good.created, good.updated) == (1, 0)
    again = import_figures(session, actor=SYSTEM, config=config, sheet=_sheet(first_row))
    assert (again.created, again.updated) == (0, 1)
    assert at_node(session, NANXIN, "2025")["river_patrol_rate"].value == pytest.approx(0.98)


def test_only_admins_and_duty_officers_enter_figures(session: Session, actor: Any) -> None:
    config = signs_config(session)
    with pytest.raises(Forbidden):
        enter_figure(session, actor=actor("leader"), config=config, sign_id="new_jobs",
                     jurisdiction=TOWN, period="2025", value=1)  # fmt: skip
    figure = enter_figure(session, actor=actor("duty"), config=config, sign_id="new_jobs",
                          jurisdiction=TOWN, period="2025", value=1217)  # fmt: skip
    assert figure.entered_by == "duty"
    with pytest.raises(InvalidInput, match="not kept at this level"):
        enter_figure(session, actor=actor("duty"), config=config, sign_id="new_jobs",
                     jurisdiction=NANXIN, period="2025", value=1)  # fmt: skip


# --------------------------------------------------------------------------- warnings


def test_a_red_sign_raises_one_warning_per_node_and_period_and_opens_a_case(
    story: Story,
) -> None:
    session = story.session
    first = raise_warnings(session, period=MARCH, now=NOW)
    raised = {(w.sign_id, w.jurisdiction_code) for w in first.raised}
    assert raised == {
        ("max_water_depth", TOWN),
        ("max_water_depth", DONGOU),
        ("max_water_depth", DONGOU_G1),
    }
    assert first.cases_opened == []
    second = raise_warnings(session, period=MARCH, open_cases=True, now=NOW + timedelta(hours=1))
    assert second.raised == [] and second.already_raised == 3
    assert len(second.cases_opened) == 3
    cases = session.scalars(select(Case).where(Case.id.in_(second.cases_opened))).all()
    assert {(c.kind, c.category_code, c.department_code, c.state) for c in cases} == {
        ("patrol", WARNING_CATEGORY, "construction_office", "dispatched")
    }
    assert {c.jurisdiction_code for c in cases} == {TOWN, DONGOU, DONGOU_G1}
    third = raise_warnings(session, period=MARCH, open_cases=True, now=NOW + timedelta(hours=2))
    assert (third.raised, third.cases_opened) == ([], [])
    assert session.scalar(select(func.count()).select_from(SignWarning)) == 3


# --------------------------------------------------------------------------- loading


def test_definitions_fall_back_to_the_built_in_file(session: Session) -> None:
    config = signs_config(session)
    assert config.sign("hotline_on_time_rate") is not None
    assert yaml.safe_load((default_town_dir() / SIGNS_FILE).read_text(encoding="utf-8"))


# --------------------------------------------------------------------------- export


def test_the_export_for_the_district_adds_up_in_csv_and_xlsx(story: Story, tmp_path: Path) -> None:
    result = compute_signs_by_level(story.session, level="community", period=MARCH, now=NOW)
    rows = write_csv(result, tmp_path / "signs.csv")
    with (tmp_path / "signs.csv").open(encoding="utf-8-sig", newline="") as handle:
        read = [r for r in csv.DictReader(handle) if r["指标代码 sign"] == "hotline_received"]
    assert len(read) == 37 + 2 and rows == sum(len(n.signs) for n in result.nodes) + len(
        result.unassigned
    ) + len(result.total.signs)
    by_code = {r["辖区代码 code"]: int(r["值 value"]) for r in read}
    assert by_code[UNASSIGNED] == 1 and by_code[TOWN] == 5
    assert sum(v for code, v in by_code.items() if code != TOWN) == by_code[TOWN]
    write_xlsx(result, signs_config(story.session), tmp_path / "signs.xlsx")
    workbook = load_workbook(tmp_path / "signs.xlsx", read_only=True)
    assert workbook.sheetnames == ["体征 signs", "宽表 wide", "定义 definitions"]
    assert workbook["体征 signs"].max_row == rows + 1
