"""The wire format of a reading, shared by the MQTT ingester and the HTTP endpoint.

Topic ``townops/{town}/devices/{device_id}/readings``; payload (UTF-8 JSON)::

    {"seq": 1042, "ts": "2026-11-22T08:00:00+08:00", "values": {"gas_lel": 3.5}}

``seq`` is a non-negative integer that increases per device; ``ts`` is ISO 8601 with an
offset (the device's clock); ``values`` maps quantity codes to finite numbers. Anything
else raises :class:`MalformedMessage` with a short machine-readable ``reason``; the
ingestion use case (:mod:`townops.sensing.ingest.service`) sets the message aside
(:mod:`townops.sensing.ingest.quarantine`) and goes on.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from townops.sensing.devices.facts import DEVICE_ID_PATTERN

TOPIC_ROOT = "townops"
MAX_PAYLOAD_BYTES = 65_536
MAX_VALUES = 64
_QUANTITY_PATTERN = re.compile(r"^[a-z][a-z0-9_]{0,39}$")


def readings_topic(town: str, device_id: str) -> str:
    return f"{TOPIC_ROOT}/{town}/devices/{device_id}/readings"


def readings_filter(town: str = "+") -> str:
    """The subscription filter for every device's readings of one town (or all)."""
    return f"{TOPIC_ROOT}/{town}/devices/+/readings"


def shared_filter(group: str, town: str = "+") -> str:
    """MQTT v5 shared subscription: the group's members split the stream between them."""
    return f"$share/{group}/{readings_filter(town)}"


class MalformedMessage(ValueError):
    def __init__(self, reason: str, detail: str, device_id: str | None = None) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = detail
        self.device_id = device_id


@dataclass(frozen=True, slots=True)
class IncomingReading:
    device_id: str
    seq: int
    ts: datetime
    values: dict[str, float]
    received_at: datetime


def device_of_topic(topic: str, *, town: str | None = None) -> str:
    parts = topic.split("/")
    if len(parts) != 5 or parts[0] != TOPIC_ROOT or parts[2] != "devices" or parts[4] != "readings":
        raise MalformedMessage("bad_topic", f"expected {readings_filter()}, got {topic[:200]!r}")
    if town is not None and parts[1] != town:
        raise MalformedMessage("wrong_town", f"topic is for town {parts[1]!r}, not {town!r}")
    if not DEVICE_ID_PATTERN.match(parts[3]):
        raise MalformedMessage("bad_topic", f"bad device id {parts[3][:80]!r}")
    return parts[3]


def parse_payload(payload: bytes, *, device_id: str, received_at: datetime) -> IncomingReading:
    if len(payload) > MAX_PAYLOAD_BYTES:
        raise MalformedMessage("too_large", f"{len(payload)} bytes", device_id)
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # RecursionError: JSON nested thousands deep, which json.loads gives up on.
        raise MalformedMessage(
            "not_json", str(exc)[:200] or type(exc).__name__, device_id
        ) from None
    return reading_from_body(body, device_id=device_id, received_at=received_at)


def parse_message(
    topic: str, payload: bytes, *, received_at: datetime, town: str | None = None
) -> IncomingReading:
    """Topic and payload of an MQTT message → a reading, or :class:`MalformedMessage`."""
    device_id = device_of_topic(topic, town=town)
    return parse_payload(payload, device_id=device_id, received_at=received_at)


def reading_from_body(body: Any, *, device_id: str, received_at: datetime) -> IncomingReading:
    if not isinstance(body, dict):
        raise MalformedMessage("bad_schema", "payload must be a JSON object", device_id)
    extra = set(body) - {"seq", "ts", "values"}
    if extra:
        raise MalformedMessage("bad_schema", f"unknown fields: {sorted(extra)}", device_id)
    return IncomingReading(
        device_id=device_id,
        seq=_seq(body.get("seq"), device_id),
        ts=_timestamp(body.get("ts"), device_id),
        values=_values(body.get("values"), device_id),
        received_at=received_at,
    )


def _seq(value: Any, device_id: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise MalformedMessage(
            "bad_schema", f"'seq' must be an integer >= 0, got {value!r}", device_id
        )
    return value


def _timestamp(value: Any, device_id: str) -> datetime:
    if not isinstance(value, str):
        raise MalformedMessage("bad_schema", "'ts' must be an ISO 8601 string", device_id)
    try:
        ts = datetime.fromisoformat(value)
    except ValueError:
        raise MalformedMessage(
            "bad_schema", f"'ts' is not ISO 8601: {value[:60]!r}", device_id
        ) from None
    if ts.tzinfo is None:
        raise MalformedMessage("bad_schema", "'ts' needs a UTC offset, e.g. +08:00", device_id)
    return ts


def _values(value: Any, device_id: str) -> dict[str, float]:
    if not isinstance(value, dict) or not value:
        raise MalformedMessage("bad_schema", "'values' must be a non-empty object", device_id)
    if len(value) > MAX_VALUES:
        raise MalformedMessage("bad_schema", f"more than {MAX_VALUES} values", device_id)
    values: dict[str, float] = {}
    for key, number in value.items():
        if not _QUANTITY_PATTERN.match(key):
            raise MalformedMessage("bad_schema", f"bad quantity code {key[:40]!r}", device_id)
        if (
            isinstance(number, bool)
            or not isinstance(number, int | float)
            or not math.isfinite(number)
        ):
            raise MalformedMessage("bad_schema", f"'{key}' must be a finite number", device_id)
        values[key] = float(number)
    return values
