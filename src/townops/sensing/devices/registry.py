"""The device registry (设备台账): import from CSV/XLSX, list and look up, who is online.

Import is a :mod:`townops.tabular` import, like the 12345 hotline's: every row is
checked before anything is written; every problem is reported with its row (as the
spreadsheet shows it: the header is row 1), column, value and reason; with any problem and
without ``skip_bad`` nothing is written. Headers may be English or Chinese, files CSV
(UTF-8 or GBK) or XLSX.

Rows are upserted by ``device_id``: importing the same file again changes nothing. On an
existing device only the columns the file has are written, so a file of coordinates does
not wipe the households registered by another file.

A device's place is its ``jurisdiction`` (a code, or a community / micro-grid name), or
its coordinates: ``lat``/``lon`` find the micro-grid whose polygon holds the point. Given
both, they must agree (one lies inside the other).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    case,
    func,
    insert,
    literal,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session

from townops.access import scope_of
from townops.access.actor import STAFF_ROLES, SYSTEM, Actor
from townops.auth.models import AuditEntry
from townops.cases.access import require_role
from townops.errors import Conflict, NotFound
from townops.jurisdiction.models import Jurisdiction
from townops.jurisdiction.service import PlaceInfo, find_place, locate_point, place
from townops.sensing.config import SensingConfig
from townops.sensing.devices import facts
from townops.sensing.devices.facts import DEVICE_ID_PATTERN
from townops.sensing.models import OPEN_ALARM_STATES, Alarm, Device, DeviceState
from townops.tabular import (
    Columns,
    ImportReport,
    ProgressCallback,
    RowCheck,
    RowError,
    SheetSource,
    add_name,
    as_sheet,
    chunks,
    flag_duplicates,
    lacking_columns,
    match_header,
    parse_date,
    with_progress,
)
from townops.timeutil import SHANGHAI, utcnow
from townops.towns.profile import get_profile

__all__ = [
    "COLUMNS",
    "DEVICE_ROLES",
    "DeviceFilters",
    "DeviceListing",
    "get_device_for",
    "import_devices",
    "is_online",
    "list_devices",
    "online_condition",
    "open_alarm_count",
    "visible_by_path",
]

# field -> accepted header names (English matched case-insensitively, Chinese exactly).
COLUMNS: dict[str, tuple[str, ...]] = {
    "device_id": ("device_id", "设备编号"),
    "type": ("type", "设备类型"),
    "model": ("model", "型号"),
    "network": ("network", "接入平台"),
    "jurisdiction": ("jurisdiction", "所属网格/居委", "所属网格", "所属居委", "所属辖区"),
    "lat": ("lat", "latitude", "纬度"),
    "lon": ("lon", "lng", "longitude", "经度"),
    "address": ("address", "地址"),
    "building": ("building", "楼栋"),
    "owner_unit": ("owner_unit", "权属单位"),
    "installed_on": ("installed_on", "安装日期"),
    "household_name": ("household_name", "住户"),
    "household_phone": ("household_phone", "联系电话"),
    "household_note": ("household_note", "备注"),
    "heartbeat_seconds": ("heartbeat_seconds", "心跳周期(秒)", "心跳周期"),
    "active": ("active", "启用"),
}
REQUIRED_COLUMNS = ("device_id", "type")
# Plain text columns and the widths of the columns they land in (PostgreSQL enforces them).
_TEXT_FIELDS = {
    "model": 80,
    "network": 40,
    "address": 300,
    "building": 120,
    "owner_unit": 120,
    "household_name": 100,
    "household_phone": 40,
    "household_note": 200,
}
# Device attributes written from each file column (a place fills three).
_FIELDS_OF_COLUMN: dict[str, tuple[str, ...]] = {
    **{name: (name,) for name in _TEXT_FIELDS},
    "type": ("type",),
    "jurisdiction": ("jurisdiction_code", "jurisdiction_path", "community_code"),
    "lat": ("lat",),
    "lon": ("lon",),
    "installed_on": ("installed_on",),
    "heartbeat_seconds": ("heartbeat_seconds",),
    "active": ("active",),
}
_PLACE_FIELDS = _FIELDS_OF_COLUMN["jurisdiction"]
_MAX_HEARTBEAT_SECONDS = 7 * 24 * 3600
_TRUE = frozenset({"1", "true", "t", "yes", "y", "是", "启用", "在用"})
_FALSE = frozenset({"0", "false", "f", "no", "n", "否", "停用"})
# SQLite builds before 3.32 refuse more than 999 bound parameters in one statement.
_IN_CHUNK = 900
_WRITE_CHUNK = 1000
# Jurisdiction levels whose names a file may use instead of codes (buildings' names,
# "3号楼", repeat across the town).
_NAMED_LEVELS = ("community", "micro_grid")

#: Roles that see the device registry; a resident never does.
DEVICE_ROLES = STAFF_ROLES
# Roles that see only their own part of the town (no scope: nothing).


# --------------------------------------------------------------------------- #
# Import
# --------------------------------------------------------------------------- #


def import_devices(
    session: Session,
    source: SheetSource,
    *,
    dry_run: bool = False,
    skip_bad: bool = False,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
    progress: ProgressCallback | None = None,
) -> ImportReport:
    """Check every row, then create or update the devices (upsert by ``device_id``).

    ``source`` is a CSV/XLSX path, a read :class:`~townops.tabular.Sheet`, or rows as
    mappings keyed by header. Nothing is written on a dry run, or when any row is bad and
    ``skip_bad`` is False. The caller owns the transaction and commits.
    """
    now = now or utcnow()
    sheet = as_sheet(source)
    columns = _map_columns(sheet.header)
    lookups = _Lookups.load(session)
    today = now.astimezone(SHANGHAI).date()
    rows = [
        _check_row(session, number, cells, columns, lookups, today)
        for number, cells in with_progress(sheet.rows, "check", progress)
    ]
    repeats = flag_duplicates(
        rows,
        key=lambda row: row.device_id,
        column=columns.label["device_id"],
        what=("设备编号", "device_id"),
    )
    for row in repeats:
        row.values = {}
    good = [row for row in rows if not row.errors]
    plan = _plan(session, good, columns)
    report = ImportReport(
        rows_total=len(rows),
        errors=sorted(e for row in rows for e in row.errors),
        skipped_columns=columns.skipped,
        new_rows=len(plan.new),
        changed_rows=len(plan.changed),
        already_present=plan.unchanged,
        dry_run=dry_run,
    )
    if not report.goes_ahead(skip_bad=skip_bad):
        return report
    _write(session, plan, now=now, progress=progress)
    report.created, report.updated = len(plan.new), len(plan.changed)
    if report.written:
        _audit(session, actor, source, plan, now)
        facts.forget_devices(session)  # ingestion reads the registry through its cache
    return report


def _device_fields(columns: Columns) -> tuple[str, ...]:
    """The device attributes a file sets (a place counts if located by point)."""
    names = set(columns.index)
    if {"lat", "lon"} <= names:
        names.add("jurisdiction")
    return tuple(f for name in sorted(names) for f in _FIELDS_OF_COLUMN.get(name, ()))


def _map_columns(header: Sequence[str]) -> Columns:
    columns = match_header(header, COLUMNS)
    missing = columns.lacking(REQUIRED_COLUMNS)
    if not columns.has("jurisdiction") and not (columns.has("lat") and columns.has("lon")):
        missing.append("jurisdiction")
    if missing:
        raise lacking_columns(COLUMNS, missing, hint=" (a place needs jurisdiction or lat + lon)")
    return columns


@dataclass(frozen=True)
class _Lookups:
    # code or name -> code; None marks a name shared by several entries (ambiguous).
    types: dict[str, str | None]
    jurisdictions: dict[str, str | None]
    config: SensingConfig

    @classmethod
    def load(cls, session: Session) -> _Lookups:
        config = get_profile(session).config(SensingConfig)
        types: dict[str, str | None] = {}
        for t in config.device_types:
            add_name(types, t.name_zh, t.code)
            add_name(types, t.name_en.casefold(), t.code)
        types.update({t.code: t.code for t in config.device_types})
        jurisdictions: dict[str, str | None] = {}
        places = session.execute(
            select(Jurisdiction.code, Jurisdiction.name_zh, Jurisdiction.aliases).where(
                Jurisdiction.level.in_(_NAMED_LEVELS)
            )
        )
        for code, name_zh, aliases in places:
            for name in {name_zh, *(aliases or [])}:
                add_name(jurisdictions, name, code)
        return cls(types=types, jurisdictions=jurisdictions, config=config)


@dataclass
class _Row:
    number: int
    device_id: str
    values: dict[str, Any] = field(default_factory=dict)
    errors: list[RowError] = field(default_factory=list)


class _DeviceCheck(RowCheck):
    """The checks of one device's cells."""

    def device_id(self) -> str:
        text = self.require("device_id", "缺少设备编号 missing device_id")
        if text and not DEVICE_ID_PATTERN.fullmatch(text):
            self.fail(
                "device_id",
                "设备编号只能含字母、数字和 _ . : -，最长 64 位 "
                "device_id: letters, digits, _ . : - only, at most 64",
            )
        return text

    def device_type(self, lookups: _Lookups) -> str | None:
        text = self.texts["type"]
        code = lookups.types.get(text) or lookups.types.get(text.casefold())
        if code is not None:
            return code
        if not text:
            self.fail("type", "缺少设备类型 missing type")
        elif not lookups.types:
            self.fail("type", "本镇未配置设备类型 no device types in this town's sensing.yaml")
        else:
            known = ", ".join(sorted(t.code for t in lookups.config.device_types))
            self.fail("type", f"未知设备类型 unknown device type (one of {known})")
        return None

    def texts_in_limits(self) -> dict[str, str]:
        self.within_limits(_TEXT_FIELDS)
        self.phone("household_phone", masked_ok=False)  # the household must be called
        return {name: self.texts[name] for name in _TEXT_FIELDS}

    def coordinate(self, name: str, low: float, high: float) -> float | None:
        text = self.texts[name]
        if not text:
            return None
        try:
            value = float(text)
        except ValueError:
            self.fail(name, "不是数字 not a number")
            return None
        if not math.isfinite(value) or not low <= value <= high:
            self.fail(name, f"超出范围 out of range {low:g}..{high:g}")
            return None
        return value

    def point(self) -> tuple[float, float] | None:
        lat = self.coordinate("lat", -90.0, 90.0)
        lon = self.coordinate("lon", -180.0, 180.0)
        if bool(self.texts["lat"]) != bool(self.texts["lon"]):
            missing = "lat" if not self.texts["lat"] else "lon"
            self.fail(missing, "经纬度须成对填写 give lat and lon together")
        return (lat, lon) if lat is not None and lon is not None else None

    def jurisdiction(self, session: Session, lookups: _Lookups) -> PlaceInfo | None:
        text = self.texts["jurisdiction"]
        if not text:
            return None
        info = find_place(session, text)
        if info is not None:
            return info
        code = lookups.jurisdictions.get(text)
        if code is not None:
            return find_place(session, code)
        if text in lookups.jurisdictions:
            self.fail("jurisdiction", "辖区名称不唯一 ambiguous jurisdiction name: use the code")
        else:
            self.fail("jurisdiction", "未知辖区 unknown jurisdiction")
        return None

    def installed_on(self, today: date) -> date | None:
        if not self.texts["installed_on"]:
            return None
        value = parse_date(self.cells.get("installed_on"))
        if value is None:
            self.fail("installed_on", "无法识别的日期 unreadable date (YYYY-MM-DD)")
        elif value > today:
            self.fail("installed_on", "安装日期在未来 date is in the future")
        return value

    def heartbeat_seconds(self) -> int | None:
        text = self.texts["heartbeat_seconds"]
        if not text:
            return None
        try:
            value = int(text)
        except ValueError:
            self.fail("heartbeat_seconds", "不是整数 not a whole number of seconds")
            return None
        if not 1 <= value <= _MAX_HEARTBEAT_SECONDS:
            self.fail("heartbeat_seconds", f"须在 1..{_MAX_HEARTBEAT_SECONDS} 秒 out of range")
            return None
        return value

    def active(self) -> bool:
        text = self.texts["active"].casefold()
        if not text or text in _TRUE:
            return True
        if text in _FALSE:
            return False
        self.fail("active", "应为 是/否 expected yes/no (1/0, true/false, 是/否)")
        return True


