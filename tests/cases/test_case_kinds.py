"""Case kinds are a registry: a new domain brings its own kind without an edit in ``cases/``.

The "domain" here is a river-patrol kind registered by this module alone, the way sensing
registers device alarms (:mod:`townops.sensing.alarms.kind`): grid workers file it, nobody
follows it in public. Its cases are filed, routed, held to a deadline, supervised and
counted like any other, and every rule that depends on a kind (intake, public tracking,
Open311, contact data) reads the kind's rule.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from tests.factories import case_body, post_case
from tests.helpers import act, ok, ok_list
from townops.access.actor import Role
from townops.cases import events
from townops.cases.kinds import (
    HOTLINE,
    CaseKindRule,
    case_kinds,
    kind_rule,
    public_kinds,
    register_kind,
    unregister_kind,
)
from townops.open311.config import Open311Public

Login = Callable[[str], dict[str, str]]
GRID = "310115121020-G01"  # grid_nanxin's micro-grid

RIVER_PATROL = CaseKindRule(
    "river_patrol",
    "河道巡查",
    "River patrol",
    filed_by=frozenset({Role.grid_worker}),
    public=False,
)


@pytest.fixture
def river_patrol() -> Iterator[CaseKindRule]:
    register_kind(RIVER_PATROL)
    yield RIVER_PATROL
    unregister_kind(RIVER_PATROL.name)


def test_a_kind_registered_by_a_domain_is_listed_with_who_may_file_it(
    client: TestClient, login: Login, river_patrol: CaseKindRule
) -> None:
    def listed(user: str) -> dict[str, dict[str, Any]]:
        kinds = ok_list(client.get("/api/v1/case-kinds", headers=login(user)))
        return {k["name"]: k for k in kinds}

    by_grid = listed("grid_nanxin")
    assert by_grid["river_patrol"] == {
        "name": "river_patrol",
        "label_zh": "河道巡查",
        "label_en": "River patrol",
        "public": False,
        "you_may_file": True,
    }
    assert by_grid["iot_alarm"]["you_may_file"] is False  # opened by townops itself
    by_resident = listed("resident_a")
    assert [name for name, k in by_resident.items() if k["you_may_file"]] == ["request"]
    assert listed("dispatcher")["river_patrol"]["you_may_file"] is True  # the intake desk


def test_a_new_kinds_case_is_filed_routed_held_to_a_deadline_and_supervised(
    client: TestClient, login: Login, housing_category: str, river_patrol: CaseKindRule
) -> None:
    seen: list[events.CaseEngineEvent] = []
    undo = [
        events.subscribe(events.CaseCreated, seen.append),
        events.subscribe(events.CaseActed, seen.append),
    ]
    try:
        body = case_body(housing_category, kind="river_patrol", source="api", jurisdiction=GRID)
        case = post_case(client, login("grid_nanxin"), body)
        assert case["kind"] == "river_patrol"
        assert case["due_at"] is not None
        case = ok(act(client, login("dispatcher"), case, "dispatch", department="housing_office"))
        case = ok(act(client, login("duty"), case, "supervise", comment="请尽快处理"))
        assert case["state"] == "dispatched"
    finally:
        for unsubscribe in undo:
            unsubscribe()
    created = [e for e in seen if isinstance(e, events.CaseCreated)]
    assert [e.case.kind for e in created] == ["river_patrol"]
    acted = [e.action.value for e in seen if isinstance(e, events.CaseActed)]
    assert acted == ["dispatch", "supervise"]


def test_a_role_the_kind_does_not_name_gets_403_listing_what_it_may_file(
    client: TestClient, login: Login, housing_category: str, river_patrol: CaseKindRule
) -> None:
    body = case_body(housing_category, kind="river_patrol", source="api", jurisdiction=GRID)
    r = client.post("/api/v1/cases", json=body, headers=login("resident_a"))
    assert r.status_code == 403, r.text
    assert r.json()["error"]["details"]["field"] == "kind"
    assert r.json()["error"]["details"]["allowed"] == ["request"]
    r = client.post("/api/v1/cases", json=body, headers=login("nanxin"))  # community staff
    assert r.status_code == 403, r.text


def test_an_unknown_kind_is_422_naming_the_field_on_filing_and_on_the_list(
    client: TestClient, login: Login, housing_category: str
) -> None:
    body = case_body(housing_category, kind="river_patrol")
    r = client.post("/api/v1/cases", json=body, headers=login("dispatcher"))
    assert r.status_code == 422, r.text
    assert "kind" in r.text and "unknown case kind" in r.text
    r = client.get("/api/v1/cases", params={"kind": "nope"}, headers=login("duty"))
    assert r.status_code == 422, r.text
    assert r.json()["error"]["details"]["field"] == "kind"


def test_a_kind_that_is_never_public_cannot_be_tracked_or_published(
    client: TestClient, login: Login, housing_category: str, river_patrol: CaseKindRule
) -> None:
    case = post_case(
        client,
        login("grid_nanxin"),
        case_body(housing_category, kind="river_patrol", source="api", jurisdiction=GRID),
    )
    track = client.get(f"/api/v1/track/{case['token']}")
    assert track.status_code == 404, track.text
    hotline = post_case(client, login("dispatcher"), case_body(housing_category))
    assert client.get(f"/api/v1/track/{hotline['token']}").status_code == 200
    assert "river_patrol" not in public_kinds()
    with pytest.raises(ValidationError, match="never public"):
        Open311Public(kinds=["river_patrol"])
    with pytest.raises(ValidationError, match="unknown case kind"):
        Open311Public(kinds=["no_such_kind"])


def test_a_taken_name_with_another_rule_is_refused_and_the_same_rule_is_idempotent() -> None:
    before = case_kinds()
    register_kind(HOTLINE)
    assert case_kinds() == before
    with pytest.raises(ValueError, match="already registered"):
        register_kind(CaseKindRule("hotline", "热线", "Hotline"))
    assert kind_rule("hotline") == HOTLINE
    with pytest.raises(ValueError, match="does not match"):
        CaseKindRule("Bad Kind", "坏", "Bad")
    with pytest.raises(ValueError, match="no person files"):
        CaseKindRule(
            "auto_only", "自动", "Auto", by_person=False, filed_by=frozenset({Role.resident})
        )
