"""Batching: messages received and not yet committed, grouped into what commits together.

A message joins the open batch as it arrives, untouched (the ingestion use case reads it
when the batch is stored). A batch is sealed at ``batch_size`` messages or ``batch_ms``
after its first one, and waits for the flush; a batch never mixes two connections, whose
acknowledgements go apart. Holding ``4 × batch_size`` unacknowledged messages pauses
reading from the broker (back-pressure).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from townops.sensing.ingest.mqtt.options import IngestOptions
from townops.sensing.ingest.service import Message
from townops.timeutil import utcnow


class Batch:
    """Messages that are committed together and acknowledged together."""

    __slots__ = ("connection", "done", "messages", "mids", "timer")

    def __init__(self, loop: asyncio.AbstractEventLoop, connection: Any = None) -> None:
        self.messages: list[Message] = []
        # QoS 1 packet ids to acknowledge after commit, and the connection they came on.
        self.mids: list[int] = []
        self.connection = connection
        # Other messages (QoS 2, or a gmqtt without the fast path) wait on this.
        self.done: asyncio.Future[None] = loop.create_future()
        self.timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self.messages)


@dataclass
class Work:
    """What one transaction stores; can be halved to find a message that cannot be stored."""

    messages: list[Message]

    @classmethod
    def of(cls, batches: Sequence[Batch]) -> Work:
        return cls([m for b in batches for m in b.messages])

    def __len__(self) -> int:
        return len(self.messages)

    def halves(self) -> tuple[Work, Work]:
        mid = len(self.messages) // 2
        return Work(self.messages[:mid]), Work(self.messages[mid:])


class Batcher:
    """The open batch, the sealed ones waiting for the flush, and how many messages are held
    unacknowledged. ``pause`` is called while too many are held."""

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        options: IngestOptions,
        *,
        pause: Callable[[], None],
    ) -> None:
        self._loop = loop
        self._batch_size = options.batch_size
        self._batch_seconds = options.batch_ms / 1000
        self._max_unacked = 4 * options.batch_size
        self._pause = pause
        self._open: Batch | None = None
        self._sealed: deque[Batch] = deque()
        #: Set when a batch is sealed.
        self.sealed = asyncio.Event()
        #: Messages received and not yet committed.
        self.unacked = 0

    @property
    def pending(self) -> bool:
        """Whether any message waits (in the open batch or a sealed one)."""
        return self._open is not None or bool(self._sealed)

    @property
    def has_sealed(self) -> bool:
        return bool(self._sealed)

    def add(self, topic: str | bytes, payload: bytes, connection: Any) -> Batch:
        """The message joins the open batch (a new one on a new connection); returns it."""
        self.unacked += 1
        if self.unacked >= self._max_unacked:
            self._pause()
        batch = self._open
        if batch is not None and connection is not None and batch.connection is not connection:
            if batch.connection is None:
                batch.connection = connection
            else:
                self.seal(batch)  # a new connection: its acknowledgements go apart
                batch = None
        if batch is None:
            batch = self._open = Batch(self._loop, connection)
            batch.timer = self._loop.call_later(self._batch_seconds, self.seal, batch)
        batch.messages.append(Message(topic, payload, utcnow()))
        if len(batch) >= self._batch_size:
            self.seal(batch)
        return batch

    def seal_open(self) -> None:
        if self._open is not None:
            self.seal(self._open)

    def seal(self, batch: Batch) -> None:
        """Seal ``batch`` if it is still the open one."""
        if batch is not self._open:
            return
        if batch.timer is not None:
            batch.timer.cancel()
        self._open = None
        self._sealed.append(batch)
        self.sealed.set()

    def next_batches(self) -> list[Batch]:
        """Batches that waited while the last commit ran, up to ``batch_size`` messages:
        one transaction for them, but never an ever larger one."""
        batches = [self._sealed.popleft()]
        size = len(batches[0])
        while self._sealed and size + len(self._sealed[0]) <= self._batch_size:
            size += len(self._sealed[0])
            batches.append(self._sealed.popleft())
        return batches
