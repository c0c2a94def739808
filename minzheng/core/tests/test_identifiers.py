"""Tests for minzheng.core.identifiers. Pure Python: no database, no Django settings needed."""

from __future__ import annotations

import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from minzheng.core.identifiers import (
    PROVINCE_NAMES,
    URBAN_RURAL_CODES,
    USCC_ALPHABET,
    DivisionCode,
    DivisionLevel,
    InvalidIdentifier,
    ResidentId,
    is_child_code,
    is_urban,
    mask_resident_id,
    parse_division_code,
    parse_resident_id,
    parse_urban_rural_code,
    parse_uscc,
    resident_id_check_char,
    uscc_check_char,
    uscc_registered_by_civil_affairs,
)

TODAY = datetime.date(2025, 6, 30)


# Reference implementations written independently of the module under test, straight from the
# standards' formulas rather than from their weight tables.
def ref_resident_check(first17: str) -> str:
    # GB 11643-1999 / ISO 7064 MOD 11-2: W_i = 2^(i-1) mod 11 counted from the right, check
    # value = (12 - S mod 11) mod 11, written "X" for 10.
    total = sum(int(c) * pow(2, 17 - i, 11) for i, c in enumerate(first17))
    value = (12 - total % 11) % 11
    return "X" if value == 10 else str(value)


USCC_WEIGHTS_FROM_STANDARD = (1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28)


def ref_uscc_check(first17: str) -> str:
    total = sum(USCC_ALPHABET.index(c) * w for c, w in zip(first17, USCC_WEIGHTS_FROM_STANDARD, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def error_code(func: object, *args: object, **kwargs: object) -> str:
    assert callable(func)
    with pytest.raises(InvalidIdentifier) as info:
        func(*args, **kwargs)
    return info.value.code


# --- InvalidIdentifier ------------------------------------------------------------------------


def test_invalid_identifier_is_a_value_error_whose_str_is_the_chinese_message() -> None:
    exc = InvalidIdentifier("id.checksum", "身份证号码校验位不正确")
    assert isinstance(exc, ValueError)
    assert exc.code == "id.checksum"
    assert exc.message == "身份证号码校验位不正确"
    assert str(exc) == "身份证号码校验位不正确"


def test_raised_errors_carry_chinese_messages() -> None:
    with pytest.raises(InvalidIdentifier) as info:
        parse_resident_id("110105194912310021", today=TODAY)
    assert info.value.code == "id.checksum"
    assert "校验位" in str(info.value)


# --- Resident ID: fixed examples ------------------------------------------------------------------


def test_check_char_of_standard_example_is_x() -> None:
    assert resident_id_check_char("11010519491231002") == "X"
    assert resident_id_check_char("11010519491231001") == "1"
    assert resident_id_check_char("11010519000101001") == "X"


def test_check_char_requires_17_digits() -> None:
    assert error_code(resident_id_check_char, "1101051949123100") == "id.length"
    assert error_code(resident_id_check_char, "1101051949123100A") == "id.format"


def test_parse_18_digit_id_extracts_area_birth_date_and_sex() -> None:
    rid = parse_resident_id("11010519491231002X", today=TODAY)
    assert rid == ResidentId(
        number="11010519491231002X",
        area_code="110105",
        birth_date=datetime.date(1949, 12, 31),
        sex="F",
    )


def test_odd_sequence_code_is_male() -> None:
    assert parse_resident_id("110105194912310011", today=TODAY).sex == "M"


def test_parse_accepts_lowercase_x_spaces_and_full_width_digits() -> None:
    assert parse_resident_id(" 110105 19491231 002x ", today=TODAY).number == "11010519491231002X"
    assert (
        parse_resident_id("１１０１０５１９４９１２３１００２Ｘ", today=TODAY).number == "11010519491231002X"
    )


def test_15_digit_id_is_converted_to_18_with_19_century_prefix_and_check_char() -> None:
    rid = parse_resident_id("110105491231002", today=TODAY)
    assert rid.number == "11010519491231002X"
    assert rid.birth_date == datetime.date(1949, 12, 31)
    assert rid.sex == "F"


def test_city_level_and_retired_area_codes_are_accepted() -> None:
    # 640200 is a city-level code found on some old IDs; the check character makes it valid.
    assert parse_resident_id("64020219800118004X", today=TODAY).area_code == "640202"
    assert parse_resident_id("640200198001180047", today=TODAY).area_code == "640200"


def test_hong_kong_macao_taiwan_residence_permit_numbers_are_accepted() -> None:
    assert parse_resident_id("830000199001010020", today=TODAY).area_code == "830000"


def test_leap_day_birth_date_is_accepted() -> None:
    assert parse_resident_id("640202200002290013", today=TODAY).birth_date == datetime.date(2000, 2, 29)


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "id.length"),
        ("1101051949123100", "id.length"),
        ("11010519491231002X1", "id.length"),
        ("11010519491231002A", "id.format"),
        ("1101051949123100XX", "id.format"),
        ("11010549123100X", "id.format"),
        ("990105194912310023", "id.area"),
        ("000105194912310023", "id.area"),
        ("110105194902300020", "id.birth_date"),  # 30 February
        ("110105194913010020", "id.birth_date"),  # month 13
        ("110105203001010028", "id.birth_date"),  # after `today`
        ("110105188912310029", "id.birth_date"),  # before 1890
        ("110105490230002", "id.birth_date"),  # 15-digit, 30 February 1949
        ("110105194912310021", "id.checksum"),
        ("110105194912310020", "id.checksum"),
    ],
)
def test_invalid_resident_ids_are_rejected_with_specific_code(raw: str, code: str) -> None:
    assert error_code(parse_resident_id, raw, today=TODAY) == code


