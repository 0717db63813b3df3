"""The duty roster (值班表): shifts, rotations, swaps, the town file's checks and the route."""

from __future__ import annotations

import itertools
import os
import re
import shutil
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml
from fastapi.testclient import TestClient

from townops.duty import DutyConfig, watch_at, watches
from townops.townfiles.loader import validate_town

SH = ZoneInfo("Asia/Shanghai")
# The roster's rules and the town file's checks involve no storage: run once, in the
# SQLite pass (the route's test below runs on both databases).
pure = pytest.mark.skipif(
    bool(os.environ.get("TOWNOPS_TEST_DATABASE_URL")),
    reason="no storage involved: run once, in the SQLite pass",
)
TINY = Path(__file__).parents[1] / "fixtures" / "towns" / "tiny"

ROSTER = DutyConfig.model_validate(
    {
        "shifts": [
            {"id": "day", "name": {"zh": "白班", "en": "Day"}, "start": "08:30"},
            {"id": "night", "name": {"zh": "夜班", "en": "Night"}, "start": "17:30"},
        ],
        "positions": [
            {
                "id": "officer",
                "name": {"zh": "值班员", "en": "Duty officer"},
                "rotation": ["a", "b", "c"],
                "turn": "shift",
                "start": "2026-03-02",
            },
            {
                "id": "leader",
                "name": {"zh": "带班领导", "en": "Leader on duty"},
                "rotation": ["x", "y"],
                "turn": "week",
                "start": "2026-03-02",
            },
        ],
        "swaps": [{"date": "2026-03-04", "position": "officer", "user": "z", "shift": "night"}],
    }
)


def _holders(moment: datetime) -> tuple[str, str, str]:
    watch = watch_at(ROSTER, moment)
    return watch.shift.id, watch.links[0].username, watch.links[1].username


@pure
def test_each_shift_takes_the_next_officer_and_the_leader_turns_weekly() -> None:
    assert _holders(datetime(2026, 3, 2, 9, 0, tzinfo=SH)) == ("day", "a", "x")
    assert _holders(datetime(2026, 3, 2, 18, 0, tzinfo=SH)) == ("night", "b", "x")
    assert _holders(datetime(2026, 3, 3, 9, 0, tzinfo=SH)) == ("day", "c", "x")
    # A week on: 14 shifts later, 14 % 3 → the third officer; the second leader.
    assert _holders(datetime(2026, 3, 9, 9, 0, tzinfo=SH)) == ("day", "c", "y")
    # Before the rotation's start the turns run backwards the same way.
    assert _holders(datetime(2026, 3, 1, 18, 0, tzinfo=SH)) == ("night", "c", "y")


@pure
def test_the_night_shift_runs_past_midnight_into_the_next_morning() -> None:
    early = watch_at(ROSTER, datetime(2026, 3, 3, 8, 29, tzinfo=SH))
    assert (early.day, early.shift.id, early.links[0].username) == (date(2026, 3, 2), "night", "b")
    assert early.starts_at == datetime(2026, 3, 2, 17, 30, tzinfo=SH)
    assert early.ends_at == datetime(2026, 3, 3, 8, 30, tzinfo=SH)
    assert watch_at(ROSTER, datetime(2026, 3, 3, 8, 30, tzinfo=SH)).shift.id == "day"


@pure
def test_a_swap_holds_its_date_and_shift_only() -> None:
    night = watch_at(ROSTER, datetime(2026, 3, 4, 20, 0, tzinfo=SH))
    assert night.links[0].username == "z" and night.links[0].swapped
    day = watch_at(ROSTER, datetime(2026, 3, 4, 10, 0, tzinfo=SH))
    assert day.links[0].username != "z" and not day.links[0].swapped


@pure
def test_the_roster_laid_out_over_days_is_every_shift_in_order() -> None:
    laid = watches(ROSTER, date(2026, 3, 2), 3)
    assert [(w.day.day, w.shift.id) for w in laid] == [
        (2, "day"), (2, "night"), (3, "day"), (3, "night"), (4, "day"), (4, "night"),
    ]  # fmt: skip
    assert [w.links[0].username for w in laid] == ["a", "b", "c", "a", "b", "z"]
    assert all(w.ends_at == nxt.starts_at for w, nxt in itertools.pairwise(laid))


@pure
@pytest.mark.parametrize(
    ("problem", "edit"),
    [
        ("shifts must be listed in the order they start", lambda t: t.replace("08:30", "19:00")),
        ("unknown position 'chief'", lambda t: t.replace("position: officer", "position: chief")),
        ("position id(s) listed twice: officer", lambda t: t.replace("leader_on_duty", "officer")),
    ],
)
def test_a_roster_that_contradicts_itself_is_refused(
    problem: str, edit: Callable[[str], str]
) -> None:
    text = edit(_tiny_roster())
    with pytest.raises(ValueError, match=re.escape(problem)):
        DutyConfig.model_validate(yaml.safe_load(text))


def _tiny_roster() -> str:
    return """\
shifts:
  - {id: day, name: {zh: 白班, en: Day}, start: "08:30"}
  - {id: night, name: {zh: 夜班, en: Night}, start: "17:30"}
positions:
  - id: officer
    name: {zh: 值班员, en: Duty officer}
    rotation: [duty, nobody]
    turn: shift
    start: 2026-03-02
  - id: leader_on_duty
    name: {zh: 带班领导, en: Leader on duty}
    rotation: [admin]
    start: 2026-03-02
swaps:
  - {date: 2026-03-04, position: officer, user: resident_a}
"""


@pure
def test_the_town_loader_names_each_unknown_or_resident_user_at_its_line(tmp_path: Path) -> None:
    directory = tmp_path / "town"
    shutil.copytree(TINY, directory)
    (directory / "duty.yaml").write_text(_tiny_roster(), encoding="utf-8")
    issues = [str(issue) for issue in validate_town(directory)]
    assert "duty.yaml:7: duty roster: user 'nobody' does not exist in users.yaml" in issues
    assert (
        "duty.yaml:15: duty roster: user 'resident_a' is a resident, not a member of staff"
        in issues
    )
    assert len(issues) == 2


def test_staff_read_who_is_on_duty_and_residents_may_not(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    response = client.get("/api/v1/duty?date=2026-03-02&days=2", headers=login("grid_nanxin"))
    assert response.status_code == 200, response.text
    body = response.json()
    assert [(w["day"], w["shift"]) for w in body["watches"]] == [
        ("2026-03-02", "day"),
        ("2026-03-02", "night"),
        ("2026-03-03", "day"),
        ("2026-03-03", "night"),
    ]
    first = body["watches"][0]
    assert [link["position"] for link in first["chain"]] == ["officer", "leader_on_duty"]
    assert first["chain"][0]["position_zh"] == "值班员" and first["shift_zh"] == "白班"
    assert first["chain"][0]["display_name"].startswith("城运中心")
    assert "phone" not in str(first)  # a roster names staff, never their numbers
    assert body["now"]["on_now"] is True
    refused = client.get("/api/v1/duty", headers=login("resident_a"))
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "forbidden"
    too_many = client.get("/api/v1/duty?days=90", headers=login("duty"))
    assert too_many.status_code == 422 and "days" in too_many.text
