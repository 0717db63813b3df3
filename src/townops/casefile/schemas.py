"""The case file's output: a routed case with its photos."""

from __future__ import annotations

from pydantic import Field

from townops.dispatch import RoutedCaseOut
from townops.media import PhotoOut


class CaseFileOut(RoutedCaseOut):
    photos: list[PhotoOut] = Field(
        default=[], description="report and resolve photos (single-case answers only)"
    )
    category_pending: bool = Field(
        default=False,
        description="the category is still the classifier's low-confidence guess, not yet "
        "confirmed by a dispatcher: the resident's pages show 待分类 (being routed) instead",
    )