def test_birth_date_today_is_accepted_and_tomorrow_rejected() -> None:
    first17 = "110105" + TODAY.strftime("%Y%m%d") + "002"
    number = first17 + ref_resident_check(first17)
    assert parse_resident_id(number, today=TODAY).birth_date == TODAY
    assert error_code(parse_resident_id, number, today=TODAY - datetime.timedelta(days=1)) == "id.birth_date"


def test_birth_date_1890_01_01_is_the_earliest_accepted() -> None:
    first17 = "11010518900101002"
    assert parse_resident_id(first17 + ref_resident_check(first17), today=TODAY).birth_date == datetime.date(
        1890, 1, 1
    )


def test_masked_keeps_first_6_and_last_4() -> None:
    rid = parse_resident_id("64020219800118004X", today=TODAY)
    assert rid.masked == "640202********004X"
    assert mask_resident_id("64020219800118004x") == "640202********004X"


def test_mask_of_15_digit_and_malformed_numbers_reveals_nothing_extra() -> None:
    assert mask_resident_id("110105491231002") == "110105*****1002"
    assert mask_resident_id("12345") == "*****"
    assert mask_resident_id("") == ""


def test_str_and_repr_of_resident_id_do_not_leak_the_full_number() -> None:
    rid = parse_resident_id("64020219800118004X", today=TODAY)
    assert str(rid) == "640202********004X"
    assert "19800118" not in repr(rid)
    assert rid.number == "64020219800118004X"


def test_age_on_counts_whole_years() -> None:
    rid = parse_resident_id("11010519491231002X", today=TODAY)
    assert rid.age_on(datetime.date(2029, 12, 30)) == 79
    assert rid.age_on(datetime.date(2029, 12, 31)) == 80
    leap = parse_resident_id("640202200002290013", today=TODAY)
    assert leap.age_on(datetime.date(2018, 2, 28)) == 17
    assert leap.age_on(datetime.date(2018, 3, 1)) == 18


# --- Resident ID: properties ---------------------------------------------------------------------

provinces = st.sampled_from(sorted(PROVINCE_NAMES))
four_digits = st.text(alphabet="0123456789", min_size=4, max_size=4)
sequences = st.integers(min_value=0, max_value=999).map(lambda n: f"{n:03d}")


