"""举一反三: find problems that keep coming back at one place (pure; no database).

A case is a plain :class:`CaseRecord`. Within a look-back window the records are grouped by
place and topic; each group is split into text clusters so that "lift broken" and "lift
noisy" at one estate stay together while unrelated complaints filed under the same
category do not. A cluster with enough cases spread over enough ISO weeks is a
:class:`DetectedIssue`.

Text similarity: cosine of TF x weight vectors over the nouns of each text (or all its
words, for long messages), where a word's weight is ln(generic_share / the share of the
window's cases using it), at least 0, so words many cases use ("物业", "办理") count for
nothing. Clusters are merged by average linkage while their similarity reaches
``similarity_threshold``.
"""

from __future__ import annotations

import math
from collections import Counter, defaultdict
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from enum import StrEnum

import numpy as np

from townops.systemic.settings import SystemicSettings
from townops.systemic.terms import label_words, match_tokens, nouns
from townops.timeutil import SHANGHAI

Tokenizer = Callable[[str], list[str]]


class Trend(StrEnum):
    rising = "rising"
    steady = "steady"
    falling = "falling"


@dataclass(frozen=True, slots=True)
class CaseRecord:
    id: int
    received_at: datetime  # aware
    place_key: str
    place_label: str
    topic_key: str
    text: str
    # Who reported it (a phone number, a user id); "" when unknown, then each case counts
    # as its own reporter.
    reporter: str = ""


@dataclass(frozen=True, slots=True)
class WeekCount:
    week: str  # ISO week, "2022-W05"
    count: int


@dataclass(frozen=True, slots=True)
class DetectedIssue:
    key: str  # "<place>|<topic>|<n>", stable across refreshes
    place_key: str
    place_label: str
    topic_key: str
    topic_label: str
    terms: tuple[str, ...]
    member_ids: tuple[int, ...]
    first_seen: datetime
    last_seen: datetime
    weekly_counts: tuple[WeekCount, ...]
    weeks_active: int
    slope: float
    trend: Trend

    @property
    def case_count(self) -> int:
        return len(self.member_ids)


def detect_systemic_issues(
    records: Iterable[CaseRecord],
    *,
    now: datetime,
    settings: SystemicSettings,
    since: datetime | None = None,
    topic_names: Mapping[str, str] | None = None,
    previous: Mapping[str, Collection[int]] | None = None,
    tz: tzinfo = SHANGHAI,
    words: Tokenizer = label_words,
    match_words: Tokenizer | None = None,
) -> list[DetectedIssue]:
    """The systemic issues among ``records`` received in the window ending at ``now``.

    The window starts ``settings.window_weeks`` before ``now`` unless ``since`` is given.
    ``previous`` maps the keys of issues found before to their member ids, so a cluster
    that shares cases with an earlier issue keeps its key. Similarity is measured on
    ``match_words`` of the texts (by default as ``settings.text_features`` says); labels
    are made of ``words``. Issues come out largest first.
    """
    if match_words is None:
        match_words = nouns if settings.text_features == "nouns" else match_tokens
    start = since if since is not None else now - timedelta(weeks=settings.window_weeks)
    in_window = [r for r in records if start <= r.received_at <= now]
    groups = {
        key: group
        for key, group in sorted(_groups(in_window).items())
        # Clustering only splits a group: a group short of the thresholds cannot qualify.
        if _qualifies(group, settings, tz)
    }
    match_docs = {r.id: match_words(r.text) for r in in_window}
    weights = specific_weights(match_docs.values(), settings.generic_share)
    found: list[DetectedIssue] = []
    for (place_key, topic_key), group in groups.items():
        place_words = set(match_words(group[0].place_label))
        docs = [[w for w in match_docs[r.id] if w not in place_words] for r in group]
        clusters = [
            c
            for c in cluster_texts(
                docs,
                weights,
                threshold=settings.similarity_threshold,
            )
            if _qualifies([group[i] for i in c], settings, tz)
        ]
        keys = assign_keys(
            f"{place_key}|{topic_key}", [[group[i].id for i in c] for c in clusters], previous or {}
        )
        for key, cluster in zip(keys, clusters, strict=True):
            members = [group[i] for i in cluster]
            label_docs = [[w for w in words(r.text) if w not in place_words] for r in members]
            terms = top_terms(label_docs, weights, settings.label_terms)
            found.append(
                _issue(key, members, terms, now=now, settings=settings, tz=tz, names=topic_names)
            )
    found.sort(key=lambda i: (-i.case_count, -i.weeks_active, i.key))
    return found


