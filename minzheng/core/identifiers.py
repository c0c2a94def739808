"""Validated identifiers used across civil-affairs work. Pure Python: no Django, no database.

* 公民身份号码 (resident ID number), GB 11643-1999, including 15-digit numbers issued before 1999;
* 行政区划代码 (division codes), GB/T 2260 for province/city/county and the 12-digit
  统计用区划代码 of 国家统计局 (6-digit county code + 3-digit township + 3-digit village,
  the township segment following GB/T 10114 《县以下行政区划代码编制规则》);
* 城乡分类代码 (urban-rural classification code), 国家统计局《统计用区划代码和城乡划分代码编制规则》;
* 统一社会信用代码 (unified social credit code), GB 32100-2015, whose positions 9-17 are the
  organisation code of GB 11714-1997.

Every parser accepts what people actually type (surrounding or inner spaces, full-width characters,
lowercase letters) and returns the canonical form, or raises `InvalidIdentifier` with a stable
machine `code` and a Chinese `message` for users.
"""

from __future__ import annotations

import datetime
import unicodedata
from dataclasses import dataclass
from enum import IntEnum
from typing import Final, Literal

__all__ = [
    "PROVINCE_NAMES",
    "URBAN_RURAL_CODES",
    "USCC_ALPHABET",
    "DivisionCode",
    "DivisionLevel",
    "InvalidIdentifier",
    "ResidentId",
    "Sex",
    "TownshipKind",
    "is_child_code",
    "is_urban",
    "mask_resident_id",
    "parse_division_code",
    "parse_resident_id",
    "parse_urban_rural_code",
    "parse_uscc",
    "resident_id_check_char",
    "uscc_check_char",
    "uscc_registered_by_civil_affairs",
]


