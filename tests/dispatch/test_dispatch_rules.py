"""The rules of automatic dispatch, without a database: reading, routing, repeats."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from townops.dispatch.config import DispatchConfig, RoutingRule
from townops.dispatch.duplicates import place_prefix, similarity
from townops.dispatch.rules import DEFAULT_RULE, match_rule
from townops.dispatch.service import confidence_of
from townops.dispatch.understand import CategoryScore, score_categories

CONFIG = DispatchConfig.model_validate(
    {
        "labels": {
            "城乡建设": ["property_service", "lift_failure", "house_leak"],
            "环境保护": ["sanitation", "noise_neighbourhood"],
        },
        "unconfirmed_factor": 0.5,
        "rules": [
            {
                "name": "site-noise",
                "categories": ["noise_neighbourhood"],
                "keywords": ["工地", "施工"],
                "department": "urban_management",
            },
            {
                "name": "lifts-in-nanxin",
                "categories": ["lift_failure"],
                "places": ["C2"],
                "community": True,
            },
        ],
    }
)
KEYWORDS = {
    "property_service": ["物业"],
    "lift_failure": ["电梯"],
    "house_leak": ["漏水"],
    "sanitation": ["垃圾"],
    "noise_neighbourhood": ["噪音"],
}


def test_a_keyword_picks_the_category_within_the_label() -> None:
    ranked = score_categories(
        "小区电梯坏了三天", {"城乡建设": 0.9, "环境保护": 0.1}, CONFIG, KEYWORDS
    )
    assert ranked[0].category == "lift_failure"
    # label and keyword agree: 1 - (1 - 0.5) x (1 - 0.9)
    assert ranked[0].score == pytest.approx(0.95)
    assert ranked[0].keywords == ("电梯",)


def test_without_keywords_the_labels_default_counts_for_less() -> None:
    ranked = score_categories(
        "我要反映一个问题", {"城乡建设": 0.8, "环境保护": 0.2}, CONFIG, KEYWORDS
    )
    assert [s.category for s in ranked] == ["property_service", "sanitation"]
    assert ranked[0].score == pytest.approx(0.4)  # 0.8 x unconfirmed_factor 0.5
    assert ranked[0].keywords == ()


def test_a_keyword_in_a_less_likely_label_can_still_win() -> None:
    # The label says construction, but only the environment category is confirmed.
    ranked = score_categories(
        "楼下垃圾没人清运", {"城乡建设": 0.55, "环境保护": 0.45}, CONFIG, KEYWORDS
    )
    assert ranked[0].category == "sanitation"
    assert ranked[0].score == pytest.approx(1 - 0.5 * 0.55)
    assert ranked[1].category == "property_service"  # the default, unconfirmed: 0.55 x 0.5
    assert ranked[1].score == pytest.approx(0.275)


def test_the_first_matching_rule_wins_and_keywords_must_hit() -> None:
    site = match_rule(
        CONFIG.rules,
        category="noise_neighbourhood",
        category_department="police_station",
        text="隔壁工地半夜施工",
        path="T/C1/G1/",
        community="C1",
    )
    assert (site.rule, site.department, site.keywords) == (
        "site-noise",
        "urban_management",
        ("工地", "施工"),
    )
    dance = match_rule(
        CONFIG.rules,
        category="noise_neighbourhood",
        category_department="police_station",
        text="广场舞音响太吵",
        path="T/C1/G1/",
        community="C1",
    )
    assert (dance.rule, dance.department) == (DEFAULT_RULE, "police_station")


def test_a_place_rule_matches_only_inside_its_subtree_and_needs_a_community() -> None:
    args = {"category": "lift_failure", "category_department": "housing_office", "text": "电梯"}
    inside = match_rule(CONFIG.rules, path="T/C2/G7/", community="C2", **args)
    assert (inside.rule, inside.community, inside.department) == ("lifts-in-nanxin", "C2", None)
    outside = match_rule(CONFIG.rules, path="T/C1/G1/", community="C1", **args)
    assert (outside.rule, outside.department) == (DEFAULT_RULE, "housing_office")
    nowhere = match_rule(CONFIG.rules, path=None, community=None, **args)
    assert nowhere.rule == DEFAULT_RULE


def test_a_rule_needs_exactly_one_target() -> None:
    with pytest.raises(ValidationError, match="exactly one target"):
        RoutingRule.model_validate({"name": "both", "department": "x", "community": True})
    with pytest.raises(ValidationError, match="exactly one target"):
        RoutingRule.model_validate({"name": "none"})


def test_rule_names_are_unique_and_a_category_has_one_label() -> None:
    with pytest.raises(ValidationError, match="unique: a"):
        DispatchConfig.model_validate(
            {"rules": [{"name": "a", "department": "x"}, {"name": "a", "department": "y"}]}
        )
    with pytest.raises(ValidationError, match="listed twice: sanitation"):
        DispatchConfig.model_validate({"labels": {"A": ["sanitation", "x", "sanitation"]}})


def test_a_category_under_two_labels_adds_their_probabilities() -> None:
    both = CONFIG.model_copy(
        update={"labels": {**CONFIG.labels, "商贸旅游": ["consumer_complaint", "lift_failure"]}}
    )
    probabilities = {"城乡建设": 0.2, "商贸旅游": 0.7, "环境保护": 0.1}
    ranked = score_categories("电梯坏了", probabilities, both, KEYWORDS)
    assert ranked[0].category == "lift_failure"
    assert ranked[0].score == pytest.approx(1 - 0.5 * (1 - 0.9))  # P = 0.2 + 0.7
    assert ranked[0].label == "商贸旅游"  # the label that said the most
    assert both.label_of("lift_failure") == "城乡建设"  # learns under the first


def test_a_category_maps_back_to_its_label_for_learning() -> None:
    assert CONFIG.label_of("house_leak") == "城乡建设"
    assert CONFIG.label_of("gas_smell") is None
    assert CONFIG.threshold_for("anything") == CONFIG.default_threshold


def test_repeats_are_found_by_shared_wording_not_by_order_or_filler() -> None:
    first = "森兰名轩3号楼电梯又坏了，老人下不了楼"
    again = "你好，我是森兰名轩的，3号楼的电梯又坏了！老人没法下楼"
    other = "小区门口的路灯不亮，晚上很黑"
    assert similarity(again, first) > 0.6
    assert similarity(other, first) < 0.2
    assert similarity("", first) == 0.0


def test_the_place_prefix_is_cut_at_the_configured_level() -> None:
    path = "310115121/310115121020/G1/B3/"
    assert place_prefix(path, 1) == "310115121/310115121020/"
    assert place_prefix(path, 2) == "310115121/310115121020/G1/"
    assert place_prefix("310115121/310115121020/", 2) is None
    assert place_prefix(None, 1) is None


def test_each_more_keyword_halves_the_remaining_doubt() -> None:
    keywords = {**KEYWORDS, "noise_neighbourhood": ["噪音", "广场舞", "音响"]}
    probabilities = {"城乡建设": 0.9, "环境保护": 0.1}  # the label disagrees
    one = score_categories("楼下噪音", probabilities, CONFIG, keywords)
    three = score_categories("楼下广场舞音响噪音", probabilities, CONFIG, keywords)
    assert one[0].category == "noise_neighbourhood"
    assert one[0].score == pytest.approx(1 - 0.5 * 0.9)
    assert three[0].score == pytest.approx(1 - 0.125 * 0.9)


def test_confidence_is_discounted_by_how_close_the_runner_up_comes() -> None:
    clear = [CategoryScore("a", 0.9, "L", 0.9, ("k",)), CategoryScore("b", 0.1, "L", 0.1, ())]
    split = [CategoryScore("a", 0.8, "L", 0.5, ("k",)), CategoryScore("b", 0.8, "M", 0.5, ("j",))]
    assert confidence_of(clear) == pytest.approx(0.81)
    assert confidence_of(split) == pytest.approx(0.4)
    assert confidence_of([]) == 0.0
