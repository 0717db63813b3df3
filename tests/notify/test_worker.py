"""The sender against real providers' stand-ins (an SMTP server, a WeCom webhook): exactly one
delivery through retries, a worker killed mid-send, a channel down that holds up no other.

The worker commits, so these tests use a database of their own (tests/own_database.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from tests.notify.conftest import SMTP_PASSWORD, SMTP_USER
from tests.notify.receivers import HttpReceiver, SmtpReceiver
from tests.own_database import own_engine
from townops.cli.main import app
from townops.notify.channels.base import Channel
from townops.notify.channels.config import EmailConfig, WeComBotConfig
from townops.notify.channels.registry import build_channel
from townops.notify.config import RetryPolicy
from townops.notify.models import Notification
from townops.notify.worker import _claim, send_due, send_due_on

T0 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # 10:00 in town
POLICY = RetryPolicy(max_attempts=4, backoff_seconds=[60, 300], lease_seconds=120)


@pytest.fixture(scope="module")
def db(engine: Engine, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    name = f"townops_test_notify_{os.getpid()}"
    with own_engine(engine, tmp_path_factory.mktemp("notify"), name) as own:
        yield own


@pytest.fixture
def outbox(db: Engine) -> Iterator[Engine]:
    yield db
    with Session(db) as session, session.begin():
        session.execute(delete(Notification))


def _mail(receiver: SmtpReceiver) -> Channel:
    config = EmailConfig(
        kind="email",
        host="127.0.0.1",
        port=receiver.port,
        sender="高行镇城运中心 <noreply@gaohang.example>",
        username=SMTP_USER,
        password_env="SMTP_PASSWORD",
        timeout_seconds=5,
    )
    return build_channel("mail", config, {"SMTP_PASSWORD": SMTP_PASSWORD})


def _queue(db: Engine, channel: str, count: int = 1, *, at: datetime = T0) -> list[int]:
    with Session(db) as session, session.begin():
        rows = [
            Notification(
                key=f"test:{channel}:{at.timestamp()}:{n}",
                rule="dispatched",
                channel=channel,
                address="handler@gaohang.example" if channel == "mail" else "",
                title=f"新工单 #{n}",
                body="南新居委会的房屋漏水工单已派给房管办。",
                next_attempt_at=at,
                created_at=at,
            )
            for n in range(count)
        ]
        session.add_all(rows)
        session.flush()
        return [row.id for row in rows]


def _at(moment: datetime) -> Callable[[], datetime]:
    """A worker's clock stopped at ``moment``."""
    return lambda: moment


def _row(db: Engine, row_id: int) -> Notification:
    with Session(db, expire_on_commit=False) as session:
        row = session.get(Notification, row_id)
        assert row is not None
        return row


def test_a_provider_failing_twice_then_succeeding_delivers_exactly_once(
    outbox: Engine, smtp_receiver: SmtpReceiver
) -> None:
    (row_id,) = _queue(outbox, "mail")
    mail = _mail(smtp_receiver)
    smtp_receiver.fail_next(2, "451 4.3.0 Try again later")

    first = send_due_on(outbox, "mail", mail, POLICY, clock=lambda: T0)
    assert (first.retrying, first.delivered) == (1, 0)
    row = _row(outbox, row_id)
    assert row.state == "failed_temporary" and row.attempts == 1
    assert row.next_attempt_at == T0 + timedelta(seconds=60)
    assert "handler@" not in (row.last_error or "")

    early = send_due_on(outbox, "mail", mail, POLICY, clock=lambda: T0 + timedelta(seconds=30))
    assert early.sent == 0, "not before its backoff"
    send_due_on(outbox, "mail", mail, POLICY, clock=lambda: T0 + timedelta(seconds=61))
    assert _row(outbox, row_id).next_attempt_at == T0 + timedelta(seconds=61 + 300)
    third = send_due_on(outbox, "mail", mail, POLICY, clock=lambda: T0 + timedelta(seconds=400))
    assert third.delivered == 1
    for later in (T0 + timedelta(seconds=500), T0 + timedelta(seconds=5000)):
        send_due_on(outbox, "mail", mail, POLICY, clock=_at(later))

    assert len(smtp_receiver.messages) == 1
    row = _row(outbox, row_id)
    assert row.state == "delivered" and row.attempts == 3 and row.receipt is not None
    assert smtp_receiver.messages[0].message["Subject"] == "新工单 #0"


