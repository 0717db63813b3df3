"""Photos through the HTTP API: upload, attach to a new case and to a resolve, who may see
them, signed URLs. Runs on SQLite and PostgreSQL like every storage test."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from io import BytesIO
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.helpers import NANXIN, act, ok
from tests.media.images import camera_jpeg, png
from townops.access.actor import Actor
from townops.media import service
from townops.media.models import Photo
from townops.timeutil import utcnow

Login = Callable[[str], dict[str, str]]
Upload = Callable[..., Any]


@pytest.fixture
def upload(client: TestClient, login: Login) -> Upload:
    """``upload("resident_a")`` → the response of POST /api/v1/media/photos."""

    def send(
        user: str, data: bytes | None = None, filename: str = "photo.jpg", mime: str = "image/jpeg"
    ) -> Any:
        body = camera_jpeg(1200, 900) if data is None else data
        files = {"file": (filename, body, mime)}
        return client.post("/api/v1/media/photos", files=files, headers=login(user))

    return send


@pytest.fixture
def new_case(
    client: TestClient, login: Login, housing_category: str
) -> Callable[..., httpx.Response]:
    """``new_case(user="resident_a", **fields)``: the response of POST /api/v1/cases (not
    the case: tests here expect refusals too). A resident's own request, so not the hotline
    ticket of tests/factories.py (a resident may not file kind "hotline")."""

    def make(user: str = "resident_a", **extra: Any) -> httpx.Response:
        body = {
            "category": housing_category,
            "content": "楼道墙面渗水，墙皮脱落",
            "address": "高行镇南新居民区 8号楼",
            "jurisdiction": NANXIN,
            "auto_dispatch": False,
            **extra,
        }
        response: httpx.Response = client.post("/api/v1/cases", json=body, headers=login(user))
        return response

    return make


def _photo_count(session: Session) -> int:
    return session.scalar(select(func.count(Photo.id))) or 0


def _image(response: Any) -> Image.Image:
    image = Image.open(BytesIO(response.content))
    image.load()
    return image


def _history(client: TestClient, login: Login, case_id: int) -> list[dict[str, Any]]:
    r = client.get(f"/api/v1/cases/{case_id}/history", headers=login("duty"))
    assert r.status_code == 200, r.text
    events: list[dict[str, Any]] = r.json()
    return events


# --------------------------------------------------------------------------- upload


def test_a_jpeg_and_a_png_upload_and_come_back_as_clean_jpegs(
    client: TestClient, upload: Upload
) -> None:
    jpeg = ok(upload("resident_a", camera_jpeg(3000, 2000, orientation=6)), 201)
    assert (jpeg["width"], jpeg["height"]) == (1365, 2048)  # upright, long side 2048
    assert jpeg["content_type"] == "image/jpeg" and jpeg["size"] > 0
    full = client.get(jpeg["url"])  # signed: no bearer
    thumb = client.get(jpeg["thumb_url"])
    assert full.status_code == 200 and thumb.status_code == 200
    assert full.headers["content-type"] == "image/jpeg"
    assert len(full.content) == jpeg["size"]
    assert _image(full).size == (1365, 2048) and _image(thumb).size == (213, 320)
    assert len(thumb.content) < len(full.content)
    assert _image(full).getexif() == {} and b"Exif\x00\x00" not in full.content

    shot = ok(upload("housing", png(800, 600), "plan.png", "image/png"), 201)
    assert (shot["width"], shot["height"]) == (800, 600)
    assert _image(client.get(shot["url"])).format == "JPEG"


@pytest.mark.parametrize(
    ("data", "filename", "status", "code"),
    [
        (b"\x00\x13\x37garbage" * 100, "x.jpg", 422, "unsupported_image"),
        (b"just some text, named like a photo\n", "notes.jpg", 422, "unsupported_image"),
        (b"", "empty.jpg", 422, "empty_file"),
        (b"\xff\xd8" + b"\x00" * service.MAX_UPLOAD_BYTES, "big.jpg", 413, "too_large"),
    ],
    ids=["garbage", "text-named-jpg", "empty", "too-large"],
)
def test_what_is_not_a_photo_is_refused_and_nothing_is_stored(
    upload: Upload, session: Session, data: bytes, filename: str, status: int, code: str
) -> None:
    before = _photo_count(session)
    r = upload("resident_a", data, filename)
    assert r.status_code == status, r.text
    error = r.json()["error"]
    assert error["code"] == code and error["details"]["field"] == "file" and error["message"]
    assert _photo_count(session) == before


def test_an_upload_needs_a_login_and_a_file(client: TestClient, login: Login) -> None:
    files = {"file": ("a.jpg", camera_jpeg(100, 100), "image/jpeg")}
    assert client.post("/api/v1/media/photos", files=files).status_code == 401
    r = client.post("/api/v1/media/photos", headers=login("resident_a"))
    assert r.status_code == 422 and r.json()["error"]["code"] == "invalid_input"


def test_uploads_are_limited_per_user_and_hour(
    upload: Upload, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(service, "UPLOADS_PER_HOUR", 2)
    small = camera_jpeg(200, 100)
    ok(upload("resident_a", small), 201)
    ok(upload("resident_a", small), 201)
    r = upload("resident_a", small)
    assert r.status_code == 429 and r.json()["error"]["code"] == "too_many_uploads"
    ok(upload("resident_b", small), 201)  # someone else's count is their own


# --------------------------------------------------------------------------- attach


def test_photos_sent_with_a_new_case_belong_to_it_and_the_event_records_them(
    client: TestClient, login: Login, upload: Upload, new_case: Callable[..., Any]
) -> None:
    ids = [ok(upload("resident_a"), 201)["id"] for _ in range(2)]
    created = ok(new_case(photos=ids), 201)
    case = ok(client.get(f"/api/v1/cases/{created['id']}", headers=login("resident_a")))
    assert [p["id"] for p in case["photos"]] == ids
    assert {p["stage"] for p in case["photos"]} == {"report"}
    assert all(p["url"].startswith(f"/api/v1/media/photos/{p['id']}/full?") for p in case["photos"])
    assert client.get(case["photos"][0]["thumb_url"]).status_code == 200
    create = _history(client, login, created["id"])[0]
    assert create["action"] == "create" and create["data"]["photos"] == ids

    # Staff who may see the case see the photos too (bearer, no signature).
    photo = case["photos"][1]["id"]
    r = client.get(f"/api/v1/media/photos/{photo}/full", headers=login("duty"))
    assert r.status_code == 200 and r.headers["content-type"] == "image/jpeg"
    # Attached once, for good: not again.
    again = new_case(photos=[photo])
    assert again.status_code == 422
    assert again.json()["error"]["details"]["bad_ids"] == [photo]


def test_a_case_without_photos_records_none(
    client: TestClient, login: Login, new_case: Callable[..., Any]
) -> None:
    created = ok(new_case(), 201)
    assert ok(client.get(f"/api/v1/cases/{created['id']}", headers=login("duty")))["photos"] == []
    assert "photos" not in _history(client, login, created["id"])[0]["data"]


def test_resolve_photos_are_attached_with_the_reply_and_recorded_in_its_event(
    client: TestClient, login: Login, upload: Upload, new_case: Callable[..., Any]
) -> None:
    report = ok(upload("resident_a"), 201)["id"]
    case = ok(new_case(photos=[report]), 201)
    case = ok(act(client, login("dispatcher"), case, "dispatch", department="housing_office"))
    case = ok(act(client, login("housing"), case, "accept"))
    after = [ok(upload("housing"), 201)["id"] for _ in range(2)]
    case = ok(act(client, login("housing"), case, "resolve", reply="已修补墙面", photos=after))
    assert case["state"] == "resolved"
    assert [(p["id"], p["stage"]) for p in case["photos"]] == [
        (report, "report"),
        (after[0], "resolve"),
        (after[1], "resolve"),
    ]
    resolve = next(e for e in _history(client, login, case["id"]) if e["action"] == "resolve")
    assert resolve["data"]["photos"] == after
    # The resident sees the handler's photos of their own case.
    mine = ok(client.get(f"/api/v1/cases/{case['id']}", headers=login("resident_a")))
    assert len(mine["photos"]) == 3
    r = client.get(f"/api/v1/media/photos/{after[0]}/thumb", headers=login("resident_a"))
    assert r.status_code == 200


def test_photos_go_with_resolve_only(
    client: TestClient, login: Login, upload: Upload, new_case: Callable[..., Any]
) -> None:
    case = ok(new_case(), 201)
    photo = ok(upload("dispatcher"), 201)["id"]
    r = act(
        client, login("dispatcher"), case, "dispatch", department="housing_office", photos=[photo]
    )
    assert r.status_code == 422
    assert r.json()["error"]["details"]["field"] == "photos"
    now = ok(client.get(f"/api/v1/cases/{case['id']}", headers=login("duty")))
    assert now["state"] == "received" and now["version"] == case["version"]


def test_nobody_attaches_someone_elses_photo_and_nothing_is_attached_then(
    client: TestClient,
    login: Login,
    upload: Upload,
    new_case: Callable[..., Any],
    session: Session,
) -> None:
    theirs = ok(upload("resident_a"), 201)["id"]
    mine = ok(upload("resident_b"), 201)["id"]
    before = ok(client.get("/api/v1/cases", headers=login("resident_b")))["items"]
    r = new_case(user="resident_b", photos=[mine, theirs, 987654])
    assert r.status_code == 422, r.text
    details = r.json()["error"]["details"]
    assert details["field"] == "photos" and details["bad_ids"] == [theirs, 987654]
    # Someone else's photo and a missing one read the same: existence is not revealed.
    assert {p["problem"] for p in details["problems"]} == {"no such photo of yours"}
    assert ok(client.get("/api/v1/cases", headers=login("resident_b")))["items"] == before
    assert session.get(Photo, mine) is not None
    assert session.scalar(select(Photo.case_id).where(Photo.id == mine)) is None

    # The same on a resolve: the case stays as it was.
    case = ok(new_case(), 201)
    case = ok(act(client, login("dispatcher"), case, "dispatch", department="housing_office"))
    case = ok(act(client, login("housing"), case, "accept"))
    r = act(client, login("housing"), case, "resolve", reply="已处理", photos=[theirs])
    assert r.status_code == 422 and r.json()["error"]["details"]["bad_ids"] == [theirs]
    assert ok(client.get(f"/api/v1/cases/{case['id']}", headers=login("duty")))["state"] == (
        "accepted"
    )


def test_at_most_nine_photos_at_once(
    client: TestClient, login: Login, new_case: Callable[..., Any]
) -> None:
    r = new_case(photos=list(range(1, 11)))
    assert r.status_code == 422
    assert r.json()["error"]["details"]["problems"][0]["field"].endswith("photos")


def test_a_photo_listed_twice_is_refused_and_the_other_is_not_attached_either(
    upload: Upload, new_case: Callable[..., Any], session: Session
) -> None:
    twice, other = (ok(upload("resident_a"), 201)["id"] for _ in range(2))
    r = new_case(photos=[other, twice, twice])
    assert r.status_code == 422
    assert r.json()["error"]["details"]["problems"] == [{"id": twice, "problem": "listed twice"}]
    assert session.scalar(select(Photo.case_id).where(Photo.id == other)) is None


# --------------------------------------------------------------------------- reading


def test_another_resident_cannot_fetch_a_photo(
    client: TestClient, login: Login, upload: Upload, new_case: Callable[..., Any]
) -> None:
    loose = ok(upload("resident_a"), 201)["id"]
    attached = ok(upload("resident_a"), 201)["id"]
    ok(new_case(photos=[attached]), 201)
    for photo in (loose, attached, 987654):
        r = client.get(f"/api/v1/media/photos/{photo}/full", headers=login("resident_b"))
        assert r.status_code == 404, photo
        assert r.json()["error"]["code"] == "not_found"
    # The uploader sees their own, attached or not.
    for photo in (loose, attached):
        assert (
            client.get(
                f"/api/v1/media/photos/{photo}/thumb", headers=login("resident_a")
            ).status_code
            == 200
        )
    # A handler of another department does not see the resident's case's photo.
    assert (
        client.get(f"/api/v1/media/photos/{attached}/full", headers=login("urban")).status_code
        == 404
    )


def test_a_signed_url_works_without_a_bearer_and_only_as_signed(
    client: TestClient, upload: Upload, session: Session
) -> None:
    shot = ok(upload("resident_a"), 201)
    r = client.get(shot["url"])
    assert r.status_code == 200
    assert r.headers["cache-control"] == "private, max-age=3600"
    assert r.headers["x-content-type-options"] == "nosniff"
    assert client.get(shot["url"], headers={"If-None-Match": r.headers["etag"]}).status_code == 304

    parts = urlsplit(shot["url"])
    query = {k: v[0] for k, v in parse_qs(parts.query).items()}
    exp, sig = int(query["exp"]), query["sig"]
    assert exp >= int(utcnow().timestamp()) + 3600 - 1
    tampered_sig = sig[:-1] + ("0" if sig[-1] != "0" else "1")
    thumb_path = parts.path.replace("/full", "/thumb")
    other_photo = parts.path.replace(f"/{shot['id']}/", f"/{shot['id'] + 1}/")
    for path, q in [
        (parts.path, f"exp={exp}&sig={tampered_sig}"),
        (parts.path, f"exp={exp + 900}&sig={sig}"),  # a longer life is not for the taking
        (thumb_path, f"exp={exp}&sig={sig}"),  # signed for the full image only
        (other_photo, f"exp={exp}&sig={sig}"),
        (parts.path, f"exp={exp}&sig=%E4%BD%A0"),  # not even hex
        (parts.path, ""),
    ]:
        r = client.get(f"{path}?{q}")
        assert r.status_code == 403, (path, q)
        assert r.json()["error"]["code"] == "forbidden"

    photo = session.get(Photo, shot["id"])
    assert photo is not None
    secret = service.url_secret(session)
    old = service.photo_url(photo, "full", secret, now=utcnow() - timedelta(hours=3))
    r = client.get(old)
    assert r.status_code == 403 and r.json()["error"]["details"]["reason"] == "expired"
    assert client.get(service.photo_url(photo, "thumb", secret)).status_code == 200


def test_unattached_photos_are_purged_after_a_day(
    session: Session, actor: Callable[[str], Actor]
) -> None:
    resident = actor("resident_a")
    then = utcnow() - timedelta(days=2)
    stale = service.store_photo(session, actor=resident, data=png(40, 40), filename="a", now=then)
    fresh = service.store_photo(session, actor=resident, data=png(40, 40), filename="b")
    assert service.purge_unattached(session) >= 1
    assert session.scalar(select(Photo.id).where(Photo.id == stale.id)) is None
    assert session.scalar(select(Photo.id).where(Photo.id == fresh.id)) == fresh.id


def test_ids_past_what_the_database_holds_are_input_errors(
    client: TestClient, login: Login, new_case: Callable[..., Any]
) -> None:
    huge = 2**40
    r = client.get(f"/api/v1/media/photos/{huge}/full", headers=login("resident_a"))
    assert r.status_code == 422
    assert new_case(photos=[huge]).status_code == 422
    assert client.get("/api/v1/media/photos/1/original", headers=login("duty")).status_code == 422
