"""Household registry endpoints (the registry issue extends these)."""

from datetime import date

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from minzheng.api.org import ErrorOut, actor
from minzheng.registry import selectors, services
from minzheng.registry.models import Household

router = Router(tags=["家庭档案 registry"])


class HouseholdOut(Schema):
    id: int
    number: str
    division_code: str = Field(alias="division_id")
    division_name: str = Field(alias="division.name")
    address: str
    area: str
    head_name: str | None = Field(None, alias="head.name")
    member_count: int = 0


class MemberOut(Schema):
    person_id: int = Field(alias="person.id")
    name: str = Field(alias="person.name")
    sex: str = Field(alias="person.sex")
    birth_date: date = Field(alias="person.birth_date")
    id_number_masked: str = Field(alias="person.id_masked")
    relationship: str
    start_date: date


class HouseholdDetailOut(HouseholdOut):
    phone: str
    members: list[MemberOut] = Field(alias="current_memberships")


class PersonOut(Schema):
    id: int
    name: str
    sex: str
    birth_date: date
    id_number_masked: str = Field(alias="id_masked")
    division_code: str | None = Field(None, alias="division_id")


class MemberIn(Schema):
    name: str = Field(min_length=1, max_length=60)
    id_number: str = Field(min_length=15, max_length=18)
    relationship: str
    phone: str = ""


class HouseholdIn(Schema):
    division_code: str = Field(min_length=12, max_length=12)
    address: str = Field(min_length=1, max_length=200)
    area: str
    phone: str = ""
    members: list[MemberIn]
    reason: str = ""


class HouseholdPatch(Schema):
    address: str = Field(min_length=1, max_length=200)
    phone: str = ""
    reason: str = Field(min_length=1)


class RevealIn(Schema):
    reason: str = Field(min_length=1, max_length=200)


class RevealOut(Schema):
    id_number: str


@router.get("/households", response=list[HouseholdOut], summary="家庭列表（按姓名、身份证号或家庭编号检索）")
@paginate(PageNumberPagination, page_size=50)
def households(request: HttpRequest, search: str = "", division: str = "") -> object:
    return selectors.household_list(actor=actor(request), search=search, division_code=division)


@router.get("/households/{household_id}", response=HouseholdDetailOut, summary="家庭详情与成员")
def household(request: HttpRequest, household_id: int) -> Household:
    return selectors.household_get(actor=actor(request), pk=household_id)


@router.post(
    "/households",
    response={201: HouseholdDetailOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="登记家庭及成员",
)
def household_create(request: HttpRequest, payload: HouseholdIn) -> Status:
    created = services.household_create(
        actor=actor(request),
        division_code=payload.division_code,
        address=payload.address,
        area=payload.area,
        phone=payload.phone,
        members=[services.MemberInput(**m.dict()) for m in payload.members],
        reason=payload.reason,
    )
    return Status(201, selectors.household_get(actor=actor(request), pk=created.pk))


@router.patch(
    "/households/{household_id}",
    response={200: HouseholdDetailOut, 403: ErrorOut, 422: ErrorOut},
    summary="修改家庭信息",
)
def household_update(request: HttpRequest, household_id: int, payload: HouseholdPatch) -> Household:
    current = selectors.household_get(actor=actor(request), pk=household_id)
    services.household_update(
        actor=actor(request),
        household=current,
        address=payload.address,
        phone=payload.phone,
        reason=payload.reason,
    )
    return selectors.household_get(actor=actor(request), pk=household_id)


@router.get("/persons", response=list[PersonOut], summary="人员列表（按姓名或身份证号检索）")
@paginate(PageNumberPagination, page_size=50)
def persons(request: HttpRequest, search: str = "") -> object:
    return selectors.person_list(actor=actor(request), search=search)


@router.get("/persons/{person_id}", response=PersonOut, summary="人员详情")
def person(request: HttpRequest, person_id: int) -> object:
    return selectors.person_get(actor=actor(request), pk=person_id)


@router.post(
    "/persons/{person_id}/id-number",
    response={200: RevealOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut},
    summary="查看完整身份证号（须说明事由，留痕）",
)
def person_reveal(request: HttpRequest, person_id: int, payload: RevealIn) -> dict[str, str]:
    found = selectors.person_get(actor=actor(request), pk=person_id)
    number = services.person_reveal_id_number(actor=actor(request), person=found, reason=payload.reason)
    return {"id_number": number}
