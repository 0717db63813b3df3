"""The vital-signs API: shape, errors, roles and scope, manual figures."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from tests.signs.test_signs import DONGOU, MARCH, NANXIN, NANXIN_G1, TOWN, Story, build_story
from townops.signs.api import router
from townops.signs.models import ManualFigure

Login = Callable[[str], dict[str, str]]
URL = "/api/v1/vital-signs"


@pytest.fixture
def api(app: FastAPI, client: TestClient) -> TestClient:
    """The client, with the router included if app.py does not include it yet."""
    if not any(getattr(route, "path", "").startswith(URL) for route in app.routes):
        app.include_router(router)
    return client


@pytest.fixture
def story(session: Session) -> Story:
    return build_story(session)


def get(api: TestClient, headers: dict[str, str], path: str = "", **params: Any) -> Any:
    return api.get(f"{URL}{path}", params=params, headers=headers)


@pytest.mark.usefixtures("story")
def test_the_town_signs_carry_the_contract_fields(api: TestClient, login: Login) -> None:
    response = get(api, login("duty"), period=MARCH)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["jurisdiction"]["code"] == TOWN and body["period"]["label"] == MARCH
    assert len(body["signs"]) >= 52
    on_time = next(s for s in body["signs"] if s["id"] == "hotline_on_time_rate")
    assert {"id", "name_zh", "name_en", "dimension", "unit", "value", "status", "source",
            "target", "numerator", "denominator"} <= set(on_time)  # fmt: skip
    assert (on_time["value"], on_time["numerator"], on_time["denominator"]) == (0.75, 3, 4)
    assert on_time["status"] in ("green", "yellow", "red", "none")
    assert "按时办结率100%" in on_time["source"]
    # Every sign says what it is judged against, and why it is not when it is not.
    for sign in body["signs"]:
        assert {"basis", "band", "unjudged", "unjudged_zh", "unjudged_en"} <= set(sign)
        assert (sign["status"] == "none") == (sign["unjudged"] is not None), sign["id"]
    received = next(s for s in body["signs"] if s["id"] == "hotline_received")
    assert (received["basis"], received["unjudged"]) == ("history", "short_history")
    assert received["unjudged_en"].startswith("only 0 past periods")
    assert on_time["basis"] == "town" and on_time["band"] is None


@pytest.mark.usefixtures("story")
def test_the_definitions_carry_the_basis(api: TestClient, login: Login) -> None:
    signs = get(api, login("duty"), "/definitions").json()["signs"]
    by_id = {s["id"]: s for s in signs}
    assert by_id["hotline_received"]["history"] == {
        "periods": 12,
        "min_periods": 6,
        "min_denominator": 0,
    }
    assert by_id["estates_total"]["basis"] == "unjudged" and by_id["estates_total"]["basis_note"]
    assert all(s["basis"] in ("national", "town", "history", "unjudged") for s in signs)


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"period": "2025-13"}, 422, "invalid_input"),
        ({"period": "soon"}, 422, "invalid_input"),
        ({"period": MARCH, "jurisdiction": "999"}, 404, "not_found"),
    ],
)
def test_bad_periods_and_unknown_places_get_structured_errors(
    api: TestClient, login: Login, params: dict[str, str], status: int, code: str
) -> None:
    response = get(api, login("duty"), **params)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == code
    if status == 422:
        assert error["details"]["field"] == "period"


@pytest.mark.usefixtures("story")
def test_community_staff_see_only_their_community(api: TestClient, login: Login) -> None:
    nanxin = login("nanxin")
    own = get(api, nanxin, period=MARCH)  # no jurisdiction: their own community
    assert own.status_code == 200 and own.json()["jurisdiction"]["code"] == NANXIN
    assert get(api, nanxin, period=MARCH, jurisdiction=NANXIN_G1).status_code == 200
    assert get(api, nanxin, period=MARCH, jurisdiction=DONGOU).status_code == 403
    assert get(api, nanxin, period=MARCH, jurisdiction=TOWN).status_code == 403
    grids = get(api, nanxin, "/by-level", level="micro_grid", period=MARCH).json()
    assert [n["code"] for n in grids["nodes"]] == [f"{NANXIN}-G0{i}" for i in (1, 2, 3)]
    assert grids["total"]["code"] == NANXIN


def test_residents_are_refused(api: TestClient, login: Login) -> None:
    for path in ("", "/definitions", "/by-level?level=community"):
        response = api.get(f"{URL}{path}", headers=login("resident_a"))
        assert response.status_code == 403, path


@pytest.mark.usefixtures("story")
def test_by_level_gives_every_node_the_remainder_and_the_total(
    api: TestClient, login: Login
) -> None:
    body = get(api, login("leader"), "/by-level", level="community", period=MARCH).json()
    assert len(body["nodes"]) == 37
    received = {n["code"]: _value(n["signs"], "hotline_received") for n in body["nodes"]}
    remainder = _value(body["unassigned"], "hotline_received")
    assert sum(received.values()) + remainder == _value(body["total"]["signs"], "hotline_received")
    assert remainder == 1
    assert get(api, login("leader"), "/by-level", level="street").status_code == 422


def _value(signs: list[dict[str, Any]], sign_id: str) -> Any:
    return next(s["value"] for s in signs if s["id"] == sign_id)


def test_definitions_list_every_sign_with_its_dimension(api: TestClient, login: Login) -> None:
    body = get(api, login("housing"), "/definitions").json()
    assert len(body["signs"]) >= 52
    river = next(s for s in body["signs"] if s["id"] == "river_patrol_rate")
    assert river["origin"] == "manual" and river["dimension_zh"] == "生态宜居"
    assert {d["code"] for d in body["dimensions"]} >= {"safety_resilience", "tidy_orderly"}


def test_figures_are_entered_by_duty_officers_and_read_back(
    api: TestClient, login: Login, session: Session
) -> None:
    figure = {"sign": "mediation_disputes", "jurisdiction": NANXIN, "period": "2025",
              "value": 120}  # fmt: skip
    assert (
        api.post(f"{URL}/manual-figures", json=figure, headers=login("leader")).status_code == 403
    )
    created = api.post(f"{URL}/manual-figures", json=figure, headers=login("duty"))
    assert created.status_code == 201, created.text
    assert created.json()["entered_by"] == "duty"
    bad = api.post(
        f"{URL}/manual-figures", json={**figure, "sign": "hotline_received"}, headers=login("duty")
    )
    assert bad.status_code == 422 and "computed" in bad.json()["error"]["message"]
    listed = get(api, login("nanxin"), "/manual-figures", period="2025").json()
    assert [(f["sign"], f["value"]) for f in listed] == [("mediation_disputes", 120)]
    signs = get(api, login("nanxin"), period="2025").json()["signs"]
    assert _value(signs, "mediation_disputes") == 120


def test_an_uploaded_sheet_with_a_bad_row_writes_nothing(
    api: TestClient, login: Login, session: Session
) -> None:
    csv = "sign,jurisdiction,period,value\nnew_jobs,310115121,2025,1217\nnew_jobs,nowhere,2025,1\n"
    files = {"file": ("figures.csv", io.BytesIO(csv.encode()), "text/csv")}
    response = api.post(f"{URL}/manual-figures/import", files=files, headers=login("duty"))
    assert response.status_code == 422
    assert [e["row"] for e in response.json()["error"]["details"]["errors"]] == [3]
    assert session.scalar(select(func.count()).select_from(ManualFigure)) == 0
    good = csv.splitlines()[:2]
    files = {"file": ("figures.csv", io.BytesIO("\n".join(good).encode()), "text/csv")}
    response = api.post(f"{URL}/manual-figures/import", files=files, headers=login("duty"))
    assert response.status_code == 200 and response.json()["created"] == 1
