"""Every endpoint checks role and jurisdiction scope; phone and ID numbers are masked."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import category_code, post_case
from tests.helpers import NANXIN, act, ok
from tests.sensing.test_sensing_pipeline import add_device, feed, reading

Login = Callable[[str], dict[str, str]]
OTHER_COMMUNITY = "310115121001"  # 东沟一居委会


@pytest.fixture
def make_case(client: TestClient, login: Login) -> Callable[..., dict[str, Any]]:
    """``make_case(user="dispatcher", jurisdiction=NANXIN, **fields)``: a case with the
    requester's numbers the masking tests look for, filed by ``user``; the 201 answer."""

    def make(user: str = "dispatcher", jurisdiction: str = NANXIN, **extra: Any) -> dict[str, Any]:
        body = {
            "category": extra.pop("category", None)
            or category_code(client, login("duty"), "housing_office"),
            "content": "小区电梯又坏了",
            "jurisdiction": jurisdiction,
            "requester_name": "李先生",
            "requester_phone": "13912345678",
            "requester_id_number": "310115199001017777",
            "auto_dispatch": False,  # these tests walk the manual loop
            **extra,
        }
        return post_case(client, login(user), body)

    return make


def test_every_case_endpoint_needs_a_bearer_token(client: TestClient) -> None:
    for method, path in [
        ("get", "/api/v1/cases"),
        ("get", "/api/v1/cases/1"),
        ("get", "/api/v1/cases/1/history"),
        ("post", "/api/v1/cases"),
        ("get", "/api/v1/categories"),
    ]:
        r = getattr(client, method)(path)
        assert r.status_code == 401, path
        assert r.json()["error"]["code"] == "unauthenticated"


def test_a_forged_token_is_refused(client: TestClient) -> None:
    r = client.get("/api/v1/cases", headers={"Authorization": "Bearer not.a.token"})
    assert r.status_code == 401


def test_a_handler_sees_only_its_own_departments_cases(
    client: TestClient, login: Login, make_case: Callable[..., dict[str, Any]]
) -> None:
    mine = make_case()
    mine = ok(act(client, login("dispatcher"), mine, "dispatch", department="housing_office"))
    theirs = make_case()
    theirs = ok(act(client, login("dispatcher"), theirs, "dispatch", department="urban_management"))
    listed = ok(client.get("/api/v1/cases", headers=login("housing")))
    ids = {c["id"] for c in listed["items"]}
    assert mine["id"] in ids and theirs["id"] not in ids
    assert all(c["department"] == "housing_office" for c in listed["items"])
    assert client.get(f"/api/v1/cases/{theirs['id']}", headers=login("housing")).status_code == 404
    r = act(client, login("housing"), theirs, "accept")
    assert r.status_code == 404


def test_a_handler_cannot_act_for_another_department_even_if_summoned(
    client: TestClient, login: Login, make_case: Callable[..., dict[str, Any]]
) -> None:
    case = make_case()
    case = ok(act(client, login("dispatcher"), case, "dispatch", department="urban_management"))
    case = ok(act(client, login("duty"), case, "whistle", departments=["housing_office"]))
    seen = ok(client.get(f"/api/v1/cases/{case['id']}", headers=login("housing")))
    r = act(client, login("housing"), seen, "accept")
    assert r.status_code == 403


def test_community_staff_see_only_their_community(
    client: TestClient, login: Login, make_case: Callable[..., dict[str, Any]]
) -> None:
    inside = make_case(jurisdiction=NANXIN)
    outside = make_case(jurisdiction=OTHER_COMMUNITY)
    ids = {c["id"] for c in ok(client.get("/api/v1/cases", headers=login("nanxin")))["items"]}
    assert inside["id"] in ids and outside["id"] not in ids
    assert client.get(f"/api/v1/cases/{outside['id']}", headers=login("nanxin")).status_code == 404


def test_community_staff_cannot_report_a_case_outside_their_community(
    client: TestClient, login: Login, make_case: Callable[..., dict[str, Any]]
) -> None:
    body = {
        "category": category_code(client, login("duty"), "housing_office"),
        "content": "外区的问题",
        "jurisdiction": OTHER_COMMUNITY,
    }
    r = client.post("/api/v1/cases", json=body, headers=login("nanxin"))
    assert r.status_code == 403


def test_a_resident_sees_only_their_own_requests_and_rates_only_their_own(
    client: TestClient, login: Login, make_case: Callable[..., dict[str, Any]]
) -> None:
    a = make_case(user="resident_a")
    b = make_case(user="resident_b")
    ids = {c["id"] for c in ok(client.get("/api/v1/cases", headers=login("resident_a")))["items"]}
    assert a["id"] in ids and b["id"] not in ids
    assert client.get(f"/api/v1/cases/{b['id']}", headers=login("resident_a")).status_code == 404
    r = act(client, login("resident_a"), a, "dispatch", department="housing_office")
    assert r.status_code == 403