@st.composite
def valid_resident_ids(draw: st.DrawFn) -> str:
    area = draw(provinces) + draw(four_digits)
    born = draw(st.dates(min_value=datetime.date(1890, 1, 1), max_value=TODAY))
    first17 = area + born.strftime("%Y%m%d") + draw(sequences)
    return first17 + ref_resident_check(first17)


@given(valid_resident_ids())
def test_any_valid_id_parses_and_round_trips(number: str) -> None:
    rid = parse_resident_id(number, today=TODAY)
    assert rid.number == number
    assert rid.area_code == number[:6]
    assert rid.birth_date.strftime("%Y%m%d") == number[6:14]
    assert rid.sex == ("M" if int(number[16]) % 2 else "F")
    assert resident_id_check_char(number[:17]) == number[17]
    assert parse_resident_id(rid.number, today=TODAY) == rid
    assert parse_resident_id(number.lower(), today=TODAY) == rid


@given(valid_resident_ids(), st.integers(min_value=0, max_value=17), st.sampled_from("0123456789X"))
def test_changing_any_single_character_is_rejected(number: str, position: int, replacement: str) -> None:
    if number[position] == replacement:
        replacement = "0" if replacement != "0" else "1"
    changed = number[:position] + replacement + number[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        parse_resident_id(changed, today=TODAY)


@given(
    provinces,
    four_digits,
    st.dates(min_value=datetime.date(1900, 1, 1), max_value=datetime.date(1999, 12, 31)),
    sequences,
)
def test_15_digit_conversion_round_trips(
    province: str, area_rest: str, born: datetime.date, seq: str
) -> None:
    old = province + area_rest + born.strftime("%y%m%d") + seq
    rid = parse_resident_id(old, today=TODAY)
    expected17 = province + area_rest + born.strftime("%Y%m%d") + seq
    assert rid.number == expected17 + ref_resident_check(expected17)
    assert rid.birth_date == born
    assert rid.number[:6] + rid.number[8:17] == old
    assert parse_resident_id(rid.number, today=TODAY) == rid


@given(valid_resident_ids())
def test_masked_form_reveals_only_first_6_and_last_4(number: str) -> None:
    masked = parse_resident_id(number, today=TODAY).masked
    assert len(masked) == 18
    assert masked[:6] == number[:6]
    assert masked[6:14] == "********"
    assert masked[14:] == number[14:]


# --- Division codes -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "code12", "level", "prefix", "gb2260", "parent_prefix"),
    [
        ("64", "640000000000", DivisionLevel.PROVINCE, "64", "640000", None),
        ("640000", "640000000000", DivisionLevel.PROVINCE, "64", "640000", None),
        ("640000000000", "640000000000", DivisionLevel.PROVINCE, "64", "640000", None),
        ("6402", "640200000000", DivisionLevel.CITY, "6402", "640200", "64"),
        ("640200000000", "640200000000", DivisionLevel.CITY, "6402", "640200", "64"),
        ("640202", "640202000000", DivisionLevel.COUNTY, "640202", "640202", "6402"),
        ("640202000000", "640202000000", DivisionLevel.COUNTY, "640202", "640202", "6402"),
        ("640202001", "640202001000", DivisionLevel.TOWNSHIP, "640202001", "640202", "640202"),
        ("640202001000", "640202001000", DivisionLevel.TOWNSHIP, "640202001", "640202", "640202"),
        ("640202001001", "640202001001", DivisionLevel.VILLAGE, "640202001001", "640202", "640202001"),
        ("110101", "110101000000", DivisionLevel.COUNTY, "110101", "110101", "1101"),  # 东城区
        ("429004", "429004000000", DivisionLevel.COUNTY, "429004", "429004", "4290"),  # 仙桃市
        (" 6402 02 ", "640202000000", DivisionLevel.COUNTY, "640202", "640202", "6402"),
        ("６４０２０２", "640202000000", DivisionLevel.COUNTY, "640202", "640202", "6402"),
    ],
)
def test_parse_division_code(
    raw: str, code12: str, level: DivisionLevel, prefix: str, gb2260: str, parent_prefix: str | None
) -> None:
    division = parse_division_code(raw)
    assert division == DivisionCode(code12=code12, level=level, prefix=prefix)
    assert division.gb2260 == gb2260
    assert division.parent_prefix == parent_prefix
    assert str(division) == prefix


