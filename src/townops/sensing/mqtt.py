"""The MQTT ingester: readings in over MQTT v5, stored once, acknowledged after commit.

* Each ingester process has a fixed client id (``townops-ingest-{town}-{n}``), a persistent
  session (clean start off, a 7-day session expiry) and a QoS 1 membership of the shared
  subscription ``$share/townops/townops/{town}/devices/+/readings``: the broker splits the
  stream between the processes and queues each one's share while it is down.
* A message is parsed and added to the open batch; nothing is acknowledged yet (gmqtt runs
  with ``optimistic_acknowledgement=False``, and QoS 1 messages skip its task-per-message
  path: see :meth:`Ingester._take_over_qos1`).
* A batch is sealed at ``batch_size`` messages or ``batch_ms`` after its first one, and
  stored in ONE transaction in a worker thread while the event loop goes on receiving:
  :func:`townops.sensing.pipeline.process_readings` (readings, device state, rules, alarms,
  cases) and the set-aside messages, COMMIT, and only then the batch's PUBACKs, in one
  write.
* Nothing is acknowledged that is not committed. A database that is down is retried with
  backoff for as long as it takes; a batch that fails for any other reason is halved until
  the one message that cannot be stored is found and set aside (``ingest_error``) with its
  raw payload. A process that dies leaves its messages unacknowledged, and the broker
  delivers them again when the session reconnects; ``(device_id, seq)`` makes that safe.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import multiprocessing
import os
import random
import signal
import threading
import time
from collections import Counter, deque
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import datetime
from types import FrameType
from typing import Any, Protocol
from urllib.parse import unquote, urlsplit

import gmqtt  # type: ignore[import-untyped]
from sqlalchemy import Engine
from sqlalchemy import exc as sa_exc
from sqlalchemy.orm import Session, sessionmaker

from townops.db import make_engine, make_session_factory
from townops.sensing.messages import (
    IncomingReading,
    MalformedMessage,
    SetAside,
    parse_message,
    quarantine,
    shared_filter,
)
from townops.sensing.pipeline import (
    BatchResult,
    process_readings,
    set_aside_detail,
    tune_gc_for_ingestion,
)
from townops.sensing.sweep import SweepReport, sweep_offline
from townops.timeutil import utcnow
from townops.towns.profile import get_profile

logger = logging.getLogger("townops.ingest")

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"
SHARE_GROUP = "townops"
SESSION_EXPIRY_SECONDS = 7 * 24 * 3600
#: Set-aside reason for a message that parsed but could not be stored (a bug, not the device).
INGEST_ERROR = "ingest_error"
#: Readings set aside as INGEST_ERROR in a row before the fault is taken for systematic.
FAILING_READINGS_LIMIT = 5


# --- the broker ----------------------------------------------------------------------------


@dataclass(frozen=True)
class BrokerAddress:
    """``mqtt://[user[:password]@]host[:port]`` (``mqtts://`` for TLS, port 8883)."""

    host: str
    port: int
    tls: bool = False
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> BrokerAddress:
        parts = urlsplit(url if "://" in url else f"mqtt://{url}")
        if parts.scheme not in ("mqtt", "mqtts", "tcp", "ssl"):
            raise ValueError(f"broker URL must be mqtt:// or mqtts://, got {url!r}")
        tls = parts.scheme in ("mqtts", "ssl")
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def backoff_seconds(attempt: int, *, first: float = 0.5, cap: float = 30.0) -> float:
    """Exponential backoff with jitter, so many clients do not retry in step."""
    return min(cap, first * (1 << min(attempt, 16))) * random.uniform(0.8, 1.2)


class BackoffClient(gmqtt.Client):  # type: ignore[misc]
    """gmqtt's client, reconnecting with exponential backoff instead of a fixed delay.

    gmqtt reconnects by itself after a lost connection; it gives up for good on an error
    other than ``OSError`` (e.g. a time-out), so those are retried here as well.
    """

    async def reconnect(self, delay: bool = False) -> None:
        # The first attempt comes quickly: after a broker restart, readings published before
        # the ingesters have subscribed again find no subscriber.
        failures = self._connection_state.failed_connections
        self.reconnect_delay = backoff_seconds(failures, first=0.1)
        try:
            await super().reconnect(delay=delay)
        except Exception as exc:
            logger.warning("reconnecting to the broker failed (%s); retrying", exc)
            self._connection_state.failed_connections += 1
            self._exit_reconnecting_state()
            self._retry = asyncio.ensure_future(self.reconnect(delay=True))


