"""What notifications do when the case engine acts: queue the town's messages, and keep the
deadline reminders in step with the case (:mod:`townops.notify.service`)."""

from __future__ import annotations

from townops.cases import events
from townops.cases.enums import Action
from townops.notify import service

# The engine's actions that are a notification trigger of their own.
_TRIGGERS = {
    Action.dispatch: "dispatched",
    Action.resolve: "resolved",
    Action.reopen: "reopened",
    Action.whistle: "whistled",
}


def _on_created(event: events.CaseCreated) -> None:
    moment = f"v{event.case.version}"
    service.notify_case(event.session, event.case, "received", now=event.now, moment=moment)
    # Until a unit signs for it, the on-duty chain is told in turn (unacknowledged rules).
    service.reschedule_escalations(event.session, event.case, now=event.now)


def _on_acted(event: events.CaseActed) -> None:
    case = event.case
    # A dispatch both tells the holder and plans the holder's reminders: one look-up.
    audiences = service.Audiences(event.session)
    trigger = _TRIGGERS.get(event.action)
    if trigger is not None:
        summoned = [str(d) for d in event.data.get("departments") or []]
        service.notify_case(
            event.session,
            case,
            trigger,
            now=event.now,
            moment=f"v{case.version}",
            summoned=summoned,
            audiences=audiences,
        )
    if event.action == Action.acknowledge:
        # Someone told has said they are on it: nobody further up the chain is called.
        service.stop_escalations(event.session, case, now=event.now)
    elif event.from_state != event.to_state or event.action == Action.dispatch:
        # The holder or the clock changed: the reminders follow; signed for, the chain stops.
        service.reschedule_reminders(event.session, case, now=event.now, audiences=audiences)
        service.reschedule_escalations(event.session, case, now=event.now, audiences=audiences)


def _on_noted(event: events.CaseNoted) -> None:
    if event.acknowledges:  # e.g. its device alarm acknowledged on the alarm console
        service.stop_escalations(event.session, event.case, now=event.now)


def _on_deadline_moved(event: events.DeadlineMoved) -> None:
    service.reschedule_reminders(event.session, event.case, now=event.now)


def _on_overdue(event: events.CasesOverdue) -> None:
    service.notify_overdue(event.session, event.case_ids, now=event.now)


def subscribe() -> None:
    events.subscribe(events.CaseCreated, _on_created)
    events.subscribe(events.CaseActed, _on_acted)
    events.subscribe(events.CaseNoted, _on_noted)
    events.subscribe(events.DeadlineMoved, _on_deadline_moved)
    events.subscribe(events.CasesOverdue, _on_overdue)
