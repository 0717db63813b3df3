"""Open311's anonymous reads publish only what the town's public-output policy allows.

Finding 3 of issue 12: ``GET /open311/v2/requests.json?service_request_id=1,…,1000`` answered
every case in full — residents' private web requests, exact room addresses, phone numbers
written with spaces or dashes. These tests probe it the same way, anonymously, and read
every byte of the answer in JSON and XML.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
import xml.etree.ElementTree as ET
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import FakeClock, file_case, make_api_key
from tests.helpers import NANXIN, error_of, ok
from townops.access.actor import SYSTEM
from townops.cases.enums import Action
from townops.cases.models import Case
from townops.cases.schemas import ActionInput
from townops.cases.service import perform_action
from townops.open311 import service as open311_service
from townops.open311.config import Open311Public
from townops.open311.publication import is_public, is_safe_media_url, public_condition
from townops.ratelimit import MissLimiter
from townops.townfiles.loader import validate_town
from townops.towns.profile import TownProfile, get_profile

V2 = "/open311/v2"
Login = Callable[[str], dict[str, str]]
TINY = Path(__file__).resolve().parents[1] / "fixtures" / "towns" / "tiny"

# Numbers as people type them; none may be published as written.
PHONES = (
    "13812341234",
    "138 1234 5678",
    "138-8765-4321",
    "138.2468.1357",
    "139 12 34 56 78",
    "+86 (137) 1111-2222",
    "021-5861 2345",
    "135\u30009876\u30005432",  # ideographic spaces
    "136\u20141357\u20142468",  # em dashes
)
ID_NUMBER = "31011519900101777X"
ROOM_ADDRESS = "高行镇华高庭园4号楼503室"
BUILDING = "高行镇华高庭园4号楼"
PUBLIC_CATEGORY = "road_damage"  # Gaohang marks it public (town.yaml open311.public)
PRIVATE_CATEGORY = "house_leak"  # a home: not marked public

# Seven digits or more, whatever stands between them (up to three separators in a row).
_SEPARATOR = r"[\s\-\u2010-\u2015\u2212.\u00b7_/\\()\uff08\uff09\[\]]"
UNMASKED_NUMBER = re.compile(rf"\d(?:{_SEPARATOR}{{0,3}}\d){{6,}}")
# What may carry long digit runs in a published request and is not about anyone: dates,
# the W3C datetimes and the jurisdiction code (a community or micro-grid, 310115121020).
_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}"
    r"|(?<!\d)(?:19|20)\d{2}-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?!\d)"
)
_ADDRESS_ID = re.compile(r'"address_id":\s*"[0-9A-Za-z-]*"|<address_id>[0-9A-Za-z-]*</address_id>')


def unmasked_numbers(body: str) -> list[str]:
    cleaned = _ADDRESS_ID.sub("", _DATETIME.sub("", body))
    return UNMASKED_NUMBER.findall(cleaned)


@pytest.fixture
def api_key(session: Session) -> str:
    return make_api_key(session, "privacy-probe")


def system_case(session: Session, **fields: Any) -> Case:
    fields.setdefault("content", "路面坑洞")
    fields.setdefault("category", PUBLIC_CATEGORY)
    case = file_case(session, **fields)
    session.commit()
    return case


def with_policy(monkeypatch: pytest.MonkeyPatch, session: Session, **policy: Any) -> TownProfile:
    """Run the Open311 service under another public-output policy than Gaohang's."""
    profile = get_profile(session)
    public = Open311Public(**policy).model_dump(mode="json")
    raw = {**profile.raw, "open311": {**profile.raw["open311"], "public": public}}
    profile = dataclasses.replace(profile, raw=raw)
    monkeypatch.setattr(open311_service, "get_profile", lambda _session: profile)
    return profile


# --- the finding's probe -----------------------------------------------------------------


