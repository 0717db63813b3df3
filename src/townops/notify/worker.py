"""The sender (``townops worker notify``): takes due messages from the outbox, sends each
through its channel after the commit that queued it, and records what happened.

One thread per channel, each claiming only its own channel's messages, so a channel that is
down or slow (a gateway timing out) never holds up another. A claim is a compare-and-set
UPDATE (``queued|failed_temporary → sending``) with a lease: a worker killed while sending
leaves rows whose lease runs out, and the next pass retries them. Sending happens outside
any transaction; the outcome is written with a compare-and-set on ``sending``.

Delivery is at least once: a worker killed after the provider took a message and before
the outcome was written (outcomes are written :data:`RECORD_EVERY` at a time) sends it
again when the lease runs out. The message's key goes to
the provider as its idempotency hint (the e-mail's Message-ID), so a resend is
recognisable; nothing else is ever sent twice (the key is unique in the outbox).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import Engine, select, update
from sqlalchemy.orm import Session

from townops.notify.channels.base import (
    Channel,
    Message,
    PermanentFailure,
    Receipt,
    TemporaryFailure,
)
from townops.notify.channels.config import InAppConfig
from townops.notify.channels.environment import Environment
from townops.notify.channels.registry import build_channel
from townops.notify.config import INAPP, NotificationsConfig, RetryPolicy
from townops.notify.models import PENDING_STATES, DeliveryState, Notification
from townops.timeutil import utcnow

__all__ = ["ChannelReport", "channels_of", "send_due", "send_due_on"]

log = logging.getLogger(__name__)
S = DeliveryState
#: Outcomes written per transaction.
RECORD_EVERY = 50


@dataclass
class ChannelReport:
    """What one pass did on one channel."""

    channel: str
    delivered: int = 0
    retrying: int = 0
    failed: int = 0
    expired: int = 0
    reclaimed: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    @property
    def sent(self) -> int:
        return self.delivered + self.retrying + self.failed


def channels_of(
    config: NotificationsConfig, environment: Environment | None = None
) -> dict[str, Channel]:
    """Every channel the town names, and the in-app one every town has."""
    channels = {INAPP: build_channel(INAPP, InAppConfig(kind="inapp"))}
    for name, channel in config.channels.items():
        channels[name] = build_channel(name, channel, environment)
    return channels


def send_due(
    engine: Engine,
    channels: Mapping[str, Channel],
    policy: RetryPolicy,
    *,
    clock: Callable[[], datetime] = utcnow,
    batch: int = 200,
) -> dict[str, ChannelReport]:
    """One pass: every channel sends what is due now, in parallel, batch after batch until
    nothing of it is due. Returns what each did."""
    if not channels:
        return {}
    with ThreadPoolExecutor(max_workers=len(channels), thread_name_prefix="notify") as pool:
        futures = {
            name: pool.submit(send_due_on, engine, name, channel, policy, clock=clock, batch=batch)
            for name, channel in channels.items()
        }
        return {name: future.result() for name, future in futures.items()}


def send_due_on(
    engine: Engine,
    name: str,
    channel: Channel,
    policy: RetryPolicy,
    *,
    clock: Callable[[], datetime] = utcnow,
    batch: int = 200,
) -> ChannelReport:
    """Send this channel's due messages, batch after batch, until none is due."""
    report = ChannelReport(name)
    report.reclaimed = _reclaim_lapsed_leases(engine, name, clock())
    report.expired = _expire_late(engine, name, clock())
    while True:
        claimed = _claim(engine, name, clock(), batch, timedelta(seconds=policy.lease_seconds))
        if not claimed:
            return report
        # Outcomes are written a few at a time: one commit per message would cost more
        # than the sending; a worker killed between two writes resends at most that many.
        outcomes: list[tuple[_Claimed, Receipt | Exception, datetime]] = []
        for row in claimed:
            outcomes.append((row, _attempt(channel, row), clock()))
            if len(outcomes) >= RECORD_EVERY:
                _record(engine, outcomes, policy, report)
                outcomes = []
        _record(engine, outcomes, policy, report)
        if len(claimed) < batch:
            return report


