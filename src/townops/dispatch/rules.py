"""Routing rules: category × place × keywords → who must act. First matching rule wins.

After the town's own rules comes one implicit rule, ``category-default``: the department
the category names in ``categories.yaml``. So every category always has an owner.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from townops.dispatch.config import RoutingRule

DEFAULT_RULE = "category-default"


@dataclass(frozen=True, slots=True)
class Target:
    rule: str
    department: str | None = None
    community: str | None = None
    keywords: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return self.department or f"community:{self.community}"


def _place_matches(rule: RoutingRule, path: str | None) -> bool:
    if not rule.places:
        return True
    if path is None:
        return False
    segments = path.strip("/").split("/")
    return any(code in segments for code in rule.places)


def match_rule(
    rules: Sequence[RoutingRule],
    *,
    category: str,
    category_department: str,
    text: str,
    path: str | None,
    community: str | None,
) -> Target:
    """The first rule that matches (and whose target exists), else the category's owner."""
    for rule in rules:
        if rule.categories and category not in rule.categories:
            continue
        if not _place_matches(rule, path):
            continue
        hits = tuple(k for k in rule.keywords if k in text)
        if rule.keywords and not hits:
            continue
        if rule.community:
            if community is None:
                continue  # "its own community" means nothing without a place
            return Target(rule.name, community=community, keywords=hits)
        return Target(rule.name, department=rule.department, keywords=hits)
    return Target(DEFAULT_RULE, department=category_department)
