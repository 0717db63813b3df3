"""Reading a request: from the classifier's label probabilities to scored town categories.

The classifier knows coarse labels (城乡建设, 环境保护, …) learned from real citizen
messages; the town knows its own categories. ``dispatch.yaml`` says which categories each
label stands for, and each category's keywords pick among them:

    score(category) = Σ over the labels listing it of
                          P(label) × (1 if one of its keywords is in the text,
                                      unconfirmed_factor if it is that label's default,
                                      else 0)

capped at 1. A category under several labels adds their probabilities: the classifier
learned another city's taxonomy, where a lift complaint may be 城乡建设 or 商贸旅游, and
either way it is the town's lift category. The score stays a probability a dispatcher can
read, and the keywords that decided are recorded beside it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from townops.dispatch.config import DispatchConfig


@dataclass(frozen=True, slots=True)
class CategoryScore:
    category: str
    score: float
    label: str
    label_probability: float
    keywords: tuple[str, ...]


def keyword_hits(text: str, keywords: Sequence[str]) -> tuple[str, ...]:
    return tuple(k for k in keywords if k and k in text)


def score_categories(
    text: str,
    label_probabilities: Mapping[str, float],
    config: DispatchConfig,
    keywords_of: Mapping[str, Sequence[str]],
) -> list[CategoryScore]:
    """Every mapped category with a positive score, best first (ties: more keywords)."""
    scores: dict[str, float] = {}
    best_label: dict[str, tuple[float, str]] = {}
    hits_of: dict[str, tuple[str, ...]] = {}
    for label, categories in config.labels.items():
        p = float(label_probabilities.get(label, 0.0))
        for position, category in enumerate(categories):
            if category not in hits_of:
                hits_of[category] = keyword_hits(text, keywords_of.get(category, ()))
            if hits_of[category]:
                share = p
            elif position == 0:
                share = p * config.unconfirmed_factor
            else:
                continue
            scores[category] = scores.get(category, 0.0) + share
            if share > best_label.get(category, (-1.0, ""))[0]:
                best_label[category] = (share, label)
    ranked = [
        CategoryScore(
            category,
            round(min(1.0, score), 4),
            best_label[category][1],
            round(float(label_probabilities.get(best_label[category][1], 0.0)), 4),
            hits_of[category],
        )
        for category, score in scores.items()
        if score > 0
    ]
    ranked.sort(key=lambda s: (-s.score, -len(s.keywords)))
    return ranked
