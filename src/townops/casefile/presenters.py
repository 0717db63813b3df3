"""Present a case file: the engine's presenter, then routing and photos."""

from __future__ import annotations

from sqlalchemy.orm import Session

from townops.access.actor import Actor
from townops.casefile.routing import category_pending
from townops.casefile.schemas import CaseFileOut
from townops.cases.models import Case
from townops.cases.presenters import present_case
from townops.categories.service import CategoryInfo
from townops.dispatch import RoutingDecision, routing_out
from townops.media import present_case_photos
from townops.towns.profile import TownProfile


def present_case_file(
    case: Case,
    session: Session,
    *,
    actor: Actor,
    profile: TownProfile,
    details: bool = True,
    category: CategoryInfo | None = None,
    photos: bool = True,
) -> CaseFileOut:
    """The case as ``actor`` may see it, with its routing and photos.

    ``details``: load summonses and extensions (a case just filed has none: the create
    route skips the queries and passes the ``category`` it has in hand). The routing
    decision is read by primary key: just after filing it is in the identity map.
    """
    base = present_case(
        case,
        actor=actor,
        profile=profile,
        session=session if details else None,
        category=category,
    )
    decision = session.get(RoutingDecision, case.id)
    return CaseFileOut.model_construct(
        **dict(base),
        routing=routing_out(decision, actor=actor, profile=profile),
        photos=present_case_photos(session, case_id=case.id) if photos else [],
        category_pending=category_pending(case, decision),
    )
