"""Ingestion: a batch of readings → stored once, device states, rules, alarms, cases.

:func:`process_readings` is what the one ingestion use case
(:func:`townops.sensing.ingest.service.ingest`, for MQTT and HTTP) calls. It does not
commit: the caller commits and only then acknowledges, so a reading is acknowledged only
once it and everything it caused (alarms, cases) are stored together.

It is on the hot path (≥ 20,000 readings/s per process), so it works in sets: one INSERT
for the batch's readings that skips those already stored, one query for the devices'
registry facts (cached per database, :mod:`townops.sensing.devices.facts`), one for their
states (locked on PostgreSQL, where several ingesters share one subscription), rules
evaluated in memory (skipped for a calm reading,
:func:`townops.sensing.alarms.rules.calm_range`), one statement to write the states back.
Alarms are rare and handled after that.
"""

from __future__ import annotations

import gc
import json
import math
import sqlite3
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol, TypeVar, cast

from sqlalchemy.orm import Session

from townops.errors import DomainError
from townops.sensing.alarms.lifecycle import (
    AlarmDraft,
    alarm_message,
    clear_alarms,
    open_key,
    raise_alarms,
)
from townops.sensing.alarms.rules import RuleEvent, calm_range, evaluate, evaluate_late
from townops.sensing.config import AlarmRule, SensingConfig
from townops.sensing.devices.facts import DeviceInfo, device_infos
from townops.sensing.ingest.messages import IncomingReading
from townops.timeutil import utcnow
from townops.towns.profile import TownProfile, get_profile

_T = TypeVar("_T")

UNKNOWN_DEVICE = "unknown_device"
INACTIVE_DEVICE = "inactive_device"
#: A reading dated further ahead of the server clock than ``ingest.max_future_skew_seconds``.
FUTURE_TIMESTAMP = "future_timestamp"


@dataclass
class BatchResult:
    stored: int = 0
    duplicates: int = 0
    # Stored but not newer than the device's latest reading: judged only by threshold
    # rules, and only to raise (rules.evaluate_late).
    late: int = 0
    # (index into the input, "unknown_device" | "inactive_device" | "future_timestamp"):
    # readings not taken, which the caller sets aside (with set_aside_detail).
    unknown: list[tuple[int, str]] = field(default_factory=list)
    alarms_raised: list[int] = field(default_factory=list)
    alarms_cleared: list[int] = field(default_factory=list)
    cases_opened: list[int] = field(default_factory=list)


# --- the process --------------------------------------------------------------------------

#: Collection thresholds of a process that does nothing but ingest (see tune_gc_for_ingestion).
INGEST_GC_THRESHOLDS = (20_000, 10, 10)


