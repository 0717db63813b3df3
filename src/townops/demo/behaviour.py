"""How the town's people handle a case: who returns it, who asks for more time, how long
handling takes, how callers rate it. The rates are the simulation's tuning knobs; every
figure the demo shows is then computed from what the engine recorded.

Tuned to Gaohang's 2022 report (on-time close 100 %, satisfaction above 92 %): about 3 %
of cases returned once, 2 % extended, 0.6 % resolved late, 1 % whistled, 97 % called
back, 4–5 % of first callbacks dissatisfied.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from townops.cases.enums import Rating
from townops.deadlines import WorkingCalendar
from townops.timeutil import SHANGHAI

RETURN_RATE = 0.032  # of the categories with an alternate department (~3 % of all)
LATE_RATE = 0.006
LATE_FIRST_CONTACT_RATE = 0.02
CALLBACK_RATE = 0.97
EXTENSION_APPROVAL_RATE = 0.85
DENIED_THEN_LATE_RATE = 0.25
LEADER_SUPERVISION_RATE = 0.008
LEADER_FOLLOWS_BREACH_RATE = 0.5
WHISTLE_RATE = 0.021  # of the categories that have whistle partners (~55 % of volume)
LATE_REPORT_IN_RATE = 0.06

# Extension requests by deadline length: complex (15 working days) cases need them most.
EXTENSION_RATES = {1: 0.0, 5: 0.026, 15: 0.12}

# First-callback dissatisfaction by category type; a late case is rated worse.
DISSATISFIED_BY_TYPE = {
    "complaint": 0.053,
    "complex": 0.11,
    "help": 0.034,
    "consultation": 0.02,
    "advice": 0.027,
    "urgent": 0.018,
}
BASICALLY_SATISFIED = 0.09
# After a reopening the caller is asked once more; most are then content. A caller still
# dissatisfied gets a second reopening, ends with an explanation and is closed as rated.
REOPEN_DISSATISFIED = 0.18
REOPEN_BASICALLY = 0.3
MAX_CALLBACK_ROUNDS = 2

# Where a case goes when its default department returns it (退单 → 改派).
ALTERNATES: dict[str, str] = {
    "fire_hazard": "housing_office",
    "illegal_construction": "housing_office",
    "street_vending": "market_regulation",
    "noise_construction_night": "construction_office",
    "noise_neighbourhood": "urban_management",
    "sanitation": "housing_office",
    "greenery": "housing_office",
    "public_toilet": "construction_office",
    "river_pollution": "environment_office",
    "illegal_discharge": "river_chief_office",
    "road_damage": "housing_office",
    "street_light": "housing_office",
    "illegal_parking": "housing_office",
    "dog_nuisance": "self_governance_office",
    "property_service": "self_governance_office",
    "lift_failure": "market_regulation",
    "house_leak": "justice_office",
    "group_renting": "police_station",
    "estate_renewal": "construction_office",
    "relocation": "housing_office",
    "neighbour_dispute": "police_station",
    "food_safety": "urban_management",
    "consumer_complaint": "economic_office",
    "social_assistance": "self_governance_office",
    "policy_consultation": "civil_affairs_office",
    "health_consultation": "service_centre",
    "enterprise_service": "market_regulation",
    "community_affairs": "civil_affairs_office",
    "suggestion": "construction_office",
}

# The living demo's personas (``DemoParams.personas``): the shares of some categories the
# dispatcher sends to the case's own community (居委会直接处置) rather than a department, so
# community staff and grid workers hold cases of their own …
COMMUNITY_HANDLED: dict[str, float] = {
    "neighbour_dispute": 0.5,
    "dog_nuisance": 0.5,
    "community_affairs": 0.6,
    "property_service": 0.3,
    "sanitation": 0.2,
    "greenery": 0.3,
}
# … and the demo residents' own requests from the web app (about two a month each), at home.
RESIDENT_HOMES: dict[str, str] = {"resident_a": "310115121020", "resident_b": "310115121006"}
RESIDENT_REQUESTS_PER_YEAR = 24
RECENT_RESIDENT_REQUESTS = 2  # each, in the last three days: still being handled
# The communities with demo staff and grid workers (nanxin, grid_nanxin) get a few cases of
# the last two days to handle themselves.
PERSONA_COMMUNITIES = ("310115121020",)
RECENT_COMMUNITY_CASES = 4
RESIDENT_CATEGORIES = (
    "road_damage",
    "street_light",
    "sanitation",
    "noise_neighbourhood",
    "greenery",
    "house_leak",
    "illegal_parking",
    "dog_nuisance",
    "lift_failure",
)

# Reports from the town's Open311 front end (a FixMyStreet-style site or app): problems
# in public places, each with the reporter's e-mail (no phone), a street light's pole
# number and fault; public, so their replies and steps reach the client.
OPEN311_REPORTS_PER_YEAR = 240
RECENT_OPEN311_REPORTS = 6  # in the last three days: still being handled
OPEN311_CATEGORIES = ("street_light", "road_damage", "public_toilet", "greenery", "sanitation")
OPEN311_CLIENT = "fixmystreet"
# What the reporter picks in the client's form, read from what they wrote.
STREET_LIGHT_FAULTS = (
    ("白天", "day_burning"),
    ("闪", "flickering"),
    ("倒", "damaged"),
    ("歪", "damaged"),
    ("损坏", "damaged"),
)


def street_light_fault(content: str) -> str:
    return next((fault for word, fault in STREET_LIGHT_FAULTS if word in content), "out")


# Departments a community summons for problems it cannot solve alone (居村吹哨).
WHISTLE_PARTNERS: dict[str, tuple[str, ...]] = {
    "illegal_construction": ("urban_management", "housing_office", "police_station"),
    "group_renting": ("housing_office", "police_station", "urban_management"),
    "street_vending": ("urban_management", "market_regulation", "police_station"),
    "illegal_discharge": ("urban_management", "environment_office", "river_chief_office"),
    "noise_construction_night": ("urban_management", "construction_office"),
    "fire_hazard": ("safety_office", "housing_office", "police_station"),
    "estate_renewal": ("housing_office", "construction_office", "self_governance_office"),
    "relocation": ("construction_office", "justice_office"),
    "river_pollution": ("river_chief_office", "urban_management", "environment_office"),
    "sanitation": ("environment_office", "urban_management", "housing_office"),
    "property_service": ("housing_office", "justice_office"),
    "neighbour_dispute": ("justice_office", "police_station"),
    "illegal_parking": ("police_station", "urban_management", "housing_office"),
}


@dataclass(frozen=True)
class CategoryInfo:
    code: str
    department: str
    working_days: int | None
    hours: int | None
    type: str

    @property
    def urgent(self) -> bool:
        """Deadline in clock hours: handled round the clock, at once."""
        return self.hours is not None


@dataclass(frozen=True)
class Fate:
    """What will happen to one case, drawn when it is received."""

    return_to: str | None
    extension: bool
    extension_approved: bool
    late: bool
    late_first_contact: bool
    summoned: tuple[str, ...]
    leader_supervises: bool


def draw_fate(rng: random.Random, category: CategoryInfo, departments: set[str]) -> Fate:
    urgent = category.urgent
    alternate = ALTERNATES.get(category.code)
    returns = (
        not urgent
        and alternate in departments
        and alternate != category.department
        and rng.random() < RETURN_RATE
    )
    extension = rng.random() < EXTENSION_RATES.get(category.working_days or 1, 0.02)
    partners = [d for d in WHISTLE_PARTNERS.get(category.code, ()) if d in departments and d]
    summoned: tuple[str, ...] = ()
    if partners and rng.random() < WHISTLE_RATE:
        summoned = tuple(rng.sample(partners, min(len(partners), rng.choice((1, 2, 2)))))
    return Fate(
        return_to=alternate if returns else None,
        extension=extension and not urgent,
        extension_approved=rng.random() < EXTENSION_APPROVAL_RATE,
        late=rng.random() < LATE_RATE,
        late_first_contact=(category.working_days or 0) >= 5
        and rng.random() < LATE_FIRST_CONTACT_RATE,
        summoned=summoned,
        leader_supervises=rng.random()
        < LEADER_SUPERVISION_RATE * (4 if category.type == "complex" else 1),
    )


def draw_rating(rng: random.Random, category: CategoryInfo, *, round_: int, late: bool) -> Rating:
    """The caller's rating at the ``round_``-th callback (1 = first)."""
    if round_ == 1:
        dissatisfied = DISSATISFIED_BY_TYPE.get(category.type, 0.045) * (3 if late else 1)
        basically = BASICALLY_SATISFIED
    else:
        dissatisfied, basically = REOPEN_DISSATISFIED, REOPEN_BASICALLY
    draw = rng.random()
    if draw < dissatisfied:
        return Rating.dissatisfied
    if draw < dissatisfied + basically:
        return Rating.basically_satisfied
    return Rating.satisfied


