"""The demo year: a simulated year (2022 replayed, or the year up to now) that goes through
the real case engine, reproducibly."""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from collections.abc import Iterator
from contextlib import closing
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from townops.access.actor import Role
from townops.cases.enums import Rating, State
from townops.cases.models import Case, CaseEvent, Extension, Summons
from townops.cli.main import app
from townops.db import make_engine
from townops.deadlines import WorkingCalendar
from townops.demo.scenario import draw_arrivals, spring_festival_days
from townops.demo.simulate import DemoParams, SimulationReport, simulate_year
from townops.demo.summary import year_figures
from townops.demo.year import DemoYear
from townops.dispatch.models import RoutingDecision, TrainingExample
from townops.timeutil import SHANGHAI
from townops.townfiles.loader import default_town_dir, load_town

SMALL = DemoParams(seed=7, cases=300)


@pytest.fixture(scope="module")
def year(engine: Engine) -> Iterator[tuple[Session, SimulationReport]]:
    """One small simulated year for the whole module, rolled back at its end.

    Like the ``session`` fixture, but module-wide so the year is simulated once.
    """
    connection = engine.connect()
    transaction = connection.begin()
    session = Session(
        bind=connection, join_transaction_mode="create_savepoint", expire_on_commit=False
    )
    report = simulate_year(session, SMALL)
    yield session, report
    session.close()
    transaction.rollback()
    connection.close()


def _cases(session: Session) -> list[Case]:
    return list(session.scalars(select(Case).order_by(Case.external_id)))


def test_the_year_receives_every_call_as_a_2022_hotline_case(
    year: tuple[Session, SimulationReport],
) -> None:
    session, report = year
    cases = _cases(session)
    assert report.cases == len(cases) == SMALL.cases
    assert {(c.kind, c.source) for c in cases} == {("hotline", "12345")}
    assert len({c.external_id for c in cases}) == SMALL.cases
    assert all(c.external_id and c.external_id.startswith("GH2022") for c in cases)
    assert {c.received_at.astimezone(SHANGHAI).year for c in cases} == {2022}
    assert all(c.community_code and c.jurisdiction_code and c.content and c.address for c in cases)
    assert all(c.requester_phone.isdigit() and len(c.requester_phone) == 11 for c in cases)


def test_every_case_history_runs_forward_in_time(year: tuple[Session, SimulationReport]) -> None:
    session, _ = year
    received = {i: at for i, at in session.execute(select(Case.id, Case.received_at))}
    last: dict[int, Any] = {}
    for case_id, action, at in session.execute(
        select(CaseEvent.case_id, CaseEvent.action, CaseEvent.at).order_by(CaseEvent.id)
    ):
        if case_id not in last:
            assert action == "create" and at == received[case_id]
        else:
            assert at >= last[case_id], f"case {case_id}: {action} at {at} before {last[case_id]}"
        last[case_id] = at
    assert set(last) == set(received)


def test_the_closed_loop_has_returns_extensions_reopenings_and_supervision(
    year: tuple[Session, SimulationReport],
) -> None:
    session, _ = year
    cases = _cases(session)
    assert any(c.return_count for c in cases)
    assert any(c.extension_count for c in cases)
    assert any(c.reopen_count for c in cases)
    assert any(c.supervision_count for c in cases)
    assert (session.scalar(select(func.count()).select_from(Extension)) or 0) > 0
    # Every whistled department reported in.
    summonses = list(session.scalars(select(Summons)))
    assert all(s.reported_in_at is not None for s in summonses)


def test_closed_cases_are_on_time_and_satisfied(year: tuple[Session, SimulationReport]) -> None:
    session, _ = year
    closed = [c for c in _cases(session) if c.state == State.closed]
    assert len(closed) >= 0.95 * SMALL.cases
    assert sum(not c.breached for c in closed) / len(closed) >= 0.95
    rated = [c for c in closed if c.rating]
    assert len(rated) >= 0.9 * len(closed)
    satisfied = {Rating.satisfied.value, Rating.basically_satisfied.value}
    assert sum(c.rating in satisfied for c in rated) / len(rated) >= 0.9