def _check_row(
    session: Session,
    number: int,
    cells: list[Any],
    columns: Columns,
    lookups: _Lookups,
    today: date,
) -> _Row:
    check = _DeviceCheck(number, cells, columns)
    row = _Row(number, check.device_id(), errors=check.errors)
    values: dict[str, Any] = {"type": check.device_type(lookups), **check.texts_in_limits()}
    point = check.point()
    given = check.jurisdiction(session, lookups)
    located = _located(session, check, point, given)
    where = given or located
    if not any(check.texts[name] for name in ("jurisdiction", "lat", "lon")):
        check.fail("jurisdiction", "缺少位置 missing place: give jurisdiction or lat + lon")
    values.update(
        lat=point[0] if point else None,
        lon=point[1] if point else None,
        jurisdiction_code=where.code if where else None,
        jurisdiction_path=where.path if where else None,
        community_code=where.community_code if where else None,
        installed_on=check.installed_on(today),
        heartbeat_seconds=check.heartbeat_seconds(),
        active=check.active(),
    )
    if not row.errors:
        row.values = values
    return row


def _located(
    session: Session,
    check: _DeviceCheck,
    point: tuple[float, float] | None,
    given: PlaceInfo | None,
) -> PlaceInfo | None:
    """The micro-grid holding the point; a point outside the given place is an error."""
    if point is None:
        return None
    located = locate_point(session, lat=point[0], lon=point[1])
    if located is None:
        if given is None:
            check.fail("lat", "坐标不在本镇任何网格内 the point lies in no micro-grid of the town")
        return None
    if given is not None and not (
        given.path.startswith(located.path) or located.path.startswith(given.path)
    ):
        check.fail(
            "lat",
            f"坐标位于 {located.code}，不在所属辖区 {given.code} 内 "
            "the point lies outside the given jurisdiction",
        )
    return located


