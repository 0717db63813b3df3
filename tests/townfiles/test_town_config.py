"""The town directory: the packaged Gaohang town, the tiny fixture and a broken one."""

from __future__ import annotations

import csv
import json
import runpy
import shutil
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from shapely.geometry import shape
from shapely.ops import unary_union

from townops.townfiles.loader import (
    ConfigIssue,
    TownConfigError,
    default_town_dir,
    load_town,
    validate_town,
)
from townops.townfiles.schema import ROLES, Town

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "towns"
TINY = FIXTURES / "tiny"
BROKEN = FIXTURES / "broken"
SHARED_DATA = Path(__file__).resolve().parents[3] / "shared" / "data"
GAOHANG_CSV = SHARED_DATA / "shanghai-admin-divisions" / "gaohang_town_juweihui_nbs2021.csv"
PUDONG_OUTLINE = SHARED_DATA / "shanghai-geo-boundaries" / "pudong_district_outline.geojson"
GAOHANG_SECTORS = SHARED_DATA / "gaohang-osm" / "gaohang_sectors.geojson"

needs_gaohang_csv = pytest.mark.skipif(
    not GAOHANG_CSV.is_file(), reason=f"shared data not available: {GAOHANG_CSV}"
)


@pytest.fixture(scope="module")
def gaohang() -> Town:
    return load_town(default_town_dir())


@pytest.fixture
def tiny_copy(tmp_path: Path) -> Callable[[str, Callable[[str], str]], Path]:
    """A copy of the tiny town with one file rewritten by ``edit``."""

    def make(file: str, edit: Callable[[str], str]) -> Path:
        directory = tmp_path / "town"
        shutil.copytree(TINY, directory)
        target = directory / file
        target.write_text(edit(target.read_text(encoding="utf-8")), encoding="utf-8")
        return directory

    return make


