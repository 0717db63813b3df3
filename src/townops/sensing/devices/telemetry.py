"""A device's history: raw readings, and their roll-ups once older than the raw retention.

Raw readings are kept ``telemetry.raw_days`` (``sensing.yaml``). :func:`compact_readings`
summarises older ones per device, quantity and time bucket (``rollup_seconds``, buckets
aligned on the UTC epoch) into ``reading_rollups`` — count, min, max, mean — and deletes
them. A reading that arrives late for a bucket already rolled up is merged into it (counts
add, the mean is weighted), so running the compaction again, or after late arrivals,
never counts a reading twice nor loses one.

``values`` is a JSON column whose SQL functions differ between SQLite and PostgreSQL, so
the readings are aggregated in Python, streamed device by device in chunks; the writes are
set-based (one INSERT and one UPDATE per chunk). Each chunk is one unit: its roll-ups and
the deletion of its raw rows happen together.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

from sqlalchemy import ColumnElement, CursorResult, delete, func, insert, select, tuple_, update
from sqlalchemy.orm import InstrumentedAttribute, Session

from townops.access.actor import SYSTEM, Actor
from townops.auth.models import AuditEntry
from townops.errors import Conflict, InvalidInput
from townops.sensing.models import Reading, ReadingRollup
from townops.timeutil import utcnow

_Row = TypeVar("_Row", Reading, ReadingRollup)

CompactProgress = Callable[[int, int], None]
"""``progress(devices_done, devices_total)``."""

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_DEVICES_PER_CHUNK = 100
_STREAM_ROWS = 5000
# Keys per (device_id, bucket_start, quantity) IN list: 3 parameters each, under 999.
_KEYS_PER_QUERY = 300


# --------------------------------------------------------------------------- #
# Reading the history
# --------------------------------------------------------------------------- #


def raw_readings(
    session: Session,
    device_id: str,
    *,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[Reading], int]:
    """Raw readings measured in ``[start, end)``, oldest first, and how many there are."""
    return _history_page(
        session,
        Reading,
        Reading.device_id == device_id,
        Reading.ts,
        (Reading.ts, Reading.seq),
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )


def rollups(
    session: Session,
    device_id: str,
    *,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[ReadingRollup], int]:
    """Roll-up rows whose bucket starts in ``[start, end)``, by bucket then quantity."""
    return _history_page(
        session,
        ReadingRollup,
        ReadingRollup.device_id == device_id,
        ReadingRollup.bucket_start,
        (ReadingRollup.bucket_start, ReadingRollup.quantity),
        start=start,
        end=end,
        limit=limit,
        offset=offset,
    )


def _history_page(
    session: Session,
    model: type[_Row],
    of_device: ColumnElement[bool],
    moment: InstrumentedAttribute[datetime],
    order: tuple[InstrumentedAttribute[Any], ...],
    *,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    offset: int,
) -> tuple[list[_Row], int]:
    """One page of a device's rows with ``moment`` in ``[start, end)``, and the total."""
    condition = [of_device]
    if start is not None:
        condition.append(moment >= start)
    if end is not None:
        condition.append(moment < end)
    total = session.scalar(select(func.count()).select_from(model).where(*condition)) or 0
    page = select(model).where(*condition).order_by(*order).limit(limit).offset(offset)
    return list(session.scalars(page)), total


# --------------------------------------------------------------------------- #
# Compaction
# --------------------------------------------------------------------------- #


@dataclass
class CompactReport:
    cutoff: datetime
    bucket_seconds: int
    devices: int = 0
    readings: int = 0  # raw rows rolled up and deleted
    buckets_created: int = 0
    buckets_merged: int = 0  # existing roll-up rows a late reading was added to


@dataclass
class _Stats:
    count: int
    min: float
    max: float
    total: float

    def add(self, value: float) -> None:
        self.count += 1
        self.min = min(self.min, value)
        self.max = max(self.max, value)
        self.total += value


_Key = tuple[str, datetime, str]  # device_id, bucket_start, quantity


@dataclass(frozen=True)
class _Stored:
    bucket_seconds: int
    count: int
    min: float
    max: float
    mean: float


def bucket_start(ts: datetime, bucket_seconds: int) -> datetime:
    """The start of the bucket holding ``ts``: a multiple of the bucket since the epoch."""
    seconds = int((ts.astimezone(UTC) - _EPOCH).total_seconds()) // bucket_seconds
    return _EPOCH + timedelta(seconds=seconds * bucket_seconds)


