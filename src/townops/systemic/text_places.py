"""Places named in a citizen's message (no coordinates): estates, roads, schools, villages.

A message such as "A2区丽发新城小区附近修建搅拌厂" names its place in the text. A place is a
jieba word ending in a place suffix (小区, 花园, 苑, 路, 大道, 小学, 村 …) together with the
name words before it, walked back to a boundary: punctuation, a masked area ("A市",
"A2区"), a verb or function word, or a larger place (街道, 镇, a road before an estate).
Words jieba tags as place names (``ns``) are the fallback when no suffix matches.

Keys are normalised so that "丽发新城小区" and "丽发新城" are one place;
:func:`canonical_keys` then folds a longer spelling into a shorter one it ends with
("泉塘中国铁建国际城" → "中国铁建国际城").
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum

import jieba.posseg  # type: ignore[import-untyped]

from townops.systemic.terms import MASKED_AREA, _jieba


class PlaceKind(StrEnum):
    estate = "estate"  # 小区, 花园, 苑, 公寓, 大厦 …
    institution = "institution"  # schools, hospitals, markets, parks
    road = "road"  # 路, 街, 大道 …
    village = "village"  # 村, 社区
    named = "named"  # a word jieba tags as a place name (ns), no suffix


# Most specific first: a message naming an estate on a road is about the estate.
SPECIFICITY = {
    PlaceKind.estate: 0,
    PlaceKind.institution: 0,
    PlaceKind.road: 1,
    PlaceKind.village: 2,
    PlaceKind.named: 3,
}

_ESTATE_SUFFIXES = """
    小区 花园 花苑 华苑 家园 新城 新村 公寓 山庄 华庭 庭院 大厦 公馆 宿舍 佳园 嘉园 雅苑 名苑 名城
    国际 苑 园 城 府 郡 湾 院
"""
_INSTITUTION_SUFFIXES = """
    学校 小学 中学 一中 二中 学院 大学 幼儿园 医院 卫生院 市场 公园 车站 广场 工地 搅拌站 搅拌厂
    工厂 酒店 商场 景区 物流园 产业园
"""
_ROAD_SUFFIXES = "大道 大街 路 街 巷 高速 大桥 立交桥 隧道"
_VILLAGE_SUFFIXES = "社区 村"
# Longest first, so "花园" wins over "园".
_SUFFIXES: tuple[tuple[str, PlaceKind], ...] = tuple(
    sorted(
        (
            (suffix, kind)
            for text, kind in (
                (_ESTATE_SUFFIXES, PlaceKind.estate),
                (_INSTITUTION_SUFFIXES, PlaceKind.institution),
                (_ROAD_SUFFIXES, PlaceKind.road),
                (_VILLAGE_SUFFIXES, PlaceKind.village),
            )
            for suffix in text.split()
        ),
        key=lambda pair: -len(pair[0]),
    )
)
# Larger units: a place name never reaches back across them.
_LARGER = ("街道", "办事处", "镇", "乡", "省", "市", "区", "县", "开发区", "新区", "高新区")

# Words that end in a suffix but are not a place's name.
_GENERIC_TEXT = """
    小区 花园 家园 公寓 大厦 广场 宿舍 城 园 院 府 郡 湾 苑 道路 马路 公路 街 路 村 社区 中心
    市场 公园 学校 医院 大道 大街 巷 学院 大学 小学 中学 幼儿园 一路 沿路 走路 出路 小路 大路 老路
    山路 水路 线路 网路 电路 思路 门路 全路 半路 农村 城市 县城 城区 全城 省城 老城 商城 家乡
    乡村 村组 院子 法院 小组 政府 市政府 县政府 区政府 人民政府 工地 工厂 酒店 商场 车站 景区 卫生院
    新城 新村 老小区 新小区 本小区 该小区 我小区 整个小区 各小区 周边小区 附近小区 老旧小区 安置小区
    居民小区 住宅小区 商品房小区 国际 院内 城里 城管 小学校 住宅 工业园 城中村 行政村 自然村
    街道 巷子 大院 庭院 公馆 保障房小区 公租房小区 大学城 中华人民共和国