def _csv_rows() -> list[dict[str, str]]:
    with GAOHANG_CSV.open(encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


# --- Gaohang ---------------------------------------------------------------------------


def test_the_default_town_dir_is_the_packaged_gaohang_directory() -> None:
    directory = default_town_dir()
    assert directory.name == "gaohang"
    assert (directory / "town.yaml").is_file()


def test_the_packaged_gaohang_town_validates_without_any_issue() -> None:
    assert validate_town(default_town_dir()) == []


def test_gaohang_is_rooted_at_its_official_town_code(gaohang: Town) -> None:
    assert gaohang.code == "310115121"
    assert gaohang.root.name_zh == "高行镇"
    assert gaohang.levels == ["town", "community", "micro_grid", "building"]


def test_gaohang_has_37_communities_with_3_micro_grids_of_2_buildings_each(
    gaohang: Town,
) -> None:
    communities = gaohang.at_level("community")
    assert len(communities) == 37
    for community in communities:
        grids = gaohang.children(community.code)
        assert [g.code for g in grids] == [f"{community.code}-G0{n}" for n in (1, 2, 3)]
        for grid in grids:
            assert len(gaohang.children(grid.code)) == 2
    assert len(gaohang.at_level("building")) == 37 * 3 * 2


@needs_gaohang_csv
def test_gaohang_communities_carry_the_official_nbs_codes_and_names(gaohang: Town) -> None:
    official = {row["village_code"]: row["village_name"] for row in _csv_rows()}
    communities = {j.code: j.name_zh for j in gaohang.at_level("community")}
    assert communities == official
    assert all(j.official_code for j in gaohang.at_level("community"))


def test_nanxin_is_found_by_its_official_name_and_its_aliases(gaohang: Town) -> None:
    for name in ("南新居委会", "南新居民区", "南新"):
        assert [j.code for j in gaohang.find_by_name(name)] == ["310115121020"]


def test_the_communities_tile_the_town_without_overlapping(gaohang: Town) -> None:
    town = shape(gaohang.root.geojson_geometry)
    parts = [shape(j.geojson_geometry) for j in gaohang.at_level("community")]
    assert sum(p.area for p in parts) == pytest.approx(town.area, rel=1e-9)
    assert unary_union(parts).symmetric_difference(town).area < town.area * 1e-9


@pytest.mark.skipif(not PUDONG_OUTLINE.is_file(), reason="Pudong outline not available")
def test_the_gaohang_town_polygon_lies_in_pudong(gaohang: Town) -> None:
    # The district outline is coarse and in GCJ-02 (shifted some 300 m from WGS-84), so the
    # town's western edge along the river pokes out of it: "in Pudong" is most of its area.
    outline = json.loads(PUDONG_OUTLINE.read_text(encoding="utf-8"))
    pudong = shape(outline["features"][0]["geometry"])
    town = shape(gaohang.root.geojson_geometry)
    assert town.intersection(pudong).area > 0.9 * town.area


def test_the_geometry_file_says_it_is_approximate() -> None:
    data = json.loads((default_town_dir() / "jurisdictions.geojson").read_text("utf-8"))
    assert "approximate" in data["note"].lower()


@needs_gaohang_csv
@pytest.mark.skipif(not GAOHANG_SECTORS.is_file(), reason="OSM sectors not available")
def test_the_committed_geometry_is_what_the_generator_produces() -> None:
    script = default_town_dir() / "_generate_geometry.py"
    generator = runpy.run_path(str(script), run_name="_generate_geometry")  # no bytecode left
    committees = generator["read_committees"](GAOHANG_CSV)
    rendered = generator["render"](
        generator["build"](committees, generator["read_outline"](GAOHANG_SECTORS))
    )
    committed = (default_town_dir() / "jurisdictions.geojson").read_text(encoding="utf-8")
    assert rendered == committed


def test_gaohang_deadlines_follow_the_shanghai_12345_defaults(gaohang: Town) -> None:
    for category in gaohang.categories:
        deadline = category.deadline
        if category.type in ("consultation", "advice"):
            assert deadline.working_days == 1, category.code
        elif category.type in ("help", "complaint"):
            assert deadline.working_days == 5, category.code
        elif category.type == "complex":
            assert (deadline.working_days, category.requires_approval) == (15, True)
        elif category.code.startswith("iot_"):  # device alarms: on the spot within minutes
            assert deadline.minutes is not None and deadline.minutes <= 240, category.code
        else:
            assert deadline.hours is not None, category.code
    assert gaohang.category("gas_smell").deadline.hours == 2
    assert gaohang.category("water_main_burst").deadline.hours == 4


def test_gaohang_routes_the_classic_cases_to_the_expected_departments(gaohang: Town) -> None:
    expected = {
        "neighbour_dispute": "justice_office",
        "river_pollution": "river_chief_office",
        "fire_hazard": "safety_office",
        "illegal_construction": "urban_management",
        "property_service": "housing_office",
        "food_safety": "market_regulation",
    }
    assert {code: gaohang.category(code).department for code in expected} == expected


def test_only_duty_officers_dispatchers_and_handlers_see_full_phone_numbers(
    gaohang: Town,
) -> None:
    full = {role for role, spec in gaohang.roles.items() if spec.sees_full_phone}
    assert full == {"duty_officer", "dispatcher", "handler"}
    assert set(gaohang.roles) == set(ROLES)


def test_the_gaohang_personas_are_scoped_as_the_demo_expects(gaohang: Town) -> None:
    assert gaohang.user("nanxin").role == "community_staff"
    assert gaohang.user("nanxin").scope == "310115121020"
    grid = gaohang.user("grid_nanxin")
    assert grid.role == "grid_worker" and grid.scope is not None
    assert gaohang.jurisdiction(grid.scope).parent == "310115121020"
    assert gaohang.user("housing").department == "housing_office"
    for username in ("resident_a", "resident_b"):
        assert gaohang.user(username).role == "resident"
        assert gaohang.user(username).phone


# --- the tiny town ---------------------------------------------------------------------


def test_the_tiny_town_loads() -> None:
    town = load_town(TINY)
    assert town.code == "100000001"
    assert len(town.at_level("community")) == 2
    assert len(town.at_level("micro_grid")) == 4
    assert len(town.at_level("building")) == 4
    assert len(town.departments) == 3
    assert len(town.categories) == 4
    assert set(town.roles) == set(ROLES)


def test_the_tree_helpers_walk_up_and_down_the_tiny_town() -> None:
    town = load_town(TINY)
    building = "100000001001-G01-B01"
    assert [j.code for j in town.ancestors(building)] == [
        "100000001001-G01",
        "100000001001",
        "100000001",
    ]
    assert town.subtree_codes("100000001001") == {
        "100000001001",
        "100000001001-G01",
        "100000001001-G01-B01",
        "100000001001-G02",
        "100000001001-G02-B01",
    }


# --- the broken town -------------------------------------------------------------------

EXPECTED_BROKEN_ISSUES = [
    ("jurisdictions.geojson", 378, "duplicate jurisdiction code '100000001002-G02-B01'"),
    ("jurisdictions.geojson", 395, "parent '100000001002-G09' does not exist"),
    ("jurisdictions.geojson", 412, "invalid geometry: Self-intersection"),
    ("categories.yaml", 5, "department 'no_such_department' does not exist"),
    ("categories.yaml", 16, "needs exactly one of working_days, hours or minutes"),
    ("categories.yaml", 28, "deadline.hours: Input should be greater than 0"),
    ("categories.yaml", 34, "duplicate category code 'noise_construction_night'"),
    ("categories.yaml", 54, "a singlevaluelist needs its values"),
    ("categories.yaml", 59, "unknown attribute datatype 'barcode'"),
    ("roles.yaml", 2, "missing roles: resident"),
    ("roles.yaml", 13, "unknown action 'delete'"),
    ("roles.yaml", 47, "unknown role 'superuser'"),
    ("users.yaml", 11, "user 'boss': role: unknown role 'superuser'"),
    ("users.yaml", 16, "a handler needs a department"),
    ("users.yaml", 27, "scope '100000001009' does not exist"),
]


@pytest.mark.parametrize(
    ("file", "line", "fragment"),
    EXPECTED_BROKEN_ISSUES,
    ids=[f"{file}:{line}" for file, line, _ in EXPECTED_BROKEN_ISSUES],
)
def test_the_broken_town_reports_each_error_with_its_file_and_line(
    file: str, line: int, fragment: str
) -> None:
    issues = validate_town(BROKEN)
    matches = [i for i in issues if i.file == file and i.line == line and fragment in i.message]
    assert matches, "\n".join(str(i) for i in issues)


def test_the_broken_town_reports_all_its_errors_and_nothing_else() -> None:
    issues = validate_town(BROKEN)
    assert len(issues) == len(EXPECTED_BROKEN_ISSUES), "\n".join(str(i) for i in issues)
    assert all(issue.is_error for issue in issues)


def test_loading_the_broken_town_raises_with_every_error() -> None:
    with pytest.raises(TownConfigError) as raised:
        load_town(BROKEN)
    assert len(raised.value.errors) == len(EXPECTED_BROKEN_ISSUES)
    assert "categories.yaml:5: " in str(raised.value)


def test_an_issue_prints_as_file_colon_line_colon_message() -> None:
    issue = next(i for i in validate_town(BROKEN) if i.file == "users.yaml" and i.line == 16)
    assert str(issue) == "users.yaml:16: user 'housing': a handler needs a department"
    assert str(ConfigIssue("town.yaml", None, "missing file")) == "town.yaml: missing file"


# --- more mistakes, made on a copy of the tiny town ------------------------------------


def test_a_missing_file_is_reported_without_a_line(tmp_path: Path) -> None:
    directory = tmp_path / "town"
    shutil.copytree(TINY, directory)
    (directory / "departments.yaml").unlink()
    issues = validate_town(directory)
    assert [(i.file, i.line) for i in issues] == [("departments.yaml", None)]


def test_a_yaml_syntax_error_is_reported_at_its_line(tiny_copy: Callable[..., Path]) -> None:
    directory = tiny_copy("departments.yaml", lambda text: text + "- code: [unclosed\n")
    issues = validate_town(directory)
    assert len(issues) == 1
    assert issues[0].file == "departments.yaml"
    assert issues[0].line == 16
    assert "invalid YAML" in issues[0].message


def test_a_repeated_yaml_key_is_an_error(tiny_copy: Callable[..., Path]) -> None:
    directory = tiny_copy(
        "town.yaml",
        lambda text: text.replace("name_en: Tiny Town", "name_en: Tiny Town\nname_en: Tinier Town"),
    )
    issues = validate_town(directory)
    assert [(i.file, i.line, i.message) for i in issues] == [
        ("town.yaml", 5, "duplicate key 'name_en'")
    ]


def test_an_unknown_key_is_an_error_at_its_line(tiny_copy: Callable[..., Path]) -> None:
    directory = tiny_copy(
        "categories.yaml", lambda text: text.replace("  urgency: low\n", "  urgncy: low\n")
    )
    messages = {(i.line, i.message) for i in validate_town(directory)}
    assert (39, "category 'policy_consultation': urgncy: Extra inputs are not permitted") in (
        messages
    )
    assert (34, "category 'policy_consultation': urgency: Field required") in messages


def test_an_unquoted_numeric_code_is_rejected(tiny_copy: Callable[..., Path]) -> None:
    directory = tiny_copy(
        "town.yaml", lambda text: text.replace('code: "100000001"', "code: 100000001")
    )
    issues = validate_town(directory)
    assert any(
        i.line == 2 and "code: Input should be a valid string" in i.message for i in issues
    ), issues


def test_a_parent_on_the_wrong_level_is_an_error(tiny_copy: Callable[..., Path]) -> None:
    wrong = '"parent": "100000001001-G01"}, "geometry": {"type": "Polygon"'
    directory = tiny_copy(
        "jurisdictions.geojson",
        lambda text: text.replace(
            '"parent": "100000001001"}, "geometry": {"type": "Polygon"', wrong, 1
        ),
    )
    issues = validate_town(directory)
    assert any(
        i.line == 8
        and "is a micro_grid, but the parent of a micro_grid must be a community" in i.message
        for i in issues
    ), "\n".join(map(str, issues))


def test_the_root_must_carry_the_town_code(tiny_copy: Callable[..., Path]) -> None:
    directory = tiny_copy("town.yaml", lambda text: text.replace('"100000001"', '"100000002"', 1))
    messages = [str(i) for i in validate_town(directory)]
    assert any(
        m.startswith("jurisdictions.geojson:5: ") and "must have the town code" in m
        for m in messages
    ), messages


def test_a_child_whose_centroid_is_outside_its_parent_only_warns(
    tiny_copy: Callable[..., Path],
) -> None:
    # Move the point building of micro-grid 001-G02 into community 002.
    directory = tiny_copy(
        "jurisdictions.geojson",
        lambda text: text.replace("[121.0075, 31.005]", "[121.0175, 31.005]"),
    )
    issues = validate_town(directory)
    assert [(i.file, i.line, i.severity) for i in issues] == [
        ("jurisdictions.geojson", 11, "warning")
    ]
    assert "centroid lies outside its parent" in str(issues[0])
    load_town(directory)  # warnings do not stop loading


def test_a_community_staff_member_needs_a_scope(tiny_copy: Callable[..., Path]) -> None:
    directory = tiny_copy(
        "users.yaml", lambda text: text.replace('scope: "100000001001"\n', "scope: null\n")
    )
    issues = validate_town(directory)
    assert [(i.line, i.message) for i in issues] == [
        (23, "user 'donghu': a community_staff needs a scope (a jurisdiction code)")
    ]


def test_roles_may_not_be_granted_an_action_twice(tiny_copy: Callable[..., Path]) -> None:
    directory = tiny_copy(
        "roles.yaml",
        lambda text: text.replace(
            "actions: [supervise, acknowledge]", "actions: [supervise, supervise, acknowledge]"
        ),
    )
    assert [str(i) for i in validate_town(directory)] == [
        "roles.yaml:18: role 'leader': actions: actions listed twice: supervise"
    ]


def test_every_issue_in_the_broken_town_names_a_known_file() -> None:
    files = Counter(issue.file for issue in validate_town(BROKEN))
    assert set(files) <= {
        "town.yaml",
        "jurisdictions.geojson",
        "departments.yaml",
        "categories.yaml",
        "roles.yaml",
        "users.yaml",
    }


# --- what a domain's section names must exist (each section lists its own references) ---


def _line_of(path: Path, text: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if text in line)


def test_codes_named_by_dispatch_sensing_and_the_public_policy_must_exist(
    tmp_path: Path,
) -> None:
    """dispatch.yaml, sensing.yaml and town.yaml's open311.public each declare what they
    name (``references()`` on their model); the loader reports every unknown code at its
    own line, with the file that should define it."""
    town = tmp_path / "gaohang"
    shutil.copytree(default_town_dir(), town)
    dispatch, sensing, town_yaml = town / "dispatch.yaml", town / "sensing.yaml", town / "town.yaml"
    dispatch.write_text(
        dispatch.read_text().replace("department: urban_management", "department: no_such_unit", 1)
    )
    sensing.write_text(
        sensing.read_text().replace("category: iot_gas_alarm_home", "category: no_such_category", 1)
    )
    town_yaml.write_text(
        town_yaml.read_text().replace(
            "categories: [road_damage, street_light", "categories: [road_damage, no_such_light", 1
        )
    )
    found = {(i.file, i.line, i.message) for i in validate_town(town)}
    assert found == {
        (
            "dispatch.yaml",
            _line_of(dispatch, "department: no_such_unit"),
            "department 'no_such_unit' does not exist in departments.yaml",
        ),
        (
            "sensing.yaml",
            _line_of(sensing, "category: no_such_category"),
            "route 'gas_in_elderly_home': category 'no_such_category' does not exist in "
            "categories.yaml",
        ),
        (
            "town.yaml",
            _line_of(town_yaml, "no_such_light"),
            "open311.public: category 'no_such_light' does not exist in categories.yaml",
        ),
    }
