"""Whether a case's category is still the classifier's unconfirmed guess (待分类).

Automatic dispatch reads a request's category from its text when the requester gave none
(:mod:`townops.dispatch`). A reading below the category's threshold is a guess: the case
waits in the dispatch queue under it until a dispatcher confirms or corrects it. A
resident must not be told that guess as fact, so the pages show "待分类" (being routed)
instead while it lasts. Read-only: it looks at the routing decision and the case.

The guess is *pending* while all of these hold:

* the classifier chose the category (``category_source == "classifier"``), and not surely
  (``confidence < threshold``);
* the case still has that category (nobody has corrected it);
* the case still waits for a dispatcher (state ``received``): a dispatcher's dispatch is
  the confirmation (the system itself never dispatches a low-confidence reading).
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.cases.access import visible_cases
from townops.cases.enums import State
from townops.cases.models import Case
from townops.dispatch import RoutingDecision

#: The state in which a case waits for a dispatcher to route it.
WAITING = State.received.value
CLASSIFIER = "classifier"


def category_pending(case: Case, decision: RoutingDecision | None) -> bool:
    """Whether ``case``'s category is the classifier's unconfirmed low-confidence guess."""
    return (
        decision is not None
        and decision.category_source == CLASSIFIER
        and decision.confidence < decision.threshold
        and decision.category_code == case.category_code
        and case.state == WAITING
    )


def pending_category_ids(session: Session, *, actor: Actor, case_ids: Sequence[int]) -> list[int]:
    """Of ``case_ids``, those ``actor`` may see whose category is still a pending guess
    (one query; the ids a page lists, so the answer is as small as the page)."""
    if not case_ids:
        return []
    rows = session.execute(
        select(Case.id)
        .join(RoutingDecision, RoutingDecision.case_id == Case.id)
        .where(
            Case.id.in_(list(dict.fromkeys(case_ids))),
            visible_cases(actor),
            Case.state == WAITING,
            RoutingDecision.category_source == CLASSIFIER,
            RoutingDecision.confidence < RoutingDecision.threshold,
            RoutingDecision.category_code == Case.category_code,
        )
        .order_by(Case.id)
    )
    return [case_id for (case_id,) in rows]
