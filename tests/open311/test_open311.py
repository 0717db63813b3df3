"""Open311 GeoReport v2 at /open311/v2, checked the way third-party clients would use it."""

from __future__ import annotations

import asyncio
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import make_api_key
from tests.helpers import error_of
from townops.access.actor import SYSTEM
from townops.auth.service import create_api_key
from townops.cases.enums import Action, Rating
from townops.cases.schemas import ActionInput, CaseCreate
from townops.cases.service import create_case, get_case_for, perform_action
from townops.categories.models import Category

V2 = "/open311/v2"
PHONE = "13812341234"
JURISDICTION_ID = "gaohang.pudong.shanghai.cn"


@pytest.fixture
def api_key(session: Session) -> str:
    return make_api_key(session, "test-app")


@pytest.fixture
def category(session: Session) -> Category:
    found = session.scalars(
        select(Category).where(Category.deadline_working_days.is_not(None)).order_by(Category.code)
    ).first()
    assert found is not None
    return found


def post_request(client: TestClient, api_key: str, service_code: str, **fields: str) -> Any:
    body = {
        "api_key": api_key,
        "service_code": service_code,
        "address_string": "高行镇南新居民区 12号楼",
        "description": "楼道里堆满杂物，堵住了消防通道",
        **fields,
    }
    return client.post(f"{V2}/requests.json", data=body)


def submitted(client: TestClient, api_key: str, service_code: str, **fields: str) -> dict[str, Any]:
    r = post_request(client, api_key, service_code, **fields)
    assert r.status_code == 200, r.text
    rows = r.json()
    assert isinstance(rows, list) and len(rows) == 1
    row: dict[str, Any] = rows[0]
    return row


def xml_of(response: Any, root: str) -> ET.Element:
    assert response.headers["content-type"].startswith("text/xml"), response.text
    assert response.content.startswith(b"<?xml")
    tree = ET.fromstring(response.content)
    assert tree.tag == root
    return tree


# --- discovery and services --------------------------------------------------------------


def test_discovery_names_the_v2_endpoint_in_json_and_xml(client: TestClient) -> None:
    d = client.get(f"{V2}/discovery.json").json()
    assert d["contact"] and d["key_service"] and d["changeset"].endswith("+08:00")
    (endpoint,) = d["endpoints"]
    assert endpoint["specification"] == "http://wiki.open311.org/GeoReport_v2"
    assert endpoint["url"] == "http://testserver/open311/v2"
    assert endpoint["type"] == "production"
    assert endpoint["formats"] == ["text/xml", "application/json"]

    root = xml_of(client.get(f"{V2}/discovery.xml"), "discovery")
    assert root.findtext("contact") == d["contact"]
    xml_endpoint = root.find("endpoints/endpoint")
    assert xml_endpoint is not None
    assert xml_endpoint.findtext("url") == "http://testserver/open311/v2"
    assert [f.text for f in xml_endpoint.findall("formats/format")] == endpoint["formats"]


def test_every_category_is_a_service_in_json_and_xml(client: TestClient, session: Session) -> None:
    # Device alarms and vital-sign warnings are opened by townops, never by a person.
    codes = set(session.scalars(select(Category.code).where(Category.opened_by == "people")))
    assert "iot_fire_alarm" not in codes
    services = client.get(f"{V2}/services.json").json()
    assert {s["service_code"] for s in services} == codes
    first = services[0]
    assert first["type"] == "realtime" and first["metadata"] is False
    assert set(first) == {
        "service_code",
        "service_name",
        "description",
        "metadata",
        "type",
        "keywords",
        "group",
    }
    root = xml_of(client.get(f"{V2}/services.xml"), "services")
    assert {s.findtext("service_code") for s in root.findall("service")} == codes
    with_attributes = {s.findtext("service_code") for s in root.findall("service[metadata='true']")}
    assert with_attributes == {c.code for c in session.scalars(select(Category)) if c.attributes}
    assert "street_light" in with_attributes and len(with_attributes) < len(codes)
    # No suffix is read as JSON.
    assert client.get(f"{V2}/services").json() == services


