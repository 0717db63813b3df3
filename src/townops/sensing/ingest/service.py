"""Ingestion, the one use case both transports call: messages in, readings stored, the rest
set aside.

:func:`ingest` takes what a transport received — its source (``"mqtt"`` or ``"http"``),
each message's topic (MQTT) or device (HTTP), the raw payload and when it arrived — and
applies the whole admission policy. It returns an :class:`IngestOutcome` that the
transport only translates: the MQTT ingester acknowledges the messages once it returns,
the HTTP route answers with what was stored or with the refusal.

**MQTT: each message stands alone.** Its device comes from the topic. A message that cannot
be read (``bad_topic``, ``wrong_town``, ``not_json`` — deeply nested JSON too —,
``bad_schema``, ``too_large``) is set aside. The readings of all the messages go through
:func:`~townops.sensing.ingest.pipeline.process_readings` together; those it does not take
(``unknown_device``, ``inactive_device``, ``future_timestamp``) are set aside too, with
their raw message, and the others are stored.

**HTTP: a request (one device's body: a reading or a list of up to 1,000) is stored whole
or refused whole.** An unknown or inactive device refuses it first (the body set aside,
``unknown_device`` / ``inactive_device``); then a body that cannot be read (each bad item
set aside with its reason, by index); then readings the pipeline does not take (those set
aside, nothing else of the body kept).

**Transactions: this use case owns them** — it is given a session factory, never a
session of its caller's. MQTT: the readings, everything they caused (device states,
alarms, cases) and the set-aside messages are committed in ONE transaction. HTTP: an
accepted request is one transaction likewise; a refused one leaves nothing of its readings
(their transaction is rolled back) and its set-aside messages are committed in a
transaction of their own, so that the refusal does not undo them. An error propagates with
nothing committed: the MQTT ingester retries, halves the batch, and sets the one message
that cannot be stored aside as ``ingest_error`` (:func:`failed`).
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal, Protocol

from sqlalchemy.orm import Session

from townops.sensing.devices.facts import DEVICE_ID_PATTERN, device_infos
from townops.sensing.ingest.messages import (
    IncomingReading,
    MalformedMessage,
    parse_message,
    reading_from_body,
)
from townops.sensing.ingest.pipeline import (
    INACTIVE_DEVICE,
    UNKNOWN_DEVICE,
    BatchResult,
    process_readings,
    set_aside_detail,
)
from townops.sensing.ingest.quarantine import SetAside, quarantine
from townops.timeutil import utcnow

Source = Literal["mqtt", "http"]
#: Makes the sessions (and so the transactions) of the use case.
SessionFactory = Callable[[], Session]

#: Set-aside reason for a message that parsed but could not be stored (a bug, not the device).
INGEST_ERROR = "ingest_error"
#: Why a request is refused when its body cannot be used (besides the device's reasons).
UNUSABLE_BODY = "unusable_body"

MAX_HTTP_BODY_BYTES = 1_048_576
MAX_HTTP_READINGS = 1_000


class ProcessReadings(Protocol):
    """:func:`townops.sensing.ingest.pipeline.process_readings`, or a stand-in in tests."""

    def __call__(
        self, session: Session, readings: Sequence[IncomingReading], *, now: datetime | None = ...
    ) -> BatchResult: ...


@dataclass(frozen=True, slots=True)
class Message:
    """One message as its transport received it."""

    #: MQTT: the topic (bytes when it is not UTF-8); HTTP: the request's path.
    topic: str | bytes
    payload: bytes
    received_at: datetime
    #: HTTP: the device of the path (MQTT: read from the topic).
    device_id: str | None = None
    #: Set by :func:`failed`: storing it failed so; it is set aside as ``ingest_error``.
    error: str | None = None


@dataclass(frozen=True, slots=True)
class Problem:
    """Why a request was refused: the item of the body (0: the whole body), reason, detail."""

    index: int
    reason: str
    detail: str


@dataclass
class IngestOutcome:
    """What became of the messages."""

    #: What the pipeline stored and raised; None when no reading reached it.
    result: BatchResult | None = None
    #: The messages set aside, by reason.
    set_aside: Counter[str] = field(default_factory=Counter)
    #: HTTP: why the request was refused as a whole (None: it was stored) —
    #: ``unknown_device``, ``inactive_device`` or :data:`UNUSABLE_BODY` — and the problems.
    refused: str | None = None
    problems: list[Problem] = field(default_factory=list)


def ingest(
    sessions: SessionFactory,
    source: Source,
    messages: Sequence[Message],
    *,
    town: str | None = None,
    now: datetime | None = None,
    process: ProcessReadings = process_readings,
) -> IngestOutcome:
    """Admit, store and set aside the messages of one transport (see the module docstring).

    ``sessions`` makes the transactions, which this use case owns and commits; it never
    touches a caller's. ``source`` ``"http"`` takes exactly one message, the request, with
    its ``device_id``. ``town``: the town code MQTT topics must name (None: any). ``now``:
    when the pipeline acts (default: the clock). ``process``: the pipeline.
    """
    now = now or utcnow()
    if source == "mqtt":
        return _ingest_messages(sessions, messages, town=town, now=now, process=process)
    if len(messages) != 1 or messages[0].device_id is None:
        raise ValueError("HTTP ingestion takes one request, with its device")
    return _ingest_request(sessions, messages[0], now=now, process=process)


def failed(message: Message, error: BaseException, *, town: str | None = None) -> Message | None:
    """``message``, marked to be set aside as ``ingest_error`` because storing its reading
    failed with ``error``; None when it holds no reading (it does not parse, or is marked
    already): then only its set-aside row failed, and nothing more can be done."""
    if message.error is not None:
        return None
    read = _read(message, town)
    if isinstance(read, SetAside):
        return None
    detail = f"{type(error).__name__}: {error}".replace("\x00", "")
    return replace(message, device_id=read.device_id, error=detail)


# --- MQTT: each message stands alone -----------------------------------------------------------


def _ingest_messages(
    sessions: SessionFactory,
    messages: Sequence[Message],
    *,
    town: str | None,
    now: datetime,
    process: ProcessReadings,
) -> IngestOutcome:
    readings: list[IncomingReading] = []
    sources: list[Message] = []
    aside: list[SetAside] = []
    for message in messages:
        read = _read(message, town)
        if isinstance(read, SetAside):
            aside.append(read)
        else:
            readings.append(read)
            sources.append(message)
    with sessions() as session:
        result = process(session, readings, now=now) if readings else None
        for index, reason in result.unknown if result is not None else ():
            reading, message = readings[index], sources[index]
            detail = set_aside_detail(reason, reading)
            aside.append(_set_aside(message, reason, detail, reading.device_id))
        quarantine(session, aside)
        session.commit()
    return IngestOutcome(result=result, set_aside=Counter(m.reason for m in aside))


def _read(message: Message, town: str | None) -> IncomingReading | SetAside:
    """An MQTT message's reading, or the message set aside with why."""
    if message.error is not None:
        return _set_aside(message, INGEST_ERROR, message.error, message.device_id)
    try:
        if not isinstance(message.topic, str):
            raise MalformedMessage("bad_topic", "topic is not UTF-8")
        return parse_message(
            message.topic, message.payload, received_at=message.received_at, town=town
        )
    except MalformedMessage as exc:
        return _set_aside(message, exc.reason, exc.detail, exc.device_id)
    except Exception as exc:  # e.g. RecursionError on deeply nested JSON: never crash
        reason = "not_json" if isinstance(exc, RecursionError) else INGEST_ERROR
        return _set_aside(message, reason, f"{type(exc).__name__}: {exc}"[:500], None)


