"""Automatic dispatch (自动指令) through the HTTP API, with the shipped classifier and the
Gaohang gazetteer and dispatch.yaml: what a call taker, a dispatcher and a department see."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy.orm import Session

from tests.factories import make_api_key, post_case
from tests.helpers import NANXIN, act, ok, ok_list
from townops.dispatch import reasons
from townops.dispatch.config import DispatchConfig
from townops.dispatch.models import RoutingDecision
from townops.dispatch.service import read_request

Login = Callable[[str], dict[str, str]]

GAOHANG_JIAYUAN = "310115121004-G02"  # 高行家园, a micro-grid of 高行居委会


def file_case(
    client: TestClient, login: Login, user: str = "dispatcher", **body: Any
) -> dict[str, Any]:
    body.setdefault("requester_name", "张先生")
    body.setdefault("requester_phone", "13800001111")
    body.setdefault("kind", "hotline")
    return post_case(client, login(user), body)


def history(client: TestClient, login: Login, case_id: int) -> list[dict[str, Any]]:
    return ok_list(client.get(f"/api/v1/cases/{case_id}/history", headers=login("duty")))


def test_a_clear_request_is_read_placed_and_dispatched_without_a_person(
    client: TestClient, login: Login
) -> None:
    case = file_case(
        client,
        login,
        content="高行家园5号楼的电梯坏了三天了，老人上下楼很困难，请尽快安排维修",
        address="高行家园5号楼",
    )
    routing = case["routing"]
    assert case["state"] == "dispatched", routing
    assert case["category"] == "lift_failure"
    assert case["department"] == "housing_office"
    assert case["jurisdiction"] == GAOHANG_JIAYUAN
    assert routing["automatic"] is True and routing["outcome"] == "dispatched"
    assert routing["category_source"] == "classifier"
    assert routing["rule"] == "category-default"
    assert routing["confidence"] >= routing["threshold"]
    assert routing["scores"]["labels"] and "电梯" in routing["scores"]["categories"][0]["keywords"]
    assert routing["place"]["method"] == "address" and routing["place"]["usable"] is True
    dispatch = [e for e in history(client, login, case["id"]) if e["action"] == "dispatch"]
    assert len(dispatch) == 1 and dispatch[0]["actor"] == "system"
    # The department sees it in its own queue and can take it on.
    taken = ok(act(client, login("housing"), case, "accept"))
    assert taken["state"] == "accepted"


def test_an_unclear_request_waits_for_a_dispatcher_with_three_suggestions(
    client: TestClient, login: Login
) -> None:
    case = file_case(client, login, content="我想反映一个情况，希望有关部门重视一下，谢谢")
    routing = case["routing"]
    assert case["state"] == "received" and case["department"] is None
    assert routing["automatic"] is False and routing["outcome"] == "queued"
    assert routing["reason"]
    assert len(routing["suggestions"]) == 3
    assert all(s["department"] or s["community"] for s in routing["suggestions"])
    queue = ok_list(client.get("/api/v1/dispatch/queue", headers=login("dispatcher")))
    queued = next(c for c in queue if c["id"] == case["id"])
    assert queued["routing"]["suggestions"] == routing["suggestions"]


def test_a_clear_topic_with_no_usable_place_goes_to_a_person_not_a_guessed_grid(
    client: TestClient, login: Login
) -> None:
    case = file_case(client, login, content="小区电梯坏了三天了，老人上下楼很困难，请尽快安排维修")
    assert case["state"] == "received"
    assert case["jurisdiction"] is None
    assert case["routing"]["place"]["usable"] is False
    assert "place" in case["routing"]["reason"]


def test_a_given_category_and_place_route_by_the_towns_rules(
    client: TestClient, login: Login
) -> None:
    case = file_case(
        client,
        login,
        category="group_renting",
        content="隔壁一套房子住了十几个人，隔成很多小间",
        jurisdiction=NANXIN,
    )
    routing = case["routing"]
    assert case["state"] == "dispatched"
    assert routing["category_source"] == "given" and routing["confidence"] == 1.0
    assert routing["rule"] == "group-renting-to-community"
    # The town's own words for its rule (dispatch.yaml), for the case page.
    assert routing["rule_note"] == "群租先由居委会上门核查，再联合房管办整治。"
    assert case["assignee_community"] == NANXIN and case["department"] is None


def test_a_repeat_is_linked_not_dispatched_and_answered_with_the_first_case(
    client: TestClient, login: Login
) -> None:
    first = file_case(
        client,
        login,
        category="lift_failure",
        content="高行家园5号楼电梯又坏了，老人下不了楼",
        jurisdiction=GAOHANG_JIAYUAN,
    )
    again = file_case(
        client,
        login,
        category="lift_failure",
        content="你好，高行家园5号楼的电梯又坏了！老人没法下楼",
        jurisdiction=GAOHANG_JIAYUAN,
        requester_phone="13900002222",
    )
    assert first["state"] == "dispatched"
    assert again["state"] == "linked" and again["duplicate_of"] == first["id"]
    assert again["routing"]["outcome"] == "duplicate" and again["department"] is None
    # The department answers the first case; the repeat gets the same reply, and its own callback.
    housing = login("housing")
    first = ok(act(client, housing, first, "accept"))
    ok(act(client, housing, first, "resolve", reply="已联系电梯维保单位修复"))
    again = ok(client.get(f"/api/v1/cases/{again['id']}", headers=login("dispatcher")))
    assert again["state"] == "resolved" and again["reply"] == "已联系电梯维保单位修复"
    closed = ok(act(client, login("dispatcher"), again, "callback", rating="satisfied"))
    assert closed["state"] == "closed"


def test_a_dispatcher_can_unlink_a_false_repeat_by_dispatching_it(
    client: TestClient, login: Login
) -> None:
    first = file_case(
        client,
        login,
        category="lift_failure",
        content="高行家园5号楼电梯坏了",
        jurisdiction=GAOHANG_JIAYUAN,
    )
    again = file_case(
        client,
        login,
        category="lift_failure",
        content="高行家园5号楼电梯坏了",
        jurisdiction=GAOHANG_JIAYUAN,
    )
    assert again["duplicate_of"] == first["id"]
    again = ok(act(client, login("dispatcher"), again, "dispatch", department="housing_office"))
    assert again["state"] == "dispatched" and again["duplicate_of"] is None


def test_people_correcting_the_machine_are_counted_and_kept_as_examples(
    client: TestClient, login: Login
) -> None:
    redispatched = file_case(
        client,
        login,
        category="sanitation",
        content="南新居委旁边垃圾堆了好几天没人清运",
        jurisdiction=NANXIN,
    )
    returned = file_case(
        client,
        login,
        category="street_light",
        content="南新路上路灯不亮",
        jurisdiction=NANXIN,
    )
    kept = file_case(
        client,
        login,
        category="dog_nuisance",
        content="楼下有人遛狗不牵绳",
        jurisdiction=NANXIN,
    )
    assert {c["state"] for c in (redispatched, returned, kept)} == {"dispatched"}
    fixed = ok(
        act(
            client,
            login("dispatcher"),
            redispatched,
            "dispatch",
            department="urban_management",
            category="street_vending",
        )
    )
    assert fixed["category"] == "street_vending" and fixed["routing"]["corrected_at"]
    back = ok(act(client, login("construction"), returned, "return", reason="不属于本部门"))
    assert back["routing"]["corrected_at"]
    examples = ok_list(client.get("/api/v1/dispatch/examples", headers=login("duty")))
    assert {"source": "correction", "label": "城乡建设", "count": 1} in examples
    town = ok(
        client.get("/api/v1/kpi?by=town&from=2000-01-01&to=2100-12-31", headers=login("duty"))
    )
    row = town["rows"][0]
    assert row["routed"] == 3 and row["auto_dispatched"] == 3 and row["auto_correct"] == 1
    assert row["auto_dispatch_accuracy"] == 1 / 3
    assert row["median_minutes_to_dispatch"] is not None and row["median_minutes_to_dispatch"] < 1


def test_residents_do_not_see_routing_and_handlers_have_no_queue(
    client: TestClient, login: Login
) -> None:
    mine = file_case(
        client,
        login,
        user="resident_a",
        kind="request",  # a resident files requests; kind is set by the intake desk
        category="street_light",
        content="小区门口路灯不亮",
        jurisdiction=NANXIN,
    )
    assert mine["routing"] is None
    staff_view = ok(client.get(f"/api/v1/cases/{mine['id']}", headers=login("duty")))
    assert staff_view["routing"]["outcome"] in ("dispatched", "queued")
    denied = client.get("/api/v1/dispatch/queue", headers=login("housing"))
    assert denied.status_code == 403 and denied.json()["error"]


def test_the_call_taker_can_see_what_dispatch_would_do_before_filing(
    client: TestClient, login: Login
) -> None:
    before = ok(client.get("/api/v1/cases?with_total=true", headers=login("duty")))["total"]
    preview = ok(
        client.post(
            "/api/v1/dispatch/read",
            json={"content": "高行家园门口有人占道摆摊卖菜", "address": "高行家园"},
            headers=login("dispatcher"),
        )
    )
    assert preview["category"] == "street_vending"
    assert preview["place"]["code"] == GAOHANG_JIAYUAN
    assert preview["suggestions"][0]["department"] == "urban_management"
    after = ok(client.get("/api/v1/cases?with_total=true", headers=login("duty")))["total"]
    assert after == before


def test_an_open311_request_is_routed_like_any_other(
    client: TestClient, login: Login, session: Session
) -> None:
    key = make_api_key(session, "resident-app")
    lat, lon = _inside(client, login, GAOHANG_JIAYUAN)
    posted = client.post(
        "/open311/v2/requests.json",
        data={
            "api_key": key,
            "service_code": "street_light",
            "lat": str(lat),
            "long": str(lon),
            "description": "小区门口两盏路灯晚上不亮，走路看不清",
        },
    )
    assert posted.status_code == 200, posted.text
    case_id = int(posted.json()[0]["service_request_id"])
    case = ok(client.get(f"/api/v1/cases/{case_id}", headers=login("dispatcher")))
    assert case["state"] == "dispatched" and case["department"] == "construction_office"
    assert case["routing"]["place"]["method"] == "point"
    assert case["routing"]["category_source"] == "given" and case["routing"]["automatic"]
    (public,) = client.get(f"/open311/v2/requests/{case_id}.json").json()
    assert public["status"] == "open"


def _inside(client: TestClient, login: Login, code: str) -> tuple[float, float]:
    grids = ok(client.get("/api/v1/jurisdictions?level=micro_grid", headers=login("duty")))
    feature = next(f for f in grids["features"] if f["id"] == code)
    point = shape(feature["geometry"]).representative_point()
    return point.y, point.x


# --- the reason as a code the pages can word in Chinese or English --------------------------


def test_a_queued_case_says_why_as_a_code_with_its_figures(
    client: TestClient, login: Login
) -> None:
    unclear = file_case(client, login, content="我想反映一个情况，希望有关部门重视一下，谢谢")
    routing = unclear["routing"]
    assert routing["reason_code"] == "low_confidence"
    assert routing["reason_params"] == {
        "confidence": routing["confidence"],
        "threshold": routing["threshold"],
    }
    assert routing["reason"].startswith("confidence ")  # the English words stay for old clients
    assert "reason" not in routing["scores"]  # not shown twice

    placeless = file_case(client, login, content="小区电梯坏了三天了，老人上下楼很困难")
    assert placeless["routing"]["reason_code"] in ("no_place", "unsure_place")
    assert "place" in placeless["routing"]["reason"]

    asked = file_case(
        client,
        login,
        category="street_light",
        content="南新路上路灯不亮",
        jurisdiction=NANXIN,
        auto_dispatch=False,
    )
    assert asked["routing"]["outcome"] == "queued"
    assert asked["routing"]["reason_code"] == "person_requested"
    assert asked["routing"]["reason_params"] == {}
    queue: list[dict[str, Any]] = client.get(
        "/api/v1/dispatch/queue", headers=login("dispatcher")
    ).json()
    queued = {c["id"]: c["routing"] for c in queue}
    assert queued[asked["id"]]["reason_code"] == "person_requested"
    assert queued[unclear["id"]]["reason_params"] == routing["reason_params"]


def test_a_dispatched_and_a_linked_case_say_why_as_codes(client: TestClient, login: Login) -> None:
    first = file_case(
        client,
        login,
        category="lift_failure",
        content="高行家园5号楼电梯坏了，老人下不了楼",
        jurisdiction=GAOHANG_JIAYUAN,
    )
    assert first["routing"]["reason_code"] == "confident"
    assert first["routing"]["reason_params"] == {
        "rule": "category-default",
        "confidence": 1.0,
        "threshold": first["routing"]["threshold"],
    }
    again = file_case(
        client,
        login,
        category="lift_failure",
        content="高行家园5号楼电梯坏了，老人下不了楼！",
        jurisdiction=GAOHANG_JIAYUAN,
    )
    assert again["routing"]["reason_code"] == "repeat"
    params = again["routing"]["reason_params"]
    assert params["case_id"] == first["id"] and 0.45 <= params["similarity"] <= 1.0
    assert again["routing"]["reason"] == (
        f"repeats open case {first['id']} (similarity {params['similarity']:.2f})"
    )


def test_decisions_stored_before_the_codes_are_read_from_their_words(
    client: TestClient, login: Login, session: Session
) -> None:
    case = file_case(
        client,
        login,
        category="street_light",
        content="南新路上路灯不亮",
        jurisdiction=NANXIN,
        auto_dispatch=False,
    )
    decision = session.get(RoutingDecision, case["id"])
    assert decision is not None
    # As an older townops wrote it: the sentence only.
    decision.scores = {k: v for k, v in decision.scores.items() if k != "reason"}
    decision.reason = "confidence 0.31 below the threshold 0.55"
    session.commit()
    routing = ok(client.get(f"/api/v1/cases/{case['id']}", headers=login("duty")))["routing"]
    assert routing["reason_code"] == "low_confidence"
    assert routing["reason_params"] == {"confidence": 0.31, "threshold": 0.55}


@pytest.mark.parametrize(
    ("text", "code", "params"),
    [
        (
            "rule 'group-renting-to-community', confidence 1.00 ≥ 0.55",
            "confident",
            {"rule": "group-renting-to-community", "confidence": 1.0, "threshold": 0.55},
        ),
        ("repeats open case 17 (similarity 0.62)", "repeat", {"case_id": 17, "similarity": 0.62}),
        ("place not sure enough (0.40)", "unsure_place", {"place_confidence": 0.4}),
        ("no place found in the request", "no_place", {}),
        ("automatic dispatch is off for this town", "auto_dispatch_off", {}),
        ("the caller asked for a person to dispatch it", "person_requested", {}),
        ("something a person typed", "other", {"text": "something a person typed"}),
    ],
)
def test_every_old_sentence_maps_back_to_its_code(
    text: str, code: str, params: dict[str, Any]
) -> None:
    reason = reasons.parse_legacy(text)
    assert (reason.code, reason.params) == (code, params)
    if code != "other":
        assert reason.text == text  # the same words are written today


def test_the_classifier_never_answers_a_category_only_townops_opens(session: Session) -> None:
    """A town may map a label to a device-alarm category too; a person's text must still
    get a category a person may file, or their request would be refused."""

    class Scorer:
        version = "stub"

        def predict_proba(self, texts: Any) -> list[dict[str, float]]:
            return [{"urgent": 0.95} for _ in texts]

    config = DispatchConfig.model_validate({"labels": {"urgent": ["iot_gas_alarm", "gas_smell"]}})
    reading = read_request(
        session, text="楼道里燃气味很重", given_category=None, config=config, scorer=Scorer()
    )
    assert reading.category == "gas_smell"
    assert all(s.category != "iot_gas_alarm" for s in reading.ranked)
