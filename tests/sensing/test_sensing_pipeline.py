"""process_readings, alarms and their cases, storm control, the offline sweep."""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import Engine, func, select, text
from sqlalchemy.orm import Session

from tests import factories, own_database
from townops.access.actor import Actor
from townops.auth.models import AuditEntry
from townops.cases.models import Case
from townops.errors import IllegalTransition, InvalidInput
from townops.sensing.alarms.lifecycle import acknowledge_alarm, mark_false_alarm
from townops.sensing.alarms.rules import RuleEvent, evaluate
from townops.sensing.alarms.sweep import sweep_offline
from townops.sensing.devices.facts import DeviceInfo, forget_devices
from townops.sensing.ingest.messages import IncomingReading
from townops.sensing.ingest.pipeline import (
    INGEST_GC_THRESHOLDS,
    BatchResult,
    _plan,
    _RuleBook,
    _sqlite_time,
    _StateRow,
    process_readings,
    tune_gc_for_ingestion,
)
from townops.sensing.models import Alarm, Device, DeviceState, Reading
from townops.townfiles.loader import default_town_dir, load_town

NANXIN = "310115121020"  # 南新居委会
DONGGOU = "310115121001"  # 东沟一居委会
T0 = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
RACE_DATABASE = "townops_test_alarms"  # this file's own PostgreSQL database


@pytest.fixture(autouse=True)
def fresh_device_cache(session: Session) -> Iterator[None]:
    # Each test rolls its devices back: the process-wide cache must not outlive them.
    forget_devices(session)
    yield
    forget_devices(session)


def add_device(
    session: Session,
    device_id: str,
    device_type: str,
    *,
    code: str = NANXIN,
    building: str = "",
    household: bool = False,
    active: bool = True,
    created_at: datetime = T0 - timedelta(days=1),
) -> Device:
    """tests/factories.py's device, of model M1, registered the day before T0 (the offline
    sweep counts from then), its address in ``building`` (the storm tests group by it)."""
    return factories.add_device(
        session,
        device_id,
        device_type,
        code,
        household=household,
        model="M1",
        address=f"{building or '某路'}1号",
        building=building,
        active=active,
        created_at=created_at,
        updated_at=created_at,
    )


def reading(device_id: str, seq: int, seconds: float, **values: float) -> IncomingReading:
    ts = T0 + timedelta(seconds=seconds)
    return IncomingReading(device_id, seq, ts, values, received_at=ts)


def feed(session: Session, *readings: IncomingReading, at: float = 0) -> BatchResult:
    return process_readings(session, list(readings), now=T0 + timedelta(seconds=at))


def alarms_of(session: Session, device_id: str) -> list[Alarm]:
    stmt = select(Alarm).where(Alarm.device_id == device_id).order_by(Alarm.id)
    return list(session.scalars(stmt.execution_options(populate_existing=True)))


def state_of(session: Session, device_id: str) -> DeviceState:
    found = session.scalars(
        select(DeviceState)
        .where(DeviceState.device_id == device_id)
        .execution_options(populate_existing=True)
    ).one()
    return found


# --- storing -------------------------------------------------------------------------------


def test_a_reading_delivered_twice_in_one_batch_or_across_batches_is_stored_once(
    session: Session,
) -> None:
    add_device(session, "SM-1", "smoke_detector")
    first = feed(session, reading("SM-1", 1, 0, smoke=0.01), reading("SM-1", 1, 0, smoke=0.01))
    again = feed(session, reading("SM-1", 1, 0, smoke=0.01), reading("SM-1", 2, 30, smoke=0.02))
    assert (first.stored, first.duplicates) == (1, 1)
    assert (again.stored, again.duplicates) == (1, 1)
    count = session.scalar(select(func.count()).where(Reading.device_id == "SM-1"))
    assert count == 2
    assert state_of(session, "SM-1").readings_count == 2