def tune_gc_for_ingestion() -> None:
    """For a process that only ingests (``townops ingest mqtt`` workers), not a shared one.

    A batch makes and drops tens of thousands of small objects, nearly none of them in
    reference cycles; with Python's default thresholds the cyclic collector runs every 700
    allocations and now and then walks the whole heap (SQLAlchemy, pydantic, the device
    cache), which cost 10–15 % of bench/pipeline.py's CPU time. Frozen, what is loaded at
    start-up is never walked again, and rarer young collections still catch the odd cycle.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*INGEST_GC_THRESHOLDS)


# --- the batch ---------------------------------------------------------------------------


def process_readings(
    session: Session, readings: Sequence[IncomingReading], *, now: datetime | None = None
) -> BatchResult:
    """Store a batch of readings once each, update device states, evaluate the rules, raise
    and clear alarms and open their cases. The caller commits."""
    now = now or utcnow()
    result = BatchResult()
    if not readings:
        return result
    profile = get_profile(session)
    devices = device_infos(session, {r.device_id for r in readings})
    skew = timedelta(seconds=profile.config(SensingConfig).ingest.max_future_skew_seconds)
    admitted = _admit(readings, devices, result, skew)
    store = _store_for(session)
    stored = _store(store, admitted)
    result.duplicates += len(admitted) - len(stored)
    result.stored = len(stored)
    if not stored:
        return result
    by_device: dict[str, list[IncomingReading]] = defaultdict(list)
    for reading in stored:
        by_device[reading.device_id].append(reading)
    plans = _plan_and_write(store, by_device, devices, profile.config(SensingConfig), now)
    result.late = sum(p.late for p in plans)
    _act(session, plans, now=now, profile=profile, result=result)
    return result


def too_far_ahead(reading: IncomingReading, max_skew: timedelta) -> bool:
    """Whether the reading is dated more than ``max_skew`` after it arrived (server clock).

    Such a reading is never stored nor applied to the device's state: it would become the
    device's latest and make every real reading after it count as late.
    """
    return reading.ts - reading.received_at > max_skew


def set_aside_detail(reason: str, reading: IncomingReading) -> str:
    """The ``detail`` kept with a reading that :func:`process_readings` did not take."""
    if reason == INACTIVE_DEVICE:
        return f"device {reading.device_id!r} is registered but inactive"
    if reason == FUTURE_TIMESTAMP:
        ahead = (reading.ts - reading.received_at).total_seconds()
        return (
            f"ts {reading.ts.isoformat()} is {ahead:.0f} s ahead of the server clock "
            f"({reading.received_at.isoformat()})"
        )
    return f"device {reading.device_id!r} is not in the registry"


def _admit(
    readings: Sequence[IncomingReading],
    devices: dict[str, DeviceInfo],
    result: BatchResult,
    max_skew: timedelta,
) -> list[IncomingReading]:
    """Readings of known, active devices, dated no further ahead than ``max_skew``, each
    (device, seq) once."""
    seen: set[tuple[str, int]] = set()
    admitted: list[IncomingReading] = []
    for index, reading in enumerate(readings):
        device = devices.get(reading.device_id)
        if device is None:
            result.unknown.append((index, UNKNOWN_DEVICE))
            continue
        if not device.active:
            result.unknown.append((index, INACTIVE_DEVICE))
            continue
        if reading.ts - reading.received_at > max_skew:  # too_far_ahead, inlined: hot path
            result.unknown.append((index, FUTURE_TIMESTAMP))
            continue
        key = (reading.device_id, reading.seq)
        if key in seen:
            result.duplicates += 1
            continue
        seen.add(key)
        admitted.append(reading)
    return admitted


def _store(store: _Store, readings: list[IncomingReading]) -> list[IncomingReading]:
    """One INSERT that skips readings already stored; returns those newly stored.

    Rows go in (device, seq) order so that two ingesters inserting the same keys on
    PostgreSQL wait for each other in one order, never in a cycle.
    """
    if not readings:
        return []
    readings = sorted(readings, key=lambda r: (r.device_id, r.seq))
    inserted = store.insert_readings(readings)
    if len(inserted) == len(readings):
        return readings
    return [r for r in readings if (r.device_id, r.seq) in inserted]


# --- device states and rules -------------------------------------------------------------


@dataclass(slots=True)
class _StateRow:
    last_seq: int
    last_ts: datetime
    rule_state: dict[str, Any]
    offline_since: datetime | None
    readings_count: int


@dataclass(slots=True)
class _Event:
    device: DeviceInfo
    rule: AlarmRule
    event: RuleEvent
    value: float | None
    seq: int


@dataclass(slots=True)
class _Plan:
    """What one device's readings of this batch change: its new state and the events."""

    device: DeviceInfo
    existed: bool
    last_seq: int
    last_ts: datetime
    # The newest value of each quantity in this batch (merged into the stored ones in SQL).
    values: dict[str, float]
    rule_state: dict[str, Any]
    readings_count: int
    events: list[_Event]
    late: int
    # It was offline (or never heard from): its offline alarms clear.
    back_online: bool


_EMPTY: dict[str, Any] = {}
_NO_EVENT = RuleEvent.none


#: One value rule, as the pipeline's inner loop reads it: the rule, its id, its quantity, and
#: the range of values that leave it alone while it keeps no state (rules.calm_range; for
#: rate rules an empty range, so they are always evaluated).
_Check = tuple[AlarmRule, str, str, float, float]


class _RuleBook:
    """The value rules of each device type, looked up once per batch."""

    def __init__(self, config: SensingConfig) -> None:
        self._config = config
        self._by_type: dict[str, list[AlarmRule]] = {}
        self._checks: dict[str, list[_Check]] = {}

    def value_rules(self, device_type: str) -> list[AlarmRule]:
        rules = self._by_type.get(device_type)
        if rules is None:
            rules = self._by_type[device_type] = [
                r for r in self._config.rules_for(device_type) if r.kind != "offline"
            ]
        return rules

    def checks(self, device_type: str) -> list[_Check]:
        checks = self._checks.get(device_type)
        if checks is None:
            checks = self._checks[device_type] = [
                (rule, rule.id, rule.quantity, *(calm_range(rule) or (math.inf, -math.inf)))
                for rule in self.value_rules(device_type)
                if rule.quantity is not None
            ]
        return checks


