"""Public tracking by code (``GET /api/v1/track/{code}``): no log-in, nothing personal."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import FakeClock
from tests.helpers import NANXIN, act, ok
from townops.access.actor import SYSTEM
from townops.cases.schemas import CaseCreate
from townops.cases.service import create_case
from townops.cases.tracking import LookupLimiter, normalize_code
from townops.errors import InvalidInput

Login = Callable[[str], dict[str, str]]

# Everything the public view may hold; any other key is a leak.
PUBLIC_KEYS = {
    "token",
    "state",
    "category",
    "received_at",
    "due_at",
    "resolved_at",
    "closed_at",
    "overdue",
    "rated",
}
CONTENT = "楼道里堆满杂物，堵住了消防通道"
ADDRESS = "南新小区12号楼2单元"
PHONE = "13987654321"
NAME = "陈先生"
REPLY = "已通知物业清理，楼道已畅通"


@pytest.fixture
def request_case(client: TestClient, login: Login) -> dict[str, Any]:
    """A resident's request with every personal field filled in."""
    body = {
        "category": "street_vending",
        "content": CONTENT,
        "address": ADDRESS,
        "lat": 31.3012,
        "lon": 121.6041,
        "requester_name": NAME,
        "requester_phone": PHONE,
        "source": "web",
        "auto_dispatch": False,
    }
    return ok(client.post("/api/v1/cases", json=body, headers=login("resident_a")), 201)


def parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def tracked(client: TestClient, code: str, status: int = 200) -> dict[str, Any]:
    r = client.get(f"/api/v1/track/{code}")
    assert r.status_code == status, r.text
    data: dict[str, Any] = r.json()
    return data


def test_anyone_with_the_code_sees_the_state_and_nothing_personal(
    client: TestClient, request_case: dict[str, Any]
) -> None:
    r = client.get(f"/api/v1/track/{request_case['token']}")  # no Authorization header

    assert r.status_code == 200, r.text
    assert r.headers["cache-control"] == "no-store"
    view = r.json()
    assert set(view) == PUBLIC_KEYS
    assert set(view["category"]) == {"code", "name_zh", "name_en"}
    assert view["token"] == request_case["token"]
    assert view["state"] == "received"
    assert view["category"]["code"] == request_case["category"]
    assert view["category"]["name_zh"] == request_case["category_name_zh"]
    for when in ("received_at", "due_at"):
        assert parse(view[when]) == parse(request_case[when])
    assert (view["overdue"], view["rated"], view["resolved_at"], view["closed_at"]) == (
        False,
        False,
        None,
        None,
    )
    text = json.dumps(view, ensure_ascii=False)
    for personal in (CONTENT, ADDRESS, PHONE, PHONE[-4:], NAME, "31.3012", "121.6041", NANXIN):
        assert personal not in text


def test_the_view_follows_the_case_to_its_rating(
    client: TestClient, login: Login, request_case: dict[str, Any]
) -> None:
    code = request_case["token"]
    case = ok(
        act(client, login("dispatcher"), request_case, "dispatch", department="urban_management")
    )
    assert tracked(client, code)["state"] == "dispatched"
    case = ok(act(client, login("urban"), case, "accept"))
    case = ok(act(client, login("urban"), case, "resolve", reply=REPLY))
    resolved = tracked(client, code)
    assert resolved["state"] == "resolved" and resolved["resolved_at"] is not None
    assert resolved["rated"] is False
    assert REPLY not in json.dumps(resolved, ensure_ascii=False)

    ok(act(client, login("resident_a"), case, "callback", rating="satisfied"))

    closed = tracked(client, code)
    assert closed["state"] == "closed" and closed["closed_at"] is not None
    assert closed["rated"] is True
    assert set(closed) == PUBLIC_KEYS  # the rating itself is not shown either
    assert "satisfied" not in json.dumps(closed)


def test_codes_are_read_as_people_type_them(
    client: TestClient, request_case: dict[str, Any]
) -> None:
    code = request_case["token"]
    spaced = f" {code[:5].lower()}-{code[5:].lower()} "
    assert tracked(client, spaced)["token"] == code
    assert normalize_code(f"{code[:3]} {code[3:]}") == code


def test_an_overdue_request_says_so(client: TestClient, login: Login) -> None:
    body = {
        "category": "street_vending",
        "content": "楼道堆物",
        "jurisdiction": NANXIN,
        "received_at": (datetime.now(UTC) - timedelta(days=30)).isoformat(),
        "auto_dispatch": False,
    }
    case = ok(client.post("/api/v1/cases", json=body, headers=login("dispatcher")), 201)
    assert tracked(client, case["token"])["overdue"] is True


