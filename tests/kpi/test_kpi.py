"""KPIs computed in the database, checked against a small town whose outcomes are known.

The story (March 2022, all working days; "h" = working hours from receipt to resolution):

========  ==========  ============  ==================================================
case      community   department    what happened
========  ==========  ============  ==================================================
A         Nanxin      housing       resolved in 2 h, satisfied
B         Nanxin      housing       resolved after its deadline (breached), 144 h,
                                    basically satisfied
C         Nanxin      housing       dissatisfied → reopened → resolved (24 h), closed
                                    without a new callback (latest rating dissatisfied)
D         Nanxin      housing       resolved in 6 h, closed without a callback (unrated)
E         Huagao      urban         sent to housing, returned, re-dispatched to urban;
                                    3 h, satisfied
F         Huagao      urban         1 h, satisfied
G         Huagao      urban         8 h, basically satisfied
H         Nanxin      housing       accepted, extension approved, supervised, still open
I         Nanxin      —             received 31 March, never dispatched
========  ==========  ============  ==================================================
"""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories
from townops.access.actor import Actor
from townops.cases.models import Case
from townops.cli.main import app as cli_app
from townops.errors import InvalidInput
from townops.kpi.figures import Grouping
from townops.kpi.service import KpiRow, compute_kpis, median_by_window
from townops.periods import Period, month_period, parse_period, range_period, year_period

SHANGHAI = ZoneInfo("Asia/Shanghai")
NANXIN = "310115121020"  # 南新居委会
HUAGAO = "310115121006"  # 华高居委会
HOUSING, URBAN = "housing_office", "urban_management"
LEAK, BUILD = "house_leak", "illegal_construction"
NOW = datetime(2023, 1, 15, 12, 0, tzinfo=SHANGHAI)
YEAR_2022 = year_period(2022)

ActorFor = Callable[[str], Actor]
Login = Callable[[str], dict[str, str]]


def at(month: int, day: int, hour: int, minute: int = 0, year: int = 2022) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=SHANGHAI)


class Town(factories.Town):
    """tests/factories.py's Town, with this story's steps."""

    def handle(self, case: Case, department: str, start: datetime) -> Case:
        handler = "housing" if department == HOUSING else "urban"
        self.act(
            case, "dispatcher", "dispatch", start + timedelta(minutes=10), department=department
        )
        return self.act(case, handler, "accept", start + timedelta(minutes=20))

    def resolve(self, case: Case, when: datetime) -> Case:
        handler = "housing" if case.department_code == HOUSING else "urban"
        return self.act(case, handler, "resolve", when, reply="已处理")

    def rate(self, case: Case, rating: str, when: datetime) -> Case:
        return self.act(case, "dispatcher", "callback", when, rating=rating)


