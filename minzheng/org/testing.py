"""Test support: a small division tree with offices, and staff accounts for any role.

Two cities so that every role, even a city supervisor, has records outside its jurisdiction.
"""

from __future__ import annotations

from collections.abc import Iterable

from minzheng.core.identifiers import parse_division_code
from minzheng.org.models import OFFICE_KIND_FOR_LEVEL, Division, DivisionKind, Office, Staff, StaffRole
from minzheng.org.services import office_name_for

TEST_PASSWORD = "Test-Passw0rd!"

TREE: tuple[tuple[str, str, DivisionKind], ...] = (
    ("640000000000", "宁夏回族自治区", DivisionKind.PROVINCE),
    ("640200000000", "石嘴山市", DivisionKind.CITY),
    ("640202000000", "大武口区", DivisionKind.COUNTY),
    ("640202001000", "长胜街道", DivisionKind.STREET),
    ("640202001001", "长胜社区", DivisionKind.COMMUNITY),
    ("640202001002", "康乐社区", DivisionKind.COMMUNITY),
    ("640202100000", "星海镇", DivisionKind.TOWN),
    ("640202100201", "星光村", DivisionKind.VILLAGE),
    ("640205000000", "惠农区", DivisionKind.COUNTY),
    ("640205001000", "育才路街道", DivisionKind.STREET),
    ("640205001001", "北街社区", DivisionKind.COMMUNITY),
    ("640100000000", "银川市", DivisionKind.CITY),
    ("640104000000", "兴庆区", DivisionKind.COUNTY),
    ("640104001000", "凤凰北街街道", DivisionKind.STREET),
    ("640104001001", "丽景社区", DivisionKind.COMMUNITY),
)

VILLAGES = tuple(code for code, _, kind in TREE if kind in (DivisionKind.COMMUNITY, DivisionKind.VILLAGE))


def build_tree() -> dict[str, Division]:
    divisions: dict[str, Division] = {}
    for code, name, kind in TREE:
        parsed = parse_division_code(code)
        parent = parsed.parent_prefix.ljust(12, "0") if parsed.parent_prefix else None
        urban_rural = "" if parsed.level < 5 else ("220" if kind == DivisionKind.VILLAGE else "111")
        divisions[code] = Division.objects.create(
            code=code,
            prefix=parsed.prefix,
            name=name,
            level=int(parsed.level),
            kind=kind,
            parent_id=parent,
            urban_rural_code=urban_rural,
        )
        Office.objects.create(
            name=office_name_for(divisions[code]),
            kind=OFFICE_KIND_FOR_LEVEL[parsed.level],
            division=divisions[code],
        )
    return divisions


def make_staff(
    username: str, division_code: str, roles: Iterable[str], *, active: bool = True, department: str = ""
) -> Staff:
    """Create an account directly (tests of the staff services use the services themselves)."""
    staff = Staff(
        username=username,
        full_name=username,
        office=Office.objects.get(division_id=division_code),
        is_active=active,
        department=department,
    )
    staff.set_password(TEST_PASSWORD)
    staff.save()
    StaffRole.objects.bulk_create([StaffRole(staff=staff, role=r) for r in roles])
    return staff