# --------------------------------------------------------------------------- grouping


def _groups(records: Sequence[CaseRecord]) -> dict[tuple[str, str], list[CaseRecord]]:
    groups: dict[tuple[str, str], list[CaseRecord]] = defaultdict(list)
    for record in sorted(records, key=lambda r: (r.received_at, r.id)):
        groups[(record.place_key, record.topic_key)].append(record)
    return groups


def iso_week(moment: datetime, tz: tzinfo) -> str:
    year, week, _ = moment.astimezone(tz).isocalendar()
    return f"{year}-W{week:02d}"


def _qualifies(cluster: Sequence[CaseRecord], settings: SystemicSettings, tz: tzinfo) -> bool:
    weeks = {iso_week(r.received_at, tz) for r in cluster}
    reporters = {r.reporter or f"#{r.id}" for r in cluster}
    return (
        len(cluster) >= settings.min_cases
        and len(weeks) >= settings.min_weeks
        and len(reporters) >= settings.min_reporters
    )


# --------------------------------------------------------------------------- text clusters


def specific_weights(documents: Iterable[Sequence[str]], generic_share: float) -> dict[str, float]:
    """How specific each word is: ln(generic_share / share of documents using it), at least 0.

    A word used by ``generic_share`` of the window's cases or more ("物业", "办理") weighs
    nothing: it cannot tell one problem from another, however often two cases share it.
    """
    df: Counter[str] = Counter()
    n = 0
    for doc in documents:
        n += 1
        df.update(set(doc))
    return {
        word: max(0.0, math.log(generic_share * (n + 1) / (count + 1)))
        for word, count in df.items()
    }


def tfidf_matrix(docs: Sequence[Sequence[str]], weights: Mapping[str, float]) -> np.ndarray:
    """Rows are L2-normalised TF x weight vectors (sublinear term frequency)."""
    vocabulary = sorted({w for doc in docs for w in doc})
    column = {w: j for j, w in enumerate(vocabulary)}
    matrix = np.zeros((len(docs), max(len(vocabulary), 1)))
    for i, doc in enumerate(docs):
        for word, tf in Counter(doc).items():
            matrix[i, column[word]] = (1.0 + math.log(tf)) * weights.get(word, 1.0)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    normalised: np.ndarray = np.divide(matrix, norms, out=np.zeros_like(matrix), where=norms > 0)
    return normalised


def cluster_texts(
    docs: Sequence[Sequence[str]],
    weights: Mapping[str, float],
    *,
    threshold: float,
) -> list[list[int]]:
    """Average-linkage clusters of ``docs`` (indices), merged while similarity >= threshold.

    Average linkage rather than connected components: one message that mentions two
    problems must not chain two unrelated clusters together.
    """
    n = len(docs)
    if n == 0:
        return []
    vectors = tfidf_matrix(docs, weights)
    similarity = vectors @ vectors.T
    np.fill_diagonal(similarity, -np.inf)
    members: dict[int, list[int]] = {i: [i] for i in range(n)}
    while len(members) > 1:
        flat = int(np.argmax(similarity))
        a, b = divmod(flat, n)
        if similarity[a, b] < threshold:
            break
        size_a, size_b = len(members[a]), len(members[b])
        # Lance-Williams update for average linkage.
        merged = (size_a * similarity[a] + size_b * similarity[b]) / (size_a + size_b)
        similarity[a, :] = merged
        similarity[:, a] = merged
        similarity[a, a] = -np.inf
        similarity[b, :] = -np.inf
        similarity[:, b] = -np.inf
        members[a].extend(members.pop(b))
    return [sorted(m) for m in sorted(members.values(), key=min)]


def top_terms(docs: Sequence[Sequence[str]], weights: Mapping[str, float], count: int) -> list[str]:
    """Words most members use and the town rarely does (members² x specific weight);
    generic words (weight 0) never make a label."""
    spread: Counter[str] = Counter()
    for doc in docs:
        spread.update(set(doc))
    specific = [w for w in spread if weights.get(w, 1.0) > 0]
    shared = [w for w in specific if spread[w] >= 2] or specific
    # Spread counts twice: a label names what the members share, not one member's detail.
    shared.sort(key=lambda w: (-(spread[w] ** 2) * weights.get(w, 1.0), w))
    chosen: list[str] = []
    for word in shared:
        # "搅拌站" and "搅拌" say one thing: keep the first (better ranked) of the two.
        if not any(word in c or c in word for c in chosen):
            chosen.append(word)
        if len(chosen) == count:
            break
    return chosen


