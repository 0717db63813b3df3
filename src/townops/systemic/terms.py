"""Words of a complaint for clustering and labels: jieba segmentation, stop-words removed.

Clustering needs parts of speech (nouns say what a ticket is about), so this module uses
``jieba.posseg`` on jieba's process-wide tokenizer; ``townops.classifier.segment`` keeps
its own plain tokenizer for the classifier's training.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache

import jieba  # type: ignore[import-untyped]
import jieba.posseg  # type: ignore[import-untyped]

# Masked places of the citizen-message data ("A市", "A3区", "K9县", "西地省"): they name
# the city, not the problem, and would otherwise glue every message together.
MASKED_AREA = re.compile(r"[A-Z]\d{0,2}[省市区县]|西地省")
_WORDLIKE = re.compile(r"[\u4e00-\u9fff]")

# Function words and the boilerplate every complaint carries (greetings, "please solve",
# "the relevant department"): they say nothing about what is wrong or where.
_STOP_WORD_TEXT = """
    的 了 是 在 我 我们 你 你们 您 他 他们 她 它 它们 这 那 这里 那里 有 没有 和 与 及 或 或者
    就 都 也 还 又 很 非常 特别 十分 已经 一直 一些 一下 一个 这个 那个 这些 那些 这样 那样 这种
    不 没 被 把 对 向 从 到 给 为 因为 所以 但是 但 而且 并且 如果 以及 及其 其 之 等 等等 于 以
    请 请问 希望 要求 请求 恳请 反映 投诉 举报 咨询 建议 问题 情况 事情 相关 有关 部门 相关部门
    领导 政府 您好 你好 谢谢 感谢 尊敬 市民 居民 群众 百姓 老百姓 本人 大家 网友 现在 目前 今年
    去年 明年 当时 时候 时间 之前 之后 以前 以后 最近 近期 期间 什么 怎么 怎么办 为什么 如何 是否
    能否 能不能 可以 可能 能够 会 要 需要 应该 应当 必须 让 使 进行 存在 严重 解决 处理 关于 多次
    再次 一次 多年 已 个 次 年 月 日 号 天 人 里 上 下 中 内 外 后 前 来 去 说 看 做 给予 得到 得
    地 着 过 吗 呢 吧 啊 呀 哦 么 嘛 啦 呢 其他 其它 任何 所有 每 各 该 此 本 自己 一样 一起 同时
    然后 而 却 只 只是 只有 才 再 更 最 太 较 比较 仍 仍然 依然 还是 即 即使 虽然 不过 不是 就是
    没有 无 有人 得不到 一定 直接 一般 真的 真是 实在 简直 如此 为了 通过 根据 按照 由于 对于
    关注 重视 落实 监管 管理 情况下 方面 问题 造成 导致 影响 出现 发生 表示 认为 觉得 知道 告诉
    回复 答复 留言 平台 书记 市长 局长 同志 先生 女士 小姐 师傅 上述 以上 如下 下列 来电 来信
    市民来电 电话 联系 联系电话 核实 协调 督促 尽快 及时 立即 马上 早日 加快 彻底 一下子 处理好
"""
STOP_WORDS = frozenset(_STOP_WORD_TEXT.split())

# Single characters are mostly function words; these few name a problem on their own.
MEANINGFUL_SINGLE = frozenset("水电气狗猫车树灯桥河墙窗门网臭吵脏堵漏")


@lru_cache(maxsize=1)
def _jieba() -> jieba.Tokenizer:
    # jieba announces its dictionary on stderr at first use; that is noise in a CLI.
    # The process-wide tokenizer is shared with jieba.posseg, so the dictionary loads once.
    jieba.setLogLevel(logging.WARNING)
    jieba.dt.initialize()
    return jieba.dt


def _content(words: list[str]) -> list[str]:
    return [
        word
        for word in words
        if _WORDLIKE.search(word)
        and not any(ch.isdigit() for ch in word)
        and word not in STOP_WORDS
        and (len(word) > 1 or word in MEANINGFUL_SINGLE)
    ]


# Parts of speech that never name a problem: prepositions, adverbs, conjunctions,
# particles, pronouns, idioms, directions, numbers, measure words, times.
_NOT_LABEL_POS = ("p", "d", "ad", "c", "u", "r", "l", "i", "f", "m", "q", "t", "y", "e", "o")
# Words about who and where rather than what is wrong.
_NOT_LABEL_TEXT = "小区 业主 住户 一期 二期 三期 四期 五期 六期 楼栋 单元 看不出"
_NOT_LABEL_WORDS = frozenset(_NOT_LABEL_TEXT.split())


def label_words(text: str) -> list[str]:
    """Content words (stop-words removed, in order, repeats kept) fit for a topic label:
    without the parts of speech that carry no topic ("坚决", "基于", "附近", "静下心来")
    and without words that say who or where ("小区", "业主", "二期")."""
    _jieba()
    pairs = jieba.posseg.dt.lcut(MASKED_AREA.sub(" ", text))
    kept = {
        p.word
        for p in pairs
        if not p.flag.startswith(_NOT_LABEL_POS) and p.word not in _NOT_LABEL_WORDS
    }
    return [w for w in _content([p.word for p in pairs]) if w in kept]


def nouns(text: str) -> list[str]:
    """The nouns and verbal nouns among the content words: what a complaint is about (电梯,
    漏水, 搅拌站), without the words of how it is told (坏了, 经常, 困难)."""
    _jieba()
    pairs = jieba.posseg.dt.lcut(MASKED_AREA.sub(" ", text))
    content = set(_content([p.word for p in pairs]))
    return [p.word for p in pairs if p.word in content and (p.flag[:1] == "n" or p.flag == "vn")]


def match_tokens(text: str) -> list[str]:
    """Content words plus the shorter words inside long ones (jieba's search mode), so that
    "搅拌站" and "搅拌厂" share "搅拌": what long messages are compared on."""
    return _content(_jieba().lcut_for_search(MASKED_AREA.sub(" ", text)))
