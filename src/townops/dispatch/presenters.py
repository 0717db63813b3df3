"""A case with its routing decision, as the dispatch queue and the case file show it."""

from __future__ import annotations

from townops.access.actor import Actor, Role
from townops.cases.schemas import CaseOut
from townops.dispatch.config import DispatchConfig
from townops.dispatch.models import RoutingDecision
from townops.dispatch.schemas import RoutedCaseOut, RoutingOut
from townops.towns.profile import TownProfile


def routing_out(
    decision: RoutingDecision | None, *, actor: Actor, profile: TownProfile
) -> RoutingOut | None:
    """How automatic dispatch read, placed and routed the case, with the town's own note
    for the rule it used; staff only (a resident sees where the case is, not why)."""
    if decision is None or actor.role == Role.resident:
        return None
    notes = {rule.name: rule.note for rule in profile.config(DispatchConfig).rules if rule.note}
    return RoutingOut.of(decision, notes)


def with_routing(
    case: CaseOut, decision: RoutingDecision | None, *, actor: Actor, profile: TownProfile
) -> RoutedCaseOut:
    """``case`` (already presented and masked for ``actor``) with its routing."""
    return RoutedCaseOut.model_construct(
        **dict(case), routing=routing_out(decision, actor=actor, profile=profile)
    )