def _plan(
    device: DeviceInfo,
    readings: list[IncomingReading],
    state: _StateRow | None,
    rules: list[AlarmRule],
    checks: list[_Check],
) -> _Plan:
    """Evaluate the rules over the device's new readings, in timestamp order."""
    if len(readings) > 1:
        readings.sort(key=lambda r: (r.ts, r.seq))
    if state is None:
        last_seq, last_ts, count = -1, None, 0
        rule_state: dict[str, Any] = {}
    else:
        last_seq, last_ts, count = state.last_seq, state.last_ts, state.readings_count
        rule_state = dict(state.rule_state)
    values: dict[str, float] | None = None
    prior_ts = last_ts
    events: list[_Event] = []
    late = 0
    for reading in readings:
        if prior_ts is not None and reading.ts <= prior_ts:
            late += 1
            _judge_late(device, reading, rules, rule_state, events)
            continue
        reading_values = reading.values
        ts: float | None = None
        for rule, rule_id, quantity, calm_low, calm_high in checks:
            value = reading_values.get(quantity)
            if value is None:
                continue  # the rule is untouched by a reading without its quantity
            current = rule_state.get(rule_id)
            if current is None:
                if calm_low <= value <= calm_high:
                    continue  # nothing kept, nothing crossed: nothing changes
                current = _EMPTY
            if ts is None:
                ts = reading.ts.timestamp()
            new, event, judged = evaluate(rule, current, ts, reading_values)
            if new is not current:
                if new:
                    rule_state[rule_id] = new
                else:
                    rule_state.pop(rule_id, None)
            if event is not _NO_EVENT:
                events.append(_Event(device, rule, event, judged, reading.seq))
        # Shared, not copied, when it is the device's only reading in the batch (most are).
        values = reading_values if values is None else {**values, **reading_values}
        last_seq, last_ts = reading.seq, reading.ts
    assert last_ts is not None  # at least one reading, and a state has a last_ts
    return _Plan(
        device=device,
        existed=state is not None,
        last_seq=last_seq,
        last_ts=last_ts,
        values=values or {},
        rule_state=rule_state,
        readings_count=count + len(readings),
        events=events,
        late=late,
        back_online=state is None or state.offline_since is not None,
    )


def _judge_late(
    device: DeviceInfo,
    reading: IncomingReading,
    rules: list[AlarmRule],
    rule_state: dict[str, Any],
    events: list[_Event],
) -> None:
    for rule in rules:
        new, event, value = evaluate_late(rule, rule_state.get(rule.id, _EMPTY), reading.values)
        if event is not _NO_EVENT:
            rule_state[rule.id] = new
            events.append(_Event(device, rule, event, value, reading.seq))


def _plan_and_write(
    store: _Store,
    by_device: dict[str, list[IncomingReading]],
    devices: dict[str, DeviceInfo],
    config: SensingConfig,
    now: datetime,
) -> list[_Plan]:
    book = _RuleBook(config)
    device_ids = sorted(by_device)
    states = store.load_states(device_ids)

    def plan_for(device_id: str) -> _Plan:
        device = devices[device_id]
        state = states.get(device_id)
        device_type = device.type
        return _plan(
            device,
            by_device[device_id],
            state,
            book.value_rules(device_type),
            book.checks(device_type),
        )

    plans: dict[str, _Plan] = {}
    for device_id in device_ids:
        plans[device_id] = plan_for(device_id)
    store.update_states([p for p in plans.values() if p.existed], now)
    new = [p for p in plans.values() if not p.existed]
    inserted = store.insert_states(new, now) if new else set()
    lost = sorted(p.device.device_id for p in new if p.device.device_id not in inserted)
    if lost:
        # Another ingester stored these devices' first state meanwhile: start from theirs.
        states.update(store.load_states(lost))
        for device_id in lost:
            plans[device_id] = plan_for(device_id)
        store.update_states([plans[d] for d in lost], now)
    return list(plans.values())


# --- storage: the hot statements, in each back-end's fastest form ------------------------
#
# Plain DB-API statements rather than ORM or Core executemany: at these rates SQLAlchemy's
# per-parameter type processing cost more than the database's own work. The formats are
# those of the models' column types (UTCDateTime: naive UTC text on SQLite; JSON as text).

