"""What automatic dispatch does when the case engine acts: learn from the people who
correct it (:mod:`townops.dispatch.learning`)."""

from __future__ import annotations

from townops.cases import events
from townops.cases.enums import Action, State
from townops.dispatch.learning import learn_from_action


def _learn(event: events.CaseActed) -> None:
    if event.action not in (Action.dispatch, Action.return_):
        return
    learn_from_action(
        event.session,
        case=event.case,
        action=event.action,
        from_state=State(event.from_state),
        actor=event.actor,
        now=event.now,
        profile=event.profile,
    )


def subscribe() -> None:
    events.subscribe(events.CaseActed, _learn)
