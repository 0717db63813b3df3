"""The alarms API (list, scope, masking, acknowledge, false alarm) and HTTP ingestion."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import add_device
from tests.factories import reading_payload as payload
from tests.helpers import ok
from townops.auth.models import AuditEntry
from townops.sensing.alarms.api import router
from townops.sensing.devices.facts import forget_devices
from townops.sensing.devices.keys import create_ingest_key
from townops.sensing.ingest.messages import IncomingReading
from townops.sensing.ingest.pipeline import process_readings
from townops.sensing.models import Alarm, QuarantinedMessage, Reading

NANXIN = "310115121020"  # 南新居委会: the demo user `nanxin` works here
DONGGOU = "310115121001"
T0 = datetime(2026, 11, 22, tzinfo=UTC)
Headers = Callable[[str], dict[str, str]]


@pytest.fixture(autouse=True)
def with_alarm_routes(app: Any, session: Session) -> Iterator[None]:
    if not any(getattr(r, "path", "") == "/api/v1/alarms" for r in app.routes):
        app.include_router(router)
    forget_devices(session)
    yield
    forget_devices(session)


@pytest.fixture
def alarms(session: Session) -> dict[str, Alarm]:
    """A gas leak in a home in 南新 (cased), low battery in 南新 (info), smoke in 东沟一."""
    add_device(session, "GAS-H", "gas_alarm", NANXIN, household=True)
    add_device(session, "GAS-B", "gas_alarm", NANXIN)
    add_device(session, "SM-D", "smoke_detector", DONGGOU)
    values = {"GAS-H": {"gas_lel": 12.0}, "GAS-B": {"battery": 10.0}, "SM-D": {"smoke": 0.3}}
    batch = [IncomingReading(d, 1, T0, v, T0) for d, v in values.items()]
    process_readings(session, batch, now=T0)
    session.commit()
    found = session.scalars(select(Alarm)).all()
    return {a.device_id: a for a in found}


def listed(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    return ok(client.get("/api/v1/alarms", params=params, headers=headers))


def test_list_and_filters(client: TestClient, login: Headers, alarms: dict[str, Alarm]) -> None:
    duty = login("duty")
    everything = listed(client, duty)
    assert everything["total"] == 3
    assert {a["device_id"] for a in everything["items"]} == {"GAS-H", "GAS-B", "SM-D"}
    assert [a["device_id"] for a in listed(client, duty, severity="info")["items"]] == ["GAS-B"]
    assert [a["device_id"] for a in listed(client, duty, rule="gas_leak")["items"]] == ["GAS-H"]
    assert [a["device_id"] for a in listed(client, duty, jurisdiction=DONGGOU)["items"]] == ["SM-D"]
    assert listed(client, duty, type="smoke_detector")["total"] == 1
    assert listed(client, duty, device="GAS-B")["total"] == 1
    assert listed(client, duty, state="cleared")["total"] == 0
    assert listed(client, duty, open="true")["total"] == 3
    case_id = alarms["GAS-H"].case_id
    assert [a["device_id"] for a in listed(client, duty, case=case_id)["items"]] == ["GAS-H"]
    page = listed(client, duty, limit=1, offset=1)
    assert (len(page["items"]), page["total"], page["offset"]) == (1, 3, 1)
    gas = listed(client, duty, rule="gas_leak")["items"][0]
    assert gas["message"] == "可燃气体浓度 12.0 %LEL 超过 10"
    assert (gas["rule_name_zh"], gas["severity"], gas["open"]) == ("可燃气体泄漏", "critical", True)
    bad = client.get("/api/v1/alarms", params={"state": "nope"}, headers=duty)
    assert bad.status_code == 422


def test_community_staff_see_only_their_community(
    client: TestClient, login: Headers, alarms: dict[str, Alarm]
) -> None:
    nanxin = login("nanxin")
    assert {a["device_id"] for a in listed(client, nanxin)["items"]} == {"GAS-H", "GAS-B"}
    other = client.get(f"/api/v1/alarms/{alarms['SM-D'].id}", headers=nanxin)
    assert other.status_code == 404
    mine = ok(client.get(f"/api/v1/alarms/{alarms['GAS-H'].id}", headers=nanxin))
    assert mine["device_id"] == "GAS-H"


def test_residents_may_not_see_alarms(
    client: TestClient, login: Headers, alarms: dict[str, Alarm]
) -> None:
    r = client.get("/api/v1/alarms", headers=login("resident_a"))
    assert r.status_code == 403
    assert r.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/alarms").status_code == 401


def test_household_contact_is_masked_for_roles_that_may_not_see_it(
    client: TestClient, login: Headers, alarms: dict[str, Alarm]
) -> None:
    alarm_id = alarms["GAS-H"].id
    # One contact rule with the alarm's case: its unit in charge (南新, who must call the
    # household) sees the number on the alarm as on the case; admin (sees_full_phone
    # false) and other units do not.
    assert alarms["GAS-H"].case_id is not None
    for user, full in (
        ("duty", True),
        ("dispatcher", True),
        ("nanxin", True),
        ("safety", False),
        ("admin", False),
    ):
        household = ok(client.get(f"/api/v1/alarms/{alarm_id}", headers=login(user)))["household"]
        if full:
            assert household == {"name": "张阿婆", "phone": "13912345678", "masked": False}
        else:
            assert household == {"name": "张**", "phone": "139****5678", "masked": True}
    plain = ok(client.get(f"/api/v1/alarms/{alarms['SM-D'].id}", headers=login("duty")))
    assert plain["household"] is None


def test_acknowledge_and_false_alarm(
    client: TestClient, login: Headers, alarms: dict[str, Alarm], session: Session
) -> None:
    alarm_id = alarms["GAS-H"].id
    url = f"/api/v1/alarms/{alarm_id}"
    assert client.post(f"{url}/acknowledge", headers=login("leader")).status_code == 403
    other = client.post(f"/api/v1/alarms/{alarms['SM-D'].id}/acknowledge", headers=login("nanxin"))
    assert other.status_code == 404
    acked = ok(client.post(f"{url}/acknowledge", headers=login("nanxin")))
    assert (acked["state"], acked["acknowledged_by"]) == ("acknowledged", "nanxin")
    again = client.post(f"{url}/acknowledge", headers=login("nanxin"))
    assert again.status_code == 409
    assert again.json()["error"]["details"]["allowed_actions"] == ["false_alarm", "verify"]
    empty = client.post(f"{url}/false-alarm", json={"note": ""}, headers=login("nanxin"))
    assert empty.status_code == 422
    closed = ok(
        client.post(f"{url}/false-alarm", json={"note": "厨房无燃气味"}, headers=login("nanxin"))
    )
    assert (closed["state"], closed["open"], closed["note"]) == (
        "false_alarm",
        False,
        "厨房无燃气味",
    )
    audit = session.scalars(select(AuditEntry).where(AuditEntry.target == f"alarm:{alarm_id}"))
    assert [(a.actor, a.action) for a in audit] == [
        ("nanxin", "alarm.acknowledge"),
        ("nanxin", "alarm.false_alarm"),
    ]


# --- readings over HTTP --------------------------------------------------------------------


@pytest.fixture
def api_key(session: Session) -> str:
    # An ingestion key bound to the device (and to one not registered yet): an Open311 key
    # is refused (tests/sensing/test_sensing_trust.py).
    key = create_ingest_key(session, name="gateway", devices=["GAS-H", "NOPE-1"])
    add_device(session, "GAS-H", "gas_alarm", NANXIN, household=True)
    session.commit()
    return key


URL = "/api/v1/devices/GAS-H/readings"


def test_http_ingest_needs_an_api_key(client: TestClient, api_key: str) -> None:
    assert client.post(URL, json=payload(1, gas_lel=1)).status_code == 403
    wrong = client.post(URL, json=payload(1, gas_lel=1), headers={"X-API-Key": "to_wrong"})
    assert wrong.status_code == 403


def test_http_ingest_stores_once_and_raises_alarms(
    client: TestClient, api_key: str, session: Session
) -> None:
    key = {"X-API-Key": api_key}
    one = ok(client.post(URL, json=payload(1, gas_lel=1.0, battery=90), headers=key))
    assert (one["stored"], one["duplicates"], one["alarms_raised"]) == (1, 0, [])
    many = ok(
        client.post(URL, json=[payload(1, gas_lel=1.0), payload(2, gas_lel=15.0)], headers=key)
    )
    assert (many["stored"], many["duplicates"]) == (1, 1)
    assert len(many["alarms_raised"]) == 1 and len(many["cases_opened"]) == 1
    stored = session.scalars(select(Reading.seq).where(Reading.device_id == "GAS-H")).all()
    assert sorted(stored) == [1, 2]


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'{"seq": 1, "ts": "2026-11-22T08:00:00", "values": {"gas_lel": 1}}', "bad_schema"),
        (
            b'[{"seq": 1, "ts": "2026-11-22T08:00:00+08:00", "values": {"gas_lel": 1}}, '
            b'{"seq": -1}]',
            "bad_schema",
        ),
        (b"not json", "not_json"),
        (b"[]", "bad_schema"),
    ],
)
def test_http_ingest_sets_aside_a_malformed_body(
    client: TestClient, api_key: str, session: Session, body: bytes, reason: str
) -> None:
    r = client.post(
        URL, content=body, headers={"X-API-Key": api_key, "Content-Type": "application/json"}
    )
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    assert error["details"]["problems"][0]["reason"] == reason
    kept = session.scalars(
        select(QuarantinedMessage).where(QuarantinedMessage.transport == "http")
    ).all()
    assert [(q.reason, q.device_id) for q in kept] == [(reason, "GAS-H")]
    assert session.scalars(select(Reading).where(Reading.device_id == "GAS-H")).all() == []


def test_http_ingest_for_an_unknown_device_is_set_aside(
    client: TestClient, api_key: str, session: Session
) -> None:
    r = client.post(
        "/api/v1/devices/NOPE-1/readings",
        json=payload(1, gas_lel=1),
        headers={"X-API-Key": api_key},
    )
    assert r.status_code == 404
    kept = session.scalars(select(QuarantinedMessage)).all()
    assert [(q.reason, q.device_id, q.transport) for q in kept] == [
        ("unknown_device", "NOPE-1", "http")
    ]
