"""What a year looks like to Gaohang's 12345 desk: when calls came, about what, from where.

Everything here is drawn from the one ``random.Random`` the simulation owns, in a fixed
order, so a seed always gives the same year. Nothing reads the clock: the days simulated
come in as a :class:`townops.demo.year.DemoYear`.

Volume: weekdays busier than weekends and holidays, a quiet Spring Festival week, a summer
rise for noise, leaks, greenery and rivers, and, in 2022 only, the April–May Shanghai
lockdown, when epidemic consultations, help requests and property complaints surged while
street-level categories (vending, building sites, parking) nearly stopped.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from itertools import accumulate
from math import sqrt
from typing import Any

from chinese_calendar import constants as cc_constants
from shapely.geometry import MultiPolygon, shape
from shapely.ops import polylabel

from townops.cases.kinds import HOTLINE
from townops.cases.schemas import CaseCreate
from townops.deadlines import WorkingCalendar
from townops.demo import texts
from townops.demo.year import DemoYear, local_midnight
from townops.timeutil import SHANGHAI

HOTLINE_SOURCE = "12345"

# Relative call volume per category (a year's mix before seasons); unknown codes get 1.
CATEGORY_WEIGHTS: dict[str, float] = {
    "property_service": 14,
    "illegal_parking": 8,
    "policy_consultation": 9,
    "noise_neighbourhood": 7,
    "illegal_construction": 7,
    "sanitation": 7,
    "house_leak": 7,
    "noise_construction_night": 4,
    "street_vending": 4,
    "group_renting": 3,
    "illegal_discharge": 3,
    "road_damage": 3,
    "consumer_complaint": 3,
    "greenery": 3,
    "health_consultation": 3,
    "lift_failure": 2.5,
    "dog_nuisance": 2.5,
    "neighbour_dispute": 2.5,
    "street_light": 2,
    "social_assistance": 2,
    "suggestion": 2,
    "community_affairs": 1.5,
    "fire_hazard": 1.2,
    "food_safety": 1.2,
    "estate_renewal": 1.2,
    "river_pollution": 1,
    "water_main_burst": 1,
    "enterprise_service": 1,
    "relocation": 0.6,
    "public_toilet": 0.5,
    "gas_smell": 0.5,
}


@dataclass(frozen=True)
class Season:
    """Multipliers on some categories' volume between two days of the year (month, day),
    both included; ``year``: that year only (the 2022 lockdown), else every year."""

    first: tuple[int, int]
    last: tuple[int, int]
    factors: dict[str, float]
    year: int | None = None

    def covers(self, d: date) -> bool:
        if self.year is not None and d.year != self.year:
            return False
        return self.first <= (d.month, d.day) <= self.last


SEASONS: tuple[Season, ...] = (
    # Shanghai lockdown (Pudong from 28 March, the whole city until 1 June).
    Season(
        (3, 28),
        (5, 31),
        {
            "health_consultation": 12,
            "social_assistance": 4,
            "property_service": 1.8,
            "consumer_complaint": 1.8,
            "food_safety": 1.5,
            "policy_consultation": 1.3,
            "enterprise_service": 1.5,
            "street_vending": 0.1,
            "illegal_construction": 0.2,
            "noise_construction_night": 0.1,
            "illegal_parking": 0.4,
            "relocation": 0.3,
            "road_damage": 0.5,
            "estate_renewal": 0.3,
        },
        year=2022,
    ),
    Season((6, 1), (6, 30), {"enterprise_service": 2, "health_consultation": 2}, year=2022),
    Season(
        (6, 15),
        (9, 15),
        {
            "noise_neighbourhood": 1.6,
            "noise_construction_night": 1.5,
            "greenery": 1.8,
            "river_pollution": 1.5,
            "water_main_burst": 1.4,
            "public_toilet": 1.3,
            "dog_nuisance": 1.2,
            "illegal_discharge": 1.3,
        },
    ),
    Season((6, 10), (7, 20), {"house_leak": 1.6}),  # plum rains (梅雨)
    Season((12, 7), (12, 31), {"health_consultation": 5}, year=2022),  # 新十条
)

# Calls per hour of the local day: the desk is open round the clock, callers mostly 8–21.
HOUR_WEIGHTS = (
    0.4,
    0.2,
    0.15,
    0.1,
    0.1,
    0.2,
    0.6,
    2.0,
    5.0,
    6.5,
    6.5,
    5.5,
    4.0,
    4.5,
    5.5,
    5.5,
    5.0,
    4.5,
    3.5,
    3.5,
    3.2,
    2.6,
    1.4,
    0.8,
)


def season_factor(code: str, d: date) -> float:
    factor = 1.0
    for season in SEASONS:
        if season.covers(d):
            factor *= season.factors.get(code, 1.0)
    return factor


@cache
def spring_festival_days() -> frozenset[date]:
    """The official Spring Festival holidays of every year ``chinese-calendar`` knows
    (2022: 31 January – 6 February); a quiet week at the 12345 desk."""
    return frozenset(
        d
        for d, name in cc_constants.holidays.items()
        if name == cc_constants.Holiday.spring_festival.value
    )


def day_factor(d: date, calendar: WorkingCalendar) -> float:
    if d in spring_festival_days():
        return 0.45
    return 1.0 if calendar.is_working_day(d) else 0.68


# --------------------------------------------------------------------------- places


@dataclass(frozen=True)
class Spot:
    """A micro-grid or building cases can be placed at, with what an address needs."""

    code: str
    community_code: str
    estate: str  # how residents name the estate: 迎亭公寓, 南新居民区 …
    building: str | None  # 6号楼 for a building; None for a micro-grid
    lon: float
    lat: float
    half_size: float  # jitter around (lon, lat), in degrees


@dataclass(frozen=True)
class PlaceBook:
    communities: list[str]
    community_cum_weights: list[float]
    spots: dict[str, list[Spot]]  # community code → spots under it

    def draw(self, rng: random.Random) -> Spot:
        (community,) = rng.choices(self.communities, cum_weights=self.community_cum_weights)
        return rng.choice(self.spots[community])


def community_weight(name_zh: str) -> float:
    """Larger new estates (森兰, 绿洲) call more; the one village less."""
    if "森兰" in name_zh or "绿洲" in name_zh:
        return 2.0
    return 0.6 if "村" in name_zh and "新村" not in name_zh else 1.0


@dataclass(frozen=True)
class Node:
    """The fields of a jurisdiction row the place book needs (kept free of the ORM)."""

    code: str
    name_zh: str
    level: str
    parent_code: str | None
    aliases: Sequence[str]
    geometry: dict[str, Any] | None


def build_place_book(nodes: Sequence[Node]) -> PlaceBook:
    by_code = {n.code: n for n in nodes}
    communities = sorted((n for n in nodes if n.level == "community"), key=lambda n: n.code)
    spots: dict[str, list[Spot]] = {c.code: [] for c in communities}
    for node in sorted(nodes, key=lambda n: n.code):
        grid = node if node.level == "micro_grid" else by_code.get(node.parent_code or "")
        if (
            grid is None
            or grid.level != "micro_grid"
            or node.level not in ("micro_grid", "building")
        ):
            continue
        community = by_code[grid.parent_code or ""]
        lon, lat, half = _centre(node.geometry)
        spots[community.code].append(
            Spot(
                code=node.code,
                community_code=community.code,
                estate=_estate_name(grid, community),
                building=node.name_zh if node.level == "building" else None,
                lon=lon,
                lat=lat,
                half_size=half,
            )
        )
    usable = [c for c in communities if spots[c.code]]
    return PlaceBook(
        communities=[c.code for c in usable],
        community_cum_weights=list(accumulate(community_weight(c.name_zh) for c in usable)),
        spots={c.code: spots[c.code] for c in usable},
    )


def _estate_name(grid: Node, community: Node) -> str:
    # A micro-grid named after an estate carries the estate as an alias (迎亭公寓).
    for alias in grid.aliases:
        if "微网格" not in alias:
            return alias
    return next((a for a in community.aliases if a.endswith("居民区")), community.name_zh)


def _centre(geometry: dict[str, Any] | None) -> tuple[float, float, float]:
    """Where a spot's cases are put: a centre and a half-size such that the jittered square
    stays inside the spot's polygon (micro-grids are not boxes), so a case's point lies in
    the place it is filed under."""
    if not geometry:
        return 121.6, 31.3, 0.002
    if geometry.get("type") == "Point":
        lon, lat = geometry["coordinates"][:2]
        return float(lon), float(lat), 0.0003
    area = shape(geometry)
    if isinstance(area, MultiPolygon):
        area = max(area.geoms, key=lambda part: part.area)
    # The pole of inaccessibility: the square inscribed in its largest circle is inside.
    centre = polylabel(area, tolerance=1e-6)
    half = area.exterior.distance(centre) / sqrt(2) * 0.9
    return centre.x, centre.y, half


# --------------------------------------------------------------------------- arrivals


@dataclass(frozen=True)
class Arrival:
    received_at: datetime
    category: str


def draw_arrivals(
    rng: random.Random,
    count: int,
    categories: Sequence[str],
    calendar: WorkingCalendar,
    year: DemoYear,
) -> list[Arrival]:
    """``count`` calls over the year, in the order they were received; on the living
    demo's last day, only those received before ``year.end`` (the rest have not come)."""
    codes = sorted(categories)
    days = year.days
    per_day = [
        [CATEGORY_WEIGHTS.get(code, 1.0) * season_factor(code, d) for code in codes] for d in days
    ]
    day_weights = [sum(w) * day_factor(d, calendar) for d, w in zip(days, per_day, strict=True)]
    hour_cum = list(accumulate(HOUR_WEIGHTS))
    arrivals = []
    for day_index in rng.choices(range(len(days)), weights=day_weights, k=count):
        (hour,) = rng.choices(range(24), cum_weights=hour_cum)
        moment = local_midnight(days[day_index]) + timedelta(
            hours=hour, seconds=rng.randrange(3600)
        )
        (code,) = rng.choices(codes, weights=per_day[day_index])
        arrivals.append(Arrival(moment, code))
    arrivals.sort(key=lambda a: (a.received_at, a.category))
    return [a for a in arrivals if a.received_at < year.end]


