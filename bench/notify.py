"""How fast one notification worker sends due messages.

    python bench/notify.py [--backend sqlite|postgres|both] [--messages 10000]

Queues ``--messages`` due deadline reminders in a fresh database (the Gaohang town), then
times one worker pass (``townops.notify.worker.send_due``: claim in batches, send, record
each outcome) on two channels: in-app (no network: the database's share) and e-mail to a
local SMTP server (aiosmtpd, a dev dependency; one SMTP session per message, as the
e-mail channel opens one). Prints messages per second; the issue's target is 10,000 due
reminders in under 60 s from one worker on SQLite.
"""

from __future__ import annotations

import argparse
import socket
import time
from datetime import UTC, datetime, timedelta

from _common import backend_urls, fresh_engine
from aiosmtpd.controller import Controller
from sqlalchemy import Engine, insert

from townops import domains
from townops.notify.channels.config import EmailConfig, InAppConfig
from townops.notify.channels.registry import build_channel
from townops.notify.config import RetryPolicy
from townops.notify.models import Notification
from townops.notify.worker import send_due

NOW = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


class _Sink:
    """An SMTP server that accepts everything and counts."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        self.count += 1
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _queue(engine: Engine, channel: str, count: int) -> None:
    rows: list[dict[str, object]] = [
        {
            "key": f"bench:{channel}:{n}",
            "rule": "deadline_reminder",
            "channel": channel,
            "address": "handler@gaohang.example" if channel == "mail" else "",
            "title": f"工单 #{n} 还剩 4小时 到期",
            "body": "房屋漏水（南新居委会）办理期限 2026-12-07 18:00，剩余 4小时。",
            "title_en": "",
            "body_en": "",
            "template_params": {},
            "state": "queued",
            "critical": False,
            "next_attempt_at": NOW - timedelta(minutes=1),
            "attempts": 0,
            "created_at": NOW,
        }
        for n in range(count)
    ]
    with engine.begin() as conn:
        for start in range(0, count, 2000):
            conn.execute(insert(Notification), rows[start : start + 2000])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=("sqlite", "postgres", "both"), default="both")
    parser.add_argument("--messages", type=int, default=10_000)
    args = parser.parse_args()
    domains.install()
    sink = _Sink()
    port = _free_port()
    smtp = Controller(sink, hostname="127.0.0.1", port=port, server_hostname="bench.test")
    smtp.start()
    try:
        for backend, url in backend_urls(args.backend, "townops-bench-notify-").items():
            engine = fresh_engine(url)
            channels = {
                "inapp": build_channel("inapp", InAppConfig(kind="inapp")),
                "mail": build_channel(
                    "mail",
                    EmailConfig(
                        kind="email", host="127.0.0.1", port=port, sender="noreply@gaohang.example"
                    ),
                ),
            }
            for name in ("inapp", "mail"):
                _queue(engine, name, args.messages)
                started = time.perf_counter()
                reports = send_due(engine, {name: channels[name]}, RetryPolicy(), clock=lambda: NOW)
                took = time.perf_counter() - started
                report = reports[name]
                print(
                    f"{backend:8} {name:6} {report.delivered:,} delivered of {args.messages:,} "
                    f"in {took:.1f} s: {report.delivered / took:,.0f} messages/s"
                )
            engine.dispose()
    finally:
        smtp.stop()
    print(f"SMTP server received {sink.count:,} messages")


if __name__ == "__main__":
    main()
