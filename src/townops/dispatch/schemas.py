"""How a routing decision is shown on a case (``RoutedCaseOut.routing``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from townops.cases.schemas import CaseOut
from townops.dispatch.models import RoutingDecision
from townops.dispatch.reasons import SCORES_KEY, reason_of


class RoutingOut(BaseModel):
    automatic: bool = Field(description="decided by the system without a person")
    outcome: str = Field(description="dispatched | queued | duplicate")
    reason: str = Field(description="the reason in English words (reason_code is for programs)")
    reason_code: str = Field(
        description=(
            "why, as a code: confident (dispatched) | repeat (duplicate) | auto_dispatch_off | "
            "person_requested | low_confidence | no_place | unsure_place (queued) | other"
        )
    )
    reason_params: dict[str, Any] = Field(
        description=(
            "the figures of the reason: confident {rule, confidence, threshold}, repeat "
            "{case_id, similarity}, low_confidence {confidence, threshold}, unsure_place "
            "{place_confidence}, other {text}"
        )
    )
    rule: str | None = Field(description="the routing rule that decided the target")
    rule_note: str = Field(
        default="", description="the town's own words for that rule (dispatch.yaml `note`)"
    )
    category: str
    category_source: str = Field(description="given | classifier")
    confidence: float
    threshold: float
    model_version: str | None
    scores: dict[str, Any] = Field(description="classifier label probabilities and categories")
    place: dict[str, Any] = Field(description="how the place was found and how sure")
    department: str | None = Field(description="target department of the rule")
    community: str | None = Field(description="target community of the rule")
    suggestions: list[dict[str, Any]] = Field(description="top suggestions for a dispatcher")
    duplicate_of: int | None
    decided_at: datetime
    corrected_at: datetime | None = Field(
        description="when a person returned or re-dispatched an automatic dispatch"
    )

    @classmethod
    def of(
        cls, decision: RoutingDecision, rule_notes: Mapping[str, str] | None = None
    ) -> RoutingOut:
        why = reason_of(decision.scores, decision.reason)
        return cls(
            automatic=decision.automatic,
            outcome=decision.outcome,
            reason=decision.reason,
            reason_code=why.code,
            reason_params=why.params,
            rule=decision.rule,
            rule_note=(rule_notes or {}).get(decision.rule or "", ""),
            category=decision.category_code,
            category_source=decision.category_source,
            confidence=decision.confidence,
            threshold=decision.threshold,
            model_version=decision.model_version,
            # The reason is shown on its own above: not twice.
            scores={k: v for k, v in (decision.scores or {}).items() if k != SCORES_KEY},
            place=decision.place,
            department=decision.target_department,
            community=decision.target_community,
            suggestions=decision.suggestions,
            duplicate_of=decision.duplicate_of_id,
            decided_at=decision.decided_at,
            corrected_at=decision.corrected_at,
        )


class RoutedCaseOut(CaseOut):
    """A case with how automatic dispatch routed it (the dispatch queue, the case file)."""

    routing: RoutingOut | None = Field(
        default=None, description="how automatic dispatch read, placed and routed the case"
    )