@pytest.fixture
def story(session: Session, actor: ActorFor) -> dict[str, Case]:
    town = Town(session, actor)
    cases: dict[str, Case] = {}

    a = cases["A"] = town.receive(LEAK, NANXIN, at(3, 1, 9))
    town.handle(a, HOUSING, at(3, 1, 9))
    town.resolve(a, at(3, 1, 11))
    town.rate(a, "satisfied", at(3, 1, 12))

    b = cases["B"] = town.receive(LEAK, NANXIN, at(3, 2, 9))  # due 9 March 23:59:59
    town.handle(b, HOUSING, at(3, 2, 9))
    town.resolve(b, at(3, 10, 9))
    town.rate(b, "basically_satisfied", at(3, 10, 10))

    c = cases["C"] = town.receive(LEAK, NANXIN, at(3, 3, 9))
    town.handle(c, HOUSING, at(3, 3, 9))
    town.resolve(c, at(3, 3, 13))
    town.rate(c, "dissatisfied", at(3, 3, 14))
    town.resolve(c, at(3, 4, 9))
    town.act(c, "dispatcher", "close", at(3, 4, 10))

    d = cases["D"] = town.receive(LEAK, NANXIN, at(3, 7, 9))
    town.handle(d, HOUSING, at(3, 7, 9))
    town.resolve(d, at(3, 7, 15))
    town.act(d, "dispatcher", "close", at(3, 7, 16))

    e = cases["E"] = town.receive(BUILD, HUAGAO, at(3, 1, 10))
    town.act(e, "dispatcher", "dispatch", at(3, 1, 10, 10), department=HOUSING)
    town.act(e, "housing", "return", at(3, 1, 10, 30), reason="违建属城管职责")
    town.handle(e, URBAN, at(3, 1, 11))
    town.resolve(e, at(3, 1, 13))
    town.rate(e, "satisfied", at(3, 1, 14))

    for name, day, hours, rating in (("F", 8, 1, "satisfied"), ("G", 9, 8, "basically_satisfied")):
        case = cases[name] = town.receive(BUILD, HUAGAO, at(3, day, 9))
        town.handle(case, URBAN, at(3, day, 9))
        town.resolve(case, at(3, day, 9 + hours))
        town.rate(case, rating, at(3, day, 18))

    h = cases["H"] = town.receive(LEAK, NANXIN, at(3, 10, 9))
    town.handle(h, HOUSING, at(3, 10, 9))
    town.act(h, "housing", "request_extension", at(3, 11, 9), working_days=2, reason="需协调物业")
    town.act(h, "duty", "approve_extension", at(3, 11, 10))
    town.act(h, "duty", "supervise", at(3, 22, 9), comment="请加快办理")

    cases["I"] = town.receive(LEAK, NANXIN, at(3, 31, 9))
    return cases


def kpis(session: Session, by: Grouping, **kwargs: Any) -> dict[str | None, KpiRow]:
    kwargs.setdefault("period", YEAR_2022)
    kwargs.setdefault("now", NOW)
    return {row.code: row for row in compute_kpis(session, by=by, **kwargs)}


# The story's cases are created by the engine directly, not through automatic dispatch:
# the routing figures are tested in test_dispatch_api.py.
ROUTING_FIGURES = {
    "routed", "auto_dispatched", "auto_correct", "auto_dispatch_rate",
    "auto_dispatch_accuracy", "median_minutes_to_dispatch",
}  # fmt: skip


def figures(row: KpiRow) -> dict[str, Any]:
    assert row.routed == 0 and row.auto_dispatch_rate is None
    return row.model_dump(exclude={"code", "name_zh", "name_en", *ROUTING_FIGURES})


HOUSING_2022 = {
    "received": 5, "closed": 4, "closed_on_time": 3, "on_time_rate": 0.75,
    "rated": 3, "satisfied": 2, "satisfaction_rate": pytest.approx(2 / 3),
    "callback_coverage": 0.75, "returned": 1, "dispatched": 6,
    "return_rate": pytest.approx(1 / 6), "reopened": 1, "reopen_rate": 0.25,
    "median_handling_hours": 15.0,
    "overdue_open": 1, "extensions": 1, "supervisions": 1,
}  # fmt: skip


# --------------------------------------------------------------------------- figures


def test_figures_by_department_count_returns_against_the_department_that_returned(
    session: Session, story: dict[str, Case]
) -> None:
    rows = kpis(session, Grouping.department)
    assert list(rows) == [HOUSING, URBAN, None]
    assert figures(rows[HOUSING]) == HOUSING_2022
    assert rows[HOUSING].name_zh.startswith("房屋管理办公室")
    assert rows[HOUSING].name_en == "Housing Office"
    assert figures(rows[URBAN]) == {
        "received": 3, "closed": 3, "closed_on_time": 3, "on_time_rate": 1.0,
        "rated": 3, "satisfied": 3, "satisfaction_rate": 1.0, "callback_coverage": 1.0,
        "returned": 0, "dispatched": 3, "return_rate": 0.0, "reopened": 0, "reopen_rate": 0.0,
        "median_handling_hours": 3.0, "overdue_open": 0, "extensions": 0, "supervisions": 0,
    }  # fmt: skip
    undispatched = rows[None]
    assert (undispatched.received, undispatched.closed, undispatched.overdue_open) == (1, 0, 1)
    assert undispatched.on_time_rate is None and undispatched.satisfaction_rate is None
    assert undispatched.return_rate is None and undispatched.median_handling_hours is None


