"""The 12345 closed loop through the HTTP API, as the town's people would use it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.factories import case_body, post_case
from tests.helpers import NANXIN, act, ok, ok_list

Login = Callable[[str], dict[str, str]]


@pytest.fixture
def new_case(
    client: TestClient, login: Login, housing_category: str
) -> Callable[..., dict[str, Any]]:
    """``new_case(user="dispatcher", **fields)``: the hotline leak of tests/factories.py, with
    the requester's name and ID number, filed by ``user``; the 201 answer."""

    def make(user: str = "dispatcher", **extra: Any) -> dict[str, Any]:
        requester = {"requester_name": "王女士", "requester_id_number": "310115198001011234"}
        body = case_body(housing_category, **{**requester, **extra})
        return post_case(client, login(user), body)

    return make


def test_a_hotline_case_goes_round_the_whole_closed_loop(
    client: TestClient, login: Login, new_case: Callable[..., dict[str, Any]]
) -> None:
    case = new_case()
    assert case["state"] == "received"
    assert case["due_at"] and case["overdue"] is False and case["seconds_left"] > 0
    case = ok(act(client, login("dispatcher"), case, "dispatch", department="housing_office"))
    assert case["state"] == "dispatched" and case["first_contact_due_at"]
    case = ok(act(client, login("housing"), case, "accept"))
    case = ok(act(client, login("housing"), case, "first_contact", comment="已电话联系"))
    assert case["first_contact_at"] is not None
    case = ok(act(client, login("housing"), case, "resolve", reply="已联系物业维修，漏水已止"))
    assert case["state"] == "resolved" and case["reply"].startswith("已联系")
    case = ok(act(client, login("dispatcher"), case, "callback", rating="satisfied"))
    assert case["state"] == "closed" and case["rating"] == "satisfied"

    history = ok_list(client.get(f"/api/v1/cases/{case['id']}/history", headers=login("duty")))
    steps = [(e["action"], e["from_state"], e["to_state"]) for e in history]
    assert steps == [
        ("create", None, "received"),
        ("dispatch", "received", "dispatched"),
        ("accept", "dispatched", "accepted"),
        ("first_contact", "accepted", "accepted"),
        ("resolve", "accepted", "resolved"),
        ("callback", "resolved", "callback"),
        ("close", "callback", "closed"),
    ]
    assert history[2]["actor"] == "housing" and history[2]["actor_role"] == "handler"
    assert history[-1]["actor"] == "system"


def test_an_illegal_transition_is_refused_with_409_naming_the_allowed_actions(
    client: TestClient, login: Login, new_case: Callable[..., dict[str, Any]]
) -> None:
    case = new_case()
    r = act(client, login("admin"), case, "resolve", reply="x")
    assert r.status_code == 409
    err = r.json()["error"]
    assert err["code"] == "illegal_transition"
    assert "dispatch" in err["details"]["allowed_actions"]
    assert "resolve" not in err["details"]["allowed_actions"]


def test_two_people_acting_on_the_same_stale_case_one_wins_the_other_gets_409(
    client: TestClient, login: Login, new_case: Callable[..., dict[str, Any]]
) -> None:
    case = new_case()
    first = act(client, login("dispatcher"), case, "dispatch", department="housing_office")
    second = act(client, login("duty"), case, "dispatch", department="urban_management")
    assert first.status_code == 200
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "stale_version"
    now = ok(client.get(f"/api/v1/cases/{case['id']}", headers=login("duty")))
    assert now["department"] == "housing_office"


def test_a_return_sends_the_case_back_to_dispatch_with_its_reason(
    client: TestClient, login: Login, new_case: Callable[..., dict[str, Any]]
) -> None:
    case = new_case()
    case = ok(act(client, login("dispatcher"), case, "dispatch", department="housing_office"))
    r = act(client, login("housing"), case, "return")
    assert r.status_code == 422  # a return needs a reason
    case = ok(act(client, login("housing"), case, "return", reason="属于城管职责，非房管"))
    assert case["state"] == "returned" and case["department"] is None
    assert case["return_count"] == 1
    case = ok(act(client, login("dispatcher"), case, "dispatch", department="urban_management"))
    assert case["department"] == "urban_management"
    history = ok_list(client.get(f"/api/v1/cases/{case['id']}/history", headers=login("duty")))
    ret = next(e for e in history if e["action"] == "return")
    assert ret["comment"] == "属于城管职责，非房管" and ret["department"] == "housing_office"


def test_an_approved_extension_moves_the_deadline_and_a_denied_one_does_not(
    client: TestClient, login: Login, new_case: Callable[..., dict[str, Any]]
) -> None:
    case = new_case()
    case = ok(act(client, login("dispatcher"), case, "dispatch", department="housing_office"))
    case = ok(act(client, login("housing"), case, "accept"))
    due = case["due_at"]
    case = ok(
        act(
            client, login("housing"), case, "request_extension", working_days=5, reason="需协调物业"
        )
    )
    assert case["extensions"][0]["status"] == "pending"
    r = act(client, login("housing"), case, "approve_extension")
    assert r.status_code == 403  # a handler cannot approve their own extension
    case = ok(act(client, login("duty"), case, "approve_extension", comment="同意"))
    assert case["due_at"] > due and case["extension_count"] == 1
    assert case["extensions"][0]["status"] == "approved"
    case = ok(
        act(client, login("housing"), case, "request_extension", working_days=2, reason="再延")
    )
    moved = case["due_at"]
    case = ok(act(client, login("duty"), case, "deny_extension", comment="不同意"))
    assert case["due_at"] == moved
    r = act(client, login("duty"), case, "approve_extension")
    assert r.status_code == 409  # nothing pending any more