@pytest.mark.parametrize(
    ("raw", "kind"),
    [
        ("640202001", "street"),
        ("640202099001", "street"),
        ("640202100", "town"),
        ("640202199", "town"),
        ("640202200", "township"),
        ("640202399201", "township"),  # GB/T 10114: 200-399 are all 乡
        ("640202400", "other"),  # 政企合一单位
        ("640202500", "other"),
        ("640202999", "other"),
        ("640202", None),
        ("6402", None),
        ("64", None),
    ],
)
def test_township_kind(raw: str, kind: str | None) -> None:
    assert parse_division_code(raw).township_kind == kind


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "division.format"),
        ("6", "division.format"),
        ("64020", "division.format"),
        ("6402020010", "division.format"),
        ("6402020010011", "division.format"),
        ("64a202", "division.format"),
        ("-64020", "division.format"),
        ("990000", "division.province"),
        ("000000", "division.province"),
        ("83", "division.province"),  # residence-permit prefix, not a division
        ("640002", "division.level"),  # city "00" followed by county "02"
        ("640200001000", "division.level"),  # county "00" followed by a township
        ("640202000001", "division.level"),  # township "000" followed by a village
        ("640002001001", "division.level"),
    ],
)
def test_invalid_division_codes_are_rejected_with_specific_code(raw: str, code: str) -> None:
    assert error_code(parse_division_code, raw) == code


@pytest.mark.parametrize(
    ("parent", "child", "expected"),
    [
        ("64", "6402", True),
        ("6402", "640202", True),
        ("640202", "640202001", True),
        ("640202001", "640202001001", True),
        ("64", "640202", False),  # two levels down
        ("6401", "640202", False),  # another city
        ("6402", "6402", False),  # itself
        ("6402", "64", False),  # the other way round
        ("640202001", "640202002001", False),  # village of another township
        ("11", "1201", False),
    ],
)
def test_is_child_code(parent: str, child: str, expected: bool) -> None:
    assert is_child_code(parse_division_code(parent), parse_division_code(child)) is expected


nonzero_2 = st.integers(min_value=1, max_value=99).map(lambda n: f"{n:02d}")
nonzero_3 = st.integers(min_value=1, max_value=999).map(lambda n: f"{n:03d}")


@st.composite
def valid_division_prefixes(draw: st.DrawFn) -> str:
    parts = [draw(provinces), draw(nonzero_2), draw(nonzero_2), draw(nonzero_3), draw(nonzero_3)]
    return "".join(parts[: draw(st.integers(min_value=1, max_value=5))])


@given(valid_division_prefixes())
def test_every_division_below_province_is_a_child_of_its_parent(prefix: str) -> None:
    division = parse_division_code(prefix)
    assert division.prefix == prefix
    assert division.code12 == prefix.ljust(12, "0")
    assert parse_division_code(division.code12) == division
    if division.parent_prefix is None:
        assert division.level == DivisionLevel.PROVINCE
    else:
        parent = parse_division_code(division.parent_prefix)
        assert is_child_code(parent, division)
        assert not is_child_code(division, parent)


# --- Urban-rural classification -------------------------------------------------------------------


def test_urban_rural_codes_table() -> None:
    assert URBAN_RURAL_CODES["111"] == "主城区"
    assert URBAN_RURAL_CODES["220"] == "村庄"
    assert sorted(URBAN_RURAL_CODES) == ["111", "112", "121", "122", "123", "210", "220"]


def test_parse_urban_rural_code() -> None:
    assert parse_urban_rural_code(" 121 ") == "121"
    for raw in ("", "113", "200", "2200", "abc"):
        assert error_code(parse_urban_rural_code, raw) == "urban_rural.code"


