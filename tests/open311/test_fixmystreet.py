"""townops as FixMyStreet's Open311 back end: the requests FixMyStreet's client makes
(perllib/Open311.pm), and the answers it parses, driven through the real routes.

The field sets are those of ``_populate_service_request_params`` (a report),
``_populate_service_request_update_params`` (a comment) and
``get_service_request_updates`` (polling); XML is read the way the client's XML::Simple
set-up reads it: ``request`` and ``request_update`` forced to lists, an empty element as
"no value". Requests FixMyStreet's client really sent, recorded against townops, are in
``tests/open311/fixmystreet/`` and replayed by ``test_recorded_fixmystreet_requests``.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import make_api_key
from tests.helpers import act, error_of, ok
from tests.media.images import camera_jpeg
from townops.cases.models import Case, CaseEvent
from townops.media.models import Photo

V2 = "/open311/v2"
JURISDICTION_ID = "gaohang.pudong.shanghai.cn"
REPORT_URL = "https://www.fixmystreet.com/report/6543210"
FORM = "application/x-www-form-urlencoded"


@pytest.fixture
def api_key(session: Session) -> str:
    return make_api_key(session, "fixmystreet")


def fms_xml(response: Any) -> dict[str, list[dict[str, str | None]]]:
    """An answer as FixMyStreet's client sees it: each child of the root, by tag, as a
    list of {field: text or None}."""
    assert response.headers["content-type"].startswith("text/xml"), response.text
    root = ET.fromstring(response.content)
    out: dict[str, list[dict[str, str | None]]] = {}
    for item in root:
        out.setdefault(item.tag, []).append({f.tag: (f.text or None) for f in item})
    return out


def report_fields(api_key: str, **more: str) -> list[tuple[str, str]]:
    """A street-light report as ``_populate_service_request_params`` builds it, with
    ``extended_description`` (title, detail, the report's link) and ``multi_photos``
    (``media_url`` repeated)."""
    return [
        ("api_key", api_key),
        ("jurisdiction_id", JURISDICTION_ID),
        ("service_code", "street_light"),
        ("description", f"路灯不亮\n\n南新路88号门口的路灯一直不亮，晚上很黑。\n\n{REPORT_URL}\n"),
        ("lat", "31.29051"),
        ("long", "121.59522"),
        ("first_name", "Li"),
        ("last_name", "Wei"),
        ("email", "li.wei@example.org"),
        ("media_url", "https://www.fixmystreet.com/photo/6543210.0.full.jpeg"),
        ("media_url", "https://www.fixmystreet.com/photo/6543210.1.full.jpeg"),
        ("attribute[pole_number]", "GH-0123"),
        ("attribute[fault]", "out"),
        ("attribute[uprn]", "100023336956"),
        *more.items(),
    ]


def send_report(client: TestClient, api_key: str, **more: str) -> str:
    # HTTP::Request::Common percent-escapes the UTF-8 bytes of every value.
    body = urlencode(report_fields(api_key, **more))
    r = client.post(f"{V2}/requests.xml", content=body, headers={"Content-Type": FORM})
    assert r.status_code == 200, r.text
    (request,) = fms_xml(r)["request"]
    request_id = request["service_request_id"]
    assert request_id is not None and request_id.isdigit()
    return request_id


def updates_since(client: TestClient, api_key: str, start: datetime) -> list[dict[str, Any]]:
    """``get_service_request_updates($start, $end)``: both dates, W3CDTF, api_key."""
    params = {
        "api_key": api_key,
        "jurisdiction_id": JURISDICTION_ID,
        "start_date": start.isoformat(timespec="seconds"),
        "end_date": (datetime.now(UTC) + timedelta(minutes=1)).isoformat(timespec="seconds"),
    }
    r = client.get(f"{V2}/servicerequestupdates.xml", params=params)
    assert r.status_code == 200, r.text
    return fms_xml(r).get("request_update", [])


def case_of(session: Session, request_id: str) -> Case:
    session.expire_all()
    case = session.get(Case, int(request_id))
    assert case is not None
    return case


def move(
    client: TestClient, login: Callable[[str], dict[str, str]], request_id: str, **resolve: Any
) -> dict[str, Any]:
    """The town dispatches (unless routing already has), accepts and resolves the case
    through its own API."""
    dispatcher, handler = login("dispatcher"), login("construction")
    case = ok(client.get(f"/api/v1/cases/{request_id}", headers=dispatcher))
    if case["department"] != "construction_office":
        case = ok(act(client, dispatcher, case, "dispatch", department="construction_office"))
    case = ok(act(client, handler, case, "accept"))
    return ok(act(client, handler, case, "resolve", **resolve))


def upload(client: TestClient, headers: dict[str, str]) -> int:
    files = {"file": ("fixed.jpg", camera_jpeg(800, 600), "image/jpeg")}
    photo = ok(client.post("/api/v1/media/photos", files=files, headers=headers), 201)
    return int(photo["id"])


def fetch_image(client: TestClient, url: str) -> bytes:
    """What ``add_media`` does with a media_url: GET it, expect an image."""
    parts = urlsplit(url)
    assert parts.scheme == "http" and parts.netloc == "testserver", url
    r = client.get(f"{parts.path}?{parts.query}")
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg", r.text
    image: bytes = r.content
    return image


# --- a report goes in, with everything FixMyStreet sends ---------------------------------


def test_a_report_keeps_its_email_every_photo_link_and_its_attributes(
    client: TestClient, session: Session, api_key: str, login: Callable[[str], dict[str, str]]
) -> None:
    request_id = send_report(client, api_key)
    case = case_of(session, request_id)
    assert case.requester_email == "li.wei@example.org"
    assert case.requester_name == "Li Wei"
    assert case.media_urls == [
        "https://www.fixmystreet.com/photo/6543210.0.full.jpeg",
        "https://www.fixmystreet.com/photo/6543210.1.full.jpeg",
    ]
    assert case.media_url == case.media_urls[0]
    # Declared attributes are checked; FixMyStreet's own uprn is kept as sent.
    assert case.attributes == {"pole_number": "GH-0123", "fault": "out", "uprn": "100023336956"}
    assert "南新路88号门口的路灯一直不亮" in case.content

    # The dispatcher, who may call the requester, sees the e-mail; a handler of another
    # department does not see this case at all, and the public never sees contact data.
    seen = ok(client.get(f"/api/v1/cases/{request_id}", headers=login("dispatcher")))
    assert seen["requester"]["email"] == "li.wei@example.org"
    assert seen["attributes"]["pole_number"] == "GH-0123"
    assert seen["media_urls"] == case.media_urls
    leader = ok(client.get(f"/api/v1/cases/{request_id}", headers=login("leader")))
    assert leader["requester"]["email"] == "l***@example.org"
    public = client.get(f"{V2}/requests/{request_id}.json").json()[0]
    assert "li.wei" not in str(public) and "Li Wei" not in str(public)
    # The report's own link survives the public masking of long numbers.
    assert REPORT_URL in public["description"]
    assert public["media_url"] == case.media_urls[0]


def test_photos_sent_as_multipart_parts_are_stored_and_published(
    client: TestClient, session: Session, api_key: str
) -> None:
    """``upload_files`` / ``always_upload_photos``: photo1, photo2 as file parts, no
    media_url."""
    fields = [(k, v) for k, v in report_fields(api_key) if k != "media_url"]
    files = [
        ("photo1", ("6543210.0.full.jpeg", camera_jpeg(1600, 1200), "image/jpeg")),
        ("photo2", ("6543210.1.full.jpeg", camera_jpeg(900, 600, orientation=1), "image/jpeg")),
    ]
    r = client.post(f"{V2}/requests.xml", data=dict(fields), files=files)
    assert r.status_code == 200, r.text
    request_id = fms_xml(r)["request"][0]["service_request_id"]
    assert request_id is not None
    photos = list(
        session.scalars(select(Photo).where(Photo.case_id == int(request_id)).order_by(Photo.id))
    )
    assert [(p.stage, p.width) for p in photos] == [("report", 1200), ("report", 900)]
    assert {p.uploaded_by for p in photos} == {"open311:fixmystreet"}
    # Published as a link a client can fetch: the cleaned JPEG, no EXIF (no GPS) in it.
    (public,) = client.get(f"{V2}/requests/{request_id}.json").json()
    image = fetch_image(client, public["media_url"])
    assert image.startswith(b"\xff\xd8") and b"Exif" not in image[:4096]


def test_a_bad_part_or_attribute_is_a_400_naming_it_and_nothing_is_kept(
    client: TestClient, session: Session, api_key: str
) -> None:
    before = session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1))
    files = {"photo1": ("a.jpeg", b"not a picture", "image/jpeg")}
    fields = dict(report_fields(api_key))
    r = client.post(f"{V2}/requests.xml", data=fields, files=files)
    assert "photo1" in error_of_xml(r, 400)
    bad = [(k, "exploded" if k == "attribute[fault]" else v) for k, v in report_fields(api_key)]
    body = urlencode(bad)
    r = client.post(f"{V2}/requests.json", content=body, headers={"Content-Type": FORM})
    assert "fault" in error_of(r, 400) and "exploded" in error_of(r, 400)
    body = urlencode(report_fields(api_key, email="not an address"))
    r = client.post(f"{V2}/requests.json", content=body, headers={"Content-Type": FORM})
    assert "email" in error_of(r, 400)
    session.expire_all()
    assert session.scalar(select(Case.id).order_by(Case.id.desc()).limit(1)) == before


def error_of_xml(response: Any, status: int) -> str:
    assert response.status_code == status, response.text
    (error,) = fms_xml(response)["error"]
    assert error["code"] == str(status)
    return error["description"] or ""


def test_description_is_optional_as_the_spec_says(
    client: TestClient, session: Session, api_key: str
) -> None:
    fields = [(k, v) for k, v in report_fields(api_key) if k != "description"]
    r = client.post(
        f"{V2}/requests.json", content=urlencode(fields), headers={"Content-Type": FORM}
    )
    assert r.status_code == 200, r.text
    case = case_of(session, r.json()[0]["service_request_id"])
    # The case reads as its service and its attributes, in the town's words.
    assert case.content.startswith("路灯不亮")
    assert "灯杆编号（灯杆上的铭牌，如 GH-0123）：GH-0123" in case.content


@pytest.mark.parametrize(
    ("content_type", "encode"),
    [
        ("application/x-www-form-urlencoded; charset=utf-8", "utf-8"),
        ("application/x-www-form-urlencoded", "utf-8"),
        ("application/x-www-form-urlencoded; charset=GBK", "gbk"),
    ],
)
def test_a_raw_form_body_is_read_in_its_charset(
    client: TestClient, session: Session, api_key: str, content_type: str, encode: str
) -> None:
    """Some clients send the characters themselves, not percent-escapes."""
    body = (
        f"api_key={api_key}&service_code=street_light&lat=31.29&long=121.59"
        "&description=路灯坏了&first_name=李&last_name=伟"
    ).encode(encode)
    r = client.post(f"{V2}/requests.json", content=body, headers={"Content-Type": content_type})
    assert r.status_code == 200, r.text
    case = case_of(session, r.json()[0]["service_request_id"])
    assert (case.content, case.requester_name) == ("路灯坏了", "李伟")


def test_a_form_body_that_is_not_its_charset_is_a_400(client: TestClient, api_key: str) -> None:
    body = (
        f"api_key={api_key}&service_code=street_light&lat=31.29&long=121.59&description=".encode()
    )
    r = client.post(
        f"{V2}/requests.json",
        content=body + "路灯".encode("gbk"),
        headers={"Content-Type": "application/x-www-form-urlencoded; charset=utf-8"},
    )
    assert "UTF-8" in error_of(r, 400) or "utf-8" in error_of(r, 400)


# --- the service definition ---------------------------------------------------------------


def test_a_category_with_attributes_is_defined_for_fixmystreet(client: TestClient) -> None:
    """``get_service_meta_info``: FixMyStreet builds its form from this."""
    services = fms_xml(client.get(f"{V2}/services.xml"))["service"]
    light = next(s for s in services if s["service_code"] == "street_light")
    assert light["metadata"] == "true"
    r = client.get(f"{V2}/services/street_light.xml")
    root = ET.fromstring(r.content)
    assert root.tag == "service_definition"
    attributes = root.findall("attributes/attribute")
    assert [a.findtext("code") for a in attributes] == ["pole_number", "fault"]
    pole, fault = attributes
    assert (pole.findtext("datatype"), pole.findtext("required")) == ("string", "false")
    assert pole.findtext("variable") == "true" and pole.findtext("order") == "1"
    assert pole.findtext("description", "").startswith("灯杆编号")
    assert fault.findtext("datatype") == "singlevaluelist"
    keys = [(v.findtext("key"), v.findtext("name")) for v in fault.findall("values/value")]
    assert ("out", "不亮") in keys and len(keys) == 4
    english = client.get(f"{V2}/services/street_light.json", params={"locale": "en"}).json()
    assert english["attributes"][1]["values"][0] == {"key": "out", "name": "Not lit"}
    # A category without attributes still answers, with none.
    plain = client.get(f"{V2}/services/illegal_parking.json").json()
    assert plain == {"service_code": "illegal_parking", "attributes": []}


# --- updates come back --------------------------------------------------------------------


def test_each_step_reaches_fixmystreet_with_the_reply_and_the_photo(
    client: TestClient, api_key: str, login: Callable[[str], dict[str, str]]
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    request_id = send_report(client, api_key)
    photo = upload(client, login("construction"))
    move(client, login, request_id, reply="已更换灯泡，路灯恢复照明。", photos=[photo])

    mine = [
        u for u in updates_since(client, api_key, start) if u["service_request_id"] == request_id
    ]
    assert [u["status"] for u in mine] == ["ACTION_SCHEDULED", "IN_PROGRESS", "FIXED"]
    assert mine[-1]["description"] == "已更换灯泡，路灯恢复照明。"
    assert mine[0]["description"] == "已派单至承办单位"
    ids = [int(u["update_id"] or 0) for u in mine]
    assert ids == sorted(ids) and all(ids)
    times = [datetime.fromisoformat(u["updated_datetime"] or "") for u in mine]
    assert times == sorted(times) and all(t >= start for t in times)
    assert all((u["updated_datetime"] or "").endswith("+08:00") for u in mine)
    assert mine[0]["media_url"] is None
    assert fetch_image(client, mine[-1]["media_url"] or "").startswith(b"\xff\xd8")

    # GeoReport's own status: closed once resolved, and the reply as the status notes.
    (request,) = fms_xml(client.get(f"{V2}/requests/{request_id}.xml"))["request"]
    assert request["status"] == "closed"
    assert request["status_notes"] == "已更换灯泡，路灯恢复照明。"


def test_internal_steps_and_reasons_stay_inside(
    client: TestClient, api_key: str, login: Callable[[str], dict[str, str]]
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    request_id = send_report(client, api_key)
    handler = login("construction")
    case = ok(client.get(f"/api/v1/cases/{request_id}", headers=handler))
    assert case["department"] == "construction_office"  # routed on receipt
    case = ok(
        act(client, handler, case, "return", reason="内部原因：此路段归供电公司，联系人13900001111")
    )
    ok(act(client, login("duty"), case, "supervise", comment="督办：请加快"))
    mine = [
        u for u in updates_since(client, api_key, start) if u["service_request_id"] == request_id
    ]
    assert [u["status"] for u in mine] == ["ACTION_SCHEDULED", "INVESTIGATING"]
    assert "内部原因" not in str(mine) and "督办" not in str(mine)


def test_a_duplicate_is_reported_as_such_not_as_a_raw_state(
    client: TestClient, api_key: str, login: Callable[[str], dict[str, str]]
) -> None:
    start = datetime.now(UTC) - timedelta(minutes=1)
    first, second = send_report(client, api_key), send_report(client, api_key)
    dispatcher = login("dispatcher")
    case = ok(client.get(f"/api/v1/cases/{second}", headers=dispatcher))
    if case["state"] != "linked":  # routing may already have found the repeat
        ok(act(client, dispatcher, case, "link", duplicate_of=int(first)))
    (request,) = client.get(f"{V2}/requests/{second}.json").json()
    assert request["status"] == "open" and "linked" not in str(request)
    assert request["status_notes"] == "与此前反映的同一问题合并办理"
    (update,) = [
        u for u in updates_since(client, api_key, start) if u["service_request_id"] == second
    ]
    assert update["status"] == "DUPLICATE"
    assert update["description"] == f"与此前反映的同一问题（编号 {first}）合并办理"
    # Resolving the first answers the repeat: its reporter gets the reply and the photo.
    photo = upload(client, login("construction"))
    move(client, login, first, reply="已更换灯泡。", photos=[photo])
    steps = [u for u in updates_since(client, api_key, start) if u["service_request_id"] == second]
    assert [u["status"] for u in steps] == ["DUPLICATE", "FIXED"]
    assert steps[-1]["description"] == "已更换灯泡。"
    assert fetch_image(client, steps[-1]["media_url"] or "").startswith(b"\xff\xd8")


# --- comments go in -----------------------------------------------------------------------


def comment_fields(api_key: str, request_id: str, **more: str) -> dict[str, str]:
    """A comment as ``_populate_service_request_update_params`` builds it."""
    return {
        "api_key": api_key,
        "jurisdiction_id": JURISDICTION_ID,
        "service_request_id": request_id,
        "update_id": "88001",
        "updated_datetime": datetime.now(UTC).isoformat(timespec="seconds"),
        "status": "OPEN",
        "description": "灯还是不亮，昨晚又黑了一整夜。",
        "first_name": "Li",
        "last_name": "Wei",
        "email": "li.wei@example.org",
        **more,
    }


def post_comment(client: TestClient, fields: dict[str, str], files: Any = None) -> str:
    r = client.post(f"{V2}/servicerequestupdates.xml", data=fields, files=files)
    assert r.status_code == 200, r.text
    (update,) = fms_xml(r)["request_update"]
    update_id = update["update_id"]
    assert update_id is not None and update_id.isdigit()
    return update_id


def test_open_on_a_resolved_case_reopens_it_and_a_repeat_changes_nothing(
    client: TestClient, session: Session, api_key: str, login: Callable[[str], dict[str, str]]
) -> None:
    request_id = send_report(client, api_key)
    move(client, login, request_id, reply="已修复")
    start = datetime.now(UTC) - timedelta(seconds=1)

    update_id = post_comment(client, comment_fields(api_key, request_id))
    case = case_of(session, request_id)
    assert case.state == "reopened" and case.reopen_count == 1
    # FixMyStreet retries a comment whose answer it lost: same answer, nothing new.
    assert post_comment(client, comment_fields(api_key, request_id)) == update_id
    events = list(
        session.scalars(
            select(CaseEvent.action).where(
                CaseEvent.case_id == int(request_id), CaseEvent.action.in_(["comment", "reopen"])
            )
        )
    )
    assert sorted(events) == ["comment", "reopen"]

    (request,) = client.get(f"{V2}/requests/{request_id}.json").json()
    assert request["status"] == "open"
    mine = [
        u for u in updates_since(client, api_key, start) if u["service_request_id"] == request_id
    ]
    # The comment comes back under the id FixMyStreet already holds, so it is not doubled.
    (comment,) = [u for u in mine if u["update_id"] == update_id]
    assert comment["status"] == "FIXED"
    assert comment["description"] == "灯还是不亮，昨晚又黑了一整夜。"
    assert mine[-1]["status"] == "OPEN" and int(mine[-1]["update_id"] or 0) > int(update_id)


def test_a_comment_on_an_open_case_adds_to_it_with_its_photo(
    client: TestClient, session: Session, api_key: str, login: Callable[[str], dict[str, str]]
) -> None:
    request_id = send_report(client, api_key)
    state = case_of(session, request_id).state
    files = {"photo1": ("88002.0.full.jpeg", camera_jpeg(640, 480), "image/jpeg")}
    fields = comment_fields(api_key, request_id, update_id="88002", status="CLOSED")
    update_id = post_comment(client, fields, files=files)
    case = case_of(session, request_id)
    assert case.state == state  # a client cannot close a case; the comment stays
    event = session.get(CaseEvent, int(update_id))
    assert event is not None and event.action == "comment" and event.data["reference"] == "88002"
    photos = list(session.scalars(select(Photo).where(Photo.case_id == case.id)))
    assert [p.stage for p in photos] == ["comment"]
    # The town sees the comment and its photo on the case.
    history = client.get(f"/api/v1/cases/{request_id}/history", headers=login("dispatcher")).json()
    assert any(e["action"] == "comment" and "昨晚" in e["comment"] for e in history)


def test_a_comment_needs_a_key_a_public_request_and_something_to_say(
    client: TestClient, api_key: str
) -> None:
    request_id = send_report(client, api_key)
    fields = comment_fields(api_key, request_id)
    assert "api_key" in error_of_xml(
        client.post(f"{V2}/servicerequestupdates.xml", data={**fields, "api_key": "nope"}), 403
    )
    assert "999999" in error_of_xml(
        client.post(
            f"{V2}/servicerequestupdates.xml", data={**fields, "service_request_id": "999999"}
        ),
        404,
    )
    empty = {**fields, "description": "", "update_id": "88003"}
    assert "description" in error_of_xml(
        client.post(f"{V2}/servicerequestupdates.xml", data=empty), 400
    )
    odd = {**fields, "status": "EXPLODED"}
    assert "status" in error_of_xml(client.post(f"{V2}/servicerequestupdates.xml", data=odd), 400)


# --- polling at scale ----------------------------------------------------------------------


def test_an_explicit_id_list_is_answered_in_full_past_a_thousand(
    client: TestClient, api_key: str
) -> None:
    """``Open311::GetUpdates`` sends every open report's id in one GET."""
    real = [send_report(client, api_key) for _ in range(3)]
    unknown = [str(900_000 + i) for i in range(1_200)]
    ids = [real[0], *unknown[:1_100], real[1], *unknown[1_100:], real[2]]
    r = client.get(f"{V2}/requests.xml", params={"service_request_id": ",".join(ids)})
    assert r.status_code == 200, r.text
    found = {row["service_request_id"] for row in fms_xml(r)["request"]}
    assert found == set(real)


def test_a_start_date_alone_is_walked_forward_oldest_first(
    client: TestClient, api_key: str
) -> None:
    start = datetime.now(UTC) - timedelta(seconds=1)
    made = [send_report(client, api_key) for _ in range(3)]
    params = {"start_date": start.isoformat(timespec="seconds")}
    listed = [
        r["service_request_id"] for r in client.get(f"{V2}/requests.json", params=params).json()
    ]
    assert listed[: len(made)] == made
    newest_first = [r["service_request_id"] for r in client.get(f"{V2}/requests.json").json()]
    assert newest_first[: len(made)] == made[::-1]


# --- requests FixMyStreet's own client sent, replayed ------------------------------------

RECORDED = Path(__file__).parent / "fixmystreet"


def replay(
    client: TestClient, name: str, fill: dict[str, str] | None = None, *, window: bool = False
) -> Any:
    """Send a recorded request as it was sent, its placeholders filled in
    (``tests/open311/fixmystreet/README.md``). ``window``: the recorded poll asked for the
    two hours before it was made; ask for the two hours before now (only the dates change).
    """
    raw = (RECORDED / name).read_bytes()
    head, _, body = raw.partition(b"\n\n")
    request_line, content_type = head.decode().split("\n")
    method, target, _version = request_line.split(" ")
    if window:
        now = datetime.now(UTC)
        for field, moment in (("start_date", now - timedelta(hours=2)), ("end_date", now)):
            stamp = quote((moment + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ"))
            target = re.sub(f"{field}=[^&]*", f"{field}={stamp}", target)
    for key, value in (fill or {}).items():
        target = target.replace("{" + key + "}", value)
        body = body.replace(b"{" + key.encode() + b"}", value.encode())
    body = body.replace(b"{jpeg}", camera_jpeg(64, 48, orientation=1))
    headers = {"Content-Type": content_type.partition(":")[2].strip()}
    if method == "GET":
        return client.get(target)
    return client.post(target, content=body, headers=headers)


def test_recorded_fixmystreet_requests(
    client: TestClient, session: Session, api_key: str, login: Callable[[str], dict[str, str]]
) -> None:
    services = fms_xml(replay(client, "get_services.http"))["service"]
    assert {"street_light", "road_damage"} <= {s["service_code"] for s in services}
    definition = ET.fromstring(replay(client, "get_service_definition.http").content)
    assert [a.findtext("code") for a in definition.iter("attribute")] == ["pole_number", "fault"]

    # A report: the name as the resident typed it, the e-mail, both links, the attributes,
    # the description's CRLFs as plain line breaks.
    r = replay(client, "post_request.http", {"api_key": api_key})
    assert r.status_code == 200, r.text
    (request,) = fms_xml(r)["request"]
    report = case_of(session, request["service_request_id"] or "")
    assert report.requester_name == "王小明"
    assert report.requester_email == "wang.xiaoming@example.org"
    assert report.attributes == {"fault": "out", "pole_number": "GH-0123"}
    assert len(report.media_urls) == 2 and "\r" not in report.content
    assert report.content.startswith("路灯不亮：金高路东侧\n\n")

    r = replay(client, "post_request_multipart.http", {"api_key": api_key})
    assert r.status_code == 200, r.text
    (with_photos,) = fms_xml(r)["request"]
    photos = session.scalars(
        select(Photo.stage).where(Photo.case_id == int(with_photos["service_request_id"] or 0))
    ).all()
    assert photos == ["report", "report"]

    r = replay(client, "get_token.http", {"token": request["token"] or ""})
    assert fms_xml(r)["request"][0]["service_request_id"] == request["service_request_id"]

    # The town resolves the report; FixMyStreet's poll gets each step, the reply last.
    move(client, login, str(report.id), reply="路灯已修复，感谢反映。")
    r = replay(client, "get_updates.http", {"api_key": api_key}, window=True)
    assert r.status_code == 200, r.text
    steps = [u for u in fms_xml(r)["request_update"] if u["service_request_id"] == str(report.id)]
    assert steps[-1]["status"] == "FIXED" and steps[-1]["description"] == "路灯已修复，感谢反映。"

    # The resident says it is not fixed: the case is reopened; the repeat changes nothing.
    ids = {"api_key": api_key, "service_request_id": str(report.id)}
    first = fms_xml(replay(client, "post_update.http", ids))["request_update"][0]
    again = fms_xml(replay(client, "post_update.http", ids))["request_update"][0]
    assert first["update_id"] == again["update_id"]
    assert case_of(session, str(report.id)).state == "reopened"
    # A comment with a photo part, and one with a photo link.
    other = {"api_key": api_key, "service_request_id": with_photos["service_request_id"] or ""}
    for name in ("post_update_multipart.http", "post_update_media_url.http"):
        r = replay(client, name, other)
        assert r.status_code == 200, r.text
    stages = session.scalars(
        select(Photo.stage).where(Photo.case_id == int(other["service_request_id"]))
    ).all()
    assert sorted(str(stage) for stage in stages) == ["comment", "report", "report"]
    link = "https://fms.example.org/photo/c/5004.0.full.jpeg"
    comments = session.scalars(
        select(CaseEvent).where(
            CaseEvent.case_id == int(other["service_request_id"]), CaseEvent.action == "comment"
        )
    ).all()
    (linked,) = [c for c in comments if c.data.get("media_urls")]
    assert linked.data["media_urls"] == [link] and link not in linked.comment
    # … and it goes back out as the update's media_url, not folded into its text.
    r = replay(client, "get_updates.http", {"api_key": api_key}, window=True)
    (out,) = [u for u in fms_xml(r)["request_update"] if u["update_id"] == str(linked.id)]
    assert out["media_url"] == link and out["description"] == "又拍了一张。"

    # Polling by ids (the older way): unknown ids are simply absent.
    r = replay(client, "get_requests_by_ids.http")
    assert r.status_code == 200 and "request" not in fms_xml(r)


def test_updates_without_dates_are_the_latest_told_oldest_first(
    client: TestClient, api_key: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Some FixMyStreet bodies poll with no dates: they get what is new."""
    monkeypatch.setattr("townops.open311.updates.MAX_RESULTS", 2)
    request_id = send_report(client, api_key)
    first = post_comment(
        client, comment_fields(api_key, request_id, update_id="1", status="CLOSED")
    )
    second = post_comment(
        client, comment_fields(api_key, request_id, update_id="2", status="CLOSED")
    )
    r = client.get(f"{V2}/servicerequestupdates.xml", params={"api_key": api_key})
    assert [u["update_id"] for u in fms_xml(r)["request_update"]] == [first, second]