@dataclass
class _Plan:
    fields: tuple[str, ...]
    new: list[_Row]
    # Existing devices whose registered values differ from the file: (row, changed fields).
    changed: list[tuple[_Row, list[str]]]
    unchanged: int


def _plan(session: Session, rows: list[_Row], columns: Columns) -> _Plan:
    fields = _device_fields(columns)
    stored = _stored_values(session, [row.device_id for row in rows], fields)
    plan = _Plan(fields=fields, new=[], changed=[], unchanged=0)
    for row in rows:
        old = stored.get(row.device_id)
        if old is None:
            plan.new.append(row)
            continue
        changed = [f for f in fields if old[f] != row.values[f]]
        if changed:
            plan.changed.append((row, changed))
        else:
            plan.unchanged += 1
    return plan


def _stored_values(
    session: Session, device_ids: list[str], fields: tuple[str, ...]
) -> dict[str, dict[str, Any]]:
    columns = [getattr(Device, f) for f in fields]
    stored: dict[str, dict[str, Any]] = {}
    for chunk in chunks(sorted(device_ids), _IN_CHUNK):
        result = session.execute(
            select(Device.device_id, *columns).where(Device.device_id.in_(chunk))
        )
        for device_id, *values in result:
            stored[device_id] = dict(zip(fields, values, strict=True))
    return stored


