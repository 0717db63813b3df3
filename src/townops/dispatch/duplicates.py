"""Not dispatching the same thing twice: find the open case a new one repeats.

A repeat is at the same place (micro-grid or community, as configured), in the same
category, received within the window, still being handled, and says much the same thing.
"Much the same" is the share of the shorter text's character bigrams that the other
also has: robust to the word order and filler of a phone call, and it needs no
segmentation or fitted model.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.cases.enums import State
from townops.cases.models import Case
from townops.dispatch.config import DuplicateSettings

# Open and still being worked on: a repeat of a case already answered is a new problem.
_MASTER_STATES = (
    State.received.value,
    State.dispatched.value,
    State.accepted.value,
    State.returned.value,
    State.reopened.value,
)
# A repeat is recent: the newest open cases at the place are the ones worth comparing.
_CANDIDATE_LIMIT = 50
_NOISE = re.compile(r"[\s\W_]+", re.UNICODE)


@dataclass(frozen=True, slots=True)
class DuplicateMatch:
    case_id: int
    similarity: float


def bigrams(text: str) -> frozenset[str]:
    cleaned = _NOISE.sub("", text)
    return frozenset(cleaned[i : i + 2] for i in range(len(cleaned) - 1))


def similarity(new_text: str, old_text: str) -> float:
    """Share of the shorter text's bigrams found in the other (containment, 0..1)."""
    return _containment(bigrams(new_text), bigrams(old_text))


def _containment(new: frozenset[str], old: frozenset[str]) -> float:
    if not new or not old:
        return 0.0
    return len(new & old) / min(len(new), len(old))


def place_prefix(path: str | None, depth: int) -> str | None:
    """The path of the ancestor ``depth`` levels below the root (1 = community), if any."""
    if path is None:
        return None
    segments = path.strip("/").split("/")
    if len(segments) <= depth:
        return None
    return "/".join(segments[: depth + 1]) + "/"


def find_duplicate(
    session: Session,
    *,
    case: Case,
    settings: DuplicateSettings,
    levels: list[str],
) -> DuplicateMatch | None:
    if not settings.enabled or case.jurisdiction_path is None:
        return None
    depth = levels.index(settings.same_place) if settings.same_place in levels else 1
    prefix = place_prefix(case.jurisdiction_path, depth) or place_prefix(case.jurisdiction_path, 1)
    if prefix is None:
        return None
    since = case.received_at - timedelta(days=settings.window_days)
    candidates = session.execute(
        select(Case.id, Case.content)
        .where(
            Case.id != case.id,
            Case.category_code == case.category_code,
            Case.state.in_(_MASTER_STATES),
            Case.duplicate_of_id.is_(None),
            Case.received_at >= since,
            Case.received_at <= case.received_at,
            Case.jurisdiction_path.startswith(prefix, autoescape=True),
        )
        .order_by(Case.received_at.desc())
        .limit(_CANDIDATE_LIMIT)
    ).all()
    best: DuplicateMatch | None = None
    new = bigrams(case.content)
    for case_id, content in candidates:
        score = _containment(new, bigrams(content))
        if score >= settings.min_similarity and (best is None or score > best.similarity):
            best = DuplicateMatch(case_id, round(score, 3))
    return best
