"""The plan's indicators (规划指标): each plan in scope with every indicator's baseline, latest value,
target, progress and traffic light (a city or region sees its counties' plans side by side); an
indicator's history and entries; figures entered with evidence and approved by a second person;
a year's values recomputed or published (frozen)."""

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

from django.http import HttpRequest, HttpResponse
from django.utils.http import content_disposition_header
from ninja import Field, File, Form, Router, Schema, Status
from ninja.files import UploadedFile

from minzheng.api.cases import FileTooLarge, In
from minzheng.api.org import ErrorOut, actor
from minzheng.core.uploads import Upload
from minzheng.org.models import Division
from minzheng.plans import selectors, services
from minzheng.plans.evidence import EVIDENCE_MAX_BYTES
from minzheng.plans.models import IndicatorEntry, IndicatorValue

router = Router(tags=["规划指标 plans"])

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
_READ_ERRORS = {403: ErrorOut, 404: ErrorOut}
_WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class PlanIndicatorOut(Schema):
    id: int
    number: int
    name: str
    unit: str
    attribute: str = Field(description="binding（约束性）或 expected（预期性）")
    method: str = Field(description="computed（系统计算）或 manual（填报）")
    computation: str
    baseline_year: int
    baseline_value: Decimal | None
    baseline_text: str
    target_year: int
    target_value: Decimal | None
    target_comparison: str = Field(description="gte（≥）、gt（>）或 relative（不低于对比数据）")
    target_text: str
    source: str
    latest_year: int | None
    latest_value: Decimal | None
    missing: str = Field(description="暂无数值的原因")
    computed_at: datetime | None
    frozen: bool
    benchmark: Decimal | None = Field(description="相对目标的对比数据（如居民上年度人均消费支出增速）")
    progress: Decimal | None = Field(description="完成进度 %：(最新值−基期值)÷(目标值−基期值)×100")
    light: str = Field(description="green 已达标 / amber 进度正常 / red 滞后 / grey 暂无数据")
    entered_by: str | None
    approved_by: str | None
    evidence_entry_id: int | None
    pending_entries: int


class PlanOut(Schema):
    id: int
    code: str
    name: str
    region: str
    county: str
    basis: str
    baseline_year: int
    target_year: int
    indicators: list[PlanIndicatorOut]


class PlanValueOut(Schema):
    year: int
    value: Decimal | None
    missing: str
    inputs: dict[str, Any]
    inputs_sha256: str
    computed_at: datetime
    frozen: bool
    published_at: datetime | None


class PlanEntryOut(Schema):
    id: int
    indicator_id: int
    year: int
    kind: str = Field(description="value（指标值）、denominator（分母）或 benchmark（对比数据）")
    value: Decimal
    source: str
    note: str
    evidence_name: str
    evidence_sha256: str
    entered_by: str
    entered_at: datetime
    status: str
    decided_by: str | None
    decided_at: datetime | None
    decision_note: str

    @staticmethod
    def resolve_entered_by(obj: IndicatorEntry) -> str:
        return obj.entered_by.full_name

    @staticmethod
    def resolve_decided_by(obj: IndicatorEntry) -> str | None:
        return obj.decided_by.full_name if obj.decided_by else None


class PlanIndicatorDetailOut(Schema):
    indicator: PlanIndicatorOut
    history: list[PlanValueOut]
    entries: list[PlanEntryOut]


class PlanDecisionIn(In):
    note: str = Field("", max_length=300)


class PlanYearIn(In):
    year: int = Field(ge=2000, le=2100)


def _plan_out(plan: Any) -> dict[str, Any]:
    return {
        "id": plan.pk,
        "code": plan.code,
        "name": plan.name,
        "region": plan.region,
        "county": Division.objects.filter(code=plan.region.ljust(12, "0"))
        .values_list("name", flat=True)
        .first()
        or plan.region,
        "basis": plan.basis,
        "baseline_year": plan.baseline_year,
        "target_year": plan.target_year,
        "indicators": [],
    }


@router.get(
    "/plans",
    response=list[PlanOut],
    summary="规划指标：各规划（县区）每项指标的基期值、最新值、目标值、进度和红绿灯",
)
def plan_list(request: HttpRequest) -> list[dict[str, Any]]:
    who = actor(request)
    found = []
    for plan in selectors.plans(actor=who):
        out = _plan_out(plan)
        out["indicators"] = [selectors.as_dict(r) for r in selectors.plan_rows(actor=who, plan=plan)]
        found.append(out)
    return found


