"""Photos sent with a case (on filing), its resolution or a comment are attached to it in the
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


_STAGE_OF_ACTION = {Action.resolve: "resolve", Action.comment: "comment"}


def _attach_action_photos(event: events.CaseActed) -> None:
    stage = _STAGE_OF_ACTION.get(event.action)
    if stage is not None and event.photos:
        attach_photos(
            event.session,
            actor=event.actor,
            case=event.case,
            photo_ids=event.photos,
            stage=stage,
        )


def subscribe() -> None:
    events.subscribe(events.CaseCreated, _attach_report_photos)
    events.subscribe(events.CaseActed, _attach_action_photos)
