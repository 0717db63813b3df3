"""The composition root of the domains built on the case engine.

Each domain that reacts to cases subscribes to the engine's events
(:mod:`townops.cases.events`) from its own package; :func:`install` calls them once. The app,
the CLI (and so the workers and the demo) and the tests call it. A new domain adds its
``subscribe`` here and nothing in ``cases/``.
"""

from __future__ import annotations

from townops.cases import events
from townops.dispatch import subscribers as dispatch_subscribers
from townops.media import subscribers as media_subscribers

_DOMAINS = (dispatch_subscribers.subscribe, media_subscribers.subscribe)


def install() -> None:
    """Subscribe every domain to the case engine's events (idempotent)."""
    for subscribe in _DOMAINS:
        subscribe()
    events.mark_installed()