def _reclaim_lapsed_leases(engine: Engine, name: str, now: datetime) -> int:
    """Rows a worker took and never finished (it was killed): due again now."""
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(Notification)
            .where(
                Notification.channel == name,
                Notification.state == S.sending.value,
                Notification.locked_until < now,
            )
            .values(
                state=S.failed_temporary.value,
                locked_until=None,
                next_attempt_at=now,
                last_error="the worker stopped while sending (lease ran out)",
            )
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


def _expire_late(engine: Engine, name: str, now: datetime) -> int:
    with Session(engine) as session, session.begin():
        result = session.execute(
            update(Notification)
            .where(
                Notification.channel == name,
                Notification.state.in_(PENDING_STATES),
                Notification.expires_at < now,
            )
            .values(state=S.expired.value)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)


@dataclass(frozen=True)
class _Claimed:
    id: int
    message: Message
    attempts: int


def _claim(
    engine: Engine, name: str, now: datetime, batch: int, lease: timedelta
) -> list[_Claimed]:
    with Session(engine) as session, session.begin():
        due = (
            select(Notification.id)
            .where(
                Notification.channel == name,
                Notification.state.in_(PENDING_STATES),
                Notification.next_attempt_at <= now,
            )
            .order_by(Notification.next_attempt_at, Notification.id)
            .limit(batch)
        )
        if session.get_bind().dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        ids = list(session.scalars(due))
        if not ids:
            return []
        session.execute(
            update(Notification)
            .where(Notification.id.in_(ids), Notification.state.in_(PENDING_STATES))
            .values(
                state=S.sending.value,
                locked_until=now + lease,
                attempts=Notification.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        rows = session.scalars(
            select(Notification)
            .where(Notification.id.in_(ids), Notification.state == S.sending.value)
            .order_by(Notification.next_attempt_at, Notification.id)
        )
        return [
            _Claimed(
                row.id,
                Message(
                    id=row.id,
                    idempotency_key=row.key,
                    address=row.address,
                    title=row.title,
                    body=row.body,
                    template_params=dict(row.template_params or {}),
                ),
                row.attempts,
            )
            for row in rows
        ]


def _attempt(channel: Channel, row: _Claimed) -> Receipt | Exception:
    try:
        return channel.send(row.message)
    except (TemporaryFailure, PermanentFailure) as failure:
        return failure
    except Exception as error:  # a channel's bug must not stop the others: retried
        log.warning("notification %s: %s", row.id, type(error).__name__)
        return TemporaryFailure(f"unexpected {type(error).__name__}")


def _record(
    engine: Engine,
    outcomes: list[tuple[_Claimed, Receipt | Exception, datetime]],
    policy: RetryPolicy,
    report: ChannelReport,
) -> None:
    """Write each outcome, with a compare-and-set on ``sending``, in one transaction."""
    if not outcomes:
        return
    with Session(engine) as session, session.begin():
        for row, outcome, now in outcomes:
            session.execute(
                update(Notification)
                .where(Notification.id == row.id, Notification.state == S.sending.value)
                .values(**_outcome_values(row, outcome, policy, now, report))
                .execution_options(synchronize_session=False)
            )


def _outcome_values(
    row: _Claimed,
    outcome: Receipt | Exception,
    policy: RetryPolicy,
    now: datetime,
    report: ChannelReport,
) -> dict[str, object]:
    values: dict[str, object] = {"locked_until": None}
    if isinstance(outcome, Receipt):
        report.delivered += 1
        return values | {
            "state": S.delivered.value,
            "sent_at": now,
            "last_error": None,
            "receipt": {"provider_id": outcome.provider_id, **outcome.detail},
        }
    reason = f"{type(outcome).__name__}: {outcome}"[:300]
    report.errors[reason] = report.errors.get(reason, 0) + 1
    values |= {"last_error": reason, "receipt": getattr(outcome, "detail", None) or None}
    if isinstance(outcome, TemporaryFailure) and row.attempts < policy.max_attempts:
        wait = policy.backoff(row.attempts)
        if outcome.retry_after:
            wait = max(wait, timedelta(seconds=outcome.retry_after))
        report.retrying += 1
        return values | {"state": S.failed_temporary.value, "next_attempt_at": now + wait}
    report.failed += 1
    return values | {"state": S.failed.value}