@pytest.fixture
def probe_cases(
    client: TestClient, session: Session, login: Login, api_key: str
) -> dict[str, list[int]]:
    """Every kind of case the town holds, each with private details, and what is public."""
    private: list[int] = []
    public: list[int] = []
    spaced = "，".join(PHONES)

    # A resident's request filed privately in the web app, as the page files it.
    for content in (f"私密诉求WEB1 请回电 {spaced}", f"私密诉求WEB2 身份证 {ID_NUMBER}"):
        body = {
            "category": PUBLIC_CATEGORY,  # even in a category the town publishes
            "content": content,
            "address": ROOM_ADDRESS,
            "lat": 31.301223,
            "lon": 121.604156,
            "requester_name": "陈先生",
            "requester_phone": PHONES[0],
            "auto_dispatch": False,
        }
        private.append(
            ok(client.post("/api/v1/cases", json=body, headers=login("resident_a")), 201)["id"]
        )
    # A case that says it came from the web app, whoever entered it.
    private.append(system_case(session, content="WEB3 网页来源", source="web").id)
    # A 12345 hotline call about a home, and a mediation (even one tagged open311).
    private.append(
        system_case(
            session,
            category=PRIVATE_CATEGORY,
            kind="hotline",
            source="12345",
            content=f"HOTLINE1 楼上漏水 {PHONES[1]}",
            address=ROOM_ADDRESS,
        ).id
    )
    private.append(
        system_case(session, kind="mediation", source="open311", content="MEDIATION1 邻里纠纷").id
    )
    # A gas alarm in an elderly person's home names the household.
    private.append(
        system_case(
            session,
            category="iot_gas_alarm_home",
            kind="iot_alarm",
            source="iot",
            content="IOTHOME1 燃气告警",
            address=ROOM_ADDRESS,
            requester_name="独居老人",
            requester_phone=PHONES[2],
        ).id
    )

    # Public: filed by an Open311 client, with numbers in every field a client can fill.
    r = client.post(
        f"{V2}/requests.json",
        data={
            "api_key": api_key,
            "service_code": PRIVATE_CATEGORY,
            "address_string": f"{ROOM_ADDRESS} 电话 {PHONES[3]}",
            "lat": "31.3012234",
            "long": "121.6041567",
            "description": f"OPEN311A 请联系 {spaced} 身份证 {ID_NUMBER} 于2022-12-01",
            "first_name": "芳",
            "last_name": "王",
            "phone": PHONES[4],
            "media_url": "https://photos.example.org/pothole.jpg",
        },
    )
    assert r.status_code == 200, r.text
    public.append(int(r.json()[0]["service_request_id"]))
    # Public: a hotline call in a category the town marks public (a street, not a home).
    public.append(
        system_case(
            session,
            kind="hotline",
            source="12345",
            content=f"HOTLINE2 东靖路路面塌陷，回电 {PHONES[5]} 或 {PHONES[6]}",
            address="东靖路1200弄3号501室",
            jurisdiction=NANXIN,
        ).id
    )
    return {"public": public, "private": private}