def test_each_action_is_taken_by_a_role_that_may_take_it(
    year: tuple[Session, SimulationReport],
) -> None:
    session, _ = year
    roles: dict[str, set[str]] = {}
    for action, role in session.execute(select(CaseEvent.action, CaseEvent.actor_role).distinct()):
        roles.setdefault(action, set()).add(role)
    assert roles["create"] == roles["dispatch"] == roles["callback"] == {Role.dispatcher.value}
    assert roles["accept"] == roles["resolve"] == roles["first_contact"] == {Role.handler.value}
    assert roles["approve_extension"] == {Role.duty_officer.value}
    # Automatic follow-ups (close after a good callback, reopen after a bad one) and the
    # overdue sweep's supervision are the system's.
    assert roles["supervise"] <= {Role.leader.value, Role.admin.value}
    assert roles["reopen"] == {Role.admin.value}
    if "whistle" in roles:
        assert roles["whistle"] == {Role.community_staff.value}
        assert roles["report_in"] == {Role.handler.value}


def test_the_summary_is_computed_from_the_recorded_year(
    year: tuple[Session, SimulationReport],
) -> None:
    session, report = year
    figures = year_figures(session)
    states = Counter(session.scalars(select(Case.state)))
    assert figures.received == figures.cases == SMALL.cases
    assert figures.closed == states[State.closed]
    assert figures.still_open == SMALL.cases - states[State.closed]
    assert figures.events == session.scalar(select(func.count()).select_from(CaseEvent))
    assert figures.reopens == figures.callbacks_dissatisfied
    assert figures.on_time_rate is not None and figures.on_time_rate >= 0.95
    assert figures.callback_satisfaction_rate is not None
    assert figures.callback_satisfaction_rate >= 0.88
    assert figures.automatic_supervisions == report.overdue_marked


def _without_ids(data: dict[str, Any]) -> dict[str, Any]:
    # Row ids come from the database (PostgreSQL sequences do not roll back), not the seed.
    return {k: v for k, v in data.items() if not k.endswith("_id")}


def _snapshot(session: Session) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    for case in _cases(session):
        extensions = session.execute(
            select(
                Extension.status,
                Extension.working_days,
                Extension.reason,
                Extension.requested_at,
                Extension.decided_at,
                Extension.new_due_at,
            )
            .where(Extension.case_id == case.id)
            .order_by(Extension.id)
        )
        events = session.execute(
            select(
                CaseEvent.action,
                CaseEvent.from_state,
                CaseEvent.to_state,
                CaseEvent.at,
                CaseEvent.actor_name,
                CaseEvent.department_code,
                CaseEvent.comment,
                CaseEvent.data,
            )
            .where(CaseEvent.case_id == case.id)
            .order_by(CaseEvent.id)
        )
        rows.append(
            (
                case.external_id,
                case.token,
                case.category_code,
                case.content,
                case.address,
                case.lat,
                case.lon,
                case.jurisdiction_code,
                case.requester_name,
                case.requester_phone,
                case.state,
                case.version,
                case.received_at,
                case.due_at,
                case.closed_at,
                case.rating,
                case.reply,
                case.breached,
                [(*e[:-1], _without_ids(e[-1])) for e in events],
                [tuple(e) for e in extensions],
            )
        )
    return rows


def test_the_same_seed_builds_the_same_year(year: tuple[Session, SimulationReport]) -> None:
    session, _ = year
    first = _snapshot(session)
    for model in (CaseEvent, Extension, Summons, TrainingExample, RoutingDecision, Case):
        session.execute(delete(model))
    session.expunge_all()
    simulate_year(session, SMALL)
    assert _snapshot(session) == first