def test_an_unknown_code_is_404_and_a_malformed_one_422(client: TestClient) -> None:
    unknown = tracked(client, "ABCDEFGHJK", 404)
    assert unknown["error"]["code"] == "not_found"
    for bad in ("ABC", "ABCDEFGHJKL", "ABCDEFGHJ0", "ABCDEFGHJO", "ABCD!EFGHJ"):
        error = tracked(client, bad, 422)
        assert error["error"]["code"] == "invalid_input", bad
    too_long = tracked(client, "A" * 65, 422)
    assert too_long["error"]["code"] == "invalid_input"
    with pytest.raises(InvalidInput):
        normalize_code("")


def test_mediation_cases_are_not_tracked(client: TestClient, session: Session) -> None:
    data = CaseCreate(category="street_vending", content="邻里纠纷", kind="mediation")
    case = create_case(session, actor=SYSTEM, data=data)
    session.commit()
    assert tracked(client, case.token, 404)["error"]["code"] == "not_found"


def test_guessing_is_stopped_after_too_many_unknown_codes(
    app: Any, client: TestClient, request_case: dict[str, Any]
) -> None:
    clock = FakeClock()
    app.state.tracking_limiter = LookupLimiter(max_misses=5, window=600, clock=clock)
    code = request_case["token"]
    for i in range(3):
        tracked(client, f"ABCDEFGHJ{i + 2}", 404)
    tracked(client, "nope", 422)  # malformed codes count as well
    assert tracked(client, code)["token"] == code  # a hit costs nothing
    tracked(client, "ABCDEFGHJ9", 404)

    refused = tracked(client, code, 429)  # even the right code: no oracle past the limit
    assert refused["error"]["code"] == "too_many_requests"
    assert 0 < refused["error"]["details"]["retry_after_seconds"] <= 601
    again = client.get(f"/api/v1/track/{code}")
    assert again.status_code == 429
    assert again.headers["retry-after"] == str(
        again.json()["error"]["details"]["retry_after_seconds"]
    )

    clock.now += 601
    assert tracked(client, code)["state"] == "received"


def test_the_limiter_forgets_idle_clients_and_stays_bounded() -> None:
    clock = FakeClock()
    limiter = LookupLimiter(max_misses=2, window=60, max_clients=4, clock=clock)
    limiter.miss("a")
    limiter.miss("a")
    with pytest.raises(Exception, match="too many"):
        limiter.check("a")
    limiter.check("b")  # another address is not held back
    clock.now += 61
    limiter.check("a")
    for client in "cdefgh":
        limiter.miss(client)
    assert len(limiter._misses) <= 4


def test_nothing_a_case_holds_about_a_person_or_a_place_reaches_the_public_view(
    client: TestClient, login: Login, session: Session
) -> None:
    """Issue 12's trust check: numbers typed any way, a room address, a household's alarm."""
    spaced = "138 1234 5678，138-8765-4321，138.2468.1357，31011519900101777X"
    body = {
        "category": "street_vending",
        "content": f"{CONTENT} 请回电 {spaced}",
        "address": "高行镇华高庭园4号楼503室",
        "lat": 31.3012234,
        "lon": 121.6041234,
        "requester_name": NAME,
        "requester_phone": "139 8765 4321",
        "auto_dispatch": False,
    }
    filed = ok(client.post("/api/v1/cases", json=body, headers=login("resident_a")), 201)
    alarm = create_case(
        session,
        actor=SYSTEM,
        data=CaseCreate(
            category="iot_gas_alarm_home",
            kind="iot_alarm",
            source="iot",
            content="【物联告警】燃气浓度超限",
            address="高行镇华高庭园4号楼503室",
            requester_name="王老伯",
            requester_phone="13700001111",
        ),
    )
    session.commit()
    for code in (filed["token"], alarm.token):
        r = client.get(f"/api/v1/track/{code}")
        assert r.status_code == 200, r.text
        assert set(r.json()) == PUBLIC_KEYS
        text = r.text
        for personal in ("华高庭园", "503", "31.301", "121.604", NAME, "王老伯", "燃气浓度"):
            assert personal not in text
        # Not one run of seven digits, whatever separates them (dates and times aside).
        cleaned = re.sub(r"\d{4}-\d{2}-\d{2}T[\d:.]+(?:Z|[+-]\d{2}:\d{2})?", "", text)
        assert re.findall(r"\d(?:[\s\-.]{0,3}\d){6,}", cleaned) == []
