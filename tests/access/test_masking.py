"""The shared masking functions (townops.access.masking): pure, no database."""

from __future__ import annotations

import os

import pytest

from townops.access.masking import (
    address_to_building,
    mask_address_of,
    mask_email,
    mask_id_number,
    mask_name,
    mask_phone,
    mask_text,
    public_address,
)

# Pure: no storage involved, so run once, in the SQLite pass.
pytestmark = pytest.mark.skipif(
    bool(os.environ.get("TOWNOPS_TEST_DATABASE_URL")),
    reason="no storage involved: run once, in the SQLite pass",
)


# --- the existing functions -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("phone", "masked"),
    [
        ("13812341234", "138****1234"),
        ("138 1234 5678", "138****5678"),
        ("138-8765-4321", "138****4321"),
        ("+86 138 1234 5678", "861****5678"),
        ("021-58612345", "021****2345"),
        ("12345", "*****"),
    ],
)
def test_mask_phone_keeps_the_first_three_and_last_four_digits(phone: str, masked: str) -> None:
    assert mask_phone(phone) == masked


def test_mask_id_number_keeps_the_ends_and_the_check_letter() -> None:
    assert mask_id_number("31011519900101777X") == "310***********777X"
    assert mask_id_number("310115199001017777") == "310***********7777"
    assert mask_id_number("1234") == "****"


def test_mask_name_keeps_the_surname() -> None:
    assert mask_name("王芳") == "王*"
    assert mask_name(" 欧阳娜娜 ") == "欧***"
    assert mask_name("") == ""


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("请回电13812341234", "请回电138****1234"),
        ("请联系 138 1234 5678", "请联系 138****5678"),
        ("电话138-8765-4321谢谢", "电话138****4321谢谢"),
        ("身份证31011519900101777X", "身份证310***********777X"),
        ("身份证 31011519900101777x。", "身份证 310***********777x。"),
        ("座机 021-5861-2345", "座机 021****2345"),
    ],
)
def test_mask_text_masks_numbers_typed_with_spaces_or_dashes(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2022-12-01 10:30 在12号楼",
        "高行镇华高庭园4号楼503室",
        "罚款 2000 元，共 35 户",
        "东靖路1200弄3号",
    ],
)
def test_mask_text_leaves_dates_house_numbers_and_amounts(text: str) -> None:
    assert mask_text(text) == text


@pytest.mark.parametrize(
    ("address", "building"),
    [
        ("高行镇华高庭园4号楼503室", "高行镇华高庭园4号楼"),
        ("南新小区12号楼2单元301", "南新小区12号楼"),
        ("华高庭园4栋503", "华高庭园4栋"),
        ("东靖路1200弄3号501", "东靖路1200弄3号"),
        ("华高新村五号楼三楼", "华高新村五号楼"),
        ("东靖路1200弄", "东靖路1200弄"),
    ],
)
def test_address_to_building_drops_unit_floor_and_room(address: str, building: str) -> None:
    assert address_to_building(address) == building


# --- for output anyone can read ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("138 1234 5678", "138****5678"),
        ("138-8765-4321", "138****4321"),
        ("138.1234.5678", "138****5678"),
        ("138 12 34 56 78", "138****5678"),
        ("1 3 8 1 2 3 4 5 6 7 8", "138****5678"),
        ("138\u30001234\u30005678", "138****5678"),  # ideographic spaces
        ("138\u20131234\u20145678", "138****5678"),  # en and em dashes
        ("138_1234_5678", "138****5678"),
        ("138/1234/5678", "138****5678"),
        ("+86 (138) 1234-5678", "861******5678"),
        ("ID310115199001017777", "ID310***********7777"),
        ("31011519900101777X", "310***********777X"),
        ("tel:13812341234。", "tel:138****1234。"),
    ],
)
def test_mask_text_masks_a_number_whatever_its_separators(text: str, masked: str) -> None:
    assert mask_text(text) == masked


@pytest.mark.parametrize(
    "text",
    [
        "2022-12-01 10:30",
        "2022/12/1 前处理",
        "2022.12.01",
        "高行镇华高庭园4号楼503室",
        "共 35 户，罚款 2,000 元",
        "",
    ],
)
def test_mask_text_keeps_dates_and_short_numbers(text: str) -> None:
    assert mask_text(text) == text


def test_a_number_next_to_a_date_is_masked_and_the_date_kept() -> None:
    assert mask_text("13812341234 2022-12-01") == "138****1234 2022-12-01"
    assert mask_text("2022-12-01 13812341234") == "2022-12-01 138****1234"


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("高行镇华高庭园4号楼503室", "高行镇华高庭园4号楼"),
        ("华高新村501室", "华高新村"),
        ("华高庭园4-503", "华高庭园"),
        ("东靖路1200弄3号501室", "东靖路1200弄3号"),
        ("南新居民区 12号楼", "南新居民区 12号楼"),
        ("  ", ""),
    ],
)
def test_public_address_stops_at_the_building(address: str, public: str) -> None:
    assert public_address(address) == public


def test_public_address_masks_a_number_written_into_it() -> None:
    assert "13812341234" not in public_address("电话13812341234")
    assert "1234" not in public_address("华高新村 138 1234 1234")


def test_a_message_address_is_masked_as_an_email_or_as_a_phone() -> None:
    assert mask_email("handler@gaohang.example") == "h***@gaohang.example"
    assert mask_address_of("handler@gaohang.example") == "h***@gaohang.example"
    assert mask_address_of("13812341234") == "138****1234"
    assert mask_address_of("") == ""
    assert mask_email("no-at-sign") == "**********"