_STATE_COLUMNS = (
    'device_id, last_seq, last_ts, last_seen, "values", rule_state, offline_since, readings_count'
)
_STATE_SELECT = (
    "SELECT device_id, last_seq, last_ts, rule_state, offline_since, readings_count "
    "FROM device_states "
)


class _Store(Protocol):
    def insert_readings(self, readings: list[IncomingReading]) -> set[tuple[str, int]]: ...

    def load_states(self, device_ids: list[str]) -> dict[str, _StateRow]: ...

    def update_states(self, plans: list[_Plan], now: datetime) -> None: ...

    def insert_states(self, plans: list[_Plan], now: datetime) -> set[str]: ...


def _store_for(session: Session) -> _Store:
    """The statements for the session's back-end, for one batch, on the session's
    connection and inside its transaction (the DB-API connection itself: no per-row
    result objects)."""
    pooled = session.connection().connection
    driver = pooled.driver_connection
    assert driver is not None
    if session.get_bind().dialect.name == "postgresql":
        return _PostgresStore(driver)
    if sqlite3.sqlite_version_info < (3, 35):
        raise DomainError(
            f"SQLite {sqlite3.sqlite_version} is too old for ingestion: 3.35 or newer is "
            "needed (INSERT … RETURNING); use PostgreSQL or a newer Python build"
        )
    if not pooled.info.get("sensing_pragmas"):
        # Each batch dirties index pages all over the readings and the device states: a
        # page cache larger than the default 2 MB keeps them, and checkpointing every
        # 10,000 pages rather than 1,000 writes a hot page back (and syncs) once for many
        # batches, not once per batch. Per connection, set once.
        driver.execute(f"PRAGMA cache_size = -{SQLITE_CACHE_KIB}")
        driver.execute(f"PRAGMA wal_autocheckpoint = {SQLITE_CHECKPOINT_PAGES}")
        pooled.info["sensing_pragmas"] = True
    return _SqliteStore(driver)


_json: Callable[[Any], str] = json.JSONEncoder(separators=(",", ":")).encode


class _Texts:
    """Per batch: each instant and each values object turned into text once (a reading's
    time and values are written twice: the reading, and the device's state)."""

    def __init__(self) -> None:
        self._times: dict[datetime, str] = {}
        self._json: dict[int, str] = {}
        self._keep: list[object] = []

    def time(self, value: datetime) -> str:
        text = self._times.get(value)
        if text is None:
            text = self._times[value] = _sqlite_time(value)
        return text

    def json(self, value: dict[str, Any]) -> str:
        if not value:
            return "{}"
        text = self._json.get(id(value))
        if text is None:
            text = self._json[id(value)] = _json(value)
            self._keep.append(value)  # its id stays its own while the batch lasts
        return text


def _read_json(text: str) -> dict[str, Any]:
    return {} if text == "{}" else cast(dict[str, Any], json.loads(text))


