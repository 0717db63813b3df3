"""Hostile input is refused cleanly: a structured 4xx naming the field, never a 500.

Issue 12, findings 7, 8, 9 and the request-body cap: concurrency losers, out-of-range
numbers and dates, over-long and NUL-containing text, duplicate external ids, deep and huge
bodies, server-set fields, the per-resident filing limit.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable, Iterator, MutableMapping
from pathlib import Path
from typing import Any

import anyio
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlalchemy.exc import DataError, IntegrityError, StatementError
from sqlalchemy.orm import Session

from tests.factories import case_body, category_code, persona_headers, post_case
from tests.helpers import NANXIN, act, ok
from tests.own_database import own_app
from townops.access.actor import SYSTEM, Actor, Role
from townops.api.limits import RequestLimits
from townops.auth.service import create_api_key
from townops.cases.intake import check_server_set_fields
from townops.cases.models import Case, CaseEvent
from townops.cases.schemas import CaseCreate
from townops.errors import Forbidden

Login = Callable[[str], dict[str, str]]

RACE_DATABASE = "townops_test_hostile"  # this file's own PostgreSQL database
HUGE = "99999999999999999999"
INT64_MAX = str(2**63 - 1)


def assert_error(response: Any, status: int, field: str | None = None) -> dict[str, Any]:
    """A structured error of ``status`` whose details name ``field``."""
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()
    assert set(body) == {"error"}, body
    assert {"code", "message", "details"} <= set(body["error"]), body
    if field is not None:
        assert field in str(body["error"]["details"]) or field in body["error"]["message"], body
    return body


# --- 7. concurrency losers -----------------------------------------------------------------


@pytest.fixture
def race_app(engine: Engine, tmp_path: Path) -> Iterator[tuple[Any, Engine]]:
    with own_app(engine, tmp_path, RACE_DATABASE) as app_and_engine:
        yield app_and_engine


def _logins(client: TestClient, *users: str) -> dict[str, dict[str, str]]:
    return {user: persona_headers(client, user) for user in users}


def _race(client: TestClient, n: int, request: Callable[[], Any]) -> list[Any]:
    """``n`` threads send ``request`` at the same moment; their responses."""
    barrier = threading.Barrier(n)
    responses: list[Any] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            barrier.wait(10)
            responses.append(request())
        except BaseException as exc:  # surfaced in the test's own thread below
            failures.append(exc)

    threads = [threading.Thread(target=run) for _ in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads)
    assert not failures, failures
    return responses


def test_twenty_parallel_resolves_with_one_version_give_one_200_and_nineteen_409(
    race_app: tuple[Any, Engine],
) -> None:
    app, own = race_app
    with TestClient(app, raise_server_exceptions=False) as client:
        h = _logins(client, "dispatcher", "housing")
        housing = category_code(client, h["dispatcher"], "housing_office", working_days=True)
        case = post_case(client, h["dispatcher"], case_body(housing))
        # A linked repeat: resolving answers it too (the step where the conflict surfaced).
        repeat = post_case(client, h["dispatcher"], case_body(housing))
        ok(act(client, h["dispatcher"], repeat, "link", duplicate_of=case["id"]))
        case = ok(act(client, h["dispatcher"], case, "dispatch", department="housing_office"))
        case = ok(act(client, h["housing"], case, "accept"))
        responses = _race(
            client, 20, lambda: act(client, h["housing"], case, "resolve", reply="已修好")
        )
    statuses = Counter(r.status_code for r in responses)
    assert statuses == {200: 1, 409: 19}, [r.text for r in responses if r.status_code != 200]
    for r in responses:
        if r.status_code == 409:
            assert r.json()["error"]["code"] == "stale_version", r.text
    with Session(own) as check:
        resolves = check.scalar(
            select(func.count())
            .select_from(CaseEvent)
            .where(CaseEvent.case_id == case["id"], CaseEvent.action == "resolve")
        )
        assert resolves == 1
        linked = check.get(Case, repeat["id"])
        assert linked is not None and linked.state == "resolved"


# --- 8. numbers and dates out of range -----------------------------------------------------


@pytest.mark.parametrize(
    ("url", "field"),
    [
        (f"/api/v1/cases/{HUGE}", "case_id"),
        (f"/api/v1/cases/{HUGE}/history", "case_id"),
        ("/api/v1/cases/0", "case_id"),
        (f"/api/v1/cases?page={INT64_MAX}", "page"),
        (f"/api/v1/cases?page_size={INT64_MAX}", "page_size"),
        ("/api/v1/cases?received_from=0001-01-01T00:00:00%2B14:00", "received_from"),
        ("/api/v1/cases?received_to=9999-12-31T23:59:59-12:00", "received_to"),
        (f"/api/v1/alarms?offset={HUGE}", "offset"),
        (f"/api/v1/alarms?case={HUGE}", "case"),
        (f"/api/v1/alarms/{HUGE}", "alarm_id"),
        (f"/api/v1/devices?page={INT64_MAX}", "page"),
        (f"/api/v1/systemic-issues/{HUGE}", "issue_id"),
        (f"/api/v1/systemic-issues?min_cases={HUGE}", "min_cases"),
        ("/api/v1/risk-map?at=0001-01-01", "at"),
        ("/api/v1/forecasts?as_of=0001-01-01", "as_of"),
    ],
)
def test_out_of_range_numbers_and_dates_are_a_422_naming_the_parameter(
    client: TestClient, login: Login, url: str, field: str
) -> None:
    body = assert_error(client.get(url, headers=login("duty")), 422, field)
    assert body["error"]["code"] == "invalid_input"


def test_out_of_range_post_targets_are_a_422(client: TestClient, login: Login) -> None:
    h = login("duty")
    r = client.post(f"/api/v1/cases/{HUGE}/actions/dispatch", json={"version": 1}, headers=h)
    assert_error(r, 422, "case_id")
    r = client.post(f"/api/v1/alarms/{HUGE}/acknowledge", headers=h)
    assert_error(r, 422, "alarm_id")
    r = client.post("/api/v1/cases/1/actions/dispatch", json={"version": 2**70}, headers=h)
    assert_error(r, 422, "version")


def test_anonymous_open311_with_a_huge_id_is_an_open311_error(client: TestClient) -> None:
    r = client.get(f"/open311/v2/requests/{HUGE}.json")
    assert 400 <= r.status_code < 500, r.text
    errors = r.json()
    assert isinstance(errors, list) and errors[0]["code"] == r.status_code


@pytest.mark.parametrize(
    "query",
    [
        {"start_date": "0001-01-01T00:00:00+14:00"},
        {"start_date": "9999-12-31T23:59:59-12:00", "end_date": "9999-12-31T23:59:59-12:00"},
        {"service_request_id": HUGE},
    ],
)
def test_anonymous_open311_with_extreme_dates_or_ids_is_an_open311_400(
    client: TestClient, query: dict[str, str]
) -> None:
    r = client.get("/open311/v2/requests.json", params=query)
    assert r.status_code == 400, r.text
    assert r.json()[0]["code"] == 400
    if "start_date" in query:  # the Open311 error names the parameter
        assert "start_date" in r.json()[0]["description"], r.text


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html,x",
        "file:///etc/passwd",
        "//evil.example/x.jpg",
    ],
)
def test_a_media_url_that_is_no_web_link_is_a_422_naming_it(
    client: TestClient, login: Login, url: str
) -> None:
    duty = login("duty")
    body = case_body(
        category_code(client, duty, "housing_office", working_days=True), media_url=url
    )
    assert_error(client.post("/api/v1/cases", json=body, headers=duty), 422, "media_url")
    good = case_body(
        category_code(client, duty, "housing_office", working_days=True),
        media_url="https://x.cn/a.jpg",
    )
    assert ok(client.post("/api/v1/cases", json=good, headers=duty), 201)["id"] > 0


def test_a_duplicate_source_and_external_id_is_a_409_naming_external_id(
    client: TestClient, login: Login
) -> None:
    h = login("dispatcher")
    housing = category_code(client, h, "housing_office", working_days=True)
    body = case_body(housing, source="hotline", external_id="20230001")
    ok(client.post("/api/v1/cases", json=body, headers=h), 201)
    error = assert_error(client.post("/api/v1/cases", json=body, headers=h), 409, "external_id")
    assert error["error"]["details"]["field"] == "external_id"
    # Another source may use the same number.
    ok(client.post("/api/v1/cases", json={**body, "source": "api"}, headers=h), 201)


# --- 8. text: lengths of the columns, NUL --------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("address", "楼" * 301),
        ("requester_phone", "1" * 41),
        ("requester_name", "王" * 101),
        ("requester_id_number", "3" * 41),
        ("content", "漏" * 5001),
        ("jurisdiction", "3" * 41),
        ("category", "c" * 61),
        ("media_url", "https://x/" + "a" * 500),
        ("external_id", "9" * 81),
        ("source", "s" * 21),
    ],
)
def test_text_longer_than_its_column_is_a_422_naming_the_field(
    client: TestClient, login: Login, field: str, value: str
) -> None:
    h = login("dispatcher")
    body = case_body(
        category_code(client, h, "housing_office", working_days=True), **{field: value}
    )
    error = assert_error(client.post("/api/v1/cases", json=body, headers=h), 422, field)
    assert error["error"]["details"]["problems"][0]["field"] == f"body.{field}"


@pytest.mark.parametrize("field", ["content", "address", "requester_name", "requester_phone"])
def test_nul_in_text_is_a_422_naming_the_field(
    client: TestClient, login: Login, field: str
) -> None:
    h = login("dispatcher")
    body = case_body(category_code(client, h, "housing_office", working_days=True))
    body[field] = "a\x00b"
    error = assert_error(client.post("/api/v1/cases", json=body, headers=h), 422, field)
    assert error["error"]["details"]["problems"][0]["field"] == f"body.{field}"


def test_nul_in_an_action_comment_a_query_or_a_form_is_a_422(
    client: TestClient, login: Login
) -> None:
    h = login("dispatcher")
    r = client.post(
        "/api/v1/cases/1/actions/dispatch", json={"version": 1, "comment": "\x00"}, headers=h
    )
    assert_error(r, 422, "comment")
    assert_error(client.get("/api/v1/cases?category=a%00b", headers=h), 422, "query.category")
    assert_error(client.get("/api/v1/devices?q=%00", headers=h), 422, "query.q")
    r = client.post("/api/v1/auth/token", data={"username": "duty\x00", "password": "x"})
    assert_error(r, 422, "body.username")


def test_raw_bytes_around_a_nul_in_a_query_or_form_are_a_422_not_a_500() -> None:
    async def never(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not be called")

    limits = RequestLimits(never, max_body_bytes=1024, max_upload_bytes=1, max_json_depth=64)
    for query, body in ((b"q\x93=%00\xbf", b""), (b"", b"a\xfe=%00\xff")):
        sent: list[dict[str, Any]] = []

        async def receive() -> MutableMapping[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}  # noqa: B023

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(dict(message))  # noqa: B023

        scope: dict[str, Any] = {
            "type": "http",
            "method": "POST",
            "path": "/api/v1/cases",
            "query_string": query,
            "headers": [(b"content-type", b"application/x-www-form-urlencoded")],
        }
        anyio.run(limits, scope, receive, send)
        assert sent[0]["status"] == 422, sent


def test_nul_on_open311_is_an_open311_400(client: TestClient) -> None:
    r = client.get("/open311/v2/requests.json", params={"service_code": "a\x00"})
    assert r.status_code == 400, r.text
    assert r.json()[0]["code"] == 400 and "service_code" in r.json()[0]["description"]


# --- deep and large bodies -----------------------------------------------------------------


def _deep(n: int) -> bytes:
    return b"[" * n + b"]" * n


def test_json_nested_thirty_thousand_deep_is_refused(client: TestClient, login: Login) -> None:
    h = {**login("dispatcher"), "Content-Type": "application/json"}
    body = b'{"content": ' + _deep(30_000) + b"}"
    error = assert_error(client.post("/api/v1/cases", content=body, headers=h), 422)
    assert "nested deeper" in str(error["error"]["details"])
    # Open311: its own format, whatever it declares.
    r = client.post("/open311/v2/requests.json", content=_deep(30_000), headers=h)
    assert r.status_code == 400 and r.json()[0]["code"] == 400, r.text
    # Just past the limit (64) is refused too; well within it is only the schema's business.
    error = assert_error(client.post("/api/v1/cases", content=_deep(65), headers=h), 422)
    assert error["error"]["details"]["problems"][0]["field"].startswith("body")
    r = client.post("/api/v1/cases", content=_deep(10), headers=h)
    assert_error(r, 422)
    assert "nested deeper" not in r.text


def test_a_body_past_the_cap_is_a_413_before_it_is_read(client: TestClient, login: Login) -> None:
    h = {**login("dispatcher"), "Content-Type": "application/json"}
    big = b'{"content": "' + b"a" * (2 * 1024 * 1024) + b'"}'
    error = assert_error(client.post("/api/v1/cases", content=big, headers=h), 413)
    assert error["error"]["code"] == "payload_too_large"
    assert error["error"]["details"]["limit_bytes"] == 1024 * 1024

    # 50 MB sent chunked (no Content-Length): refused soon after the cap, not read in full.
    pulled = 0

    async def receive() -> MutableMapping[str, Any]:
        nonlocal pulled
        pulled += 1
        return {"type": "http.request", "body": b" " * (1024 * 1024), "more_body": pulled < 50}

    sent: list[dict[str, Any]] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(dict(message))

    async def never(scope: Any, receive: Any, send: Any) -> None:
        raise AssertionError("the app must not be called")

    limits = RequestLimits(never, max_body_bytes=1024 * 1024, max_upload_bytes=1, max_json_depth=64)
    scope: dict[str, Any] = {
        "type": "http",
        "method": "POST",
        "path": "/api/v1/cases",
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"transfer-encoding", b"chunked")],
    }
    anyio.run(limits, scope, receive, send)
    assert sent[0]["status"] == 413
    assert pulled == 2, pulled
    r = client.post("/open311/v2/requests.json", content=big, headers=h)
    assert r.status_code == 413 and r.json()[0]["code"] == 413


def test_the_body_cap_is_a_setting(app: Any, client: TestClient, login: Login) -> None:
    limits = RequestLimits(app, max_body_bytes=10, max_upload_bytes=10, max_json_depth=2)
    small = TestClient(limits, raise_server_exceptions=False)
    h = {**login("dispatcher"), "Content-Type": "application/json"}
    assert_error(small.post("/api/v1/cases", content=b'{"content": "0123456789"}', headers=h), 413)
    assert_error(small.post("/api/v1/cases", content=b"[[[]]]", headers=h), 422, "body")


# --- 9. server-set fields, the filing limit ------------------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("kind", "iot_alarm"),
        ("kind", "mediation"),
        ("kind", "hotline"),
        ("source", "hotline"),
        ("external_id", "20230001"),
        ("received_at", "2022-01-01T09:00:00+08:00"),
    ],
)
def test_a_resident_may_not_set_server_set_fields(
    client: TestClient, login: Login, field: str, value: str
) -> None:
    h = login("resident_a")
    before = ok(client.get("/api/v1/cases?with_total=true", headers=h))["total"]
    body = {
        "category": "street_vending",
        "content": "楼道堆物",
        "jurisdiction": NANXIN,
        field: value,
    }
    error = assert_error(client.post("/api/v1/cases", json=body, headers=h), 403, field)
    assert error["error"]["details"]["field"] == field
    assert ok(client.get("/api/v1/cases?with_total=true", headers=h))["total"] == before


def test_a_resident_may_name_the_channel_and_the_intake_desk_may_set_everything(
    client: TestClient, login: Login
) -> None:
    body = {"category": "street_vending", "content": "楼道堆物", "jurisdiction": NANXIN}
    mine = ok(
        client.post(
            "/api/v1/cases",
            json={**body, "source": "web", "kind": "request"},
            headers=login("resident_a"),
        ),
        201,
    )
    assert (mine["kind"], mine["source"]) == ("request", "web")
    full = {
        **body,
        "kind": "hotline",
        "source": "hotline",
        "external_id": "20239999",
        "received_at": "2026-01-05T09:00:00+08:00",
    }
    case = ok(client.post("/api/v1/cases", json=full, headers=login("duty")), 201)
    assert (case["kind"], case["source"], case["external_id"]) == ("hotline", "hotline", "20239999")
    assert case["received_at"].startswith("2026-01-05T01:00:00")
    # iot_alarm cases are opened by townops itself, even for the intake desk.
    r = client.post(
        "/api/v1/cases", json={**body, "kind": "iot_alarm"}, headers=login("dispatcher")
    )
    assert_error(r, 403, "kind")
    # The grid worker's patrol report (the /report page) stays allowed.
    patrol = {
        "category": "street_vending",
        "content": "楼道堆物",
        "kind": "patrol",
        "source": "web",
    }
    ok(client.post("/api/v1/cases", json=patrol, headers=login("grid_nanxin")), 201)


def test_a_resident_past_the_daily_filing_limit_gets_429_with_retry_after(
    app: Any, client: TestClient, login: Login
) -> None:
    app.state.settings = app.state.settings.model_copy(update={"resident_cases_per_day": 3})
    h = login("resident_b")
    body = {"category": "street_vending", "content": "楼道堆物", "jurisdiction": NANXIN}
    for _ in range(3):
        ok(client.post("/api/v1/cases", json=body, headers=h), 201)
    r = client.post("/api/v1/cases", json=body, headers=h)
    error = assert_error(r, 429)
    assert error["error"]["code"] == "too_many_requests"
    assert 0 < int(r.headers["Retry-After"]) <= 24 * 3600
    # Staff are not limited.
    for _ in range(4):
        ok(client.post("/api/v1/cases", json=body, headers=login("dispatcher")), 201)


# --- the safety net ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (lambda: IntegrityError("INSERT", {}, Exception("unique")), 409),
        (lambda: DataError("INSERT", {}, Exception("value too long")), 422),
        (lambda: OverflowError("Python int too large to convert to SQLite INTEGER"), 422),
        (lambda: StatementError("bind", "SELECT", {}, OverflowError("too large")), 422),
    ],
)
def test_database_refusals_that_slip_past_the_schemas_are_4xx_not_500(
    app: Any, error: Callable[[], Exception], status: int
) -> None:
    def boom() -> None:
        raise error()

    app.add_api_route("/api/v1/test-boom", boom)
    app.add_api_route("/open311/v2/test-boom.json", boom)
    with TestClient(app, raise_server_exceptions=False) as c:
        assert_error(c.get("/api/v1/test-boom"), status)
        r = c.get("/open311/v2/test-boom.json")
        open311_status = 400 if status == 422 else status  # GeoReport v2: 400 for bad input
        assert r.status_code == open311_status and r.json()[0]["code"] == open311_status


# --- Open311 POST: the same bounds, in Open311's format ------------------------------------


@pytest.mark.parametrize(
    ("field", "value"),
    [("address_string", "楼" * 301), ("phone", "1" * 41), ("description", "漏" * 5001)],
)
def test_open311_text_longer_than_its_column_is_a_400(
    client: TestClient, session: Session, field: str, value: str
) -> None:
    key = create_api_key(session, name="hostile-test")
    session.commit()
    form = {
        "api_key": key,
        "service_code": "street_light",
        "description": "路灯不亮",
        "lat": "31.3012",
        "long": "121.6041",
        field: value,
    }
    r = client.post("/open311/v2/requests.json", data=form)
    assert r.status_code == 400, r.text
    assert r.json()[0]["code"] == 400


def test_a_schema_refusal_inside_a_service_is_a_422_not_a_500(app: Any) -> None:
    def build() -> None:
        CaseCreate(content="x", address="楼" * 301)

    app.add_api_route("/api/v1/test-schema", build)
    app.add_api_route("/open311/v2/test-schema.json", build)
    with TestClient(app, raise_server_exceptions=False) as c:
        error = assert_error(c.get("/api/v1/test-schema"), 422, "address")
        assert error["error"]["details"]["problems"][0]["field"] == "address"
        r = c.get("/open311/v2/test-schema.json")
        assert r.status_code == 400 and "address" in r.json()[0]["description"]


def test_an_open311_client_may_not_set_server_set_fields_either() -> None:
    client = Actor(username="open311:some-app", role=Role.admin)
    base = {"content": "路灯不亮", "kind": "request", "source": "open311"}
    check_server_set_fields(client, CaseCreate.model_validate(base))  # what its service sets
    for field, value in [
        ("kind", "iot_alarm"),
        ("kind", "hotline"),
        ("source", "hotline"),
        ("external_id", "20230001"),
        ("received_at", "2022-01-01T09:00:00+08:00"),
    ]:
        with pytest.raises(Forbidden) as refused:
            check_server_set_fields(client, CaseCreate.model_validate({**base, field: value}))
        assert refused.value.details["field"] == field
    # The system (imports, alarms, warnings) sets them all.
    system = CaseCreate.model_validate({**base, "kind": "iot_alarm", "external_id": "A-1"})
    check_server_set_fields(SYSTEM, system)


def test_uploads_keep_their_own_limit_under_the_multipart_cap(
    client: TestClient, login: Login
) -> None:
    h = login("resident_a")
    # Past the multipart cap (11 MiB): refused before it is read.
    huge = {"file": ("big.jpg", b"\xff" * (12 * 1024 * 1024), "image/jpeg")}
    error = assert_error(client.post("/api/v1/media/photos", files=huge, headers=h), 413)
    assert error["error"]["code"] == "payload_too_large"
    # Under the cap but over a photo's 10 MiB: the media service's own answer.
    big = {"file": ("big.jpg", b"\xff" * (10 * 1024 * 1024 + 10), "image/jpeg")}
    r = client.post("/api/v1/media/photos", files=big, headers=h)
    assert r.status_code == 413 and "10 MiB" in r.json()["error"]["message"], r.text


def test_the_openapi_documents_every_error_status(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            documented = set(operation["responses"])
            missing = {"400", "401", "403", "404", "409", "413", "422", "429"} - documented
            assert not missing, (method, path, missing)
    error = spec["components"]["schemas"]["ErrorOut"]
    assert error["required"] == ["error"]