@pytest.mark.parametrize("suffix", ["json", "xml"])
def test_a_thousand_ids_probed_anonymously_give_only_public_masked_requests(
    app: Any, client: TestClient, session: Session, probe_cases: dict[str, list[int]], suffix: str
) -> None:
    app.state.open311_lookups = MissLimiter(max_misses=100_000)  # the limit is tested below
    known = probe_cases["public"] + probe_cases["private"]
    others = (i for i in range(min(known), min(known) + 2000) if i not in known)
    ids = known + [next(others) for _ in range(1000 - len(known))]
    assert len(set(ids)) == 1000

    r = client.get(
        f"{V2}/requests.{suffix}", params={"service_request_id": ",".join(map(str, ids))}
    )  # no key, no log-in

    assert r.status_code == 200, r.text
    body = r.text
    if suffix == "json":
        returned = [int(row["service_request_id"]) for row in r.json()]
    else:
        root = ET.fromstring(r.content)
        returned = [int(row.findtext("service_request_id") or 0) for row in root.findall("request")]
    # Only what the policy publishes: the Open311-filed request and the street hotline call.
    assert sorted(returned) == sorted(probe_cases["public"])
    for marker in (
        "WEB1",
        "WEB2",
        "WEB3",
        "HOTLINE1",
        "MEDIATION1",
        "IOTHOME1",
        "陈先生",
        "独居老人",
    ):
        assert marker not in body
    assert "OPEN311A" in body and "HOTLINE2" in body
    # Addresses stop at the building; no room, unit or floor.
    assert "503室" not in body and "501室" not in body and "503" not in body
    assert BUILDING in body and "东靖路1200弄3号" in body
    # Not one number of seven digits or more, whatever its separators, in any field.
    assert unmasked_numbers(body) == []
    assert ID_NUMBER not in body and "王芳" not in body and "芳" not in body
    assert "138****1234" in body  # masked, not dropped: the reader sees a number was given
    assert "2022-12-01" in body  # dates are not numbers to hide
    # Coordinates at about 100 m, not the reporter's door.
    assert "31.3012234" not in body and "121.6041567" not in body
    assert "31.301" in body and "121.604" in body
    assert "https://photos.example.org/pothole.jpg" in body


def test_the_probe_finds_every_public_case_in_the_list_and_none_of_the_others(
    client: TestClient, session: Session, probe_cases: dict[str, list[int]]
) -> None:
    listed = {int(row["service_request_id"]) for row in client.get(f"{V2}/requests.json").json()}
    assert set(probe_cases["public"]) <= listed
    assert not set(probe_cases["private"]) & listed
    text = client.get(f"{V2}/requests.xml").text
    assert unmasked_numbers(text) == [] and "503室" not in text

    # The Python rule and the SQL rule agree on every case.
    policy = get_profile(session).config(Open311Public)
    cases = session.scalars(
        select(Case).where(Case.id.in_(probe_cases["public"] + probe_cases["private"]))
    ).all()
    in_sql = set(session.scalars(select(Case.id).where(public_condition(policy))))
    for case in cases:
        assert is_public(case, policy) == (case.id in in_sql) == (case.id in probe_cases["public"])


def test_a_private_case_is_answered_exactly_like_a_case_that_does_not_exist(
    client: TestClient, session: Session, probe_cases: dict[str, list[int]]
) -> None:
    missing = max(probe_cases["public"] + probe_cases["private"]) + 10_000
    nothing = error_of(client.get(f"{V2}/requests/{missing}.json"), 404)
    for case_id in probe_cases["private"]:
        hidden = error_of(client.get(f"{V2}/requests/{case_id}.json"), 404)
        assert hidden.replace(str(case_id), "ID") == nothing.replace(str(missing), "ID")
        token = session.get_one(Case, case_id).token
        assert token in error_of(client.get(f"{V2}/tokens/{token}.json"), 404)
    for case_id in probe_cases["public"]:
        assert client.get(f"{V2}/requests/{case_id}.json").status_code == 200
        token = session.get_one(Case, case_id).token
        (row,) = client.get(f"{V2}/tokens/{token}.json").json()
        assert row["service_request_id"] == str(case_id)


# --- the policy is the town's --------------------------------------------------------------


def test_by_default_only_what_open311_clients_filed_is_public(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, session: Session
) -> None:
    with_policy(monkeypatch, session)  # Open311Public() : the default
    filed = system_case(session, source="open311")
    street = system_case(session, kind="hotline", source="12345")
    assert client.get(f"{V2}/requests/{filed.id}.json").status_code == 200
    assert client.get(f"{V2}/requests/{street.id}.json").status_code == 404


