"""Sensing KPIs on hand-made devices and alarms: online rate, counts, false alarms, MTTA/MTTC."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from openpyxl import load_workbook
from sqlalchemy.orm import Session

from tests.helpers import NANXIN, ok
from townops.access.actor import Actor
from townops.errors import Forbidden
from townops.periods import range_period
from townops.sensing.devices.registry import import_devices
from townops.sensing.kpi.api import router
from townops.sensing.kpi.service import SensingGrouping, SensingKpiRow, sensing_kpis
from townops.sensing.models import Alarm, DeviceState
from townops.timeutil import utcnow

Headers = Callable[[str], dict[str, str]]
DONGGOU1 = "310115121001"
PERIOD = range_period(date(2026, 11, 1), date(2026, 11, 30))
# Local midnight of 1 November 2026 (Asia/Shanghai), in UTC.
START = datetime(2026, 10, 31, 16, 0, tzinfo=UTC)


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    if not any(getattr(route, "path", "") == "/api/v1/sensing/kpi" for route in app.routes):
        app.include_router(router)
    with TestClient(app) as test_client:
        yield test_client


def alarm(
    device_id: str,
    *,
    minutes: float,
    severity: str = "critical",
    state: str = "cleared",
    ack: float | None = None,
    closed: float | None = None,
) -> Alarm:
    """An alarm raised ``minutes`` after the period's start, acknowledged / closed after."""
    raised = START + timedelta(minutes=minutes)
    return Alarm(
        device_id=device_id,
        rule_id=f"r{minutes}",
        kind="threshold",
        severity=severity,
        state=state,
        device_type="",  # filled from the device below
        storm_key=device_id,
        raised_at=raised,
        acknowledged_at=raised + timedelta(minutes=ack) if ack is not None else None,
        closed_at=raised + timedelta(minutes=closed) if closed is not None else None,
    )


@pytest.fixture
def figures(session: Session) -> datetime:
    rows = [
        {"device_id": "K-SD-A1", "type": "smoke_detector", "model": "A", "jurisdiction": NANXIN},
        {"device_id": "K-SD-A2", "type": "smoke_detector", "model": "A", "jurisdiction": NANXIN},
        {"device_id": "K-SD-B1", "type": "smoke_detector", "model": "B", "jurisdiction": DONGGOU1},
        {"device_id": "K-GAS-1", "type": "gas_alarm", "model": "G", "jurisdiction": NANXIN},
        {
            "device_id": "K-OFF",
            "type": "gas_alarm",
            "model": "G",
            "jurisdiction": NANXIN,
            "active": "0",
        },
    ]
    assert import_devices(session, rows).errors == []
    now = utcnow()
    for device_id, age in (("K-SD-A1", 60), ("K-SD-B1", 10 * 3600), ("K-GAS-1", 120)):
        seen = now - timedelta(seconds=age)
        session.add(DeviceState(device_id=device_id, last_seq=1, last_ts=seen, last_seen=seen))
    alarms = [
        alarm("K-SD-A1", minutes=0, ack=4, closed=30),
        alarm("K-SD-A1", minutes=100, state="false_alarm", ack=6, closed=10),
        alarm("K-SD-A2", minutes=200, severity="warning", state="raised"),
        alarm("K-SD-B1", minutes=300, state="false_alarm", closed=20),
        alarm("K-GAS-1", minutes=400, state="acknowledged", ack=2),
        # Outside the period: the day before, and the day after.
        alarm("K-GAS-1", minutes=-60, ack=1, closed=1),
        alarm("K-SD-A1", minutes=30 * 24 * 60 + 5, ack=1, closed=1),
    ]
    models = {"K-SD-A1": "A", "K-SD-A2": "A", "K-SD-B1": "B", "K-GAS-1": "G"}
    for item in alarms:
        item.device_type = "gas_alarm" if item.device_id.startswith("K-GAS") else "smoke_detector"
        item.device_model = models[item.device_id]
        item.community_code = DONGGOU1 if item.device_id == "K-SD-B1" else NANXIN
        item.jurisdiction_path = f"310115121/{item.community_code}/"
    session.add_all(alarms)
    session.flush()
    return now


def by_code(rows: list[SensingKpiRow]) -> dict[str | None, SensingKpiRow]:
    return {row.code: row for row in rows}