def _chunks(items: list[_T], size: int) -> Iterator[list[_T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_minute_texts: dict[int, str] = {}


def _sqlite_time(value: datetime) -> str:
    """UTCDateTime's SQLite text (``2026-11-22 00:00:30.000000``, UTC), for any offset.

    Twice as fast as astimezone + isoformat: integer maths and the minute's text cached.
    """
    delta = value - _EPOCH
    if delta.days < 0:  # before 1970 (a device clock never set): the plain way
        return value.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")
    minute, second = divmod(delta.days * 86_400 + delta.seconds, 60)
    prefix = _minute_texts.get(minute)
    if prefix is None:
        if len(_minute_texts) > 100_000:
            _minute_texts.clear()
        prefix = time.strftime("%Y-%m-%d %H:%M:", time.gmtime(minute * 60))
        _minute_texts[minute] = prefix
    return f"{prefix}{second:02d}.{delta.microseconds:06d}"


def _sqlite_read_time(value: str) -> datetime:
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


#: SQLite page cache of a connection that ingests (KiB).
SQLITE_CACHE_KIB = 65_536
SQLITE_CHECKPOINT_PAGES = 10_000
# SQLite ≥ 3.32 allows 32,766 parameters in one statement.
_SQLITE_MAX_PARAMS = 32_000


class _SqliteStore:
    def __init__(self, driver: Any) -> None:
        self.db = driver  # sqlite3.Connection
        self.texts = _Texts()

    def insert_readings(self, readings: list[IncomingReading]) -> set[tuple[str, int]]:
        inserted: set[tuple[str, int]] = set()
        texts = self.texts
        for chunk in _chunks(readings, _SQLITE_MAX_PARAMS // 5):
            sql = (
                'INSERT INTO readings (device_id, seq, ts, received_at, "values") VALUES '
                + ",".join(["(?,?,?,?,?)"] * len(chunk))
                + " ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id, seq"
            )
            params: list[Any] = []
            for r in chunk:
                params += (
                    r.device_id,
                    r.seq,
                    texts.time(r.ts),
                    texts.time(r.received_at),
                    texts.json(r.values),
                )
            inserted.update(self.db.execute(sql, params).fetchall())
        return inserted

    def load_states(self, device_ids: list[str]) -> dict[str, _StateRow]:
        states: dict[str, _StateRow] = {}
        for chunk in _chunks(device_ids, _SQLITE_MAX_PARAMS):
            marks = ",".join(["?"] * len(chunk))
            sql = f"{_STATE_SELECT}WHERE device_id IN ({marks})"
            for row in self.db.execute(sql, chunk).fetchall():
                states[row[0]] = _StateRow(
                    last_seq=row[1],
                    last_ts=_sqlite_read_time(row[2]),
                    rule_state=_read_json(row[3]),
                    offline_since=None if row[4] is None else _sqlite_read_time(row[4]),
                    readings_count=row[5],
                )
        return states

    def update_states(self, plans: list[_Plan], now: datetime) -> None:
        if not plans:
            return
        seen, texts = _sqlite_time(now), self.texts
        self.db.executemany(
            "UPDATE device_states SET last_seq = ?, last_ts = ?, last_seen = ?, "
            '"values" = json_patch("values", ?), rule_state = ?, offline_since = NULL, '
            "readings_count = ? WHERE device_id = ?",
            [
                (
                    p.last_seq,
                    texts.time(p.last_ts),
                    seen,
                    texts.json(p.values),
                    texts.json(p.rule_state),
                    p.readings_count,
                    p.device.device_id,
                )
                for p in plans
            ],
        )

    def insert_states(self, plans: list[_Plan], now: datetime) -> set[str]:
        seen, texts = _sqlite_time(now), self.texts
        inserted: set[str] = set()
        for chunk in _chunks(plans, _SQLITE_MAX_PARAMS // 8):
            sql = (
                f"INSERT INTO device_states ({_STATE_COLUMNS}) VALUES "
                + ",".join(["(?,?,?,?,?,?,NULL,?)"] * len(chunk))
                + " ON CONFLICT (device_id) DO NOTHING RETURNING device_id"
            )
            params: list[Any] = []
            for p in chunk:
                params += (
                    p.device.device_id,
                    p.last_seq,
                    texts.time(p.last_ts),
                    seen,
                    texts.json(p.values),
                    texts.json(p.rule_state),
                    p.readings_count,
                )
            inserted.update(row[0] for row in self.db.execute(sql, params).fetchall())
        return inserted


_STATE_RECORDS = (
    "json_to_recordset(%s::json) AS v(device_id varchar, last_seq bigint, "
    "last_ts timestamptz, vals jsonb, rule_state json, readings_count bigint)"
)


class _PostgresStore:
    """Each statement takes the whole batch as one JSON document (``json_to_recordset``):
    one parameter, encoded by the C JSON encoder; arrays of Python objects cost the client
    three times as much to send."""

    def __init__(self, driver: Any) -> None:
        self.db = driver  # psycopg.Connection

    def insert_readings(self, readings: list[IncomingReading]) -> set[tuple[str, int]]:
        document = _json(
            [
                {
                    "d": r.device_id,
                    "s": r.seq,
                    "t": r.ts.isoformat(),
                    "r": r.received_at.isoformat(),
                    "v": r.values,
                }
                for r in readings
            ]
        )
        rows = self.db.execute(
            'INSERT INTO readings (device_id, seq, ts, received_at, "values") '
            "SELECT x.d, x.s, x.t, x.r, x.v FROM json_to_recordset(%s::json) "
            "AS x(d varchar, s bigint, t timestamptz, r timestamptz, v json) "
            "ON CONFLICT (device_id, seq) DO NOTHING RETURNING device_id, seq",
            (document,),
        )
        return {(row[0], row[1]) for row in rows.fetchall()}

    def load_states(self, device_ids: list[str]) -> dict[str, _StateRow]:
        # Locked in device order: two ingesters wait for each other, never in a cycle.
        rows = self.db.execute(
            f"{_STATE_SELECT}WHERE device_id IN "
            "(SELECT json_array_elements_text(%s::json)) ORDER BY device_id FOR UPDATE",
            (_json(device_ids),),
        )
        return {
            row[0]: _StateRow(
                last_seq=row[1],
                last_ts=row[2],
                rule_state=row[3],
                offline_since=row[4],
                readings_count=row[5],
            )
            for row in rows.fetchall()
        }

    def _document(self, plans: list[_Plan]) -> str:
        return _json(
            [
                {
                    "device_id": p.device.device_id,
                    "last_seq": p.last_seq,
                    "last_ts": p.last_ts.isoformat(),
                    "vals": p.values,
                    "rule_state": p.rule_state,
                    "readings_count": p.readings_count,
                }
                for p in plans
            ]
        )

    def update_states(self, plans: list[_Plan], now: datetime) -> None:
        if not plans:
            return
        self.db.execute(
            "UPDATE device_states AS s SET last_seq = v.last_seq, last_ts = v.last_ts, "
            'last_seen = %s, "values" = (s."values"::jsonb || v.vals)::json, '
            "rule_state = v.rule_state, offline_since = NULL, "
            f"readings_count = v.readings_count FROM {_STATE_RECORDS} "
            "WHERE s.device_id = v.device_id",
            (now, self._document(plans)),
        )

    def insert_states(self, plans: list[_Plan], now: datetime) -> set[str]:
        rows = self.db.execute(
            f"INSERT INTO device_states ({_STATE_COLUMNS}) "
            "SELECT v.device_id, v.last_seq, v.last_ts, %s, v.vals::json, v.rule_state, NULL, "
            f"v.readings_count FROM {_STATE_RECORDS} "
            "ON CONFLICT (device_id) DO NOTHING RETURNING device_id",
            (now, self._document(plans)),
        )
        return {row[0] for row in rows.fetchall()}


# --- alarms ----------------------------------------------------------------------------------


def _act(
    session: Session,
    plans: list[_Plan],
    *,
    now: datetime,
    profile: TownProfile,
    result: BatchResult,
) -> None:
    """Raise and clear alarms in the order the readings caused them.

    Events of one device and rule alternate (raise, clear, raise …); the k-th event of every
    (device, rule) is applied in round k, so each round is one set of raises and one set of
    clears with distinct keys. Almost every batch has at most one round.
    """
    config = profile.config(SensingConfig)
    rounds: list[tuple[list[AlarmDraft], list[str]]] = []
    seen: dict[str, int] = defaultdict(int)
    for plan in plans:
        for event in plan.events:
            key = open_key(event.device.device_id, event.rule.id)
            k = seen[key]
            seen[key] += 1
            while len(rounds) <= k:
                rounds.append(([], []))
            raises, clears = rounds[k]
            if event.event is RuleEvent.raise_:
                message = alarm_message(config, event.rule, event.device.type, event.value)
                raises.append(AlarmDraft(event.device, event.rule, message, event.value, event.seq))
            else:
                clears.append(key)
    offline_keys = _offline_keys(plans, config)
    if offline_keys:
        if not rounds:
            rounds.append(([], []))
        rounds[0][1].extend(offline_keys)
    for raises, clears in rounds:
        result.alarms_cleared.extend(clear_alarms(session, clears, now=now))
        raised = raise_alarms(session, raises, now=now, profile=profile)
        result.alarms_raised.extend(raised.alarms)
        result.cases_opened.extend(raised.cases_opened)


def _offline_keys(plans: list[_Plan], config: SensingConfig) -> list[str]:
    """Open keys of the offline alarms that the devices heard again may have."""
    offline_rules: dict[str, list[str]] = {}
    keys: list[str] = []
    for plan in plans:
        if not plan.back_online:
            continue
        device_type = plan.device.type
        if device_type not in offline_rules:
            offline_rules[device_type] = [
                r.id for r in config.rules_for(device_type) if r.kind == "offline"
            ]
        keys.extend(open_key(plan.device.device_id, rule) for rule in offline_rules[device_type])
    return keys
