"""A category's attributes (属性): checked on every intake, whatever the channel."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from fastapi.testclient import TestClient

from tests.helpers import ok
from townops.categories.attributes import AttributeSpec, check_attributes
from townops.errors import InvalidInput

POLE = AttributeSpec(
    code="pole_number",
    datatype="string",
    description_zh="灯杆编号",
    description_en="Pole number",
    pattern=r"[A-Z]{0,4}-?[0-9]{1,6}",
)
FAULT = AttributeSpec(
    code="fault",
    datatype="singlevaluelist",
    description_zh="故障",
    description_en="Fault",
    required=True,
    values=(("out", "不亮", "Not lit"), ("flickering", "闪烁", "Flickering")),
)
PARTS = AttributeSpec(
    code="parts",
    datatype="multivaluelist",
    description_zh="部件",
    description_en="Parts",
    values=(("lamp", "灯具", "Lamp"), ("pole", "灯杆", "Pole")),
)
HEIGHT = AttributeSpec(code="height", datatype="number", description_zh="高", description_en="H")
SEEN = AttributeSpec(code="seen", datatype="datetime", description_zh="时间", description_en="At")
SPECS = (POLE, FAULT, PARTS, HEIGHT, SEEN)


def test_good_values_are_kept_in_their_shape() -> None:
    kept = check_attributes(
        SPECS,
        {
            "pole_number": " GH-0123 ",
            "fault": ["out"],  # a list of one from a client: one value
            "parts": "lamp,pole",  # a form's "a,b": a list
            "height": "7.5",
            "seen": "2026-12-01T20:30:00+08:00",
            "uprn": "100023336956",  # not declared: kept as sent
            "empty": "",
        },
    )
    assert kept == {
        "pole_number": "GH-0123",
        "fault": "out",
        "parts": ["lamp", "pole"],
        "height": "7.5",
        "seen": "2026-12-01T20:30:00+08:00",
        "uprn": "100023336956",
    }


def test_every_bad_value_is_named_at_once() -> None:
    with pytest.raises(InvalidInput) as refused:
        check_attributes(
            SPECS,
            {"pole_number": "灯杆", "parts": ["lamp", "wire"], "height": "tall", "seen": "昨晚"},
        )
    problems = {p["attribute"]: p["problem"] for p in refused.value.details["problems"]}
    assert set(problems) == {"pole_number", "parts", "height", "seen", "fault"}
    assert "wire" in problems["parts"] and problems["fault"] == "is required"
    assert refused.value.details["field"] == "attributes.pole_number"


def test_a_single_value_attribute_refuses_a_list() -> None:
    with pytest.raises(InvalidInput, match="one value"):
        check_attributes(SPECS, {"fault": ["out", "flickering"]})


def test_the_case_api_checks_and_keeps_attributes(
    client: TestClient, login: Callable[[str], dict[str, str]]
) -> None:
    duty = login("duty")
    base = {"category": "street_light", "content": "路灯不亮", "jurisdiction": "310115121020"}
    refused = client.post(
        "/api/v1/cases", json={**base, "attributes": {"fault": "exploded"}}, headers=duty
    )
    assert refused.status_code == 422
    assert refused.json()["error"]["details"]["field"] == "attributes.fault"
    made = ok(
        client.post(
            "/api/v1/cases",
            json={**base, "attributes": {"fault": "out", "pole_number": "GH-7"}},
            headers=duty,
        ),
        201,
    )
    assert made["attributes"] == {"fault": "out", "pole_number": "GH-7"}