def test_a_worker_killed_after_claiming_leaves_the_message_to_the_next_one_sent_once(
    outbox: Engine, smtp_receiver: SmtpReceiver
) -> None:
    (row_id,) = _queue(outbox, "mail")
    mail = _mail(smtp_receiver)
    # A worker claims the message and dies before sending it.
    claimed = _claim(outbox, "mail", T0, 10, timedelta(seconds=POLICY.lease_seconds))
    assert [c.id for c in claimed] == [row_id]
    assert _row(outbox, row_id).state == "sending"

    during = send_due_on(outbox, "mail", mail, POLICY, clock=lambda: T0 + timedelta(seconds=60))
    assert during.sent == 0 and smtp_receiver.messages == [], "its lease still runs"
    after = send_due_on(outbox, "mail", mail, POLICY, clock=lambda: T0 + timedelta(seconds=121))
    assert after.reclaimed == 1 and after.delivered == 1
    send_due_on(outbox, "mail", mail, POLICY, clock=lambda: T0 + timedelta(seconds=600))
    assert len(smtp_receiver.messages) == 1
    assert _row(outbox, row_id).state == "delivered"


def test_a_refused_address_fails_at_once_and_retries_stop_at_the_limit(
    outbox: Engine, smtp_receiver: SmtpReceiver
) -> None:
    refused, busy = _queue(outbox, "mail", 2)
    mail = _mail(smtp_receiver)
    smtp_receiver.fail_next(1, "550 5.1.1 No such user", stage="RCPT")
    send_due_on(outbox, "mail", mail, POLICY, clock=lambda: T0)
    assert _row(outbox, refused).state == "failed"
    assert _row(outbox, refused).attempts == 1
    assert _row(outbox, busy).state == "delivered"

    (again,) = _queue(outbox, "mail", at=T0 + timedelta(hours=1))
    smtp_receiver.fail_next(10, "451 4.3.0 Try again later")
    moment = T0 + timedelta(hours=1)
    for _ in range(POLICY.max_attempts + 2):
        send_due_on(outbox, "mail", mail, POLICY, clock=_at(moment))
        moment += timedelta(hours=1)
    row = _row(outbox, again)
    assert row.state == "failed" and row.attempts == POLICY.max_attempts


def test_a_message_not_sent_before_it_expires_is_expired_not_sent(
    outbox: Engine, smtp_receiver: SmtpReceiver
) -> None:
    (row_id,) = _queue(outbox, "mail")
    with Session(outbox) as session, session.begin():
        row = session.get(Notification, row_id)
        assert row is not None
        row.expires_at = T0 + timedelta(minutes=5)
    report = send_due_on(
        outbox, "mail", _mail(smtp_receiver), POLICY, clock=lambda: T0 + timedelta(minutes=6)
    )
    assert report.expired == 1 and report.sent == 0 and smtp_receiver.messages == []
    assert _row(outbox, row_id).state == "expired"


def test_a_channel_timing_out_holds_up_no_other_channel(
    outbox: Engine, smtp_receiver: SmtpReceiver, http_receiver: HttpReceiver
) -> None:
    http_receiver.slow_seconds = 2.0
    slow = build_channel(
        "ops_group",
        WeComBotConfig(kind="wecom_bot", url=http_receiver.wecom_url, timeout_seconds=0.5),
    )
    _queue(outbox, "ops_group", 4)
    (mail_id,) = _queue(outbox, "mail")
    started = datetime.now(UTC)
    clock_start = time.monotonic()
    reports = send_due(outbox, {"ops_group": slow, "mail": _mail(smtp_receiver)}, POLICY)
    took = time.monotonic() - clock_start
    assert reports["ops_group"].retrying == 4 and reports["mail"].delivered == 1
    sent_at = _row(outbox, mail_id).sent_at
    assert sent_at is not None
    # Four timeouts of 0.5 s on one channel; the e-mail went out long before they ended.
    assert took >= 2.0
    assert (sent_at.replace(tzinfo=UTC) - started).total_seconds() < 1.5


def test_every_pending_message_is_claimed_once_however_the_batches_fall(
    outbox: Engine, smtp_receiver: SmtpReceiver
) -> None:
    ids = _queue(outbox, "mail", 25)
    report = send_due_on(outbox, "mail", _mail(smtp_receiver), POLICY, clock=lambda: T0, batch=7)
    assert report.delivered == 25 and len(smtp_receiver.messages) == 25
    with Session(outbox) as session:
        states = set(session.scalars(select(Notification.state).where(Notification.id.in_(ids))))
    assert states == {"delivered"}


def test_the_worker_command_sends_what_is_due_once(outbox: Engine) -> None:
    ids = _queue(outbox, "inapp", 3, at=datetime.now(UTC) - timedelta(minutes=1))
    url = outbox.url.render_as_string(hide_password=False)
    result = CliRunner().invoke(app, ["worker", "notify", "--once", "--database-url", url])
    assert result.exit_code == 0, result.output
    assert "inapp: 3 delivered" in result.output
    with Session(outbox) as session:
        states = set(session.scalars(select(Notification.state).where(Notification.id.in_(ids))))
    assert states == {"delivered"}
