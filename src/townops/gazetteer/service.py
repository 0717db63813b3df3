"""Finding the place (地名匹配): address text or a point → micro-grid, community, estate.

The gazetteer is the town's ``gazetteer.yaml`` (estates, landmarks, road segments, synced
into ``gazetteer_entries``) plus the names and aliases of its communities and micro-grids
(from the jurisdiction tree). Every name is indexed as it is written and, for estates,
roads and communities, without its suffix (路, 小区, 苑, 村, 居委会 …), because callers drop
or change suffixes. Text is matched in three passes:

1. exact: every indexed form found in the text (looked up by its first two characters);
2. fuzzy: names of four characters or more that differ by one edit (two from seven
   characters on) from a piece of the text — typos and homophones (名/明, 杨/扬);
3. the longest match wins where matches nest ("高行家园" over "高行", "东靖路站" over
   "东靖路"), and the town's own name ("高行镇") hides the names inside it.

A road match reads the house number after it ("东靖路1200弄3号" → 1200) and picks the
segment holding it, by range and parity. Without a number, a road that crosses several
communities is ambiguous: each community is a low-confidence candidate. Two roads named
together ("东靖路浦东北路口") locate their crossing when they share one community.

Confidence is a judgement, not a probability: 1.0 for a full name, less for an alias, a
shortened name, a typo or a road without a number, and much less when places in other
communities score nearly as well. Below ``min_confidence`` (``gazetteer.yaml``; 0.75 by
default) a result is not :func:`usable`: the case goes to a dispatcher, never to a guess.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from itertools import chain
from typing import Literal

from pydantic import BaseModel, computed_field
from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein
from sqlalchemy import inspect, select
from sqlalchemy.orm import Session

from townops.db import database_key
from townops.errors import InvalidInput
from townops.gazetteer.config import DEFAULT_MIN_CONFIDENCE, GazetteerSettings
from townops.gazetteer.models import GazetteerEntry
from townops.jurisdiction.models import Jurisdiction
from townops.jurisdiction.service import PlaceInfo, find_place, locate_point
from townops.towns.models import TownRecord
from townops.towns.profile import get_profile

__all__ = [
    "LocateResult",
    "PlaceMatch",
    "forget_gazetteer",
    "has_town",
    "locate",
    "locate_text",
    "place_names",
    "usable",
]

Method = Literal["address", "point"]

# Levels of the jurisdiction tree whose names callers say. Buildings ("1号楼") are not:
# they would match every "3号楼" in a text.
NAMED_LEVELS = ("community", "micro_grid")

# How much each way of saying a place tells (see the module docstring).
FULL_NAME = 1.0
ALIAS = 0.97
SHORTENED = 0.9  # the name without its suffix
SHORTENED_SUPPORTED = 0.95  # … followed by another suffix or a house number
SHORT_BARE = 0.6  # two characters alone: "绿地", "银杏", "高行" are also ordinary words
SHORT_SUPPORTED = 0.9  # … followed by a suffix or a house number ("高行居委", "东靖1200号")
SHORT_SHORTENED_SUPPORTED = 0.85  # "高行" cut from "高行家园", then "小区": less than an alias
FUZZY_PENALTY = 0.9  # confidence × (1 − FUZZY_PENALTY × edits / length)
ROAD_WITH_NUMBER = 0.98
ROAD_ONE_COMMUNITY = 0.85  # no number needed: the whole road lies in one community
ROAD_AMBIGUOUS = 0.5  # no number, several communities: one candidate each
CROSSING = 0.85  # two roads named together meeting in exactly one community
POINT = 1.0
POINT_DISAGREES = 0.5  # the point and a usable text name different communities
# A rival in another community this close to the best makes the best doubtful …
AMBIGUITY_MARGIN = 0.15
# … and the best then keeps this share of its confidence.
AMBIGUITY_FACTOR = 0.6
MAX_CANDIDATES = 5

# Suffixes dropped to index a name's short form, longest first, per kind of place.
_SUFFIXES: dict[str, tuple[str, ...]] = {
    "community": ("居民委员会", "村民委员会", "居委会", "村委会", "居民区", "居委", "社区"),
    "estate": ("小区", "公寓", "家园", "花园", "新村", "苑", "村"),
    "road": ("大道", "路", "街"),
}
# Words after a name that confirm which kind of place it is: "东沟一" + "村" or "高行" +
# "居委" name a community, "迎亭" + "小区" an estate. Longest first.
_PLACE_WORDS: dict[str, tuple[str, ...]] = {
    "community": (
        "居民委员会",
        "村民委员会",
        "居委会",
        "村委会",
        "居民区",
        "居委",
        "社区",
        "小区",
        "村",
    ),
    "micro_grid": ("微网格", "网格"),
    "estate": ("小区", "公寓", "家园", "花园", "新村", "苑", "村"),
}
# A house number right after a road: "1200号", "1200弄", "1200" — but not "3号楼", "5楼".
_HOUSE_NUMBER = re.compile(r"(\d{1,5})(?:弄|号(?!楼)|(?![\d楼栋幢室层号]))")

# Full-width ASCII (ａ, １, ＃) and the ideographic space become their plain forms;
# letters are lower-cased. One character for one, so spans map back to the input.
_NARROW = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F)}
_NARROW[0x3000] = 0x20
_NARROW.update({code: code + 32 for code in range(ord("A"), ord("Z") + 1)})
_NARROW.update({code: code - 0xFEE0 + 32 for code in range(0xFF21, 0xFF3B)})


class PlaceMatch(BaseModel):
    """One place found for a text or a point."""

    code: str
    """The jurisdiction the place lies in (a micro-grid or a community)."""
    community_code: str | None
    level: str
    name: str
    """The gazetteer name that matched (or the jurisdiction's name for a point)."""
    kind: str
    """estate | landmark | road | community | micro_grid | point"""
    matched_text: str
    """The span of the input that named it ("" for a point)."""
    confidence: float
    method: Method
    jurisdiction_name: str
    community_name: str | None = None
    house_number: int | None = None


class LocateResult(BaseModel):
    """What was found: the best place (if any), the runners-up, and how to read them."""

    text: str | None = None
    lat: float | None = None
    lon: float | None = None
    best: PlaceMatch | None
    candidates: list[PlaceMatch]
    min_confidence: float
    note: str | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def usable(self) -> bool:
        """Whether the best place may be used to dispatch a case."""
        return self.best is not None and self.best.confidence >= self.min_confidence


def usable(result: LocateResult) -> bool:
    """A case with no usable place goes to the dispatcher, never to a guessed grid."""
    return result.usable


# --- the index ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Spot:
    """A place with one jurisdiction: an estate, a landmark, a community, a micro-grid."""

    kind: str
    name: str
    code: str


@dataclass(frozen=True)
class _Segment:
    number_from: int
    number_to: int
    parity: str
    code: str

    def holds(self, number: int) -> bool:
        if not self.number_from <= number <= self.number_to:
            return False
        return self.parity == "all" or (number % 2 == 1) == (self.parity == "odd")


@dataclass(frozen=True)
class _Road:
    name: str
    segments: tuple[_Segment, ...]

    @property
    def codes(self) -> list[str]:
        return list(dict.fromkeys(s.code for s in self.segments))


_Target = _Spot | _Road


@dataclass(frozen=True)
class _Form:
    """One way of writing a place. ``target`` None: a name that hides the names inside it."""

    text: str
    target: _Target | None
    weight: float
    shortened: bool


@dataclass
class _Jurisdiction:
    name: str
    level: str
    depth: int
    community_code: str | None


@dataclass
class _Index:
    by_start: dict[str, list[_Form]]  # first two characters → forms, longest first
    fuzzy_forms: list[_Form]
    bigrams: dict[str, list[int]]  # two characters → positions in fuzzy_forms
    places: dict[str, _Jurisdiction]
    names: list[str]
    min_confidence: float


_indexes: dict[str, _Index] = {}


def _narrow(text: str) -> str:
    return text.translate(_NARROW)


def _shortened(name: str, kind: str) -> str | None:
    for suffix in _SUFFIXES.get(kind, ()):
        if name.endswith(suffix) and len(name) - len(suffix) >= 2:
            return name[: -len(suffix)]
    return None


def _forms_of(target: _Target, kind: str, name: str, aliases: list[str]) -> list[_Form]:
    forms = [_Form(_narrow(name), target, FULL_NAME, shortened=False)]
    forms += [_Form(_narrow(a), target, ALIAS, shortened=False) for a in aliases]
    for said in [name, *aliases]:
        short = _shortened(_narrow(said), kind)
        if short is not None:
            forms.append(_Form(short, target, SHORTENED, shortened=True))
    return forms


def _jurisdiction_forms(rows: list[Jurisdiction]) -> list[_Form]:
    forms: list[_Form] = []
    for row in rows:
        if row.parent_code is None:
            # The town's own name: "高行镇" must not be read as the 高行 community.
            forms.append(_Form(_narrow(row.name_zh), None, 0.0, shortened=False))
        elif row.level in NAMED_LEVELS:
            spot = _Spot(row.level, row.name_zh, row.code)
            forms += _forms_of(spot, row.level, row.name_zh, list(row.aliases or []))
    return forms


def _gazetteer_forms(entries: list[GazetteerEntry]) -> list[_Form]:
    forms: list[_Form] = []
    roads: dict[str, list[GazetteerEntry]] = {}
    for entry in entries:
        if entry.kind == "road":
            roads.setdefault(entry.name, []).append(entry)
        else:
            spot = _Spot(entry.kind, entry.name, entry.jurisdiction_code)
            forms += _forms_of(spot, entry.kind, entry.name, list(entry.aliases or []))
    for name, rows in roads.items():
        segments = tuple(
            _Segment(r.number_from or 0, r.number_to or 0, r.parity, r.jurisdiction_code)
            for r in sorted(rows, key=lambda r: (r.number_from or 0, r.parity))
        )
        aliases = sorted({a for r in rows for a in (r.aliases or [])})
        forms += _forms_of(_Road(name, segments), "road", name, aliases)
    return forms


def _names_said(rows: list[Jurisdiction], entries: list[GazetteerEntry]) -> list[str]:
    """Names and aliases as written in the configuration (not the index's shortened forms)."""
    said = [
        name
        for row in rows
        if row.parent_code is not None and row.level in NAMED_LEVELS
        for name in [row.name_zh, *(row.aliases or [])]
    ]
    said += [name for entry in entries for name in [entry.name, *(entry.aliases or [])]]
    return sorted(set(said))


def _distinct(forms: list[_Form]) -> list[_Form]:
    """One form per (text, place): the strongest way of saying it."""
    best: dict[tuple[str, _Target | None], _Form] = {}
    for form in forms:
        key = (form.text, form.target)
        if key not in best or form.weight > best[key].weight:
            best[key] = form
    return list(best.values())


def _min_confidence(session: Session) -> float:
    if session.scalars(select(TownRecord.code)).first() is None:
        return DEFAULT_MIN_CONFIDENCE
    return get_profile(session).config(GazetteerSettings).min_confidence


def _build_index(session: Session) -> _Index:
    rows = list(session.scalars(select(Jurisdiction)))
    entries = list(session.scalars(select(GazetteerEntry).order_by(GazetteerEntry.id)))
    forms = _distinct(_jurisdiction_forms(rows) + _gazetteer_forms(entries))

    by_start: dict[str, list[_Form]] = {}
    for form in sorted(forms, key=lambda f: -len(f.text)):
        # A one-character "name" would match everywhere; forms start with two characters.
        if len(form.text) >= 2:
            by_start.setdefault(form.text[:2], []).append(form)
    fuzzy_forms = [f for f in forms if f.target is not None and not f.shortened]
    fuzzy_forms = [f for f in fuzzy_forms if len(f.text) >= 4]
    bigrams: dict[str, list[int]] = {}
    for position, form in enumerate(fuzzy_forms):
        for gram in {form.text[i : i + 2] for i in range(len(form.text) - 1)}:
            bigrams.setdefault(gram, []).append(position)

    places: dict[str, _Jurisdiction] = {}
    for row in rows:
        info = find_place(session, row.code)
        community = info.community_code if info is not None else None
        places[row.code] = _Jurisdiction(row.name_zh, row.level, row.path.count("/"), community)
    names = _names_said(rows, entries)
    return _Index(by_start, fuzzy_forms, bigrams, places, names, _min_confidence(session))


def _index(session: Session) -> _Index:
    key = database_key(session)
    if key not in _indexes:
        _indexes[key] = _build_index(session)
    return _indexes[key]


def forget_gazetteer(session: Session) -> None:
    """Drop the cached index of this database (call after the town is re-synced)."""
    _indexes.pop(database_key(session), None)


def has_town(session: Session) -> bool:
    """Whether the database has a schema and a town loaded into it."""
    if not inspect(session.get_bind()).has_table(TownRecord.__tablename__):
        return False
    return session.scalars(select(TownRecord.code)).first() is not None


def place_names(session: Session) -> list[str]:
    """Every name and alias of the gazetteer and of the named jurisdictions (for jieba)."""
    return list(_index(session).names)


# --- matching ----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Hit:
    start: int
    end: int
    form: _Form
    score: float

    def inside(self, other: _Hit) -> bool:
        """Strictly nested in ``other`` (a longer match around it)."""
        return (
            other.start <= self.start
            and self.end <= other.end
            and (other.end - other.start) > (self.end - self.start)
        )

    def overlaps(self, other: _Hit) -> bool:
        return self.start < other.end and other.start < self.end


def _normalise(text: str) -> tuple[str, list[int]]:
    """The text narrowed, lower-cased and without blanks; and where each character was."""
    narrow = _narrow(text)
    origin = [i for i, ch in enumerate(narrow) if not ch.isspace()]
    return "".join(narrow[i] for i in origin), origin


def _house_number(norm: str, end: int) -> int | None:
    found = _HOUSE_NUMBER.match(norm, end)
    return int(found.group(1)) if found else None


def _supported(norm: str, end: int, target: _Target | None) -> bool:
    if isinstance(target, _Road):
        return _house_number(norm, end) is not None
    if isinstance(target, _Spot):
        return _place_word_end(norm, end, target.kind) > end
    return False


def _exact_score(form: _Form, norm: str, end: int) -> float:
    if form.target is None:
        return 0.0
    if len(form.text) <= 2:
        if not _supported(norm, end, form.target):
            return SHORT_BARE
        return SHORT_SHORTENED_SUPPORTED if form.shortened else SHORT_SUPPORTED
    if form.shortened:
        return SHORTENED_SUPPORTED if _supported(norm, end, form.target) else SHORTENED
    return form.weight


def _place_word_end(norm: str, end: int, kind: str) -> int:
    """Where a word naming a ``kind`` of place ("居委", "小区") right after ``end`` ends;
    ``end`` if there is none."""
    for word in _PLACE_WORDS.get(kind, ()):
        if norm.startswith(word, end):
            return end + len(word)
    return end


def _exact_hits(index: _Index, norm: str) -> list[_Hit]:
    hits: list[_Hit] = []
    for start in range(len(norm) - 1):
        for form in index.by_start.get(norm[start : start + 2], ()):
            if norm.startswith(form.text, start):
                end = start + len(form.text)
                score = _exact_score(form, norm, end)
                # "高行" + "居委" is one name: the hit covers both, so nothing nests inside.
                if isinstance(form.target, _Spot):
                    end = _place_word_end(norm, end, form.target.kind)
                hits.append(_Hit(start, end, form, score))
    return hits


def _closest_window(name: str, norm: str, start: int, end: int) -> tuple[int, int, int]:
    """The piece of text around ``start:end`` nearest to ``name`` (edit distance), as
    (start, end, distance); on a tie the piece as long as the name."""
    distance, _, start, end = min(
        (Levenshtein.distance(name, norm[s:e]), abs(e - s - len(name)), s, e)
        for s in (start - 1, start, start + 1)
        for e in (end - 1, end, end + 1)
        if 0 <= s < e <= len(norm)
    )
    return start, end, distance


def _fuzzy_hits(index: _Index, norm: str, exact: list[_Hit]) -> list[_Hit]:
    grams = {norm[i : i + 2] for i in range(len(norm) - 1)}
    shared = Counter(chain.from_iterable(index.bigrams.get(gram, ()) for gram in grams))
    solid = [h for h in exact if h.end - h.start >= 3 and h.form.target is not None]
    hits: list[_Hit] = []
    for position, count in shared.items():
        form = index.fuzzy_forms[position]
        length = len(form.text)
        edits = 1 if length < 7 else 2
        # Each edit breaks at most two of the name's bigrams.
        if count < length - 1 - 2 * edits:
            continue
        alignment = fuzz.partial_ratio_alignment(
            form.text, norm, score_cutoff=100 * (1 - edits / length) - 0.01
        )
        if alignment is None:
            continue
        start, end, distance = _closest_window(
            form.text, norm, alignment.dest_start, alignment.dest_end
        )
        if distance == 0 or distance > edits:
            continue
        hit = _Hit(start, end, form, form.weight * (1 - FUZZY_PENALTY * distance / length))
        # A real name written there wins over a name one typo away from it.
        if not any(hit.overlaps(h) for h in solid):
            hits.append(hit)
    return hits


def _longest(hits: list[_Hit]) -> list[_Hit]:
    kept = [h for h in hits if not any(h.inside(other) for other in hits)]
    return [h for h in kept if h.form.target is not None]


@dataclass
class _Found:
    """A place a hit points at, before it becomes a PlaceMatch."""

    code: str
    name: str
    kind: str
    start: int
    end: int
    confidence: float
    house_number: int | None = None


def _road_places(
    index: _Index, road: _Road, hit: _Hit, norm: str
) -> tuple[list[_Found], str | None]:
    """The segment holding the house number after the road; else the road's communities."""
    number = _house_number(norm, hit.end)
    note = None
    if number is not None:
        segment = next((s for s in road.segments if s.holds(number)), None)
        if segment is not None:
            score = hit.score * ROAD_WITH_NUMBER
            return [
                _Found(segment.code, road.name, "road", hit.start, hit.end, score, number)
            ], None
        note = f"no segment of {road.name} holds number {number}"
    communities = sorted(_communities(index, road))
    if len(communities) == 1:
        codes = road.codes
        code = codes[0] if len(codes) == 1 else communities[0]
        score = hit.score * ROAD_ONE_COMMUNITY
        return [_Found(code, road.name, "road", hit.start, hit.end, score)], note
    if note is None:
        note = f"{road.name} runs through {len(communities)} communities: give a house number"
    score = hit.score * ROAD_AMBIGUOUS
    return [_Found(c, road.name, "road", hit.start, hit.end, score) for c in road.codes], note


def _communities(index: _Index, road: _Road) -> set[str]:
    return {
        community
        for code in road.codes
        if code in index.places and (community := index.places[code].community_code)
    }


def _crossing(index: _Index, roads: list[tuple[_Road, _Hit]]) -> tuple[list[_Found], str]:
    """Two roads named together ("东靖路金京路口"): the communities both run through.

    One shared community is a confident place; several (a crossing on the corner of two
    or four communities) at least narrow the candidates down to them.
    """
    distinct = {road.name: (road, hit) for road, hit in roads}
    if len(distinct) != 2:
        return [], ""
    (first, first_hit), (second, second_hit) = distinct.values()
    shared = sorted(_communities(index, first) & _communities(index, second))
    if not shared:
        return [], ""
    factor = CROSSING if len(shared) == 1 else ROAD_AMBIGUOUS
    score = min(first_hit.score, second_hit.score) * factor
    start, end = min(first_hit.start, second_hit.start), max(first_hit.end, second_hit.end)
    name = f"{first.name}/{second.name}"
    found = [_Found(code, name, "road", start, end, score) for code in shared]
    note = "" if len(shared) == 1 else f"{name} meet where {len(shared)} communities touch"
    return found, note


def _places_of(index: _Index, hits: list[_Hit], norm: str) -> tuple[list[_Found], list[str]]:
    found: list[_Found] = []
    notes: list[str] = []
    # Roads named without a house number, and what each alone would say.
    bare_roads: list[tuple[_Road, _Hit]] = []
    bare_found: list[_Found] = []
    bare_notes: list[str] = []
    for hit in hits:
        target = hit.form.target
        if isinstance(target, _Spot):
            found.append(
                _Found(target.code, target.name, target.kind, hit.start, hit.end, hit.score)
            )
        elif isinstance(target, _Road):
            places, note = _road_places(index, target, hit, norm)
            if _house_number(norm, hit.end) is None:
                bare_roads.append((target, hit))
                bare_found += places
                bare_notes += [note] if note else []
            else:
                found += places
                notes += [note] if note else []
    crossing, note = _crossing(index, bare_roads)
    if crossing:
        return found + crossing, [*notes, note] if note else notes
    return found + bare_found, notes + bare_notes


def _match(index: _Index, found: _Found, text: str, origin: list[int]) -> PlaceMatch:
    place = index.places.get(found.code)
    community = index.places.get(place.community_code or "") if place else None
    span = text[origin[found.start] : origin[found.end - 1] + 1] if found.end > found.start else ""
    return PlaceMatch(
        code=found.code,
        community_code=place.community_code if place else None,
        level=place.level if place else "",
        name=found.name,
        kind=found.kind,
        matched_text=span,
        confidence=round(found.confidence, 3),
        method="address",
        jurisdiction_name=place.name if place else found.code,
        community_name=community.name if community else None,
        house_number=found.house_number,
    )


def _ranked(index: _Index, matches: list[PlaceMatch]) -> list[PlaceMatch]:
    """Best first; on equal confidence the smaller place; one entry per jurisdiction."""

    def depth(m: PlaceMatch) -> int:
        place = index.places.get(m.code)
        return place.depth if place else 0

    ordered = sorted(matches, key=lambda m: (-m.confidence, -depth(m)))
    seen: set[str] = set()
    unique: list[PlaceMatch] = []
    for match in ordered:
        if match.code not in seen:
            seen.add(match.code)
            unique.append(match)
    return unique


def _result_of(
    index: _Index, text: str | None, ranked: list[PlaceMatch], notes: list[str]
) -> LocateResult:
    if not ranked:
        return LocateResult(
            text=text,
            best=None,
            candidates=[],
            min_confidence=index.min_confidence,
            note="; ".join(notes) or None,
        )
    best = ranked[0]
    rivals = [
        m
        for m in ranked[1:]
        if m.community_code != best.community_code
        and m.confidence >= best.confidence - AMBIGUITY_MARGIN
    ]
    if rivals:
        # The whole list is in doubt: scaling all of it keeps the order, so no runner-up
        # looks surer than the best.
        ranked = [
            m.model_copy(update={"confidence": round(m.confidence * AMBIGUITY_FACTOR, 3)})
            for m in ranked
        ]
        best = ranked[0]
        names = ", ".join(dict.fromkeys(m.community_name or m.code for m in rivals))
        notes = [*notes, f"ambiguous: also {names}"]
    return LocateResult(
        text=text,
        best=best,
        candidates=[best, *ranked[1:MAX_CANDIDATES]],
        min_confidence=index.min_confidence,
        note="; ".join(dict.fromkeys(notes)) or None,
    )


def locate_text(session: Session, text: str) -> LocateResult:
    """The place an address text names, as sure as the text allows (see the module doc)."""
    index = _index(session)
    norm, origin = _normalise(text)
    exact = _exact_hits(index, norm)
    hits = _longest(exact + _fuzzy_hits(index, norm, exact))
    found, notes = _places_of(index, hits, norm)
    ranked = _ranked(index, [_match(index, f, text, origin) for f in found])
    return _result_of(index, text, ranked, notes)


# --- text and point together ----------------------------------------------------------------


def _point_match(index: _Index, info: PlaceInfo) -> PlaceMatch:
    place = index.places.get(info.code)
    community = index.places.get(info.community_code or "")
    return PlaceMatch(
        code=info.code,
        community_code=info.community_code,
        level=info.level,
        name=place.name if place else info.code,
        kind="point",
        matched_text="",
        confidence=POINT,
        method="point",
        jurisdiction_name=place.name if place else info.code,
        community_name=community.name if community else None,
    )


def _check_point(lat: float | None, lon: float | None) -> None:
    if (lat is None) != (lon is None):
        raise InvalidInput(
            "give both lat and lon, or neither", field="lat" if lat is None else "lon"
        )
    if lat is not None and not -90 <= lat <= 90:
        raise InvalidInput(f"lat {lat} is not a latitude", field="lat")
    if lon is not None and not -180 <= lon <= 180:
        raise InvalidInput(f"lon {lon} is not a longitude", field="lon")


def locate(
    session: Session, *, text: str | None, lat: float | None, lon: float | None
) -> LocateResult:
    """The place of a case from its coordinates (first) and its address text.

    A point inside a micro-grid is certain (1.0). When the text also names a place with
    usable confidence in another community, the two disagree: the point stays best but
    falls below any sensible threshold, and both are candidates.
    """
    _check_point(lat, lon)
    text = text.strip() if text else None
    if not text and lat is None:
        raise InvalidInput("give an address text or a point (lat and lon)", field="q")
    index = _index(session)
    by_text = locate_text(session, text) if text else None
    info = locate_point(session, lat=lat, lon=lon) if lat is not None and lon is not None else None
    if info is None:
        result = by_text or LocateResult(
            best=None, candidates=[], min_confidence=index.min_confidence
        )
        if lat is not None:
            outside = f"the point ({lat}, {lon}) lies outside every micro-grid"
            notes = "; ".join(n for n in (outside, result.note) if n)
            result = result.model_copy(update={"note": notes})
        return result.model_copy(update={"lat": lat, "lon": lon})

    point = _point_match(index, info)
    others = by_text.candidates if by_text is not None else []
    note: str | None = None
    if by_text is not None and by_text.best is not None and by_text.usable:
        named = by_text.best
        if named.community_code != point.community_code:
            # Neither can be trusted now; the point stays first, no name looks surer.
            point = point.model_copy(update={"confidence": POINT_DISAGREES})
            others = [
                m.model_copy(update={"confidence": min(m.confidence, POINT_DISAGREES)})
                for m in others
            ]
            note = (
                f"the point lies in {point.community_name or point.code} but the text names "
                f"{named.name} in {named.community_name or named.code}"
            )
    return LocateResult(
        text=text,
        lat=lat,
        lon=lon,
        best=point,
        candidates=[point, *[m for m in others if m.code != point.code]][:MAX_CANDIDATES],
        min_confidence=index.min_confidence,
        note=note,
    )