@pytest.mark.parametrize(
    ("user", "masked"),
    [
        ("duty", False),
        ("dispatcher", False),
        ("housing", False),  # handler of the owning department
        ("leader", True),
        ("nanxin", True),
        ("resident_a", True),
    ],
)
def test_phone_and_id_numbers_are_masked_for_roles_that_do_not_need_them(
    client: TestClient,
    login: Login,
    make_case: Callable[..., dict[str, Any]],
    user: str,
    masked: bool,
) -> None:
    case = make_case(user="resident_a")
    case = ok(act(client, login("dispatcher"), case, "dispatch", department="housing_office"))
    seen = ok(client.get(f"/api/v1/cases/{case['id']}", headers=login(user)))
    if masked:
        assert seen["requester"]["phone"] == "139****5678"
        assert seen["requester"]["id_number"] == "310***********7777"
        assert seen["requester"]["masked"] is True
    else:
        assert seen["requester"]["phone"] == "13912345678"
        assert seen["requester"]["id_number"] == "310115199001017777"


def test_a_summoned_handler_of_another_department_sees_the_phone_masked(
    client: TestClient, login: Login, make_case: Callable[..., dict[str, Any]]
) -> None:
    case = make_case()
    case = ok(act(client, login("dispatcher"), case, "dispatch", department="urban_management"))
    case = ok(act(client, login("duty"), case, "whistle", departments=["housing_office"]))
    seen = ok(client.get(f"/api/v1/cases/{case['id']}", headers=login("housing")))
    assert seen["requester"]["phone"] == "139****5678"
    listed = ok(client.get("/api/v1/cases", headers=login("housing")))
    row = next(c for c in listed["items"] if c["id"] == case["id"])
    assert row["requester"]["phone"] == "139****5678"


def test_bad_input_gets_a_structured_error(client: TestClient, login: Login) -> None:
    r = client.post("/api/v1/cases", json={"content": "", "lat": 91}, headers=login("dispatcher"))
    assert r.status_code == 422
    problems = r.json()["error"]["details"]["problems"]
    assert {p["field"] for p in problems} >= {"body.lat", "body.content"}
    r = client.post(
        "/api/v1/cases", json={"category": "no_such", "content": "x"}, headers=login("dispatcher")
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "category"
    r = client.post("/api/v1/cases/1/actions/fly", json={"version": 1}, headers=login("duty"))
    assert r.status_code in (404, 422)


def test_town_wide_roles_see_cases_that_have_no_place_yet(client: TestClient, login: Login) -> None:
    body = {
        "category": category_code(client, login("duty"), "housing_office"),
        "content": "无地址来电",
    }
    case = ok(client.post("/api/v1/cases", json=body, headers=login("dispatcher")), 201)
    assert case["jurisdiction"] is None
    for user in ("duty", "leader", "dispatcher"):
        assert client.get(f"/api/v1/cases/{case['id']}", headers=login(user)).status_code == 200
    assert client.get(f"/api/v1/cases/{case['id']}", headers=login("nanxin")).status_code == 404


def test_the_front_door_is_the_web_app_and_the_api_is_documented(client: TestClient) -> None:
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert client.get("/docs").status_code == 200
    assert client.get("/healthz").json()["town"] == "310115121"


def test_the_community_sent_to_an_in_home_gas_alarm_sees_the_households_number(
    client: TestClient, login: Login, session: Session
) -> None:
    add_device(session, "GAS-HOME-1", "gas_alarm", household=True)
    [case_id] = feed(session, reading("GAS-HOME-1", 1, 0, gas_lel=15.0)).cases_opened
    session.commit()  # the test connection's savepoint: visible to the API, rolled back after

    def phone_seen_by(user: str) -> str:
        case = ok(client.get(f"/api/v1/cases/{case_id}", headers=login(user)))
        phone: str = case["requester"]["phone"]
        return phone

    # Residents' committee staff do not see phones in general, but this case is theirs to
    # answer at the door: they must be able to call the household.
    assert phone_seen_by("nanxin") == "13912345678"
    assert phone_seen_by("leader") == "139****5678"


def test_me_tells_the_caller_their_own_phone_and_name(client: TestClient, login: Any) -> None:
    me = client.get("/api/v1/auth/me", headers=login("resident_a")).json()
    assert me["role"] == "resident" and me["phone"] == "13900000001"
    assert me["display_name"]
    assert client.get("/api/v1/auth/me", headers=login("leader")).json()["phone"] is None
