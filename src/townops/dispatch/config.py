"""Schema of a town's ``dispatch.yaml``: how automatic dispatch (自动指令) reads and routes.

Everything a town tunes is here, not in code: which town category each classifier label
stands for, the confidence a category needs before a case is dispatched without a person,
the routing rules (first match wins), what counts as a repeat, and the systemic-issue
detector's window. The file is optional; without it nothing is dispatched automatically
but every case still gets suggestions.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

from townops.systemic import SystemicSettings
from townops.towns.sections import Reference, town_section

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RoutingRule(_Model):
    """category × place × keywords → department or the case's own community.

    Empty ``categories`` / ``places`` / ``keywords`` match anything; a rule matches when
    every non-empty condition does (any one keyword is enough).
    """

    name: Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_-]*$", max_length=80)]
    categories: list[Text] = Field(default_factory=list)
    places: list[Text] = Field(default_factory=list, description="jurisdiction codes (subtrees)")
    keywords: list[Text] = Field(default_factory=list)
    department: Text | None = None
    community: bool = Field(default=False, description="send to the case's own community")
    note: str = ""

    @model_validator(mode="after")
    def _one_target(self) -> RoutingRule:
        if (self.department is None) == (not self.community):
            raise ValueError(
                "a rule needs exactly one target: 'department: CODE' or 'community: true'"
            )
        return self


class DuplicateSettings(_Model):
    """A new case repeats an open one: same place, same category, similar words, recent."""

    enabled: bool = True
    window_days: Annotated[int, Field(gt=0, le=365)] = 14
    # Share of the shorter text's character bigrams found in the other text.
    min_similarity: Probability = 0.45
    same_place: Annotated[str, StringConstraints(pattern=r"^(micro_grid|community)$")] = (
        "micro_grid"
    )


@town_section("dispatch")
class DispatchConfig(_Model):
    auto_dispatch: bool = Field(
        default=False, description="dispatch without a person when confident (else suggest only)"
    )
    default_threshold: Probability = 0.7
    thresholds: dict[Text, Probability] = Field(
        default_factory=dict, description="per-category confidence thresholds"
    )
    # Classifier label → the town categories it stands for; the first is the label's default.
    # A category may sit under several labels (lift complaints come labelled 城乡建设 or
    # 商贸旅游 in the training data): its score adds up; it learns under the first.
    labels: dict[Text, Annotated[list[Text], Field(min_length=1)]] = Field(default_factory=dict)
    # Each distinct keyword of a category in the text removes this share of the doubt.
    keyword_weight: Probability = 0.5
    # A label's default category chosen without one of its keywords: its score is scaled.
    unconfirmed_factor: Probability = 0.5
    # Categories that need no place to be dispatched (consultations, advice).
    placeless_categories: list[Text] = Field(default_factory=list)
    rules: list[RoutingRule] = Field(default_factory=list)
    duplicates: DuplicateSettings = Field(default_factory=DuplicateSettings)
    # 举一反三: what counts as a systemic issue (townops.systemic).
    systemic: SystemicSettings = Field(default_factory=SystemicSettings)

    @model_validator(mode="after")
    def _unique(self) -> DispatchConfig:
        names = [r.name for r in self.rules]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"rule names must be unique: {', '.join(repeated)}")
        for label, categories in self.labels.items():
            twice = sorted({c for c in categories if categories.count(c) > 1})
            if twice:
                raise ValueError(f"label {label}: categories listed twice: {', '.join(twice)}")
        return self

    def references(self) -> list[Reference]:
        """Every category, department and place dispatch.yaml names: the town loader checks
        each exists."""
        refs = [Reference(("thresholds", code), "category", code) for code in self.thresholds]
        for label, codes in self.labels.items():
            refs += [Reference(("labels", label, i), "category", c) for i, c in enumerate(codes)]
        refs += [
            Reference(("placeless_categories", i), "category", code)
            for i, code in enumerate(self.placeless_categories)
        ]
        for r, rule in enumerate(self.rules):
            refs += [
                Reference(("rules", r, "categories", i), "category", code)
                for i, code in enumerate(rule.categories)
            ]
            refs += [
                Reference(("rules", r, "places", i), "jurisdiction", code)
                for i, code in enumerate(rule.places)
            ]
            if rule.department is not None:
                refs.append(Reference(("rules", r, "department"), "department", rule.department))
        return refs

    def threshold_for(self, category: str) -> float:
        return self.thresholds.get(category, self.default_threshold)

    def label_of(self, category: str) -> str | None:
        """The first classifier label listing a town category (to learn from corrections)."""
        for label, categories in self.labels.items():
            if category in categories:
                return label
        return None
