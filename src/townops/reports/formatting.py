"""How the reports print a sign's numbers: rates (fractions) as percentages, counts plainly."""

from __future__ import annotations

from townops.signs import UNITS

RATE = "rate"


def is_rate(unit: str) -> bool:
    return unit == RATE


def unit_label(unit: str) -> str:
    """The unit as a reader sees it: "%" for rates, the Chinese unit otherwise ("件")."""
    if is_rate(unit):
        return "%"
    names = UNITS.get(unit)
    return names[0] if names else unit


def scaled(value: float | None, unit: str) -> float | None:
    """The number as printed (a rate of 0.92 is 92)."""
    if value is None:
        return None
    return value * 100 if is_rate(unit) else value


def format_number(value: float | None) -> str:
    if value is None:
        return "—"
    if float(value).is_integer():
        return f"{value:,.0f}"
    digits = 1 if abs(value) >= 100 else 2
    return f"{value:,.{digits}f}".rstrip("0").rstrip(".")


def format_value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if is_rate(unit):
        return f"{value * 100:.1f}%"
    return format_number(value)


def format_change(change: float | None, unit: str) -> str:
    """Signed change; for rates in percentage points (百分点)."""
    if change is None:
        return "—"
    shown = scaled(change, unit) or 0.0
    if abs(shown) < 0.05 if is_rate(unit) else abs(shown) < 1e-9:
        return "0"
    sign = "+" if shown > 0 else "−"
    if is_rate(unit):
        return f"{sign}{abs(shown):.1f} 百分点"
    return sign + format_number(abs(shown))
