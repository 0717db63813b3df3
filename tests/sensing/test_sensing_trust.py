"""Trust in sensing (issue 12, findings 4–6): who may act on an alarm, and its case's
timeline; ingestion keys bound to devices; readings dated ahead of the server clock."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.factories import DEMO_PASSWORD, add_device, make_api_key
from tests.factories import reading_payload as payload
from tests.helpers import ok, ok_list

# The alarm routes on the app (autouse), as the alarm API tests have them.
from tests.sensing.test_alarms_api import with_alarm_routes  # noqa: F401
from townops.access.actor import Actor, Role
from townops.auth.models import ApiKey, AuditEntry
from townops.auth.service import check_api_key, create_user
from townops.cases.models import Case, CaseEvent
from townops.sensing.config import SensingConfig
from townops.sensing.devices.facts import forget_devices
from townops.sensing.devices.keys import create_ingest_key, read_device_ids, require_ingest_key
from townops.sensing.ingest.messages import IncomingReading
from townops.sensing.ingest.pipeline import (
    FUTURE_TIMESTAMP,
    process_readings,
    too_far_ahead,
)
from townops.sensing.models import Alarm, DeviceState, QuarantinedMessage, Reading

NANXIN = "310115121020"  # 南新居委会: `nanxin` works here
DONGGOU = "310115121001"  # 东沟一居委会
T0 = datetime(2026, 11, 22, tzinfo=UTC)
Headers = Callable[[str], dict[str, str]]
REFUSED = (403, 404)


@pytest.fixture
def alarms(session: Session) -> dict[str, Alarm]:
    """In 南新: a gas leak in a home (case to the community), a gas leak in a shop (case to
    the safety office), a low battery (no case); in 东沟一: a gas leak in a home."""
    add_device(session, "GAS-H", "gas_alarm", NANXIN, household=True)
    add_device(session, "GAS-S", "gas_alarm", NANXIN)
    add_device(session, "GAS-B", "gas_alarm", NANXIN)
    add_device(session, "GAS-D", "gas_alarm", DONGGOU, household=True)
    values = {
        "GAS-H": {"gas_lel": 12.0},
        "GAS-S": {"gas_lel": 14.0},
        "GAS-B": {"battery": 10.0},
        "GAS-D": {"gas_lel": 13.0},
    }
    batch = [IncomingReading(d, 1, T0, v, T0) for d, v in values.items()]
    process_readings(session, batch, now=T0)
    session.commit()
    found = {a.device_id: a for a in session.scalars(select(Alarm))}
    assert found["GAS-H"].case_id and found["GAS-S"].case_id and found["GAS-D"].case_id
    assert found["GAS-B"].case_id is None
    return found


def acknowledge(client: TestClient, alarm: Alarm, headers: dict[str, str]) -> int:
    r: httpx.Response = client.post(f"/api/v1/alarms/{alarm.id}/acknowledge", headers=headers)
    return r.status_code


def false_alarm(client: TestClient, alarm: Alarm, headers: dict[str, str]) -> int:
    r: httpx.Response = client.post(
        f"/api/v1/alarms/{alarm.id}/false-alarm", json={"note": "现场无异味"}, headers=headers
    )
    return r.status_code


# --- finding 4: alarm actions are for the unit in charge ------------------------------------


def test_a_handler_of_another_department_may_not_mark_a_gas_leak_false(
    client: TestClient, login: Headers, alarms: dict[str, Alarm], session: Session
) -> None:
    """The reproduction: `justice` marked a gas leak in a home a false alarm (200)."""
    # 403, or 404 where the access layer does not even show the alarm to the department.
    for alarm in (alarms["GAS-H"], alarms["GAS-D"], alarms["GAS-S"], alarms["GAS-B"]):
        assert false_alarm(client, alarm, login("justice")) in REFUSED
        assert acknowledge(client, alarm, login("justice")) in REFUSED
    r = client.post(f"/api/v1/alarms/{alarms['GAS-H'].id}/acknowledge", headers=login("justice"))
    if r.status_code == 403:
        assert "unit in charge" in r.json()["error"]["message"]
    states = session.scalars(select(Alarm.state).execution_options(populate_existing=True))
    assert set(states) == {"raised"}
    assert (
        session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action.like("alarm.%"))
        )
        == 0
    )


def test_the_department_in_charge_acts_on_its_alarm_cases_only(
    client: TestClient, login: Headers, alarms: dict[str, Alarm]
) -> None:
    safety = login("safety")  # GAS-S's case is the safety office's
    assert acknowledge(client, alarms["GAS-H"], safety) in REFUSED  # the community's case
    assert acknowledge(client, alarms["GAS-B"], safety) in REFUSED  # no case: an area's alarm
    assert acknowledge(client, alarms["GAS-S"], safety) == 200
    assert false_alarm(client, alarms["GAS-S"], safety) == 200


def test_community_staff_act_on_their_communitys_cases_and_caseless_alarms(
    client: TestClient, login: Headers, alarms: dict[str, Alarm]
) -> None:
    nanxin = login("nanxin")
    assert acknowledge(client, alarms["GAS-D"], nanxin) == 404  # another community: unseen
    assert acknowledge(client, alarms["GAS-S"], nanxin) == 403  # seen, but the safety office's
    assert acknowledge(client, alarms["GAS-H"], nanxin) == 200
    assert acknowledge(client, alarms["GAS-B"], nanxin) == 200  # no case, in her community
    assert false_alarm(client, alarms["GAS-B"], nanxin) == 200


def test_community_staff_of_another_community_may_not_act(
    client: TestClient, login: Headers, alarms: dict[str, Alarm], session: Session
) -> None:
    create_user(
        session,
        username="donggou_staff",
        password=DEMO_PASSWORD,
        role=Role.community_staff,
        scope_code=DONGGOU,
    )
    session.commit()
    donggou = login("donggou_staff")
    assert acknowledge(client, alarms["GAS-D"], donggou) == 200
    for name in ("GAS-H", "GAS-S", "GAS-B"):
        assert acknowledge(client, alarms[name], donggou) == 404


def test_the_operations_centre_acts_on_any_alarm_the_leader_on_none(
    client: TestClient, login: Headers, alarms: dict[str, Alarm]
) -> None:
    assert acknowledge(client, alarms["GAS-H"], login("leader")) == 403
    assert acknowledge(client, alarms["GAS-H"], login("duty")) == 200
    assert acknowledge(client, alarms["GAS-S"], login("dispatcher")) == 200
    assert acknowledge(client, alarms["GAS-B"], login("admin")) == 200
    assert false_alarm(client, alarms["GAS-D"], login("duty")) == 200
    assert acknowledge(client, alarms["GAS-H"], login("resident_a")) == 403


def test_alarm_actions_appear_on_the_case_timeline_without_moving_the_case(
    client: TestClient, login: Headers, alarms: dict[str, Alarm], session: Session
) -> None:
    alarm = alarms["GAS-H"]
    case = session.get(Case, alarm.case_id)
    assert case is not None
    state, version = case.state, case.version
    nanxin = login("nanxin")
    assert acknowledge(client, alarm, nanxin) == 200
    closed = client.post(
        f"/api/v1/alarms/{alarm.id}/false-alarm", json={"note": "厨房无燃气味"}, headers=nanxin
    )
    assert closed.status_code == 200
    history = ok_list(client.get(f"/api/v1/cases/{alarm.case_id}/history", headers=login("duty")))
    mine = [e for e in history if e["action"].startswith("alarm_")]
    assert [(e["action"], e["actor"], e["actor_role"]) for e in mine] == [
        ("alarm_acknowledged", "nanxin", "community_staff"),
        ("alarm_false", "nanxin", "community_staff"),
    ]
    assert all(e["from_state"] == e["to_state"] == state for e in mine)
    assert mine[1]["comment"] == "厨房无燃气味"
    assert mine[0]["data"] == {"alarm_id": alarm.id, "device_id": "GAS-H", "rule": "gas_leak"}
    session.expire_all()
    case = session.get(Case, alarm.case_id)
    assert case is not None and (case.state, case.version) == (state, version)
    # A refused or illegal action records nothing.
    assert acknowledge(client, alarm, nanxin) == 409
    count = select(func.count()).where(
        CaseEvent.case_id == alarm.case_id, CaseEvent.action.like("alarm_%")
    )
    assert session.scalar(count) == 2


def test_may_handle_alarm_matrix(
    session: Session, actor: Callable[[str], Actor], alarms: dict[str, Alarm]
) -> None:
    from townops.sensing.alarms.lifecycle import may_handle_alarm

    def may(username: str, device: str) -> bool:
        alarm = alarms[device]
        case = session.get(Case, alarm.case_id) if alarm.case_id else None
        return may_handle_alarm(actor(username), alarm, case)

    table = {
        "admin": {"GAS-H", "GAS-S", "GAS-B", "GAS-D"},
        "duty": {"GAS-H", "GAS-S", "GAS-B", "GAS-D"},
        "dispatcher": {"GAS-H", "GAS-S", "GAS-B", "GAS-D"},
        "leader": set(),
        "safety": {"GAS-S"},
        "justice": set(),
        "nanxin": {"GAS-H", "GAS-B"},
        "grid_nanxin": {"GAS-H"},  # the community's case; the battery is outside her grid
        "resident_a": set(),
    }
    for username, allowed in table.items():
        got = {d for d in alarms if may(username, d)}
        assert got == allowed, username


# --- finding 5: an Open311 key is not a device key ----------------------------------------


@pytest.fixture
def devices(session: Session) -> None:
    add_device(session, "GAS-H", "gas_alarm", NANXIN, household=True)
    add_device(session, "GAS-D", "gas_alarm", DONGGOU, household=True)
    session.commit()


def post(client: TestClient, device: str, key: str | None, body: Any) -> Any:
    headers = {"X-API-Key": key} if key is not None else {}
    return client.post(f"/api/v1/devices/{device}/readings", json=body, headers=headers)


def test_an_open311_key_may_not_raise_or_clear_an_alarm(
    client: TestClient, session: Session, devices: None
) -> None:
    """The reproduction: one Open311 key raised a gas alarm and cleared it with gas_lel 0."""
    open311 = make_api_key(session, "citizen-app")
    r = post(client, "GAS-H", open311, payload(1, gas_lel=40.0))
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["details"]["reason"] == "wrong_purpose" and "Open311" in error["message"]
    assert session.scalar(select(func.count()).select_from(Reading)) == 0
    assert session.scalar(select(func.count()).select_from(Alarm)) == 0
    assert session.scalar(select(func.count()).select_from(QuarantinedMessage)) == 0


def test_an_ingest_key_posts_only_for_its_devices(
    client: TestClient, session: Session, devices: None
) -> None:
    key = create_ingest_key(session, name="gateway-nanxin", devices=["GAS-H"])
    session.commit()
    raised = ok(post(client, "GAS-H", key, payload(1, gas_lel=40.0)))
    assert len(raised["alarms_raised"]) == 1 and len(raised["cases_opened"]) == 1
    other = post(client, "GAS-D", key, payload(1, gas_lel=40.0))
    assert other.status_code == 403
    assert other.json()["error"]["details"]["reason"] == "not_bound"
    unknown = post(client, "NOPE-1", key, payload(1, gas_lel=1.0))  # learns nothing of it
    assert unknown.status_code == 403
    assert post(client, "GAS-H", None, payload(2, gas_lel=0.0)).status_code == 403
    assert post(client, "GAS-H", "to_wrong", payload(2, gas_lel=0.0)).status_code == 403
    cleared = ok(post(client, "GAS-H", key, payload(2, gas_lel=0.0)))
    assert len(cleared["alarms_cleared"]) == 1
    stored = session.scalars(select(Reading.device_id).distinct()).all()
    assert stored == ["GAS-H"]


def test_open311_refuses_an_ingest_key(session: Session) -> None:
    key = create_ingest_key(session, name="gateway", devices=["GAS-H"])
    assert check_api_key(session, key=key) is None  # Open311 is the default purpose
    assert check_api_key(session, key=key, purpose="ingest") is not None
    with pytest.raises(Exception, match="not bound"):
        require_ingest_key(session, key=key, device_id="GAS-X")
    assert require_ingest_key(session, key=key, device_id="GAS-H").name == "gateway"


def test_open311_refuses_an_ingest_key_over_http(client: TestClient, session: Session) -> None:
    ingest = create_ingest_key(session, name="gateway", devices=["GAS-H"])
    open311 = make_api_key(session, "citizen-app")  # commits both keys
    body = {
        "service_code": "house_leak",
        "address_string": "高行镇南新居民区 12号楼",
        "description": "楼上漏水到我家天花板",
    }
    refused = client.post("/open311/v2/requests.json", data={**body, "api_key": ingest})
    assert refused.status_code == 403
    filed = client.post("/open311/v2/requests.json", data={**body, "api_key": open311})
    assert filed.status_code == 200, filed.text


def test_an_ingest_key_needs_valid_devices(session: Session) -> None:
    from townops.errors import InvalidInput

    with pytest.raises(InvalidInput):
        create_ingest_key(session, name="nothing", devices=[" ", ""])
    with pytest.raises(InvalidInput):
        create_ingest_key(session, name="bad", devices=["a/b"])


def test_the_cli_makes_ingest_keys_bound_to_devices(tmp_path: Path) -> None:
    from sqlalchemy import create_engine

    from townops.cli.main import app as cli

    runner = CliRunner()
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    assert runner.invoke(cli, ["db", "upgrade", "--database-url", url]).exit_code == 0
    listing = tmp_path / "devices.csv"
    listing.write_text("device_id,type\nD3,gas_alarm\nD4,gas_alarm\n", encoding="utf-8")
    made = runner.invoke(
        cli,
        [
            "api-key",
            "create",
            "gw",
            "--purpose",
            "ingest",
            "--device",
            "D1",
            "--device",
            "D2",
            "--devices-file",
            str(listing),
            "--database-url",
            url,
        ],
    )
    assert made.exit_code == 0, made.output
    key = made.stdout.strip().splitlines()[-1]
    assert key.startswith("to_")
    bad = runner.invoke(cli, ["api-key", "create", "x", "--purpose", "nope", "--database-url", url])
    assert bad.exit_code == 2
    mixed = runner.invoke(cli, ["api-key", "create", "x", "--device", "D1", "--database-url", url])
    assert mixed.exit_code == 2
    empty = runner.invoke(
        cli, ["api-key", "create", "x", "--purpose", "ingest", "--database-url", url]
    )
    assert empty.exit_code == 1
    engine = create_engine(url)
    with Session(engine) as session:
        rows = session.scalars(select(ApiKey)).all()
        assert [(k.name, k.purpose, k.bound_to) for k in rows] == [
            ("gw", "ingest", {"devices": ["D1", "D2", "D3", "D4"]})
        ]
    engine.dispose()


def test_read_device_ids_takes_plain_lists_and_the_registry_csv(tmp_path: Path) -> None:
    plain = tmp_path / "ids.txt"
    plain.write_text("# gateway 1\nD1\n\nD2\n", encoding="utf-8")
    assert read_device_ids(plain) == ["D1", "D2"]
    chinese = tmp_path / "台账.csv"
    chinese.write_bytes("设备类型,设备编号\n燃气报警器,JA-1\n燃气报警器,JA-2\n".encode("gbk"))
    assert read_device_ids(chinese) == ["JA-1", "JA-2"]


# --- finding 6: readings from the future --------------------------------------------------


def reading(device: str, seq: int, ts: datetime, received_at: datetime, **values: float) -> Any:
    return IncomingReading(device, seq, ts, values, received_at)


def test_a_reading_dated_2099_is_set_aside_and_later_readings_are_not_late(
    session: Session,
) -> None:
    """The reproduction: a reading dated 2099 froze the device; real ones counted as late."""
    add_device(session, "GAS-F", "gas_alarm", NANXIN)
    future = datetime(2099, 1, 1, tzinfo=UTC)
    result = process_readings(
        session, [reading("GAS-F", 1, future, T0, gas_lel=50.0, battery=99)], now=T0
    )
    assert (result.stored, result.unknown, result.alarms_raised) == (0, [(0, FUTURE_TIMESTAMP)], [])
    assert session.scalar(select(func.count()).select_from(Reading)) == 0
    assert session.get(DeviceState, "GAS-F") is None
    later = T0 + timedelta(minutes=1)
    real = process_readings(session, [reading("GAS-F", 2, later, later, gas_lel=1.0)], now=later)
    assert (real.stored, real.late, real.unknown) == (1, 0, [])
    state = session.get(DeviceState, "GAS-F")
    assert state is not None and (state.last_seq, state.values) == (2, {"gas_lel": 1.0})


def test_the_skew_is_the_towns_setting(session: Session) -> None:
    add_device(session, "GAS-F", "gas_alarm", NANXIN)
    config = SensingConfig()
    assert config.ingest.max_future_skew_seconds == 300
    at_limit = reading("GAS-F", 1, T0 + timedelta(seconds=300), T0, gas_lel=1.0)
    beyond = reading("GAS-F", 2, T0 + timedelta(seconds=301), T0, gas_lel=1.0)
    result = process_readings(session, [at_limit, beyond], now=T0)
    assert (result.stored, result.unknown) == (1, [(1, FUTURE_TIMESTAMP)])


@settings(max_examples=200, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    ahead=st.integers(min_value=-(10**6), max_value=10**9),
    skew=st.integers(min_value=0, max_value=86_400),
    offset_hours=st.integers(min_value=-12, max_value=14),
)
def test_too_far_ahead_is_exactly_ts_beyond_arrival_plus_skew(
    ahead: int, skew: int, offset_hours: int
) -> None:
    from datetime import timezone

    arrival = T0
    ts = (arrival + timedelta(seconds=ahead)).astimezone(timezone(timedelta(hours=offset_hours)))
    r = reading("D", 1, ts, arrival, x=1.0)
    assert too_far_ahead(r, timedelta(seconds=skew)) == (ahead > skew)


_BATCHES = iter(range(10**6))


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(offsets=st.lists(st.integers(min_value=-3_600, max_value=3_600), min_size=1, max_size=8))
def test_no_reading_beyond_the_skew_is_stored_or_reaches_the_state(
    session: Session, offsets: list[int]
) -> None:
    """Whatever a batch holds, exactly the readings within the skew are stored, the others
    are reported by index, and the device's latest reading is the newest one admitted."""
    device = f"GAS-P{next(_BATCHES)}"
    add_device(session, device, "gas_alarm", NANXIN)
    forget_devices(session)
    batch = [
        reading(device, seq, T0 + timedelta(seconds=ahead), T0, gas_lel=1.0)
        for seq, ahead in enumerate(offsets)
    ]
    result = process_readings(session, batch, now=T0)
    admitted = [r for r in batch if r.ts - T0 <= timedelta(seconds=300)]
    assert result.unknown == [
        (i, FUTURE_TIMESTAMP) for i, r in enumerate(batch) if r not in admitted
    ]
    assert result.stored == len(admitted)
    seqs = session.scalars(select(Reading.seq).where(Reading.device_id == device)).all()
    assert sorted(seqs) == [r.seq for r in admitted]
    state = session.get(DeviceState, device)
    if not admitted:
        assert state is None
    else:
        assert state is not None
        newest = max(admitted, key=lambda r: (r.ts, r.seq))
        assert (state.last_seq, state.last_ts) == (newest.seq, newest.ts)


