"""The in-app inbox (站内信): the outbox row is the delivery.

The web app's bell reads the recipient's rows on this channel, so there is nothing to
send: "sending" only records that the row is now the delivered message.
"""

from __future__ import annotations

from townops.notify.channels.base import Message, Receipt

__all__ = ["InAppChannel"]


class InAppChannel:
    """Delivered as soon as the worker takes the row; never fails."""

    def __init__(self, name: str) -> None:
        self.name = name

    def send(self, message: Message) -> Receipt:
        return Receipt(provider_id=None, detail={"inapp": True})
