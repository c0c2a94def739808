"""Household registry endpoints (the registry issue extends these)."""

from datetime import date
from typing import Any

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from minzheng.api.org import ErrorOut, actor
from minzheng.api.pagination import BoundedPageNumberPagination
from minzheng.core.inputs import BoundedDate, Code, Line, Phone, Text
from minzheng.registry import selectors, services
from minzheng.registry.models import Household, Person
from minzheng.rules import standing

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
    name: Line = Field(min_length=1, max_length=60)
    id_number: Code = Field(min_length=15, max_length=18)
    relationship: Line = Field(max_length=16)
    phone: Phone = Field("", max_length=20)


class HouseholdIn(Schema):
    division_code: Code = Field(min_length=12, max_length=12)
    address: Line = Field(min_length=1, max_length=200)
    area: Line = Field(max_length=16)
    phone: Phone = Field("", max_length=20)
    members: list[MemberIn] = Field(max_length=50)
    reason: Text = Field("", max_length=500)


class HouseholdPatch(Schema):
    address: Line = Field(min_length=1, max_length=200)
    phone: Phone = Field("", max_length=20)
    reason: Text = Field(min_length=1, max_length=500)


class RevealIn(Schema):
    reason: Text = Field(min_length=1, max_length=200)


class PersonFilter(Schema):
    search: Line = Field("", max_length=60, description="姓名或身份证号")


class HouseholdFilter(PersonFilter):
    division: Code = Field("", max_length=12, description="村（社区）代码")


class RevealOut(Schema):
    id_number: str


@router.get("/households", response=list[HouseholdOut], summary="家庭列表（按姓名、身份证号或家庭编号检索）")
@paginate(BoundedPageNumberPagination, page_size=50)
def households(request: HttpRequest, filters: Query[HouseholdFilter]) -> object:
    return selectors.household_list(
        actor=actor(request), search=filters.search, division_code=filters.division
    )


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
@paginate(BoundedPageNumberPagination, page_size=50)
def persons(request: HttpRequest, filters: Query[PersonFilter]) -> object:
    return selectors.person_list(actor=actor(request), search=filters.search)


class DuplicatePersonOut(Schema):
    id: int
    id_number_masked: str = Field(alias="id_masked")
    division_code: str | None = Field(None, alias="division_id")
    division_name: str | None = Field(None, alias="division.name")


class DuplicateGroupOut(Schema):
    name: str
    birth_date: date
    persons: list[DuplicatePersonOut]


@router.get(
    "/persons/likely-duplicates",
    response=list[DuplicateGroupOut],
    summary="疑似重复登记（同名同出生日期、身份证号不同）",
)
def likely_duplicates(request: HttpRequest) -> object:
    return selectors.likely_duplicates(actor=actor(request))


@router.get("/persons/{person_id}", response=PersonOut, summary="人员详情")
def person(request: HttpRequest, person_id: int) -> object:
    return selectors.person_get(actor=actor(request), pk=person_id)


