"""Forecasts from the cases table: local weeks, the API (shape, roles, errors) and the CLI."""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, TypedDict
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Connection
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from townops.access.actor import Actor
from townops.cases.models import Case
from townops.cli.forecast import forecast_app
from townops.errors import Forbidden
from townops.forecast.api import router
from townops.forecast.proactive import forecast_cases, suggest_for_cases
from townops.forecast.series import Grouping, build_series, iso_label
from townops.forecast.sources import read_cases

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOWN, NANXIN, HUAGAO = "310115121", "310115121020", "310115121006"
LEAK, PARKING = "house_leak", "illegal_parking"
FIRST_MONDAY = date(2022, 1, 3)  # 2022-W01
WEEKS = 24

ActorFor = Callable[[str], Actor]
Login = Callable[[str], dict[str, str]]


class _Ask(TypedDict):
    """The keyword arguments of one forecast question."""

    actor: Actor
    by: Grouping
    weeks: int


def local(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=SHANGHAI)


def add_case(session: Session, category: str, community: str, received: datetime) -> None:
    at = received.astimezone(UTC)
    session.add(
        Case(
            kind="hotline",
            source="12345",
            token=secrets.token_hex(8),
            category_code=category,
            content="测试工单",
            jurisdiction_code=community,
            jurisdiction_path=f"{TOWN}/{community}/",
            community_code=community,
            state="received",
            received_at=at,
            due_at=at + timedelta(days=5),
            original_due_at=at + timedelta(days=5),
        )
    )


def add_week(session: Session, week: int, category: str, community: str, count: int) -> None:
    """``count`` cases on the weekdays of week ``week`` (0 = 2022-W01), mid-morning."""
    monday = FIRST_MONDAY + timedelta(weeks=week)
    for i in range(count):
        add_case(session, category, community, local(monday + timedelta(days=i % 5), 10, i % 60))


@pytest.fixture
def town_cases(session: Session) -> None:
    """24 weeks: leaks in 南新 steady at 10, then 30 a week; parking in 华高 steady at 8.

    The last case is on Sunday evening of week 24, so every week is complete.
    """
    for week in range(WEEKS):
        add_week(session, week, LEAK, NANXIN, 10 if week < WEEKS - 3 else 30)
        add_week(session, week, PARKING, HUAGAO, 8)
    last_sunday = FIRST_MONDAY + timedelta(weeks=WEEKS - 1, days=6)
    add_case(session, PARKING, HUAGAO, local(last_sunday, 21))
    session.flush()


@pytest.fixture
def forecast_client(app: Any, client: TestClient) -> TestClient:
    """The client, with the forecast routes included if app.py does not include them yet."""
    if not any(getattr(r, "path", "").startswith("/api/v1/forecasts") for r in app.routes):
        app.include_router(router)
    return client


def test_cases_are_binned_in_local_iso_weeks(session: Session) -> None:
    sunday = date(2022, 1, 9)
    add_case(session, LEAK, NANXIN, local(sunday - timedelta(days=6), 9))  # Monday W01
    add_case(session, LEAK, NANXIN, local(sunday, 23, 30))  # 15:30 UTC, still W01
    add_case(session, LEAK, NANXIN, local(sunday + timedelta(days=1), 0, 10))  # Sunday UTC
    add_case(session, LEAK, NANXIN, local(sunday + timedelta(days=7), 12))  # Sunday W02
    session.flush()
    log = read_cases(session)
    assert sorted(r.day for r in log.requests)[1:3] == [sunday, sunday + timedelta(days=1)]
    series = build_series(log, Grouping.category, min_weekly=0)
    assert [iso_label(w) for w in series.weeks] == ["2022-W01", "2022-W02"]
    assert series.series[0].counts.tolist() == [2.0, 2.0]
    assert series.series[0].name == "房屋渗漏"


def test_forecasts_per_category_carry_names_methods_and_intervals(
    session: Session, actor: ActorFor, town_cases: None
) -> None:
    result = forecast_cases(session, actor=actor("leader"), by=Grouping.category, weeks=2)
    assert result.last_week == "2022-W24" and result.interval == 0.8
    by_code = {item.category: item for item in result.items}
    assert set(by_code) == {LEAK, PARKING}
    parking = by_code[PARKING]
    assert parking.category_name == "乱停车、占用消防通道" and parking.community is None
    assert parking.method == "uc_level" and parking.history_weeks == WEEKS
    assert [p.week for p in parking.points] == ["2022-W25", "2022-W26"]
    for point in parking.points:
        assert point.lower <= point.expected <= point.upper
        assert 6 <= point.expected <= 10
    assert by_code[LEAK].points[0].expected > 20


def test_a_surge_in_one_category_and_community_is_suggested_with_a_reason(
    session: Session, actor: ActorFor, town_cases: None
) -> None:
    found = suggest_for_cases(session, actor=actor("duty"))
    assert found.last_week == "2022-W24"
    assert {(s.category, s.community) for s in found.items} == {
        (LEAK, None),
        (None, NANXIN),
        (LEAK, NANXIN),
    }
    leak = next(s for s in found.items if s.category == LEAK and s.community is None)
    assert leak.week == "2022-W25" and leak.normal == 10
    assert leak.expected > 20 and leak.trigger == "above_k_sd"
    assert "房屋渗漏" in leak.reason_zh and "未呼先应" in leak.reason_zh


def test_as_of_forecasts_from_the_cases_of_earlier_days_only(
    session: Session, actor: ActorFor, town_cases: None
) -> None:
    before_surge = FIRST_MONDAY + timedelta(weeks=WEEKS - 3)
    found = suggest_for_cases(session, actor=actor("duty"), as_of=before_surge)
    assert found.last_week == "2022-W21"
    assert found.items == []