def test_service_names_are_chinese_unless_english_is_asked_for(
    client: TestClient, category: Category
) -> None:
    def name(**kwargs: Any) -> str:
        rows = client.get(f"{V2}/services.json", **kwargs).json()
        found: str = next(s["service_name"] for s in rows if s["service_code"] == category.code)
        return found

    assert name() == category.name_zh
    assert name(params={"locale": "en"}) == category.name_en
    assert name(headers={"Accept-Language": "en-GB,en;q=0.9,zh;q=0.5"}) == category.name_en
    assert name(headers={"Accept-Language": "zh-CN,en;q=0.8"}) == category.name_zh


def test_a_service_definition_has_no_attributes_and_an_unknown_code_is_404(
    client: TestClient, category: Category
) -> None:
    d = client.get(f"{V2}/services/{category.code}.json").json()
    assert d == {"service_code": category.code, "attributes": []}
    root = xml_of(client.get(f"{V2}/services/{category.code}.xml"), "service_definition")
    assert root.findtext("service_code") == category.code
    assert root.find("attributes") is not None

    assert "no_such" in error_of(client.get(f"{V2}/services/no_such.json"), 404)
    assert "iot_fire_alarm" in error_of(client.get(f"{V2}/services/iot_fire_alarm.json"), 404)
    r = client.get(f"{V2}/services/no_such.xml")
    assert r.status_code == 404
    errors = xml_of(r, "errors")
    assert errors.findtext("error/code") == "404"
    assert "no_such" in (errors.findtext("error/description") or "")


def test_an_unsupported_format_is_an_error_in_the_spec_format(client: TestClient) -> None:
    assert "format" in error_of(client.get(f"{V2}/services.html"), 404)


# --- POST and GET requests ---------------------------------------------------------------


def test_a_posted_request_can_be_read_by_id_and_by_token_in_json_and_xml(
    client: TestClient, api_key: str, category: Category
) -> None:
    # A point at the published precision (3 decimals, ~100 m), so it comes back as sent.
    receipt = submitted(client, api_key, category.code, lat="31.291", long="121.595")
    request_id, token = receipt["service_request_id"], receipt["token"]
    assert request_id.isdigit() and token and receipt["account_id"] is None
    assert token in receipt["service_notice"]

    (one,) = client.get(f"{V2}/requests/{request_id}.json").json()
    assert one["service_request_id"] == request_id
    assert one["status"] == "open" and one["service_code"] == category.code
    assert one["service_name"] == category.name_zh
    assert one["description"] == "楼道里堆满杂物，堵住了消防通道"
    assert one["lat"] == pytest.approx(31.291) and one["long"] == pytest.approx(121.595)
    assert one["requested_datetime"].endswith("+08:00")
    assert datetime.fromisoformat(one["expected_datetime"]) > datetime.fromisoformat(
        one["requested_datetime"]
    )
    assert one["agency_responsible"]  # the operations centre holds it until dispatch

    root = xml_of(client.get(f"{V2}/requests/{request_id}.xml"), "service_requests")
    assert root.findtext("request/service_request_id") == request_id
    assert root.findtext("request/status") == "open"
    assert root.find("request/zipcode") is not None  # absent values are empty elements

    (by_token,) = client.get(f"{V2}/tokens/{token}.json").json()
    assert by_token == {"service_request_id": request_id, "token": token}
    root = xml_of(client.get(f"{V2}/tokens/{token.lower()}.xml"), "service_requests")
    assert root.findtext("request/service_request_id") == request_id

    listed = client.get(f"{V2}/requests.json", params={"status": "open"}).json()
    assert request_id in [r["service_request_id"] for r in listed]
    listed = client.get(f"{V2}/requests.json", params={"status": "closed"}).json()
    assert request_id not in [r["service_request_id"] for r in listed]
    listed = client.get(f"{V2}/requests.json", params={"service_code": category.code}).json()
    assert request_id in [r["service_request_id"] for r in listed]


def test_a_multipart_post_is_accepted_too(
    client: TestClient, api_key: str, category: Category
) -> None:
    fields = {
        "api_key": api_key,
        "service_code": category.code,
        "address_string": "高行镇",
        "description": "路灯不亮",
    }
    r = client.post(f"{V2}/requests.xml", files={"media": ("a.txt", b"x")}, data=fields)
    # A file part is a photo, checked like the app's: a text file is refused, by its field.
    assert r.status_code == 400, r.text
    assert "media" in (xml_of(r, "errors").findtext("error/description") or "")
    r = client.post(f"{V2}/requests.xml", data=fields, files={"ignored": ("", b"")})
    assert r.status_code == 200, r.text
    root = xml_of(r, "service_requests")
    assert (root.findtext("request/service_request_id") or "").isdigit()


