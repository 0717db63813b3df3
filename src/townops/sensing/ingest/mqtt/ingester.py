"""The ingester: one MQTT client feeding one database, until it is told to stop.

It puts the parts together — the connection (:mod:`.connection`), the batches
(:mod:`.batches`), the storing (:mod:`.store`) — and runs the loops: the flush (store the
sealed batches, then acknowledge them), the counters, and the heartbeat-lost sweep (worker
1 only). On stop it drains: reads nothing more, commits and acknowledges what it received,
and leaves.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from townops.db import make_engine, make_session_factory
from townops.sensing.alarms.sweep import SweepReport, sweep_offline
from townops.sensing.ingest.mqtt.batches import Batch, Batcher, Work
from townops.sensing.ingest.mqtt.connection import Subscriber
from townops.sensing.ingest.mqtt.options import IngestOptions, IngestStats
from townops.sensing.ingest.mqtt.store import BatchStore
from townops.sensing.ingest.pipeline import process_readings
from townops.sensing.ingest.service import ProcessReadings
from townops.timeutil import utcnow
from townops.towns.profile import get_profile

logger = logging.getLogger("townops.ingest")


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
        self.index = index
        self.stats = IngestStats()
        #: Set once the broker has confirmed our subscription (retiring: our leaving it).
        self.ready = asyncio.Event()
        self._retiring = retire
        self._engine = engine
        self._process: ProcessReadings = process or process_readings
        self._town = options.town
        self._flushing = False
        self._stopping = False
        self._stop = asyncio.Event()
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
            town = self._town
            if town is None:
                town = self._town = await self._loop.run_in_executor(
                    self._executor, self._town_code
                )
            self._start(town)
            if not await self._subscriber.connect(stop):
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
            await self._drain_and_disconnect(forget_session=self._retiring)
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

    def _town_code(self) -> str:
        with self._sessions() as session:
            return get_profile(session).code

    def _start(self, town: str) -> None:
        """The parts, once the town (the topics' and the client id's) is known."""
        self._batches = Batcher(self._loop, self.options, pause=self._pause_reading)
        self._subscriber = Subscriber(
            self.options,
            index=self.index,
            town=town,
            stats=self.stats,
            receive=self._receive,
            ready=self.ready,
            on_ready=self._write_stats,  # also tells a supervisor that this worker is subscribed
            retire=self._retiring,
        )
        self._store = BatchStore(
            self._sessions,
            town=town,
            process=self._process,
            stats=self.stats,
            index=self.index,
            executor=self._executor,
            stop=self._stop,
        )

    # --- receiving, storing, acknowledging ---

    def _receive(self, topic: str | bytes, payload: bytes, connection: object) -> Batch:
        self.stats.received += 1
        return self._batches.add(topic, payload, connection)

    def _pause_reading(self) -> None:
        self._subscriber.pause_reading()

    async def _flush_loop(self) -> None:
        batches = self._batches
        while True:
            await batches.sealed.wait()
            batches.sealed.clear()
            while batches.has_sealed:
                self._flushing = True
                try:
                    await self._commit(batches.next_batches())
                finally:
                    self._flushing = False

    async def _commit(self, batches: list[Batch]) -> None:
        """Store the batches, then acknowledge them: nothing is acknowledged uncommitted."""
        work = Work.of(batches)
        if not await self._store.store(work):
            return  # stopping with the database away: unacknowledged, delivered again later
        self._subscriber.acknowledge(batches)
        for batch in batches:
            if not batch.done.done():
                batch.done.set_result(None)
        self.stats.acknowledged += len(work)
        self._batches.unacked -= len(work)
        if self._batches.unacked <= self.options.batch_size and not self._stopping:
            self._subscriber.resume_reading()

    # --- housekeeping ---

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
        """One sweep, its own transaction (in the worker thread)."""
        with self._sessions() as session:
            report = sweep_offline(session, now=utcnow())
            session.commit()
        return report

    # --- leaving ---

    async def _until_idle(self, idle_seconds: float = 3.0) -> None:
        """Retiring: until the session's queue is empty (nothing new for a while)."""
        await self.ready.wait()
        seen, quiet_since = -1, time.monotonic()
        while not self._stop.is_set():
            busy = self._batches.pending or self._flushing
            if self.stats.received != seen or busy:
                seen, quiet_since = self.stats.received, time.monotonic()
            elif time.monotonic() - quiet_since >= idle_seconds:
                return
            await asyncio.sleep(0.1)

    async def _drain_and_disconnect(self, *, forget_session: bool = False) -> None:
        """Stop reading, commit and acknowledge everything received, then leave.

        The session (and its place in the shared subscription) stays unless we retire:
        readings published while we are away are queued for us. Unsubscribing would lose
        them.
        """
        self._stopping = self._store.stopping = True
        self._subscriber.stop_reading()
        await asyncio.sleep(0.05)  # what gmqtt has already read is handed to us now
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self._batches.seal_open()
            if not (self._batches.pending or self._flushing):
                break
            await asyncio.sleep(0.01)
        while self._subscriber.waiting and time.monotonic() < deadline:
            await asyncio.sleep(0.005)  # the handlers return; gmqtt writes the PUBACKs
        await asyncio.sleep(0)
        await self._subscriber.disconnect(forget_session=forget_session)
