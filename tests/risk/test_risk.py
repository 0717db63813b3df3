"""The risk map (风险地图) on hand-made devices, alarms and cases in Nanxin's micro-grids.

Micro-grid G01 ("busy"): a critical alarm two days ago (in a building of the grid), an
overdue urgent gas case and an open leak, two smoke detectors of which one was never
heard from, an elderly resident's gas alarm that is silent. Micro-grid G02 ("quiet"):
the same devices, all online, nothing else. Alarms that must not count: a false alarm, an
outage alarm (outages are their own factor), a critical alarm 40 days ago.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy.orm import Session

from tests.factories import file_case
from townops.access.actor import Actor
from townops.errors import Forbidden, InvalidInput
from townops.risk.api import router
from townops.risk.config import RiskConfig
from townops.risk.scoring import area_km2
from townops.risk.service import NodeRisk, risk_config, risk_map
from townops.sensing.models import Alarm, Device, DeviceState

SHANGHAI = ZoneInfo("Asia/Shanghai")
TOWN, NANXIN = "310115121", "310115121020"
BUSY, QUIET = f"{NANXIN}-G01", f"{NANXIN}-G02"
AT = datetime(2022, 11, 16, 12, 0, tzinfo=SHANGHAI)  # a Wednesday
GRID_COUNT, COMMUNITY_COUNT = 111, 37

ActorFor = Callable[[str], Actor]
Login = Callable[[str], dict[str, str]]


def path_of(grid: str, building: str = "") -> str:
    return f"{TOWN}/{NANXIN}/{grid}/" + (f"{grid}-{building}/" if building else "")


def device(device_id: str, grid: str, kind: str, *, home: bool = False) -> Device:
    return Device(
        device_id=device_id,
        type=kind,
        jurisdiction_code=grid,
        jurisdiction_path=path_of(grid),
        community_code=NANXIN,
        household_name="张*" if home else "",
        household_phone="13900000000" if home else "",
    )


def seen(device_id: str, minutes_ago: int) -> DeviceState:
    when = AT - timedelta(minutes=minutes_ago)
    return DeviceState(device_id=device_id, last_seq=1, last_ts=when, last_seen=when)


def alarm(device_id: str, *, days_ago: float, severity: str, kind: str, state: str) -> Alarm:
    return Alarm(
        device_id=device_id,
        rule_id=f"rule-{device_id}-{days_ago}",
        kind=kind,
        severity=severity,
        state=state,
        device_type="smoke_detector",
        storm_key=device_id,
        raised_at=AT - timedelta(days=days_ago),
        jurisdiction_path=path_of(BUSY, "B01"),
        community_code=NANXIN,
    )


@pytest.fixture
def town(session: Session, actor: ActorFor) -> None:
    session.add_all(
        [
            device("R-SD-1", BUSY, "smoke_detector"),
            device("R-SD-2", BUSY, "smoke_detector"),  # never heard from
            device("R-GAS-1", BUSY, "gas_alarm", home=True),  # never heard from
            device("R-SD-3", QUIET, "smoke_detector"),
            device("R-SD-4", QUIET, "smoke_detector"),
            device("R-GAS-2", QUIET, "gas_alarm", home=True),
        ]
    )
    session.flush()
    session.add_all([seen(d, 5) for d in ("R-SD-1", "R-SD-3", "R-SD-4", "R-GAS-2")])
    session.add_all(
        [
            alarm("R-SD-1", days_ago=2, severity="critical", kind="threshold", state="cleared"),
            alarm("R-SD-1", days_ago=1, severity="warning", kind="held", state="false_alarm"),
            alarm("R-SD-2", days_ago=1, severity="info", kind="offline", state="raised"),
            alarm("R-SD-1", days_ago=40, severity="critical", kind="threshold", state="cleared"),
        ]
    )
    dispatcher = actor("dispatcher")
    for category, place, received in (
        ("gas_smell", BUSY, AT - timedelta(days=1)),  # due in 2 hours: overdue at AT
        ("house_leak", BUSY, AT - timedelta(hours=3)),  # 5 working days: open
        ("greenery", NANXIN, AT - timedelta(hours=2)),  # placed at the community only
    ):
        file_case(
            session,
            actor=dispatcher,
            now=received,
            category=category,
            content="测试",
            jurisdiction=place,
            received_at=received,
        )
    session.flush()


def by_code(nodes: list[NodeRisk]) -> dict[str, NodeRisk]:
    return {node.code: node for node in nodes}


def points(node: NodeRisk) -> dict[str, float]:
    return {c.factor: c.points for c in node.contributions}


def coverage_points(grid: str, session: Session, devices: int) -> float:
    geometry = next(n.geometry for n in risk_map(session, level="micro_grid", at=AT).nodes
                    if n.code == grid)  # fmt: skip
    area = area_km2(geometry)
    assert area is not None and 0.1 < area < 1
    return round(10 * (1 - devices / area / 210), 2)


# --------------------------------------------------------------------------- scores


@pytest.mark.usefixtures("town")
def test_each_factor_earns_the_points_its_rule_gives(session: Session) -> None:
    nodes = by_code(risk_map(session, level="micro_grid", at=AT).nodes)
    busy = nodes[BUSY]
    assert points(busy) == {
        "alarms": 6.25,  # one critical (5) of the 20 that earn full points
        "open_cases": 12.5,  # urgent 4 + normal 1, of 6
        "overdue_cases": 20.0,  # urgent 4, capped at 3
        "vulnerable_households": 1.5,  # one home, silent: counts 2, of 20
        "coverage_gap": coverage_points(BUSY, session, 2),
        "outages": 15.0,  # 2 of 3 offline, capped at half
    }
    alarms = next(c for c in busy.contributions if c.factor == "alarms")
    assert (alarms.raw, alarms.detail["critical"], alarms.detail["warning"]) == (5.0, 1, 0)
    assert (alarms.name_zh, alarms.weight, alarms.full_at) == ("近期告警", 25.0, 20.0)
    outages = next(c for c in busy.contributions if c.factor == "outages")
    assert outages.detail == {"devices": 3, "offline": 2, "never_seen": 2}
    assert points(nodes[QUIET]) == {
        "alarms": 0.0,
        "open_cases": 0.0,
        "overdue_cases": 0.0,
        "vulnerable_households": 0.75,
        "coverage_gap": coverage_points(QUIET, session, 2),
        "outages": 0.0,
    }


@pytest.mark.usefixtures("town")
@pytest.mark.parametrize("level", ["micro_grid", "community"])
def test_contributions_add_up_to_the_score_and_levels_follow_it(
    session: Session, level: str
) -> None:
    risk = risk_map(session, level=level, at=AT)
    config = risk_config(session)
    assert len(risk.nodes) == (GRID_COUNT if level == "micro_grid" else COMMUNITY_COUNT)
    for node in risk.nodes:
        assert node.score == pytest.approx(sum(c.points for c in node.contributions), abs=1e-9)
        assert 0 <= node.score <= 100
        assert node.level == config.levels.of(node.score)
        assert [c.factor for c in node.contributions] == [
            "alarms", "open_cases", "overdue_cases", "vulnerable_households", "coverage_gap",
            "outages",
        ]  # fmt: skip
    scores = [node.score for node in risk.nodes]
    assert scores == sorted(scores, reverse=True)


@pytest.mark.usefixtures("town")
def test_a_grid_with_a_critical_alarm_and_overdue_cases_outranks_a_quiet_one(
    session: Session,
) -> None:
    nodes = by_code(risk_map(session, level="micro_grid", at=AT).nodes)
    busy, quiet = nodes[BUSY], nodes[QUIET]
    assert busy.score > quiet.score
    assert busy.rank == 1 and quiet.rank > 1
    assert busy.level == "high" and quiet.level == "low"
    communities = risk_map(session, level="community", at=AT).nodes
    assert communities[0].code == NANXIN


@pytest.mark.usefixtures("town")
def test_a_community_sums_its_micro_grids_and_what_is_placed_on_it(session: Session) -> None:
    grids = risk_map(session, level="micro_grid", at=AT)
    assert grids.unplaced == {"alarms": 0, "cases": 1, "devices": 0}  # the greenery case
    nanxin = by_code(risk_map(session, level="community", at=AT).nodes)[NANXIN]
    raw = {c.factor: c.raw for c in nanxin.contributions}
    assert raw["open_cases"] == 5.5  # urgent 4 + normal 1 + low 0.5
    assert raw["overdue_cases"] == 4.0
    assert raw["vulnerable_households"] == 3.0  # one silent home (2) and one heard from
    assert raw["outages"] == pytest.approx(2 / 6, abs=1e-4)
    assert points(nanxin)["alarms"] == 2.5  # 5 of the community's 50


@pytest.mark.usefixtures("town")
def test_moving_the_instant_moves_the_alarm_window_and_the_overdue_line(
    session: Session,
) -> None:
    later = by_code(risk_map(session, level="micro_grid", at=AT + timedelta(days=35)).nodes)
    earlier = by_code(risk_map(session, level="micro_grid", at=AT - timedelta(hours=23)).nodes)
    assert points(later[BUSY])["alarms"] == 0.0  # out of the 30-day window
    assert points(earlier[BUSY])["overdue_cases"] == 0.0  # the gas case was not due yet


def test_weights_that_do_not_add_up_to_100_are_refused(session: Session) -> None:
    raw = risk_config(session).model_dump()
    raw["factors"]["alarms"]["weight"] = 50
    with pytest.raises(ValueError, match="add up to 100"):
        RiskConfig.model_validate(raw)


def test_an_unknown_level_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput) as caught:
        risk_map(session, level="building")
    assert caught.value.details["field"] == "level"


# --------------------------------------------------------------------------- scope


@pytest.mark.parametrize(
    ("username", "level", "expected"),
    [
        ("nanxin", "micro_grid", {BUSY, QUIET, f"{NANXIN}-G03"}),
        ("nanxin", "community", {NANXIN}),
        ("grid_nanxin", "micro_grid", {BUSY}),
        ("grid_nanxin", "community", set()),
    ],
)
def test_community_staff_and_grid_workers_see_their_subtree(
    session: Session, actor: ActorFor, username: str, level: str, expected: set[str]
) -> None:
    risk = risk_map(session, level=level, actor=actor(username), at=AT)
    assert {node.code for node in risk.nodes} == expected


@pytest.mark.parametrize("username", ["duty", "leader", "dispatcher", "housing"])
def test_town_staff_see_the_whole_town(session: Session, actor: ActorFor, username: str) -> None:
    assert len(risk_map(session, level="micro_grid", actor=actor(username)).nodes) == GRID_COUNT


def test_residents_may_not_see_the_map(session: Session, actor: ActorFor) -> None:
    with pytest.raises(Forbidden):
        risk_map(session, level="micro_grid", actor=actor("resident_a"))


# --------------------------------------------------------------------------- API


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    if not any(getattr(route, "path", "") == "/api/v1/risk-map" for route in app.routes):
        app.include_router(router)
    with TestClient(app) as test_client:
        yield test_client


@pytest.mark.usefixtures("town")
@pytest.mark.parametrize("level", ["micro_grid", "community"])
def test_the_api_answers_valid_geojson_with_explained_scores(
    client: TestClient, login: Login, session: Session, level: str
) -> None:
    r = client.get(
        "/api/v1/risk-map",
        params={"level": level, "at": AT.isoformat()},
        headers=login("duty"),
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["type"] == "FeatureCollection" and body["jurisdiction_level"] == level
    assert len(body["features"]) == (GRID_COUNT if level == "micro_grid" else COMMUNITY_COUNT)
    for feature in body["features"]:
        assert feature["type"] == "Feature"
        geometry = shape(feature["geometry"])
        assert geometry.geom_type == "Polygon" and geometry.is_valid and geometry.area > 0
        props = feature["properties"]
        assert feature["id"] == props["code"]
        assert {"code", "name_zh", "name_en", "score", "level", "contributions"} <= set(props)
        assert props["level"] in ("low", "medium", "high")
        for part in props["contributions"]:
            assert {"factor", "name_zh", "raw", "weight", "points"} <= set(part)
        assert props["score"] == pytest.approx(sum(p["points"] for p in props["contributions"]))
    expected = risk_map(session, level=level, at=AT).nodes[0]
    first = body["features"][0]["properties"]
    assert (first["code"], first["score"]) == (expected.code, expected.score)


def test_the_api_scopes_community_staff_and_refuses_residents(
    client: TestClient, login: Login
) -> None:
    r = client.get("/api/v1/risk-map", params={"level": "micro_grid"}, headers=login("nanxin"))
    assert r.status_code == 200
    assert all(f["properties"]["code"].startswith(NANXIN) for f in r.json()["features"])
    assert len(r.json()["features"]) == 3
    refused = client.get("/api/v1/risk-map", headers=login("resident_a"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/risk-map").status_code == 401


def test_a_bad_level_is_a_structured_422(client: TestClient, login: Login) -> None:
    r = client.get("/api/v1/risk-map", params={"level": "building"}, headers=login("duty"))
    assert r.status_code == 422
    error = r.json()["error"]
    assert error["code"] == "invalid_input"
    assert any(p["field"] == "query.level" for p in error["details"]["problems"])
