"""Automatic dispatch (自动指令): receive a request, read it, place it, route it.

``receive_case`` is the use case behind ``POST /api/v1/cases`` and Open311 ``POST
requests``: it creates the case and, in the same transaction, decides what happens next:

1. **Read**: the category given by the caller, or the best-scoring town category from the
   classifier's label probabilities and the categories' keywords (``understand.py``).
2. **Place**: the jurisdiction given, the point, the caller's own grid, or the address text
   through the gazetteer. A place below the gazetteer's confidence is not used: such a case
   goes to the dispatcher, never to a guessed grid.
3. **Repeat?** An open case at the same place in the same category saying much the same
   thing: the new case is linked to it, not dispatched again (``duplicates.py``).
4. **Route**: the first routing rule that matches (``rules.py``).
5. **Decide**: dispatched by the system when the town allows it, the confidence reaches the
   category's threshold and the place is usable; otherwise queued for a dispatcher with the
   top three suggestions. Either way the decision, the rule and the scores are recorded.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from townops.access.actor import SYSTEM, Actor
from townops.cases import service as cases
from townops.cases.enums import Action
from townops.cases.models import Case
from townops.cases.schemas import ActionInput, CaseCreate
from townops.categories.service import CategoryInfo, all_categories
from townops.dispatch import reasons
from townops.dispatch.config import DispatchConfig
from townops.dispatch.duplicates import find_duplicate
from townops.dispatch.models import RoutingDecision
from townops.dispatch.reasons import RoutingReason
from townops.dispatch.rules import Target, match_rule
from townops.dispatch.understand import CategoryScore, score_categories
from townops.errors import InvalidInput
from townops.gazetteer.service import locate_text, usable
from townops.jurisdiction.service import place
from townops.timeutil import utcnow
from townops.towns.profile import TownProfile, get_profile

SUGGESTIONS = 3


class LabelScorer(Protocol):
    version: str

    def predict_proba(self, texts: Any) -> list[dict[str, float]]: ...


def default_scorer() -> LabelScorer:
    """The instance's retrained model (``TOWNOPS_CLASSIFIER_PATH``) or the shipped one;
    ``load_default`` caches it per file and modification time."""
    # Lazy: the classifier package loads its model module (numpy, scipy) on import.
    from townops.classifier import load_default

    return load_default()


@dataclass
class Reading:
    """What the text says: the category and how sure, with the evidence."""

    category: str
    source: str  # given | classifier
    confidence: float
    ranked: list[CategoryScore] = field(default_factory=list)
    labels: dict[str, float] = field(default_factory=dict)
    model_version: str | None = None


def read_request(
    session: Session,
    *,
    text: str,
    given_category: str | None,
    config: DispatchConfig,
    scorer: LabelScorer | None = None,
) -> Reading:
    categories = all_categories(session)
    if given_category is not None:
        if given_category not in categories:
            raise InvalidInput(f"unknown category '{given_category}'", field="category")
        return Reading(category=given_category, source="given", confidence=1.0)
    if not config.labels:
        raise InvalidInput(
            "'category' is required: this town has no classifier labels in dispatch.yaml",
            field="category",
        )
    scorer = scorer or default_scorer()
    labels = scorer.predict_proba([text])[0]
    keywords = {code: info.keywords for code, info in categories.items()}
    # The classifier reads what people write: a category only townops opens (device alarms,
    # vital-sign warnings) is never its answer, or a person's request would be refused.
    ranked = [
        s
        for s in score_categories(text, labels, config, keywords)
        if s.category in categories and categories[s.category].opened_by != "townops"
    ]
    if not ranked:
        raise InvalidInput("could not read a category from the text; give 'category'")
    return Reading(
        category=ranked[0].category,
        source="classifier",
        confidence=confidence_of(ranked),
        ranked=ranked,
        labels={k: round(v, 4) for k, v in sorted(labels.items(), key=lambda kv: -kv[1])},
        model_version=scorer.version,
    )


def confidence_of(ranked: list[CategoryScore]) -> float:
    """The best score, discounted by how close the runner-up comes: ``best² / (best +
    second)``. One clear category keeps most of its score; two whose keywords both hit
    split it, and the case goes to a person."""
    if not ranked:
        return 0.0
    best = ranked[0].score
    second = ranked[1].score if len(ranked) > 1 else 0.0
    return round(best * best / (best + second), 4) if best > 0 else 0.0


@dataclass
class PlaceFinding:
    method: str  # given | point | actor | address | none
    code: str | None = None
    confidence: float = 0.0
    usable: bool = False
    matched: str | None = None
    candidates: list[dict[str, Any]] = field(default_factory=list)
    path: str | None = None
    community: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "method": self.method,
            "code": self.code,
            "community": self.community,
            "confidence": round(self.confidence, 3),
            "usable": self.usable,
            "matched": self.matched,
            "candidates": self.candidates,
        }


def _method_of(data: CaseCreate) -> str:
    if data.jurisdiction:
        return "given"
    if data.lat is not None and data.lon is not None:
        return "point"
    return "actor"


def locate_request(session: Session, *, address: str, content: str) -> PlaceFinding:
    """The place the words name: the address first, then the description."""
    for text in (address, content):
        if not text:
            continue
        result = locate_text(session, text)
        if result.best is None:
            continue
        best = result.best
        finding = PlaceFinding(
            "address",
            best.code,
            best.confidence,
            usable=usable(result),
            matched=best.matched_text,
            candidates=[
                {"code": c.code, "name": c.name, "confidence": round(c.confidence, 3)}
                for c in result.candidates[:SUGGESTIONS]
            ],
        )
        if finding.usable:
            info = place(session, best.code)
            finding.path, finding.community = info.path, info.community_code
        # A place heard but not surely stays unused: the dispatcher decides.
        return finding
    return PlaceFinding("none")


def find_place(session: Session, *, case: Case, data: CaseCreate) -> PlaceFinding:
    """Keep the place ``create_case`` found; else look for one in the words, and use it
    only when it is sure."""
    if case.jurisdiction_code is not None:
        return PlaceFinding(
            _method_of(data),
            case.jurisdiction_code,
            1.0,
            usable=True,
            path=case.jurisdiction_path,
            community=case.community_code,
        )
    finding = locate_request(session, address=case.address, content=case.content)
    if finding.usable:
        case.jurisdiction_code = finding.code
        case.jurisdiction_path = finding.path
        case.community_code = finding.community
    return finding


def _target(
    config: DispatchConfig,
    category: CategoryInfo,
    *,
    text: str,
    path: str | None,
    community: str | None,
) -> Target:
    return match_rule(
        config.rules,
        category=category.code,
        category_department=category.department_code,
        text=text,
        path=path,
        community=community,
    )


def _suggestions(
    session: Session,
    config: DispatchConfig,
    reading: Reading,
    *,
    text: str,
    path: str | None,
    community: str | None,
) -> list[dict[str, Any]]:
    categories = all_categories(session)
    ranked = reading.ranked or [
        CategoryScore(reading.category, reading.confidence, "", reading.confidence, ())
    ]
    out: list[dict[str, Any]] = []
    for score in ranked[:SUGGESTIONS]:
        info = categories[score.category]
        target = _target(config, info, text=text, path=path, community=community)
        out.append(
            {
                "category": info.code,
                "category_name_zh": info.name_zh,
                "category_name_en": info.name_en,
                "department": target.department,
                "community": target.community,
                "rule": target.rule,
                "score": score.score,
                "keywords": list(score.keywords),
            }
        )
    return out


def _queue_reason(
    config: DispatchConfig,
    reading: Reading,
    finding: PlaceFinding,
    threshold: float,
    *,
    requested: bool,
) -> RoutingReason | None:
    """Why the case must wait for a person, or None when the system may dispatch it."""
    if not config.auto_dispatch:
        return reasons.AUTO_DISPATCH_OFF
    if not requested:
        return reasons.PERSON_REQUESTED
    if reading.confidence < threshold:
        return reasons.low_confidence(reading.confidence, threshold)
    if not finding.usable and reading.category not in config.placeless_categories:
        if finding.method == "none":
            return reasons.NO_PLACE
        return reasons.unsure_place(finding.confidence)
    return None


def _record_reason(decision: RoutingDecision, reason: RoutingReason) -> None:
    """The English sentence for API clients, the code and figures for the pages to word."""
    decision.reason = reason.text
    # A new dict, so the JSON column sees the change.
    decision.scores = {**decision.scores, reasons.SCORES_KEY: reason.stored()}


def route_case(
    session: Session,
    *,
    case: Case,
    data: CaseCreate,
    reading: Reading,
    now: datetime,
    profile: TownProfile,
) -> RoutingDecision:
    """Place, de-duplicate and route a case that was just created; record the decision."""
    config = profile.config(DispatchConfig)
    finding = find_place(session, case=case, data=data)
    category = all_categories(session)[case.category_code]
    threshold = config.threshold_for(case.category_code)
    decision = RoutingDecision(
        case_id=case.id,
        decided_at=now,
        outcome="queued",  # until decided below
        category_code=case.category_code,
        category_source=reading.source,
        confidence=round(reading.confidence, 4),
        threshold=threshold,
        model_version=reading.model_version,
        scores={
            "labels": reading.labels,
            "categories": _ranked_dicts(reading),
        },
        place=finding.as_dict(),
        suggestions=_suggestions(
            session,
            config,
            reading,
            text=case.content,
            path=case.jurisdiction_path,
            community=case.community_code,
        ),
    )
    session.add(decision)
    session.flush()

    repeat = find_duplicate(
        session, case=case, settings=config.duplicates, levels=list(profile.levels)
    )
    if repeat is not None:
        decision.duplicate_of_id = repeat.case_id
        decision.scores = {**decision.scores, "duplicate_similarity": repeat.similarity}
    if repeat is not None and data.auto_dispatch and config.auto_dispatch:
        decision.outcome = "duplicate"
        decision.automatic = True
        _record_reason(decision, reasons.repeat(repeat.case_id, repeat.similarity))
        _act(
            session,
            case,
            Action.link,
            duplicate_of=repeat.case_id,
            comment=f"关联重复件 / linked as a repeat: {decision.reason}",
            now=now,
        )
        return decision

    target = _target(
        config,
        category,
        text=case.content,
        path=case.jurisdiction_path,
        community=case.community_code,
    )
    decision.rule = target.rule
    decision.target_department = target.department
    decision.target_community = target.community
    waiting = _queue_reason(config, reading, finding, threshold, requested=data.auto_dispatch)
    if waiting is not None:
        decision.outcome = "queued"
        _record_reason(decision, waiting)
        return decision
    decision.outcome = "dispatched"
    decision.automatic = True
    _record_reason(decision, reasons.confident(target.rule, reading.confidence, threshold))
    _act(
        session,
        case,
        Action.dispatch,
        department=target.department,
        community=target.community,
        comment=f"自动派单 / automatic dispatch: {decision.reason}",
        now=now,
    )
    return decision


def _act(session: Session, case: Case, action: Action, *, now: datetime, **fields: Any) -> None:
    body = ActionInput(version=case.version, **fields)
    cases.perform_action(session, actor=SYSTEM, case_id=case.id, action=action, body=body, now=now)


def receive_case(
    session: Session,
    *,
    actor: Actor,
    data: CaseCreate,
    now: datetime | None = None,
    scorer: LabelScorer | None = None,
) -> Case:
    """Create a case and route it (the request path of every new case from outside)."""
    now = now or utcnow()
    profile = get_profile(session)
    reading = read_request(
        session,
        text=data.content,
        given_category=data.category,
        config=profile.config(DispatchConfig),
        scorer=scorer,
    )
    case = cases.create_case(
        session, actor=actor, data=data.model_copy(update={"category": reading.category}), now=now
    )
    route_case(session, case=case, data=data, reading=reading, now=now, profile=profile)
    return case


def preview(
    session: Session,
    *,
    content: str,
    address: str,
    category: str | None,
    profile: TownProfile,
    scorer: LabelScorer | None = None,
) -> dict[str, Any]:
    """What routing would make of a request, without creating anything."""
    config = profile.config(DispatchConfig)
    reading = read_request(
        session, text=content, given_category=category, config=config, scorer=scorer
    )
    finding = locate_request(session, address=address, content=content)
    return {
        "category": reading.category,
        "category_source": reading.source,
        "confidence": round(reading.confidence, 4),
        "threshold": config.threshold_for(reading.category),
        "labels": reading.labels,
        "categories": _ranked_dicts(reading),
        "place": finding.as_dict(),
        "suggestions": _suggestions(
            session,
            config,
            reading,
            text=content,
            path=finding.path,
            community=finding.community,
        ),
    }


def _ranked_dicts(reading: Reading) -> list[dict[str, Any]]:
    return [
        {"category": s.category, "score": s.score, "label": s.label, "keywords": list(s.keywords)}
        for s in reading.ranked[:5]
    ]