class InvalidIdentifier(ValueError):
    """An identifier failed validation. `code` is stable for programs, `message` is for users."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code: str = code
        self.message: str = message

    def __str__(self) -> str:
        return self.message

    def __repr__(self) -> str:
        return f"InvalidIdentifier(code={self.code!r}, message={self.message!r})"


_DIGITS: Final = frozenset("0123456789")


def _compact(raw: str) -> str:
    """Normalise user input: full-width to ASCII (NFKC), drop all whitespace, uppercase."""
    if not isinstance(raw, str):
        raise TypeError(f"identifier must be str, not {type(raw).__name__}")
    text = unicodedata.normalize("NFKC", raw)
    return "".join(text.split()).upper()


def _all_digits(text: str) -> bool:
    # str.isdigit() would also accept e.g. Arabic-Indic digits; only ASCII 0-9 are valid here.
    return bool(text) and all(c in _DIGITS for c in text)


# ---------------------------------------------------------------------------------------------
# Province-level codes (GB/T 2260): every province-level code that exists or has existed since the
# standard was first published in 1980. 46 (海南) dates from 1988, 50 (重庆) from 1997; IDs issued
# earlier in those places carry 44 / 51 and stay valid, so nothing is ever removed from this table.
# ---------------------------------------------------------------------------------------------

PROVINCE_NAMES: Final[dict[str, str]] = {
    "11": "北京市",
    "12": "天津市",
    "13": "河北省",
    "14": "山西省",
    "15": "内蒙古自治区",
    "21": "辽宁省",
    "22": "吉林省",
    "23": "黑龙江省",
    "31": "上海市",
    "32": "江苏省",
    "33": "浙江省",
    "34": "安徽省",
    "35": "福建省",
    "36": "江西省",
    "37": "山东省",
    "41": "河南省",
    "42": "湖北省",
    "43": "湖南省",
    "44": "广东省",
    "45": "广西壮族自治区",
    "46": "海南省",
    "50": "重庆市",
    "51": "四川省",
    "52": "贵州省",
    "53": "云南省",
    "54": "西藏自治区",
    "61": "陕西省",
    "62": "甘肃省",
    "63": "青海省",
    "64": "宁夏回族自治区",
    "65": "新疆维吾尔自治区",
    "71": "台湾省",
    "81": "香港特别行政区",
    "82": "澳门特别行政区",
}

# 《港澳台居民居住证申领发放办法》(2018): the 公民身份号码 on a residence permit for residents of
# Hong Kong, Macao and Taiwan has address code 810000 / 820000 / 830000. "83" is not a GB/T 2260
# province, so it is accepted in resident ID numbers only, never as a division code.
_RESIDENT_ID_PROVINCES: Final = frozenset(PROVINCE_NAMES) | {"83"}


# ---------------------------------------------------------------------------------------------
# 公民身份号码, GB 11643-1999
#   positions 1-6   address code (GB/T 2260 county where the holder was first registered)
#   positions 7-14  birth date YYYYMMDD
#   positions 15-17 sequence code; odd = male, even = female
#   position 18     check character, ISO 7064:1983 MOD 11-2
# Numbers issued before 1999 have 15 digits: 6 address + YYMMDD + 3 sequence, no check character.
# ---------------------------------------------------------------------------------------------

# W_i = 2^(18-i) mod 11 for i = 1..17 (GB 11643-1999, 8.2).
_ID_WEIGHTS: Final = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
# Check character for (sum of a_i * W_i) mod 11 = 0..10; "X" stands for 10.
_ID_CHECK_CHARS: Final = "10X98765432"
_EARLIEST_BIRTH_DATE: Final = datetime.date(1890, 1, 1)

Sex = Literal["M", "F"]


@dataclass(frozen=True)
class ResidentId:
    """A validated 18-character resident ID number. Build it with `parse_resident_id`."""

    number: str  # 18 characters, check character "X" uppercase
    area_code: str  # positions 1-6
    birth_date: datetime.date
    sex: Sex  # from the sequence code: odd = "M", even = "F"

    @property
    def masked(self) -> str:
        """First 6 and last 4 characters only, e.g. "640202********004X" — safe to display and log."""
        return mask_resident_id(self.number)

    def age_on(self, day: datetime.date) -> int:
        """Age in whole years on `day` (a person born on 29 February turns a year older on 1 March)."""
        had_birthday = (day.month, day.day) >= (self.birth_date.month, self.birth_date.day)
        return day.year - self.birth_date.year - (0 if had_birthday else 1)

    # Never let the full number leak into logs, tracebacks or templates by accident: str() and
    # repr() show the masked form. Use `.number` where the full number is really needed.
    def __str__(self) -> str:
        return self.masked

    def __repr__(self) -> str:
        return f"ResidentId(masked={self.masked!r})"


def resident_id_check_char(first17: str) -> str:
    """Check character (position 18) for the first 17 digits of a resident ID number."""
    if len(first17) != 17:
        raise InvalidIdentifier("id.length", "计算校验码需要身份证号码的前17位数字")
    if not _all_digits(first17):
        raise InvalidIdentifier("id.format", "身份证号码前17位只能是数字")
    total = sum(int(c) * w for c, w in zip(first17, _ID_WEIGHTS, strict=True))
    return _ID_CHECK_CHARS[total % 11]


def mask_resident_id(number: str) -> str:
    """Mask a resident ID number for display: keep the first 6 and last 4 characters.

    Does not validate, so that stored or legacy values can always be displayed. An 18-character
    number becomes 6 + "********" + 4, a 15-digit one 6 + "*****" + 4; anything else is masked
    completely, because we cannot know which part is safe to show.
    """
    compact = _compact(number)
    if len(compact) in (15, 18):
        return compact[:6] + "*" * (len(compact) - 10) + compact[-4:]
    return "*" * len(compact)


def _birth_date(yyyymmdd: str, today: datetime.date) -> datetime.date:
    try:
        born = datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        raise InvalidIdentifier("id.birth_date", f"身份证号码中的出生日期 {yyyymmdd} 不是有效日期") from None
    if born > today:
        raise InvalidIdentifier("id.birth_date", "身份证号码中的出生日期晚于今天")
    if born < _EARLIEST_BIRTH_DATE:
        raise InvalidIdentifier("id.birth_date", "身份证号码中的出生日期早于1890年1月1日")
    return born


def parse_resident_id(raw: str, *, today: datetime.date | None = None) -> ResidentId:
    """Validate a resident ID number (18 characters, or a 15-digit pre-1999 number) and parse it.

    Spaces are ignored and a lowercase "x" is accepted. 15-digit numbers are converted to 18
    characters by inserting "19" before the year and appending the check character.
    The address code is only checked for a valid province part: county codes are retired over time
    but IDs carrying them remain valid, and some old IDs carry city-level codes such as 640200.
    """
    number = _compact(raw)
    today = today or datetime.date.today()

    if len(number) == 15:
        if not _all_digits(number):
            raise InvalidIdentifier("id.format", "15位身份证号码只能包含数字")
        # GB 11643-1999 replaced the 15-digit form; its birth dates are all 19YY.
        first17 = number[:6] + "19" + number[6:]
    elif len(number) == 18:
        if not _all_digits(number[:17]) or not (number[17] in _DIGITS or number[17] == "X"):
            raise InvalidIdentifier("id.format", "身份证号码前17位应为数字，最后一位为数字或X")
        first17 = number[:17]
    else:
        raise InvalidIdentifier("id.length", f"身份证号码应为18位（或15位旧号码），当前为{len(number)}位")

    area_code = first17[:6]
    if area_code[:2] not in _RESIDENT_ID_PROVINCES:
        raise InvalidIdentifier("id.area", f"身份证号码前两位 {area_code[:2]} 不是有效的省级行政区划代码")

    birth_date = _birth_date(first17[6:14], today)

    check = resident_id_check_char(first17)
    if len(number) == 18 and number[17] != check:
        raise InvalidIdentifier("id.checksum", "身份证号码校验位不正确，请核对是否有输错的数字")

    sex: Sex = "M" if int(first17[16]) % 2 == 1 else "F"
    return ResidentId(number=first17 + check, area_code=area_code, birth_date=birth_date, sex=sex)


# ---------------------------------------------------------------------------------------------
# Division codes. The 12-digit statistical code is divided into segments:
#   province 2 | city 2 | county 2   (GB/T 2260; "00" means "this level and above")
#   township 3  (GB/T 10114: 001-099 街道, 100-199 镇, 200-399 乡, 400-599 政企合一单位 …)
#   village 3   (国家统计局: 居民委员会 / 村民委员会)
# A higher-level unit is written with the lower segments zero, e.g. 640000000000 is the province 64.
# ---------------------------------------------------------------------------------------------


class DivisionLevel(IntEnum):
    PROVINCE = 1
    CITY = 2
    COUNTY = 3
    TOWNSHIP = 4
    VILLAGE = 5


# (start, end) of each segment in the 12-digit code, indexed by level - 1.
_SEGMENTS: Final = ((0, 2), (2, 4), (4, 6), (6, 9), (9, 12))
# Significant prefix length per level.
_PREFIX_LENGTHS: Final = {level: _SEGMENTS[level - 1][1] for level in DivisionLevel}

TownshipKind = Literal["street", "town", "township", "other"]


@dataclass(frozen=True)
class DivisionCode:
    """A validated division code at any level. Build it with `parse_division_code`."""

    code12: str  # always 12 digits, zero padded: "640200000000" for the city 6402
    level: DivisionLevel
    prefix: str  # the significant digits (2/4/6/9/12); every code below starts with it

    @property
    def gb2260(self) -> str:
        """The 6-digit GB/T 2260 code (of the county containing a township or village)."""
        return self.code12[:6]

    @property
    def parent_prefix(self) -> str | None:
        """Prefix of the unit one level up; None for a province."""
        if self.level == DivisionLevel.PROVINCE:
            return None
        return self.prefix[: _PREFIX_LENGTHS[DivisionLevel(self.level - 1)]]

    @property
    def township_kind(self) -> TownshipKind | None:
        """Kind of township (for township and village codes), by GB/T 10114 category digit.

        001-099 "street" (街道), 100-199 "town" (镇), 200-399 "township" (乡, including 民族乡),
        anything else "other" (400-599 政企合一单位, and local codes for development zones etc.).
        None above township level.
        """
        if self.level < DivisionLevel.TOWNSHIP:
            return None
        segment = int(self.code12[6:9])
        if segment < 100:
            return "street"
        if segment < 200:
            return "town"
        if segment < 400:
            return "township"
        return "other"

    def __str__(self) -> str:
        return self.prefix


def parse_division_code(raw: str) -> DivisionCode:
    """Validate a division code of 2, 4, 6, 9 or 12 digits, or one zero padded to any of those.

    The level is given by the last non-zero segment: "640000", "6400" and "640000000000" are all the
    province 64; "640202000000" is the county 640202; "640202001000" the township 640202001.
    """
    code = _compact(raw)
    if len(code) not in (2, 4, 6, 9, 12) or not _all_digits(code):
        raise InvalidIdentifier("division.format", "行政区划代码应为2、4、6、9或12位数字")
    code12 = code.ljust(12, "0")

    if code12[:2] not in PROVINCE_NAMES:
        raise InvalidIdentifier("division.province", f"行政区划代码前两位 {code12[:2]} 不是有效的省级代码")

    level = DivisionLevel.PROVINCE
    seen_zero_segment = False
    for index in range(1, len(_SEGMENTS)):
        start, end = _SEGMENTS[index]
        if code12[start:end] == "0" * (end - start):
            seen_zero_segment = True
        elif seen_zero_segment:
            # e.g. 640002: city "00" followed by county "02" — a county must belong to a city-level
            # unit (municipalities use "01" 市辖区, province-administered counties "90").
            raise InvalidIdentifier(
                "division.level", "行政区划代码层级不连贯：上级部分为0时，下级部分也必须为0"
            )
        else:
            level = DivisionLevel(index + 1)

    return DivisionCode(code12=code12, level=level, prefix=code12[: _PREFIX_LENGTHS[level]])


def is_child_code(parent: DivisionCode, child: DivisionCode) -> bool:
    """True if `child` is exactly one level below `parent` and lies inside it."""
    return child.level == parent.level + 1 and child.prefix.startswith(parent.prefix)


# 城乡分类代码, 国家统计局《统计用区划代码和城乡划分代码编制规则》: first digit 1 = 城镇, 2 = 乡村.
URBAN_RURAL_CODES: Final[dict[str, str]] = {
    "111": "主城区",
    "112": "城乡结合区",
    "121": "镇中心区",
    "122": "镇乡结合区",
    "123": "特殊区域",
    "210": "乡中心区",
    "220": "村庄",
}


def parse_urban_rural_code(raw: str) -> str:
    """Validate an urban-rural classification code and return it (3 digits)."""
    code = _compact(raw)
    if code not in URBAN_RURAL_CODES:
        raise InvalidIdentifier("urban_rural.code", "城乡分类代码无效，应为111、112、121、122、123、210或220")
    return code


def is_urban(code: str) -> bool:
    """True for urban (城镇, 1xx) codes, False for rural (乡村, 2xx). Validates the code."""
    return parse_urban_rural_code(code).startswith("1")


# ---------------------------------------------------------------------------------------------
# 统一社会信用代码, GB 32100-2015
#   position 1      登记管理部门代码 (1 机构编制, 5 民政, 9 市场监管/工商, Y 其他, …)
#   position 2      机构类别代码
#   positions 3-8   登记管理机关行政区划码 (digits; national registrations use 100000)
#   positions 9-17  主体标识码 = 组织机构代码, GB 11714-1997 (8 body characters + check)
#   position 18     check character
# ---------------------------------------------------------------------------------------------

# 31 characters: digits and capitals without I, O, Z, S, V; the value of a character is its index.
USCC_ALPHABET: Final = "0123456789ABCDEFGHJKLMNPQRTUWXY"
_USCC_VALUES: Final = {c: i for i, c in enumerate(USCC_ALPHABET)}
# W_i = 3^(i-1) mod 31 for i = 1..17 (GB 32100-2015, 4.2).
_USCC_WEIGHTS: Final = tuple(pow(3, i, 31) for i in range(17))

# GB 11714-1997: body characters 0-9 = 0-9, A-Z = 10-35; weights 3 7 9 10 5 8 4 2;
# C9 = 11 - (sum mod 11), where 10 is written "X" and 11 is written "0".
_ORG_WEIGHTS: Final = (3, 7, 9, 10, 5, 8, 4, 2)


def uscc_check_char(first17: str) -> str:
    """Check character (position 18) for the first 17 characters of a unified social credit code."""
    if len(first17) != 17:
        raise InvalidIdentifier("uscc.length", "计算校验码需要统一社会信用代码的前17位")
    if any(c not in _USCC_VALUES for c in first17):
        raise InvalidIdentifier(
            "uscc.format", "统一社会信用代码只能包含数字和大写字母（不使用I、O、Z、S、V）"
        )
    total = sum(_USCC_VALUES[c] * w for c, w in zip(first17, _USCC_WEIGHTS, strict=True))
    return USCC_ALPHABET[(31 - total % 31) % 31]


def _organization_code_check_char(body8: str) -> str:
    total = sum(int(c, 36) * w for c, w in zip(body8, _ORG_WEIGHTS, strict=True))
    value = 11 - total % 11
    return {10: "X", 11: "0"}.get(value, str(value))


def parse_uscc(raw: str, *, check_organization_code: bool = False) -> str:
    """Validate a unified social credit code and return it in canonical (uppercase) form.

    Always checks length, character set, that positions 3-8 are digits, and the check character.
    With `check_organization_code=True` the embedded GB 11714 organisation code (positions 9-17)
    must also carry a valid check character; this is off by default because codes issued to some
    kinds of entity (e.g. 个体工商户) are not guaranteed to follow GB 11714.
    """
    code = _compact(raw)
    if len(code) != 18:
        raise InvalidIdentifier("uscc.length", f"统一社会信用代码应为18位，当前为{len(code)}位")
    if any(c not in _USCC_VALUES for c in code):
        raise InvalidIdentifier(
            "uscc.format", "统一社会信用代码只能包含数字和大写字母（不使用I、O、Z、S、V）"
        )
    if not _all_digits(code[2:8]):
        raise InvalidIdentifier("uscc.format", "统一社会信用代码第3至8位应为登记管理机关的行政区划码（数字）")
    if code[17] != uscc_check_char(code[:17]):
        raise InvalidIdentifier("uscc.checksum", "统一社会信用代码校验位不正确，请核对是否有输错的字符")
    if check_organization_code and code[16] != _organization_code_check_char(code[8:16]):
        raise InvalidIdentifier(
            "uscc.organization_code", "统一社会信用代码中的组织机构代码（第9至17位）校验位不正确"
        )
    return code


def uscc_registered_by_civil_affairs(code: str) -> bool:
    """True if the registering authority (position 1) is 民政 ("5"): 社会团体, 民办非企业单位, 基金会 …

    Expects a code already validated by `parse_uscc`.
    """
    return _compact(code)[:1] == "5"
