"""Verify on site (现场核实, issue 14): who may verify an alarm, its states, the audit entry
and the case's timeline; the alarm console's list options (``may_act``, ``order=severity``,
``closed_from``)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import add_device
from tests.helpers import ok, ok_list

# The alarm routes on the app (autouse), as the alarm API tests have them.
from tests.sensing.test_alarms_api import with_alarm_routes  # noqa: F401
from townops.auth.models import AuditEntry
from townops.cases.models import Case
from townops.sensing.ingest.messages import IncomingReading
from townops.sensing.ingest.pipeline import process_readings
from townops.sensing.models import Alarm

NANXIN = "310115121020"  # 南新居委会: `nanxin` works here
DONGGOU = "310115121001"  # 东沟一居委会
T0 = datetime(2026, 11, 22, tzinfo=UTC)
Headers = Callable[[str], dict[str, str]]
NOTE = "厨房燃气味明显，已关闭总阀"


@pytest.fixture
def alarms(session: Session) -> dict[str, Alarm]:
    """In 南新: a gas leak in a home (case to the community), one in a shop (case to the
    safety office), a low battery (info, no case); in 东沟一: a gas leak in a home."""
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
    process_readings(session, [IncomingReading(d, 1, T0, v, T0) for d, v in values.items()], now=T0)
    session.commit()
    return {a.device_id: a for a in session.scalars(select(Alarm))}


def verify(client: TestClient, alarm: Alarm, headers: dict[str, str], note: str = NOTE) -> Any:
    return client.post(f"/api/v1/alarms/{alarm.id}/verify", json={"note": note}, headers=headers)


def test_who_may_verify(client: TestClient, login: Headers, alarms: dict[str, Alarm]) -> None:
    # Refused: the leader (reads only), a resident, a department not in charge; another
    # community's alarm is not even seen.
    assert verify(client, alarms["GAS-H"], login("leader")).status_code == 403
    assert verify(client, alarms["GAS-H"], login("resident_a")).status_code == 403
    assert verify(client, alarms["GAS-H"], login("safety")).status_code in (403, 404)
    assert verify(client, alarms["GAS-D"], login("nanxin")).status_code == 404
    assert verify(client, alarms["GAS-S"], login("nanxin")).status_code == 403
    # The unit in charge and the operations centre.
    assert verify(client, alarms["GAS-H"], login("nanxin")).status_code == 200
    assert verify(client, alarms["GAS-S"], login("safety")).status_code == 200
    assert verify(client, alarms["GAS-D"], login("duty")).status_code == 200
    assert verify(client, alarms["GAS-B"], login("dispatcher")).status_code == 200


def test_the_states_of_a_verified_alarm(
    client: TestClient, login: Headers, alarms: dict[str, Alarm], session: Session
) -> None:
    duty = login("duty")
    # From raised: verified, and acknowledged by the same person at the same time.
    raised = ok(verify(client, alarms["GAS-H"], duty))
    assert (raised["state"], raised["open"], raised["note"]) == ("verified", True, NOTE)
    assert raised["acknowledged_by"] == "duty" and raised["acknowledged_at"] is not None
    # From acknowledged: the first acknowledgement is kept.
    ok(client.post(f"/api/v1/alarms/{alarms['GAS-S'].id}/acknowledge", headers=login("safety")))
    acked = ok(verify(client, alarms["GAS-S"], duty))
    assert (acked["state"], acked["acknowledged_by"]) == ("verified", "safety")
    # A verified alarm is real: no acknowledging it again, no false alarm, no second verify.
    url = f"/api/v1/alarms/{alarms['GAS-H'].id}"
    for r in (
        client.post(f"{url}/acknowledge", headers=duty),
        client.post(f"{url}/false-alarm", json={"note": "无"}, headers=duty),
        verify(client, alarms["GAS-H"], duty),
    ):
        assert r.status_code == 409, r.text
        error = r.json()["error"]
        assert (error["code"], error["details"]["allowed_actions"]) == ("illegal_transition", [])
    # A note is required (and only a note).
    for body in ({"note": "  "}, {}, {"note": "x", "state": "cleared"}):
        r = client.post(f"/api/v1/alarms/{alarms['GAS-B'].id}/verify", json=body, headers=duty)
        assert r.status_code == 422, body
    # Open: listed with the open alarms and by its state; its readings clearing close it.
    assert {
        a["device_id"]
        for a in ok(client.get("/api/v1/alarms", params={"state": "verified"}, headers=duty))[
            "items"
        ]
    } == {"GAS-H", "GAS-S"}
    later = T0 + timedelta(minutes=5)
    process_readings(
        session, [IncomingReading("GAS-H", 2, later, {"gas_lel": 1.0}, later)], now=later
    )
    session.commit()
    cleared = ok(client.get(url, headers=duty))
    assert (cleared["state"], cleared["open"], cleared["note"]) == ("cleared", False, NOTE)
    closed = client.post(f"{url}/verify", json={"note": NOTE}, headers=duty)
    assert closed.status_code == 409


def test_a_verification_is_audited_and_on_the_case_timeline(
    client: TestClient, login: Headers, alarms: dict[str, Alarm], session: Session
) -> None:
    alarm = alarms["GAS-H"]
    case = session.get(Case, alarm.case_id)
    assert case is not None
    state, version = case.state, case.version
    assert verify(client, alarm, login("nanxin")).status_code == 200
    audit = session.scalars(select(AuditEntry).where(AuditEntry.target == f"alarm:{alarm.id}"))
    assert [(a.actor, a.action, a.data) for a in audit] == [
        ("nanxin", "alarm.verify", {"note": NOTE})
    ]
    history = ok_list(client.get(f"/api/v1/cases/{alarm.case_id}/history", headers=login("duty")))
    [event] = [e for e in history if e["action"].startswith("alarm_")]
    assert (event["action"], event["actor"], event["comment"]) == ("alarm_verified", "nanxin", NOTE)
    assert event["from_state"] == event["to_state"] == state
    assert event["data"] == {"alarm_id": alarm.id, "device_id": "GAS-H", "rule": "gas_leak"}
    session.expire_all()
    case = session.get(Case, alarm.case_id)
    assert case is not None and (case.state, case.version) == (state, version)
    # A refused verification leaves no trace.
    assert verify(client, alarms["GAS-S"], login("nanxin")).status_code == 403
    refused = select(AuditEntry).where(AuditEntry.target == f"alarm:{alarms['GAS-S'].id}")
    assert session.scalars(refused).all() == []


def test_the_list_says_who_may_act_and_sorts_by_severity(
    client: TestClient, login: Headers, alarms: dict[str, Alarm]
) -> None:
    def listed(user: str, **params: Any) -> list[dict[str, Any]]:
        page = ok(client.get("/api/v1/alarms", params=params, headers=login(user)))
        items: list[dict[str, Any]] = page["items"]
        return items

    assert {a["device_id"]: a["may_act"] for a in listed("nanxin")} == {
        "GAS-H": True,
        "GAS-S": False,  # the safety office's case
        "GAS-B": True,
    }
    assert not any(a["may_act"] for a in listed("leader"))
    assert all(a["may_act"] for a in listed("duty"))
    by_severity = [a["severity"] for a in listed("duty", order="severity")]
    assert by_severity == ["critical", "critical", "critical", "info"]
    assert (
        client.get("/api/v1/alarms", params={"order": "x"}, headers=login("duty")).status_code
        == 422
    )


def test_closed_from_lists_what_closed_since(
    client: TestClient, login: Headers, alarms: dict[str, Alarm]
) -> None:
    duty = login("duty")
    ok(
        client.post(
            f"/api/v1/alarms/{alarms['GAS-B'].id}/false-alarm",
            json={"note": "电池已换"},
            headers=duty,
        )
    )
    hour_ago = (datetime.now(UTC) - timedelta(hours=1)).isoformat()
    recent = ok(client.get("/api/v1/alarms", params={"closed_from": hour_ago}, headers=duty))
    assert [a["device_id"] for a in recent["items"]] == ["GAS-B"]
    later = (datetime.now(UTC) + timedelta(hours=1)).isoformat()
    assert (
        ok(client.get("/api/v1/alarms", params={"closed_from": later}, headers=duty))["total"] == 0
    )
    bad = client.get("/api/v1/alarms", params={"closed_from": "yesterday"}, headers=duty)
    assert bad.status_code == 422