def test_a_town_may_publish_a_source_but_never_a_home_alarm(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, session: Session
) -> None:
    with_policy(monkeypatch, session, sources=["open311", "iot"])
    manhole = system_case(session, category="iot_manhole_cover", kind="iot_alarm", source="iot")
    home = system_case(
        session,
        category="iot_gas_alarm_home",
        kind="iot_alarm",
        source="iot",
        requester_phone=PHONES[0],
    )
    assert client.get(f"{V2}/requests/{manhole.id}.json").status_code == 200
    assert client.get(f"{V2}/requests/{home.id}.json").status_code == 404
    listed = {r["service_request_id"] for r in client.get(f"{V2}/requests.json").json()}
    assert str(manhole.id) in listed and str(home.id) not in listed


def test_kinds_outside_the_policy_are_not_public(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, session: Session
) -> None:
    with_policy(monkeypatch, session, kinds=["request"], categories=[PUBLIC_CATEGORY])
    request = system_case(session, source="12345")
    hotline = system_case(session, kind="hotline", source="12345")
    assert client.get(f"{V2}/requests/{request.id}.json").status_code == 200
    assert client.get(f"{V2}/requests/{hotline.id}.json").status_code == 404


def test_coordinates_are_published_at_the_towns_precision(
    monkeypatch: pytest.MonkeyPatch, client: TestClient, session: Session
) -> None:
    case = system_case(session, source="open311", lat=31.3012234, lon=121.6041567)
    (one,) = client.get(f"{V2}/requests/{case.id}.json").json()
    assert (one["lat"], one["long"]) == (31.301, 121.604)  # Gaohang: 3 decimals, ~100 m
    with_policy(monkeypatch, session, coordinate_decimals=2)
    (one,) = client.get(f"{V2}/requests/{case.id}.json").json()
    assert (one["lat"], one["long"]) == (31.3, 121.6)


def _tiny_town(tmp_path: Path, public: str) -> Path:
    directory = tmp_path / "town"
    shutil.copytree(TINY, directory)
    town = directory / "town.yaml"
    text = town.read_text(encoding="utf-8")
    anchor = '  key_service: "Test fixture, no keys"\n'
    assert anchor in text
    town.write_text(text.replace(anchor, anchor + public), encoding="utf-8")
    return directory


def test_a_valid_policy_validates(tmp_path: Path) -> None:
    public = (
        "  public:\n"
        "    sources: [open311, '12345']\n"
        "    categories: [gas_smell]\n"
        "    kinds: [request, hotline]\n"
        "    coordinate_decimals: 4\n"
    )
    assert validate_town(_tiny_town(tmp_path, public)) == []


@pytest.mark.parametrize(
    ("public", "line", "fragment"),
    [
        ("  public:\n    sources: [open311, web]\n", 14, "source 'web' is never public"),
        ("  public:\n    kinds: [request, mediation]\n", 14, "mediation cases"),
        ("  public:\n    kinds: [requests]\n", 14, "unknown case kind 'requests'"),
        ("  public:\n    categories:\n      - gas_smell\n      - nope\n", 16, "'nope' does not"),
        ("  public:\n    coordinate_decimals: 9\n", 14, "less than or equal to 6"),
        ("  public:\n    coordinate_decimals: '3'\n", 14, "valid integer"),
        ("  public:\n    sources: [open311, open311]\n", 14, "listed twice: open311"),
        ("  public:\n    everyone: true\n", 14, "Extra inputs are not permitted"),
    ],
)
def test_a_bad_policy_is_reported_with_its_file_and_line(
    tmp_path: Path, public: str, line: int, fragment: str
) -> None:
    issues = validate_town(_tiny_town(tmp_path, public))
    assert [(i.file, i.line) for i in issues] == [("town.yaml", line)], issues
    assert fragment in issues[0].message
    assert str(issues[0]).startswith(f"town.yaml:{line}: ")


def test_gaohang_publishes_open311_and_public_places_only(session: Session) -> None:
    policy = get_profile(session).config(Open311Public)
    assert policy.sources == ["open311"]
    assert set(policy.categories) == {"road_damage", "street_light", "public_toilet"}
    assert "mediation" not in policy.kinds and policy.coordinate_decimals == 3


# --- anonymous look-ups are limited ----------------------------------------------------------


