"""Systemic issues in a CSV of citizen messages (留言), without a database.

The messages carry no coordinates and no category: the place comes from the text
(:mod:`townops.systemic.text_places`) and the topic is left to the text clustering
(topic key ``"*"``). The clusters come from the same :func:`detect_systemic_issues` the
town's cases go through.
"""

from __future__ import annotations

import csv
import re
import time
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path

from townops.errors import InvalidInput
from townops.systemic.detect import (
    CaseRecord,
    DetectedIssue,
    detect_systemic_issues,
)
from townops.systemic.settings import SystemicSettings
from townops.systemic.text_places import area_of, canonical_keys, main_place
from townops.timeutil import SHANGHAI

ID, USER, TITLE, TIME, DETAIL = "留言编号", "留言用户", "留言主题", "留言时间", "留言详情"
REQUIRED_COLUMNS = (ID, TITLE, TIME, DETAIL)
ANY_TOPIC = "*"
# The opening of a message says what and where; later lines are history and feelings.
DETAIL_CHARS = 300
# Long free-text messages with no category: every word counts, at a lower threshold than
# short tickets within a category (tuned on the gov-messages data, see docs/systemic.md).
MESSAGE_SIMILARITY = 0.15
_TIME = re.compile(r"(\d{4})[/-](\d{1,2})[/-](\d{1,2})(?:[ T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?")


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    user: str
    title: str
    received_at: datetime
    detail: str


@dataclass(frozen=True, slots=True)
class ScanReport:
    messages: int
    located: int  # messages a place was found in
    issues: list[DetectedIssue]
    by_id: dict[int, Message]
    since: datetime
    until: datetime
    seconds: float

    def users(self, issue: DetectedIssue) -> int:
        """How many different people wrote the messages of ``issue``."""
        return len({self.by_id[i].user for i in issue.member_ids})

    def sample_title(self, issue: DetectedIssue) -> str:
        return self.by_id[issue.member_ids[0]].title


def message_settings(**overrides: object) -> SystemicSettings:
    """Settings for citizen messages: all words, every word weighed by its rarity (a forum
    of long messages about a whole city has no town-generic words to drop),
    :data:`MESSAGE_SIMILARITY`, two different users."""
    base: dict[str, object] = {
        "text_features": "words",
        "generic_share": 1.0,
        "similarity_threshold": MESSAGE_SIMILARITY,
        "min_reporters": 2,
    }
    return SystemicSettings.model_validate(base | overrides)


def parse_time(value: str, tz: tzinfo = SHANGHAI) -> datetime:
    """ "2019/2/28 11:25:05" or "2019-08-01 00:00:00", local time → aware datetime."""
    match = _TIME.search(value)
    if match is None:
        raise ValueError(f"not a date and time: {value!r}")
    y, m, d, hh, mm, ss = (int(g) if g else 0 for g in match.groups())
    return datetime(y, m, d, hh, mm, ss, tzinfo=tz)


def read_messages(paths: Sequence[Path], tz: tzinfo = SHANGHAI) -> list[Message]:
    """Messages from the CSV files, each id once; a user's repeated title counts once."""
    seen_ids: set[int] = set()
    seen_posts: set[tuple[str, str]] = set()
    out: list[Message] = []
    for path in paths:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            missing = [c for c in REQUIRED_COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise InvalidInput(
                    f"{path}: missing column(s) {', '.join(missing)}", file=str(path)
                )
            for line, row in enumerate(reader, start=2):
                message = _message(row, path, line, tz)
                post = (message.user, message.title)
                if message.id in seen_ids or (message.user and post in seen_posts):
                    continue
                seen_ids.add(message.id)
                seen_posts.add(post)
                out.append(message)
    return out


def _message(row: dict[str, str], path: Path, line: int, tz: tzinfo) -> Message:
    try:
        return Message(
            id=int(row[ID].strip()),
            user=(row.get(USER) or "").strip(),
            title=" ".join(row[TITLE].split()),
            received_at=parse_time(row[TIME], tz),
            detail=" ".join(row[DETAIL].split()),
        )
    except (ValueError, AttributeError) as exc:
        raise InvalidInput(f"{path}:{line}: {exc}", file=str(path), line=line) from exc


def message_records(messages: Iterable[Message]) -> list[CaseRecord]:
    """One record per message that names a place; the place named in it is cut out of the
    text, so that the text clusters on what is wrong rather than where."""
    located = []
    for message in messages:
        mention = main_place(message.title, message.detail)
        if mention is not None:
            located.append((message, mention))
    canonical = canonical_keys(m.key for _, m in located)
    areas: dict[str, Counter[str]] = defaultdict(Counter)
    # Every way a place is written ("万科魅力之城", "魅力之城小区"): all are cut out of the
    # texts at that place, so the developer's name does not glue its complaints together.
    spellings: dict[str, set[str]] = defaultdict(set)
    for message, mention in located:
        key = canonical[mention.key]
        spellings[key].update((mention.text, mention.key, key))
        area = area_of(message.title) or area_of(message.detail[:DETAIL_CHARS])
        if area:
            areas[key][area] += 1
    records = []
    for message, mention in located:
        key = canonical[mention.key]
        area = areas[key].most_common(1)[0][0] if areas[key] else ""
        text = f"{message.title} {message.title} {message.detail[:DETAIL_CHARS]}"
        for name in sorted(spellings[key], key=len, reverse=True):
            text = text.replace(name, " ")
        records.append(
            CaseRecord(
                id=message.id,
                received_at=message.received_at,
                place_key=key,
                place_label=f"{area}{key}",
                topic_key=ANY_TOPIC,
                text=text,
                reporter=message.user,
            )
        )
    return records


def scan_messages(
    paths: Sequence[Path],
    *,
    settings: SystemicSettings,
    since: datetime | None = None,
    until: datetime | None = None,
) -> ScanReport:
    """Systemic issues among the messages received between ``since`` and ``until``
    (by default the first and the last message of the files)."""
    started = time.perf_counter()
    messages = read_messages(paths)
    if not messages:
        raise InvalidInput("no messages in the given file(s)")
    start = since or min(m.received_at for m in messages)
    end = until or max(m.received_at for m in messages)
    in_range = [m for m in messages if start <= m.received_at <= end]
    records = message_records(in_range)
    issues = detect_systemic_issues(records, now=end, since=start, settings=settings)
    return ScanReport(
        messages=len(in_range),
        located=len(records),
        issues=issues,
        by_id={m.id: m for m in in_range},
        since=start,
        until=end,
        seconds=time.perf_counter() - started,
    )
