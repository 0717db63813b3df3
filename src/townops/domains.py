"""The composition root of the domains built on the case engine.

Each domain that opens cases of its own kind registers the kind
(:mod:`townops.cases.kinds`), and each that reacts to cases subscribes to the engine's
events (:mod:`townops.cases.events`), from its own package; :func:`install` calls them
once. The app, the CLI (and so the workers and the demo) and the tests call it. A new
domain adds its ``register``/``subscribe`` here and nothing in ``cases/``.
"""

from __future__ import annotations

from townops.cases import events
from townops.dispatch import subscribers as dispatch_subscribers
from townops.media import subscribers as media_subscribers
from townops.notify import subscribers as notify_subscribers
from townops.sensing.alarms import kind as alarm_kind

_DOMAINS = (
    alarm_kind.register,
    dispatch_subscribers.subscribe,
    media_subscribers.subscribe,
    notify_subscribers.subscribe,
)


def install() -> None:
    """Register every domain's case kinds and subscribe it to the engine's events
    (idempotent)."""
    for subscribe in _DOMAINS:
        subscribe()
    events.mark_installed()
