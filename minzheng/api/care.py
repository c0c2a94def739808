"""Extreme-poverty support (特困人员): the support mode of a case, the county's sampled visits with the
year's share, and the visiting plans (探访照料) of home-supported people with their visits."""

from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from minzheng.api.cases import CaseOut, In
from minzheng.api.org import ErrorOut, actor
from minzheng.api.pagination import BoundedPageNumberPagination
from minzheng.cases import care
from minzheng.cases.models import Case
from minzheng.core.inputs import BoundedDate, Line, Text

router = Router(tags=["特困人员供养 care"])

_WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class SupportModeIn(In):
    mode: Literal["home", "institutional"] = Field(description="home=分散供养，institutional=集中供养")
    institution: Line = Field(
        "", max_length=care.INSTITUTION_MAX, description="供养服务机构名称（集中供养时必填）"
    )


class SupportModeOut(Schema):
    case_id: int
    number: str
    support_mode: str
    support_mode_label: str
    institution: str


class CountySamplingOut(Schema):
    code: str = Field(description="县（区）代码前6位")
    name: str
    reviewed: int = Field(description="本年度报县级审核的特困人员申请数")
    sampled: int = Field(description="抽中县级入户核查数")
    visited: int = Field(description="抽中且县级已入户核查数")
    pending: int
    share: Decimal = Field(description="抽查比例")
    meets_target: bool = Field(description="抽查比例不低于30%")


class SampledCaseOut(CaseOut):
    county_visit_on: date | None = Field(description="最近一次县级入户核查日期（未核查为空）")


class SamplingFilter(In):
    year: int = Field(default_factory=lambda: timezone.localdate().year, ge=2000, le=2100)
    pending: bool = Field(False, description="只看尚未县级入户核查的")


class CareVisitOut(Schema):
    id: int
    visited_on: date
    visitor_name: str = Field(alias="visitor.full_name")
    companions: list[str]
    living_conditions: str
    health: str
    needs: str
    follow_up_needed: bool
    recorded_at: datetime


class CarePlanOut(Schema):
    id: int
    case_id: int
    case_number: str = Field(alias="case.number")
    person_id: int
    person_name: str = Field(alias="person.name")
    division_code: str = Field(alias="division_id")
    division_name: str = Field(alias="division.name")
    interval_days: int
    next_due: date
    active: bool
    overdue: bool
    last_visit_on: date | None = None

    @staticmethod
    def resolve_overdue(obj: object) -> bool:
        return care.visit_tone(obj.next_due, timezone.localdate()) == "overdue"  # type: ignore[attr-defined]


class CarePlanDetailOut(CarePlanOut):
    visits: list[CareVisitOut]

    @staticmethod
    def resolve_visits(obj: object) -> list[object]:
        return list(obj.visits.all())  # type: ignore[attr-defined]


class PlanFilter(In):
    due: bool = Field(False, description="只看已超期和7天内到期的")
    village: str = Field("", max_length=12, description="村（社区）代码")


class CareVisitIn(In):
    visited_on: BoundedDate
    companions: list[Line] = Field(
        default_factory=list, max_length=care.COMPANIONS_MAX, description="同行人员姓名"
    )
    living_conditions: Text = Field(min_length=1, max_length=5000, description="生活状况")
    health: Text = Field(min_length=1, max_length=5000, description="健康状况")
    needs: Text = Field("", max_length=5000, description="需求")
    follow_up_needed: bool = Field(False, description="需要跟进")


class BringInOut(Schema):
    created: int
    plan_ids: list[int]


def _mode_out(case: Case) -> dict[str, object]:
    mode = care.support_mode_of(case)
    return {
        "case_id": case.pk,
        "number": case.number,
        "support_mode": mode["mode"],
        "support_mode_label": mode["label"],
        "institution": mode["institution"],
    }


@router.post(
    "/cases/{case_id}/support-mode",
    response={200: SupportModeOut, **_WRITE_ERRORS},
    summary="登记特困人员供养方式（本人选择集中供养或分散供养；案件办结前）",
)
def support_mode_set(request: HttpRequest, case_id: int, payload: SupportModeIn) -> dict[str, object]:
    case = care.case_support_mode_set(
        actor=actor(request), case_id=case_id, mode=payload.mode, institution=payload.institution
    )
    return _mode_out(case)


@router.get(
    "/care/county-sampling",
    response={200: list[CountySamplingOut], 403: ErrorOut},
    summary="县级入户抽查：各县（区）本年度审核的特困人员申请、抽中比例（不低于30%）和已核查数",
)
def county_sampling(request: HttpRequest, filters: Query[SamplingFilter]) -> list[care.CountySampling]:
    return care.county_sampling(actor=actor(request), year=filters.year)


@router.get(
    "/care/sampled-cases",
    response=list[SampledCaseOut],
    summary="抽中县级入户核查的特困人员申请及其核查情况（未核查的在前）",
)
@paginate(BoundedPageNumberPagination, page_size=50)
def sampled_cases(request: HttpRequest, filters: Query[SamplingFilter]) -> object:
    return care.sampled_cases(actor=actor(request), year=filters.year, pending_only=filters.pending)


@router.get(
    "/care/plans",
    response=list[CarePlanOut],
    summary="探访计划：管辖范围内分散供养特困人员，按下次探访日期排序（可只看到期的）",
)
@paginate(BoundedPageNumberPagination, page_size=50)
def plan_list(request: HttpRequest, filters: Query[PlanFilter]) -> object:
    return care.care_plan_list(actor=actor(request), due_only=filters.due, village=filters.village)


@router.post(
    "/care/plans/bring-in",
    response={200: BringInOut, 403: ErrorOut},
    summary="补建探访计划：为已批准、尚无计划的分散供养对象建立（重复执行不会重复建立）",
)
def plans_bring_in(request: HttpRequest) -> dict[str, object]:
    made = care.care_plans_bring_in(actor=actor(request))
    return {"created": len(made), "plan_ids": [p.pk for p in made]}


@router.get(
    "/care/plans/{plan_id}",
    response={200: CarePlanDetailOut, 403: ErrorOut, 404: ErrorOut},
    summary="探访计划详情及探访记录",
)
def plan_detail(request: HttpRequest, plan_id: int) -> object:
    return care.care_plan_get(actor=actor(request), plan_id=plan_id)


@router.post(
    "/care/plans/{plan_id}/visits",
    response={201: CareVisitOut, **_WRITE_ERRORS},
    summary="录入探访记录（下次探访日期顺延一个周期）",
)
def visit_record(request: HttpRequest, plan_id: int, payload: CareVisitIn) -> Status:
    visit = care.care_visit_record(
        actor=actor(request),
        plan_id=plan_id,
        visited_on=payload.visited_on,
        companions=list(payload.companions),
        living_conditions=payload.living_conditions,
        health=payload.health,
        needs=payload.needs,
        follow_up_needed=payload.follow_up_needed,
    )
    return Status(201, visit)