def test_a_json_body_with_the_key_in_the_query_string_is_accepted_leniently(
    client: TestClient, api_key: str, category: Category
) -> None:
    body = {"service_code": category.code, "lat": 31.29, "long": 121.595, "description": "噪音扰民"}
    r = client.post(f"{V2}/requests.json", params={"api_key": api_key}, json=body)
    assert r.status_code == 200, r.text
    assert r.json()[0]["service_request_id"].isdigit()
    r = client.post(
        f"{V2}/requests.json", content=b"{", headers={"Content-Type": "application/json"}
    )
    assert "JSON" in error_of(r, 400)


def test_posting_without_a_valid_api_key_is_403(client: TestClient, category: Category) -> None:
    r = client.post(
        f"{V2}/requests.json",
        data={"service_code": category.code, "address_string": "x", "description": "y"},
    )
    assert "api_key" in error_of(r, 403)
    r = post_request(client, "to_not-a-key", category.code)
    assert "api_key" in error_of(r, 403)
    r = client.post(f"{V2}/requests.xml", data={"service_code": category.code})
    assert r.status_code == 403
    assert xml_of(r, "errors").findtext("error/code") == "403"


def test_an_unknown_or_missing_service_code_is_refused(client: TestClient, api_key: str) -> None:
    assert "no_such" in error_of(post_request(client, api_key, "no_such"), 404)
    assert "service_code" in error_of(post_request(client, api_key, ""), 400)


def test_a_request_needs_a_location(client: TestClient, api_key: str, category: Category) -> None:
    r = post_request(client, api_key, category.code, address_string="")
    assert "location" in error_of(r, 400)
    r = post_request(client, api_key, category.code, lat="31.29")
    assert "long" in error_of(r, 400)
    r = post_request(client, api_key, category.code, lat="north", long="121.6")
    assert "lat" in error_of(r, 400)
    r = post_request(client, api_key, category.code, address_id="nowhere")
    assert "address_id" in error_of(r, 400)


def test_an_address_id_is_a_place_in_the_jurisdiction_tree(
    client: TestClient, api_key: str, category: Category
) -> None:
    receipt = submitted(
        client, api_key, category.code, address_string="", address_id="310115121020"
    )
    (one,) = client.get(f"{V2}/requests/{receipt['service_request_id']}.json").json()
    assert one["address_id"] == "310115121020"


def test_a_foreign_jurisdiction_id_is_404_and_this_towns_is_accepted(
    client: TestClient, api_key: str, category: Category
) -> None:
    r = post_request(client, api_key, category.code, jurisdiction_id="sfgov.org")
    assert "jurisdiction_id" in error_of(r, 404)
    r = client.get(f"{V2}/services.json", params={"jurisdiction_id": "sfgov.org"})
    assert "sfgov.org" in error_of(r, 404)
    submitted(client, api_key, category.code, jurisdiction_id=JURISDICTION_ID)
    submitted(client, api_key, category.code, jurisdiction_id="310115121")
    assert client.get(f"{V2}/requests.json", params={"jurisdiction_id": ""}).status_code == 200


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start_date": "yesterday"}, "start_date"),
        ({"end_date": "2024-13-01T00:00:00Z"}, "end_date"),
        ({"status": "pending"}, "status"),
        ({"service_request_id": "1,abc"}, "service_request_id"),
        ({"start_date": "2024-01-01T00:00:00Z", "end_date": "2024-06-01T00:00:00Z"}, "90 days"),
        ({"start_date": "2024-02-01T00:00:00Z", "end_date": "2024-01-01T00:00:00Z"}, "before"),
    ],
)
def test_bad_query_values_are_400_never_500(
    client: TestClient, params: dict[str, str], words: str
) -> None:
    assert words in error_of(client.get(f"{V2}/requests.json", params=params), 400)
    r = client.get(f"{V2}/requests.xml", params=params)
    assert r.status_code == 400 and xml_of(r, "errors").findtext("error/code") == "400"


def test_unknown_requests_and_tokens_are_404(client: TestClient) -> None:
    assert "999999" in error_of(client.get(f"{V2}/requests/999999.json"), 404)
    assert "abc" in error_of(client.get(f"{V2}/requests/abc.json"), 404)
    assert "NOPE" in error_of(client.get(f"{V2}/tokens/NOPE.json"), 404)