def test_state_keeps_the_newest_values_merged(session: Session) -> None:
    add_device(session, "SM-1", "smoke_detector")
    feed(session, reading("SM-1", 1, 0, smoke=0.01, battery=90))
    feed(session, reading("SM-1", 2, 30, smoke=0.02), at=30)
    state = state_of(session, "SM-1")
    assert state.values == {"smoke": 0.02, "battery": 90}
    assert (state.last_seq, state.last_ts, state.last_seen) == (
        2,
        T0 + timedelta(seconds=30),
        T0 + timedelta(seconds=30),
    )


def test_a_late_reading_is_stored_and_raises_only_a_threshold_alarm(session: Session) -> None:
    # Two ingesters on a shared subscription can commit a device's readings out of order.
    add_device(session, "GAS-1", "gas_alarm")
    add_device(session, "WATER-1", "water_level_sensor")
    feed(session, reading("GAS-1", 2, 60, gas_lel=1), reading("WATER-1", 2, 60, water_level=0))
    late = feed(
        session,
        reading("GAS-1", 1, 30, gas_lel=50),  # a leak, judged late: still raised
        reading("WATER-1", 1, 30, water_level=9),  # a rate rule cannot judge it out of order
        at=70,
    )
    assert (late.stored, late.late) == (2, 2)
    [alarm] = alarms_of(session, "GAS-1")
    assert late.alarms_raised == [alarm.id] and alarm.rule_id == "gas_leak"
    assert alarms_of(session, "WATER-1") == []
    state = state_of(session, "GAS-1")
    assert (state.last_seq, state.values["gas_lel"], state.readings_count) == (2, 1, 2)
    # The device's next reading in order, back to normal, clears it.
    cleared = feed(session, reading("GAS-1", 3, 90, gas_lel=1), at=95)
    assert cleared.alarms_cleared == [alarm.id]
    # A late normal reading changes nothing.
    again = feed(session, reading("GAS-1", 0, 10, gas_lel=0), at=100)
    assert (again.late, again.alarms_raised, again.alarms_cleared) == (1, [], [])


def test_readings_of_a_batch_are_judged_in_time_order(session: Session) -> None:
    add_device(session, "GAS-1", "gas_alarm")
    # Arrives newest first: 12 at t=10, then back to 1 at t=20 → raised, then cleared.
    result = feed(session, reading("GAS-1", 2, 20, gas_lel=1), reading("GAS-1", 1, 10, gas_lel=12))
    assert len(result.alarms_raised) == 1
    assert result.alarms_cleared == result.alarms_raised
    assert state_of(session, "GAS-1").last_seq == 2


def test_unknown_and_inactive_devices_are_reported_by_index(session: Session) -> None:
    add_device(session, "SM-1", "smoke_detector")
    add_device(session, "SM-OFF", "smoke_detector", active=False)
    result = feed(
        session,
        reading("NOPE", 1, 0, smoke=0.01),
        reading("SM-1", 1, 0, smoke=0.01),
        reading("SM-OFF", 1, 0, smoke=0.01),
    )
    assert result.unknown == [(0, "unknown_device"), (2, "inactive_device")]
    assert result.stored == 1
    assert session.scalar(select(func.count()).where(Reading.device_id != "SM-1")) == 0


# --- alarms and their cases -----------------------------------------------------------------


def case_of(session: Session, case_id: int) -> Case:
    return session.scalars(
        select(Case).where(Case.id == case_id).execution_options(populate_existing=True)
    ).one()