async def connect_client(client: Any, broker: BrokerAddress, *, keepalive: int = 60) -> None:
    if broker.username:
        client.set_auth_credentials(broker.username, broker.password)
    await client.connect(broker.host, broker.port, ssl=broker.tls, keepalive=keepalive)


# --- options and counters ------------------------------------------------------------------


@dataclass(frozen=True)
class IngestOptions:
    database_url: str
    broker: str = DEFAULT_BROKER
    #: The town code in the topics; default: the town loaded in the database.
    town: str | None = None
    group: str = SHARE_GROUP
    #: Client ids are ``{prefix}-{n}``; default prefix ``townops-ingest-{town}``.
    client_id_prefix: str | None = None
    batch_size: int = 2000
    batch_ms: float = 50.0
    session_expiry_seconds: int = SESSION_EXPIRY_SECONDS
    #: Heartbeat-lost sweep (worker 1 only); 0 = never.
    sweep_seconds: float = 60.0
    #: Counters to the log; 0 = only at exit.
    stats_seconds: float = 30.0
    keepalive: int = 60
    log_level: str = "INFO"
    #: Counters as JSON, rewritten at every stats interval and at exit; ``{n}`` = the worker.
    stats_file: str | None = None

    def client_id(self, town: str, index: int) -> str:
        return f"{self.client_id_prefix or f'townops-ingest-{town}'}-{index}"

    @property
    def receive_maximum(self) -> int:
        """How many unacknowledged messages the broker may send us: two batches' worth,
        so the next batch fills while the previous one commits."""
        return max(20, min(65535, 2 * self.batch_size))


@dataclass
class IngestStats:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    late: int = 0
    set_aside: Counter[str] = field(default_factory=Counter)
    alarms_raised: int = 0
    alarms_cleared: int = 0
    cases_opened: int = 0
    batches: int = 0
    acknowledged: int = 0
    commit_seconds: float = 0.0
    slowest_commit: float = 0.0
    commit_failures: int = 0
    connects: int = 0
    sweeps: int = 0

    def line(self) -> str:
        aside = ", ".join(f"{k} {v}" for k, v in sorted(self.set_aside.items())) or "0"
        mean_ms = 1000 * self.commit_seconds / self.batches if self.batches else 0.0
        return (
            f"received {self.received:,} · stored {self.stored:,} · duplicates "
            f"{self.duplicates:,} · late {self.late:,} · set aside {aside} · acknowledged "
            f"{self.acknowledged:,} · alarms +{self.alarms_raised}/-{self.alarms_cleared} · "
            f"cases {self.cases_opened} · batches {self.batches:,} (commit mean {mean_ms:.1f} "
            f"ms, max {1000 * self.slowest_commit:.0f} ms, failed {self.commit_failures})"
        )

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["set_aside"] = dict(self.set_aside)
        return data


# --- the pipeline ----------------------------------------------------------------------------


class ProcessReadings(Protocol):
    """:func:`townops.sensing.pipeline.process_readings`, or a stand-in in tests."""

    def __call__(
        self, session: Session, readings: Sequence[IncomingReading], *, now: datetime | None = ...
    ) -> BatchResult: ...


# --- batches --------------------------------------------------------------------------------


class _Batch:
    """Messages that are committed together and acknowledged together."""

    __slots__ = ("connection", "done", "mids", "readings", "set_aside", "sources", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, connection: Any = None) -> None:
        self.readings: list[IncomingReading] = []
        self.sources: list[tuple[str, bytes]] = []  # topic and payload of readings[i]
        self.set_aside: list[SetAside] = []
        # QoS 1 packet ids to acknowledge after commit, and the connection they came on.
        self.mids: list[int] = []
        self.connection = connection
        # Other messages (QoS 2, or a gmqtt without the fast path) wait on this.
        self.done: asyncio.Future[None] = loop.create_future()
        self.timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self.readings) + len(self.set_aside)


