"""The Gaohang demo's devices: a seeded, deterministic device registry for the demo town.

The rows are what a town would hand over as a spreadsheet, and they go through the same
importer (:func:`townops.sensing.devices.registry.import_devices`) as a real file. Every device is
placed at a random point (seeded) inside a real micro-grid polygon of the town's
``jurisdictions.geojson`` and names that micro-grid as its jurisdiction.

* 中脑 (public safety, :data:`PUBLIC_SAFETY_DEVICES`): water-level sensors on low-lying
  road sections and manhole-cover sensors along the gazetteer's roads, AI cameras at
  markets, on roads and at estate gates, electrical-fire monitors in the markets and in
  old estates' buildings.
* 社区小脑 (fire safety, :data:`FIRE_SAFETY_DEVICES`): smoke detectors, fire-door sensors
  and electrical-fire monitors, six to a building (three stairwell smoke detectors, two
  fire doors, one distribution room), spread over the micro-grids (a village's count a
  third of an estate's: low-rise houses share fewer stairwells).
* 居家安防 (:data:`ELDERLY_GAS_ALARMS`): combustible-gas alarms in the flats of elderly
  people living alone, in the same buildings; old 新村 estates get twice their share.

Buildings are labelled "<estate>N号楼" (estates from the gazetteer), so storm control
finds several devices in one building. Households are named by surname only (张*) and
their phone numbers are fictitious (1xx0000xxxx).
"""

from __future__ import annotations

import csv
import random
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from shapely.geometry import Point, shape
from shapely.geometry.base import BaseGeometry
from sqlalchemy.orm import Session

from townops.sensing.devices.registry import COLUMNS, import_devices
from townops.tabular import ImportReport
from townops.townfiles.schema import Jurisdiction, Town
from townops.workbook import Book

# Gaohang's 2022 government work report (shared/seeds/003, 2022-12-27): "“高行中脑”接入公共
# 安全类物联感知设备 583 个，“社区小脑”新增接入社区消防类物联感知设备 4150 个".
PUBLIC_SAFETY_DEVICES = 583
FIRE_SAFETY_DEVICES = 4_150
# The same report: the 老伙伴 programme helps 730 elderly people living alone, and its 2023
# projects start "镇域独居老人家庭可燃气体智能报警项目": one gas alarm per such home.
ELDERLY_GAS_ALARMS = 730

DEMO_DEVICE_SEED = 20221227  # the day of the work report
PUBLIC_SAFETY_NETWORK = "中脑"
FIRE_SAFETY_NETWORK = "社区小脑"
HOME_NETWORK = "居家安防"

# How the 583 中脑 devices split by type (invented; the report gives only the total).
PUBLIC_SAFETY_MIX: dict[str, int] = {
    "camera_ai": 220,
    "manhole_cover_sensor": 187,
    "water_level_sensor": 96,
    "electrical_fire_monitor": 80,
}
# Devices of a 社区小脑 building, in the order they are fitted.
BUILDING_KIT = (
    ("smoke_detector", "1层楼道"),
    ("fire_door_sensor", "1层防火门"),
    ("electrical_fire_monitor", "配电间"),
    ("smoke_detector", "3层楼道"),
    ("fire_door_sensor", "顶层防火门"),
    ("smoke_detector", "5层楼道"),
)
MARKET_ELECTRICAL_MONITORS = 8  # per market; the rest of the type go to old buildings

_ID_PREFIX = {
    "water_level_sensor": "WL",
    "manhole_cover_sensor": "MC",
    "camera_ai": "CAM",
    "electrical_fire_monitor": "EF",
    "smoke_detector": "SD",
    "fire_door_sensor": "FD",
    "gas_alarm": "GAS",
}
# Invented model names: the KPIs compare false-alarm rates between models of one type.
_MODELS = {
    "water_level_sensor": ("WL-200", "WL-300NB"),
    "manhole_cover_sensor": ("MC-T10", "MC-T20NB"),
    "camera_ai": ("AIC-400", "AIC-600"),
    "electrical_fire_monitor": ("EF-3P100", "EF-1P60"),
    "smoke_detector": ("SD-NB300", "SD-4G210", "SD-NB320"),
    "fire_door_sensor": ("FD-M10", "FD-M20"),
    "gas_alarm": ("GA-H100", "GA-H200"),
}
_SURNAMES = (
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高郑梁谢宋唐许韩冯邓曹彭曾萧田"
    "董潘袁蔡蒋余于杜叶程魏苏吕丁任沈姚卢"
)
_GATES = ("东门", "南门", "西门", "北门")
_CITY_OWNER = "高行镇城运中心"
_HOME_OWNER = "高行镇安全办"
# Inside the polygon by this margin (degrees, ~1 m), so rounding to 6 decimals stays inside.
_MARGIN = 1e-5


