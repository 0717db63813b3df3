"""The ingester's MQTT connection: session, shared subscription, receiving, acknowledging.

A fixed client id, a persistent session (clean start off) and a QoS 1 membership of the
shared subscription, renewed on every connect. Messages are handed to ``receive`` as they
arrive; nothing is acknowledged until :meth:`Subscriber.acknowledge` is called for the
committed batches, whose PUBACKs leave in one write.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import gmqtt  # type: ignore[import-untyped]

from townops.sensing.ingest.messages import shared_filter
from townops.sensing.ingest.mqtt.batches import Batch
from townops.sensing.ingest.mqtt.broker import (
    BackoffClient,
    BrokerAddress,
    backoff_seconds,
    connect_client,
    sleep_or_stop,
)
from townops.sensing.ingest.mqtt.options import IngestOptions, IngestStats

logger = logging.getLogger("townops.ingest")


class Receive(Protocol):
    """Takes a message in; returns the batch it joined."""

    def __call__(self, topic: str | bytes, payload: bytes, connection: Any) -> Batch: ...


class Subscriber:
    """One MQTT client of the share group, for one ingester.

    ``ready`` is set once the broker has confirmed the subscription (retiring: our leaving
    it), and ``on_ready`` is called then.
    """

    def __init__(
        self,
        options: IngestOptions,
        *,
        index: int,
        town: str,
        stats: IngestStats,
        receive: Receive,
        ready: asyncio.Event,
        on_ready: Callable[[], None],
        retire: bool = False,
    ) -> None:
        self.options = options
        self.index = index
        self.broker = BrokerAddress.parse(options.broker)
        self.client_id = options.client_id(town, index)
        self.ready = ready
        #: ``on_message`` handlers waiting for their batch's commit.
        self.waiting = 0
        self._town = town
        self._stats = stats
        self._receive = receive
        self._on_ready = on_ready
        self._retiring = retire
        self._leaving = False
        self._paused: Any = None  # the transport we stopped reading from
        self._subscription = gmqtt.Subscription(shared_filter(options.group, town), qos=1)
        self._client = self._new_client()

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
        return client

    async def connect(self, stop: asyncio.Event) -> bool:
        """Connect, retrying with backoff until the broker answers or ``stop`` is set."""
        client = self._client
        attempt = 0
        while not stop.is_set():
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
                await sleep_or_stop(stop, delay)
        return False

    def _on_connect(self, client: Any, session_present: int, _rc: int, _props: Any) -> None:
        self._stats.connects += 1
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
            self._on_ready()
        else:
            logger.error("ingest[%s]: the broker refused the subscription: %s", self.index, granted)

    def _on_unsubscribe(self, _client: Any, _mid: int, _codes: Any) -> None:
        self.ready.set()

    def _on_disconnect(self, _client: Any, _packet: Any, _exc: Any = None) -> None:
        if not self._leaving:
            logger.warning("ingest[%s]: lost the broker; reconnecting", self.index)

    # --- receiving and acknowledging ---

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
        receive = self._receive

        def on_qos1(mid: int, payload: bytes, topic: str | bytes, _props: Any) -> None:
            receive(topic, payload, handler.current_connection).mids.append(mid)

        handler._handle_qos_1_publish_packet = on_qos1

    async def _on_message(
        self, _client: Any, topic: str | bytes, payload: bytes, _qos: int, _props: Any
    ) -> int:
        """Returns when the message is committed; gmqtt then sends its PUBACK (reason 0)."""
        batch = self._receive(topic, payload, None)
        self.waiting += 1
        try:
            await batch.done
        finally:
            self.waiting -= 1
        return 0

    def acknowledge(self, batches: Sequence[Batch]) -> None:
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

    # --- back-pressure and leaving ---

    def _transport(self) -> Any:
        transport = getattr(getattr(self._client, "_connection", None), "_transport", None)
        return None if transport is None or transport.is_closing() else transport

    def pause_reading(self) -> None:
        """Let TCP hold the broker back: Mosquitto (2.0.11) sends far more than our Receive
        Maximum once acknowledgements flow, and what we hold unacknowledged is memory."""
        if self._paused is not None:
            return
        transport = self._transport()
        if transport is not None:
            transport.pause_reading()
            self._paused = transport

    def resume_reading(self) -> None:
        if self._paused is None:
            return
        with contextlib.suppress(Exception):
            self._paused.resume_reading()
        self._paused = None

    def stop_reading(self) -> None:
        """Leaving: read nothing more (what gmqtt has read already is still handed over)."""
        self._leaving = True
        transport = self._transport()
        if transport is not None:
            transport.pause_reading()

    async def disconnect(self, *, forget_session: bool = False) -> None:
        """Leave; the session (and its place in the group) stays unless ``forget_session``."""
        with contextlib.suppress(Exception):
            if forget_session:
                await self._client.disconnect(session_expiry_interval=0)
            else:
                await self._client.disconnect()