# --------------------------------------------------------------------------- time


def minutes(value: float) -> timedelta:
    return timedelta(minutes=value)


def hours(value: float) -> timedelta:
    return timedelta(hours=value)


def at_local(moment: datetime, hour: int, minute: float = 0) -> datetime:
    """``hour:minute`` local on the local day of ``moment``."""
    day = moment.astimezone(SHANGHAI).date()
    return datetime.combine(day, time(hour), tzinfo=SHANGHAI).astimezone(UTC) + minutes(minute)


def in_office_hours(
    rng: random.Random,
    moment: datetime,
    *,
    latest: datetime,
    opens: int = 8,
    closes: int = 20,
    calendar: WorkingCalendar | None = None,
    weekend_work: float = 1.0,
) -> datetime:
    """Move ``moment`` to when someone is at the desk, unless that would pass ``latest``.

    Staff work ``opens``–``closes`` local. With a ``calendar``, a moment on a day off is
    moved to the next working day unless the unit is on weekend duty (``weekend_work``).
    """
    local = moment.astimezone(SHANGHAI)
    day = local.date()
    open_now = opens <= local.hour < closes
    if local.hour >= closes:
        day += timedelta(days=1)
    on_duty = calendar is None or calendar.is_working_day(day) or rng.random() < weekend_work
    if open_now and on_duty:
        return moment
    if not on_duty and calendar is not None:
        day = calendar.next_working_day(day)
    start = datetime.combine(day, time(opens), tzinfo=SHANGHAI).astimezone(UTC)
    moved = start + minutes(rng.uniform(0, 90))
    return moment if moved > latest else max(moved, moment)


def share_of(start: datetime, end: datetime, fraction: float) -> datetime:
    return start + (end - start) * fraction
