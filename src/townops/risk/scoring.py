"""Scoring of the risk map: a node's raw amounts → one explained contribution per factor.

Pure functions, no database: :mod:`townops.risk.service` measures, this module scores
(see the service's docstring for the factors and the normalisation).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from shapely.geometry import shape

from townops.risk.config import (
    AlarmsFactor,
    CasesFactor,
    CoverageFactor,
    Factor,
    HouseholdsFactor,
    OutagesFactor,
    RiskConfig,
)

# Length of a degree of latitude, and of longitude at the equator, in km.
_KM_PER_DEGREE_LAT, _KM_PER_DEGREE_LON = 110.574, 111.320
DECIMALS = 2


@dataclass(frozen=True)
class Contribution:
    """One factor's part of a score: what was measured and what it earned."""

    factor: str
    name_zh: str
    name_en: str
    raw: float | None  # None: nothing to measure (no devices, no area)
    unit: str
    weight: float
    full_at: float | None  # the raw value earning full points (coverage: the target)
    points: float
    detail: dict[str, Any] = field(default_factory=dict)


def _share_points(weight: float, raw: float | None, full_at: float) -> float:
    """weight × min(raw / full_at, 1), rounded; nothing measured earns nothing."""
    if raw is None:
        return 0.0
    return round(weight * min(raw / full_at, 1.0), DECIMALS)


def contributions(
    config: RiskConfig, level: str, m: dict[str, float], geometry: dict[str, Any] | None
) -> list[Contribution]:
    """One contribution per factor for a node at ``level``.

    ``m`` holds the node's amounts summed by the service's queries: ``alarms_weighted`` and
    ``alarms_<severity>``; ``open_weighted`` / ``overdue_weighted`` and ``…_<urgency>``;
    ``homes``, ``homes_offline``, ``area_devices``, ``devices``, ``offline``, ``never_seen``.
    """
    f = config.factors
    return [
        _alarms(f.alarms, level, m),
        _cases("open_cases", f.open_cases, level, m, prefix="open"),
        _cases("overdue_cases", f.overdue_cases, level, m, prefix="overdue"),
        _households(f.vulnerable_households, level, m),
        _coverage(f.coverage_gap, m, area_km2(geometry)),
        _outages(f.outages, level, m),
    ]


def _contribution(
    key: str,
    factor: Factor,
    *,
    raw: float | None,
    unit: str,
    full_at: float | None,
    points: float,
    detail: dict[str, Any],
) -> Contribution:
    zh, en = factor.names(key)
    rounded = None if raw is None else round(raw, 4)
    return Contribution(key, zh, en, rounded, unit, factor.weight, full_at, points, detail)


def _alarms(factor: AlarmsFactor, level: str, m: dict[str, float]) -> Contribution:
    raw, full = m.get("alarms_weighted", 0.0), factor.full_at_level(level)
    detail: dict[str, Any] = {"window_days": factor.window_days}
    detail |= {s: int(m.get(f"alarms_{s}", 0)) for s in factor.severity_weights}
    return _contribution(
        "alarms",
        factor,
        raw=raw,
        unit="weighted_alarms",
        full_at=full,
        points=_share_points(factor.weight, raw, full),
        detail=detail,
    )


def _cases(
    key: str, factor: CasesFactor, level: str, m: dict[str, float], *, prefix: str
) -> Contribution:
    raw, full = m.get(f"{prefix}_weighted", 0.0), factor.full_at_level(level)
    return _contribution(
        key,
        factor,
        raw=raw,
        unit="weighted_cases",
        full_at=full,
        points=_share_points(factor.weight, raw, full),
        detail={u: int(m.get(f"{prefix}_{u}", 0)) for u in factor.urgency_weights},
    )


def _households(factor: HouseholdsFactor, level: str, m: dict[str, float]) -> Contribution:
    homes, offline = int(m.get("homes", 0)), int(m.get("homes_offline", 0))
    raw = homes + (factor.offline_weight - 1) * offline
    full = factor.full_at_level(level)
    return _contribution(
        "vulnerable_households",
        factor,
        raw=raw,
        unit="weighted_households",
        full_at=full,
        points=_share_points(factor.weight, raw, full),
        detail={"households": homes, "offline": offline},
    )


def _coverage(factor: CoverageFactor, m: dict[str, float], area: float | None) -> Contribution:
    devices = int(m.get("area_devices", 0))
    density = devices / area if area else None
    gap = 0.0 if density is None else min(1.0, max(0.0, 1 - density / factor.target_per_km2))
    return _contribution(
        "coverage_gap",
        factor,
        raw=density,
        unit="devices_per_km2",
        full_at=factor.target_per_km2,
        points=round(factor.weight * gap, DECIMALS),
        detail={"devices": devices, "area_km2": None if area is None else round(area, 4)},
    )


def _outages(factor: OutagesFactor, level: str, m: dict[str, float]) -> Contribution:
    total, offline = int(m.get("devices", 0)), int(m.get("offline", 0))
    share = offline / total if total else None
    full = factor.full_at_level(level)
    return _contribution(
        "outages",
        factor,
        raw=share,
        unit="share_offline",
        full_at=full,
        points=_share_points(factor.weight, share, full),
        detail={"devices": total, "offline": offline, "never_seen": int(m.get("never_seen", 0))},
    )


def area_km2(geometry: dict[str, Any] | None) -> float | None:
    """Approximate area of a lon/lat polygon in km² (None for points or no geometry)."""
    if not geometry or geometry.get("type") not in ("Polygon", "MultiPolygon"):
        return None
    polygon = shape(geometry)
    _, south, _, north = polygon.bounds
    scale = _KM_PER_DEGREE_LAT * _KM_PER_DEGREE_LON * math.cos(math.radians((south + north) / 2))
    return float(polygon.area * scale) or None