# --------------------------------------------------------------------------- case text


def case_input(rng: random.Random, arrival: Arrival, spot: Spot, serial: int) -> CaseCreate:
    """The hotline ticket as the 12345 desk wrote it down."""
    road, road2 = rng.sample(texts.ROADS, 2)
    floor = rng.randint(1, 18)
    place = spot.building or f"{rng.randint(1, 40)}号楼"
    slots = {
        "place": f"{spot.estate}{place}",
        "road": road,
        "road2": road2,
        "n": rng.randint(1, 1999),
        "when": rng.choice(texts.WHEN),
        "days": rng.randint(2, 20),
        "shop": rng.choice(texts.SHOPS),
        "floor": floor,
    }
    content = rng.choice(texts.CONTENT.get(arrival.category, texts.GENERIC_CONTENT))
    if arrival.category in texts.STREET_CATEGORIES:
        address = f"高行镇{road}{slots['n']}号附近"
    else:
        address = f"高行镇{spot.estate}{place}{floor}{rng.randint(1, 4):02d}室"
    return CaseCreate(
        category=arrival.category,
        content=content.format(**slots),
        kind=HOTLINE.name,
        address=address,
        lat=round(spot.lat + rng.uniform(-spot.half_size, spot.half_size), 6),
        lon=round(spot.lon + rng.uniform(-spot.half_size, spot.half_size), 6),
        jurisdiction=spot.code,
        requester_name=rng.choice(texts.SURNAMES) + rng.choice(("先生", "女士")),
        requester_phone=rng.choice(texts.MOBILE_PREFIXES) + f"{rng.randrange(10**8):08d}",
        received_at=arrival.received_at,
        source=HOTLINE_SOURCE,
        external_id=f"GH{arrival.received_at.astimezone(SHANGHAI):%Y}{serial:06d}",
    )


def pick(rng: random.Random, options: Sequence[str], **slots: object) -> str:
    return rng.choice(options).format(**slots)