@pytest.fixture
def clock(app: Any) -> Iterator[FakeClock]:
    clock = FakeClock()
    app.state.open311_lookups = MissLimiter(max_misses=5, window=600, clock=clock)
    yield clock


def test_guessing_tokens_and_ids_is_answered_429_in_open311_format(
    app: Any, client: TestClient, session: Session, clock: FakeClock
) -> None:
    case = system_case(session, source="open311")
    assert client.get(f"{V2}/tokens/{case.token}.json").status_code == 200  # a hit is free
    for guess in ("ABCDEFGHJ2", "ABCDEFGHJ3", "ABCDEFGHJ4"):
        error_of(client.get(f"{V2}/tokens/{guess}.json"), 404)
    error_of(client.get(f"{V2}/requests/999999999.json"), 404)
    error_of(client.get(f"{V2}/requests/abc.json"), 404)

    refused = client.get(f"{V2}/tokens/{case.token}.json")  # even the right token
    assert "too many" in error_of(refused, 429)
    assert 0 < int(refused.headers["retry-after"]) <= 601
    r = client.get(f"{V2}/requests/{case.id}.xml")
    assert r.status_code == 429 and r.headers["retry-after"]
    root = ET.fromstring(r.content)
    assert root.tag == "errors" and root.findtext("error/code") == "429"
    by_ids = client.get(f"{V2}/requests.json", params={"service_request_id": str(case.id)})
    error_of(by_ids, 429)
    # Another address is not held back; the list without ids is not a look-up.
    with TestClient(app, client=("203.0.113.9", 4000)) as other:
        assert other.get(f"{V2}/tokens/{case.token}.json").status_code == 200
    assert client.get(f"{V2}/requests.json").status_code == 200

    clock.now += 601
    assert client.get(f"{V2}/tokens/{case.token}.json").status_code == 200


def test_ids_that_find_nothing_count_against_the_limit(
    app: Any, client: TestClient, session: Session, clock: FakeClock
) -> None:
    case = system_case(session, source="open311")
    known = client.get(f"{V2}/requests.json", params={"service_request_id": str(case.id)})
    assert [r["service_request_id"] for r in known.json()] == [str(case.id)]
    guesses = ",".join(str(case.id + 100_000 + i) for i in range(1_100))
    # A list with misses is one miss, not 1,100: FixMyStreet sends every open report's id
    # at once, and a few the town stopped publishing must not lock it out.
    for _ in range(app.state.open311_lookups.max_misses - 1):
        r = client.get(f"{V2}/requests.json", params={"service_request_id": guesses})
        assert r.status_code == 200 and r.json() == []
    assert client.get(f"{V2}/requests/{case.id}.json").status_code == 200
    # Past the limit of lists that miss, the address waits like any guesser.
    client.get(f"{V2}/requests.json", params={"service_request_id": guesses})
    error_of(client.get(f"{V2}/requests/{case.id}.json"), 429)
    # A client that names itself with its key is known, not guessing: it is not held back
    # (FixMyStreet polls every open report's id); a wrong key is refused outright.
    key = make_api_key(session, "fixmystreet")
    known = client.get(
        f"{V2}/requests.json", params={"service_request_id": guesses, "api_key": key}
    )
    assert known.status_code == 200 and known.json() == []
    assert client.get(f"{V2}/requests/{case.id}.json", params={"api_key": key}).status_code == 200
    error_of(client.get(f"{V2}/requests/{case.id}.json", params={"api_key": "wrong"}), 403)