def _write(
    session: Session, plan: _Plan, *, now: datetime, progress: ProgressCallback | None
) -> None:
    all_fields = tuple(f for names in _FIELDS_OF_COLUMN.values() for f in names)
    new = [
        {"device_id": row.device_id, "created_at": now, "updated_at": now}
        | {f: row.values[f] for f in all_fields}
        for row in plan.new
    ]
    # Every update carries the same keys: one executemany, not one statement per key set.
    changed = [
        {"device_id": row.device_id, "updated_at": now} | {f: row.values[f] for f in plan.fields}
        for row, _ in plan.changed
    ]
    total = len(new) + len(changed)
    done = 0
    try:
        for statement, rows in ((insert(Device), new), (update(Device), changed)):
            for batch in chunks(rows, _WRITE_CHUNK):
                session.execute(statement, list(batch))
                done += len(batch)
                if progress is not None:
                    progress("import", done, total)
        session.flush()
    except IntegrityError as exc:
        raise Conflict(
            "another import wrote some of these devices at the same time; "
            "nothing was imported, run the import again"
        ) from exc


def _audit(session: Session, actor: Actor, source: SheetSource, plan: _Plan, now: datetime) -> None:
    target = source.name if isinstance(source, Path) else "rows"
    session.add(
        AuditEntry(
            at=now,
            actor=actor.username,
            action="device.import",
            target=target[:200],
            data={
                "created": [row.device_id for row in plan.new],
                "updated": {row.device_id: fields for row, fields in plan.changed},
            },
        )
    )