def test_a_new_case_refreshes_the_forecasts_cached_for_the_same_question(
    session: Session, actor: ActorFor, town_cases: None
) -> None:
    ask: _Ask = {"actor": actor("duty"), "by": Grouping.total, "weeks": 1}
    first = forecast_cases(session, **ask)
    assert forecast_cases(session, **ask) is first  # unchanged cases: the cached answer
    add_week(session, WEEKS, PARKING, HUAGAO, 8)
    add_case(session, PARKING, HUAGAO, local(FIRST_MONDAY + timedelta(weeks=WEEKS, days=6), 9))
    session.flush()
    again = forecast_cases(session, **ask)
    assert (first.last_week, again.last_week) == ("2022-W24", "2022-W25")


def test_only_the_town_wide_staff_may_read_forecasts(
    session: Session, actor: ActorFor, town_cases: None
) -> None:
    for username in ("resident_a", "housing", "nanxin"):
        with pytest.raises(Forbidden):
            forecast_cases(session, actor=actor(username), by=Grouping.category, weeks=1)


def test_the_api_serves_forecasts_with_intervals(
    forecast_client: TestClient, login: Login, town_cases: None
) -> None:
    r = forecast_client.get(
        "/api/v1/forecasts", params={"by": "community", "weeks": 4}, headers=login("dispatcher")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["by"] == "community" and body["weeks"] == 4
    assert body["last_week"] == "2022-W24"
    assert {item["community"] for item in body["items"]} == {NANXIN, HUAGAO}
    item = body["items"][0]
    assert {"name", "method", "note", "normal", "normal_sd", "points"} <= set(item)
    assert len(item["points"]) == 4
    assert {"week", "start", "end", "expected", "lower", "upper"} <= set(item["points"][0])


def test_the_api_serves_suggestions(
    forecast_client: TestClient, login: Login, town_cases: None
) -> None:
    r = forecast_client.get(
        "/api/v1/forecasts/suggestions", params={"by": "category"}, headers=login("leader")
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert [(s["category"], s["week"]) for s in body["items"]] == [(LEAK, "2022-W25")]
    assert body["items"][0]["reason_zh"].startswith("预计2022-W25")
    assert "median" in body["rules"]


@pytest.mark.parametrize("username", ["resident_a", "housing"])
def test_the_api_refuses_residents_and_handlers_with_a_structured_403(
    forecast_client: TestClient, login: Login, username: str
) -> None:
    for path in ("/api/v1/forecasts", "/api/v1/forecasts/suggestions"):
        r = forecast_client.get(path, headers=login(username))
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "forbidden"


def test_the_api_needs_a_token_and_refuses_bad_parameters(
    forecast_client: TestClient, login: Login
) -> None:
    assert forecast_client.get("/api/v1/forecasts").status_code == 401
    bad = forecast_client.get(
        "/api/v1/forecasts", params={"by": "department", "weeks": 0}, headers=login("admin")
    )
    assert bad.status_code == 422
    fields = {p["field"] for p in bad.json()["error"]["details"]["problems"]}
    assert fields == {"query.by", "query.weeks"}


def test_with_no_cases_the_api_says_so(forecast_client: TestClient, login: Login) -> None:
    r = forecast_client.get("/api/v1/forecasts", headers=login("admin"))
    assert r.status_code == 422
    assert r.json()["error"]["message"] == "there are no cases to forecast from"


# --------------------------------------------------------------------------- CLI


@pytest.fixture
def cli(monkeypatch: pytest.MonkeyPatch, connection: Connection) -> Iterator[Callable[..., Any]]:
    """Runs ``townops forecast`` on the test's own connection, so it sees the test's cases."""
    monkeypatch.setattr("townops.cli.forecast.engine_for", lambda _settings: connection)
    runner = CliRunner()

    def run(*args: str) -> Any:
        return runner.invoke(forecast_app, list(args))

    yield run


def test_the_cli_backtests_the_database_and_ends_with_the_figures(
    cli: Callable[..., Any], town_cases: None
) -> None:
    result = cli("backtest", "db", "--by", "total", "--weeks", "6")
    assert result.exit_code == 0, result.output
    last = result.stdout.strip().splitlines()[-1]
    assert last.startswith("model_mape=") and " naive_mape=" in last
    assert "series=1 points=6" in last and "season=1" in last
    assert "2022-W19–2022-W24" in result.stdout


def test_the_cli_prints_suggestions_as_json(cli: Callable[..., Any], town_cases: None) -> None:
    result = cli("suggest", "db", "--by", "category", "--format", "json")
    assert result.exit_code == 0, result.output
    body = json.loads(result.stdout)
    assert [s["category"] for s in body["items"]] == [LEAK]


def test_the_cli_backtests_a_csv_file(cli: Callable[..., Any], tmp_path: Path) -> None:
    rows = ["unique_key,created_date,complaint_type,borough"]
    start = date(2021, 1, 4)
    for day in range(7 * 30):
        when = start + timedelta(days=day)
        for i in range(3 + day % 3):
            rows.append(f"{day}{i},{when:%m/%d/%Y} 0{1 + i}:15:00 PM,Noise,QUEENS")
    path = tmp_path / "nyc.csv"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    result = cli("backtest", str(path), "--by", "community", "--horizon", "4", "--weeks", "8")
    assert result.exit_code == 0, result.output
    assert "QUEENS" in result.stdout
    assert result.stdout.strip().splitlines()[-1].startswith("model_mape=")


def test_the_cli_reports_a_file_it_cannot_read(cli: Callable[..., Any], tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n", encoding="utf-8")
    result = cli("backtest", str(path))
    assert result.exit_code == 1
    assert "cannot tell the format" in result.output