def _set_aside(message: Message, reason: str, detail: str, device_id: str | None) -> SetAside:
    return SetAside(
        "mqtt",
        _topic_text(message.topic),
        message.payload,
        reason,
        detail,
        device_id,
        message.received_at,
    )


def _topic_text(topic: str | bytes) -> str:
    if isinstance(topic, bytes):
        return topic.decode("utf-8", errors="replace").replace("\x00", "")
    return topic


# --- HTTP: a request is stored whole or refused whole ------------------------------------------


@dataclass
class _Refusal:
    reason: str
    problems: list[Problem]
    items: list[bytes]  # the raw item of each problem, kept with it


def _ingest_request(
    sessions: SessionFactory, request: Message, *, now: datetime, process: ProcessReadings
) -> IngestOutcome:
    device_id = request.device_id
    assert device_id is not None
    with sessions() as session:
        stored = _store_request(session, request, device_id, now=now, process=process)
        if isinstance(stored, BatchResult):
            session.commit()
            return IngestOutcome(result=stored)
    # Refused: the transaction above ended without a commit; the set-aside messages are kept
    # in one of their own.
    path, received_at = _topic_text(request.topic), request.received_at
    aside = [
        SetAside("http", path, item, p.reason, p.detail, device_id, received_at)
        for p, item in zip(stored.problems, stored.items, strict=True)
    ]
    with sessions() as session:
        quarantine(session, aside)
        session.commit()
    return IngestOutcome(
        set_aside=Counter(m.reason for m in aside),
        refused=stored.reason,
        problems=stored.problems,
    )


