"""Failure limiters: at most so many failures per key (an address, a username) in a window.

Used where a wrong guess is what an attacker pays for: unknown tracking codes
(:mod:`townops.cases.tracking`) and wrong passwords (:mod:`townops.auth.sessions`). Only
failures count: a caller who gets things right is never held back, and one past the
limit is refused *everything* (right answers too) until its oldest failure leaves the
window, so the answer never tells it when a guess was right.

Kept in the process's memory: each server process counts its own share (with ``N``
worker processes a key gets up to ``N`` times the limit), and a restart forgets. That is
enough to turn guessing from seconds into years; a town that needs one count across
hosts puts the limit in its reverse proxy as well.
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from townops.errors import DomainError


class TooManyRequests(DomainError):
    """429 with ``retry_after_seconds`` (the error handler adds ``Retry-After``)."""

    status_code = 429
    code = "too_many_requests"


@dataclass
class MissLimiter:
    """At most ``max_misses`` failures per client in any ``window`` seconds.

    A *client* is any key: an address, a username. At most ``max_clients`` keys are
    remembered: past that, idle ones are forgotten first, then the oldest half.
    """

    max_misses: int = 20
    window: float = 600.0
    max_clients: int = 10_000
    clock: Callable[[], float] = time.monotonic
    message: str = "too many failed attempts; try again later"
    _misses: dict[str, deque[float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def wait_seconds(self, client: str) -> int | None:
        """Seconds until ``client`` may try again, or None if it may now."""
        with self._lock:
            misses = self._recent(client)
            if misses is None or len(misses) < self.max_misses:
                return None
            return int(misses[0] + self.window - self.clock()) + 1

    def check(self, client: str) -> None:
        """Raise :class:`TooManyRequests` if ``client`` may not try now."""
        wait = self.wait_seconds(client)
        if wait is not None:
            raise self.refusal(wait)

    def refusal(self, wait: int) -> DomainError:
        return TooManyRequests(self.message, retry_after_seconds=wait)

    def miss(self, client: str) -> None:
        """Count one failure of ``client``."""
        with self._lock:
            misses = self._recent(client)
            if misses is None:
                if len(self._misses) >= self.max_clients:
                    self._forget_idle()
                misses = self._misses[client] = deque()
            misses.append(self.clock())

    def take(self, client: str) -> float:
        """:meth:`check` and count one failure at once (no race between the two); the
        returned stamp undoes it with :meth:`give_back` if the attempt succeeds."""
        with self._lock:
            misses = self._recent(client)
            if misses is not None and len(misses) >= self.max_misses:
                raise self.refusal(int(misses[0] + self.window - self.clock()) + 1)
            if misses is None:
                if len(self._misses) >= self.max_clients:
                    self._forget_idle()
                misses = self._misses[client] = deque()
            stamp = self.clock()
            misses.append(stamp)
            return stamp

    def give_back(self, client: str, stamp: float) -> None:
        """Take back the failure :meth:`take` counted (the attempt succeeded)."""
        with self._lock:
            misses = self._misses.get(client)
            if misses is not None and stamp in misses:
                misses.remove(stamp)

    def forget(self, client: str) -> None:
        """Clear ``client``'s failures (e.g. a username after its right password)."""
        with self._lock:
            self._misses.pop(client, None)

    def _recent(self, client: str) -> deque[float] | None:
        misses = self._misses.get(client)
        if misses is None:
            return None
        start = self.clock() - self.window
        while misses and misses[0] <= start:
            misses.popleft()
        return misses

    def _forget_idle(self) -> None:
        start = self.clock() - self.window
        for client in [c for c, m in self._misses.items() if not m or m[-1] <= start]:
            del self._misses[client]
        # Still full (a flood of keys): drop the oldest half rather than grow.
        if len(self._misses) >= self.max_clients:
            by_age = sorted(self._misses, key=lambda c: self._misses[c][-1])
            for client in by_age[: len(by_age) // 2]:
                del self._misses[client]
