"""Ingester processes: one per process (``townops ingest mqtt``), several under a supervisor
that restarts a crashed one, one in a thread (the demo, the tests), and retiring one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import multiprocessing
import signal
import threading
import time
from collections.abc import Callable
from types import FrameType

from townops.sensing.ingest.mqtt.ingester import Ingester
from townops.sensing.ingest.mqtt.options import IngestOptions, IngestStats
from townops.sensing.ingest.pipeline import tune_gc_for_ingestion
from townops.sensing.ingest.service import ProcessReadings

logger = logging.getLogger("townops.ingest")


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


def _worker_process(
    options: IngestOptions, index: int, initializer: Callable[[], None] | None
) -> None:
    if initializer is not None:
        initializer()
    configure_logging(options.log_level)
    run_worker(options, index)


def run_workers(
    options: IngestOptions,
    count: int,
    *,
    first_index: int = 1,
    initializer: Callable[[], None] | None = None,
) -> None:
    """``count`` ingester processes on the shared subscription; a crashed one is restarted.

    SIGTERM / SIGINT are passed on, and each worker drains before it exits. A spawned
    process starts afresh: ``initializer`` (a module-level function) runs in each first —
    the CLI passes :func:`townops.domains.install`, so an alarm's case reaches the domains
    subscribed to the case engine's events.
    """
    if count <= 1:
        run_worker(options, first_index)
        return
    context = multiprocessing.get_context("spawn")  # no forked engine or event loop
    stop = threading.Event()

    def start(index: int) -> multiprocessing.process.BaseProcess:
        process = context.Process(
            target=_worker_process,
            args=(options, index, initializer),
            name=f"townops-ingest-{index}",
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
