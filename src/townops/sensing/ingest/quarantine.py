"""Set aside (隔离): messages that cannot be stored, kept in ``quarantined_messages``.

A message is set aside with a short reason (``bad_topic``, ``not_json``, ``bad_schema``,
``unknown_device``, ``future_timestamp``, ``ingest_error``, …), a detail, its topic (or the
HTTP path) and its raw payload, so that it can be inspected and replayed. What is set aside
and why is decided by the ingestion use case (:mod:`townops.sensing.ingest.service`); this
module only writes the rows, in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import insert
from sqlalchemy.orm import Session

from townops.sensing.ingest.messages import MAX_PAYLOAD_BYTES
from townops.sensing.models import QuarantinedMessage


@dataclass(frozen=True, slots=True)
class SetAside:
    """A message to keep in ``quarantined_messages``."""

    transport: str
    topic: str
    payload: bytes
    reason: str
    detail: str
    device_id: str | None
    received_at: datetime


def quarantine(session: Session, messages: Iterable[SetAside]) -> int:
    """Keep unusable messages for inspection (one INSERT for the lot); returns how many."""
    rows = [
        {
            "received_at": m.received_at,
            "transport": m.transport,
            "topic": m.topic[:300],
            "device_id": m.device_id,
            "reason": m.reason,
            "detail": m.detail[:2000],
            "payload": m.payload[:MAX_PAYLOAD_BYTES],
        }
        for m in messages
    ]
    if rows:
        session.execute(insert(QuarantinedMessage), rows)
    return len(rows)
