"""Learning from the people who correct the machine.

Every dispatch a person makes is a labelled example: the text and the category it was
finally sent under. A dispatcher re-dispatching an automatically dispatched case, or a
department returning one (退单), also marks that automatic decision as wrong, which is what
the accuracy of automatic dispatch counts. ``townops classifier retrain`` folds the
examples into the model.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.cases.enums import Action, State
from townops.cases.models import Case
from townops.dispatch.config import DispatchConfig
from townops.dispatch.models import RoutingDecision, TrainingExample
from townops.timeutil import as_utc
from townops.towns.profile import TownProfile


def learn_from_action(
    session: Session,
    *,
    case: Case,
    action: Action,
    from_state: State,
    actor: Actor,
    now: datetime,
    profile: TownProfile,
) -> None:
    """After a dispatch or a return has been applied (subscribed to the engine's
    :class:`~townops.cases.events.CaseActed` in :mod:`townops.dispatch.subscribers`)."""
    # No autoflush: the case's versioned UPDATE must go out in the engine's own flush,
    # where a stale version becomes a 409.
    with session.no_autoflush:
        decision = session.get(RoutingDecision, case.id)
    if action == Action.dispatch and decision is not None and decision.seconds_to_dispatch is None:
        decision.seconds_to_dispatch = max(0.0, (now - as_utc(case.received_at)).total_seconds())
    if actor.is_system or action not in (Action.dispatch, Action.return_):
        return
    if decision is not None and decision.outcome == "dispatched":
        wrong = action == Action.return_ or from_state == State.dispatched
        if wrong and decision.corrected_at is None:
            decision.corrected_at = now
    if action == Action.dispatch:
        session.add(
            TrainingExample(
                case_id=case.id,
                text=case.content,
                label=profile.config(DispatchConfig).label_of(case.category_code) or "",
                category_code=case.category_code,
                source=_source(case, decision, from_state),
                created_by=actor.username,
                created_at=now,
            )
        )


def _source(case: Case, decision: RoutingDecision | None, from_state: State) -> str:
    if case.return_count > 0:  # a department sent it back at least once
        return "return"
    if decision is None:
        return "confirmation"
    agreed = (
        decision.category_code == case.category_code
        and decision.target_department == case.department_code
        and decision.target_community == case.assignee_community_code
    )
    return "confirmation" if agreed and decision.outcome != "dispatched" else "correction"


def labelled_examples(session: Session, *, labels: Collection[str]) -> list[tuple[int, str, str]]:
    """(id, text, label) of the stored examples whose label the classifier knows."""
    rows = session.execute(
        select(TrainingExample.id, TrainingExample.text, TrainingExample.label)
        .where(TrainingExample.label.in_(list(labels)))
        .order_by(TrainingExample.id)
    )
    return [(row.id, row.text, row.label) for row in rows]


def mark_used(session: Session, ids: Sequence[int], *, version: str) -> None:
    """Record which model learned from these examples."""
    if ids:
        session.execute(
            update(TrainingExample)
            .where(TrainingExample.id.in_(list(ids)))
            .values(used_in_model=version)
        )
