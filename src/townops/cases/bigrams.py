"""The terms of the indexed case search (工单检索): overlapping character bigrams.

Chinese has no spaces and the searches people type are mostly two characters (路灯, 漏水,
噪音), which no word or trigram index serves. So a case's content and address are cut into
runs of letters and digits (any script; punctuation and spaces end a run) and each run into
its overlapping two-character pieces: ``"5号楼漏水"`` → ``5号 号楼 楼漏 漏水``. Latin letters
and digits are cut the same way, so a query that starts or ends inside a word (``00弄`` in
``1200弄``) is served too.

The rule that makes the index exact: if a text holds the query, every bigram of the query's
runs is a bigram of the text's runs (a run of the query lies inside a run of the text). So
the cases holding all the query's bigrams are a superset of those holding the query, and
the exact ``LIKE`` applied to them gives what ``LIKE`` alone gives. Letters are folded one
character to one character (``str.lower`` keeps its first character), so the fold of a
lowered text is the fold of the text, whichever ``lower()`` the database applies.

Pure functions: the engine's write path (:mod:`townops.cases.models`), migration 0011's
backfill and the benchmarks call the same ones.
"""

from __future__ import annotations

import re

#: Runs of letters and digits in any script (``\\w`` without the underscore).
_RUN = re.compile(r"[^\W_]+")
#: The most bigrams one query is narrowed by: more add index work and little selectivity.
MAX_QUERY_TERMS = 12


def fold(text: str) -> str:
    """Lower-case ``text`` one character to one character (so substrings stay substrings)."""
    lowered = text.lower()
    if len(lowered) != len(text):  # a letter that lowers to two (İ): one at a time
        lowered = "".join(ch.lower()[0] for ch in text)
    # str.lower() writes a Greek sigma at a word's end as ς, a database lowers it to σ.
    return lowered.replace("ς", "σ")


def _bigrams(text: str) -> list[str]:
    return [
        pair for run in _RUN.findall(fold(text)) for pair in map(str.__add__, run[:-1], run[1:])
    ]


def document_terms(*fields: str | None) -> str:
    """The space-separated distinct bigrams of the fields (each field on its own: a query
    never matches across the end of one and the start of the next)."""
    terms: dict[str, None] = {}
    for field in fields:
        if field:
            terms.update(dict.fromkeys(_bigrams(field)))
    return " ".join(terms)


def query_terms(needle: str) -> list[str]:
    """The bigrams every text holding ``needle`` holds, at most :data:`MAX_QUERY_TERMS`
    (spread over the query); empty when the index cannot narrow it (one character, or
    no run of two letters or digits): the search then reads every row with ``LIKE``."""
    terms = list(dict.fromkeys(_bigrams(needle)))
    if len(terms) <= MAX_QUERY_TERMS:
        return terms
    step = len(terms) / MAX_QUERY_TERMS
    return [terms[int(i * step)] for i in range(MAX_QUERY_TERMS)]
