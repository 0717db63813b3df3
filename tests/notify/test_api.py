"""The notification routes: your own in-app messages (the bell), and the administrator's
delivery log with a resend."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta

from fastapi.testclient import TestClient
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from tests.factories import case_body, file_case, post_case
from tests.helpers import act, ok, ok_list
from townops.duty import chain_at
from townops.notify.models import Notification
from townops.timeutil import utcnow

Login = Callable[[str], dict[str, str]]


def _dispatched_case(client: TestClient, login: Login, housing_category: str) -> int:
    case = post_case(client, login("dispatcher"), case_body(housing_category))
    case = ok(act(client, login("dispatcher"), case, "dispatch", department="housing_office"))
    return int(case["id"])


def test_a_handler_sees_the_dispatch_in_the_bell_and_marks_it_read(
    client: TestClient, login: Login, housing_category: str
) -> None:
    case_id = _dispatched_case(client, login, housing_category)
    bell = ok(client.get("/api/v1/notifications", headers=login("housing")))
    mine = [n for n in bell["items"] if n["case_id"] == case_id]
    assert len(mine) == 1 and not mine[0]["read"] and bell["unread"] >= 1
    assert mine[0]["title_zh"].startswith(f"新工单 #{case_id}")
    assert mine[0]["title_en"].startswith(f"New case #{case_id}")
    # Reminders due later are not shown yet.
    assert all(n["rule"] != "deadline_reminder" for n in bell["items"])

    marked = ok(
        client.post(f"/api/v1/notifications/{mine[0]['id']}/read", headers=login("housing"))
    )
    assert marked == {"marked": 1}
    after = ok(client.get("/api/v1/notifications?unread=true", headers=login("housing")))
    assert all(n["id"] != mine[0]["id"] for n in after["items"])
    assert after["unread"] == bell["unread"] - 1


def test_nobody_reads_or_marks_another_persons_messages(
    client: TestClient, login: Login, housing_category: str
) -> None:
    _dispatched_case(client, login, housing_category)
    theirs = ok(client.get("/api/v1/notifications", headers=login("housing")))["items"][0]
    mine = ok(client.get("/api/v1/notifications", headers=login("urban")))
    assert all(n["id"] != theirs["id"] for n in mine["items"])
    r = client.post(f"/api/v1/notifications/{theirs['id']}/read", headers=login("urban"))
    assert r.status_code == 404, r.text


def test_the_delivery_log_is_the_administrators_with_addresses_masked_and_a_resend(
    client: TestClient, login: Login, housing_category: str, session: Session
) -> None:
    case_id = _dispatched_case(client, login, housing_category)
    assert client.get("/api/v1/notifications/deliveries", headers=login("duty")).status_code == 403
    # A failed SMS to the caller (as the worker would leave it): masked in the log.
    session.execute(
        update(Notification)
        .where(Notification.case_id == case_id, Notification.rule == "dispatched")
        .values(state="failed", address="13812341234", last_error="PermanentFailure: isv.X")
    )
    session.flush()
    log = ok(
        client.get(
            "/api/v1/notifications/deliveries", params={"state": "failed"}, headers=login("admin")
        )
    )
    failed = [d for d in log["items"] if d["case_id"] == case_id]
    assert failed and all(d["address"] == "138****1234" for d in failed)
    resent = ok(
        client.post(
            f"/api/v1/notifications/deliveries/{failed[0]['id']}/resend", headers=login("admin")
        )
    )
    assert resent["state"] == "queued" and resent["attempts"] == 0
    again = client.post(
        f"/api/v1/notifications/deliveries/{failed[0]['id']}/resend", headers=login("admin")
    )
    assert again.status_code == 422 and again.json()["error"]["details"]["field"] == "state"
    bad = client.get(
        "/api/v1/notifications/deliveries", params={"state": "lost"}, headers=login("admin")
    )
    assert bad.status_code == 422


def test_the_officer_on_duty_acknowledges_an_alarm_from_the_bell_and_the_chain_stops(
    client: TestClient, login: Login, session: Session
) -> None:
    """An urgent alarm filed 15 minutes ago, nobody signed: the officer on duty (by the
    roster) has the 10-minute call in the bell, asking to be acknowledged; acknowledging
    the case through the API answers it and cancels the leader's call still to come."""
    received = utcnow() - timedelta(minutes=15)
    case = file_case(
        session,
        now=received,
        category="iot_gas_alarm",
        content="可燃气体浓度 18.5 %LEL 超过 10",
        jurisdiction="310115121020",
        kind="iot_alarm",
        source="iot",
        received_at=received,
    )
    session.commit()
    chain = chain_at(session, received)
    assert chain is not None
    officer = chain[0][1].username
    calls = ok(client.get("/api/v1/notifications", headers=login(officer)))["items"]
    (call,) = [n for n in calls if n["case_id"] == case.id]
    assert call["rule"] == "alarm_unacknowledged" and call["asks_acknowledgement"] is True
    assert call["title_zh"] == f"告警工单 #{case.id} 10 分钟无人确认"
    leader = chain[1][1].username
    assert all(
        n["case_id"] != case.id
        for n in ok(client.get("/api/v1/notifications", headers=login(leader)))["items"]
    )

    seen = ok(client.get(f"/api/v1/cases/{case.id}", headers=login(officer)))
    assert "acknowledge" in seen["allowed_actions"]
    ok(act(client, login(officer), seen, "acknowledge"))
    again = ok(client.get("/api/v1/notifications", headers=login(officer)))["items"]
    assert [n["asks_acknowledgement"] for n in again if n["case_id"] == case.id] == [False]
    session.expire_all()
    states = list(
        session.scalars(
            select(Notification.state)
            .where(Notification.case_id == case.id, Notification.rule == "alarm_unacknowledged")
            .order_by(Notification.next_attempt_at)
        )
    )
    assert states == ["queued", "cancelled"]  # the call in the bell stays; the leader's is off
    history = ok_list(client.get(f"/api/v1/cases/{case.id}/history", headers=login("duty")))
    assert [e["actor"] for e in history if e["action"] == "acknowledge"] == [officer]