def test_figures_per_device_type(session: Session, figures: datetime) -> None:
    report = sensing_kpis(session, by=SensingGrouping.type, period=PERIOD, now=figures)
    rows = by_code(report.rows)
    assert list(rows) == ["smoke_detector", "gas_alarm"]  # sensing.yaml's order
    smoke = rows["smoke_detector"]
    assert (smoke.devices, smoke.online, smoke.online_rate) == pytest.approx((3, 1, 1 / 3))
    assert (smoke.alarms, smoke.alarms_critical, smoke.alarms_warning) == (4, 3, 1)
    assert (smoke.false_alarms, smoke.false_alarm_rate) == (2, 0.5)
    assert (smoke.acknowledged, smoke.mean_minutes_to_acknowledge) == pytest.approx((2, 5.0))
    assert (smoke.closed, smoke.mean_minutes_to_close) == pytest.approx((3, 20.0))
    gas = rows["gas_alarm"]  # the inactive gas alarm is not counted
    assert (gas.devices, gas.online, gas.alarms, gas.false_alarm_rate) == (1, 1, 1, 0.0)
    assert (gas.mean_minutes_to_acknowledge, gas.mean_minutes_to_close) == (2.0, None)
    total = report.total
    assert (total.code, total.devices, total.online, total.alarms) == (None, 4, 2, 5)
    assert total.mean_minutes_to_acknowledge == pytest.approx((4 + 6 + 2) / 3)
    assert total.false_alarm_rate == pytest.approx(2 / 5)


def test_false_alarm_rate_per_model_and_figures_per_community(
    session: Session, figures: datetime
) -> None:
    models = by_code(
        sensing_kpis(session, by=SensingGrouping.model, period=PERIOD, now=figures).rows
    )
    assert {code: row.false_alarm_rate for code, row in models.items()} == {
        "A": pytest.approx(1 / 3),
        "B": 1.0,
        "G": 0.0,
    }
    communities = by_code(
        sensing_kpis(session, by=SensingGrouping.community, period=PERIOD, now=figures).rows
    )
    assert communities[NANXIN].name_zh == "南新居委会"
    assert (communities[NANXIN].devices, communities[NANXIN].alarms) == (3, 4)
    assert (communities[DONGGOU1].devices, communities[DONGGOU1].online) == (1, 0)


def test_community_staff_see_their_community_and_residents_nothing(
    session: Session, figures: datetime, actor: Callable[[str], Actor]
) -> None:
    report = sensing_kpis(
        session, by=SensingGrouping.community, period=PERIOD, actor=actor("nanxin"), now=figures
    )
    assert [row.code for row in report.rows] == [NANXIN]
    assert (report.total.devices, report.total.alarms) == (3, 4)
    with pytest.raises(Forbidden):
        sensing_kpis(session, by=SensingGrouping.type, period=PERIOD, actor=actor("resident_a"))


@pytest.mark.usefixtures("figures")
def test_the_kpi_route_answers_json_and_excel(client: TestClient, login: Headers) -> None:
    duty = login("duty")
    query = {"from": "2026-11-01", "to": "2026-11-30", "by": "model"}
    report = ok(client.get("/api/v1/sensing/kpi", params=query, headers=duty))
    assert report["by"] == "model" and report["first_day"] == "2026-11-01"
    assert {row["code"]: row["alarms"] for row in report["rows"]} == {"A": 3, "B": 1, "G": 1}

    workbook = client.get("/api/v1/sensing/kpi", params=query | {"format": "xlsx"}, headers=duty)
    assert workbook.status_code == 200
    sheet = load_workbook(io.BytesIO(workbook.content)).active
    header = [cell.value for cell in sheet[2]]
    assert header[:3] == ["代码 (code)", "型号 (model)", "设备数 (devices)"]
    assert "误报率 (false-alarm rate)" in header
    last = [cell.value for cell in sheet[sheet.max_row]]
    assert last[1] == "全镇" and last[2] == 4

    default = ok(client.get("/api/v1/sensing/kpi", headers=duty))  # the last 30 days
    first, last_day = date.fromisoformat(default["first_day"]), default["last_day"]
    assert (date.fromisoformat(last_day) - first).days == 29
    bad = client.get("/api/v1/sensing/kpi", params={"from": "2026-11-01"}, headers=duty)
    assert bad.status_code == 422 and bad.json()["error"]["code"] == "invalid_input"