# --------------------------------------------------------------------------- keys


def assign_keys(
    group_key: str, clusters: Sequence[Sequence[int]], previous: Mapping[str, Collection[int]]
) -> list[str]:
    """``"<group>|<n>"`` per cluster: a cluster sharing cases with an earlier issue of the
    group keeps its key (largest overlap first); a new one takes the smallest unused n."""
    prefix = f"{group_key}|"
    earlier = {k: set(v) for k, v in previous.items() if k.startswith(prefix)}
    pairs = sorted(
        (
            (-len(earlier_members & set(cluster)), index, key)
            for index, cluster in enumerate(clusters)
            for key, earlier_members in earlier.items()
            if earlier_members & set(cluster)
        ),
    )
    keys: dict[int, str] = {}
    taken: set[str] = set()
    for _, index, key in pairs:
        if index not in keys and key not in taken:
            keys[index] = key
            taken.add(key)
    used = {_number(k, prefix) for k in earlier}
    n = 0
    for index in range(len(clusters)):
        if index in keys:
            continue
        n += 1
        while n in used:
            n += 1
        keys[index] = f"{prefix}{n}"
    return [keys[i] for i in range(len(clusters))]


def _number(key: str, prefix: str) -> int:
    tail = key[len(prefix) :]
    return int(tail) if tail.isdigit() else 0


# --------------------------------------------------------------------------- one issue


def weekly_counts(moments: Iterable[datetime], *, until: datetime, tz: tzinfo) -> list[WeekCount]:
    """Cases per ISO week from the first case's week to ``until``'s week, zeros included."""
    days = [m.astimezone(tz).date() for m in moments]
    counts = Counter(_monday(d) for d in days)
    week = _monday(min(days))
    last = max(_monday(until.astimezone(tz).date()), max(counts))
    out: list[WeekCount] = []
    while week <= last:
        year, number, _ = week.isocalendar()
        out.append(WeekCount(f"{year}-W{number:02d}", counts.get(week, 0)))
        week += timedelta(weeks=1)
    return out


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def least_squares_slope(values: Sequence[float]) -> float:
    """Slope of the best straight line through ``values`` at x = 0, 1, 2, ..."""
    n = len(values)
    if n < 2:
        return 0.0
    mean_x = (n - 1) / 2
    mean_y = sum(values) / n
    num = sum((x - mean_x) * (y - mean_y) for x, y in enumerate(values))
    den = sum((x - mean_x) ** 2 for x in range(n))
    return num / den


def classify_trend(slope: float, threshold: float) -> Trend:
    if slope >= threshold and slope > 0:
        return Trend.rising
    if slope <= -threshold and slope < 0:
        return Trend.falling
    return Trend.steady


def topic_label(topic_key: str, terms: Sequence[str], names: Mapping[str, str] | None) -> str:
    name = (names or {}).get(topic_key, "" if topic_key == "*" else topic_key)
    words = " ".join(terms)
    return f"{name}: {words}" if name and words else name or words


def _issue(
    key: str,
    members: Sequence[CaseRecord],
    terms: Sequence[str],
    *,
    now: datetime,
    settings: SystemicSettings,
    tz: tzinfo,
    names: Mapping[str, str] | None,
) -> DetectedIssue:
    weeks = weekly_counts((r.received_at for r in members), until=now, tz=tz)
    slope = least_squares_slope([w.count for w in weeks])
    first = members[0]
    return DetectedIssue(
        key=key,
        place_key=first.place_key,
        place_label=first.place_label,
        topic_key=first.topic_key,
        topic_label=topic_label(first.topic_key, terms, names),
        terms=tuple(terms),
        member_ids=tuple(sorted(r.id for r in members)),
        first_seen=min(r.received_at for r in members),
        last_seen=max(r.received_at for r in members),
        weekly_counts=tuple(weeks),
        weeks_active=sum(1 for w in weeks if w.count),
        slope=round(slope, 4),
        trend=classify_trend(slope, settings.slope_threshold),
    )