"""
_GENERIC = frozenset(_GENERIC_TEXT.split())
# Leading words that point at a place without naming it ("该小区", "我们小区").
_DEICTIC_TEXT = "该 本 我们 我 这个 那个 此 各 全 整个 周边 附近 某"
_DEICTIC = tuple(_DEICTIC_TEXT.split())
# Type words before a suffix make a kind of place, not a name: "人民医院", "农贸市场" are in
# every district, so they cannot locate a message on their own.
_TYPE_WORDS_TEXT = """
    人民 商业 职业 技术 农贸 实验 公交 公交车 中央 城际 森林 公办 民办 民族 中心 口腔 高速 文化
    中小 风景 人才 中级 公司 附属 第一 第二 第三 中医 妇幼 儿童 社区 农村 乡镇 村级 城市 市民
    国际 培训 师范 理工 工商 体育 综合 国家 普惠性 小区 新建 安置
"""
_TYPE_WORDS = frozenset(_TYPE_WORDS_TEXT.split())
# Endings of words that take a place suffix but are not places.
_NOT_PLACE_TEXT = """
    政府 共和国 法院 检察院 线路 道路 铁路 公路 跑路 无路 马路 网路 电路 思路 出路 快速路 小路 水路
    山路 大街小巷 街巷 城管 修路 让路 带路 问路 过路 上路 挡路 堵路
"""
_NOT_PLACE_ENDINGS = tuple(_NOT_PLACE_TEXT.split())
# Words of two characters or more with these parts of speech end a name when walking left;
# a single character ends it only when it is one of the function words below, because
# jieba tags many one-character name parts (含, 之, 明) as verbs or particles.
_BOUNDARY_POS = ("v", "p", "c", "d", "r", "u", "t", "f", "q", "y", "e", "o", "x", "w", "m")
_ADJACENT_BOUNDARY_POS = ("v", "p", "c", "d", "r", "u", "y", "e", "o", "x", "w")
_ADDRESS_KINDS = (PlaceKind.road, PlaceKind.village)
_BUILDING_KINDS = (PlaceKind.estate, PlaceKind.institution)
# "长江路路灯", "青松村村道": jieba glues the suffix to the next word ("路路", "村村").
_DOUBLED_SUFFIX = re.compile(r"([路村街])(?=\1)")
_BOUNDARY_TEXT = """
    在 的 了 对 向 把 给 被 是 和 与 及 从 到 至 将 为 请 住 近 旁 让 使 我 有 由 于 就 也 都 还
    又 很 不 没 要 想 去 来 说 叫 称 里 内 外 边 前 后 上 下 个 座 条 所 间 位 次 离 像 如 走 问
    号 年度 时间 小孩 孩子 业主 居民 市民 学生 家长 附近 对面 旁边 周边 门口 地铁 公交车
