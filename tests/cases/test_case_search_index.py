"""The indexed text search (bigrams: PostgreSQL GIN, SQLite FTS5) finds exactly what the
plain ``LIKE`` finds, in the same order, for any query: a table of Chinese searches and
a property over generated ones, on the database under test."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.orm import Session

from townops.access.actor import SYSTEM
from townops.cases import search
from townops.cases.bigrams import document_terms, query_terms
from townops.cases.models import Case
from townops.cases.schemas import CaseCreate
from townops.cases.service import CaseFilters, create_case, list_cases_for

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)

# Citizens' words as a town hears them: two-character topics, addresses with numbers,
# Latin letters in both cases, full-width letters, punctuation and spaces.
TEXTS: list[tuple[str, str]] = [
    ("路灯不亮了，晚上走路很危险", "东靖路1200弄门口"),
    ("小区路灯坏了三天，请尽快维修", "高行家园5号楼"),
    ("楼上卫生间漏水到我家天花板", "南新路88号302室"),
    ("厨房水管漏水，物业不管", "东陆路1500弄12号"),
    ("夜间施工噪音太大，影响休息", "金京路工地"),
    ("广场舞噪音扰民，每天晚上九点以后还在跳", "森兰公园"),
    ("小区WiFi信号差，100%掉线", "南新路88号"),
    ("共享单车乱停放，堵住盲道", "巨峰路地铁站3号口"),
    ("垃圾桶满了没人清运，味道很大", "高行镇 民生路"),
    ("电梯坏了，老人上下楼很困难", "东靖路1200弄5号楼"),
    ("Street light OUT at the corner of 洲海路", "洲海路/申江路"),
    ("ＡＢＣ栋楼道灯不亮", "Ａ区"),
    ("群租房住了二十多人，安全隐患大", "高行镇东沟新村"),
    ("占道经营，小摊贩堵住人行道", "博兴路菜场"),
    ("窨井盖缺失，有人掉进去了！", "金高路 1200 号"),
    ("河道有油污，鱼死了很多", "赵家沟"),
    ("Ärger mit dem Lärm; İstanbul 路 noise", "Büro 12"),
    ("违章搭建，在屋顶加盖了一层", "高行绿洲3期"),
    ("路面塌陷，车辆无法通行", "东靖路与金高路交叉口"),
    ("小区门口的路灯和监控都坏了", "东靖路1200弄"),
]

#: Searches people type, with what they mean to find.
QUERIES = [
    "路灯",
    "漏水",
    "噪音",
    "路",
    "东靖路1200",
    "00弄",
    "1200",
    "12",
    "wifi",
    "WiFi信号",
    "100%",
    "ａｂｃ",
    "abc",
    "Ａ区",
    "light out",
    "STREET",
    "lärm",
    "ÄRGER",
    "i̇stanbul",
    "路灯不亮",
    "灯不亮了，晚上",
    "，",
    "号楼",
    "5号楼",
    "高行镇 民生",
    "坏了",
    "不存在的词",
    "金高路 1200 号",
    "ld",
]


@pytest.fixture
def filed(session: Session) -> Iterator[list[int]]:
    """The texts as cases, received a day apart (the list's default order is newest first),
    two of them at the same moment (the order falls back to the id)."""
    ids = []
    for i, (content, address) in enumerate(TEXTS):
        when = T0 + timedelta(days=i if i != 3 else 2)
        body = CaseCreate(
            category="street_light", content=content, address=address, received_at=when
        )
        ids.append(create_case(session, actor=SYSTEM, data=body, now=when).id)
    session.flush()
    yield ids


def _search(session: Session, q: str, *, indexed: bool, **filters: object) -> list[int]:
    with pytest.MonkeyPatch.context() as patch:
        if not indexed:
            patch.setattr(search, "candidates", lambda _needle, _dialect: None)
        rows, _more, total = list_cases_for(
            session,
            actor=SYSTEM,
            filters=CaseFilters(q=q, **filters),  # type: ignore[arg-type]
            page_size=100,
            with_total=True,
        )
    ids = [c.id for c in rows]
    assert total == len(ids)
    return ids


def _ours(ids: list[int], filed: list[int]) -> list[int]:
    # The shared test database may hold other tests' committed cases: compare ours only.
    mine = set(filed)
    return [i for i in ids if i in mine]


@pytest.mark.parametrize("q", QUERIES)
def test_a_table_of_searches_finds_what_like_finds(
    session: Session, filed: list[int], q: str
) -> None:
    assert _search(session, q, indexed=True) == _search(session, q, indexed=False)


def test_two_character_searches_are_served_by_the_index(session: Session, filed: list[int]) -> None:
    def holding(q: str) -> list[int]:
        # Newest first; the texts were received in their order.
        return [filed[i] for i, (c, a) in reversed(list(enumerate(TEXTS))) if q in c or q in a]

    assert _ours(_search(session, "路灯", indexed=True), filed) == holding("路灯")
    assert query_terms("路灯") == ["路灯"]
    assert query_terms("路") == []  # one character: the plain LIKE reads every row
    assert _ours(_search(session, "00弄", indexed=True), filed) == holding("00弄")
    assert _search(session, "漏水", indexed=True, order="id") == _search(
        session, "漏水", indexed=False, order="id"
    )


_ALPHABET = sorted({ch for content, address in TEXTS for ch in content + address} | set("aZ 9%"))


@st.composite
def _queries(draw: st.DrawFn) -> str:
    """A piece of one of the texts (often with its letters' case changed), or characters
    drawn from the texts' alphabet."""
    if draw(st.booleans()):
        content, address = draw(st.sampled_from(TEXTS))
        whole = draw(st.sampled_from([content, address]))
        start = draw(st.integers(0, max(0, len(whole) - 1)))
        piece = whole[start : start + draw(st.integers(1, 8))]
        return piece.upper() if draw(st.booleans()) else piece
    return draw(st.text(alphabet=_ALPHABET, min_size=1, max_size=6))


@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(q=_queries())
def test_any_search_finds_what_like_finds_in_the_same_order(
    session: Session, filed: list[int], q: str
) -> None:
    assert _search(session, q, indexed=True) == _search(session, q, indexed=False)


def test_editing_the_text_moves_its_terms_and_a_state_change_leaves_them(
    session: Session, filed: list[int]
) -> None:
    case = session.get(Case, filed[0])
    assert case is not None
    case.content = "信箱被撬"
    session.flush()
    assert filed[0] not in _search(session, "路灯不亮", indexed=True)
    assert _ours(_search(session, "信箱", indexed=True), filed) == [filed[0]]
    terms = session.scalar(select(Case.search_terms).where(Case.id == filed[0]))
    assert terms == document_terms("信箱被撬", TEXTS[0][1])
    case.state = "closed"
    session.flush()
    assert session.scalar(select(Case.search_terms).where(Case.id == filed[0])) == terms