@dataclass
class _Grid:
    code: str
    community: str
    polygon: BaseGeometry
    estate: str
    village: bool
    old: bool
    buildings: list[_Building] = field(default_factory=list)


@dataclass(frozen=True)
class _Building:
    label: str
    grid: _Grid
    lat: float
    lon: float


@dataclass(frozen=True)
class _Market:
    name: str
    grid: _Grid
    where: tuple[float, float]


class _Generator:
    def __init__(self, town: Town, seed: int) -> None:
        self.rng = random.Random(seed)
        self.town = town
        self.grids = _grids(town)
        self.by_code = {g.code: g for g in self.grids}
        self.by_community: dict[str, list[_Grid]] = {}
        for grid in self.grids:
            self.by_community.setdefault(grid.community, []).append(grid)
        self.next_number: dict[str, int] = {}
        self.serial: dict[str, int] = {}
        self.rows: list[dict[str, str]] = []
        self.markets = self.find_markets()

    # -- places ------------------------------------------------------------------------

    def point_in(self, grid: _Grid) -> tuple[float, float]:
        inner = grid.polygon.buffer(-_MARGIN)
        west, south, east, north = inner.bounds
        while True:
            lon = round(self.rng.uniform(west, east), 6)
            lat = round(self.rng.uniform(south, north), 6)
            if inner.contains(Point(lon, lat)):
                return lat, lon

    def new_building(self, grid: _Grid) -> _Building:
        number = self.next_number.get(grid.estate, 0) + self.rng.randint(1, 3)
        self.next_number[grid.estate] = number
        lat, lon = self.point_in(grid)
        building = _Building(f"{grid.estate}{number}号楼", grid, lat, lon)
        grid.buildings.append(building)
        return building

    def road_spot(self) -> tuple[str, _Grid]:
        roads = self.town.gazetteer.roads if self.town.gazetteer else []
        if not roads:
            grid = self.rng.choice(self.grids)
            return f"{grid.estate}周边道路", grid
        road = self.rng.choice(roads)
        segment = self.rng.choice(road.segments)
        number = self.rng.randint(segment.number_from, segment.number_to)
        wanted = {"odd": 1, "even": 0}.get(segment.parity)
        if wanted is not None and number % 2 != wanted:
            number = number + 1 if number < segment.number_to else number - 1
        grid = self.grid_of(segment.jurisdiction)
        return f"{road.name}{number}号", grid

    def grid_of(self, code: str) -> _Grid:
        if code in self.by_code:
            return self.by_code[code]
        return self.rng.choice(self.by_community.get(code) or self.grids)

    def find_markets(self) -> list[_Market]:
        landmarks = self.town.gazetteer.landmarks if self.town.gazetteer else []
        markets = []
        for landmark in (p for p in landmarks if "市场" in p.name):
            grid = self.grid_of(landmark.jurisdiction)
            markets.append(_Market(landmark.name, grid, self.point_in(grid)))
        return markets

    # -- rows --------------------------------------------------------------------------

    def add(
        self,
        device_type: str,
        network: str,
        *,
        grid: _Grid,
        where: tuple[float, float],
        address: str,
        building: str = "",
        owner: str,
        installed: tuple[date, date],
        household: tuple[str, str, str] = ("", "", ""),
    ) -> None:
        prefix = {PUBLIC_SAFETY_NETWORK: "ZN", FIRE_SAFETY_NETWORK: "SQ", HOME_NETWORK: "JA"}
        key = f"{prefix[network]}-{_ID_PREFIX[device_type]}"
        self.serial[key] = self.serial.get(key, 0) + 1
        first, last = installed
        day = first + timedelta(days=self.rng.randint(0, (last - first).days))
        self.rows.append(
            {
                "device_id": f"{key}-{self.serial[key]:05d}",
                "type": device_type,
                "model": self.rng.choice(_MODELS[device_type]),
                "network": network,
                "jurisdiction": grid.code,
                "lat": f"{where[0]:.6f}",
                "lon": f"{where[1]:.6f}",
                "address": address,
                "building": building,
                "owner_unit": owner,
                "installed_on": day.isoformat(),
                "household_name": household[0],
                "household_phone": household[1],
                "household_note": household[2],
                "heartbeat_seconds": "",
                "active": "1",
            }
        )

    def public_safety(self) -> None:
        installed = (date(2021, 3, 1), date(2022, 11, 30))
        for _ in range(PUBLIC_SAFETY_MIX["water_level_sensor"]):
            address, grid = self.road_spot()
            self.add(
                "water_level_sensor",
                PUBLIC_SAFETY_NETWORK,
                grid=grid,
                where=self.point_in(grid),
                address=f"{address} 低洼路段",
                owner=_CITY_OWNER,
                installed=installed,
            )
        for _ in range(PUBLIC_SAFETY_MIX["manhole_cover_sensor"]):
            address, grid = self.road_spot()
            self.add(
                "manhole_cover_sensor",
                PUBLIC_SAFETY_NETWORK,
                grid=grid,
                where=self.point_in(grid),
                address=f"{address} 窨井",
                owner=_CITY_OWNER,
                installed=installed,
            )
        self.cameras(installed)
        self.market_and_old_building_monitors(installed)

    def cameras(self, installed: tuple[date, date]) -> None:
        for index in range(PUBLIC_SAFETY_MIX["camera_ai"]):
            spot = index % 20  # of every 20: 3 at markets, 9 on roads, 8 at estate gates
            if self.markets and spot < 3:
                market = self.markets[index % len(self.markets)]
                grid, where = market.grid, market.where
                address = f"{market.name}{self.rng.choice(_GATES)}"
            elif spot < 12:
                address, grid = self.road_spot()
                where = self.point_in(grid)
            else:
                grid = self.rng.choice(self.grids)
                where = self.point_in(grid)
                address = f"{grid.estate}{self.rng.choice(_GATES)}"
            self.add(
                "camera_ai",
                PUBLIC_SAFETY_NETWORK,
                grid=grid,
                where=where,
                address=address,
                owner=_CITY_OWNER,
                installed=installed,
            )

    def market_and_old_building_monitors(self, installed: tuple[date, date]) -> None:
        total = PUBLIC_SAFETY_MIX["electrical_fire_monitor"]
        placed = 0
        for market in self.markets:
            for stall in range(1, MARKET_ELECTRICAL_MONITORS + 1):
                if placed == total:
                    return
                self.add(
                    "electrical_fire_monitor",
                    PUBLIC_SAFETY_NETWORK,
                    grid=market.grid,
                    where=market.where,
                    address=f"{market.name} {stall}号配电箱",
                    building=market.name,
                    owner=f"{market.name}经营管理方",
                    installed=installed,
                )
                placed += 1
        old = [g for g in self.grids if g.old] or self.grids
        while placed < total:
            building = self.new_building(self.rng.choice(old))
            self.add(
                "electrical_fire_monitor",
                PUBLIC_SAFETY_NETWORK,
                grid=building.grid,
                where=(building.lat, building.lon),
                address=f"{building.label} 配电间",
                building=building.label,
                owner=_CITY_OWNER,
                installed=installed,
            )
            placed += 1

    def fire_safety(self) -> None:
        installed = (date(2022, 1, 10), date(2022, 12, 15))
        weights = [1 / 3 if g.village else 1.0 for g in self.grids]
        for grid, count in zip(self.grids, apportion(FIRE_SAFETY_DEVICES, weights), strict=True):
            for index in range(count):
                if index % len(BUILDING_KIT) == 0:
                    building = self.new_building(grid)
                device_type, spot = BUILDING_KIT[index % len(BUILDING_KIT)]
                self.add(
                    device_type,
                    FIRE_SAFETY_NETWORK,
                    grid=grid,
                    where=(building.lat, building.lon),
                    address=f"{building.label} {spot}",
                    building=building.label,
                    owner=f"{grid.estate}物业",
                    installed=installed,
                )

    def elderly_homes(self) -> None:
        installed = (date(2023, 1, 3), date(2023, 6, 30))
        weights = [2.0 if g.old else 1.0 for g in self.grids]
        for grid, count in zip(self.grids, apportion(ELDERLY_GAS_ALARMS, weights), strict=True):
            for _ in range(count):
                if grid.buildings:
                    building = self.rng.choice(grid.buildings)
                else:
                    building = self.new_building(grid)
                flat = f"{self.rng.randint(1, 6)}0{self.rng.randint(1, 4)}室"
                self.add(
                    "gas_alarm",
                    HOME_NETWORK,
                    grid=grid,
                    where=(building.lat, building.lon),
                    address=f"{building.label}{flat} 厨房",
                    building=building.label,
                    owner=_HOME_OWNER,
                    installed=installed,
                    household=(f"{self.rng.choice(_SURNAMES)}*", self.phone(), "独居老人"),
                )

    def phone(self) -> str:
        # 1[3-9]x 0000 xxxx: the format of a mainland mobile, in no real number block.
        prefix = f"1{self.rng.choice('35789')}{self.rng.randint(0, 9)}"
        return f"{prefix}0000{self.rng.randint(0, 9999):04d}"