"""
_BOUNDARY_WORDS = frozenset(_BOUNDARY_TEXT.split())
# Phase and building numbers do not make another place: 二期, 3栋, 5号.
_TRAILING_NUMBER = re.compile(r"(?:[0-9一二三四五六七八九十]+(?:期|栋|号楼|号|单元))+$")
_LEADING_NUMBER = re.compile(r"^[0-9A-Za-z]+号?")
_SEGMENT_SPLIT = re.compile(r"[\s，,。.！!？?；;：:、（）()\[\]【】“”\"'《》<>|/~～—\-]+")
_NAME_CHARS = re.compile(r"^[\u4e00-\u9fff0-9A-Za-z]+$")
_MAX_NAME = 12


@dataclass(frozen=True, slots=True)
class PlaceMention:
    text: str  # as written, e.g. "丽发新城小区"
    key: str  # normalised, e.g. "丽发新城"
    kind: PlaceKind
    position: int  # order in the text: earlier mentions win ties


def area_of(text: str) -> str | None:
    """The masked district or county the message names ("A3区", "A7县"), if any."""
    for match in MASKED_AREA.finditer(text):
        if match.group()[-1] in "区县":
            return match.group()
    return None


def normalise_place(name: str) -> str:
    """A place key: without a trailing 小区/社区 or phase/building number."""
    key = _TRAILING_NUMBER.sub("", name)
    for tail in ("小区", "社区"):
        if key.endswith(tail) and len(key) - len(tail) >= 2:
            key = key[: -len(tail)]
    return _LEADING_NUMBER.sub("", key)


def _suffix_kind(word: str) -> tuple[str, PlaceKind] | None:
    for suffix, kind in _SUFFIXES:
        if word.endswith(suffix):
            return suffix, kind
    return None


def _is_larger_unit(word: str) -> bool:
    return any(word.endswith(unit) for unit in _LARGER)


def _ends_name(word: str, flag: str, kind: PlaceKind, *, adjacent: bool) -> bool:
    if word in _BOUNDARY_WORDS or not _NAME_CHARS.match(word) or _is_larger_unit(word):
        return True
    before = _suffix_kind(word)
    # A road or village before an estate or school is its address, not its name.
    if before and before[1] in _ADDRESS_KINDS and kind in _BUILDING_KINDS:
        return True
    # Right before the suffix jieba often mis-tags a name part as a time or number
    # ("明月/t 小区"); further left such words are the sentence again.
    boundary = _ADJACENT_BOUNDARY_POS if adjacent else _BOUNDARY_POS
    return len(word) >= 2 and flag != "vn" and flag.startswith(boundary)


def _usable(name: str, suffix: str) -> bool:
    core = name[: -len(suffix)] if name.endswith(suffix) else name
    return (
        len(core) >= 2
        and name not in _GENERIC
        and core not in _TYPE_WORDS
        and not name.startswith(_DEICTIC)
        and not name.endswith(_NOT_PLACE_ENDINGS)
        and not _is_larger_unit(core)
    )


def _extends_name(word: str) -> bool:
    # A bare one-character suffix ("城" after "辉煌/国际") continues the name before it.
    return (
        _suffix_kind(word) is not None
        and (word not in _GENERIC or len(word) == 1)
        and not word.endswith(_NOT_PLACE_ENDINGS)
    )


def _segment_places(words: list[tuple[str, str]], offset: int) -> list[PlaceMention]:
    found: list[PlaceMention] = []
    for i, (word, _flag) in enumerate(words):
        matched = _suffix_kind(word)
        # "汽配城" in "汽配城路" is part of the road's name, not a place of its own.
        if matched is None or (i + 1 < len(words) and _extends_name(words[i + 1][0])):
            continue
        suffix, kind = matched
        parts = [word]
        j = i - 1
        while j >= 0 and sum(map(len, parts)) < _MAX_NAME:
            previous, flag = words[j]
            if _ends_name(previous, flag, kind, adjacent=j == i - 1):
                break
            parts.insert(0, previous)
            j -= 1
        name = "".join(parts)
        if _usable(name, suffix):
            key = normalise_place(name)
            if len(key) >= 2 and key not in _GENERIC:
                found.append(PlaceMention(name, key, kind, offset + i))
    return found


def _named_places(words: list[tuple[str, str]], offset: int) -> list[PlaceMention]:
    return [
        PlaceMention(word, word, PlaceKind.named, offset + i)
        for i, (word, flag) in enumerate(words)
        if flag == "ns" and len(word) >= 3 and not _is_larger_unit(word) and word not in _GENERIC
    ]


def find_places(text: str) -> list[PlaceMention]:
    """Every place mention in ``text``, in order."""
    cleaned = _DOUBLED_SUFFIX.sub(r"\1|", MASKED_AREA.sub("|", text))
    _jieba()  # loads the dictionary quietly once
    cutter = jieba.posseg.dt
    mentions: list[PlaceMention] = []
    offset = 0
    for segment in _SEGMENT_SPLIT.split(cleaned):
        if not segment:
            continue
        words = [(p.word, p.flag) for p in cutter.lcut(segment)]
        mentions.extend(_segment_places(words, offset) or _named_places(words, offset))
        offset += len(words)
    return mentions


def main_place(title: str, detail: str, *, detail_chars: int = 160) -> PlaceMention | None:
    """The place a message is about: the most specific one in the title, else in the
    opening of the detail (where people say where they live)."""
    for text in (title, detail[:detail_chars]):
        mentions = find_places(text)
        if mentions:
            return min(mentions, key=lambda m: (SPECIFICITY[m.kind], m.position))
    return None


def canonical_keys(
    keys: Iterable[str], *, min_chars: int = 4, max_prefix: int = 3
) -> dict[str, str]:
    """Fold a key into the shortest other key it ends with, when what comes before is short
    (a subdistrict, a developer, a stray word: "星沙深业睿城" → "深业睿城")."""
    distinct = sorted(set(keys), key=len)
    mapping: dict[str, str] = {}
    for key in distinct:
        shorter = next(
            (
                k
                for k in distinct
                if min_chars <= len(k) < len(key)
                and len(key) - len(k) <= max_prefix
                and key.endswith(k)
            ),
            None,
        )
        mapping[key] = mapping.get(shorter, shorter) if shorter else key
    return mapping


def most_common_area(areas: Mapping[str, Counter[str]], key: str) -> str:
    counts = areas.get(key)
    return counts.most_common(1)[0][0] if counts else ""