def test_gas_in_an_elderly_home_opens_a_case_for_the_community_with_the_household(
    session: Session,
) -> None:
    add_device(session, "GAS-H", "gas_alarm", household=True)
    result = feed(session, reading("GAS-H", 1, 0, gas_lel=12.0, battery=80))
    [alarm] = alarms_of(session, "GAS-H")
    assert result.alarms_raised == [alarm.id]
    assert result.cases_opened == [alarm.case_id]
    assert alarm.state == "raised"
    assert alarm.open_key == "GAS-H/gas_leak"
    assert alarm.message == "可燃气体浓度 12.0 %LEL 超过 10"
    case = case_of(session, result.cases_opened[0])
    assert (case.kind, case.source, case.external_id) == ("iot_alarm", "iot", f"alarm-{alarm.id}")
    assert case.category_code == "iot_gas_alarm_home"
    assert (case.state, case.assignee_community_code, case.department_code) == (
        "dispatched",
        NANXIN,
        None,
    )
    assert (case.requester_name, case.requester_phone) == ("张阿婆", "13912345678")
    assert case.jurisdiction_code == NANXIN
    assert case.due_at - case.received_at == timedelta(minutes=15)
    assert "GAS-H" in case.content and "13912345678" not in case.content


def test_a_fire_alarm_is_dispatched_to_the_safety_office(session: Session) -> None:
    add_device(session, "SM-1", "smoke_detector", building="5号楼")
    result = feed(session, reading("SM-1", 1, 0, smoke=0.3))
    case = case_of(session, result.cases_opened[0])
    assert case.category_code == "iot_fire_alarm"
    assert (case.state, case.department_code) == ("dispatched", "safety_office")
    assert case.requester_phone == ""


def test_smoke_in_three_detectors_of_one_building_within_a_minute_is_one_case(
    session: Session,
) -> None:
    for n in (1, 2, 3):
        add_device(session, f"SM-{n}", "smoke_detector", building="高行家园5号楼")
    add_device(session, "SM-X", "smoke_detector", building="高行家园6号楼")
    opened = []
    for n, at in ((1, 0), (2, 20), (3, 40)):
        opened += feed(session, reading(f"SM-{n}", 1, at, smoke=0.3), at=at).cases_opened
    elsewhere = feed(session, reading("SM-X", 1, 45, smoke=0.3), at=45)
    assert len(opened) == 1
    alarms = [a for n in (1, 2, 3) for a in alarms_of(session, f"SM-{n}")]
    assert [a.case_id for a in alarms] == [opened[0]] * 3
    assert elsewhere.cases_opened and elsewhere.cases_opened != opened


def test_storm_window_passed_opens_a_new_case(session: Session) -> None:
    for n in (1, 2):
        add_device(session, f"SM-{n}", "smoke_detector", building="5号楼")
    first = feed(session, reading("SM-1", 1, 0, smoke=0.3))
    later = feed(session, reading("SM-2", 1, 300, smoke=0.3), at=300)
    assert first.cases_opened and later.cases_opened
    assert first.cases_opened != later.cases_opened


def test_an_info_alarm_is_listed_without_a_case(session: Session) -> None:
    add_device(session, "GAS-1", "gas_alarm")
    result = feed(session, reading("GAS-1", 1, 0, gas_lel=0.5, battery=12))
    [alarm] = alarms_of(session, "GAS-1")
    assert (alarm.rule_id, alarm.severity, alarm.case_id) == ("low_battery", "info", None)
    assert result.alarms_raised == [alarm.id] and result.cases_opened == []


def test_alarm_clears_only_when_readings_return_past_the_clear_line(session: Session) -> None:
    add_device(session, "GAS-1", "gas_alarm")
    raised = feed(session, reading("GAS-1", 1, 0, gas_lel=12))
    hovering = feed(
        session, reading("GAS-1", 2, 30, gas_lel=8), reading("GAS-1", 3, 60, gas_lel=11)
    )
    cleared = feed(session, reading("GAS-1", 4, 90, gas_lel=4), at=90)
    assert hovering.alarms_raised == [] and hovering.alarms_cleared == []
    assert cleared.alarms_cleared == raised.alarms_raised
    [alarm] = alarms_of(session, "GAS-1")
    assert (alarm.state, alarm.open_key) == ("cleared", None)
    assert alarm.cleared_at == alarm.closed_at == T0 + timedelta(seconds=90)


