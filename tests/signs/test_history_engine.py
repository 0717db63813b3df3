"""Signs judged by their own history, through the engine: bands, years, reasons, warnings.

The history: 12345 hotline cases in Nanxin micro-grid 1 — three a month from February to
July 2025 (the town's records begin on 1 February), then twelve in August. Today is
15 September 2025.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.orm import Session

from tests.signs.test_signs import MARCH, NANXIN, NANXIN_G1, TOWN, _Town, at_node, build_story
from townops.signs.service import compute_signs, compute_signs_by_level
from townops.signs.values import SignValue
from townops.signs.warnings import raise_warnings

SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = datetime(2025, 9, 15, 12, 0, tzinfo=SHANGHAI)


@pytest.fixture
def history(session: Session) -> Session:
    town = _Town(session)
    for month in range(2, 8):
        for day in (1, 10, 20):
            town.receive("house_leak", NANXIN_G1, datetime(2025, month, day, 9, tzinfo=SHANGHAI))
    for day in range(1, 13):
        town.receive("house_leak", NANXIN_G1, datetime(2025, 8, day, 9, tzinfo=SHANGHAI))
    session.flush()
    return session


def sign(session: Session, sign_id: str, period: str, code: str | None = None) -> SignValue:
    values = compute_signs(session, jurisdiction=code, period=period, now=TODAY)
    return next(v for v in values if v.id == sign_id)


def test_a_month_far_beyond_its_usual_range_is_red_and_says_which_range(history: Session) -> None:
    received = sign(history, "hotline_received", "2025-08")
    assert (received.value, received.basis, received.status) == (12, "history", "red")
    band = received.band
    assert band is not None
    assert (band.periods, band.first, band.last, band.per) == (6, "2025-02", "2025-07", "month")
    assert band.centre == 3 and band.low == 0 and band.high == pytest.approx(3 + 2 * 3**0.5)
    assert (band.compared, band.compared_period) == (12, "2025-08")
    assert received.unjudged is None and received.unjudged_en == ""


def test_the_same_band_is_taken_at_every_node_of_a_level(history: Session) -> None:
    communities = compute_signs_by_level(history, level="community", period="2025-08", now=TODAY)
    nanxin = next(n for n in communities.nodes if n.code == NANXIN)
    received = next(v for v in nanxin.signs if v.id == "hotline_received")
    assert received.status == "red" and received.band is not None
    assert received.band.centre == 3
    elsewhere = next(n for n in communities.nodes if n.code != NANXIN)
    quiet = next(v for v in elsewhere.signs if v.id == "hotline_received")
    assert quiet.status == "green" and quiet.band is not None and quiet.band.centre == 0


def test_a_good_direction_surprise_is_green(history: Session) -> None:
    # Patrols (higher is better) never happened: 0 is their usual, and it is fine.
    patrols = sign(history, "patrol_cases", "2025-08")
    assert patrols.status == "green" and patrols.band is not None


def test_a_year_is_judged_month_by_month(history: Session) -> None:
    year = sign(history, "hotline_received", "2025")
    assert year.value == 30 and year.status == "red"
    band = year.band
    assert band is not None
    # Only August has six usable months before it (February–July).
    assert (band.months_judged, band.months_yellow, band.months_red) == (1, 0, 1)
    assert band.compared_period == "2025-08"


def test_without_enough_history_a_sign_says_why(history: Session) -> None:
    july = sign(history, "hotline_received", "2025-07")
    assert (july.status, july.unjudged) == ("none", "short_history")
    assert july.unjudged_en == "only 5 past periods with data (needs 6)"
    assert july.unjudged_zh == "可比历史仅5期，不足6期"
    running = sign(history, "hotline_received", "2025-09")
    assert (running.status, running.unjudged) == ("none", "period_running")


def test_unjudged_signs_name_their_reason(session: Session) -> None:
    build_story(session)  # March 2025: the town's records begin on 3 March
    town = at_node(session, None, MARCH)
    assert town["police_alarms"].unjudged == "no_figure"
    assert town["police_alarms"].unjudged_en == "no figure entered"
    assert town["estates_total"].unjudged == "not_judged"
    assert "base figure" in town["estates_total"].unjudged_en
    assert town["fire_hazard_on_time_rate"].unjudged == "no_cases"
    assert town["hotline_on_time_rate"].unjudged == "too_few_cases"  # 4 closed, needs 10
    assert town["hotline_on_time_rate"].unjudged_en.startswith("too few cases: 4")
    assert town["hotline_received"].unjudged == "short_history"
    assert town["max_water_depth"].status == "red" and town["max_water_depth"].basis == "town"
    for value in town.values():
        assert (value.status == "none") == (value.unjudged is not None), value.id
        assert value.basis in ("national", "town", "history", "unjudged")


def test_a_history_warning_names_the_edge_of_the_usual_range(history: Session) -> None:
    run = raise_warnings(history, period="2025-08", now=TODAY)
    warned = {(w.sign_id, w.jurisdiction_code): w for w in run.raised}
    warning = warned[("hotline_received", TOWN)]
    assert warning.value == 12
    assert warning.threshold == pytest.approx(3 + 2 * 3**0.5)