def test_a_closed_case_is_closed_and_filtered_by_status(
    client: TestClient, session: Session, api_key: str, category: Category
) -> None:
    receipt = submitted(client, api_key, category.code)
    case_id = int(receipt["service_request_id"])
    steps: list[tuple[Action, dict[str, Any]]] = [
        (Action.dispatch, {"department": category.department_code}),
        (Action.accept, {}),
        (Action.resolve, {"reply": "已清理楼道杂物"}),
        (Action.callback, {"rating": Rating.satisfied}),
    ]
    for action, extra in steps:
        case = get_case_for(session, actor=SYSTEM, case_id=case_id)
        body = ActionInput(version=case.version, **extra)
        perform_action(session, actor=SYSTEM, case_id=case_id, action=action, body=body)
    session.commit()

    (one,) = client.get(f"{V2}/requests/{case_id}.json").json()
    assert one["status"] == "closed"
    # The reply is what the resident waits for: it is the status notes once resolved.
    assert one["status_notes"] == "已清理楼道杂物"
    assert one["updated_datetime"] is not None
    (en,) = client.get(f"{V2}/requests/{case_id}.json", params={"locale": "en"}).json()
    assert en["status_notes"] == "已清理楼道杂物" and en["service_name"] == category.name_en
    closed = client.get(f"{V2}/requests.json", params={"status": "closed"}).json()
    assert str(case_id) in [r["service_request_id"] for r in closed]
    both = client.get(f"{V2}/requests.json", params={"status": "open,closed"}).json()
    assert str(case_id) in [r["service_request_id"] for r in both]


def test_public_output_carries_no_names_or_phone_numbers(
    client: TestClient, api_key: str, category: Category
) -> None:
    receipt = submitted(
        client,
        api_key,
        category.code,
        first_name="芳",
        last_name="王",
        phone=PHONE,
        email="wang@example.com",
        description=f"请回电 {PHONE}，王芳",
    )
    request_id = receipt["service_request_id"]
    for suffix in ("json", "xml"):
        for path in (f"/requests/{request_id}.{suffix}", f"/requests.{suffix}"):
            text = client.get(V2 + path).text
            assert PHONE not in text and "wang@example.com" not in text
            assert "138****1234" in text
    (one,) = client.get(f"{V2}/requests/{request_id}.json").json()
    assert not {"phone", "first_name", "last_name", "email", "requester"} & set(one)


def test_the_list_is_newest_first_within_the_last_90_days_unless_dates_are_given(
    client: TestClient, session: Session, category: Category
) -> None:
    now = datetime.now(UTC)

    def case_at(when: datetime) -> str:
        # Filed as an Open311 client files: public by the town's policy.
        data = CaseCreate(
            category=category.code, content="旧诉求", received_at=when, source="open311"
        )
        return str(create_case(session, actor=SYSTEM, data=data, now=now).id)

    old, recent, newer = (case_at(now - timedelta(days=d)) for d in (120, 10, 1))
    session.commit()
    ids = [r["service_request_id"] for r in client.get(f"{V2}/requests.json").json()]
    assert old not in ids
    assert ids.index(newer) < ids.index(recent)
    window = {
        "start_date": (now - timedelta(days=121)).isoformat(),
        "end_date": (now - timedelta(days=119)).isoformat(),
    }
    ids = [r["service_request_id"] for r in client.get(f"{V2}/requests.json", params=window).json()]
    assert ids == [old]
    by_id = client.get(f"{V2}/requests.json", params={"service_request_id": f"{old},{newer}"})
    assert [r["service_request_id"] for r in by_id.json()] == [newer, old]


def test_mediation_cases_are_not_published(
    client: TestClient, session: Session, category: Category
) -> None:
    # Even from a source the policy publishes, a mediation is never public.
    data = CaseCreate(
        category=category.code, content="邻里纠纷", kind="mediation", source="open311"
    )
    case = create_case(session, actor=SYSTEM, data=data)
    session.commit()
    error_of(client.get(f"{V2}/requests/{case.id}.json"), 404)
    error_of(client.get(f"{V2}/tokens/{case.token}.json"), 404)


