"""Finding the place: address text (and a point) → micro-grid / community / estate."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from fastapi.testclient import TestClient
from shapely.geometry import shape
from sqlalchemy import Engine, func, select
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from townops.categories.service import forget_categories
from townops.cli.main import app as main_app
from townops.db import make_engine
from townops.demo.addresses import realistic_addresses, score
from townops.errors import InvalidInput
from townops.gazetteer.models import GazetteerEntry
from townops.gazetteer.service import (
    LocateResult,
    forget_gazetteer,
    locate,
    locate_text,
    place_names,
    usable,
)
from townops.jurisdiction.models import Jurisdiction
from townops.jurisdiction.service import forget_index
from townops.townfiles.loader import GAZETTEER_FILE, default_town_dir, load_town, validate_town
from townops.townfiles.schema import Gazetteer, GazetteerPlace, Road, RoadSegment
from townops.townfiles.sync import sync_town
from townops.towns.profile import forget_profile

TINY = Path(__file__).resolve().parents[1] / "fixtures" / "towns" / "tiny"
SENLAN_MINGXUAN = "310115121034"  # 森兰名轩居委会
HUIJUN = "310115121031"  # 汇郡居委会: 东靖路 even numbers 1000-1498
SENLAN_SHANGCHENG = "310115121028"  # 森兰尚城居委会: 东靖路 odd numbers 1001-1499
DONGGOU_1 = "310115121001"  # 东沟一居委会
GAOHANG = "310115121004"  # 高行居委会


def best_of(result: LocateResult) -> Any:
    assert result.best is not None, result
    return result.best


# --- text → place ------------------------------------------------------------------------


def test_an_estate_by_its_full_name_is_certain(session: Session) -> None:
    result = locate_text(session, "森兰名轩")
    best = best_of(result)
    assert (best.name, best.kind, best.code) == ("森兰名轩", "estate", SENLAN_MINGXUAN)
    assert best.community_code == SENLAN_MINGXUAN
    assert best.community_name == "森兰名轩居委会"
    assert best.confidence == 1.0
    assert best.method == "address"
    assert usable(result)


def test_extra_words_around_the_place_are_ignored_and_the_span_is_reported(
    session: Session,
) -> None:
    text = "你好，我住在森兰名轩3号楼楼下，垃圾一直没人收"
    best = best_of(locate_text(session, text))
    assert best.name == "森兰名轩"
    assert best.matched_text == "森兰名轩"
    assert text.index(best.matched_text) == 6


def test_an_alias_finds_the_estate_in_its_micro_grid(session: Session) -> None:
    result = locate_text(session, "迎亭小区门口乱停车")
    best = best_of(result)
    assert best.name == "迎亭公寓"
    assert best.code == "310115121004-G01"
    assert best.level == "micro_grid"
    assert best.community_code == GAOHANG
    assert 0.9 <= best.confidence < 1.0
    assert usable(result)
    assert best_of(locate_text(session, "仁恒森兰门口")).name == "仁恒森兰雅苑"


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("东沟一居委", DONGGOU_1),  # 居委会 shortened
        ("东沟一居民区", DONGGOU_1),  # an alias from jurisdictions.geojson
        ("东沟一村5号楼", DONGGOU_1),  # 村 instead of 居委会
        ("高行居委", GAOHANG),  # a two-character name with its suffix
        ("高弘苑12号楼", "310115121035-G01"),  # 高弘家园 said with another suffix
        ("华高三居", "310115121007"),  # 华高新村第三居委会's short name
    ],
)
def test_missing_or_different_suffixes_still_find_the_place(
    session: Session, text: str, code: str
) -> None:
    result = locate_text(session, text)
    assert best_of(result).code == code, result
    assert usable(result)


def test_communities_come_from_the_jurisdictions_not_from_the_gazetteer_file(
    session: Session,
) -> None:
    best = best_of(locate_text(session, "南行第二居民委员会"))  # an alias in the geojson
    assert (best.kind, best.code) == ("community", "310115121036")
    gazetteer = load_town(default_town_dir()).gazetteer
    assert gazetteer is not None
    said = [n for p in [*gazetteer.estates, *gazetteer.landmarks] for n in [p.name, *p.aliases]]
    assert not any("南行第二" in name for name in said)


def test_a_small_typo_in_a_long_name_is_forgiven_with_less_confidence(session: Session) -> None:
    result = locate_text(session, "我家在森兰明轩小区")  # 名 → 明
    best = best_of(result)
    assert best.name == "森兰名轩"
    assert best.matched_text == "森兰明轩"
    assert result.min_confidence <= best.confidence < 0.9
    typo_road = best_of(locate_text(session, "张扬北路1001号"))  # 杨 → 扬
    assert (typo_road.name, typo_road.code) == ("张杨北路", "310115121008")


def test_a_real_name_next_to_a_similar_one_is_not_taken_for_a_typo(session: Session) -> None:
    # 高宜家园 and 高弘家园 differ by one character: each must find itself.
    assert best_of(locate_text(session, "高宜家园")).code == "310115121036-G01"
    assert best_of(locate_text(session, "高弘家园")).code == "310115121035-G01"


@pytest.mark.parametrize(
    ("text", "code", "number"),
    [
        ("东靖路1200号", HUIJUN, 1200),
        ("东靖路1201号", SENLAN_SHANGCHENG, 1201),
        ("东靖路1200弄3号", HUIJUN, 1200),
        ("东靖路１２００弄３号", HUIJUN, 1200),  # full-width digits
        ("东靖路 1200 号 2楼", HUIJUN, 1200),
        ("东靖1200号", HUIJUN, 1200),  # 路 dropped
        ("东靖路2500号", "310115121033", 2500),  # parity "all"
    ],
)
def test_a_house_number_picks_the_road_segment_by_range_and_parity(
    session: Session, text: str, code: str, number: int
) -> None:
    result = locate_text(session, text)
    best = best_of(result)
    assert (best.kind, best.name, best.code, best.house_number) == ("road", "东靖路", code, number)
    assert usable(result)


def test_a_road_without_a_number_across_communities_is_ambiguous(session: Session) -> None:
    result = locate_text(session, "东靖路上有人占道经营")
    best = best_of(result)
    assert best.name == "东靖路"
    assert not usable(result)
    assert best.confidence < result.min_confidence
    communities = {c.community_code for c in result.candidates}
    assert len(communities) >= 3
    assert result.note is not None and "house number" in result.note


def test_a_number_no_segment_holds_is_not_guessed(session: Session) -> None:
    result = locate_text(session, "东靖路9999号")
    assert not usable(result)
    assert result.note is not None and "9999" in result.note


def test_a_road_inside_one_community_needs_no_number(session: Session) -> None:
    result = locate_text(session, "南新路的路灯坏了")
    assert best_of(result).code == "310115121020"
    assert usable(result)


def test_two_roads_named_together_locate_their_crossing(session: Session) -> None:
    result = locate_text(session, "东靖路金京路口红绿灯坏了")
    best = best_of(result)
    assert best.code == "310115121035"  # the one community both roads run through
    assert best.matched_text == "东靖路金京路"
    assert usable(result)


def test_a_landmark_wins_over_the_road_in_its_name(session: Session) -> None:
    best = best_of(locate_text(session, "东靖路地铁站出口有人发小广告"))
    assert (best.kind, best.name) == ("landmark", "东靖路站")


def test_the_towns_own_name_and_ordinary_words_are_not_places(session: Session) -> None:
    assert locate_text(session, "高行镇政府门口").best is None  # not the 高行 community
    common_word = locate_text(session, "小区绿地被人占用种菜")  # 绿地 is also a community
    assert not usable(common_word)


def test_places_in_two_communities_make_the_text_ambiguous(session: Session) -> None:
    result = locate_text(session, "森兰名轩和仁恒森兰雅苑之间的路")
    assert not usable(result)
    assert {c.community_code for c in result.candidates} >= {SENLAN_MINGXUAN, "310115121033"}
    # No runner-up may look surer than the best.
    assert all(c.confidence <= best_of(result).confidence for c in result.candidates)


@pytest.mark.parametrize("text", ["火星路12号", "楼上漏水到我家天花板", "", "   "])
def test_nothing_matching_means_no_place(session: Session, text: str) -> None:
    result = locate_text(session, text)
    assert result.best is None
    assert result.candidates == []
    assert not usable(result)


def test_place_names_are_every_name_and_alias_but_no_shortened_form(session: Session) -> None:
    names = place_names(session)
    for name in ("森兰名轩", "迎亭小区", "东靖路", "东靖路地铁站", "东沟一居委会", "东沟一"):
        assert name in names
    assert "东靖" not in names  # an index form of 东靖路 / 东靖苑, not a name
    assert "高行镇" not in names  # the town itself is not a place to dispatch to
    assert len(names) == len(set(names))


def test_the_synthetic_addresses_are_placed_right_or_left_to_a_person(session: Session) -> None:
    samples = realistic_addresses(load_town(default_town_dir()), 300, seed=3)
    result = score(session, samples)
    assert result.total == 300
    assert result.wrong == 0
    assert result.right / result.total >= 0.95


# --- a point, and a point with text --------------------------------------------------------


def _inside(session: Session, code: str) -> tuple[float, float]:
    geometry = session.scalars(select(Jurisdiction.geometry).where(Jurisdiction.code == code)).one()
    point = shape(geometry).representative_point()
    return point.y, point.x


def test_a_point_inside_a_micro_grid_is_certain(session: Session) -> None:
    lat, lon = _inside(session, f"{SENLAN_MINGXUAN}-G02")
    result = locate(session, text=None, lat=lat, lon=lon)
    best = best_of(result)
    assert (best.method, best.kind, best.code) == ("point", "point", f"{SENLAN_MINGXUAN}-G02")
    assert best.community_code == SENLAN_MINGXUAN
    assert best.confidence == 1.0
    assert usable(result)


def test_a_point_and_a_text_that_agree_keep_the_point(session: Session) -> None:
    lat, lon = _inside(session, f"{SENLAN_MINGXUAN}-G02")
    result = locate(session, text="森兰名轩3号楼", lat=lat, lon=lon)
    assert best_of(result).method == "point"
    assert best_of(result).confidence == 1.0
    assert result.note is None
    assert any(c.method == "address" and c.name == "森兰名轩" for c in result.candidates)


def test_a_point_and_a_text_that_disagree_are_not_usable_and_both_are_shown(
    session: Session,
) -> None:
    lat, lon = _inside(session, f"{SENLAN_MINGXUAN}-G02")
    result = locate(session, text="东沟一村5号楼", lat=lat, lon=lon)
    assert not usable(result)
    assert {(c.method, c.community_code) for c in result.candidates} >= {
        ("point", SENLAN_MINGXUAN),
        ("address", DONGGOU_1),
    }
    assert result.note is not None and "东沟一村" in result.note
    assert all(c.confidence <= best_of(result).confidence for c in result.candidates)


def test_a_point_outside_the_town_falls_back_to_the_text(session: Session) -> None:
    result = locate(session, text="森兰名轩", lat=31.0, lon=121.0)
    assert best_of(result).method == "address"
    assert result.note is not None and "outside" in result.note


def test_half_a_point_or_nothing_at_all_is_refused(session: Session) -> None:
    with pytest.raises(InvalidInput):
        locate(session, text="森兰名轩", lat=31.29, lon=None)
    with pytest.raises(InvalidInput):
        locate(session, text=None, lat=None, lon=None)
    with pytest.raises(InvalidInput):
        locate(session, text=None, lat=95.0, lon=121.0)


# --- gazetteer.yaml: loading, errors, syncing ---------------------------------------------

TINY_GAZETTEER = """\
min_confidence: 0.8
estates:
  - {name: 东湖花园, aliases: [东湖小区], jurisdiction: "100000001001-G01"}
  - {name: 无名小区, jurisdiction: "100000001009"}
  - {name: 全镇小区, jurisdiction: "100000001"}
