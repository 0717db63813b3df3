"""The broker: its address, connecting to it, and reconnecting with backoff."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

import gmqtt  # type: ignore[import-untyped]

logger = logging.getLogger("townops.ingest")

DEFAULT_BROKER = "mqtt://127.0.0.1:1883"


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


async def sleep_or_stop(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, but wake at once when ``stop`` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)