# --------------------------------------------------------------------------- #
# Who may see what, and who is online
# --------------------------------------------------------------------------- #


def visible_by_path(actor: Actor, path: InstrumentedAttribute[str | None]) -> ColumnElement[bool]:
    """A SQL condition: rows whose jurisdiction ``path`` lies in the actor's scope (the
    access layer's; departments serve the whole town). Raises Forbidden for roles that
    never see devices (residents)."""
    require_role(actor, DEVICE_ROLES, "see sensing devices")
    return scope_of(actor).where(path=path, departments_serve_town=True)


def heartbeat_of(device: Device, config: SensingConfig) -> int:
    """Seconds between two readings of the device: its own, else its type's, else the town's."""
    return device.heartbeat_seconds or config.heartbeat_seconds(device.type)


def is_online(
    state: DeviceState | None, device: Device, config: SensingConfig, now: datetime
) -> bool:
    """Heard from within ``missed_heartbeats`` heartbeats (never heard from: offline)."""
    if state is None:
        return False
    window = timedelta(seconds=heartbeat_of(device, config) * config.online.missed_heartbeats)
    return state.last_seen >= now - window


def _heartbeat_expression(config: SensingConfig) -> ColumnElement[int]:
    per_type = {t.code: t.heartbeat_seconds for t in config.device_types if t.heartbeat_seconds}
    default = config.online.default_heartbeat_seconds
    by_type: ColumnElement[int] = (
        case(per_type, value=Device.type, else_=default) if per_type else literal(default)
    )
    return func.coalesce(Device.heartbeat_seconds, by_type)


def online_condition(session: Session, config: SensingConfig, now: datetime) -> ColumnElement[bool]:
    """SQL for :func:`is_online` over ``devices`` outer-joined to ``device_states``.

    The window differs per heartbeat, so the condition is one branch per heartbeat in use
    (a handful): portable, and each branch a plain comparison of ``last_seen``.
    """
    heartbeats = {config.online.default_heartbeat_seconds}
    heartbeats |= {t.heartbeat_seconds for t in config.device_types if t.heartbeat_seconds}
    heartbeats |= set(
        session.scalars(
            select(Device.heartbeat_seconds).where(Device.heartbeat_seconds.is_not(None)).distinct()
        )
    )
    effective = _heartbeat_expression(config)
    missed = config.online.missed_heartbeats
    return or_(
        *(
            and_(
                effective == seconds,
                DeviceState.last_seen >= now - timedelta(seconds=seconds * missed),
            )
            for seconds in sorted(heartbeats)
        )
    )


