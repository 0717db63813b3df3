"""The device API: lists and details in the caller's scope, masking, readings with totals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy.orm import Session

from tests.helpers import NANXIN, ok
from townops.sensing.devices.api import router
from townops.sensing.devices.registry import import_devices
from townops.sensing.models import Alarm, DeviceState, Reading, ReadingRollup
from townops.timeutil import utcnow

Headers = Callable[[str], dict[str, str]]
NANXIN_G1 = f"{NANXIN}-G01"
NANXIN_G2 = f"{NANXIN}-G02"
DONGGOU1_G1 = "310115121001-G01"
T0 = datetime(2026, 11, 1, tzinfo=UTC)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    """The conftest client, with the device routes if app.py does not include them yet."""
    if not any(getattr(route, "path", "") == "/api/v1/devices" for route in app.routes):
        app.include_router(router)
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def devices(session: Session) -> None:
    rows = [
        {
            "device_id": "API-GAS-1",
            "type": "gas_alarm",
            "network": "居家安防",
            "jurisdiction": NANXIN_G1,
            "building": "南新苑1号楼",
            "address": "南新苑1号楼302室",
            "household_name": "张秀英",
            "household_phone": "13812345678",
            "household_note": "独居老人",
        },
        {
            "device_id": "API-SD-1",
            "type": "smoke_detector",
            "network": "社区小脑",
            "jurisdiction": NANXIN_G2,
            "building": "南新苑7号楼",
        },
        {
            "device_id": "API-WL-1",
            "type": "water_level_sensor",
            "network": "中脑",
            "jurisdiction": DONGGOU1_G1,
            "address": "五洲大道88号 低洼路段",
        },
    ]
    report = import_devices(session, rows)
    assert report.errors == []
    now = utcnow()
    session.add(
        DeviceState(
            device_id="API-GAS-1",
            last_seq=24,
            last_ts=now - timedelta(minutes=1),
            last_seen=now - timedelta(minutes=1),
            values={"gas_lel": 2.5, "battery": 90.0},
            readings_count=25,
        )
    )
    # Heard from two days ago: offline.
    old = now - timedelta(days=2)
    session.add(DeviceState(device_id="API-SD-1", last_seq=3, last_ts=old, last_seen=old))
    session.add_all(
        Reading(
            device_id="API-GAS-1",
            seq=seq,
            ts=T0 + timedelta(minutes=10 * seq),
            received_at=T0 + timedelta(minutes=10 * seq, seconds=1),
            values={"gas_lel": float(seq % 5), "battery": 90.0},
        )
        for seq in range(25)
    )
    session.add(
        ReadingRollup(
            device_id="API-GAS-1",
            bucket_start=datetime(2026, 9, 1, tzinfo=UTC),
            quantity="gas_lel",
            bucket_seconds=3600,
            count=6,
            min=0.0,
            max=2.0,
            mean=1.0,
        )
    )
    session.add(
        Alarm(
            device_id="API-GAS-1",
            rule_id="gas_leak",
            kind="threshold",
            severity="critical",
            state="raised",
            open_key="API-GAS-1/gas_leak",
            device_type="gas_alarm",
            jurisdiction_path=None,
            storm_key="南新苑1号楼",
            raised_at=now - timedelta(minutes=5),
        )
    )
    session.flush()


def ids(page: dict[str, Any]) -> list[str]:
    return [item["device_id"] for item in page["items"]]


# --------------------------------------------------------------------------- #
# Lists and details
# --------------------------------------------------------------------------- #


@pytest.mark.usefixtures("devices")
def test_the_list_is_paginated_with_a_total_and_filtered(
    client: TestClient, login: Headers
) -> None:
    duty = login("duty")
    first = ok(client.get("/api/v1/devices?page_size=2", headers=duty))
    assert (first["total"], first["has_more"], ids(first)) == (3, True, ["API-GAS-1", "API-SD-1"])
    second = ok(client.get("/api/v1/devices?page_size=2&page=2", headers=duty))
    assert (ids(second), second["has_more"]) == (["API-WL-1"], False)

    def listed(query: str) -> list[str]:
        return ids(ok(client.get(f"/api/v1/devices?{query}", headers=duty)))

    assert listed("type=smoke_detector") == ["API-SD-1"]
    assert listed(f"jurisdiction={NANXIN}") == ["API-GAS-1", "API-SD-1"]
    assert listed("network=中脑") == ["API-WL-1"]
    assert listed("online=true") == ["API-GAS-1"]
    assert listed("online=false") == ["API-SD-1", "API-WL-1"]
    assert listed("q=五洲大道") == ["API-WL-1"]
    assert listed("q=100%25") == []  # a LIKE wildcard in q is a plain character
    gas = first["items"][0]
    assert gas["online"] is True and gas["values"] == {"gas_lel": 2.5, "battery": 90.0}
    assert gas["heartbeat_seconds"] == 600 and gas["type_name_zh"] == "可燃气体报警器"
    assert first["items"][1]["online"] is False and first["items"][1]["last_seen"] is not None


@pytest.mark.usefixtures("devices")
def test_the_detail_has_state_and_open_alarms(client: TestClient, login: Headers) -> None:
    detail = ok(client.get("/api/v1/devices/API-GAS-1", headers=login("dispatcher")))
    assert (detail["online"], detail["last_seq"], detail["open_alarms"]) == (True, 24, 1)
    assert detail["readings_count"] == 25 and detail["offline_since"] is None
    never = ok(client.get("/api/v1/devices/API-WL-1", headers=login("dispatcher")))
    assert (never["online"], never["last_seen"], never["last_seq"]) == (False, None, None)
    missing = client.get("/api/v1/devices/NO-SUCH", headers=login("dispatcher"))
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


# --------------------------------------------------------------------------- #
# Scope, roles and masking
# --------------------------------------------------------------------------- #


@pytest.mark.usefixtures("devices")
def test_community_staff_and_grid_workers_see_their_part_of_the_town(
    client: TestClient, login: Headers
) -> None:
    nanxin = login("nanxin")
    assert ids(ok(client.get("/api/v1/devices", headers=nanxin))) == ["API-GAS-1", "API-SD-1"]
    assert client.get("/api/v1/devices/API-WL-1", headers=nanxin).status_code == 404
    grid = login("grid_nanxin")
    page = ok(client.get("/api/v1/devices", headers=grid))
    assert (ids(page), page["total"]) == (["API-GAS-1"], 1)
    assert client.get("/api/v1/devices/API-SD-1/readings", headers=grid).status_code == 404
    # A handler works town-wide on devices.
    assert ok(client.get("/api/v1/devices", headers=login("housing")))["total"] == 3


@pytest.mark.usefixtures("devices")
def test_residents_are_refused_everywhere(client: TestClient, login: Headers) -> None:
    resident = login("resident_a")
    for path in (
        "/api/v1/devices",
        "/api/v1/devices/API-GAS-1",
        "/api/v1/devices/API-GAS-1/readings",
        "/api/v1/sensing/kpi",
    ):
        response = client.get(path, headers=resident)
        assert response.status_code == 403, path
        assert response.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/devices").status_code == 401


@pytest.mark.usefixtures("devices")
def test_the_household_is_masked_for_roles_that_do_not_see_full_phones(
    client: TestClient, login: Headers
) -> None:
    def household(user: str) -> dict[str, Any]:
        detail = ok(client.get("/api/v1/devices/API-GAS-1", headers=login(user)))
        result: dict[str, Any] = detail["household"]
        return result

    assert household("duty") == {
        "name": "张秀英",
        "phone": "13812345678",
        "note": "独居老人",
        "masked": False,
    }
    for user in ("nanxin", "leader", "admin"):  # roles.yaml: sees_full_phone false
        assert household(user) == {
            "name": "张**",
            "phone": "138****5678",
            "note": "独居老人",
            "masked": True,
        }, user
    listed = ok(client.get("/api/v1/devices?type=gas_alarm", headers=login("grid_nanxin")))
    assert listed["items"][0]["household"]["phone"] == "138****5678"
    smoke = ok(client.get("/api/v1/devices/API-SD-1", headers=login("duty")))
    assert smoke["household"] is None


# --------------------------------------------------------------------------- #
# Readings
# --------------------------------------------------------------------------- #


@pytest.mark.usefixtures("devices")
def test_readings_are_paginated_in_time_order_with_a_total(
    client: TestClient, login: Headers
) -> None:
    duty = login("duty")
    url = "/api/v1/devices/API-GAS-1/readings"
    everything = ok(client.get(url, headers=duty))
    assert everything["total"] == 25 and len(everything["items"]) == 25
    assert [r["seq"] for r in everything["items"]] == list(range(25))

    # 08:00+08:00 is 00:00 UTC: readings 0 … ; 'to' is excluded.
    window = {"from": "2026-11-01T08:00:00+08:00", "to": "2026-11-01T02:00:00Z"}
    page = ok(client.get(url, params=window | {"limit": 5, "offset": 5}, headers=duty))
    assert page["total"] == 12  # seq 0..11: minutes 0..110
    assert [r["seq"] for r in page["items"]] == [5, 6, 7, 8, 9]
    assert page["from"] == "2026-11-01T00:00:00Z" and page["to"] == "2026-11-01T02:00:00Z"
    assert page["items"][0]["values"] == {"gas_lel": 0.0, "battery": 90.0}
    # Without an offset: the town's time zone.
    local = ok(client.get(url, params={"from": "2026-11-01T09:00:00"}, headers=duty))
    assert local["total"] == 19 and local["items"][0]["seq"] == 6

    rollups = ok(client.get(url, params={"resolution": "rollup"}, headers=duty))
    assert rollups["total"] == 1
    assert rollups["items"][0] | {"bucket_start": None} == {
        "bucket_start": None,
        "bucket_seconds": 3600,
        "quantity": "gas_lel",
        "count": 6,
        "min": 0.0,
        "max": 2.0,
        "mean": 1.0,
    }


@pytest.mark.usefixtures("devices")
def test_bad_reading_queries_are_structured_errors(client: TestClient, login: Headers) -> None:
    duty = login("duty")
    url = "/api/v1/devices/API-GAS-1/readings"
    backwards = client.get(url, params={"from": "2026-11-02T00:00:00Z", "to": "2026-11-01"})
    assert backwards.status_code == 401  # no token first
    backwards = client.get(
        url, params={"from": "2026-11-02T00:00:00Z", "to": "2026-11-01T00:00:00Z"}, headers=duty
    )
    assert backwards.status_code == 422 and backwards.json()["error"]["details"]["field"] == "to"
    for params in ({"from": "yesterday"}, {"limit": 0}, {"limit": 5000}, {"resolution": "x"}):
        response = client.get(url, params=params, headers=duty)
        assert response.status_code == 422, params
        assert response.json()["error"]["code"] == "invalid_input"
    too_big = client.get("/api/v1/devices?page_size=100000", headers=duty)
    assert too_big.status_code == 422