def test_http_refuses_a_body_with_a_reading_from_the_future(
    client: TestClient, session: Session, devices: None
) -> None:
    key = create_ingest_key(session, name="gw", devices=["GAS-H"])
    session.commit()
    body = [payload(1, gas_lel=1.0), payload(2, ahead=timedelta(days=365 * 70), gas_lel=50.0)]
    r = post(client, "GAS-H", key, body)
    assert r.status_code == 422
    [problem] = r.json()["error"]["details"]["problems"]
    assert (problem["index"], problem["reason"]) == (1, FUTURE_TIMESTAMP)
    assert "ahead of the server clock" in problem["detail"]
    assert session.scalar(select(func.count()).select_from(Reading)) == 0
    assert session.get(DeviceState, "GAS-H") is None
    kept = session.scalars(select(QuarantinedMessage)).all()
    assert [(q.reason, q.device_id, q.transport) for q in kept] == [
        (FUTURE_TIMESTAMP, "GAS-H", "http")
    ]
    assert json.loads(kept[0].payload)["values"] == {"gas_lel": 50.0}
    assert ok(post(client, "GAS-H", key, body[:1]))["stored"] == 1


def test_http_refuses_json_nested_too_deep_whatever_its_content_type(
    client: TestClient, session: Session, devices: None
) -> None:
    """Deep JSON sent as bytes of another type than JSON is refused like JSON (422 naming
    the problem, never a 500), and nothing of it is stored."""
    key = create_ingest_key(session, name="gw", devices=["GAS-H"])
    session.commit()
    deep = b"[" * 100_000 + b"]" * 100_000
    r = client.post(
        "/api/v1/devices/GAS-H/readings",
        content=deep,
        headers={"X-API-Key": key, "Content-Type": "application/octet-stream"},
    )
    assert r.status_code == 422, r.text
    [problem] = r.json()["error"]["details"]["problems"]
    assert "nested" in str(problem)
    assert session.scalar(select(func.count()).select_from(Reading)) == 0