def test_figures_by_community_use_the_case_level_return_share(
    session: Session, story: dict[str, Case]
) -> None:
    rows = kpis(session, Grouping.community)
    assert list(rows) == [HUAGAO, NANXIN]
    assert rows[NANXIN].name_zh == "南新居委会" and rows[HUAGAO].name_en == "Huagao Community"
    assert figures(rows[NANXIN]) == {
        **HOUSING_2022, "received": 6, "returned": 0, "dispatched": 5, "return_rate": 0.0,
        "overdue_open": 2,
    }  # fmt: skip
    huagao = rows[HUAGAO]
    assert (huagao.returned, huagao.dispatched) == (1, 3)
    assert huagao.return_rate == pytest.approx(1 / 3)
    assert (huagao.received, huagao.closed, huagao.on_time_rate) == (3, 3, 1.0)


def test_the_town_row_adds_everything_up(session: Session, story: dict[str, Case]) -> None:
    (town,) = kpis(session, Grouping.town).values()
    assert (town.code, town.name_zh, town.name_en) == ("310115121", "高行镇", "Gaohang Town")
    assert figures(town) == {
        "received": 9, "closed": 7, "closed_on_time": 6, "on_time_rate": pytest.approx(6 / 7),
        "rated": 6, "satisfied": 5, "satisfaction_rate": pytest.approx(5 / 6),
        "callback_coverage": pytest.approx(6 / 7), "returned": 1, "dispatched": 8,
        "return_rate": 0.125, "reopened": 1, "reopen_rate": pytest.approx(1 / 7),
        "median_handling_hours": 6.0, "overdue_open": 2, "extensions": 1, "supervisions": 1,
    }  # fmt: skip


def test_figures_by_category_carry_the_category_names(
    session: Session, story: dict[str, Case]
) -> None:
    rows = kpis(session, Grouping.category)
    assert list(rows) == [LEAK, BUILD]
    assert (rows[LEAK].name_zh, rows[BUILD].name_en) == ("房屋渗漏", "Illegal construction")
    assert (rows[LEAK].received, rows[BUILD].received) == (6, 3)


def test_the_median_averages_the_middle_pair_for_even_counts_and_takes_the_middle_for_odd(
    session: Session, story: dict[str, Case]
) -> None:
    # housing 2, 6, 24, 144 → (6 + 24) / 2; urban 1, 3, 8 → 3; town 1 2 3 6 8 24 144 → 6
    assert kpis(session, Grouping.department)[HOUSING].median_handling_hours == 15.0
    assert kpis(session, Grouping.department)[URBAN].median_handling_hours == 3.0
    assert kpis(session, Grouping.town)["310115121"].median_handling_hours == 6.0


def test_the_portable_window_median_gives_the_same_answer_on_every_database(
    session: Session, story: dict[str, Case]
) -> None:
    stmt = median_by_window(
        Case.department_code,
        Case.handling_working_hours,
        [Case.closed_at.is_not(None), Case.id.in_([c.id for c in story.values()])],
    )
    assert {row.g: float(row.median) for row in session.execute(stmt)} == {
        HOUSING: 15.0,
        URBAN: 3.0,
    }


def test_a_period_with_nothing_in_it_gives_null_rates_not_errors(
    session: Session, story: dict[str, Case]
) -> None:
    (town,) = kpis(session, Grouping.town, period=month_period(2022, 7)).values()
    assert (town.received, town.closed) == (0, 0)
    assert town.overdue_open == 2  # a snapshot at `now`, whatever the period
    for rate in ("on_time_rate", "satisfaction_rate", "callback_coverage", "return_rate"):
        assert getattr(town, rate) is None
    assert town.median_handling_hours is None
    # Only the groups with open overdue cases (H at housing, undispatched I) have anything.
    rows = kpis(session, Grouping.department, period=month_period(2022, 7))
    assert list(rows) == [HOUSING, None]
    assert all(row.received == row.closed == 0 for row in rows.values())