@dataclass
class _Work:
    """What one transaction stores; can be halved to find a message that cannot be stored."""

    readings: list[IncomingReading]
    sources: list[tuple[str, bytes]]
    set_aside: list[SetAside]

    @classmethod
    def of(cls, batches: Sequence[_Batch]) -> _Work:
        work = cls([], [], [])
        for b in batches:
            work.readings += b.readings
            work.sources += b.sources
            work.set_aside += b.set_aside
        return work

    def __len__(self) -> int:
        return len(self.readings) + len(self.set_aside)

    def halves(self) -> tuple[_Work, _Work]:
        if len(self.readings) > 1:
            mid = len(self.readings) // 2
            return (
                _Work(self.readings[:mid], self.sources[:mid], self.set_aside),
                _Work(self.readings[mid:], self.sources[mid:], []),
            )
        if self.readings:
            return _Work(self.readings, self.sources, []), _Work([], [], self.set_aside)
        mid = len(self.set_aside) // 2
        return _Work([], [], self.set_aside[:mid]), _Work([], [], self.set_aside[mid:])

    def as_ingest_error(self, error: BaseException) -> _Work:
        """The one reading that cannot be stored, set aside with its raw message instead."""
        (reading,), ((topic, payload),) = self.readings, self.sources
        detail = f"{type(error).__name__}: {error}".replace("\x00", "")
        aside = SetAside(
            "mqtt", topic, payload, INGEST_ERROR, detail, reading.device_id, reading.received_at
        )
        return _Work([], [], [aside])


@dataclass(frozen=True)
class _Stored:
    result: BatchResult | None
    set_aside: Counter[str]
    seconds: float


def _is_transient(error: BaseException) -> bool:
    """A database that is down, locked or restarting: the same batch will go in later."""
    if isinstance(error, sa_exc.OperationalError | sa_exc.InterfaceError | sa_exc.TimeoutError):
        return True
    return isinstance(error, sa_exc.DBAPIError) and error.connection_invalidated


# --- the ingester ---------------------------------------------------------------------------