def _grids(town: Town) -> list[_Grid]:
    estates: dict[str, list[str]] = {}
    for place in town.gazetteer.estates if town.gazetteer else []:
        estates.setdefault(place.jurisdiction, []).append(place.name)
    grids: list[_Grid] = []
    for node in sorted(town.at_level("micro_grid"), key=lambda j: j.code):
        if node.geometry.type not in ("Polygon", "MultiPolygon") or node.parent is None:
            continue
        community = town.jurisdiction(node.parent)
        siblings = [g.code for g in town.children(community.code)]
        estate = _estate_name(node, community, estates, siblings.index(node.code))
        grids.append(
            _Grid(
                code=node.code,
                community=community.code,
                polygon=shape(node.geometry.model_dump(exclude_none=True)),
                estate=estate,
                village=community.name_zh.endswith("村委会"),
                old="村" in estate or "新村" in community.name_zh,
            )
        )
    return grids


def _estate_name(
    grid: Jurisdiction, community: Jurisdiction, estates: dict[str, list[str]], position: int
) -> str:
    """The grid's own estate, else one of its community's, else the community's short name."""
    if estates.get(grid.code):
        return estates[grid.code][0]
    shared = estates.get(community.code)
    if shared:
        return shared[position % len(shared)]
    for suffix in ("居委会", "村委会"):
        if community.name_zh.endswith(suffix):
            return community.name_zh.removesuffix(suffix)
    return community.name_zh