def test_held_rule_state_carries_across_batches(session: Session) -> None:
    add_device(session, "EF-1", "electrical_fire_monitor")
    first = feed(session, reading("EF-1", 1, 0, residual_current=320))
    second = feed(session, reading("EF-1", 2, 60, residual_current=330), at=60)
    assert first.alarms_raised == []
    [alarm] = alarms_of(session, "EF-1")
    assert second.alarms_raised == [alarm.id]
    assert alarm.message == "剩余电流 330.0 mA 超过 300，持续 60 秒以上"


def test_false_alarm_closes_it_with_a_note_and_the_audit_trail(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    add_device(session, "GAS-1", "gas_alarm")
    feed(session, reading("GAS-1", 1, 0, gas_lel=12))
    [alarm] = alarms_of(session, "GAS-1")
    with pytest.raises(InvalidInput):
        mark_false_alarm(session, actor=actor("duty"), alarm_id=alarm.id, note=" ", now=T0)
    mark_false_alarm(session, actor=actor("duty"), alarm_id=alarm.id, note="现场无异味", now=T0)
    [alarm] = alarms_of(session, "GAS-1")
    assert (alarm.state, alarm.open_key, alarm.closed_by, alarm.note) == (
        "false_alarm",
        None,
        "duty",
        "现场无异味",
    )
    audit = session.scalars(select(AuditEntry).where(AuditEntry.target == f"alarm:{alarm.id}"))
    assert [(a.actor, a.action) for a in audit] == [("duty", "alarm.false_alarm")]
    # The value stays high: no new alarm; back to normal and up again: a new one.
    assert feed(session, reading("GAS-1", 2, 30, gas_lel=13), at=30).alarms_raised == []
    feed(session, reading("GAS-1", 3, 60, gas_lel=1), at=60)
    assert len(feed(session, reading("GAS-1", 4, 90, gas_lel=14), at=90).alarms_raised) == 1


def test_acknowledge_once(session: Session, actor: Callable[[str], Actor]) -> None:
    # In a home: its case goes to the community, so `nanxin` is the unit in charge.
    add_device(session, "GAS-1", "gas_alarm", household=True)
    feed(session, reading("GAS-1", 1, 0, gas_lel=12))
    [alarm] = alarms_of(session, "GAS-1")
    acknowledge_alarm(session, actor=actor("nanxin"), alarm_id=alarm.id, now=T0)
    with pytest.raises(IllegalTransition):
        acknowledge_alarm(session, actor=actor("duty"), alarm_id=alarm.id, now=T0)
    [alarm] = alarms_of(session, "GAS-1")
    assert (alarm.state, alarm.acknowledged_by, alarm.acknowledged_at) == (
        "acknowledged",
        "nanxin",
        T0,
    )
    # An acknowledged alarm still clears by itself.
    assert feed(session, reading("GAS-1", 2, 30, gas_lel=1), at=30).alarms_cleared == [alarm.id]


# --- offline sweep -------------------------------------------------------------------------


def test_sweep_raises_offline_alarms_once_and_a_reading_clears_them(session: Session) -> None:
    add_device(session, "SM-HEARD", "smoke_detector")  # heartbeat 3600 s × 3 missed
    add_device(session, "SM-NEVER", "smoke_detector")  # registered a day ago, never heard
    add_device(session, "SM-FRESH", "smoke_detector")
    feed(session, reading("SM-HEARD", 1, 0, smoke=0.01))
    now = T0 + timedelta(hours=4)
    feed(session, reading("SM-FRESH", 1, 4 * 3600, smoke=0.01), at=4 * 3600)
    report = sweep_offline(session, now=now)
    assert report.devices_offline == ["SM-HEARD", "SM-NEVER"]
    assert len(report.alarms_raised) == 2 and report.cases_opened == []
    assert state_of(session, "SM-HEARD").offline_since == now
    [alarm] = alarms_of(session, "SM-HEARD")
    assert (alarm.rule_id, alarm.kind, alarm.state) == ("heartbeat_lost", "offline", "raised")
    assert "未收到数据" in alarm.message
    again = sweep_offline(session, now=now + timedelta(hours=1))
    assert again.devices_offline == [] and again.alarms_raised == []
    back = feed(session, reading("SM-HEARD", 2, 5 * 3600, smoke=0.01), at=5 * 3600)
    assert back.alarms_cleared == [alarm.id]
    assert state_of(session, "SM-HEARD").offline_since is None
    first = feed(session, reading("SM-NEVER", 1, 5 * 3600, smoke=0.01), at=5 * 3600)
    assert len(first.alarms_cleared) == 1


def test_a_silent_gas_alarm_in_a_home_opens_a_case_for_the_community(session: Session) -> None:
    add_device(session, "GAS-H", "gas_alarm", household=True)  # heartbeat 600 s × 3
    feed(session, reading("GAS-H", 1, 0, gas_lel=0.5))
    report = sweep_offline(session, now=T0 + timedelta(minutes=31))
    assert report.devices_offline == ["GAS-H"]
    case = case_of(session, report.cases_opened[0])
    assert (case.category_code, case.assignee_community_code) == ("iot_device_offline", NANXIN)
    [alarm] = alarms_of(session, "GAS-H")
    assert (alarm.rule_id, alarm.severity, alarm.case_id) == (
        "gas_alarm_offline",
        "warning",
        case.id,
    )


def test_sweep_leaves_inactive_and_recent_devices_alone(session: Session) -> None:
    add_device(session, "SM-OFF", "smoke_detector", active=False)
    add_device(session, "SM-NEW", "smoke_detector", created_at=T0)
    report = sweep_offline(session, now=T0 + timedelta(hours=1))
    assert report.devices_offline == []


# --- two ingesters -----------------------------------------------------------------------


@pytest.fixture
def own_engine(engine: Engine, tmp_path: Path) -> Iterator[Engine]:
    """A database of this test's own, where sessions commit (SQLite file / PostgreSQL)."""
    with own_database.own_engine(engine, tmp_path, RACE_DATABASE, with_demo_users=False) as own:
        yield own


def _wait_until_blocked(engine: Engine, failures: list[BaseException], deadline: float) -> None:
    """PostgreSQL: until another session of this database waits for a lock."""
    with engine.connect() as conn:
        while time.monotonic() < deadline and not failures:
            waiting = conn.scalar(
                text(
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                    "AND wait_event_type = 'Lock'"
                )
            )
            if waiting:
                return
            conn.rollback()  # activity is a snapshot per transaction: take a new one
            time.sleep(0.02)
    raise AssertionError(f"the second ingester never waited for the first: {failures}")


def test_two_ingesters_with_a_new_device_keep_one_state(own_engine: Engine) -> None:
    """Both get readings of a device never heard from: the second waits for the first's
    state and builds on it (PostgreSQL: its first-state INSERT loses and it starts over)."""
    with Session(own_engine) as setup:
        add_device(setup, "SM-R", "smoke_detector")
        setup.commit()
        forget_devices(setup)
    outcome: dict[str, BatchResult] = {}
    failures: list[BaseException] = []

    def second() -> None:
        try:
            with Session(own_engine) as other:
                outcome["b"] = feed(other, reading("SM-R", 2, 30, smoke=0.3), at=30)
                other.commit()
        except BaseException as exc:  # surfaced in the test's own thread below
            failures.append(exc)

    with Session(own_engine) as first:
        outcome["a"] = feed(first, reading("SM-R", 1, 0, smoke=0.01))
        thread = threading.Thread(target=second)
        thread.start()
        if own_engine.dialect.name == "postgresql":
            _wait_until_blocked(own_engine, failures, time.monotonic() + 20)
        first.commit()
    thread.join(30)
    assert not thread.is_alive()
    assert not failures, failures
    with Session(own_engine) as check:
        state = check.get(DeviceState, "SM-R")
        assert state is not None
        assert (state.readings_count, state.last_seq) == (2, 2)
        assert "smoke_alarm" in state.rule_state
        assert check.scalar(select(func.count()).select_from(Alarm)) == 1
    assert outcome["a"].stored == outcome["b"].stored == 1


@given(
    st.datetimes(
        timezones=st.sampled_from(
            [UTC, timezone(timedelta(hours=8)), timezone(-timedelta(hours=5, minutes=30))]
        )
    )
)
def test_fast_sqlite_time_text_is_the_column_types_text(moment: datetime) -> None:
    # Readings are written as the UTCDateTime type would write them, by a faster route.
    expected = moment.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    assert _sqlite_time(moment) == expected


# --- the rules' inner loop -----------------------------------------------------------------

_SENSING = load_town(default_town_dir()).sensing
_QUANTITY_VALUES: dict[str, dict[str, list[float]]] = {
    "smoke_detector": {"smoke": [0.0, 0.05, 0.1, 0.15, 0.3], "temperature": [20, 25, 40, 90]},
    "electrical_fire_monitor": {"residual_current": [100, 260, 300, 320], "cable_temp": [40, 75]},
    "water_level_sensor": {"water_level": [0.0, 0.1, 0.12, 0.2], "battery": [10, 20, 25, 30]},
}


@st.composite
def _device_readings(draw: st.DrawFn) -> tuple[str, list[IncomingReading], dict[str, Any]]:
    device_type = draw(st.sampled_from(sorted(_QUANTITY_VALUES)))
    quantities = _QUANTITY_VALUES[device_type]
    readings = []
    for seq in range(draw(st.integers(min_value=1, max_value=12))):
        present = draw(st.lists(st.sampled_from(sorted(quantities)), min_size=1, unique=True))
        values = {q: float(draw(st.sampled_from(quantities[q]))) for q in present}
        ts = T0 + timedelta(seconds=draw(st.integers(min_value=0, max_value=3600)))
        readings.append(IncomingReading("D-1", seq, ts, values, received_at=ts))
    # A kept state to start from, as an earlier batch would have left it.
    rule_state: dict[str, Any] = draw(
        st.sampled_from([{}, {"smoke_alarm": {"on": True}}, {"waterlogging": {"since": 0.0}}])
    )
    return device_type, readings, rule_state


@given(_device_readings())
def test_skipping_calm_readings_gives_what_every_rule_on_every_reading_gives(
    case: tuple[str, list[IncomingReading], dict[str, Any]],
) -> None:
    # The pipeline skips rules.evaluate where nothing can change; the outcome must be the
    # plain loop's: each value rule on each reading, in time order.
    device_type, readings, start = case
    rules = [r for r in _SENSING.rules_for(device_type) if r.kind != "offline"]
    book = _RuleBook(_SENSING)
    state = _StateRow(-1, T0 - timedelta(days=1), start, None, 0)
    plan = _plan(
        DeviceInfo("D-1", device_type), list(readings), state, rules, book.checks(device_type)
    )
    expected_state = dict(start)
    expected_events: list[tuple[str, RuleEvent, float | None, int]] = []
    for r in sorted(readings, key=lambda r: (r.ts, r.seq)):
        for rule in rules:
            new, event, value = evaluate(
                rule, expected_state.get(rule.id, {}), r.ts.timestamp(), r.values
            )
            if new:
                expected_state[rule.id] = new
            else:
                expected_state.pop(rule.id, None)
            if event is not RuleEvent.none:
                expected_events.append((rule.id, event, value, r.seq))
    assert plan.rule_state == expected_state
    assert [(e.rule.id, e.event, e.value, e.seq) for e in plan.events] == expected_events


def test_an_ingesting_process_freezes_its_start_up_heap_and_collects_less_often() -> None:
    before = gc.get_threshold()
    try:
        tune_gc_for_ingestion()
        assert gc.get_threshold() == INGEST_GC_THRESHOLDS
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)