class Ingester:
    """One MQTT client feeding one database; :meth:`run` until ``stop`` is set."""

    def __init__(
        self,
        options: IngestOptions,
        *,
        index: int = 1,
        engine: Engine | None = None,
        process: ProcessReadings | None = None,
        retire: bool = False,
    ) -> None:
        self.options = options
        self._retiring = retire
        self.index = index
        self.stats = IngestStats()
        self.broker = BrokerAddress.parse(options.broker)
        #: Set once the broker has confirmed our subscription (retiring: our leaving it).
        self.ready = asyncio.Event()
        self._engine = engine
        self._process: ProcessReadings = process or process_readings
        self._town = options.town
        self._open: _Batch | None = None
        self._sealed: deque[_Batch] = deque()
        self._wake = asyncio.Event()
        self._flushing = False
        self._waiting = 0  # on_message handlers waiting for their batch's commit
        self._unacked = 0  # messages received and not yet committed
        self._failing_readings = 0  # readings set aside as INGEST_ERROR in a row
        self._max_unacked = 4 * options.batch_size
        self._paused: Any = None  # the transport we stopped reading from
        self._client: Any = None
        self._stopping = False
        self._stop = asyncio.Event()
        self._subscription: Any = None
        self._executor = ThreadPoolExecutor(1, thread_name_prefix=f"townops-ingest-{index}")

    @property
    def client_id(self) -> str:
        return self.options.client_id(self._town or "unknown", self.index)

    async def run(self, stop: asyncio.Event) -> IngestStats:
        self._stop = stop
        self._loop = asyncio.get_running_loop()
        engine = self._engine or make_engine(self.options.database_url)
        self._sessions: sessionmaker[Session] = make_session_factory(engine)
        tasks: list[asyncio.Task[None]] = []
        try:
            if self._town is None:
                self._town = await self._loop.run_in_executor(self._executor, self._town_code)
            client = self._client = self._new_client()
            if not await self._connect(client):
                return self.stats
            tasks = [
                asyncio.create_task(self._flush_loop()),
                asyncio.create_task(self._stats_loop()),
                asyncio.create_task(self._sweep_loop()),
            ]
            if self._retiring:
                await self._until_idle()
            else:
                await stop.wait()
            await self._drain_and_disconnect(client, forget_session=self._retiring)
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self._executor.shutdown(wait=True)
            if self._engine is None:
                engine.dispose()
            self._write_stats()
            logger.info("ingest[%s] stopped: %s", self.index, self.stats.line())
        return self.stats

    # --- connection ---

    def _town_code(self) -> str:
        with self._sessions() as session:
            return get_profile(session).code

    def _new_client(self) -> Any:
        client = BackoffClient(
            self.client_id,
            clean_session=False,
            optimistic_acknowledgement=False,
            session_expiry_interval=self.options.session_expiry_seconds,
            receive_maximum=self.options.receive_maximum,
        )
        client.on_message = self._on_message
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_subscribe = self._on_subscribe
        client.on_unsubscribe = self._on_unsubscribe
        self._take_over_qos1(client)
        self._subscription = gmqtt.Subscription(
            shared_filter(self.options.group, self._town or "+"), qos=1
        )
        return client

    async def _connect(self, client: Any) -> bool:
        """Connect, retrying with backoff until the broker answers or we are told to stop."""
        attempt = 0
        while not self._stop.is_set():
            try:
                await connect_client(client, self.broker, keepalive=self.options.keepalive)
                return True
            except Exception as exc:
                if getattr(client._package_handler, "_permanent_failure", False):
                    logger.error("ingest[%s]: the broker refuses us: %s", self.index, exc)
                    raise
                delay = backoff_seconds(attempt)
                logger.warning(
                    "ingest[%s]: broker %s not reachable (%s); retrying in %.1f s",
                    self.index,
                    self.broker,
                    exc,
                    delay,
                )
                attempt += 1
                await self._sleep(delay)
        return False

    def _on_connect(self, client: Any, session_present: int, _rc: int, _props: Any) -> None:
        self.stats.connects += 1
        self._paused = None  # a new connection reads
        if self._retiring:
            # Leave the group first, so that no new share comes to this session.
            client.unsubscribe(self._subscription.topic)
            return
        # Subscribe on every connect, even to a resumed session: Mosquitto (2.0.11 at least)
        # restores a session's queued messages after a restart but not its shared
        # subscriptions. Subscribing again to the same filter replaces it, never doubles it.
        if self._subscription in client.subscriptions:
            client.resubscribe(self._subscription)
        else:
            client.subscribe(self._subscription)
        logger.info(
            "ingest[%s]: connected to %s as %s (%s), %s",
            self.index,
            self.broker,
            self.client_id,
            "session resumed" if session_present else "new session",
            self._subscription.topic,
        )

    def _on_subscribe(self, _client: Any, _mid: int, granted: Sequence[int], _props: Any) -> None:
        if all(code < 0x80 for code in granted):
            self.ready.set()
            self._write_stats()  # also tells a supervisor that this worker is subscribed
        else:
            logger.error("ingest[%s]: the broker refused the subscription: %s", self.index, granted)

    def _on_unsubscribe(self, _client: Any, _mid: int, _codes: Any) -> None:
        self.ready.set()

    def _on_disconnect(self, _client: Any, _packet: Any, _exc: Any = None) -> None:
        if not self._stopping:
            logger.warning("ingest[%s]: lost the broker; reconnecting", self.index)

    # --- receiving ---

    def _take_over_qos1(self, client: Any) -> None:
        """Receive QoS 1 messages without a task each, and acknowledge a whole batch at once.

        gmqtt (optimistic_acknowledgement=False) runs ``on_message`` as one task per message
        and sends its PUBACK when the task ends: correct, but the task, its future and its
        callback cost as much CPU as parsing and storing the reading. Here a QoS 1 message
        only joins the open batch with its packet id; after the commit, the batch's PUBACKs
        go out in one write. Without these gmqtt internals the ``on_message`` path is used.
        """
        handler = client._package_handler
        if not hasattr(handler, "_handle_qos_1_publish_packet") or not hasattr(
            handler, "current_connection"
        ):
            logger.warning("ingest[%s]: gmqtt internals changed; one task per message", self.index)
            return

        def on_qos1(mid: int, payload: bytes, topic: str | bytes, _props: Any) -> None:
            self._add(topic, payload, handler.current_connection).mids.append(mid)

        handler._handle_qos_1_publish_packet = on_qos1

    def _acknowledge(self, batches: Sequence[_Batch]) -> None:
        """The PUBACKs of committed QoS 1 messages, in one write.

        Only on the connection they came on: after a reconnect the broker delivers them
        again, and an acknowledgement sent on the new connection could match a packet id
        the broker has given to another message meanwhile.
        """
        connection = getattr(self._client, "_connection", None)
        if connection is None or connection.is_closing():
            return
        acks = bytearray()
        for batch in batches:
            if batch.connection is connection:
                for mid in batch.mids:
                    acks += b"\x40\x02" + mid.to_bytes(2, "big")  # PUBACK, reason 0 omitted
        if acks:
            connection.send_package(bytes(acks))

    async def _on_message(
        self, _client: Any, topic: str | bytes, payload: bytes, _qos: int, _props: Any
    ) -> int:
        """Returns when the message is committed; gmqtt then sends its PUBACK (reason 0)."""
        batch = self._add(topic, payload, None)
        self._waiting += 1
        try:
            await batch.done
        finally:
            self._waiting -= 1
        return 0

    def _add(self, topic: str | bytes, payload: bytes, connection: Any) -> _Batch:
        self.stats.received += 1
        self._unacked += 1
        if self._unacked >= self._max_unacked and self._paused is None:
            self._pause_reading()
        batch = self._open
        if batch is not None and connection is not None and batch.connection is not connection:
            if batch.connection is None:
                batch.connection = connection
            else:
                self._seal(batch)  # a new connection: its acknowledgements go apart
                batch = None
        if batch is None:
            batch = self._open = _Batch(self._loop, connection)
            batch.timer = self._loop.call_later(self.options.batch_ms / 1000, self._seal, batch)
        received_at = utcnow()
        try:
            if not isinstance(topic, str):
                raise MalformedMessage("bad_topic", "topic is not UTF-8")
            reading = parse_message(topic, payload, received_at=received_at, town=self._town)
        except MalformedMessage as exc:
            batch.set_aside.append(
                SetAside(
                    "mqtt",
                    _topic_text(topic),
                    payload,
                    exc.reason,
                    exc.detail,
                    exc.device_id,
                    received_at,
                )
            )
        except Exception as exc:  # e.g. RecursionError on deeply nested JSON: never crash
            batch.set_aside.append(
                SetAside(
                    "mqtt",
                    _topic_text(topic),
                    payload,
                    "not_json" if isinstance(exc, RecursionError) else INGEST_ERROR,
                    f"{type(exc).__name__}: {exc}"[:500],
                    None,
                    received_at,
                )
            )
        else:
            batch.readings.append(reading)
            batch.sources.append((topic, payload))
        if len(batch) >= self.options.batch_size:
            self._seal(batch)
        return batch

    def _pause_reading(self) -> None:
        """Let TCP hold the broker back: Mosquitto (2.0.11) sends far more than our Receive
        Maximum once acknowledgements flow, and what we hold unacknowledged is memory."""
        transport = getattr(getattr(self._client, "_connection", None), "_transport", None)
        if transport is not None and not transport.is_closing():
            transport.pause_reading()
            self._paused = transport

    def _seal(self, batch: _Batch) -> None:
        if batch is not self._open:
            return
        if batch.timer is not None:
            batch.timer.cancel()
        self._open = None
        self._sealed.append(batch)
        self._wake.set()

    # --- storing ---

    async def _flush_loop(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._sealed:
                self._flushing = True
                try:
                    await self._commit(self._next_batches())
                finally:
                    self._flushing = False

    def _next_batches(self) -> list[_Batch]:
        """Batches that waited while the last commit ran, up to ``batch_size`` messages:
        one transaction for them, but never an ever larger one."""
        batches = [self._sealed.popleft()]
        size = len(batches[0])
        while self._sealed and size + len(self._sealed[0]) <= self.options.batch_size:
            size += len(self._sealed[0])
            batches.append(self._sealed.popleft())
        return batches

    async def _commit(self, batches: list[_Batch]) -> None:
        work = _Work.of(batches)
        if not await self._store_with_retry(work):
            return  # stopping with the database away: unacknowledged, delivered again later
        self._acknowledge(batches)
        for batch in batches:
            if not batch.done.done():
                batch.done.set_result(None)
        self.stats.acknowledged += len(work)
        self._unacked -= len(work)
        if (
            self._paused is not None
            and self._unacked <= self.options.batch_size
            and not self._stopping
        ):
            with contextlib.suppress(Exception):
                self._paused.resume_reading()
            self._paused = None

    async def _store_with_retry(self, work: _Work) -> bool:
        """Store ``work``; False only when stopping with the database away (unacknowledged).

        * The database away, locked or restarting: retried with backoff for as long as it
          takes, the messages unacknowledged meanwhile.
        * Any other error: retried once (a race between two workers does not repeat), then
          the work is halved until the one reading that fails is found and set aside.
        * Readings failing one after another are not at fault (e.g. the schema is behind
          the code): after a few, the work is held and retried like a database away.
        """
        attempt = 0
        while True:
            try:
                stored = await self._loop.run_in_executor(self._executor, self._store, work)
            except Exception as exc:
                self.stats.commit_failures += 1
                if _is_transient(exc) or self._failing_readings >= FAILING_READINGS_LIMIT:
                    if not await self._hold(work, exc, attempt):
                        return False
                    attempt += 1
                    continue
                if attempt == 0:
                    attempt += 1
                    continue
                if len(work) > 1:
                    first, second = work.halves()
                    return await self._store_with_retry(first) and await self._store_with_retry(
                        second
                    )
                if work.readings:
                    self._failing_readings += 1
                    logger.exception(
                        "ingest[%s]: a reading cannot be stored; set aside as %s",
                        self.index,
                        INGEST_ERROR,
                    )
                    work, attempt = work.as_ingest_error(exc), 0
                    continue
                logger.exception(
                    "ingest[%s]: cannot even set this message aside; acknowledged, logged here: %r",
                    self.index,
                    work.set_aside[0],
                )
                return True
            if work.readings:
                self._failing_readings = 0
            self._count(stored)
            return True

    async def _hold(self, work: _Work, error: BaseException, attempt: int) -> bool:
        """Wait before trying ``work`` again; False when stopping (left unacknowledged)."""
        if self._stopping:
            logger.warning(
                "ingest[%s]: cannot store at shutdown (%s); %d message(s) left "
                "unacknowledged for the broker to deliver again",
                self.index,
                _short(error),
                len(work),
            )
            return False
        delay = backoff_seconds(attempt)
        logger.warning(
            "ingest[%s]: cannot store (%s); %d message(s) held unacknowledged, retrying in %.1f s",
            self.index,
            _short(error),
            len(work),
            delay,
        )
        await self._sleep(delay)
        return True

    def _store(self, work: _Work) -> _Stored:
        """One transaction (in the worker thread): readings, rules, alarms, set-aside rows."""
        started = time.perf_counter()
        now = utcnow()
        with self._sessions() as session:
            result = self._process(session, work.readings, now=now) if work.readings else None
            aside = list(work.set_aside)
            for index, reason in result.unknown if result is not None else ():
                reading = work.readings[index]
                topic, payload = work.sources[index]
                aside.append(
                    SetAside(
                        "mqtt",
                        topic,
                        payload,
                        reason,
                        set_aside_detail(reason, reading),
                        reading.device_id,
                        reading.received_at,
                    )
                )
            quarantine(session, aside)
            session.commit()
        return _Stored(result, Counter(m.reason for m in aside), time.perf_counter() - started)

    def _count(self, stored: _Stored) -> None:
        s = self.stats
        s.batches += 1
        s.commit_seconds += stored.seconds
        s.slowest_commit = max(s.slowest_commit, stored.seconds)
        s.set_aside.update(stored.set_aside)
        if stored.result is not None:
            r = stored.result
            s.stored += r.stored
            s.duplicates += r.duplicates
            s.late += r.late
            s.alarms_raised += len(r.alarms_raised)
            s.alarms_cleared += len(r.alarms_cleared)
            s.cases_opened += len(r.cases_opened)

    # --- housekeeping ---

    async def _sleep(self, seconds: float) -> None:
        """Sleep, but wake at once when asked to stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stop.wait(), seconds)

    async def _stats_loop(self) -> None:
        if self.options.stats_seconds <= 0:
            return
        last, last_t = 0, time.monotonic()
        while True:
            await asyncio.sleep(self.options.stats_seconds)
            now = time.monotonic()
            rate = (self.stats.stored - last) / (now - last_t)
            last, last_t = self.stats.stored, now
            logger.info("ingest[%s]: %.0f stored/s · %s", self.index, rate, self.stats.line())
            self._write_stats()

    def _write_stats(self) -> None:
        if not self.options.stats_file:
            return
        path = self.options.stats_file.replace("{n}", str(self.index))
        data = {"index": self.index, "pid": os.getpid(), **self.stats.as_dict()}
        with contextlib.suppress(OSError):
            with open(f"{path}.tmp", "w", encoding="utf-8") as f:
                json.dump(data, f)
            os.replace(f"{path}.tmp", path)

    async def _sweep_loop(self) -> None:
        """The heartbeat-lost sweep, in worker 1 only (one sweeper is enough)."""
        if self.options.sweep_seconds <= 0 or self.index != 1 or self._retiring:
            return
        while True:
            await asyncio.sleep(self.options.sweep_seconds)
            try:
                report = await self._loop.run_in_executor(self._executor, self._sweep_once)
            except Exception:
                logger.exception(
                    "ingest[%s]: heartbeat sweep failed; next in %.0f s",
                    self.index,
                    self.options.sweep_seconds,
                )
                continue
            self.stats.sweeps += 1
            self.stats.alarms_raised += len(report.alarms_raised)
            self.stats.cases_opened += len(report.cases_opened)
            if report.devices_offline:
                logger.info(
                    "ingest[%s]: %d device(s) went offline: %d alarm(s), %d case(s)",
                    self.index,
                    len(report.devices_offline),
                    len(report.alarms_raised),
                    len(report.cases_opened),
                )

    def _sweep_once(self) -> SweepReport:
        with self._sessions() as session:
            report = sweep_offline(session, now=utcnow())
            session.commit()
        return report

    async def _until_idle(self, idle_seconds: float = 3.0) -> None:
        """Retiring: until the session's queue is empty (nothing new for a while)."""
        await self.ready.wait()
        seen, quiet_since = -1, time.monotonic()
        while not self._stop.is_set():
            busy = self._open is not None or self._sealed or self._flushing
            if self.stats.received != seen or busy:
                seen, quiet_since = self.stats.received, time.monotonic()
            elif time.monotonic() - quiet_since >= idle_seconds:
                return
            await asyncio.sleep(0.1)

    async def _drain_and_disconnect(self, client: Any, *, forget_session: bool = False) -> None:
        """Stop reading, commit and acknowledge everything received, then leave.

        The session (and its place in the shared subscription) stays unless we retire:
        readings published while we are away are queued for us. Unsubscribing would lose
        them.
        """
        self._stopping = True
        transport = getattr(getattr(client, "_connection", None), "_transport", None)
        if transport is not None and not transport.is_closing():
            transport.pause_reading()
        await asyncio.sleep(0.05)  # what gmqtt has already read is handed to us now
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self._open is not None:
                self._seal(self._open)
            if not (self._sealed or self._flushing or self._open):
                break
            await asyncio.sleep(0.01)
        while self._waiting and time.monotonic() < deadline:
            await asyncio.sleep(0.005)  # the handlers return; gmqtt writes the PUBACKs
        await asyncio.sleep(0)
        with contextlib.suppress(Exception):
            if forget_session:
                await client.disconnect(session_expiry_interval=0)
            else:
                await client.disconnect()


def _topic_text(topic: str | bytes) -> str:
    if isinstance(topic, bytes):
        return topic.decode("utf-8", errors="replace").replace("\x00", "")
    return topic


def _short(error: BaseException) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


# --- processes ------------------------------------------------------------------------------


def configure_logging(level: str = "INFO") -> None:
    logging.basicConfig(
        level=level.upper(),
        format="%(asctime)s %(levelname)s %(name)s[%(process)d] %(message)s",
    )
    # gmqtt logs every connection and subscription at INFO.
    logging.getLogger("gmqtt").setLevel(logging.WARNING)


def run_worker(options: IngestOptions, index: int = 1) -> IngestStats:
    """One ingester in this process until SIGTERM or SIGINT; then drain, acknowledge, leave.

    The process is the ingester's own: its garbage collector is tuned for it.
    """
    tune_gc_for_ingestion()

    async def main() -> IngestStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await Ingester(options, index=index).run(stop)

    return asyncio.run(main())


class IngesterThread:
    """An ingester on its own event loop in a daemon thread (the demo, the tests).

    :meth:`start` returns once it has subscribed; :meth:`stop` drains, acknowledges and
    leaves, as on SIGTERM. A retiring one ends by itself: :meth:`join`.
    """

    def __init__(
        self,
        options: IngestOptions,
        *,
        index: int = 1,
        process: ProcessReadings | None = None,
        retire: bool = False,
    ) -> None:
        self._args = (options, index, process, retire)
        self.ingester: Ingester | None = None
        self.error: BaseException | None = None
        self._ready = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"townops-ingest-{index}", daemon=True
        )

    def _run(self) -> None:
        options, index, process, retire = self._args

        async def main() -> None:
            self._loop = asyncio.get_running_loop()
            self._stop = asyncio.Event()
            self.ingester = Ingester(options, index=index, process=process, retire=retire)
            task = asyncio.create_task(self.ingester.run(self._stop))
            ready = asyncio.create_task(self.ingester.ready.wait())
            await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
            self._ready.set()
            ready.cancel()
            await task

        try:
            asyncio.run(main())
        except Exception as exc:
            self.error = exc
            logger.exception("ingest[%s] stopped by an error", index)
        finally:
            self._ready.set()

    def start(self, timeout: float = 30.0) -> Ingester:
        self._thread.start()
        ingester = self.ingester if self._ready.wait(timeout) else None
        if ingester is None or not ingester.ready.is_set():
            raise RuntimeError(f"the ingester did not subscribe: {self.error or 'time-out'}")
        return ingester

    def stop(self, timeout: float = 60.0) -> IngestStats:
        if self._thread.is_alive():
            self._loop.call_soon_threadsafe(self._stop.set)
        return self.join(timeout)

    def join(self, timeout: float = 60.0) -> IngestStats:
        self._thread.join(timeout)
        if self._thread.is_alive():
            raise RuntimeError("the ingester did not stop")
        assert self.ingester is not None
        return self.ingester.stats


