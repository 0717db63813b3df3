"""Batch dispatch (批量派单) through POST /api/v1/cases/dispatch-batch: each item is the
ordinary dispatch action (audit event, deadlines, access rules), the items independent —
the good ones go, each refused one is named with the error a single dispatch would give."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

from tests.factories import post_case
from tests.helpers import NANXIN, act, ok, ok_list
from townops.dispatch.batch import MAX_ITEMS

Login = Callable[[str], dict[str, str]]
URL = "/api/v1/cases/dispatch-batch"


def queued(client: TestClient, login: Login, content: str, **body: Any) -> dict[str, Any]:
    """A case waiting for a dispatcher, with the routing's suggestions."""
    body = {
        "kind": "hotline",
        "category": "street_light",
        "content": content,
        "jurisdiction": NANXIN,
        "requester_phone": "13800001111",
        "auto_dispatch": False,
        **body,
    }
    case = post_case(client, login("dispatcher"), body)
    assert case["state"] == "received" and case["routing"]["suggestions"], case
    return case


def batch(
    client: TestClient, headers: dict[str, str], items: list[dict[str, Any]]
) -> httpx.Response:
    response: httpx.Response = client.post(URL, json={"items": items}, headers=headers)
    return response


def history(client: TestClient, login: Login, case_id: int) -> list[dict[str, Any]]:
    return ok_list(client.get(f"/api/v1/cases/{case_id}/history", headers=login("duty")))


def test_each_case_goes_as_suggested_or_to_the_chosen_department_with_its_audit_event(
    client: TestClient, login: Login
) -> None:
    light = queued(client, login, "南新路上路灯不亮")
    leak = queued(client, login, "楼上漏水到我家", category="house_leak")
    chosen = queued(client, login, "小区门口路灯闪烁")
    suggested = light["routing"]["suggestions"][0]
    out = ok(
        batch(
            client,
            login("dispatcher"),
            [
                {"case_id": light["id"], "version": light["version"]},
                {"case_id": leak["id"], "version": leak["version"]},
                {
                    "case_id": chosen["id"],
                    "version": chosen["version"],
                    "department_code": "housing_office",
                },
            ],
        )
    )
    assert (out["dispatched"], out["failed"]) == (3, 0)
    first, second, third = out["items"]
    assert first["dispatched"] and first["as_suggested"] and first["state"] == "dispatched"
    assert (first["department"], first["community"]) == (
        suggested["department"],
        None if suggested["department"] else suggested["community"],
    )
    assert second["as_suggested"] and second["version"] == leak["version"] + 1
    assert third["department"] == "housing_office" and not third["as_suggested"]
    # The ordinary dispatch: one audit event by the dispatcher, the case file as after a
    # single dispatch (the first contact's clock starts).
    for item in out["items"]:
        events = [e for e in history(client, login, item["case_id"]) if e["action"] == "dispatch"]
        assert len(events) == 1 and events[0]["actor"] == "dispatcher"
        case = ok(client.get(f"/api/v1/cases/{item['case_id']}", headers=login("duty")))
        assert case["state"] == "dispatched" and case["first_contact_due_at"]
        assert case["version"] == item["version"]


def test_a_stale_or_refused_item_is_named_and_the_others_are_dispatched(
    client: TestClient, login: Login
) -> None:
    good = queued(client, login, "南新路上路灯不亮")
    stale = queued(client, login, "路灯一直亮着")
    taken = queued(client, login, "路灯杆倾斜")
    unknown = queued(client, login, "路灯灯罩掉了")
    # A colleague dispatched two of them meanwhile.
    ok(act(client, login("duty"), stale, "dispatch", department="urban_management"))
    moved = ok(act(client, login("duty"), taken, "dispatch", department="housing_office"))
    ok(act(client, login("housing"), moved, "accept"))
    out = ok(
        batch(
            client,
            login("dispatcher"),
            [
                {"case_id": good["id"], "version": good["version"]},
                {"case_id": stale["id"], "version": stale["version"]},
                {"case_id": taken["id"], "version": moved["version"] + 1},
                {
                    "case_id": unknown["id"],
                    "version": unknown["version"],
                    "department_code": "nope",
                },
                {"case_id": 999_999_999, "version": 1},
            ],
        )
    )
    assert (out["dispatched"], out["failed"]) == (1, 4)
    results = {i["case_id"]: i for i in out["items"]}
    assert results[good["id"]]["dispatched"]
    errors = {cid: r["error"] for cid, r in results.items() if not r["dispatched"]}
    assert errors[stale["id"]]["status"] == 409
    assert errors[stale["id"]]["code"] == "stale_version"
    assert errors[stale["id"]]["details"]["field"] == "items[1].version"
    assert errors[taken["id"]]["status"] == 409
    assert errors[taken["id"]]["code"] == "illegal_transition"
    assert errors[unknown["id"]]["status"] == 422
    assert errors[unknown["id"]]["details"]["field"] == "items[3].department_code"
    assert errors[999_999_999]["status"] == 404
    assert errors[999_999_999]["details"]["field"] == "items[4].case_id"
    # The refused ones are as they were: no second dispatch event, the unknown one waits.
    assert [e["action"] for e in history(client, login, stale["id"])].count("dispatch") == 1
    left = ok(client.get(f"/api/v1/cases/{unknown['id']}", headers=login("duty")))
    assert left["state"] == "received" and left["version"] == unknown["version"]


def test_a_role_that_may_not_dispatch_is_refused_the_whole_batch(
    client: TestClient, login: Login
) -> None:
    case = queued(client, login, "南新路上路灯不亮")
    item = {"case_id": case["id"], "version": case["version"], "department_code": "housing_office"}
    for who in ("housing", "leader", "resident_a"):
        r = batch(client, login(who), [item])
        assert r.status_code == 403, (who, r.text)
    still = ok(client.get(f"/api/v1/cases/{case['id']}", headers=login("duty")))
    assert still["state"] == "received"


def test_the_batch_size_and_its_items_are_checked_naming_the_field(
    client: TestClient, login: Login
) -> None:
    desk = login("dispatcher")
    case = queued(client, login, "南新路上路灯不亮")
    item = {"case_id": case["id"], "version": case["version"]}
    too_many = [{"case_id": i + 1, "version": 1} for i in range(MAX_ITEMS + 1)]
    r = batch(client, desk, too_many)
    assert r.status_code == 422
    assert r.json()["error"]["details"]["problems"][0]["field"] == "body.items"
    assert batch(client, desk, []).status_code == 422
    r = batch(client, desk, [item, item])
    assert r.status_code == 422
    assert r.json()["error"]["details"]["field"] == "items[1].case_id"
    both = {**item, "department_code": "housing_office", "community_code": NANXIN}
    r = batch(client, desk, [both])
    assert r.status_code == 422
    assert r.json()["error"]["details"]["problems"][0]["field"].startswith("body.items.0")
    unchanged = ok(client.get(f"/api/v1/cases/{case['id']}", headers=desk))
    assert unchanged["state"] == "received"
