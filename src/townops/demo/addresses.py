"""Realistic addresses for a town, and how well the gazetteer locates them.

``realistic_addresses`` generates addresses the way callers say them — estates with house
and room numbers, roads with 号/弄 (some in full-width digits or with spaces),
communities with 居委/居民区/村, landmarks, road crossings, one-character typos in long
names, and texts naming no place or only an ambiguous road — each with the community it
should land in; ``score`` counts how many the gazetteer placed right, placed wrong, or
left to a dispatcher. Used by the tests and by ``bench/locate.py`` (which also times it).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass

from sqlalchemy.orm import Session

from townops.gazetteer.service import locate_text
from townops.townfiles.schema import Road, RoadSegment, Town


@dataclass(frozen=True)
class Sample:
    text: str
    community: str | None
    """The community the text should land in; None when no usable place may be found."""
    kind: str


_BEFORE = (
    "",
    "我住在",
    "家住",
    "高行镇",
    "浦东新区高行镇",
    "你好，我是",
    "投诉",
    "市民来电反映：",
    "来电人称其居住在",
)
# What a 12345 order says around the address, so texts have their real length.
_CONTEXT = (
    "",
    "",
    "，要求相关部门尽快处理。",
    "，已经反映过多次一直没有解决，希望尽快派人来看看。",
    "，晚上十点以后还很吵，影响老人休息，请核实处理。",
)
_AFTER_ESTATE = (
    "",
    "3号楼",
    "12号楼502室",
    "门口垃圾没人清理",
    "7号楼楼下有人半夜唱歌",
    "东门的路灯坏了",
    "地下车库漏水",
    "电梯又坏了",
)
_AFTER_ROAD = ("", "门口", "附近有人占道经营", "旁边的窨井盖丢了", "，下水道堵了")
_AFTER_LANDMARK = ("门口", "附近", "对面的人行道", "旁边", "东侧")
_NO_PLACE = (
    "楼上漏水到我家天花板",
    "路灯坏了好几天了",
    "小区绿地被人占用种菜",
    "我要咨询一下社保卡怎么办理",
    "晚上工地施工太吵了",
    "外卖电瓶车在楼道里充电",
    "邻居养狗不拴绳",
    "菜场门口乱停车",
)
_COMMON_CHARACTERS = "的是在有人这中大上个到说们为子和地出也时年得就那要下以生会"
_FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")


def _community_of(town: Town, code: str) -> str:
    node = town.jurisdiction(code)
    if node.level == "community":
        return node.code
    return next(a.code for a in town.ancestors(code) if a.level == "community")


def _number_in(segment: RoadSegment, rng: random.Random) -> int:
    number = rng.randint(segment.number_from, segment.number_to)
    if segment.parity != "all" and (number % 2 == 1) != (segment.parity == "odd"):
        number = number + 1 if number < segment.number_to else number - 1
    return number


def _house_number(number: int, rng: random.Random) -> str:
    text = rng.choice((f"{number}号", f"{number}弄{rng.randint(1, 40)}号", f"{number}弄"))
    if rng.random() < 0.15:
        text = text.translate(_FULL_WIDTH)
    if rng.random() < 0.1:
        text = " " + text.replace("号", " 号").replace("弄", " 弄 ")
    return text


def _typo(name: str, rng: random.Random) -> str:
    position = rng.randrange(1, len(name) - 1)
    return name[:position] + rng.choice(_COMMON_CHARACTERS) + name[position + 1 :]


def _road_communities(town: Town, road: Road) -> set[str]:
    return {_community_of(town, s.jurisdiction) for s in road.segments}


class _Maker:
    def __init__(self, town: Town, rng: random.Random) -> None:
        assert town.gazetteer is not None, "the town has no gazetteer.yaml"
        self.town = town
        self.rng = rng
        gazetteer = town.gazetteer
        self.estates = gazetteer.estates
        self.landmarks = gazetteer.landmarks
        self.roads = gazetteer.roads
        self.one_community_roads = [r for r in self.roads if len(_road_communities(town, r)) == 1]
        self.ambiguous_roads = [r for r in self.roads if len(_road_communities(town, r)) > 1]
        self.crossings = [
            (a, b, shared.pop())
            for i, a in enumerate(self.roads)
            for b in self.roads[i + 1 :]
            if len(shared := _road_communities(town, a) & _road_communities(town, b)) == 1
        ]
        self.communities = town.at_level("community")

    def estate(self) -> Sample:
        rng = self.rng
        estate = rng.choice(self.estates)
        said = rng.choice([estate.name, estate.name, *estate.aliases])
        text = rng.choice(_BEFORE) + said + rng.choice(_AFTER_ESTATE)
        return Sample(text, _community_of(self.town, estate.jurisdiction), "estate")

    def estate_typo(self) -> Sample:
        rng = self.rng
        estate = rng.choice([e for e in self.estates if len(e.name) >= 5])
        text = rng.choice(_BEFORE) + _typo(estate.name, rng) + rng.choice(_AFTER_ESTATE)
        return Sample(text, _community_of(self.town, estate.jurisdiction), "typo")

    def road_number(self) -> Sample:
        rng = self.rng
        road = rng.choice(self.roads)
        segment = rng.choice(road.segments)
        number = _number_in(segment, rng)
        text = rng.choice(_BEFORE) + road.name + _house_number(number, rng)
        text += rng.choice(_AFTER_ROAD)
        return Sample(text, _community_of(self.town, segment.jurisdiction), "road+number")

    def road_alone(self) -> Sample:
        road = self.rng.choice(self.one_community_roads)
        text = self.rng.choice(_BEFORE) + road.name + self.rng.choice(_AFTER_ROAD)
        return Sample(text, _community_of(self.town, road.segments[0].jurisdiction), "road")

    def crossing(self) -> Sample:
        a, b, community = self.rng.choice(self.crossings)
        text = self.rng.choice(
            (f"{a.name}{b.name}路口", f"{a.name}近{b.name}", f"{b.name}{a.name}口")
        )
        return Sample(self.rng.choice(_BEFORE) + text + "红绿灯坏了", community, "crossing")

    def community(self) -> Sample:
        rng = self.rng
        node = rng.choice(self.communities)
        said = rng.choice([node.name_zh, *node.aliases])
        if len(said) <= 2 or rng.random() < 0.3:
            said += rng.choice(("居委", "居民区", "居委会"))
        return Sample(
            rng.choice(_BEFORE) + said + rng.choice(_AFTER_ESTATE), node.code, "community"
        )

    def landmark(self) -> Sample:
        rng = self.rng
        landmark = rng.choice(self.landmarks)
        said = rng.choice([landmark.name, *landmark.aliases])
        text = rng.choice(_BEFORE) + said + rng.choice(_AFTER_LANDMARK)
        return Sample(text, _community_of(self.town, landmark.jurisdiction), "landmark")

    def ambiguous_road(self) -> Sample:
        road = self.rng.choice(self.ambiguous_roads)
        return Sample(road.name + self.rng.choice(_AFTER_ROAD), None, "ambiguous road")

    def no_place(self) -> Sample:
        return Sample(self.rng.choice(_BEFORE) + self.rng.choice(_NO_PLACE), None, "no place")


def realistic_addresses(town: Town, count: int, *, seed: int = 7) -> list[Sample]:
    """``count`` addresses with the community each should land in (deterministic)."""
    maker = _Maker(town, random.Random(seed))
    mix = [
        (maker.estate, 30),
        (maker.road_number, 25),
        (maker.community, 12),
        (maker.landmark, 8),
        (maker.estate_typo, 5),
        (maker.road_alone, 5),
        (maker.crossing, 3),
        (maker.ambiguous_road, 5),
        (maker.no_place, 7),
    ]
    makers = [make for make, weight in mix for _ in range(weight)]
    samples = [maker.rng.choice(makers)() for _ in range(count)]
    return [Sample(s.text + maker.rng.choice(_CONTEXT), s.community, s.kind) for s in samples]


@dataclass(frozen=True)
class Score:
    right: int  # usable and in the expected community
    wrong: int  # usable but elsewhere, or usable where no place should be
    left_to_dispatcher: int
    by_kind: dict[str, Counter[str]]

    @property
    def total(self) -> int:
        return self.right + self.wrong + self.left_to_dispatcher


def score(session: Session, samples: list[Sample]) -> Score:
    counts: Counter[str] = Counter()
    by_kind: dict[str, Counter[str]] = {}
    for sample in samples:
        result = locate_text(session, sample.text)
        if not result.usable or result.best is None:
            outcome = "left" if sample.community is not None else "right"
        elif result.best.community_code == sample.community:
            outcome = "right"
        else:
            outcome = "wrong"
        counts[outcome] += 1
        by_kind.setdefault(sample.kind, Counter())[outcome] += 1
    return Score(counts["right"], counts["wrong"], counts["left"], by_kind)