@pytest.mark.parametrize(
    ("code", "urban"),
    [
        ("111", True),
        ("112", True),
        ("121", True),
        ("122", True),
        ("123", True),
        ("210", False),
        ("220", False),
    ],
)
def test_is_urban(code: str, urban: bool) -> None:
    assert is_urban(code) is urban


def test_is_urban_rejects_unknown_code() -> None:
    assert error_code(is_urban, "130") == "urban_rural.code"


# --- Unified social credit code -------------------------------------------------------------------


def test_uscc_weights_are_powers_of_3_mod_31() -> None:
    assert tuple(pow(3, i, 31) for i in range(17)) == USCC_WEIGHTS_FROM_STANDARD
    assert len(USCC_ALPHABET) == 31
    assert not set("IOZSV") & set(USCC_ALPHABET)


@pytest.mark.parametrize("code", ["91350100M000100Y43", "91110000600037341L", "51640202MJ000000X5"])
def test_real_and_computed_usccs_validate(code: str) -> None:
    assert parse_uscc(code) == code
    assert parse_uscc(code, check_organization_code=True) == code
    assert uscc_check_char(code[:17]) == code[17]


def test_parse_uscc_normalises_case_and_spaces() -> None:
    assert parse_uscc(" 91110000 600037341l ") == "91110000600037341L"


def test_uscc_registered_by_civil_affairs() -> None:
    assert uscc_registered_by_civil_affairs("51640202MJ000000X5") is True
    assert uscc_registered_by_civil_affairs("91110000600037341L") is False


@pytest.mark.parametrize(
    ("raw", "code"),
    [
        ("", "uscc.length"),
        ("91110000600037341", "uscc.length"),
        ("91110000600037341LL", "uscc.length"),
        ("91110000600037341I", "uscc.format"),  # I is not used
        ("9111000060003734OL", "uscc.format"),  # O is not used
        ("91A10000600037341L", "uscc.format"),  # positions 3-8 must be digits
        ("91110000600037341K", "uscc.checksum"),
        ("91110000600037342L", "uscc.checksum"),
    ],
)
def test_invalid_usccs_are_rejected_with_specific_code(raw: str, code: str) -> None:
    assert error_code(parse_uscc, raw) == code


def test_organization_code_check_is_optional() -> None:
    # Overall check character correct, embedded GB 11714 check character ("5", should be "4") wrong.
    code = "91350100M000100Y56"
    assert parse_uscc(code) == code
    assert error_code(parse_uscc, code, check_organization_code=True) == "uscc.organization_code"


def test_uscc_check_char_rejects_bad_input() -> None:
    assert error_code(uscc_check_char, "9111000060003734") == "uscc.length"
    assert error_code(uscc_check_char, "9111000060003734I") == "uscc.format"


uscc_chars = st.sampled_from(USCC_ALPHABET)


@st.composite
def valid_usccs(draw: st.DrawFn) -> str:
    first17 = (
        draw(uscc_chars)
        + draw(uscc_chars)
        + draw(st.text(alphabet="0123456789", min_size=6, max_size=6))
        + "".join(draw(st.lists(uscc_chars, min_size=9, max_size=9)))
    )
    return first17 + ref_uscc_check(first17)


@given(valid_usccs())
def test_generated_uscc_validates(code: str) -> None:
    assert parse_uscc(code) == code
    assert parse_uscc(code.lower()) == code
    assert uscc_registered_by_civil_affairs(code) is (code[0] == "5")


@given(valid_usccs(), st.integers(min_value=0, max_value=17), uscc_chars)
def test_uscc_single_character_change_is_rejected(code: str, position: int, replacement: str) -> None:
    if code[position] == replacement:
        replacement = "1" if replacement == "0" else "0"
    changed = code[:position] + replacement + code[position + 1 :]
    with pytest.raises(InvalidIdentifier):
        parse_uscc(changed)