def offline_condition(
    session: Session, config: SensingConfig, now: datetime
) -> ColumnElement[bool]:
    return or_(DeviceState.last_seen.is_(None), ~online_condition(session, config, now))


# --------------------------------------------------------------------------- #
# Listing and looking up
# --------------------------------------------------------------------------- #


@dataclass(frozen=True)
class DeviceFilters:
    type: str | None = None
    jurisdiction: str | None = None
    network: str | None = None
    online: bool | None = None
    active: bool | None = None
    q: str | None = None


@dataclass(frozen=True)
class DeviceListing:
    rows: list[tuple[Device, DeviceState | None]]
    total: int


def list_devices(
    session: Session,
    *,
    actor: Actor = SYSTEM,
    filters: DeviceFilters | None = None,
    page: int = 1,
    page_size: int = 50,
    now: datetime | None = None,
) -> DeviceListing:
    """One page of the devices the actor may see, ordered by ``device_id``, and the total."""
    now = now or utcnow()
    stmt = _filtered(session, actor, filters or DeviceFilters(), now)
    total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
    page_stmt = stmt.order_by(Device.device_id).limit(page_size).offset((page - 1) * page_size)
    # The outer join gives None for a device never heard from.
    rows: list[tuple[Device, DeviceState | None]] = [
        (device, state) for device, state in session.execute(page_stmt)
    ]
    return DeviceListing(rows=rows, total=total)


def _filtered(
    session: Session, actor: Actor, f: DeviceFilters, now: datetime
) -> Select[Device, DeviceState]:
    stmt = (
        select(Device, DeviceState)
        .outerjoin(DeviceState, DeviceState.device_id == Device.device_id)
        .where(visible_by_path(actor, Device.jurisdiction_path))
    )
    if f.type:
        stmt = stmt.where(Device.type == f.type)
    if f.network:
        stmt = stmt.where(Device.network == f.network)
    if f.active is not None:
        stmt = stmt.where(Device.active.is_(f.active))
    if f.jurisdiction:
        path = place(session, f.jurisdiction).path
        stmt = stmt.where(Device.jurisdiction_path.startswith(path, autoescape=True))
    if f.online is not None:
        config = get_profile(session).config(SensingConfig)
        condition = online_condition if f.online else offline_condition
        stmt = stmt.where(condition(session, config, now))
    if f.q:
        pattern = f"%{_escape_like(f.q.strip())}%"
        stmt = stmt.where(
            or_(
                *(
                    column.ilike(pattern, escape="\\")
                    for column in (
                        Device.device_id,
                        Device.address,
                        Device.building,
                        Device.model,
                        Device.owner_unit,
                    )
                )
            )
        )
    return stmt


def get_device_for(
    session: Session, *, actor: Actor, device_id: str
) -> tuple[Device, DeviceState | None]:
    """A device the actor may see with its state, or NotFound (existence is not leaked)."""
    row = session.execute(
        select(Device, DeviceState)
        .outerjoin(DeviceState, DeviceState.device_id == Device.device_id)
        .where(Device.device_id == device_id, visible_by_path(actor, Device.jurisdiction_path))
    ).first()
    if row is None:
        raise NotFound(f"device '{device_id}' not found", device_id=device_id)
    return row[0], row[1]


def open_alarm_count(session: Session, device_id: str) -> int:
    return (
        session.scalar(
            select(func.count()).where(
                Alarm.device_id == device_id, Alarm.state.in_(OPEN_ALARM_STATES)
            )
        )
        or 0
    )


# --------------------------------------------------------------------------- #
# Small helpers
# --------------------------------------------------------------------------- #


def _escape_like(text: str) -> str:
    return re.sub(r"([\\%_])", r"\\\1", text)
