"""What every channel (通知渠道) is: one ``send`` that delivers one message or says why not.

The worker (:mod:`townops.notify.worker`) owns states, retries and receipts; a channel only
talks to its provider. It answers a :class:`Receipt` when the provider accepted the
message, raises :class:`TemporaryFailure` when trying again later may work (a timeout, a
5xx, a rate limit: ``retry_after`` when the provider says how long), and
:class:`PermanentFailure` when it will not (a bad address, a revoked webhook, a rejected
template). A channel never logs a message's text or address (they hold names and phone
numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Message:
    """One message for one recipient on one channel, as the outbox holds it."""

    id: int  # the outbox row
    idempotency_key: str  # the same key is never delivered twice (providers that take one)
    address: str  # e-mail address or mobile number; "" for a group bot (the channel's URL)
    title: str
    body: str
    # SMS gateways send a registered template with parameters, not free text.
    template_params: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Receipt:
    """What the provider answered when it took the message."""

    provider_id: str | None = None  # its message id, if it gives one
    detail: dict[str, Any] = field(default_factory=dict)  # its answer, without our text


class ChannelError(Exception):
    """The provider did not take the message; ``detail`` is its answer (no message text)."""

    def __init__(self, reason: str, *, detail: dict[str, Any] | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.detail = detail or {}


class TemporaryFailure(ChannelError):
    """Worth trying again: a timeout, a 5xx, a rate limit."""

    def __init__(
        self,
        reason: str,
        *,
        retry_after: float | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(reason, detail=detail)
        self.retry_after = retry_after


class PermanentFailure(ChannelError):
    """Not worth trying again: fix the configuration or the address."""


class Channel(Protocol):
    """A configured way of reaching people (``email``, ``wecom_housing`` …)."""

    name: str

    def send(self, message: Message) -> Receipt: ...