def test_a_dissatisfied_callback_reopens_the_case_with_three_working_days(
    client: TestClient, login: Login, new_case: Callable[..., dict[str, Any]]
) -> None:
    case = new_case()
    for user, action, body in [
        ("dispatcher", "dispatch", {"department": "housing_office"}),
        ("housing", "accept", {}),
        ("housing", "resolve", {"reply": "已处理"}),
        ("dispatcher", "callback", {"rating": "dissatisfied"}),
    ]:
        case = ok(act(client, login(user), case, action, **body))
    assert case["state"] == "reopened" and case["reopen_count"] == 1
    assert case["rating"] == "dissatisfied"
    case = ok(act(client, login("housing"), case, "resolve", reply="重新维修完毕"))
    case = ok(act(client, login("dispatcher"), case, "callback", rating="basically_satisfied"))
    assert case["state"] == "closed"


def test_a_community_whistles_departments_in_and_each_reports_in(
    client: TestClient, login: Login, new_case: Callable[..., dict[str, Any]]
) -> None:
    case = new_case(user="nanxin")
    case = ok(
        act(
            client,
            login("nanxin"),
            case,
            "whistle",
            departments=["urban_management", "housing_office"],
            comment="居村吹哨：违建与漏水交织",
        )
    )
    assert {s["department"] for s in case["summonses"]} == {"urban_management", "housing_office"}
    assert all(s["reported_in_at"] is None for s in case["summonses"])
    # The summoned department can now see the case and report in.
    case = ok(client.get(f"/api/v1/cases/{case['id']}", headers=login("urban")))
    case = ok(act(client, login("urban"), case, "report_in", comment="城管中队已到场"))
    reported = {s["department"]: s["reported_in_at"] for s in case["summonses"]}
    assert reported["urban_management"] is not None and reported["housing_office"] is None
    r = act(client, login("market"), case, "report_in")
    assert r.status_code == 404  # not summoned: cannot even see the case


def test_a_leader_supervises_a_case(
    client: TestClient, login: Login, new_case: Callable[..., dict[str, Any]]
) -> None:
    case = new_case()
    case = ok(act(client, login("leader"), case, "supervise", comment="请加快办理"))
    assert case["supervision_count"] == 1
    r = act(client, login("leader"), case, "dispatch", department="housing_office")
    assert r.status_code == 403


def test_allowed_actions_offer_only_what_would_succeed_now(
    client: TestClient, login: Login, new_case: Callable[..., dict[str, Any]]
) -> None:
    case = new_case()
    case = ok(act(client, login("dispatcher"), case, "dispatch", department="housing_office"))
    case = ok(act(client, login("housing"), case, "accept"))
    assert "report_in" not in case["allowed_actions"]  # not summoned
    assert "request_extension" in case["allowed_actions"]
    case = ok(
        act(client, login("housing"), case, "request_extension", working_days=2, reason="协调")
    )
    assert "request_extension" not in case["allowed_actions"]  # one is already pending
    duty_view = ok(client.get(f"/api/v1/cases/{case['id']}", headers=login("duty")))
    assert {"approve_extension", "deny_extension"} <= set(duty_view["allowed_actions"])
    case = ok(act(client, login("duty"), duty_view, "whistle", departments=["urban_management"]))
    urban_view = ok(client.get(f"/api/v1/cases/{case['id']}", headers=login("urban")))
    assert "report_in" in urban_view["allowed_actions"]


def test_a_person_cannot_file_a_case_in_a_device_alarm_category(
    client: TestClient, login: Login
) -> None:
    body = {"category": "iot_fire_alarm", "content": "烟感报警了", "jurisdiction": NANXIN}
    r = client.post("/api/v1/cases", json=body, headers=login("dispatcher"))
    assert r.status_code == 422, r.text
    assert "opened by townops" in r.json()["error"]["message"]


def test_work_queue_filters_find_pending_extensions_and_the_callers_own_cases(
    client: TestClient, login: Login, new_case: Callable[..., dict[str, Any]]
) -> None:
    held = ok(act(client, login("dispatcher"), new_case(), "dispatch", department="housing_office"))
    held = ok(act(client, login("housing"), held, "accept"))
    ok(act(client, login("housing"), held, "request_extension", working_days=3, reason="协调物业"))
    elsewhere = ok(act(client, login("dispatcher"), new_case(), "dispatch", community=NANXIN))

    def ids(user: str, query: str) -> set[int]:
        page = ok(client.get(f"/api/v1/cases?{query}&page_size=200", headers=login(user)))
        return {c["id"] for c in page["items"]}

    assert held["id"] in ids("duty", "extension=pending")
    assert elsewhere["id"] not in ids("duty", "extension=pending")
    assert held["id"] not in ids("duty", "extension=approved")
    # "Mine" is what the caller's unit holds: the department's case for its handler, the
    # community's for its staff, though the staff can see both (both lie in 南新).
    assert held["id"] in ids("housing", "mine=true") and elsewhere["id"] not in ids(
        "housing", "mine=true"
    )
    assert elsewhere["id"] in ids("nanxin", "mine=true")
    assert held["id"] in ids("nanxin", "open=true") and held["id"] not in ids("nanxin", "mine=true")
    # "Not mine": what the staff can see in their area that another unit holds.
    assert held["id"] in ids("nanxin", "mine=false")
    assert elsewhere["id"] not in ids("nanxin", "mine=false")
    # A role with no unit of its own holds nothing.
    assert ids("dispatcher", "mine=true") == set()
    bad = client.get("/api/v1/cases?extension=maybe", headers=login("duty"))
    assert bad.status_code == 422