def test_a_reply_to_a_caller_is_not_published_word_for_word(
    client: TestClient, session: Session
) -> None:
    """A street light is public whoever reported it, but a reply written to a hotline
    caller may name them: only what a client filed has its reply published."""
    called = system_case(session, source="12345", content="路灯不亮")
    filed = system_case(session, source="open311", content="路灯不亮")
    for case in (called, filed):
        for action, extra in (
            (Action.dispatch, {"department": "construction_office"}),
            (Action.accept, {}),
            (Action.resolve, {"reply": "已联系张先生，路灯已修复"}),
        ):
            current = session.get(Case, case.id)
            assert current is not None
            body = ActionInput(version=current.version, **extra)
            perform_action(session, actor=SYSTEM, case_id=case.id, action=action, body=body)
    session.commit()
    (one,) = client.get(f"{V2}/requests/{called.id}.json").json()
    assert one["status"] == "closed" and "张先生" not in str(one)
    (other,) = client.get(f"{V2}/requests/{filed.id}.json").json()
    assert other["status_notes"] == "已联系张先生，路灯已修复"
    updates = client.get(f"{V2}/servicerequestupdates.json").json()
    fixed = {u["service_request_id"]: u["description"] for u in updates if u["status"] == "FIXED"}
    assert fixed[str(called.id)] == "已办结"
    assert fixed[str(filed.id)] == "已联系张先生，路灯已修复"


# --- hostile input --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "javascript:alert(document.cookie)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
        "//evil.example.org/x.jpg",
        "http:/no-host",
        "https://",
        "ftp://example.org/a.jpg",
    ],
)
def test_a_media_url_that_is_not_a_web_link_is_400_naming_media_url(
    client: TestClient, api_key: str, url: str
) -> None:
    r = client.post(
        f"{V2}/requests.json",
        data={
            "api_key": api_key,
            "service_code": PUBLIC_CATEGORY,
            "address_string": "东靖路",
            "description": "路面坑洞",
            "media_url": url,
        },
    )
    assert "media_url" in error_of(r, 400)


def test_web_links_and_the_towns_own_photos_are_accepted_as_media_url(
    client: TestClient, api_key: str
) -> None:
    for url in (
        "https://photos.example.org/a.jpg",
        "http://192.0.2.1:8080/a.jpg?size=large",
        "/api/v1/media/photos/12/full?exp=1765000000&sig=abc_DEF-123",
    ):
        assert is_safe_media_url(url), url
        r = client.post(
            f"{V2}/requests.json",
            data={
                "api_key": api_key,
                "service_code": PUBLIC_CATEGORY,
                "address_string": "东靖路",
                "description": "路面坑洞",
                "media_url": url,
            },
        )
        assert r.status_code == 200, r.text


def test_a_stored_script_url_is_never_republished(client: TestClient, session: Session) -> None:
    case = system_case(session, source="open311")
    # Stored before media URLs were checked on the way in (the schemas refuse it now).
    case.media_url = "javascript:alert(1)"
    session.commit()
    (one,) = client.get(f"{V2}/requests/{case.id}.json").json()
    assert one["media_url"] is None
    assert "javascript" not in client.get(f"{V2}/requests/{case.id}.xml").text


@pytest.mark.parametrize(
    "path",
    [
        "/requests/99999999999999999999.json",
        "/requests/\u0661\u0662.json",  # Arabic-Indic digits: isdigit() but not an id
        "/tokens/" + "A" * 300 + ".json",
    ],
)
def test_odd_ids_and_tokens_are_404_never_500(client: TestClient, path: str) -> None:
    error_of(client.get(V2 + path), 404)


@pytest.mark.parametrize(
    ("ids", "words"),
    [
        ("99999999999999999999", "too large"),
        (",".join(["7"] * 5_001), "at most 5000"),
        ("\u0661,2", "service_request_id"),
    ],
)
def test_odd_id_lists_are_400_never_500(client: TestClient, ids: str, words: str) -> None:
    r = client.get(f"{V2}/requests.json", params={"service_request_id": ids})
    assert words in error_of(r, 400)


def test_json_nested_thousands_deep_is_400(client: TestClient, api_key: str) -> None:
    body = b'{"a":' * 30_000 + b"1" + b"}" * 30_000
    r = client.post(
        f"{V2}/requests.json",
        params={"api_key": api_key},
        content=body,
        headers={"Content-Type": "application/json"},
    )
    assert r.status_code == 400, r.text[:200]
