"""The monthly assessment (月度考核) on a small town whose months are known.

May 2022 (all working days):

* housing, Nanxin: five leaks, each contacted, resolved the same day, satisfied.
* urban, Huagao: five cases, all satisfied; one resolved after its deadline (breached).

June 2022:

* housing, Nanxin: H1–H5 as in May; H6 never contacted, resolved late, rated
  dissatisfied, reopened, resolved again and closed without a new callback.
* urban, Huagao: E first sent to housing, returned by housing, then handled by urban;
  U2–U5 clean (U5 basically satisfied).
* market, Nanxin: two clean cases, below the five a unit needs to be ranked.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import Engine
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories
from townops.access.actor import Actor
from townops.assessment.api import router
from townops.assessment.config import AssessmentConfig
from townops.assessment.export import RULES_SHEET, SHEET_TITLES, ranking_headers
from townops.assessment.service import (
    AssessmentOf,
    AssessmentReport,
    AssessmentRow,
    assess,
    assessment_config,
    competition_ranks,
    score_components,
)
from townops.cases.models import Case
from townops.cli.report import report_app
from townops.errors import Forbidden, InvalidInput
from townops.kpi.figures import Grouping
from townops.kpi.service import compute_kpis
from townops.periods import month_period

SHANGHAI = ZoneInfo("Asia/Shanghai")
NANXIN, HUAGAO = "310115121020", "310115121006"
HOUSING, URBAN, MARKET = "housing_office", "urban_management", "market_regulation"
HANDLERS = {HOUSING: "housing", URBAN: "urban", MARKET: "market"}
CATEGORIES = {HOUSING: "house_leak", URBAN: "illegal_construction", MARKET: "consumer_complaint"}
NOW = datetime(2022, 7, 15, 12, 0, tzinfo=SHANGHAI)

# Round numbers, so the expected points below can be worked out by hand.
TEST_CONFIG = AssessmentConfig.model_validate(
    {
        "components": [
            {"key": "satisfaction_rate", "weight": 40,
             "scoring": {"rule": "linear", "zero_at": 0.5, "full_at": 1.0}},
            {"key": "on_time_rate", "weight": 30,
             "scoring": {"rule": "linear", "zero_at": 0.5, "full_at": 1.0}},
            {"key": "reopen_rate", "weight": 10,
             "scoring": {"rule": "linear", "zero_at": 0.5, "full_at": 0.0}},
            {"key": "return_rate", "weight": 10,
             "scoring": {"rule": "linear", "zero_at": 0.5, "full_at": 0.0}},
            {"key": "first_contact_rate", "weight": 10,
             "scoring": {"rule": "steps", "steps": [{"at": 0.95, "share": 1.0},
                                                    {"at": 0.8, "share": 0.5}]}},
        ],
        "ranking": {"min_cases": 5, "count": "closed", "missing_figure": "redistribute"},
        "units": {"department_kinds": ["department"]},
    }
)  # fmt: skip

ActorFor = Callable[[str], Actor]
Login = Callable[[str], dict[str, str]]


def at(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2022, month, day, hour, minute, tzinfo=SHANGHAI)


class Town(factories.Town):
    """tests/factories.py's Town, with this story's whole life of a case."""

    def case(
        self,
        department: str,
        community: str,
        start: datetime,
        *,
        resolve_at: datetime | None = None,
        rating: str = "satisfied",
        contact: bool = True,
        returned_by_housing: bool = False,
    ) -> Case:
        """Received at ``start``, dispatched, accepted, contacted, resolved, rated."""
        case = self.receive(CATEGORIES[department], community, start)
        if returned_by_housing:
            self.act(
                case, "dispatcher", "dispatch", start + timedelta(minutes=5), department=HOUSING
            )
            self.act(case, "housing", "return", start + timedelta(minutes=8), reason="不属房管")
        handler = HANDLERS[department]
        self.act(
            case, "dispatcher", "dispatch", start + timedelta(minutes=10), department=department
        )
        self.act(case, handler, "accept", start + timedelta(minutes=20))
        if contact:
            self.act(case, handler, "first_contact", start + timedelta(minutes=30))
        resolved = resolve_at or start + timedelta(hours=4)
        self.act(case, handler, "resolve", resolved, reply="已处理")
        self.act(case, "dispatcher", "callback", resolved + timedelta(hours=1), rating=rating)
        return case


@pytest.fixture
def story(session: Session, actor: ActorFor) -> None:
    town = Town(session, actor)
    for day in (9, 10, 11, 12, 13):
        town.case(HOUSING, NANXIN, at(5, day, 9))
    for day in (16, 17, 18, 19, 20):
        late = at(5, 24, 9) if day == 16 else None  # due 23 May 23:59:59
        town.case(URBAN, HUAGAO, at(5, day, 9), resolve_at=late)

    for day in (6, 7, 8, 9, 10):
        town.case(HOUSING, NANXIN, at(6, day, 9))
    h6 = town.case(  # due 20 June 23:59:59; dissatisfied → reopened automatically
        HOUSING, NANXIN, at(6, 13, 9), resolve_at=at(6, 22, 9), rating="dissatisfied",
        contact=False,
    )  # fmt: skip
    town.act(h6, "housing", "resolve", at(6, 23, 9), reply="已再次处理")
    town.act(h6, "dispatcher", "close", at(6, 23, 10))
    town.case(URBAN, HUAGAO, at(6, 6, 10), returned_by_housing=True)
    for day in (7, 8, 9, 10):
        rating = "basically_satisfied" if day == 10 else "satisfied"
        town.case(URBAN, HUAGAO, at(6, day, 11), rating=rating)
    for day in (14, 15):
        town.case(MARKET, NANXIN, at(6, day, 9))


def rows_of(report: AssessmentReport) -> dict[str, AssessmentRow]:
    return {row.code: row for row in report.rows}


def points(row: AssessmentRow) -> dict[str, float | None]:
    return {score.key: score.points for score in row.components}


def june(session: Session, of: AssessmentOf, config: AssessmentConfig | None = None) -> Any:
    return assess(session, month="2022-06", of=of, now=NOW, config=config or TEST_CONFIG)


# --------------------------------------------------------------------------- scoring


@pytest.mark.usefixtures("story")
def test_departments_get_the_points_worked_out_by_hand_and_ranks_with_last_months(
    session: Session,
) -> None:
    rows = rows_of(june(session, AssessmentOf.departments))
    housing, urban, market = rows[HOUSING], rows[URBAN], rows[MARKET]
    # housing: 5/6 satisfied, 5/6 on time, 1/6 reopened, 1 return of 7 dispatches to it
    # (E was returned by housing), 5/6 contacted in time (a step of 0.5).
    assert points(housing) == {
        "satisfaction_rate": 26.67,  # 40 × (5/6 − 0.5) / 0.5
        "on_time_rate": 20.0,  # 30 × (5/6 − 0.5) / 0.5
        "reopen_rate": 6.67,  # 10 × (0.5 − 1/6) / 0.5
        "return_rate": 7.14,  # 10 × (0.5 − 1/7) / 0.5
        "first_contact_rate": 5.0,
    }
    assert housing.total == 65.48
    assert urban.total == 100.0
    assert (urban.rank, housing.rank) == (1, 2)
    # May: housing 100 (rank 1), urban 88 (one breach of five: 30 × 0.6 = 18).
    assert (housing.previous_total, housing.previous_rank) == (100.0, 1)
    assert (housing.total_change, housing.rank_change) == (-34.52, -1)
    assert (urban.previous_total, urban.total_change, urban.rank_change) == (88.0, 12.0, 1)
    assert not market.ranked and market.rank is None and market.closed == 2
    assert "不足 5 件" in market.note
    order = [(row.code, row.ranked) for row in june(session, AssessmentOf.departments).rows]
    assert order[:2] == [(URBAN, True), (HOUSING, True)]
    assert not any(ranked for _, ranked in order[2:])  # the unranked follow, by code


@pytest.mark.usefixtures("story")
def test_communities_are_scored_on_the_cases_in_their_territory(session: Session) -> None:
    rows = rows_of(june(session, AssessmentOf.communities))
    nanxin, huagao = rows[NANXIN], rows[HUAGAO]
    # Nanxin: H1–H6 and M1–M2: 7/8 satisfied and on time, 1/8 reopened, none returned.
    assert points(nanxin) == {
        "satisfaction_rate": 30.0,
        "on_time_rate": 22.5,
        "reopen_rate": 7.5,
        "return_rate": 10.0,
        "first_contact_rate": 5.0,
    }
    # Huagao: clean, but E (received here) was returned once: 1 of 5 dispatched cases.
    assert points(huagao)["return_rate"] == 6.0
    assert (huagao.total, huagao.rank, huagao.rank_change) == (96.0, 1, 1)
    assert (nanxin.total, nanxin.rank, nanxin.total_change) == (75.0, 2, -25.0)
    assert sum(row.ranked for row in rows.values()) == 2


@pytest.mark.usefixtures("story")
def test_the_towns_own_rules_score_the_same_month(session: Session) -> None:
    config = assessment_config(session)
    assert sum(c.weight for c in config.components) == 100
    rows = rows_of(june(session, AssessmentOf.departments, config))
    # Gaohang: satisfaction 0 at 80 %, full at 98 %; on time 0 at 90 %; reopen 0 at 15 %;
    # return 0 at 10 %; first contact below 90 % earns nothing.
    assert points(rows[HOUSING]) == {
        "satisfaction_rate": 6.48,  # 35 × (5/6 − 0.80) / 0.18
        "on_time_rate": 0.0,
        "reopen_rate": 0.0,
        "return_rate": 0.0,
        "first_contact_rate": 0.0,
    }
    assert rows[URBAN].total == 100.0
    assert "operations_centre" not in rows  # not an assessed kind of unit
    assert rows["self_governance_office"].ranked is False  # a community office, no cases


@pytest.mark.usefixtures("story")
@pytest.mark.parametrize(
    ("of", "by"),
    [
        (AssessmentOf.departments, Grouping.department),
        (AssessmentOf.communities, Grouping.community),
    ],
)
def test_every_figure_equals_the_kpi_reports(
    session: Session, of: AssessmentOf, by: Grouping
) -> None:
    config = assessment_config(session)
    kpis = {k.code: k for k in compute_kpis(session, by=by, period=month_period(2022, 6), now=NOW)}
    report = june(session, of, config)
    compared = 0
    for row in report.rows:
        kpi = kpis.get(row.code)
        if kpi is None:
            assert row.closed == row.received == 0
            continue
        assert (row.received, row.closed) == (kpi.received, kpi.closed)
        for score in row.components:
            if score.key == "first_contact_rate":
                continue  # not a KPI-report figure
            assert score.value == getattr(kpi, score.key), (row.code, score.key)
            compared += 1
    assert compared >= 8


def test_a_figure_with_nothing_to_count_hands_its_weight_to_the_others() -> None:
    components = TEST_CONFIG.components
    figures = {
        "satisfaction_rate": (0, 0),  # nobody rated
        "on_time_rate": (3, 4),
        "reopen_rate": (0, 4),
        "return_rate": (0, 4),
        "first_contact_rate": (4, 4),
    }
    scores = {s.key: s for s in score_components(components, figures, "redistribute")}
    assert scores["satisfaction_rate"].points is None
    assert scores["satisfaction_rate"].max_points == 0.0
    assert scores["on_time_rate"].max_points == 50.0  # 30 × 100 / 60
    assert scores["on_time_rate"].points == 25.0  # share (0.75 − 0.5) / 0.5
    assert sum(s.max_points for s in scores.values()) == 100.0
    zero = {s.key: s.points for s in score_components(components, figures, "zero")}
    full = {s.key: s.points for s in score_components(components, figures, "full")}
    assert (zero["satisfaction_rate"], full["satisfaction_rate"]) == (0.0, 40.0)
    assert zero["on_time_rate"] == 15.0


def test_equal_totals_share_a_rank_and_the_next_rank_skips() -> None:
    assert competition_ranks({"a": 90.0, "b": 95.5, "c": 90.0, "d": 80.0}) == {
        "b": 1, "a": 2, "c": 2, "d": 4,
    }  # fmt: skip


def test_weights_that_do_not_add_up_to_100_are_refused() -> None:
    raw = TEST_CONFIG.model_dump()
    raw["components"][0]["weight"] = 50
    with pytest.raises(ValueError, match="add up to 100"):
        AssessmentConfig.model_validate(raw)


def test_a_bad_month_is_refused_naming_the_field(session: Session) -> None:
    with pytest.raises(InvalidInput) as caught:
        assess(session, month="2022-13", of=AssessmentOf.departments)
    assert caught.value.details["field"] == "month"


@pytest.mark.usefixtures("story")
def test_a_quarter_and_a_year_are_scored_over_their_whole_span(session: Session) -> None:
    def of(period: str) -> AssessmentReport:
        return assess(
            session, period=period, of=AssessmentOf.departments, now=NOW, config=TEST_CONFIG
        )

    june_only = rows_of(june(session, AssessmentOf.departments))
    quarter, year = of("2022-Q2"), of("2022")
    assert (quarter.kind, quarter.label, quarter.previous_label) == (
        "quarter",
        "2022-Q2",
        "2022-Q1",
    )
    assert (quarter.period.first_day, quarter.period.last_day) == (
        date(2022, 4, 1),
        date(2022, 6, 30),
    )
    assert (year.kind, year.label, year.previous_label) == ("year", "2022", "2021")
    # The story's cases lie in May and June: the quarter and the year hold both months, so
    # housing has more closed cases than in June alone …
    housing_june = next(c for c in june_only[HOUSING].components if c.key == "on_time_rate")
    housing_q2 = next(c for c in rows_of(quarter)[HOUSING].components if c.key == "on_time_rate")
    assert housing_q2.denominator > housing_june.denominator
    assert rows_of(year)[HOUSING].components == rows_of(quarter)[HOUSING].components
    # … but a unit must close min_cases for every month of the span to be ranked.
    assert quarter.min_cases == 15 and year.min_cases == 60
    assert not any(row.ranked for row in quarter.rows)
    assert "不足 15 件" in rows_of(quarter)[HOUSING].note
    # A month given as a period is the month.
    as_period = of("2022-06")
    assert as_period.kind == "month" and rows_of(as_period) == june_only


@pytest.mark.parametrize("period", ["2022-Q5", "2022-Q0", "Q2", "22", "2022-06-01"])
def test_a_bad_period_is_refused_naming_the_field(session: Session, period: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        assess(session, period=period, of=AssessmentOf.departments)
    assert caught.value.details["field"] == "period"
    with pytest.raises(InvalidInput):
        assess(session, month="2022-06", period="2022", of=AssessmentOf.departments)


@pytest.mark.parametrize("username", ["dispatcher", "housing", "nanxin", "resident_a"])
def test_only_town_leadership_may_see_the_rankings(
    session: Session, actor: ActorFor, username: str
) -> None:
    with pytest.raises(Forbidden):
        assess(session, month="2022-06", of=AssessmentOf.departments, actor=actor(username))


# --------------------------------------------------------------------------- API


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    if not any(getattr(route, "path", "") == "/api/v1/assessment" for route in app.routes):
        app.include_router(router)
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.usefixtures("story")
def test_the_api_serves_the_ranking_to_the_duty_officer(client: TestClient, login: Login) -> None:
    r = client.get(
        "/api/v1/assessment",
        params={"month": "2022-06", "of": "departments"},
        headers=login("duty"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert (body["month"], body["previous_month"], body["of"]) == (
        "2022-06",
        "2022-05",
        "departments",
    )
    ranked = [row for row in body["rows"] if row["ranked"]]
    assert [(row["code"], row["rank"]) for row in ranked] == [(URBAN, 1), (HOUSING, 2)]
    assert body["rules"][0]["key"] == "satisfaction_rate"
    for row in ranked:
        assert row["total"] == pytest.approx(sum(c["points"] for c in row["components"]))


@pytest.mark.parametrize("username", ["dispatcher", "housing", "nanxin", "resident_a"])
def test_the_api_refuses_other_roles(client: TestClient, login: Login, username: str) -> None:
    r = client.get("/api/v1/assessment", params={"month": "2022-06"}, headers=login(username))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize("month", ["2022-13", "June", "2022-6-1"])
def test_a_bad_month_is_a_structured_422(client: TestClient, login: Login, month: str) -> None:
    r = client.get("/api/v1/assessment", params={"month": month}, headers=login("leader"))
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_input" and error["details"]["field"] == "month"
    missing = client.get("/api/v1/assessment.xlsx", headers=login("leader"))
    assert missing.status_code == 422 and missing.json()["error"]["code"] == "invalid_input"


@pytest.mark.usefixtures("story")
def test_the_workbook_has_both_rankings_and_the_rules(
    session: Session, client: TestClient, login: Login
) -> None:
    r = client.get("/api/v1/assessment.xlsx", params={"month": "2022-06"}, headers=login("admin"))
    assert r.status_code == 200, r.text
    assert 'filename="assessment-2022-06.xlsx"' in r.headers["content-disposition"]
    yearly = client.get(
        "/api/v1/assessment.xlsx", params={"period": "2022"}, headers=login("admin")
    )
    assert yearly.status_code == 200
    assert 'filename="assessment-2022.xlsx"' in yearly.headers["content-disposition"]
    book = load_workbook(io.BytesIO(r.content))
    departments, communities = SHEET_TITLES.values()
    assert book.sheetnames == [departments, communities, RULES_SHEET]
    report = assess(session, month="2022-06", of=AssessmentOf.departments)
    sheet = book[departments]
    rows = list(sheet.iter_rows(values_only=True))
    assert list(rows[0]) == ranking_headers(report)
    assert rows[0][:3] == ("排名 (rank)", "代码 (code)", "名称 (name)")
    assert len(rows) == 1 + len(report.rows)
    header = list(rows[0])
    total, rank = header.index("总分 (total)"), header.index("排名 (rank)")
    by_code = {row[1]: row for row in rows[1:]}
    assert by_code[URBAN][rank] == 1 and by_code[HOUSING][rank] == 2
    assert by_code[HOUSING][total] == rows_of(report)[HOUSING].total
    assert by_code[MARKET][rank] is None and by_code[MARKET][total] is None
    assert sheet.cell(
        row=2, column=header.index("满意率 (satisfaction rate)") + 1
    ).number_format == ("0.0%")
    assert sheet.freeze_panes == "D2"
    assert sheet.column_dimensions["C"].width > 12
    community_codes = {row[1] for row in book[communities].iter_rows(min_row=2, values_only=True)}
    assert {NANXIN, HUAGAO} <= community_codes
    rules = [row[1] for row in book[RULES_SHEET].iter_rows(values_only=True) if row and row[1]]
    assert "satisfaction_rate" in rules and "first_contact_rate" in rules


# --------------------------------------------------------------------------- CLI


def test_the_report_command_writes_the_workbook(engine: Engine, tmp_path: Path) -> None:
    url = engine.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(
        report_app,
        ["assessment", "--month", "2021-03", "--out", str(tmp_path), "--database-url", url],
    )
    assert result.exit_code == 0, result.output
    book = load_workbook(tmp_path / "assessment-2021-03.xlsx")
    assert book.sheetnames == [*SHEET_TITLES.values(), RULES_SHEET]
    # A month without cases: every unit is listed, none is ranked.
    ranks = [row[0] for row in book[SHEET_TITLES[AssessmentOf.communities]].iter_rows(
        min_row=2, values_only=True)]  # fmt: skip
    assert len(ranks) == 37 and set(ranks) == {None}
    bad = CliRunner().invoke(
        report_app,
        ["assessment", "--month", "2021-00", "--out", str(tmp_path), "--database-url", url],
    )
    assert bad.exit_code == 1
    yearly = CliRunner().invoke(
        report_app,
        ["assessment", "--period", "2021", "--out", str(tmp_path), "--database-url", url],
    )
    assert yearly.exit_code == 0, yearly.output
    assert (tmp_path / "assessment-2021.xlsx").is_file() and "考核 2021" in yearly.output
