"""Case search (查询) through GET /api/v1/cases and its export, as the desk uses it: text in
the content or the address, a tracking code, #id, a requester's phone (only for roles shown
phones), source, community, deadlines, sort; every search inside what the caller may see."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session

from tests.factories import case_body, post_case
from tests.helpers import NANXIN, act, ok
from townops.auth.models import AuditEntry
from townops.cases import export

Login = Callable[[str], dict[str, str]]
OTHER_COMMUNITY = "310115121001"


@pytest.fixture
def cases(client: TestClient, login: Login, housing_category: str) -> dict[str, dict[str, Any]]:
    """Four cases the dispatcher filed: a leak (dispatched to housing), an elevator, a WiFi
    complaint with a wildcard in it, one from the 12345 hotline in another community."""
    desk = login("dispatcher")

    def new(**fields: Any) -> dict[str, Any]:
        return post_case(client, desk, case_body(housing_category, **fields))

    leak = new(content="楼上卫生间漏水到我家天花板", requester_phone="138-1234-1234")
    leak = ok(act(client, desk, leak, "dispatch", department="housing_office"))
    lift = new(
        content="5号楼电梯坏了三天，老人上下楼很困难",
        address="东靖路1200弄5号楼",
        requester_phone="13812341234",
        requester_name="李先生",
    )
    wifi = new(content="小区WiFi信号差，100%掉线", address="南新路88号", requester_phone="")
    hotline = new(
        content='=HYPERLINK("http://evil.example","点我") 路灯不亮',
        address="高行镇某路",
        jurisdiction=OTHER_COMMUNITY,
        source="12345",
        external_id="SH-2026-0001",
        requester_phone="+86 139 0000 1111",
    )
    return {"leak": leak, "lift": lift, "wifi": wifi, "hotline": hotline}


def search(client: TestClient, headers: dict[str, str], **params: Any) -> list[int]:
    r = client.get("/api/v1/cases", params={"page_size": 100, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return [c["id"] for c in r.json()["items"]]


def refusal(r: Any, status: int) -> dict[str, Any]:
    assert r.status_code == status, r.text
    error: dict[str, Any] = r.json()["error"]
    return error


def test_text_matches_content_or_address_as_a_substring_any_case(
    client: TestClient, login: Login, cases: dict[str, dict[str, Any]]
) -> None:
    desk = login("dispatcher")
    ids = {name: c["id"] for name, c in cases.items()}
    assert search(client, desk, q="电梯") == [ids["lift"]]
    assert search(client, desk, q="东靖路1200") == [ids["lift"]]  # the address
    assert search(client, desk, q="wifi") == [ids["wifi"]]  # any case of letters
    assert search(client, desk, q="漏水", state="dispatched") == [ids["leak"]]
    assert search(client, desk, q="漏水", state="received") == []
    # Wildcards are text: "%" and "_" match themselves only.
    assert search(client, desk, q="100%") == [ids["wifi"]]
    assert search(client, desk, q="%") == [ids["wifi"]]
    assert search(client, desk, q="_") == []
    assert search(client, desk, q="  ") == search(client, desk)  # blank: no text filter


def test_a_tracking_code_or_an_id_finds_that_case(
    client: TestClient, login: Login, cases: dict[str, dict[str, Any]]
) -> None:
    desk = login("dispatcher")
    lift = cases["lift"]
    assert search(client, desk, q=lift["token"]) == [lift["id"]]
    assert search(client, desk, q=lift["token"].lower()) == [lift["id"]]
    assert search(client, desk, q=f"#{lift['id']}") == [lift["id"]]
    assert lift["id"] in search(client, desk, q=str(lift["id"]))
    assert search(client, desk, q="#2147483648") == []  # beyond any id: nothing, not a 500


def test_phone_search_compares_digits_for_roles_shown_phones(
    client: TestClient, login: Login, cases: dict[str, dict[str, Any]]
) -> None:
    leak, lift, hotline = cases["leak"]["id"], cases["lift"]["id"], cases["hotline"]["id"]
    for user in ("dispatcher", "duty"):
        assert sorted(search(client, login(user), phone="138 1234 1234")) == sorted([leak, lift])
    assert search(client, login("dispatcher"), phone="13900001111") == [hotline]
    assert search(client, login("dispatcher"), phone="+86-139-0000-1111") == [hotline]
    # A handler is shown phones only on its own department's cases: it finds only those.
    assert search(client, login("housing"), phone="13812341234") == [leak]
    refused = refusal(
        client.get("/api/v1/cases", params={"phone": "1"}, headers=login("duty")), 422
    )
    assert refused["details"]["field"] == "phone"


@pytest.mark.parametrize("user", ["leader", "admin", "nanxin", "resident_a"])
def test_a_role_shown_phones_masked_may_not_search_by_one(
    client: TestClient, login: Login, cases: dict[str, dict[str, Any]], user: str
) -> None:
    r = client.get("/api/v1/cases", params={"phone": "13812341234"}, headers=login(user))
    error = refusal(r, 403)
    assert error["details"]["field"] == "phone" and "phone" in error["message"]
    # Nor through the text: a number of seven digits or more there is contact data too.
    r = client.get("/api/v1/cases", params={"q": "138 1234 1234"}, headers=login(user))
    assert refusal(r, 403)["details"]["field"] == "q"


def test_source_community_and_deadline_filters(
    client: TestClient, login: Login, cases: dict[str, dict[str, Any]]
) -> None:
    desk = login("dispatcher")
    ids = {name: c["id"] for name, c in cases.items()}
    assert search(client, desk, source="12345") == [ids["hotline"]]
    assert sorted(search(client, desk, source=["12345", "api"])) == sorted(ids.values())
    assert search(client, desk, community=OTHER_COMMUNITY) == [ids["hotline"]]
    assert ids["hotline"] not in search(client, desk, community=NANXIN)
    due = cases["lift"]["due_at"]
    assert ids["lift"] in search(client, desk, due_from=due, due_to="2200-01-01T00:00:00Z")
    assert search(client, desk, due_to="2000-01-01T00:00:00Z") == []
    bad = client.get("/api/v1/cases", params={"community": "nowhere"}, headers=desk)
    assert refusal(bad, 422)["details"]["field"] == "community"


def test_sort_orders(client: TestClient, login: Login, cases: dict[str, dict[str, Any]]) -> None:
    desk = login("dispatcher")
    ascending = search(client, desk, order="id")
    assert ascending == sorted(ascending) and search(client, desk, order="-id") == ascending[::-1]
    by_due = client.get("/api/v1/cases", params={"order": "due_at"}, headers=desk).json()["items"]
    assert [c["due_at"] for c in by_due] == sorted(c["due_at"] for c in by_due)


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"q": "长" * 101}, "q"),
        ({"due_from": "yesterday"}, "due_from"),
        ({"received_to": "2022-13-45"}, "received_to"),
        ({"due_to": "3000-01-01T00:00:00Z"}, "due_to"),
        ({"order": "content"}, "order"),
    ],
)
def test_bad_input_is_a_422_naming_the_field(
    client: TestClient, login: Login, params: dict[str, str], field: str
) -> None:
    r = client.get("/api/v1/cases", params=params, headers=login("dispatcher"))
    error = refusal(r, 422)
    assert field in str(error["details"]), error


def test_visibility_is_unchanged_a_handler_finds_only_its_departments_cases(
    client: TestClient, login: Login, cases: dict[str, dict[str, Any]]
) -> None:
    housing = login("housing")
    assert search(client, housing, q="漏水") == [cases["leak"]["id"]]
    assert search(client, housing, q="电梯") == []  # not the housing office's
    assert search(client, housing, q=cases["lift"]["token"]) == []
    assert search(client, login("urban"), q=f"#{cases['leak']['id']}") == []


# --------------------------------------------------------------------------- the export


def workbook(client: TestClient, headers: dict[str, str], **params: Any) -> list[list[Any]]:
    r = client.get("/api/v1/cases/export.xlsx", params=params, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["content-type"] == export.XLSX_MEDIA_TYPE
    assert "attachment" in r.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(r.content)).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def test_the_export_holds_the_search_with_chinese_headers_and_names(
    client: TestClient, login: Login, session: Session, cases: dict[str, dict[str, Any]]
) -> None:
    rows = workbook(client, login("dispatcher"), q="漏水")
    assert tuple(rows[0]) == export.HEADERS
    assert rows[0][:4] == ["编号", "查询码", "类别", "状态"]
    assert len(rows) == 2
    leak = dict(zip(export.HEADERS, rows[1], strict=True))
    assert leak["编号"] == cases["leak"]["id"] and leak["查询码"] == cases["leak"]["token"]
    assert leak["状态"] == "已派单" and leak["承办部门"] == "房屋管理办公室（房管办）"
    assert leak["所属居村"] == "南新居委会" and leak["超期"] == "否"
    assert leak["电话"] == "138-1234-1234"  # the dispatcher sees it whole
    assert all(len(r) == len(export.HEADERS) for r in rows)
    assert len(workbook(client, login("dispatcher"))) == 1 + len(cases)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "cases.export")).all()
    assert [a.actor for a in audit] == ["dispatcher", "dispatcher"]
    assert audit[0].data == {"rows": 1, "filters": {"q": "漏水", "order": "-received_at"}}


def test_the_export_masks_contact_data_as_the_api_does_for_the_role(
    client: TestClient, login: Login, cases: dict[str, dict[str, Any]]
) -> None:
    lift_id = cases["lift"]["id"]
    for user in ("leader", "dispatcher", "housing"):
        shown = client.get(f"/api/v1/cases/{lift_id}", headers=login(user))
        rows = workbook(client, login(user), q="电梯")
        if shown.status_code == 404:  # not the housing office's case: not in its export
            assert rows[1:] == []
            continue
        requester = shown.json()["requester"]
        row = dict(zip(export.HEADERS, rows[1], strict=True))
        assert row["电话"] == requester["phone"] and row["诉求人"] == requester["name"]
        assert row["地址"] == shown.json()["address"]
    leader = dict(zip(export.HEADERS, workbook(client, login("leader"), q="电梯")[1], strict=True))
    assert leader["电话"] == "138****1234" and leader["诉求人"] == "李**"


def test_a_formula_in_a_case_stays_text(
    client: TestClient, login: Login, cases: dict[str, dict[str, Any]]
) -> None:
    r = client.get(
        "/api/v1/cases/export.xlsx", params={"source": "12345"}, headers=login("dispatcher")
    )
    cell = load_workbook(io.BytesIO(r.content)).active.cell(row=2, column=10)
    assert cell.value.startswith("=HYPERLINK") and cell.data_type == "s" and cell.quotePrefix


def test_an_export_larger_than_the_cap_is_refused_not_cut(
    client: TestClient,
    login: Login,
    cases: dict[str, dict[str, Any]],
    monkeypatch: pytest.MonkeyPatch,
    session: Session,
) -> None:
    monkeypatch.setattr(export, "MAX_EXPORT_ROWS", 3)
    r = client.get("/api/v1/cases/export.xlsx", headers=login("dispatcher"))
    error = refusal(r, 422)
    assert error["details"]["limit"] == 3 and error["details"]["found"] == len(cases)
    assert "narrow" in error["message"]
    assert workbook(client, login("dispatcher"), source="12345")[1:]  # a narrower one goes
    r = client.get("/api/v1/cases/export.xlsx", headers=login("resident_a"))
    assert refusal(r, 403)["code"] == "forbidden"
    r = client.get(
        "/api/v1/cases/export.xlsx", params={"phone": "13812341234"}, headers=login("leader")
    )
    assert refusal(r, 403)["details"]["field"] == "phone"