def compact_readings(
    session: Session,
    *,
    now: datetime | None = None,
    raw_days: int,
    bucket_seconds: int,
    progress: CompactProgress | None = None,
    commit_each_chunk: bool = False,
    actor: Actor = SYSTEM,
) -> CompactReport:
    """Roll up the readings measured before ``now - raw_days`` and delete them.

    ``commit_each_chunk``: commit after each chunk of devices (long runs from the CLI keep
    their work if stopped; every chunk is complete in itself). Otherwise the caller commits.
    """
    if raw_days < 1 or bucket_seconds < 1:
        raise InvalidInput("raw_days and bucket_seconds must be at least 1")
    cutoff = (now or utcnow()) - timedelta(days=raw_days)
    report = CompactReport(cutoff=cutoff, bucket_seconds=bucket_seconds)
    devices = list(
        session.scalars(
            select(Reading.device_id)
            .where(Reading.ts < cutoff)
            .distinct()
            .order_by(Reading.device_id)
        )
    )
    for start in range(0, len(devices), _DEVICES_PER_CHUNK):
        chunk = devices[start : start + _DEVICES_PER_CHUNK]
        _compact_chunk(session, chunk, cutoff, bucket_seconds, report)
        report.devices += len(chunk)
        if commit_each_chunk:
            session.commit()
        if progress is not None:
            progress(report.devices, len(devices))
    if report.readings:
        session.add(
            AuditEntry(
                actor=actor.username,
                action="readings.compact",
                target=f"before {cutoff.isoformat()}",
                data={
                    "devices": report.devices,
                    "readings": report.readings,
                    "buckets_created": report.buckets_created,
                    "buckets_merged": report.buckets_merged,
                    "bucket_seconds": bucket_seconds,
                },
            )
        )
        if commit_each_chunk:
            session.commit()
    return report


def _compact_chunk(
    session: Session,
    devices: Sequence[str],
    cutoff: datetime,
    bucket_seconds: int,
    report: CompactReport,
) -> None:
    old = (Reading.device_id.in_(devices), Reading.ts < cutoff)
    stats: dict[_Key, _Stats] = {}
    read = 0
    rows = session.execute(
        select(Reading.device_id, Reading.ts, Reading.values)
        .where(*old)
        .execution_options(yield_per=_STREAM_ROWS)
    )
    for device_id, ts, values in rows:
        read += 1
        start = bucket_start(ts, bucket_seconds)
        for quantity, value in (values or {}).items():
            if isinstance(value, int | float) and not isinstance(value, bool):
                key = (device_id, start, quantity)
                found = stats.get(key)
                if found is None:
                    stats[key] = _Stats(1, float(value), float(value), float(value))
                else:
                    found.add(float(value))
    deleted = cast("CursorResult[Any]", session.execute(delete(Reading).where(*old))).rowcount
    if deleted != read:
        # A late reading for this period was stored between our read and our delete.
        raise Conflict(
            "readings arrived while they were being compacted; nothing of this chunk was "
            "changed: run the compaction again",
            read=read,
            deleted=deleted,
        )
    created, merged = _merge_into_rollups(session, stats, bucket_seconds)
    report.readings += read
    report.buckets_created += created
    report.buckets_merged += merged


def _merge_into_rollups(
    session: Session, stats: dict[_Key, _Stats], bucket_seconds: int
) -> tuple[int, int]:
    existing = _existing_rollups(session, list(stats))
    inserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    for key, new in stats.items():
        old = existing.get(key)
        row = {"device_id": key[0], "bucket_start": key[1], "quantity": key[2]}
        if old is None:
            inserts.append(
                row
                | {
                    "bucket_seconds": bucket_seconds,
                    "count": new.count,
                    "min": new.min,
                    "max": new.max,
                    "mean": new.total / new.count,
                }
            )
            continue
        if old.bucket_seconds != bucket_seconds:
            raise Conflict(
                f"the roll-up of {key[0]} at {key[1].isoformat()} has buckets of "
                f"{old.bucket_seconds} s, not {bucket_seconds} s: keep one bucket size",
                device_id=key[0],
            )
        count = old.count + new.count
        updates.append(
            row
            | {
                "count": count,
                "min": min(old.min, new.min),
                "max": max(old.max, new.max),
                "mean": (old.mean * old.count + new.total) / count,
            }
        )
    if inserts:
        session.execute(insert(ReadingRollup), inserts)
    if updates:
        session.execute(update(ReadingRollup), updates)
    return len(inserts), len(updates)


def _existing_rollups(session: Session, keys: list[_Key]) -> dict[_Key, _Stored]:
    found: dict[_Key, _Stored] = {}
    key_columns = (ReadingRollup.device_id, ReadingRollup.bucket_start, ReadingRollup.quantity)
    for start in range(0, len(keys), _KEYS_PER_QUERY):
        chunk = keys[start : start + _KEYS_PER_QUERY]
        result = session.execute(
            select(
                *key_columns,
                ReadingRollup.bucket_seconds,
                ReadingRollup.count,
                ReadingRollup.min,
                ReadingRollup.max,
                ReadingRollup.mean,
            ).where(tuple_(*key_columns).in_(chunk))
        )
        for device_id, start_at, quantity, seconds, count, low, high, mean in result:
            found[(device_id, start_at, quantity)] = _Stored(seconds, count, low, high, mean)
    return found