@router.get(
    "/plans/indicators/{plan_indicator_id}",
    response={200: PlanIndicatorDetailOut, **_READ_ERRORS},
    summary="一项指标：各年度数值（含计算依据）和填报记录",
)
def indicator_detail(request: HttpRequest, plan_indicator_id: Id) -> dict[str, Any]:
    row, entries = selectors.indicator_detail(actor=actor(request), indicator_id=plan_indicator_id)
    return {"indicator": selectors.as_dict(row), "history": row.history, "entries": entries}


@router.post(
    "/plans/indicators/{plan_indicator_id}/entries",
    response={201: PlanEntryOut, **_WRITE_ERRORS, 413: ErrorOut},
    summary="填报指标值、分母（目标人数）或对比数据，须附佐证材料（PDF、JPG、PNG，不超过10MB），待第二人审核",
)
def entry_submit(
    request: HttpRequest,
    plan_indicator_id: Id,
    year: int = Form(..., ge=2000, le=2100),
    kind: str = Form("value", max_length=12, pattern=r"^[a-z]+$"),
    value: str = Form(..., max_length=30, pattern=r"^[^\x00]*$"),
    source: str = Form(..., max_length=200, pattern=r"^[^\x00]*$"),
    note: str = Form("", max_length=300, pattern=r"^[^\x00]*$"),
    evidence: UploadedFile | None = File(None, description="佐证材料"),  # noqa: B008
) -> Status:
    upload = None
    if evidence is not None:
        if (evidence.size or 0) > EVIDENCE_MAX_BYTES:
            raise FileTooLarge(field_errors={"evidence": ["文件不能超过10MB"]})
        upload = Upload(
            (evidence.name or "").replace("\x00", "") or "evidence",
            evidence.content_type or "",
            evidence.read(EVIDENCE_MAX_BYTES + 1),
        )
    entry = services.entry_submit(
        actor=actor(request),
        indicator_id=plan_indicator_id,
        year=year,
        kind=kind,
        value=value,
        source=source,
        note=note,
        evidence=upload,
    )
    return Status(201, entry)


@router.post(
    "/plans/entries/{plan_entry_id}/approve",
    response={200: PlanEntryOut, **_WRITE_ERRORS},
    summary="审核通过填报（经办人以外的第二人），并重新计算该年度指标值",
)
def entry_approve(request: HttpRequest, plan_entry_id: Id, payload: PlanDecisionIn) -> IndicatorEntry:
    return services.entry_approve(actor=actor(request), entry_id=plan_entry_id, note=payload.note)


@router.post(
    "/plans/entries/{plan_entry_id}/reject",
    response={200: PlanEntryOut, **_WRITE_ERRORS},
    summary="退回填报（须写明理由）",
)
def entry_reject(request: HttpRequest, plan_entry_id: Id, payload: PlanDecisionIn) -> IndicatorEntry:
    return services.entry_reject(actor=actor(request), entry_id=plan_entry_id, note=payload.note)


@router.get(
    "/plans/entries/{plan_entry_id}/evidence",
    response={200: None, **_READ_ERRORS},
    summary="下载填报的佐证材料",
)
def entry_evidence(request: HttpRequest, plan_entry_id: Id) -> HttpResponse:
    entry = services.evidence_download(actor=actor(request), entry_id=plan_entry_id)
    response = HttpResponse(bytes(entry.evidence_content), content_type=entry.evidence_type)
    response["Content-Disposition"] = content_disposition_header(True, entry.evidence_name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response


@router.post(
    "/plans/{development_plan_id}/refresh",
    response={200: list[PlanValueOut], **_WRITE_ERRORS},
    summary="重新计算某年度各项指标（已发布的不变）",
)
def values_refresh(
    request: HttpRequest, development_plan_id: Id, payload: PlanYearIn
) -> list[IndicatorValue]:
    return services.values_refresh(actor=actor(request), plan_id=development_plan_id, year=payload.year)


@router.post(
    "/plans/{development_plan_id}/publish",
    response={200: list[PlanValueOut], **_WRITE_ERRORS},
    summary="发布（冻结）某一已结束年度的指标值，此后不再变化",
)
def values_publish(
    request: HttpRequest, development_plan_id: Id, payload: PlanYearIn
) -> list[IndicatorValue]:
    return services.values_publish(actor=actor(request), plan_id=development_plan_id, year=payload.year)