def apportion(total: int, weights: Sequence[float]) -> list[int]:
    """``total`` split in proportion to ``weights`` (largest remainder): sums to ``total``."""
    whole = sum(weights)
    exact = [total * w / whole for w in weights]
    counts = [int(x) for x in exact]
    by_remainder = sorted(range(len(exact)), key=lambda i: (counts[i] - exact[i], i))
    for i in by_remainder[: total - sum(counts)]:
        counts[i] += 1
    return counts


# --------------------------------------------------------------------------- #
# Public entry points
# --------------------------------------------------------------------------- #


def demo_device_rows(town: Town, *, seed: int = DEMO_DEVICE_SEED) -> list[dict[str, str]]:
    """Every demo device as an import row (English headers), always the same for a seed."""
    generator = _Generator(town, seed)
    generator.public_safety()
    generator.fire_safety()
    generator.elderly_homes()
    return generator.rows


def write_demo_file(path: Path, town: Town, *, seed: int = DEMO_DEVICE_SEED) -> int:
    """Write the demo devices as CSV (UTF-8 with BOM, opens in Excel) or XLSX; row count."""
    rows = demo_device_rows(town, seed=seed)
    header = list(COLUMNS)
    if path.suffix.lower() == ".xlsx":
        book = Book()
        sheet = book.sheet("devices")
        sheet.append(header)
        for row in rows:
            sheet.append([row[name] for name in header])
        book.save(path)
    else:
        with path.open("w", encoding="utf-8-sig", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=header)
            writer.writeheader()
            writer.writerows(rows)
    return len(rows)


def register_demo_devices(
    session: Session, town: Town, *, seed: int = DEMO_DEVICE_SEED, **options: Any
) -> ImportReport:
    """Import the demo devices through the real importer; any bad row is a bug here."""
    report = import_devices(session, demo_device_rows(town, seed=seed), **options)
    if report.errors:
        raise RuntimeError(f"the demo devices do not import: {report.errors[:5]}")
    return report


def counts_by_network(rows: Sequence[dict[str, str]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for row in rows:
        counts[row["network"]] = counts.get(row["network"], 0) + 1
    return counts
