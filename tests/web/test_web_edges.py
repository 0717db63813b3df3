"""The web app's finished edges (issue 14), server side.

* A resident is not told the classifier's guess as fact: a request whose category is the
  classifier's unconfirmed low-confidence reading is ``category_pending`` on its case file
  and in ``GET /api/v1/web/category-pending`` until a dispatcher dispatches it.
* An unknown address opened by a browser gets the HTML 404 page (the shell, status 404);
  API paths, Open311 paths and requests that do not ask for HTML keep their error formats.
* The reference data carries the sensing words the pages need to word an alarm in
  English, and a live-feed alarm item carries the alarm's fields.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.factories import do_action
from townops.access.actor import Actor
from townops.cases.models import Case
from townops.cases.schemas import CaseCreate
from townops.dispatch import RoutingDecision, receive_case
from townops.sensing.models import Alarm, Device
from townops.timeutil import utcnow
from townops.towns.profile import get_profile
from townops.web import routes as web_routes
from townops.web.api import PENDING_IDS_MAX
from townops.web.live import recent_feed

NANXIN = "310115121020"  # 南新居委会
LOGIN = Callable[[str], dict[str, str]]
ActorFor = Callable[[str], Actor]


class UnsureScorer:
    """The classifier, torn between two labels and sure of neither."""

    version = "unsure"

    def predict_proba(self, texts: Any) -> list[dict[str, float]]:
        return [{"交通运输": 0.34, "城乡建设": 0.33, "环境保护": 0.33} for _ in texts]


def _guessed(session: Session, resident: Actor, content: str = "门口那块东西又坏了") -> Case:
    case = receive_case(
        session,
        actor=resident,
        data=CaseCreate(kind="request", source="web", content=content, jurisdiction=NANXIN),
        scorer=UnsureScorer(),
    )
    session.flush()
    return case


def _pending(client: TestClient, headers: dict[str, str], *ids: int) -> list[int]:
    r = client.get("/api/v1/web/category-pending", params={"case": list(ids)}, headers=headers)
    assert r.status_code == 200, r.text
    found: list[int] = r.json()["pending"]
    return found


def test_a_guessed_category_is_pending_until_a_dispatcher_dispatches_it(
    session: Session, actor: ActorFor, client: TestClient, login: LOGIN
) -> None:
    resident = login("resident_a")
    guessed = _guessed(session, actor("resident_a"))
    decision = session.get(RoutingDecision, guessed.id)
    assert decision is not None and decision.category_source == "classifier"
    assert decision.confidence < decision.threshold and decision.outcome == "queued"
    chosen = receive_case(
        session,
        actor=actor("resident_a"),
        data=CaseCreate(
            kind="request",
            source="web",
            category="house_leak",
            content="楼上漏水",
            jurisdiction=NANXIN,
        ),
    )
    session.flush()

    one = client.get(f"/api/v1/cases/{guessed.id}", headers=resident).json()
    assert one["category_pending"] is True
    assert (
        client.get(f"/api/v1/cases/{chosen.id}", headers=resident).json()["category_pending"]
        is False
    )
    assert _pending(client, resident, guessed.id, chosen.id) == [guessed.id]
    # Only the caller's own cases are answered about: resident_b sees neither.
    assert _pending(client, login("resident_b"), guessed.id, chosen.id) == []
    assert _pending(client, resident) == []

    # The dispatcher confirms the guess by dispatching it: no longer pending.
    do_action(
        session, guessed, "dispatch", actor=actor("dispatcher"), department="urban_management"
    )
    session.flush()
    assert (
        client.get(f"/api/v1/cases/{guessed.id}", headers=resident).json()["category_pending"]
        is False
    )
    assert _pending(client, resident, guessed.id) == []


def test_category_pending_asks_about_a_page_of_cases_at_most(
    client: TestClient, login: LOGIN
) -> None:
    headers = login("resident_a")
    assert client.get("/api/v1/web/category-pending").status_code == 401
    r = client.get(
        "/api/v1/web/category-pending",
        params={"case": list(range(1, PENDING_IDS_MAX + 2))},
        headers=headers,
    )
    assert r.status_code == 422 and r.json()["error"]["details"]["field"] == "case"
    bad = client.get("/api/v1/web/category-pending", params={"case": "x"}, headers=headers)
    assert bad.status_code == 422


BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


@pytest.mark.parametrize("path", ["/no-such-page", "/cases/abc/def", "/overview/x"])
def test_a_browser_gets_the_html_404_page(client: TestClient, path: str) -> None:
    r = client.get(path, headers=BROWSER)
    assert r.status_code == 404
    assert r.headers["content-type"] == "text/html; charset=utf-8"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    version = web_routes.asset_version()
    assert f'src="/static/{version}/js/core/app.js"' in r.text
    assert client.head(path, headers=BROWSER).status_code == 404


@pytest.mark.parametrize(
    ("method", "path", "headers"),
    [
        ("GET", "/no-such-page", {"Accept": "application/json"}),
        ("GET", "/no-such-page", {}),
        ("POST", "/no-such-page", BROWSER),
        ("GET", "/api/v1/no-such-thing", BROWSER),
        ("GET", "/api/no-such-thing", BROWSER),
    ],
)
def test_programs_keep_the_json_404(
    client: TestClient, method: str, path: str, headers: dict[str, str]
) -> None:
    r = client.request(method, path, headers=headers)
    assert r.status_code in (404, 405)
    assert r.headers["content-type"].startswith("application/json")
    assert r.json()["error"]["code"] == "http_error"


def test_open311_keeps_its_own_error_format_and_pages_still_answer(client: TestClient) -> None:
    r = client.get("/open311/v2/no-such-thing.json", headers=BROWSER)
    assert r.status_code == 404
    assert not r.headers["content-type"].startswith("text/html")
    assert isinstance(r.json(), list) and r.json()[0]["code"] == 404
    # Known addresses are untouched: the pages, a redirect, the health check, the docs.
    assert client.get("/overview", headers=BROWSER).status_code == 200
    assert client.get("/healthz", headers=BROWSER).status_code == 200
    assert client.get("/docs", headers=BROWSER).status_code == 200
    slash = client.get("/inbox/", headers=BROWSER, follow_redirects=False)
    assert slash.status_code in (200, 307)


def test_the_reference_carries_the_sensing_words(client: TestClient, login: LOGIN) -> None:
    ref = client.get("/api/v1/web/reference", headers=login("duty")).json()
    types = {t["code"]: t for t in ref["sensing"]["device_types"]}
    gas = {q["code"]: q for q in types["gas_alarm"]["quantities"]}
    assert gas["gas_lel"] == {
        "code": "gas_lel",
        "name_zh": "可燃气体浓度",
        "name_en": "Combustible gas",
        "unit": "%LEL",
    }
    rules = {r["code"]: r for r in ref["sensing"]["rules"]}
    assert rules["gas_leak"]["kind"] == "threshold"
    assert rules["gas_leak"]["direction"] == "above" and rules["gas_leak"]["name_en"] == "Gas leak"
    assert rules["waterlogging"]["for_seconds"] == 300


def test_a_feed_alarm_carries_what_its_summary_says(session: Session, actor: ActorFor) -> None:
    session.add(Device(device_id="WEB-EDGE-1", type="gas_alarm", community_code=NANXIN))
    session.flush()
    alarm = Alarm(
        device_id="WEB-EDGE-1",
        rule_id="gas_leak",
        kind="threshold",
        severity="critical",
        state="raised",
        open_key="WEB-EDGE-1/gas_leak",
        quantity="gas_lel",
        value=12.0,
        line=10.0,
        message="可燃气体浓度 12.0 %LEL 超过 10",
        device_type="gas_alarm",
        community_code=NANXIN,
        storm_key="WEB-EDGE-1",
        raised_at=utcnow(),
    )
    session.add(alarm)
    session.flush()
    items = recent_feed(session, view=actor("duty"), profile=get_profile(session), limit=50)
    item = next(i for i in items if i.alarm_id == alarm.id)
    assert (item.rule, item.rule_kind, item.quantity, item.value, item.line) == (
        "gas_leak",
        "threshold",
        "gas_lel",
        12.0,
        10.0,
    )
    assert item.summary == "可燃气体浓度 12.0 %LEL 超过 10"


def test_the_reference_names_each_categorys_attributes_and_their_choices(
    client: TestClient, login: LOGIN
) -> None:
    """The case page shows a street light's 灯杆编号 and 故障情况 by name, not by code."""
    ref = client.get("/api/v1/web/reference", headers=login("dispatcher")).json()
    categories = {c["code"]: c for c in ref["categories"]}
    pole, fault = categories["street_light"]["attributes"]
    assert (pole["code"], pole["name_en"]) == (
        "pole_number",
        "Pole number (on the plate on the pole, e.g. GH-0123)",
    )
    assert pole["values"] == {}
    assert fault["values"]["out"] == {"name_zh": "不亮", "name_en": "Not lit"}
    assert categories["illegal_parking"]["attributes"] == []
