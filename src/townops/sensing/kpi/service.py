"""Sensing KPIs (感知指标): devices online, alarms, false alarms, time to acknowledge / close.

Per device type, community or model, and for the whole town (the ``total`` row):

* ``devices``: active registered devices; ``online``: of them, heard from within their
  heartbeat × ``missed_heartbeats`` at ``now`` (not over the period); ``online_rate`` =
  online / devices.
* ``alarms``: alarms raised in the period (local whole days), also per severity.
* ``false_alarm_rate``: alarms of the period marked false alarm / alarms of the period.
* ``mean_minutes_to_acknowledge``: over the period's alarms acknowledged so far, the mean
  of acknowledged_at − raised_at; ``mean_minutes_to_close`` likewise with closed_at
  (cleared, or marked false alarm).

Alarms carry their device's type, model and community (denormalised when raised), so an
alarm counts where its device was at the time. Community staff and grid workers see their
part of the town only; residents are refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from pathlib import Path
from typing import IO, Any
from zoneinfo import ZoneInfo

from pydantic import BaseModel
from sqlalchemy import case, func, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from townops.access.actor import SYSTEM, Actor
from townops.jurisdiction.models import Jurisdiction
from townops.periods import Period, parse_period, range_period
from townops.sensing.config import SensingConfig
from townops.sensing.devices.registry import online_condition, visible_by_path
from townops.sensing.models import Alarm, Device, DeviceState
from townops.timeutil import utcnow
from townops.towns.profile import get_profile
from townops.workbook import XLSX_MEDIA_TYPE as XLSX_MEDIA_TYPE
from townops.workbook import Book

DEFAULT_DAYS = 30
SEVERITIES = ("info", "warning", "critical")


class SensingGrouping(StrEnum):
    type = "type"
    community = "community"
    model = "model"


GROUPING_NAMES: dict[SensingGrouping, tuple[str, str]] = {
    SensingGrouping.type: ("设备类型", "device type"),
    SensingGrouping.community: ("居委", "community"),
    SensingGrouping.model: ("型号", "model"),
}


class SensingKpiRow(BaseModel):
    code: str | None
    name_zh: str
    name_en: str
    devices: int = 0
    online: int = 0
    online_rate: float | None = None
    alarms: int = 0
    alarms_info: int = 0
    alarms_warning: int = 0
    alarms_critical: int = 0
    false_alarms: int = 0
    false_alarm_rate: float | None = None
    acknowledged: int = 0
    mean_minutes_to_acknowledge: float | None = None
    closed: int = 0
    mean_minutes_to_close: float | None = None


class SensingKpiReport(BaseModel):
    by: SensingGrouping
    first_day: date
    last_day: date
    timezone: str
    now: datetime
    rows: list[SensingKpiRow]
    total: SensingKpiRow


@dataclass(frozen=True)
class Column:
    """One figure of the table and the workbook: its key, zh/en header, and format."""

    key: str
    name_zh: str
    name_en: str
    unit: str  # count | rate | minutes

    @property
    def header(self) -> str:
        return f"{self.name_zh} ({self.name_en})"


COLUMNS: tuple[Column, ...] = (
    Column("devices", "设备数", "devices", "count"),
    Column("online", "在线数", "online", "count"),
    Column("online_rate", "在线率", "online rate", "rate"),
    Column("alarms", "告警数", "alarms", "count"),
    Column("alarms_critical", "紧急", "critical", "count"),
    Column("alarms_warning", "重要", "warning", "count"),
    Column("alarms_info", "提示", "info", "count"),
    Column("false_alarms", "误报数", "false alarms", "count"),
    Column("false_alarm_rate", "误报率", "false-alarm rate", "rate"),
    Column("mean_minutes_to_acknowledge", "平均确认时长(分)", "mean min to ack", "minutes"),
    Column("mean_minutes_to_close", "平均关闭时长(分)", "mean min to close", "minutes"),
)


def default_period(now: datetime, timezone: str) -> Period:
    """The last :data:`DEFAULT_DAYS` local days, today included."""
    today = now.astimezone(ZoneInfo(timezone)).date()
    return range_period(today - timedelta(days=DEFAULT_DAYS - 1), today)


def period_from(
    *,
    now: datetime,
    timezone: str,
    year: str | None = None,
    month: str | None = None,
    date_from: str | None = None,
    date_to: str | None = None,
) -> Period:
    """A period as for the case KPIs (year, month or from/to); none: the last 30 days."""
    if not any((year, month, date_from, date_to)):
        return default_period(now, timezone)
    return parse_period(year=year, month=month, date_from=date_from, date_to=date_to)


@dataclass
class _Tally:
    devices: int = 0
    online: int = 0
    alarms: int = 0
    false_alarms: int = 0
    acknowledged: int = 0
    ack_seconds: float = 0.0
    closed: int = 0
    close_seconds: float = 0.0
    by_severity: dict[str, int] = field(default_factory=lambda: dict.fromkeys(SEVERITIES, 0))

    def add(self, other: _Tally) -> None:
        for name in (
            "devices",
            "online",
            "alarms",
            "false_alarms",
            "acknowledged",
            "ack_seconds",
            "closed",
            "close_seconds",
        ):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for severity, count in other.by_severity.items():
            self.by_severity[severity] = self.by_severity.get(severity, 0) + count

    def row(self, code: str | None, name_zh: str, name_en: str) -> SensingKpiRow:
        return SensingKpiRow(
            code=code,
            name_zh=name_zh,
            name_en=name_en,
            devices=self.devices,
            online=self.online,
            online_rate=_ratio(self.online, self.devices),
            alarms=self.alarms,
            alarms_info=self.by_severity.get("info", 0),
            alarms_warning=self.by_severity.get("warning", 0),
            alarms_critical=self.by_severity.get("critical", 0),
            false_alarms=self.false_alarms,
            false_alarm_rate=_ratio(self.false_alarms, self.alarms),
            acknowledged=self.acknowledged,
            mean_minutes_to_acknowledge=_mean_minutes(self.ack_seconds, self.acknowledged),
            closed=self.closed,
            mean_minutes_to_close=_mean_minutes(self.close_seconds, self.closed),
        )


def sensing_kpis(
    session: Session,
    *,
    by: SensingGrouping,
    period: Period,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> SensingKpiReport:
    """The KPI rows for one period, grouped ``by``, as far as ``actor`` may see."""
    now = now or utcnow()
    profile = get_profile(session)
    start, end = period.utc_bounds(ZoneInfo(profile.timezone))
    tallies: dict[str | None, _Tally] = {}
    _count_devices(session, tallies, by=by, actor=actor, now=now)
    _count_alarms(session, tallies, by=by, actor=actor, start=start, end=end)
    names = _names(session, by, tallies)
    total = _Tally()
    rows = []
    for code in sorted(tallies, key=lambda c: _order(by, c, names)):
        total.add(tallies[code])
        rows.append(tallies[code].row(code, *names.get(code, (code or "—", code or "—"))))
    return SensingKpiReport(
        by=by,
        first_day=period.first_day,
        last_day=period.last_day,
        timezone=profile.timezone,
        now=now,
        rows=rows,
        total=total.row(None, "全镇", "town total"),
    )


def _device_group(by: SensingGrouping) -> InstrumentedAttribute[Any]:
    columns: dict[SensingGrouping, InstrumentedAttribute[Any]] = {
        SensingGrouping.type: Device.type,
        SensingGrouping.community: Device.community_code,
        SensingGrouping.model: Device.model,
    }
    return columns[by]


def _alarm_group(by: SensingGrouping) -> InstrumentedAttribute[Any]:
    columns: dict[SensingGrouping, InstrumentedAttribute[Any]] = {
        SensingGrouping.type: Alarm.device_type,
        SensingGrouping.community: Alarm.community_code,
        SensingGrouping.model: Alarm.device_model,
    }
    return columns[by]


def _count_devices(
    session: Session,
    tallies: dict[str | None, _Tally],
    *,
    by: SensingGrouping,
    actor: Actor,
    now: datetime,
) -> None:
    group = _device_group(by)
    config = get_profile(session).config(SensingConfig)
    online = case((online_condition(session, config, now), 1), else_=0)
    result = session.execute(
        select(group, func.count(), func.coalesce(func.sum(online), 0))
        .select_from(Device)
        .outerjoin(DeviceState, DeviceState.device_id == Device.device_id)
        .where(Device.active.is_(True), visible_by_path(actor, Device.jurisdiction_path))
        .group_by(group)
    )
    for code, devices, online_count in result:
        tally = tallies.setdefault(code, _Tally())
        tally.devices, tally.online = int(devices), int(online_count)


def _count_alarms(
    session: Session,
    tallies: dict[str | None, _Tally],
    *,
    by: SensingGrouping,
    actor: Actor,
    start: datetime,
    end: datetime,
) -> None:
    # Durations are summed in Python: interval arithmetic differs between the back-ends.
    result = session.execute(
        select(
            _alarm_group(by),
            Alarm.severity,
            Alarm.state,
            Alarm.raised_at,
            Alarm.acknowledged_at,
            Alarm.closed_at,
        )
        .where(
            Alarm.raised_at >= start,
            Alarm.raised_at < end,
            visible_by_path(actor, Alarm.jurisdiction_path),
        )
        .execution_options(yield_per=5000)
    )
    for code, severity, state, raised_at, acknowledged_at, closed_at in result:
        tally = tallies.setdefault(code, _Tally())
        tally.alarms += 1
        tally.by_severity[severity] = tally.by_severity.get(severity, 0) + 1
        if state == "false_alarm":
            tally.false_alarms += 1
        if acknowledged_at is not None:
            tally.acknowledged += 1
            tally.ack_seconds += (acknowledged_at - raised_at).total_seconds()
        if closed_at is not None:
            tally.closed += 1
            tally.close_seconds += (closed_at - raised_at).total_seconds()


def _names(
    session: Session, by: SensingGrouping, tallies: dict[str | None, _Tally]
) -> dict[str | None, tuple[str, str]]:
    names: dict[str | None, tuple[str, str]] = {}
    if by == SensingGrouping.type:
        for t in get_profile(session).config(SensingConfig).device_types:
            names[t.code] = (t.name_zh, t.name_en)
    elif by == SensingGrouping.community:
        codes = [c for c in tallies if c is not None]
        for code, name_zh, name_en in session.execute(
            select(Jurisdiction.code, Jurisdiction.name_zh, Jurisdiction.name_en).where(
                Jurisdiction.code.in_(codes)
            )
        ):
            names[code] = (name_zh, name_en)
        names[None] = ("无所属居委", "no community")
    else:
        names.update({code: (code, code) for code in tallies if code})
        names[""] = ("未填型号", "no model")
    return names


def _order(
    by: SensingGrouping, code: str | None, names: dict[str | None, tuple[str, str]]
) -> tuple[int, str]:
    if by == SensingGrouping.type:
        known = list(names)
        return (known.index(code) if code in known else len(known), code or "")
    # The rows without a community or model go last.
    return (0 if code else 1, code or "")


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _mean_minutes(seconds: float, count: int) -> float | None:
    return seconds / count / 60 if count else None


# --------------------------------------------------------------------------- #
# Excel
# --------------------------------------------------------------------------- #

_NUMBER_FORMATS = {"count": "0", "rate": "0.0%", "minutes": "0.0"}


def write_kpi_xlsx(report: SensingKpiReport, target: Path | IO[bytes]) -> None:
    """One sheet "感知指标": a row per group and the town total, zh headers (en beside)."""
    _kpi_book(report).save(target)


def kpi_xlsx_bytes(report: SensingKpiReport) -> bytes:
    return _kpi_book(report).to_bytes()


def _kpi_book(report: SensingKpiReport) -> Book:
    book = Book()
    sheet = book.sheet("感知指标 Sensing KPI")
    by_zh, by_en = GROUPING_NAMES[report.by]
    sheet.append(
        [
            f"期间 period: {report.first_day} – {report.last_day} ({report.timezone}); "
            f"在线数为 {report.now:%Y-%m-%d %H:%M} UTC 时的状态 (online at that time)"
        ]
    )
    header = sheet.append(["代码 (code)", f"{by_zh} ({by_en})", *(c.header for c in COLUMNS)])
    sheet.style_row(header, fill=None, alignment=None)
    formats = [None, None, *(_NUMBER_FORMATS[c.unit] for c in COLUMNS)]
    for row in _rows_with_total(report):
        # code and name come from the device registry (a model is whatever was imported)
        values = [row.code or "", row.name_zh, *(getattr(row, c.key) for c in COLUMNS)]
        sheet.append(values, formats=formats)
    sheet.ws.freeze_panes = "C3"
    return book


def _rows_with_total(report: SensingKpiReport) -> Iterable[SensingKpiRow]:
    yield from report.rows
    yield report.total
