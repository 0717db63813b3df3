"""The device registry: import (all or nothing, row errors, upsert), online state, demo devices."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from shapely.geometry import Point, shape
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests import factories
from tests.helpers import NANXIN
from townops.auth.models import AuditEntry
from townops.demo.devices import (
    ELDERLY_GAS_ALARMS,
    FIRE_SAFETY_DEVICES,
    PUBLIC_SAFETY_DEVICES,
    apportion,
    counts_by_network,
    demo_device_rows,
    register_demo_devices,
)
from townops.errors import InvalidInput
from townops.jurisdiction.models import Jurisdiction
from townops.sensing.config import SensingConfig
from townops.sensing.devices.registry import (
    DeviceFilters,
    import_devices,
    is_online,
    list_devices,
)
from townops.sensing.models import Device, DeviceState
from townops.townfiles.loader import default_town_dir, load_town
from townops.townfiles.sync import install_town
from townops.towns.profile import get_profile

NOW = datetime(2026, 11, 22, 2, 0, tzinfo=UTC)
NANXIN_G1 = f"{NANXIN}-G01"
NANXIN_G2 = f"{NANXIN}-G02"
DONGGOU1 = "310115121001"

EN_HEADER = [
    "device_id",
    "type",
    "model",
    "network",
    "jurisdiction",
    "lat",
    "lon",
    "address",
    "building",
    "owner_unit",
    "installed_on",
    "household_name",
    "household_phone",
    "household_note",
    "heartbeat_seconds",
    "active",
]
ZH_HEADER = [
    "设备编号",
    "设备类型",
    "型号",
    "接入平台",
    "所属网格/居委",
    "纬度",
    "经度",
    "地址",
    "楼栋",
    "权属单位",
    "安装日期",
    "住户",
    "联系电话",
    "备注",
    "心跳周期",
    "启用",
]
GOOD: list[dict[str, str]] = [
    {
        "device_id": "T-SD-1",
        "type": "smoke_detector",
        "model": "SD-1",
        "network": "社区小脑",
        "jurisdiction": NANXIN_G1,
        "address": "南新苑1号楼 1层楼道",
        "building": "南新苑1号楼",
        "owner_unit": "南新苑物业",
        "installed_on": "2022-03-01",
        "active": "1",
    },
    {
        "device_id": "T-GAS-1",
        "type": "可燃气体报警器",
        "model": "GA-1",
        "network": "居家安防",
        "jurisdiction": NANXIN_G1,
        "address": "南新苑1号楼302室",
        "building": "南新苑1号楼",
        "owner_unit": "高行镇安全办",
        "installed_on": "2023/01/05",
        "household_name": "张秀英",
        "household_phone": "13812345678",
        "household_note": "独居老人",
        "active": "是",
    },
    {
        "device_id": "T-WL-1",
        "type": "water_level_sensor",
        "model": "WL-1",
        "network": "中脑",
        "jurisdiction": "南新居委会",
        "address": "南新路1号",
        "owner_unit": "高行镇城运中心",
        "installed_on": "20220601",
        "heartbeat_seconds": "120",
        "active": "true",
    },
]


def as_lists(rows: list[dict[str, str]]) -> list[list[str]]:
    return [[row.get(name, "") for name in EN_HEADER] for row in rows]


GOOD_ROWS = as_lists(GOOD)


def write_csv(
    path: Path, header: list[str], rows: list[list[str]], encoding: str = "utf-8"
) -> Path:
    return factories.write_csv(path, [header, *rows], encoding)


def write_xlsx(path: Path, header: list[str], rows: list[list[Any]]) -> Path:
    return factories.write_xlsx(path, [header, *rows])


def devices(session: Session) -> dict[str, Device]:
    return {d.device_id: d for d in session.scalars(select(Device))}


def grid_point(session: Session, code: str) -> tuple[float, float]:
    geometry = session.get(Jurisdiction, code)
    assert geometry is not None and geometry.geometry is not None
    point = shape(geometry.geometry).representative_point()
    return round(point.y, 6), round(point.x, 6)


# --------------------------------------------------------------------------- #
# Good files
# --------------------------------------------------------------------------- #


def test_an_english_csv_registers_every_device_with_its_place(
    session: Session, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "devices.csv", EN_HEADER, GOOD_ROWS)
    report = import_devices(session, path, now=NOW)

    assert report.errors == [] and (report.created, report.updated) == (3, 0)
    found = devices(session)
    assert set(found) == {"T-SD-1", "T-GAS-1", "T-WL-1"}
    gas = found["T-GAS-1"]
    assert gas.type == "gas_alarm"  # the Chinese name of the type is accepted
    assert gas.jurisdiction_code == NANXIN_G1 and gas.community_code == NANXIN
    assert gas.jurisdiction_path is not None and gas.jurisdiction_path.endswith(f"{NANXIN_G1}/")
    assert (gas.household_name, gas.household_phone, gas.household_note) == (
        "张秀英",
        "13812345678",
        "独居老人",
    )
    assert gas.installed_on is not None and gas.installed_on.isoformat() == "2023-01-05"
    water = found["T-WL-1"]
    assert water.installed_on is not None  # narrows the type for the line below
    assert water.jurisdiction_code == NANXIN and water.community_code == NANXIN  # by name
    assert water.heartbeat_seconds == 120 and water.installed_on.isoformat() == "2022-06-01"
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "device.import")).one()
    assert sorted(audit.data["created"]) == ["T-GAS-1", "T-SD-1", "T-WL-1"]


def test_an_xlsx_with_chinese_headers_imports_the_same_devices(
    session: Session, tmp_path: Path
) -> None:
    rows: list[list[Any]] = [list(r) for r in GOOD_ROWS]
    rows[0][10] = datetime(2022, 3, 1)  # a date cell, as Excel stores it
    rows[2][14] = 120.0  # a number cell
    path = write_xlsx(tmp_path / "设备台账.xlsx", ZH_HEADER, rows)

    report = import_devices(session, path, now=NOW)

    assert report.errors == [] and report.created == 3
    found = devices(session)
    assert found["T-SD-1"].installed_on is not None
    assert found["T-SD-1"].installed_on.isoformat() == "2022-03-01"
    assert found["T-WL-1"].heartbeat_seconds == 120


def test_a_gbk_csv_with_chinese_headers_is_read(session: Session, tmp_path: Path) -> None:
    path = write_csv(tmp_path / "gbk.csv", ZH_HEADER, GOOD_ROWS, encoding="gbk")
    report = import_devices(session, path, now=NOW)
    assert report.errors == [] and report.created == 3
    assert devices(session)["T-GAS-1"].household_note == "独居老人"


def test_coordinates_alone_find_the_micro_grid(session: Session) -> None:
    lat, lon = grid_point(session, NANXIN_G2)
    report = import_devices(
        session,
        [{"device_id": "T-CAM-1", "type": "camera_ai", "lat": lat, "lon": lon}],
        now=NOW,
    )
    assert report.errors == []
    camera = devices(session)["T-CAM-1"]
    assert (camera.jurisdiction_code, camera.community_code) == (NANXIN_G2, NANXIN)
    assert (camera.lat, camera.lon) == (lat, lon)


# --------------------------------------------------------------------------- #
# Bad rows
# --------------------------------------------------------------------------- #

SD = {"type": "smoke_detector", "jurisdiction": NANXIN_G1}
GAS = {"type": "gas_alarm", "jurisdiction": NANXIN_G1}
BAD_ROWS = as_lists(
    [
        {"device_id": "B-1", "type": "toaster", "jurisdiction": NANXIN_G1},
        {"device_id": "B-2", "type": "smoke_detector", "jurisdiction": "no-such-place"},
        {"device_id": "B-3", "type": "smoke_detector", "lat": "95", "lon": "121.6"},
        {"device_id": "B-4", **SD, "installed_on": "2022-13-45"},
        {"device_id": "B-5", **GAS, "household_name": "李*", "household_phone": "1381234"},
        {"device_id": "B-6", **GAS, "household_phone": "138****5678"},
        {"device_id": "bad id!", **SD},
        {"device_id": "B-8", "type": "smoke_detector"},
        {
            "device_id": "B-9",
            **SD,
            "installed_on": "2099-01-01",
            "heartbeat_seconds": "0",
            "active": "maybe",
        },
        {"device_id": "T-SD-1", **SD},
    ]
)


def test_every_bad_row_is_reported_by_row_and_column_and_nothing_is_written(
    session: Session, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "bad.csv", EN_HEADER, [*GOOD_ROWS, *BAD_ROWS])
    before = session.scalar(select(func.count()).select_from(Device))

    report = import_devices(session, path, now=NOW)

    assert session.scalar(select(func.count()).select_from(Device)) == before
    assert (report.created, report.updated, report.new_rows) == (0, 0, 3)
    problems = {(e.row, e.column) for e in report.errors}
    # Rows as the spreadsheet shows them: header is 1, the 3 good rows 2-4, bad from 5.
    assert problems == {
        (5, "type"),
        (6, "jurisdiction"),
        (7, "lat"),
        (8, "installed_on"),
        (9, "household_phone"),
        (10, "household_phone"),
        (11, "device_id"),
        (12, "jurisdiction"),
        (13, "installed_on"),
        (13, "heartbeat_seconds"),
        (13, "active"),
        (14, "device_id"),
    }
    duplicate = next(e for e in report.errors if e.row == 14)
    assert "第 2 行" in duplicate.reason and duplicate.value == "T-SD-1"
    assert report.bad_rows == list(range(5, 15))


def test_skip_bad_imports_the_good_rows_and_dry_run_writes_nothing(
    session: Session, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "mixed.csv", EN_HEADER, [*GOOD_ROWS, BAD_ROWS[0]])

    dry = import_devices(session, path, now=NOW, dry_run=True, skip_bad=True)
    assert dry.new_rows == 3 and dry.created == 0 and devices(session) == {}

    report = import_devices(session, path, now=NOW, skip_bad=True)
    assert report.created == 3 and report.bad_rows == [5]
    assert set(devices(session)) == {"T-SD-1", "T-GAS-1", "T-WL-1"}


def test_a_point_outside_its_jurisdiction_is_refused(session: Session) -> None:
    lat, lon = grid_point(session, f"{DONGGOU1}-G01")
    report = import_devices(
        session,
        [{"device_id": "T-X", "type": "camera_ai", "jurisdiction": NANXIN, "lat": lat, "lon": lon}],
        now=NOW,
    )
    assert [(e.row, e.column) for e in report.errors] == [(2, "lat")]
    assert "不在所属辖区" in report.errors[0].reason


def test_a_header_without_type_or_place_is_refused_as_a_whole(session: Session) -> None:
    with pytest.raises(InvalidInput) as caught:
        import_devices(session, [{"device_id": "X", "address": "somewhere"}], now=NOW)
    assert set(caught.value.details["missing"]) == {"type", "jurisdiction"}


# --------------------------------------------------------------------------- #
# Upsert
# --------------------------------------------------------------------------- #


def test_importing_again_changes_nothing_and_a_changed_row_updates_only_its_columns(
    session: Session, tmp_path: Path
) -> None:
    path = write_csv(tmp_path / "devices.csv", EN_HEADER, GOOD_ROWS)
    import_devices(session, path, now=NOW)

    again = import_devices(session, path, now=NOW + timedelta(hours=1))
    assert (again.created, again.updated, again.unchanged_rows) == (0, 0, 3)
    assert session.scalar(select(func.count()).select_from(Device)) == 3

    # A file with fewer columns: the household registered before stays.
    moved = import_devices(
        session,
        [
            {"device_id": "T-GAS-1", "type": "gas_alarm", "jurisdiction": NANXIN_G2},
            {"device_id": "T-SD-1", "type": "smoke_detector", "jurisdiction": NANXIN_G1},
        ],
        now=NOW + timedelta(hours=2),
    )
    assert (moved.created, moved.updated, moved.unchanged_rows) == (0, 1, 1)
    session.expire_all()
    gas = devices(session)["T-GAS-1"]
    assert gas.jurisdiction_code == NANXIN_G2 and gas.jurisdiction_path is not None
    assert gas.jurisdiction_path.endswith(f"{NANXIN_G2}/")
    assert gas.household_phone == "13812345678" and gas.model == "GA-1"
    assert gas.updated_at == NOW + timedelta(hours=2) and gas.created_at == NOW


def test_an_import_tells_the_pipeline_to_forget_its_cached_devices(
    session: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    pipeline = pytest.importorskip("townops.sensing.devices.facts")
    calls: list[Session] = []
    monkeypatch.setattr(pipeline, "forget_devices", calls.append, raising=False)
    rows = [{"device_id": "T-1", "type": "smoke_detector", "jurisdiction": NANXIN_G1}]

    import_devices(session, rows, now=NOW, dry_run=True)
    assert calls == []
    import_devices(session, rows, now=NOW)
    assert calls == [session]


# --------------------------------------------------------------------------- #
# Online
# --------------------------------------------------------------------------- #


def test_online_means_heard_from_within_the_missed_heartbeats_in_python_and_in_sql(
    session: Session,
) -> None:
    config = get_profile(session).config(SensingConfig)
    # smoke detectors: heartbeat 3600 s; × 3 missed heartbeats = 3 h. One with its own 120 s.
    ages = {"T-A": 60, "T-B": 3 * 3600 - 60, "T-C": 3 * 3600 + 60, "T-D": None, "T-E": 400}
    rows: list[dict[str, Any]] = [{"device_id": d, **SD} for d in ages]
    rows[-1]["heartbeat_seconds"] = 120  # T-E: 400 s > 3 × 120 s
    import_devices(session, rows, now=NOW)
    for device_id, age in ages.items():
        if age is not None:
            seen = NOW - timedelta(seconds=age)
            session.add(DeviceState(device_id=device_id, last_seq=1, last_ts=seen, last_seen=seen))
    session.flush()

    expected = {"T-A": True, "T-B": True, "T-C": False, "T-D": False, "T-E": False}
    listing = list_devices(session, page_size=10, now=NOW)
    assert {d.device_id: is_online(s, d, config, NOW) for d, s in listing.rows} == expected
    online = list_devices(session, filters=DeviceFilters(online=True), now=NOW)
    offline = list_devices(session, filters=DeviceFilters(online=False), now=NOW)
    assert {d.device_id for d, _ in online.rows} == {"T-A", "T-B"}
    assert {d.device_id for d, _ in offline.rows} == {"T-C", "T-D", "T-E"}
    assert online.total + offline.total == 5


# --------------------------------------------------------------------------- #
# Demo devices
# --------------------------------------------------------------------------- #


@pytest.fixture(scope="module")
def demo_rows() -> list[dict[str, str]]:
    return demo_device_rows(load_town(default_town_dir()))


def test_the_demo_has_the_towns_583_and_4150_devices_and_the_gas_alarms(
    demo_rows: list[dict[str, str]],
) -> None:
    assert counts_by_network(demo_rows) == {
        "中脑": PUBLIC_SAFETY_DEVICES,
        "社区小脑": FIRE_SAFETY_DEVICES,
        "居家安防": ELDERLY_GAS_ALARMS,
    }
    assert (PUBLIC_SAFETY_DEVICES, FIRE_SAFETY_DEVICES) == (583, 4150)
    gas = [r for r in demo_rows if r["type"] == "gas_alarm"]
    assert len(gas) == ELDERLY_GAS_ALARMS
    assert all(r["household_note"] == "独居老人" and r["household_name"].endswith("*") for r in gas)
    assert len({r["device_id"] for r in demo_rows}) == len(demo_rows)
    assert demo_device_rows(load_town(default_town_dir())) == demo_rows  # seeded


def test_every_demo_device_lies_in_its_micro_grid_and_buildings_hold_several(
    demo_rows: list[dict[str, str]],
) -> None:
    town = load_town(default_town_dir())
    polygons = {
        j.code: shape(j.geometry.model_dump(exclude_none=True)) for j in town.at_level("micro_grid")
    }
    for row in demo_rows:
        point = Point(float(row["lon"]), float(row["lat"]))
        assert polygons[row["jurisdiction"]].contains(point), row["device_id"]
    per_building: dict[str, int] = {}
    for row in demo_rows:
        if row["building"]:
            per_building[row["building"]] = per_building.get(row["building"], 0) + 1
    assert sum(1 for n in per_building.values() if n >= 6) > 500


def test_the_demo_devices_go_through_the_importer_without_a_bad_row(session: Session) -> None:
    report = register_demo_devices(session, load_town(default_town_dir()))
    total = PUBLIC_SAFETY_DEVICES + FIRE_SAFETY_DEVICES + ELDERLY_GAS_ALARMS
    assert report.created == total
    located = session.scalar(
        select(func.count()).select_from(Device).where(Device.community_code.is_not(None))
    )
    assert located == total


def test_apportion_keeps_the_total_and_the_proportions() -> None:
    assert apportion(10, [1, 1, 1]) == [4, 3, 3]
    assert sum(apportion(4150, [1.0] * 108 + [1 / 3] * 3)) == 4150
    assert apportion(7, [2, 1, 0]) == [5, 2, 0]


# --------------------------------------------------------------------------- #
# The command line
# --------------------------------------------------------------------------- #


def test_the_device_commands(tmp_path: Path) -> None:
    import typer

    from townops.cli.device import register
    from townops.db import make_engine

    app = typer.Typer()
    register(app)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    engine = make_engine(url)
    install_town(engine, load_town(default_town_dir()), with_demo_users=False)
    engine.dispose()
    runner = CliRunner()
    bad = write_csv(tmp_path / "bad.csv", EN_HEADER, [*GOOD_ROWS, BAD_ROWS[0]])
    good = write_csv(tmp_path / "good.csv", EN_HEADER, GOOD_ROWS)

    refused = runner.invoke(app, ["device", "import", str(bad), "--database-url", url])
    assert refused.exit_code == 2 and "toaster" in refused.output
    empty = runner.invoke(app, ["device", "list", "--database-url", url])
    assert empty.exit_code == 0 and "0 / 0" in empty.output

    done = runner.invoke(app, ["device", "import", str(good), "--database-url", url])
    assert done.exit_code == 0, done.output
    listed = runner.invoke(app, ["device", "list", "--database-url", url])
    assert "3 / 3" in listed.output and "T-GAS-1" in listed.output
    shown = runner.invoke(app, ["device", "show", "T-GAS-1", "--database-url", url])
    assert shown.exit_code == 0 and "独居老人" in shown.output
    xlsx = tmp_path / "kpi.xlsx"
    kpi = runner.invoke(
        app, ["device", "kpi", "--by", "community", "--xlsx", str(xlsx), "--database-url", url]
    )
    assert kpi.exit_code == 0, kpi.output
    assert "南新居委会" in kpi.output and xlsx.exists()
    compact = runner.invoke(app, ["device", "compact", "--database-url", url])
    assert compact.exit_code == 0 and "0 rolled up" in compact.output
    out = tmp_path / "demo.csv"
    demo = runner.invoke(app, ["device", "demo-file", str(out)])
    assert demo.exit_code == 0 and "5463 devices" in demo.output
    with out.open(encoding="utf-8-sig") as handle:
        assert sum(1 for _ in handle) == 5464
