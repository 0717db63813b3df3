"""Storing a batch: the ingestion use case in a worker thread, until the batch is in.

Each attempt is one call of :func:`townops.sensing.ingest.service.ingest`, which reads the
messages, stores the readings, sets the rest aside and commits, all in one transaction.
Nothing is acknowledged that is not committed, so a batch that fails is tried again:

* The database away, locked or restarting: retried with backoff for as long as it takes,
  the messages unacknowledged meanwhile.
* Any other error: retried once (a race between two workers does not repeat), then the
  batch is halved until the one message that fails is found; that one is set aside as
  ``ingest_error`` with its raw payload (:func:`townops.sensing.ingest.service.failed`).
* Readings failing one after another are not at fault (e.g. the schema is behind the code):
  after :data:`FAILING_READINGS_LIMIT`, the batch is held and retried like a database away.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from concurrent.futures import Executor
from dataclasses import dataclass

from sqlalchemy import exc as sa_exc

from townops.sensing.ingest.mqtt.batches import Work
from townops.sensing.ingest.mqtt.broker import backoff_seconds, sleep_or_stop
from townops.sensing.ingest.mqtt.options import IngestStats
from townops.sensing.ingest.pipeline import BatchResult
from townops.sensing.ingest.service import (
    INGEST_ERROR,
    ProcessReadings,
    SessionFactory,
    failed,
    ingest,
)

logger = logging.getLogger("townops.ingest")

#: Readings set aside as INGEST_ERROR in a row before the fault is taken for systematic.
FAILING_READINGS_LIMIT = 5


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


def _short(error: BaseException) -> str:
    return str(error).splitlines()[0][:200] if str(error) else type(error).__name__


class BatchStore:
    """Stores work for one ingester (``index``), counting into ``stats``; the attempts run on
    ``executor`` and back off until ``stop`` is set. :attr:`stopping`: do not wait any more
    for a database that is away (leave the work unacknowledged)."""

    def __init__(
        self,
        sessions: SessionFactory,
        *,
        town: str,
        process: ProcessReadings,
        stats: IngestStats,
        index: int,
        executor: Executor,
        stop: asyncio.Event,
    ) -> None:
        self._sessions = sessions
        self._town = town
        self._process = process
        self._stats = stats
        self._index = index
        self._executor = executor
        self._stop = stop
        self._failing_readings = 0  # readings set aside as INGEST_ERROR in a row
        self.stopping = False

    async def store(self, work: Work) -> bool:
        """Store ``work``; False only when stopping with the database away (unacknowledged)."""
        loop = asyncio.get_running_loop()
        attempt = 0
        while True:
            try:
                stored = await loop.run_in_executor(self._executor, self._store, work)
            except Exception as exc:
                self._stats.commit_failures += 1
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
                    return await self.store(first) and await self.store(second)
                aside = failed(work.messages[0], exc, town=self._town)
                if aside is not None:
                    self._failing_readings += 1
                    logger.exception(
                        "ingest[%s]: a reading cannot be stored; set aside as %s",
                        self._index,
                        INGEST_ERROR,
                    )
                    work, attempt = Work([aside]), 0
                    continue
                logger.exception(
                    "ingest[%s]: cannot even set this message aside; acknowledged, logged here: %r",
                    self._index,
                    work.messages[0],
                )
                return True
            if stored.result is not None:
                self._failing_readings = 0
            self._count(stored)
            return True

    async def _hold(self, work: Work, error: BaseException, attempt: int) -> bool:
        """Wait before trying ``work`` again; False when stopping (left unacknowledged)."""
        if self.stopping:
            logger.warning(
                "ingest[%s]: cannot store at shutdown (%s); %d message(s) left "
                "unacknowledged for the broker to deliver again",
                self._index,
                _short(error),
                len(work),
            )
            return False
        delay = backoff_seconds(attempt)
        logger.warning(
            "ingest[%s]: cannot store (%s); %d message(s) held unacknowledged, retrying in %.1f s",
            self._index,
            _short(error),
            len(work),
            delay,
        )
        await sleep_or_stop(self._stop, delay)
        return True

    def _store(self, work: Work) -> _Stored:
        """One attempt, in the worker thread: one transaction, committed by the use case."""
        started = time.perf_counter()
        outcome = ingest(
            self._sessions, "mqtt", work.messages, town=self._town, process=self._process
        )
        return _Stored(outcome.result, outcome.set_aside, time.perf_counter() - started)

    def _count(self, stored: _Stored) -> None:
        s = self._stats
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