def test_calls_follow_the_week_the_festival_and_the_lockdown() -> None:
    codes = [c.code for c in load_town(default_town_dir()).categories]
    arrivals = draw_arrivals(
        random.Random(1), 11_097, codes, WorkingCalendar(), DemoYear.calendar_year(2022)
    )
    local = [(a.received_at.astimezone(SHANGHAI), a.category) for a in arrivals]
    per_day = Counter(t.date() for t, _ in local)
    weekdays = [per_day[d] for d in per_day if d.weekday() < 5 and d.month in (3, 10, 11)]
    weekends = [per_day[d] for d in per_day if d.weekday() >= 5 and d.month in (3, 10, 11)]
    assert sum(weekdays) / len(weekdays) > 1.2 * sum(weekends) / len(weekends)
    festival_days = sorted(d for d in spring_festival_days() if d.year == 2022)
    assert (festival_days[0], festival_days[-1]) == (date(2022, 1, 31), date(2022, 2, 6))
    festival = [per_day[d] for d in festival_days]
    assert sum(festival) / 7 < 0.7 * len(local) / 365
    epidemic = Counter(t.month for t, code in local if code == "health_consultation")
    assert epidemic[4] > 3 * epidemic[1]
    assert sum(8 <= t.hour < 21 for t, _ in local) / len(local) > 0.85
    assert [a.received_at for a in arrivals] == sorted(a.received_at for a in arrivals)
    assert {t.year for t, _ in local} == {2022} and min(per_day) >= date(2022, 1, 1)


def test_the_demo_command_builds_the_year_and_prints_its_figures(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--db", str(db), "--cases", "200"])
    assert result.exit_code == 0, result.output
    assert "按时办结率" in result.output and "满意率" in result.output
    assert "received" in result.output and "still open at the end" in result.output
    again = CliRunner().invoke(app, ["demo", "--no-serve", "--db", str(db), "--cases", "5"])
    assert again.exit_code == 0, again.output
    assert "removed the old demo database" in again.output


def test_the_demo_command_will_not_delete_a_file_that_is_not_a_database(tmp_path: Path) -> None:
    notes = tmp_path / "notes.txt"
    notes.write_text("not a database")
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--db", str(notes)])
    assert result.exit_code == 1
    assert notes.read_text() == "not a database"


def test_the_demo_command_will_not_replace_a_database_with_real_cases(tmp_path: Path) -> None:
    db = tmp_path / "townops.db"
    url = f"sqlite:///{db}"
    assert CliRunner().invoke(app, ["town", "load", "--database-url", url]).exit_code == 0
    engine = make_engine(url)
    with Session(engine) as session:
        session.add(
            Case(
                kind="hotline",
                source="12345",
                token="REAL000001",
                category_code="house_leak",
                content="真实工单",
                state="received",
                received_at=date_time(),
                due_at=date_time(),
                original_due_at=date_time(),
            )
        )
        session.commit()
    engine.dispose()
    result = CliRunner().invoke(app, ["demo", "--no-serve", "--db", str(db), "--cases", "5"])
    assert result.exit_code == 1 and "did not create" in result.output
    with closing(sqlite3.connect(db)) as conn:
        assert conn.execute("SELECT content FROM cases").fetchall() == [("真实工单",)]


def test_other_commands_use_the_demo_database_by_default(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from townops.settings import get_settings

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TOWNOPS_DATABASE_URL", raising=False)
    get_settings.cache_clear()
    try:
        built = CliRunner().invoke(app, ["demo", "--no-serve", "--cases", "5"])
        assert built.exit_code == 0, built.output
        key = CliRunner().invoke(app, ["api-key", "create", "checker"])
        assert key.exit_code == 0 and key.output.strip().startswith("to_")
    finally:
        get_settings.cache_clear()
    assert (tmp_path / "var" / "townops.db").exists()


def date_time() -> datetime:
    return datetime(2022, 5, 1, 9, tzinfo=SHANGHAI)


def test_the_demo_command_replays_a_past_year_and_refuses_one_not_over(tmp_path: Path) -> None:
    db = tmp_path / "demo.db"
    args = ["demo", "--no-serve", "--db", str(db), "--cases", "30"]
    replay = CliRunner().invoke(app, [*args, "--year", "2022"])
    assert replay.exit_code == 0, replay.output
    assert "12345 热线 2022 (simulated)" in replay.output
    with closing(sqlite3.connect(db)) as conn:
        span = "SELECT min(received_at), max(received_at) FROM cases"
        first, last = conn.execute(span).fetchone()
    assert first >= "2021-12-31 16:00" and last < "2022-12-31 16:00"
    future = CliRunner().invoke(app, [*args, "--year", str(datetime.now(UTC).year)])
    assert future.exit_code != 0 and "not over yet" in future.output
