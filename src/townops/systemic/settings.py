"""What counts as a systemic issue (举一反三): the detector's settings.

A town sets them under ``systemic:`` in ``dispatch.yaml`` (town section
``dispatch.systemic``: ``profile.config(SystemicSettings)``); kept free of the detector's
imports so the town schema can validate them cheaply.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from townops.towns.sections import town_section


@town_section("dispatch.systemic")
class SystemicSettings(BaseModel):
    """What counts as a systemic issue. Defaults suit a town's 12345 flow."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    window_weeks: int = Field(12, ge=1, le=520, description="Look-back window ending now.")
    min_cases: int = Field(4, ge=2, description="Cases a cluster needs.")
    min_weeks: int = Field(3, ge=1, description="Distinct ISO weeks the cases must span.")
    similarity_threshold: float = Field(
        0.2,
        gt=0,
        le=1,
        description="Average cosine similarity of weighted word vectors at which two text "
        "clusters merge.",
    )
    slope_threshold: float = Field(
        0.1,
        ge=0,
        description="Least-squares slope of weekly counts (cases/week per week) beyond which "
        "the trend is rising (>= +t) or falling (<= -t); in between it is steady.",
    )
    generic_share: float = Field(
        0.1,
        gt=0,
        le=1,
        description="A word used by this share of the window's cases or more carries no "
        "weight in similarity (物业, 办理): it says nothing about which problem it is.",
    )
    text_features: Literal["nouns", "words"] = Field(
        "nouns",
        description="What similarity compares: nouns (what a ticket is about: 电梯, 漏水; "
        "short tickets sharing one such word stay together) or words (every content word "
        "and the shorter words inside long ones: long free-text messages).",
    )
    min_reporters: int = Field(
        1,
        ge=1,
        description="Different reporters a cluster needs (1: any; one persistent "
        "caller repeating a complaint is then an issue too).",
    )
    label_terms: int = Field(4, ge=3, le=5, description="Words in a topic label.")

    @model_validator(mode="after")
    def _weeks_fit_window(self) -> SystemicSettings:
        if self.min_weeks > self.window_weeks + 1:
            raise ValueError("min_weeks cannot exceed the weeks a window can touch")
        return self