@router.post(
    "/persons/{person_id}/id-number",
    response={200: RevealOut, 403: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    summary="查看完整身份证号（须说明事由，留痕；每个账号每小时限定次数）",
)
def person_reveal(request: HttpRequest, person_id: int, payload: RevealIn) -> dict[str, str]:
    found = selectors.person_get(actor=actor(request), pk=person_id)
    number = services.person_reveal_id_number(actor=actor(request), person=found, reason=payload.reason)
    return {"id_number": number}


class CircumstanceOut(Schema):
    kind: str
    kind_label: str
    id: int
    subject: str
    valid_from: date
    valid_until: date | None
    summary: str
    values: dict[str, Any]
    note: str
    source: str


class CircumstanceIn(Schema):
    kind: Line = Field(max_length=32)
    valid_from: BoundedDate
    valid_until: BoundedDate | None = None
    values: dict[str, Any] = Field({}, max_length=30)
    note: Line = Field("", max_length=200)
    source: Line = Field("", max_length=80)
    reason: Text = Field("", max_length=500)


class CircumstanceEndIn(Schema):
    valid_until: BoundedDate
    reason: Text = Field(min_length=1, max_length=500)


def _circumstance_out(row: selectors.CircumstanceRow) -> dict[str, Any]:
    record = row.record
    return {
        "kind": row.kind,
        "kind_label": row.kind_label,
        "id": record.pk,
        "subject": row.subject_name,
        "valid_from": record.valid_from,
        "valid_until": record.valid_until,
        "summary": row.summary,
        "values": {f: getattr(record, f) for f in services.circumstance_fields(row.kind)},
        "note": record.note,
        "source": record.source,
    }


class HouseholdStatusOut(Schema):
    status: str = Field(
        description="dibao 低保家庭 / extreme_poverty 特困供养 / near_poor 低保边缘 / orphan 孤儿 / unsupported_child 事实无人抚养儿童 / severely_disabled 重度残疾"
    )
    label: str
    person_id: int | None = Field(description="个人身份的人员；全户身份为空")
    person_name: str
    valid_from: date
    valid_until: date | None
    source: str = Field(
        description="decision 审批决定 / enrolment 在保发放 / child_status 儿童认定 / disability 残疾人证"
    )
    source_id: int


@router.get(
    "/households/{household_id}/statuses",
    response=list[HouseholdStatusOut],
    summary="家庭及成员的救助身份（由审批决定、在保发放和登记状况得出，带起止日期），可按日期查询",
)
def household_statuses(request: HttpRequest, household_id: int, on: date | None = None) -> list[Any]:
    found = selectors.household_get(actor=actor(request), pk=household_id)
    return list(standing.statuses_of(found.pk, on=on or timezone.localdate()))


@router.get(
    "/households/{household_id}/circumstances",
    response=list[CircumstanceOut],
    summary="家庭及成员的状况记录（残疾、自理、疾病、劳动能力、就业、就学、收入、财产、刚性支出），可按日期查询当时状况",
)
def household_circumstances(
    request: HttpRequest, household_id: int, as_of: date | None = None
) -> list[dict[str, Any]]:
    found = selectors.household_get(actor=actor(request), pk=household_id)
    rows = selectors.household_circumstances(actor=actor(request), household=found, as_of=as_of)
    return [_circumstance_out(r) for r in rows]


def _record(request: HttpRequest, subject: Person | Household, payload: CircumstanceIn) -> dict[str, Any]:
    record = services.circumstance_record(
        actor=actor(request),
        kind=payload.kind,
        subject=subject,
        valid_from=payload.valid_from,
        valid_until=payload.valid_until,
        values=payload.values,
        note=payload.note,
        source=payload.source,
        reason=payload.reason,
    )
    name = subject.name if isinstance(subject, Person) else "全户"
    label = str(type(record)._meta.verbose_name)
    return _circumstance_out(selectors.CircumstanceRow(payload.kind, label, record, name))


@router.post(
    "/persons/{person_id}/circumstances",
    response={201: CircumstanceOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="登记人员状况（残疾、自理评估、疾病、劳动能力、就业、就学、收入）",
)
def person_circumstance(request: HttpRequest, person_id: int, payload: CircumstanceIn) -> Status:
    subject = selectors.person_get(actor=actor(request), pk=person_id)
    return Status(201, _record(request, subject, payload))


@router.post(
    "/households/{household_id}/circumstances",
    response={201: CircumstanceOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="登记家庭财产或刚性支出",
)
def household_circumstance(request: HttpRequest, household_id: int, payload: CircumstanceIn) -> Status:
    subject = selectors.household_get(actor=actor(request), pk=household_id)
    return Status(201, _record(request, subject, payload))


@router.post(
    "/circumstances/{kind}/{record_id}/end",
    response={200: CircumstanceOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="结束一条状况记录",
)
def circumstance_end(
    request: HttpRequest, kind: str, record_id: int, payload: CircumstanceEndIn
) -> dict[str, Any]:
    record = selectors.circumstance_get(actor=actor(request), kind=kind, pk=record_id)
    services.circumstance_end(
        actor=actor(request), kind=kind, record=record, valid_until=payload.valid_until, reason=payload.reason
    )
    subject = record.person.name if hasattr(record, "person") else "全户"  # type: ignore[attr-defined]
    label = str(type(record)._meta.verbose_name)
    return _circumstance_out(selectors.CircumstanceRow(kind, label, record, subject))


class MoveIn(Schema):
    target_household_id: int
    relationship: Line = Field(max_length=16)
    on: BoundedDate
    reason: Text = Field(min_length=1, max_length=500)


class SplitIn(Schema):
    members: dict[int, str] = Field(max_length=50)
    new_head: int
    address: Line = Field(min_length=1, max_length=200)
    on: BoundedDate
    reason: Text = Field(min_length=1, max_length=500)


class MergeIn(Schema):
    target_household_id: int
    relationships: dict[int, str] = Field(max_length=50)
    on: BoundedDate
    reason: Text = Field(min_length=1, max_length=500)


class HeadIn(Schema):
    person_id: int
    reason: Text = Field(min_length=1, max_length=500)


_WRITE = {
    200: HouseholdDetailOut,
    201: HouseholdDetailOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}


@router.post("/persons/{person_id}/move", response=_WRITE, summary="人员迁入其他家庭（保留原家庭记录）")
def person_move(request: HttpRequest, person_id: int, payload: MoveIn) -> Household:
    who = actor(request)
    person_found = selectors.person_get(actor=who, pk=person_id)
    target = selectors.household_get(actor=who, pk=payload.target_household_id)
    services.person_move(
        actor=who,
        person=person_found,
        target=target,
        relationship=payload.relationship,
        on=payload.on,
        reason=payload.reason,
    )
    return selectors.household_get(actor=who, pk=target.pk)


@router.post("/households/{household_id}/split", response=_WRITE, summary="分户：部分成员另立新户")
def household_split(request: HttpRequest, household_id: int, payload: SplitIn) -> Status:
    who = actor(request)
    source = selectors.household_get(actor=who, pk=household_id)
    new = services.household_split(
        actor=who,
        household=source,
        members=payload.members,
        new_head=payload.new_head,
        address=payload.address,
        on=payload.on,
        reason=payload.reason,
    )
    return Status(201, selectors.household_get(actor=who, pk=new.pk))


@router.post(
    "/households/{household_id}/merge", response=_WRITE, summary="合户：全部成员并入另一家庭，原家庭注销"
)
def household_merge(request: HttpRequest, household_id: int, payload: MergeIn) -> Household:
    who = actor(request)
    source = selectors.household_get(actor=who, pk=household_id)
    target = selectors.household_get(actor=who, pk=payload.target_household_id)
    services.household_merge(
        actor=who,
        source=source,
        target=target,
        relationships=payload.relationships,
        on=payload.on,
        reason=payload.reason,
    )
    return selectors.household_get(actor=who, pk=target.pk)


@router.post("/households/{household_id}/head", response=_WRITE, summary="变更户主")
def household_head(request: HttpRequest, household_id: int, payload: HeadIn) -> Household:
    who = actor(request)
    found = selectors.household_get(actor=who, pk=household_id)
    person_found = selectors.person_get(actor=who, pk=payload.person_id)
    services.household_set_head(actor=who, household=found, person=person_found, reason=payload.reason)
    return selectors.household_get(actor=who, pk=household_id)
