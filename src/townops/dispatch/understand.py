"""Reading a request: from the classifier's label probabilities to scored town categories.

The classifier knows coarse labels (城乡建设, 环境保护, …) learned from real citizen
messages of another city; the town knows its own categories and their keywords.
``dispatch.yaml`` says which categories each label stands for. Two kinds of evidence meet:

* the labels: ``P(category) = Σ P(label)`` over the labels listing it (capped at 1) — a
  category may sit under several labels (lift complaints come labelled 城乡建设 or
  商贸旅游 in the training data);
* the town's keywords: each distinct keyword of the category found in the text halves the
  remaining doubt, ``k = 1 − (1 − keyword_weight)^hits``.

They combine as independent witnesses (noisy-OR)::

    score = 1 − (1 − k) × (1 − P(category))        when a keyword hits
    score = P(category) × unconfirmed_factor          for a label's default without one
    (no score otherwise)

so a keyword the classifier agrees with makes a sure case, a keyword alone a fair one, and
a category no keyword confirms stays below the thresholds. The keywords that decided are
recorded beside the score.
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
    probability: dict[str, float] = {}
    strongest: dict[str, tuple[float, str]] = {}
    is_default: set[str] = set()
    for label, categories in config.labels.items():
        p = float(label_probabilities.get(label, 0.0))
        for position, category in enumerate(categories):
            probability[category] = probability.get(category, 0.0) + p
            if p > strongest.get(category, (-1.0, ""))[0]:
                strongest[category] = (p, label)
            if position == 0:
                is_default.add(category)
    ranked: list[CategoryScore] = []
    for category, summed in probability.items():
        p = min(1.0, summed)
        hits = keyword_hits(text, keywords_of.get(category, ()))
        if hits:
            doubt = (1.0 - config.keyword_weight) ** len(hits)
            score = 1.0 - doubt * (1.0 - p)
        elif category in is_default:
            score = p * config.unconfirmed_factor
        else:
            continue
        if score > 0:
            p_label, label = strongest[category]
            ranked.append(CategoryScore(category, round(score, 4), label, round(p_label, 4), hits))
    ranked.sort(key=lambda s: (-s.score, -len(s.keywords)))
    return ranked