def retire_worker(options: IngestOptions, index: int) -> IngestStats:
    """Scale down: take worker ``index`` out of the share group for good.

    Its session keeps receiving its share while it is away (Mosquitto hands a shared
    subscription's messages to offline members too), so a worker that is simply not
    started again strands readings. This leaves the group, stores what was queued for it,
    and ends the session.
    """
    tune_gc_for_ingestion()

    async def main() -> IngestStats:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        return await Ingester(options, index=index, retire=True).run(stop)

    return asyncio.run(main())


def _worker_process(options: IngestOptions, index: int) -> None:
    configure_logging(options.log_level)
    run_worker(options, index)


def run_workers(options: IngestOptions, count: int, *, first_index: int = 1) -> None:
    """``count`` ingester processes on the shared subscription; a crashed one is restarted.

    SIGTERM / SIGINT are passed on, and each worker drains before it exits.
    """
    if count <= 1:
        run_worker(options, first_index)
        return
    context = multiprocessing.get_context("spawn")  # no forked engine or event loop
    stop = threading.Event()

    def start(index: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(
            target=_worker_process, args=(options, index), name=f"townops-ingest-{index}"
        )
        process.start()
        return process

    def on_signal(_signum: int, _frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    workers = {i: start(i) for i in range(first_index, first_index + count)}
    while not stop.wait(0.5):
        for index, process in list(workers.items()):
            if not process.is_alive() and not stop.is_set():
                logger.error("ingest[%s] exited (code %s); restarting it", index, process.exitcode)
                time.sleep(1)
                workers[index] = start(index)
    for process in workers.values():
        if process.is_alive() and process.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                process.terminate()
    for process in workers.values():
        process.join(timeout=60)
        if process.is_alive():
            process.kill()