def test_overdue_open_is_counted_at_the_now_given(session: Session, story: dict[str, Case]) -> None:
    # H is due 21 March (after its extension), I on 8 April (Qingming in between).
    assert kpis(session, Grouping.town, now=at(3, 21, 12))["310115121"].overdue_open == 0
    assert kpis(session, Grouping.town, now=at(3, 22, 12))["310115121"].overdue_open == 1
    assert kpis(session, Grouping.town, now=at(4, 9, 0))["310115121"].overdue_open == 2


# --------------------------------------------------------------------------- periods


def test_period_boundaries_are_local_days(session: Session, actor: ActorFor) -> None:
    town = Town(session, actor)
    last_night = town.receive(LEAK, NANXIN, at(12, 31, 23, 30))  # 15:30 UTC, 2022
    town.receive(LEAK, NANXIN, at(1, 1, 0, 10, year=2023))  # 16:10 UTC on 31 Dec, yet 2023
    town.handle(last_night, HOUSING, at(12, 31, 23, 30))
    town.resolve(last_night, at(12, 31, 23, 55))
    town.rate(last_night, "satisfied", at(12, 31, 23, 58))

    def town_row(period: Period) -> KpiRow:
        return kpis(session, Grouping.town, period=period)["310115121"]

    assert (town_row(year_period(2022)).received, town_row(year_period(2022)).closed) == (1, 1)
    assert (town_row(year_period(2023)).received, town_row(year_period(2023)).closed) == (1, 0)
    assert town_row(month_period(2022, 12)).received == 1
    assert town_row(range_period(date(2022, 12, 31), date(2022, 12, 31))).received == 1
    assert town_row(range_period(date(2023, 1, 1), date(2023, 1, 1))).received == 1
    assert town_row(range_period(date(2022, 1, 1), date(2022, 12, 30))).received == 0


def test_periods_parse_the_three_forms() -> None:
    assert parse_period(year="2022") == Period(date(2022, 1, 1), date(2022, 12, 31), "2022")
    assert parse_period(month="2024-02") == Period(date(2024, 2, 1), date(2024, 2, 29), "2024-02")
    assert parse_period(date_from="2022-01-01", date_to="2022-03-31").label == (
        "2022-01-01_2022-03-31"
    )


@pytest.mark.parametrize(
    "given",
    [
        {},
        {"year": "2022", "month": "2022-06"},
        {"year": "abc"},
        {"year": "10000"},
        {"month": "2022-13"},
        {"month": "2022/06"},
        {"date_from": "2022-01-01"},
        {"date_to": "2022-01-01"},
        {"date_from": "2022-03-31", "date_to": "2022-01-01"},
        {"date_from": "2022-02-30", "date_to": "2022-03-01"},
    ],
)
def test_bad_periods_are_refused_with_a_clear_error(given: dict[str, str]) -> None:
    with pytest.raises(InvalidInput):
        parse_period(**given)


@given(
    day=st.dates(min_value=date(2000, 1, 1), max_value=date(2099, 12, 31)),
    minute=st.integers(min_value=0, max_value=24 * 60 - 1),
)
def test_every_local_instant_of_a_day_is_inside_that_day_and_no_other(
    day: date, minute: int
) -> None:
    instant = datetime.combine(day, datetime.min.time(), tzinfo=SHANGHAI) + timedelta(
        minutes=minute
    )
    start, end = range_period(day, day).utc_bounds(SHANGHAI)
    assert start <= instant < end
    next_start, _ = range_period(day + timedelta(days=1), day + timedelta(days=1)).utc_bounds(
        SHANGHAI
    )
    assert next_start == end


# --------------------------------------------------------------------------- scope