def test_markup_in_a_description_is_escaped_in_xml(
    client: TestClient, api_key: str, category: Category
) -> None:
    text = 'Tom & Jerry <b>"loud"</b> \x0b at night'
    receipt = submitted(client, api_key, category.code, description=text)
    root = xml_of(
        client.get(f"{V2}/requests/{receipt['service_request_id']}.xml"), "service_requests"
    )
    assert root.findtext("request/description") == 'Tom & Jerry <b>"loud"</b>  at night'


def test_an_idempotency_key_makes_a_retried_post_answer_the_first_request(
    client: TestClient, session: Session, api_key: str, category: Category
) -> None:
    def post(key: str, client_key: str = api_key, **fields: str) -> Any:
        body = {
            "api_key": client_key,
            "service_code": category.code,
            "address_string": "高行镇南新居民区 12号楼",
            "description": "楼道里堆满杂物",
            **fields,
        }
        return client.post(f"{V2}/requests.json", data=body, headers={"Idempotency-Key": key})

    first = post("retry-1")
    assert first.status_code == 200, first.text
    again = post("retry-1")  # the response was lost; the client sends it again
    assert again.status_code == 200, again.text
    assert again.json()[0]["service_request_id"] == first.json()[0]["service_request_id"]
    assert again.json()[0]["token"] == first.json()[0]["token"]
    # Another request under the same key is refused, naming the header.
    assert "Idempotency-Key" in error_of(post("retry-1", description="另一件事"), 400)
    assert "Idempotency-Key" in error_of(post("x" * 201), 400)
    # Keys belong to their client: another client's same key is its own request.
    other_key = create_api_key(session, name="other-app")
    session.commit()
    other = post("retry-1", client_key=other_key)
    assert other.status_code == 200, other.text
    assert other.json()[0]["service_request_id"] != first.json()[0]["service_request_id"]
    # Without the header every POST is a new request, as before.
    ids = {submitted(client, api_key, category.code)["service_request_id"] for _ in range(2)}
    assert len(ids) == 2


# --- an independent client ---------------------------------------------------------------


class GeoReportClient:
    """What a third-party app does: discover the endpoint, then plain HTTP and parsing."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def endpoint(self, discovery_url: str) -> str:
        discovery = json.loads((await self.http.get(discovery_url)).text)
        url: str = next(
            e["url"]
            for e in discovery["endpoints"]
            if e["specification"] == "http://wiki.open311.org/GeoReport_v2"
            and "text/xml" in e["formats"]
        )
        return url

    async def xml(self, url: str, **params: str) -> ET.Element:
        r = await self.http.get(url, params=params)
        assert r.headers["content-type"] == "text/xml; charset=utf-8"
        return ET.fromstring(r.content)

    async def post(self, url: str, fields: dict[str, str]) -> tuple[int, ET.Element]:
        r = await self.http.post(url, data=fields)  # application/x-www-form-urlencoded
        return r.status_code, ET.fromstring(r.content)


def test_an_independent_georeport_client_can_report_and_track_a_problem(
    app: Any, api_key: str
) -> None:
    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as http:
            client = GeoReportClient(http)
            base = await client.endpoint("/open311/v2/discovery.json")
            services = await client.xml(f"{base}/services.xml")
            code = services.findtext("service/service_code") or ""
            assert code

            status, answer = await client.post(
                f"{base}/requests.xml",
                {
                    "api_key": api_key,
                    "jurisdiction_id": JURISDICTION_ID,
                    "service_code": code,
                    "lat": "31.2905",
                    "long": "121.5952",
                    "description": "人行道井盖缺失",
                    "attribute[WHISPAWN]": "123456",
                },
            )
            assert status == 200
            request_id = answer.findtext("request/service_request_id") or ""
            token = answer.findtext("request/token") or ""

            tracked = await client.xml(f"{base}/tokens/{token}.xml")
            assert tracked.findtext("request/service_request_id") == request_id
            request = await client.xml(f"{base}/requests/{request_id}.xml")
            assert request.findtext("request/status") == "open"
            assert request.findtext("request/service_code") == code
            requested = datetime.fromisoformat(request.findtext("request/requested_datetime") or "")
            assert requested.utcoffset() == timedelta(hours=8)

            start = (datetime.now(UTC) - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
            listed = await client.xml(f"{base}/requests.xml", start_date=start, status="open")
            ids = [r.findtext("service_request_id") for r in listed.findall("request")]
            assert request_id in ids

            status, errors = await client.post(f"{base}/requests.xml", {"service_code": code})
            assert status == 403 and errors.tag == "errors"

    asyncio.run(scenario())