landmarks:
  - {name: 东湖小学, aliases: [东湖小区], jurisdiction: "100000001001"}
roads:
  - name: 湖滨路
    segments:
      - {from: 1, to: 99, parity: odd, jurisdiction: "100000001001"}
      - {from: 2, to: 98, parity: even, jurisdiction: "100000001002"}
      - {from: 101, to: 199, parity: all, jurisdiction: "100000001001"}
      - {from: 151, to: 161, parity: odd, jurisdiction: "100000001002"}
  - name: 西湖路
    segments:
      - {from: 1, to: 9, parity: both, jurisdiction: "100000001002"}
      - {from: 50, to: 10, jurisdiction: "100000001002"}
"""

EXPECTED_GAZETTEER_ISSUES = [
    (4, "estate '无名小区': jurisdiction '100000001009' does not exist in jurisdictions.geojson"),
    (5, "estate '全镇小区': jurisdiction '100000001' is the whole town"),
    (7, "landmark '东湖小学': '东湖小区' already names estate '东湖花园' (line 3)"),
    (14, "road '湖滨路': segment 4 (151-161 odd) overlaps segment 3 (101-199 all) (line 13)"),
    (17, "road '西湖路': segments[0].parity: unknown parity 'both' (allowed: odd, even, all)"),
    (18, "road '西湖路': segments[1]: from 50 is after to 10"),
]


@pytest.fixture
def tiny_town(tmp_path: Path) -> Callable[[str], Path]:
    """A copy of the tiny town with ``gazetteer.yaml`` holding the given text."""

    def make(gazetteer: str) -> Path:
        directory = tmp_path / "town"
        shutil.copytree(TINY, directory, dirs_exist_ok=True)
        (directory / GAZETTEER_FILE).write_text(gazetteer, encoding="utf-8")
        return directory

    return make


def test_the_packaged_gazetteer_loads_with_enough_entries() -> None:
    gazetteer = load_town(default_town_dir()).gazetteer
    assert gazetteer is not None
    segments = sum(len(road.segments) for road in gazetteer.roads)
    entries = len(gazetteer.estates) + len(gazetteer.landmarks) + segments
    assert 60 <= entries <= 130
    assert gazetteer.min_confidence == 0.75


def test_a_town_without_gazetteer_yaml_is_still_valid() -> None:
    assert validate_town(TINY) == []
    assert load_town(TINY).gazetteer is None


def test_every_gazetteer_error_is_reported_with_its_file_and_line(
    tiny_town: Callable[[str], Path],
) -> None:
    issues = validate_town(tiny_town(TINY_GAZETTEER))
    found = [(i.file, i.line, i.message) for i in issues]
    assert len(found) == len(EXPECTED_GAZETTEER_ISSUES), "\n".join(map(str, issues))
    for line, fragment in EXPECTED_GAZETTEER_ISSUES:
        assert any(
            f == GAZETTEER_FILE and at == line and fragment in message for f, at, message in found
        ), (line, fragment, "\n".join(map(str, issues)))
    assert str(next(i for i in issues if i.line == 4)).startswith("gazetteer.yaml:4: estate ")


def test_a_bad_min_confidence_and_a_bad_shape_are_errors(
    tiny_town: Callable[[str], Path],
) -> None:
    issues = validate_town(tiny_town("min_confidence: 1.5\nestates: []\n"))
    assert [(i.file, i.line) for i in issues] == [(GAZETTEER_FILE, 1)]
    assert "min_confidence" in issues[0].message
    issues = validate_town(tiny_town("- just a list\n"))
    assert [(i.file, i.line) for i in issues] == [(GAZETTEER_FILE, 1)]


def test_an_estate_named_like_another_community_is_a_warning(
    tiny_town: Callable[[str], Path],
) -> None:
    # 西湖 is an alias of 西湖居委会 (100000001002); this estate lies in 东湖.
    directory = tiny_town('estates:\n  - {name: 西湖, jurisdiction: "100000001001-G01"}\n')
    issues = validate_town(directory)
    assert [(i.file, i.line, i.severity) for i in issues] == [(GAZETTEER_FILE, 2, "warning")]
    assert "'100000001002'" in issues[0].message
    assert load_town(directory).gazetteer is not None  # a warning does not stop loading


def test_a_valid_tiny_gazetteer_loads(tiny_town: Callable[[str], Path]) -> None:
    text = TINY_GAZETTEER.split("  - {name: 无名小区")[0] + (
        "roads:\n"
        "  - name: 湖滨路\n"
        "    segments:\n"
        '      - {from: 1, to: 99, parity: odd, jurisdiction: "100000001001"}\n'
        '      - {from: 2, to: 98, parity: even, jurisdiction: "100000001002"}\n'
    )
    town = load_town(tiny_town(text))
    assert town.gazetteer is not None
    assert town.gazetteer.min_confidence == 0.8
    assert [e.name for e in town.gazetteer.estates] == ["东湖花园"]
    assert town.gazetteer.roads[0].segments[1].holds(40)
    assert not town.gazetteer.roads[0].segments[1].holds(41)


@pytest.fixture
def fresh_caches(session: Session) -> Iterator[None]:
    """Re-syncing inside a rolled-back test must not leave its data in the caches."""
    yield
    for forget in (forget_gazetteer, forget_index, forget_profile, forget_categories):
        forget(session)


def test_syncing_the_town_replaces_the_gazetteer_and_refreshes_the_index(
    session: Session, fresh_caches: None
) -> None:
    assert best_of(locate_text(session, "森兰名轩")).kind == "estate"
    town = load_town(default_town_dir())
    changed = Gazetteer(
        min_confidence=0.9,
        estates=[
            GazetteerPlace(name="测试花园", aliases=["测试苑"], jurisdiction="310115121020-G01")
        ],
        roads=[
            Road(
                name="测试路",
                segments=[
                    RoadSegment(number_from=1, number_to=9, parity="odd", jurisdiction=GAOHANG)
                ],
            )
        ],
    )
    report = sync_town(session, town.model_copy(update={"gazetteer": changed}))
    assert report.gazetteer_entries == 2
    assert session.scalar(select(func.count()).select_from(GazetteerEntry)) == 2

    result = locate_text(session, "测试苑门口")
    assert best_of(result).code == "310115121020-G01"
    assert result.min_confidence == 0.9
    # The old estate is gone; its committee still has the name.
    assert best_of(locate_text(session, "森兰名轩")).kind == "community"
    assert "测试路" in place_names(session)


# --- HTTP --------------------------------------------------------------------------------


def test_staff_locate_over_http(client: TestClient, login: Callable[[str], dict[str, str]]) -> None:
    response = client.get(
        "/api/v1/locate", params={"q": "东靖路1200弄3号"}, headers=login("dispatcher")
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["usable"] is True
    assert body["best"]["code"] == HUIJUN
    assert body["best"]["house_number"] == 1200
    assert body["best"]["method"] == "address"
    assert body["min_confidence"] == 0.75
    assert body["candidates"][0] == body["best"]
    ambiguous = client.get("/api/v1/locate", params={"q": "东靖路"}, headers=login("grid_nanxin"))
    assert ambiguous.status_code == 200
    assert ambiguous.json()["usable"] is False
    assert len(ambiguous.json()["candidates"]) > 1


def test_http_locate_with_a_point(
    client: TestClient, login: Callable[[str], dict[str, str]], session: Session
) -> None:
    lat, lon = _inside(session, f"{GAOHANG}-G01")
    response = client.get("/api/v1/locate", params={"lat": lat, "lon": lon}, headers=login("duty"))
    assert response.status_code == 200, response.text
    assert response.json()["best"]["code"] == f"{GAOHANG}-G01"
    assert response.json()["best"]["method"] == "point"


def test_residents_and_strangers_may_not_locate(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    forbidden = client.get("/api/v1/locate", params={"q": "森兰名轩"}, headers=login("resident_a"))
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "forbidden"
    assert client.get("/api/v1/locate", params={"q": "森兰名轩"}).status_code == 401


def test_http_locate_without_a_question_is_invalid(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    response = client.get("/api/v1/locate", headers=login("dispatcher"))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "invalid_input"
    half = client.get("/api/v1/locate", params={"lat": 31.29}, headers=login("dispatcher"))
    assert half.status_code == 422
    assert half.json()["error"]["details"]["field"] == "lon"


# --- the command line --------------------------------------------------------------------


@pytest.fixture
def cli() -> typer.Typer:
    return main_app


def _url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=False)


def test_cli_prints_the_place_and_exits_0_when_usable(cli: typer.Typer, engine: Engine) -> None:
    result = CliRunner().invoke(
        cli, ["locate", "东靖路1200弄3号", "--database-url", _url(engine)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 0, result.output
    assert "汇郡居委会" in result.output
    assert "东靖路 1200号" in result.output
    assert "usable for dispatch" in result.output


def test_cli_exits_1_and_lists_candidates_when_ambiguous(cli: typer.Typer, engine: Engine) -> None:
    result = CliRunner().invoke(
        cli, ["locate", "东靖路", "--database-url", _url(engine)], env={"COLUMNS": "200"}
    )
    assert result.exit_code == 1
    assert "NOT usable" in result.output
    assert "森兰金地居委会" in result.output and "汇郡居委会" in result.output


def test_cli_json_output(cli: typer.Typer, engine: Engine) -> None:
    result = CliRunner().invoke(
        cli, ["locate", "迎亭小区", "--json", "--database-url", _url(engine)]
    )
    assert result.exit_code == 0, result.output
    body = json.loads(result.output)
    assert body["best"]["name"] == "迎亭公寓"
    assert body["usable"] is True


def test_cli_says_clearly_when_there_is_no_town(cli: typer.Typer, tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    result = CliRunner().invoke(
        cli, ["locate", "森兰名轩", "--database-url", f"sqlite:///{missing}"]
    )
    assert result.exit_code == 1
    assert "no database" in result.output
    assert not missing.exists()

    empty = tmp_path / "empty.db"
    make_engine(f"sqlite:///{empty}").connect().close()
    result = CliRunner().invoke(cli, ["locate", "森兰名轩", "--database-url", f"sqlite:///{empty}"])
    assert result.exit_code == 1
    assert "no town is loaded" in result.output
