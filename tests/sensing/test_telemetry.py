"""Compaction of old readings: counts and sums kept, raw rows deleted, late readings merged."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from townops.auth.models import AuditEntry
from townops.errors import Conflict
from townops.sensing.devices.telemetry import CompactReport, bucket_start, compact_readings
from townops.sensing.models import Reading, ReadingRollup

NOW = datetime(2026, 11, 22, 0, 0, tzinfo=UTC)
OLD = datetime(2026, 10, 1, 10, 0, tzinfo=UTC)  # 52 days before NOW


def add_readings(
    session: Session, device_id: str, start: datetime, count: int, *, first_seq: int = 0
) -> list[Reading]:
    """One reading every 10 minutes: gas_lel = seq % 7, battery only on even sequence numbers."""
    readings = []
    for offset in range(count):
        seq = first_seq + offset
        values = {"gas_lel": float(seq % 7)}
        if seq % 2 == 0:
            values["battery"] = 100.0 - seq
        readings.append(
            Reading(
                device_id=device_id,
                seq=seq,
                ts=start + timedelta(minutes=10 * offset),
                received_at=start + timedelta(minutes=10 * offset, seconds=2),
                values=values,
            )
        )
    session.add_all(readings)
    session.flush()
    return readings


def rollups(session: Session) -> dict[tuple[str, datetime, str], ReadingRollup]:
    session.expire_all()
    return {
        (r.device_id, r.bucket_start, r.quantity): r for r in session.scalars(select(ReadingRollup))
    }


def raw_count(session: Session, device_id: str | None = None) -> int:
    stmt = select(func.count()).select_from(Reading)
    if device_id:
        stmt = stmt.where(Reading.device_id == device_id)
    return session.scalar(stmt) or 0


def compact(session: Session) -> CompactReport:
    return compact_readings(session, now=NOW, raw_days=30, bucket_seconds=3600)


def test_buckets_start_on_multiples_of_their_size_since_the_epoch() -> None:
    ts = datetime(2026, 10, 1, 18, 59, 59, tzinfo=UTC)
    assert bucket_start(ts, 3600) == datetime(2026, 10, 1, 18, 0, tzinfo=UTC)
    assert bucket_start(ts, 86400) == datetime(2026, 10, 1, tzinfo=UTC)
    local = datetime.fromisoformat("2026-10-02T02:30:00+08:00")
    assert bucket_start(local, 3600) == datetime(2026, 10, 1, 18, 0, tzinfo=UTC)


def test_old_readings_become_hourly_rollups_that_keep_counts_sums_and_extremes(
    session: Session,
) -> None:
    old = add_readings(session, "TL-1", OLD, 12)  # 10:00 … 11:50: two hours
    add_readings(session, "TL-2", OLD + timedelta(minutes=5), 3)
    recent = add_readings(session, "TL-1", NOW - timedelta(days=1), 5, first_seq=100)
    progress: list[tuple[int, int]] = []

    report = compact_readings(
        session,
        now=NOW,
        raw_days=30,
        bucket_seconds=3600,
        progress=lambda done, total: progress.append((done, total)),
    )

    assert (report.devices, report.readings, report.buckets_merged) == (2, 15, 0)
    assert raw_count(session, "TL-1") == len(recent) and raw_count(session, "TL-2") == 0
    found = rollups(session)
    assert report.buckets_created == len(found) == 6  # TL-1: 2 h × 2 quantities; TL-2: 1 h × 2
    for device_id, readings in (("TL-1", old), ("TL-2", None)):
        if readings is None:
            continue
        for quantity in ("gas_lel", "battery"):
            values = [r.values[quantity] for r in readings if quantity in r.values]
            stored = [v for k, v in found.items() if k[0] == device_id and k[2] == quantity]
            assert sum(r.count for r in stored) == len(values)
            assert sum(r.mean * r.count for r in stored) == pytest.approx(sum(values))
            assert min(r.min for r in stored) == min(values)
            assert max(r.max for r in stored) == max(values)
    first_hour = found[("TL-1", OLD, "gas_lel")]
    assert (first_hour.count, first_hour.min, first_hour.max) == (6, 0.0, 5.0)
    assert first_hour.mean == pytest.approx(2.5) and first_hour.bucket_seconds == 3600
    assert found[("TL-1", OLD, "battery")].count == 3  # seq 0, 2, 4
    assert progress and progress[-1] == (2, 2)
    audit = session.scalars(select(AuditEntry).where(AuditEntry.action == "readings.compact"))
    assert audit.one().data["readings"] == 15


def test_running_again_changes_nothing(session: Session) -> None:
    add_readings(session, "TL-1", OLD, 12)
    compact(session)
    before = {k: (r.count, r.min, r.max, r.mean) for k, r in rollups(session).items()}

    again = compact_readings(session, now=NOW, raw_days=30, bucket_seconds=3600)

    assert (again.devices, again.readings, again.buckets_created, again.buckets_merged) == (
        0,
        0,
        0,
        0,
    )
    assert {k: (r.count, r.min, r.max, r.mean) for k, r in rollups(session).items()} == before


def test_a_late_reading_is_merged_into_its_rolled_up_bucket(session: Session) -> None:
    add_readings(session, "TL-1", OLD, 6)  # gas_lel 0..5 in the 10:00 bucket: mean 2.5
    compact(session)
    session.add(
        Reading(
            device_id="TL-1",
            seq=50,
            ts=OLD + timedelta(minutes=59),
            received_at=NOW,
            values={"gas_lel": 20.0},
        )
    )
    session.flush()

    report = compact(session)

    assert (report.readings, report.buckets_merged, report.buckets_created) == (1, 1, 0)
    merged = rollups(session)[("TL-1", OLD, "gas_lel")]
    assert (merged.count, merged.min, merged.max) == (7, 0.0, 20.0)
    assert merged.mean == pytest.approx((0 + 1 + 2 + 3 + 4 + 5 + 20) / 7)
    assert raw_count(session, "TL-1") == 0


def test_another_bucket_size_on_the_same_start_is_refused_and_changes_nothing(
    session: Session,
) -> None:
    midnight = datetime(2026, 10, 1, tzinfo=UTC)
    add_readings(session, "TL-1", midnight, 3)  # hourly bucket at 00:00
    compact(session)
    add_readings(session, "TL-1", midnight + timedelta(minutes=30), 1, first_seq=60)
    with pytest.raises(Conflict), session.begin_nested():
        compact_readings(session, now=NOW, raw_days=30, bucket_seconds=86400)  # daily at 00:00
    assert raw_count(session, "TL-1") == 1
    assert rollups(session)[("TL-1", midnight, "gas_lel")].count == 3
