"""Photos sent with a case (on filing) or with its resolution are attached to it in the
same transaction: all of them, or the use case fails
(:func:`townops.media.service.attach_photos`)."""

from __future__ import annotations

from townops.cases import events
from townops.cases.enums import Action
from townops.media.service import attach_photos


def _attach_report_photos(event: events.CaseCreated) -> None:
    attach_photos(
        event.session, actor=event.actor, case=event.case, photo_ids=event.photos, stage="report"
    )


def _attach_resolve_photos(event: events.CaseActed) -> None:
    if event.action == Action.resolve and event.photos:
        attach_photos(
            event.session,
            actor=event.actor,
            case=event.case,
            photo_ids=event.photos,
            stage="resolve",
        )


def subscribe() -> None:
    events.subscribe(events.CaseCreated, _attach_report_photos)
    events.subscribe(events.CaseActed, _attach_resolve_photos)