def _store_request(
    session: Session,
    request: Message,
    device_id: str,
    *,
    now: datetime,
    process: ProcessReadings,
) -> BatchResult | _Refusal:
    """The request's readings through the pipeline (not committed), or why it is refused."""
    refusal = _refuse_device(session, device_id, request.payload)
    if refusal is not None:
        return refusal
    readings, refusal = _read_body(device_id, request.payload, request.received_at)
    if refusal is not None:
        return refusal
    result = process(session, readings, now=now)
    return _refuse_readings(readings, result) if result.unknown else result


def _refuse_device(session: Session, device_id: str, payload: bytes) -> _Refusal | None:
    """An unknown or inactive device: the request is refused, its body set aside whole."""
    plausible = DEVICE_ID_PATTERN.match(device_id) is not None
    device = device_infos(session, [device_id]).get(device_id) if plausible else None
    if device is not None and device.active:
        return None
    reason = UNKNOWN_DEVICE if device is None else INACTIVE_DEVICE
    return _Refusal(reason, [Problem(index=0, reason=reason, detail=device_id[:64])], [payload])


def _read_body(
    device_id: str, payload: bytes, received_at: datetime
) -> tuple[list[IncomingReading], _Refusal | None]:
    """All readings of the body, or the refusal with each problem and its raw item."""
    if len(payload) > MAX_HTTP_BODY_BYTES:
        detail = f"{len(payload)} bytes, at most {MAX_HTTP_BODY_BYTES}"
        return [], _unusable([Problem(index=0, reason="too_large", detail=detail)], [payload])
    try:
        body = json.loads(payload)
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        # RecursionError: JSON nested thousands deep, which json.loads gives up on.
        problem = Problem(index=0, reason="not_json", detail=str(exc)[:200] or "nested too deep")
        return [], _unusable([problem], [payload])
    items = body if isinstance(body, list) else [body]
    if not items or len(items) > MAX_HTTP_READINGS:
        detail = f"send 1 to {MAX_HTTP_READINGS} readings, got {len(items)}"
        return [], _unusable([Problem(index=0, reason="bad_schema", detail=detail)], [payload])
    readings: list[IncomingReading] = []
    problems: list[Problem] = []
    raw: list[bytes] = []
    for index, item in enumerate(items):
        try:
            readings.append(reading_from_body(item, device_id=device_id, received_at=received_at))
        except MalformedMessage as exc:
            problems.append(Problem(index=index, reason=exc.reason, detail=exc.detail))
            raw.append(json.dumps(item, ensure_ascii=False).encode())
    return readings, _unusable(problems, raw) if problems else None


def _refuse_readings(readings: list[IncomingReading], result: BatchResult) -> _Refusal:
    """Readings the pipeline would not take (dated too far ahead of the server clock, or the
    device changed meanwhile): nothing of the body is kept but those, set aside."""
    problems = [
        Problem(index=index, reason=reason, detail=set_aside_detail(reason, readings[index]))
        for index, reason in result.unknown
    ]
    return _unusable(problems, [_raw(readings[p.index]) for p in problems])


def _unusable(problems: list[Problem], items: list[bytes]) -> _Refusal:
    return _Refusal(UNUSABLE_BODY, problems, items)


def _raw(reading: IncomingReading) -> bytes:
    """A reading as its device sent it (for the set-aside row)."""
    body = {"seq": reading.seq, "ts": reading.ts.isoformat(), "values": reading.values}
    return json.dumps(body, ensure_ascii=False).encode()