def test_a_handler_sees_only_its_own_department(
    session: Session, actor: ActorFor, story: dict[str, Case]
) -> None:
    housing = kpis(session, Grouping.department, actor=actor("housing"))
    assert list(housing) == [HOUSING]
    assert figures(housing[HOUSING]) == HOUSING_2022
    assert list(kpis(session, Grouping.community, actor=actor("housing"))) == [NANXIN]
    urban = kpis(session, Grouping.department, actor=actor("urban"))
    assert list(urban) == [URBAN]
    assert (urban[URBAN].dispatched, urban[URBAN].returned) == (3, 0)


def test_community_staff_see_their_community_and_leaders_the_whole_town(
    session: Session, actor: ActorFor, story: dict[str, Case]
) -> None:
    nanxin = kpis(session, Grouping.community, actor=actor("nanxin"))
    assert list(nanxin) == [NANXIN] and nanxin[NANXIN].received == 6
    assert kpis(session, Grouping.community, actor=actor("leader")) == kpis(
        session, Grouping.community
    )


# --------------------------------------------------------------------------- API


def test_the_api_returns_the_report_as_json(
    client: TestClient, login: Login, story: dict[str, Case]
) -> None:
    r = client.get("/api/v1/kpi", params={"by": "town", "year": "2022"}, headers=login("duty"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["by"] == "town" and body["return_rate_basis"] == "cases"
    assert body["period"] == {
        "label": "2022",
        "first_day": "2022-01-01",
        "last_day": "2022-12-31",
        "timezone": "Asia/Shanghai",
        "start": "2021-12-31T16:00:00Z",
        "end": "2022-12-31T16:00:00Z",
    }
    (town,) = body["rows"]
    assert (town["received"], town["closed"], town["return_rate"]) == (9, 7, 0.125)
    assert town["on_time_rate"] == pytest.approx(6 / 7)
    definitions = {d["key"]: d for d in body["definitions"]}
    assert definitions["on_time_rate"]["name_zh"] == "按时办结率"
    assert "dispatched" in definitions["return_rate"]["definition_en"]


def test_the_api_scopes_a_handler_and_accepts_from_to(
    client: TestClient, login: Login, story: dict[str, Case]
) -> None:
    params = {"by": "department", "from": "2022-03-01", "to": "2022-03-01"}
    r = client.get("/api/v1/kpi", params=params, headers=login("housing"))
    assert r.status_code == 200, r.text
    (row,) = r.json()["rows"]
    # On 1 March housing received and closed A, and was sent and returned E.
    assert (row["code"], row["received"], row["closed"]) == (HOUSING, 1, 1)
    assert (row["dispatched"], row["returned"], row["return_rate"]) == (2, 1, 0.5)


@pytest.mark.parametrize(
    "params",
    [
        {"year": "2022", "month": "2022-06"},
        {"month": "2022-13"},
        {"from": "2022-01-01"},
        {"from": "2022-03-01", "to": "2022-01-01"},
        {"by": "street", "year": "2022"},
        {},
    ],
)
def test_the_api_refuses_bad_periods_with_a_structured_422(
    client: TestClient, login: Login, params: dict[str, str]
) -> None:
    r = client.get("/api/v1/kpi", params=params, headers=login("leader"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_input"


def test_the_api_needs_a_bearer_token(client: TestClient) -> None:
    r = client.get("/api/v1/kpi", params={"year": "2022"})
    assert r.status_code == 401


@pytest.mark.parametrize(
    ("path", "extra"), [("/api/v1/kpi.xlsx", {}), ("/api/v1/kpi", {"format": "xlsx"})]
)
def test_the_api_serves_the_report_as_an_excel_workbook(
    client: TestClient, login: Login, story: dict[str, Case], path: str, extra: dict[str, str]
) -> None:
    params = {"by": "department", "year": "2022", **extra}
    r = client.get(path, params=params, headers=login("dispatcher"))
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert 'filename="kpi-2022-department.xlsx"' in r.headers["content-disposition"]
    check_workbook(r.content)


def check_workbook(content: bytes) -> None:
    workbook = load_workbook(io.BytesIO(content))
    assert workbook.sheetnames == ["指标 KPI", "说明 Definitions"]
    sheet = workbook["指标 KPI"]
    header = [cell.value for cell in sheet[1]]
    assert header[:4] == [
        "代码 (code)",
        "名称 (name)",
        "英文名称 (English name)",
        "受理量 (received)",
    ]
    assert sheet.freeze_panes == "C2"
    rows = {r[0]: dict(zip(header, r, strict=True)) for r in sheet.iter_rows(2, values_only=True)}
    assert list(rows) == [HOUSING, URBAN, None]
    assert rows[HOUSING]["按时办结率 (on-time rate)"] == 0.75
    assert rows[HOUSING]["退单率 (return rate)"] == pytest.approx(1 / 6)
    assert rows[HOUSING]["办理时长中位数(工作小时) (median handling hours)"] == 15.0
    assert rows[None]["按时办结率 (on-time rate)"] is None
    on_time = header.index("按时办结率 (on-time rate)") + 1
    assert sheet.cell(row=2, column=on_time).number_format == "0.0%"
    notes = [row for row in workbook["说明 Definitions"].iter_rows(values_only=True) if row]
    assert notes[0][:2] == ("统计周期 (period)", "2022")
    assert any(row[1] == "return_rate" and "dispatch events" in row[4] for row in notes)


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, connection: Connection, story: dict[str, Case]
) -> Callable[..., Any]:
    """Runs ``townops kpi`` on the test's own connection, so it sees the story's cases."""
    monkeypatch.setattr("townops.cli.kpi.engine_for", lambda _settings: connection)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(cli_app, ["kpi", *args])

    return run


def test_the_cli_prints_json(cli: Callable[..., Any]) -> None:
    result = cli("--year", "2022", "--by", "community", "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [row["code"] for row in body["rows"]] == [HUAGAO, NANXIN]
    assert body["rows"][1]["on_time_rate"] == 0.75


def test_the_cli_prints_a_table_with_chinese_and_english_headers(
    cli: Callable[..., Any],
) -> None:
    result = cli("--month", "2022-03", "--by", "department")
    assert result.exit_code == 0, result.output
    assert "按时办结率" in result.stdout and "(on-time rate)" in result.stdout
    assert "75.0%" in result.stdout and "房屋管理办公室" in result.stdout


def test_the_cli_writes_an_excel_file(
    cli: Callable[..., Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    result = cli("--from", "2022-01-01", "--to", "2022-12-31", "--format", "xlsx")
    assert result.exit_code == 0, result.output
    check_workbook_file = tmp_path / "kpi-2022-01-01_2022-12-31-department.xlsx"
    assert check_workbook_file.exists()
    result = cli("--year", "2022", "--format", "xlsx", "--out", str(tmp_path / "k.xlsx"))
    assert result.exit_code == 0, result.output
    check_workbook((tmp_path / "k.xlsx").read_bytes())


def test_the_cli_refuses_a_bad_period(cli: Callable[..., Any]) -> None:
    result = cli("--year", "2022", "--month", "2022-01")
    assert result.exit_code == 1
    assert "exactly one period" in result.output


def test_every_callback_counts_in_the_satisfaction_rate_before_and_after_a_reopening(
    session: Session, actor: ActorFor
) -> None:
    town = Town(session, actor)
    case = town.receive(LEAK, HUAGAO, at(5, 9, 9))
    town.handle(case, HOUSING, at(5, 9, 9))
    town.resolve(case, at(5, 9, 15))
    town.rate(case, "dissatisfied", at(5, 10, 9))  # reopens the case by itself
    assert case.state == "reopened"
    town.resolve(case, at(5, 11, 9))
    town.rate(case, "satisfied", at(5, 12, 9))  # closes it by itself
    assert case.state == "closed"

    (row,) = compute_kpis(session, by=Grouping.community, period=month_period(2022, 5), now=NOW)
    assert row.code == HUAGAO
    assert (row.rated, row.satisfied, row.satisfaction_rate) == (2, 1, 0.5)
    assert row.callback_coverage == 1.0 and row.reopen_rate == 1.0
