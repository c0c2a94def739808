"""Writes for grassroots capacity: norm sets and the county's choice, offices' resources, training,
purchased services and supervision.

Every function is keyword-only and atomic, checks permission and scope, refuses bad input with a
typed error before anything is written, and leaves an audit event in the same transaction.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path
from typing import Any

import yaml
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.utils import timezone

from minzheng.cases.models import Case
from minzheng.cases.services import DOCUMENT_MAX_BYTES, DOCUMENT_TYPES
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.identifiers import DivisionLevel, InvalidIdentifier, parse_uscc
from minzheng.core.permissions import Perm
from minzheng.org.models import Division, Staff
from minzheng.org.roles import ROLE_PERMISSIONS, Role
from minzheng.org.scope import jurisdiction_of, require, require_in_scope
from minzheng.oversight.models import (
    Bulletin,
    ContractMode,
    ContractStatus,
    CountyNormChoice,
    EvaluationOutcome,
    EvaluationStage,
    Evaluator,
    Evidence,
    FacilityCheck,
    FacilityCheckItem,
    FacilityItem,
    FundCapRule,
    FundingRecord,
    FundingSource,
    Metric,
    NormBand,
    NormSet,
    PopulationRecord,
    PostKind,
    PreJobGateRule,
    ProviderEvaluation,
    ProviderKind,
    Qualification,
    QualificationKind,
    Rectification,
    RectificationSource,
    RectificationStatus,
    SampledCase,
    ServiceCategory,
    ServiceContract,
    ServiceDelivery,
    ServiceProvider,
    SpotCheck,
    StaffAssignment,
    SupervisionTask,
    TaskStatus,
    TrainingAttendance,
    TrainingEvent,
    TrainingKind,
    TrainingPlan,
    Worker,
)

NORMS_DIR = Path(__file__).parent / "norms"
MAX_POPULATION = 10_000_000  # a township or village; larger is a typing error
SCORE_SCALE = (Decimal("0"), Decimal("100"))  # evaluations are scored out of 100


class OversightAudit(StrEnum):
    NORM_SET_CREATE = "oversight.norm_set_create"
    NORM_CHOICE = "oversight.norm_choice"
    GATE_RULE = "oversight.pre_job_gate"
    FUND_CAP = "oversight.fund_cap"
    POPULATION = "oversight.population"
    WORKER = "oversight.worker"
    QUALIFICATION = "oversight.qualification"
    ASSIGNMENT = "oversight.assignment"
    ASSIGNMENT_END = "oversight.assignment_end"
    FUNDING = "oversight.funding"
    FACILITY_CHECK = "oversight.facility_check"
    EVIDENCE_DOWNLOAD = "oversight.evidence_download"
    TRAINING_PLAN = "oversight.training_plan"
    TRAINING_EVENT = "oversight.training_event"
    ATTENDANCE = "oversight.attendance"
    PROVIDER = "oversight.provider"
    CONTRACT = "oversight.contract"
    DELIVERY = "oversight.delivery"
    EVALUATION = "oversight.evaluation"
    SPOT_CHECK = "oversight.spot_check"
    SAMPLE_FINDING = "oversight.sample_finding"
    TASK = "oversight.supervision_task"
    TASK_DONE = "oversight.supervision_task_done"
    RECTIFICATION = "oversight.rectification"
    RECTIFICATION_SUBMIT = "oversight.rectification_submit"
    RECTIFICATION_VERIFY = "oversight.rectification_verify"
    BULLETIN = "oversight.bulletin"


def _bad(field: str, message: str) -> InvalidInput:
    return InvalidInput(message, field_errors={field: [message]})


def _text(value: str, field: str, *, required: bool = True, limit: int = 200) -> str:
    value = (value or "").strip()
    if required and not value:
        raise _bad(field, "必填")
    if len(value) > limit:
        raise _bad(field, f"最多 {limit} 个字符")
    return value


def _decimal(value: object, field: str, *, places: int = 2, minimum: Decimal = Decimal(0)) -> Decimal:
    try:
        number = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        raise _bad(field, "应为数字") from None
    if not number.is_finite():
        raise _bad(field, "应为数字")
    if number != number.quantize(Decimal(1).scaleb(-places)):
        raise _bad(field, f"最多保留 {places} 位小数")
    if number < minimum:
        raise _bad(field, f"不能小于 {minimum}")
    if number >= Decimal(10) ** 12:
        raise _bad(field, "数额过大")
    return number


def _division(actor: Staff | None, code: str, *, levels: Iterable[int] | None = None) -> Division:
    division = Division.objects.filter(code=code).first()
    if division is None:
        raise NotFound("没有该区划")
    if actor is not None:
        require_in_scope(actor, division.code)
    if levels is not None and division.level not in set(levels):
        raise _bad("division_code", "该区划的层级不适用")
    return division


def _county_of(code: str) -> str:
    return code[:6] + "000000"


def case_handling_roles() -> list[str]:
    """The roles that handle cases (intake, investigation, review, approval): the default list of the
    pre-job gate."""
    work = {
        Perm.CASE_INTAKE,
        Perm.CASE_INVESTIGATE,
        Perm.CASE_REVIEW_TOWNSHIP,
        Perm.CASE_APPROVE_TOWNSHIP,
        Perm.CASE_REVIEW_COUNTY,
        Perm.CASE_APPROVE_COUNTY,
    }
    return sorted(str(role) for role, perms in ROLE_PERMISSIONS.items() if perms & work)


# --- Norm sets ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BandSpec:
    metric: str
    population_min: int
    population_max: int | None
    value: Decimal | str
    quote: str = ""


@dataclass(frozen=True)
class FacilitySpec:
    code: str
    label: str
    min_quantity: int = 1


@dataclass(frozen=True)
class NormSetSpec:
    code: str
    name: str
    region_code: str
    source_document: str
    source_reference: str
    issued_on: date
    bands: Sequence[BandSpec]
    facilities: Sequence[FacilitySpec] = field(default_factory=tuple)
    pre_job_training_required: bool = False
    window_sign_required: bool = False


def check_bands(bands: Sequence[BandSpec]) -> list[BandSpec]:
    """Each metric's bands cover every population exactly once: the first starts at 0, each next one
    starts where the previous ends, the last is open. Overlaps and gaps are refused by name."""
    by_metric: dict[str, list[BandSpec]] = {}
    errors: list[str] = []
    checked: list[BandSpec] = []
    for band in bands:
        if band.metric not in Metric.values:
            errors.append(f"未知指标：{band.metric}")
            continue
        try:
            value = _decimal(band.value, "bands")
        except InvalidInput:
            errors.append(f"{Metric(band.metric).label}的标准值应为不小于0的数字")
            continue
        if band.population_min < 0 or (
            band.population_max is not None and band.population_max <= band.population_min
        ):
            errors.append(
                f"{Metric(band.metric).label}：人口区间 {band.population_min}–{band.population_max} 无效"
            )
            continue
        spec = BandSpec(
            band.metric, band.population_min, band.population_max, value, band.quote.strip()[:300]
        )
        by_metric.setdefault(band.metric, []).append(spec)
        checked.append(spec)
    for metric, items in by_metric.items():
        label = Metric(metric).label
        items.sort(key=lambda b: b.population_min)
        if items[0].population_min != 0:
            errors.append(f"{label}：人口区间应从0开始（0至{items[0].population_min}人没有标准）")
        for before, after in itertools.pairwise(items):
            if before.population_max is None or after.population_min < before.population_max:
                errors.append(
                    f"{label}：人口区间重叠（{before.population_min}起与{after.population_min}起的区间）"
                )
            elif after.population_min > before.population_max:
                errors.append(
                    f"{label}：人口区间有空缺（{before.population_max}至{after.population_min}人没有标准）"
                )
        if items[-1].population_max is not None:
            errors.append(f"{label}：最后一个人口区间应不设上限（{items[-1].population_max}人以上没有标准）")
    if not checked and not errors:
        errors.append("至少需要一个标准")
    if errors:
        raise InvalidInput("标准的人口区间有误：" + "；".join(errors), field_errors={"bands": errors})
    return checked


@transaction.atomic
def normset_create(*, actor: Staff | None, spec: NormSetSpec) -> NormSet:
    """A published norm set. `actor=None` is the server loading the built-in sets (norms/*.yaml)."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_NORMS)
    code = _text(spec.code, "code", limit=40)
    if not code.replace("_", "").isalnum() or not code.isascii():
        raise _bad("code", "代码只能包含字母、数字和下划线")
    region = (spec.region_code or "").strip()
    if len(region) not in (2, 4, 6) or not region.isdigit():
        raise _bad("region_code", "发布地区应为2、4或6位区划代码")
    bands = check_bands(spec.bands)
    codes = [f.code for f in spec.facilities]
    if len(set(codes)) != len(codes):
        raise _bad("facilities", "设施清单有重复项")
    for item in spec.facilities:
        if not item.code or not item.label.strip() or not 1 <= item.min_quantity <= 99:
            raise _bad("facilities", "设施清单的每一项须有代码、名称和1至99的数量")
    if NormSet.objects.filter(code=code).exists():
        raise Conflict("该标准已存在", field_errors={"code": ["已存在"]})
    norm_set = NormSet.objects.create(
        code=code,
        name=_text(spec.name, "name", limit=60),
        region_code=region,
        source_document=_text(spec.source_document, "source_document"),
        source_reference=_text(spec.source_reference, "source_reference"),
        issued_on=spec.issued_on,
        pre_job_training_required=spec.pre_job_training_required,
        window_sign_required=spec.window_sign_required,
    )
    NormBand.objects.bulk_create(
        [
            NormBand(
                norm_set=norm_set,
                metric=b.metric,
                population_min=b.population_min,
                population_max=b.population_max,
                value=b.value,
                quote=b.quote,
            )
            for b in bands
        ]
    )
    FacilityItem.objects.bulk_create(
        [
            FacilityItem(
                norm_set=norm_set, code=f.code, label=f.label.strip(), min_quantity=f.min_quantity, order=i
            )
            for i, f in enumerate(spec.facilities)
        ]
    )
    audit_record(
        actor=actor,
        action=OversightAudit.NORM_SET_CREATE,
        object_type="oversight.normset",
        object_id=norm_set.pk,
        after={"code": code, "source": norm_set.source_reference, "bands": len(bands), "facilities": codes},
    )
    return norm_set


def _spec_from_yaml(raw: Mapping[str, Any]) -> NormSetSpec:
    return NormSetSpec(
        code=raw["code"],
        name=raw["name"],
        region_code=str(raw["region_code"]),
        source_document=raw["source_document"],
        source_reference=raw["source_reference"],
        issued_on=raw["issued_on"],
        pre_job_training_required=bool(raw.get("pre_job_training_required")),
        window_sign_required=bool(raw.get("window_sign_required")),
        bands=[
            BandSpec(b["metric"], int(b.get("min", 0)), b.get("max"), str(b["value"]), b.get("quote", ""))
            for b in raw["bands"]
        ],
        facilities=[
            FacilitySpec(f["code"], f["label"], int(f.get("min_quantity", 1)))
            for f in raw.get("facilities") or []
        ],
    )


@transaction.atomic
def normsets_load(*, actor: Staff | None = None) -> list[str]:
    """Load the built-in norm sets (norms/*.yaml) and provincial fund caps not loaded yet."""
    created: list[str] = []
    for path in sorted(NORMS_DIR.glob("*.yaml")):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        if path.stem == "fund_caps":
            for cap in raw:
                FundCapRule.objects.get_or_create(
                    province_code=str(cap["province_code"]),
                    valid_from=cap["valid_from"],
                    defaults={"cap_percent": Decimal(str(cap["cap_percent"])), "reference": cap["reference"]},
                )
            continue
        if not NormSet.objects.filter(code=raw["code"]).exists():
            normset_create(actor=actor, spec=_spec_from_yaml(raw))
            created.append(raw["code"])
    return created


@transaction.atomic
def county_norm_choose(
    *, actor: Staff | None, county_code: str, norm_set_code: str, valid_from: date, reason: str
) -> CountyNormChoice:
    """The norm set a county applies from `valid_from`; every gap is computed against it from then."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_NORMS)
    county = _division(actor, county_code, levels=[DivisionLevel.COUNTY])
    norm_set = NormSet.objects.filter(code=norm_set_code).first()
    if norm_set is None:
        raise _bad("norm_set", "没有该标准")
    reason = _text(reason, "reason")
    choice, created = CountyNormChoice.objects.update_or_create(
        county=county,
        valid_from=valid_from,
        defaults={"norm_set": norm_set, "reason": reason, "chosen_by": actor, "chosen_at": timezone.now()},
    )
    audit_record(
        actor=actor,
        action=OversightAudit.NORM_CHOICE,
        object_type="oversight.countynormchoice",
        object_id=choice.pk,
        scope_code=county.code,
        reason=reason,
        after={"norm_set": norm_set.code, "valid_from": valid_from, "replaced": not created},
    )
    return choice


@transaction.atomic
def prejob_gate_set(
    *,
    actor: Staff | None,
    county_code: str,
    valid_from: date,
    enabled: bool,
    reference: str,
    roles: Iterable[str] | None = None,
) -> PreJobGateRule:
    """Turn the pre-job gate on or off for a county from a date; `roles` defaults to every
    case-handling role."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_NORMS)
    county = _division(actor, county_code, levels=[DivisionLevel.COUNTY])
    chosen = sorted(set(roles)) if roles is not None else case_handling_roles()
    unknown = [r for r in chosen if r not in Role.values]
    if unknown:
        raise _bad("roles", f"未知角色：{'、'.join(unknown)}")
    if enabled and not chosen:
        raise _bad("roles", "启用时至少选择一个角色")
    rule, _ = PreJobGateRule.objects.update_or_create(
        county=county,
        valid_from=valid_from,
        defaults={
            "enabled": enabled,
            "roles": chosen,
            "reference": _text(reference, "reference"),
            "set_by": actor,
            "set_at": timezone.now(),
        },
    )
    audit_record(
        actor=actor,
        action=OversightAudit.GATE_RULE,
        object_type="oversight.prejobgaterule",
        object_id=rule.pk,
        scope_code=county.code,
        reason=rule.reference,
        after={"enabled": enabled, "roles": chosen, "valid_from": valid_from},
    )
    return rule


# --- Offices and their resources -----------------------------------------------------------------

OFFICE_LEVELS = (DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE)


@transaction.atomic
def population_record(
    *,
    actor: Staff | None,
    division_code: str,
    year: int | None,
    resident_population: int | None,
    source: str,
    households: int | None = None,
) -> PopulationRecord:
    """A township's or village's resident population for a year (replacing that year's figure)."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    division = _division(actor, division_code, levels=[DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE])
    errors: dict[str, list[str]] = {}
    if year is None:
        errors["year"] = ["请填写人口数据的年度"]
    elif not 2000 <= year <= timezone.localdate().year + 1:
        errors["year"] = ["年度不在有效范围内"]
    if resident_population is None or not 0 <= resident_population <= MAX_POPULATION:
        errors["resident_population"] = [f"常住人口应为0至{MAX_POPULATION}之间的整数"]
    if households is not None and not 0 <= households <= MAX_POPULATION:
        errors["households"] = ["户数无效"]
    if not (source or "").strip():
        errors["source"] = ["请注明数据来源（如：第七次人口普查、统计年鉴）"]
    if errors:
        raise InvalidInput("人口数据有误：" + "；".join(m[0] for m in errors.values()), field_errors=errors)
    if year is None or resident_population is None:  # for the type checker: refused above
        raise InvalidInput()
    record, _created = PopulationRecord.objects.update_or_create(
        division=division,
        year=year,
        defaults={
            "resident_population": resident_population,
            "households": households,
            "source": _text(source, "source", limit=120),
            "recorded_by": actor,
            "recorded_at": timezone.now(),
        },
    )
    audit_record(
        actor=actor,
        action=OversightAudit.POPULATION,
        object_type="oversight.populationrecord",
        object_id=record.pk,
        scope_code=division.code,
        after={"year": year, "resident_population": resident_population, "source": record.source},
    )
    return record


@transaction.atomic
def worker_create(
    *, actor: Staff | None, division_code: str, full_name: str, staff_id: int | None = None, phone: str = ""
) -> Worker:
    """A person of the grassroots network; linked to a staff account when they have one."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    division = _division(actor, division_code, levels=OFFICE_LEVELS)
    staff = None
    if staff_id is not None:
        staff = Staff.objects.select_related("office").filter(pk=staff_id).first()
        if staff is None or (
            actor is not None and not jurisdiction_of(actor).contains(staff.office.division_id)
        ):
            raise NotFound("没有该工作人员账号")
        if Worker.objects.filter(staff=staff).exists():
            raise Conflict("该账号已登记为工作人员", field_errors={"staff_id": ["已登记"]})
    worker = Worker.objects.create(
        full_name=_text(full_name, "full_name", limit=60),
        division=division,
        staff=staff,
        phone=phone.strip()[:20],
    )
    audit_record(
        actor=actor,
        action=OversightAudit.WORKER,
        object_type="oversight.worker",
        object_id=worker.pk,
        scope_code=division.code,
        after={"full_name": worker.full_name, "staff": staff.pk if staff else None},
    )
    return worker


def _worker(actor: Staff | None, worker_id: int) -> Worker:
    worker = Worker.objects.select_related("division").filter(pk=worker_id).first()
    if worker is None or (actor is not None and not jurisdiction_of(actor).contains(worker.division_id)):
        raise NotFound("没有该工作人员")
    return worker


@transaction.atomic
def qualification_record(
    *,
    actor: Staff | None,
    worker_id: int,
    kind: str,
    certificate_number: str,
    obtained_on: date,
    fee_reimbursed: Decimal | str | None = None,
) -> Qualification:
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    worker = _worker(actor, worker_id)
    if kind not in QualificationKind.values:
        raise _bad("kind", "未知资格")
    fee = None if fee_reimbursed in (None, "") else _decimal(fee_reimbursed, "fee_reimbursed")
    if Qualification.objects.filter(worker=worker, kind=kind).exists():
        raise Conflict("已登记该资格", field_errors={"kind": ["已登记"]})
    qualification = Qualification.objects.create(
        worker=worker,
        kind=kind,
        certificate_number=_text(certificate_number, "certificate_number", limit=40),
        obtained_on=obtained_on,
        fee_reimbursed=fee,
    )
    audit_record(
        actor=actor,
        action=OversightAudit.QUALIFICATION,
        object_type="oversight.qualification",
        object_id=qualification.pk,
        scope_code=worker.division_id,
        after={"worker": worker.pk, "kind": kind, "certificate": qualification.certificate_number},
    )
    return qualification


@transaction.atomic
def assignment_create(
    *,
    actor: Staff | None,
    worker_id: int,
    division_code: str,
    post: str,
    start_on: date,
    end_on: date | None = None,
    monthly_allowance: Decimal | str | None = None,
    contract_id: int | None = None,
) -> StaffAssignment:
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    worker = _worker(actor, worker_id)
    division = _division(actor, division_code, levels=OFFICE_LEVELS)
    if post not in PostKind.values:
        raise _bad("post", "未知岗位")
    if post == PostKind.VILLAGE_ASSISTANT and division.level != DivisionLevel.VILLAGE:
        raise _bad("division_code", "民政协理员的岗位在村（社区）")
    if end_on is not None and end_on < start_on:
        raise _bad("end_on", "离岗日期不能早于到岗日期")
    allowance = None if monthly_allowance in (None, "") else _decimal(monthly_allowance, "monthly_allowance")
    contract = None
    if contract_id is not None:
        contract = _contract(actor, contract_id)
        if post != PostKind.PURCHASED_POST:
            raise _bad("post", "只有购买服务岗位可关联购买服务合同")
        if contract.mode != ContractMode.POSTS:
            raise _bad("contract_id", "该合同不是岗位购买")
    elif post == PostKind.PURCHASED_POST:
        raise _bad("contract_id", "购买服务岗位须关联购买服务合同")
    if contract is not None and contract.posts.filter(end_on__isnull=True).count() >= contract.posts_count:
        raise Conflict("该合同的岗位已全部到岗", field_errors={"contract_id": ["岗位已满"]})
    assignment = StaffAssignment.objects.create(
        worker=worker,
        division=division,
        post=post,
        start_on=start_on,
        end_on=end_on,
        monthly_allowance=allowance,
        contract=contract,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=OversightAudit.ASSIGNMENT,
        object_type="oversight.staffassignment",
        object_id=assignment.pk,
        scope_code=division.code,
        after={"worker": worker.pk, "post": post, "start_on": start_on, "contract": contract_id},
    )
    return assignment


@transaction.atomic
def assignment_end(*, actor: Staff | None, assignment_id: int, end_on: date, reason: str) -> StaffAssignment:
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    assignment = StaffAssignment.objects.select_for_update().filter(pk=assignment_id).first()
    if assignment is None or (
        actor is not None and not jurisdiction_of(actor).contains(assignment.division_id)
    ):
        raise NotFound("没有该岗位记录")
    if assignment.end_on is not None:
        raise Conflict("该岗位已离岗")
    if end_on < assignment.start_on:
        raise _bad("end_on", "离岗日期不能早于到岗日期")
    assignment.end_on = end_on
    assignment.save(update_fields=["end_on"])
    audit_record(
        actor=actor,
        action=OversightAudit.ASSIGNMENT_END,
        object_type="oversight.staffassignment",
        object_id=assignment.pk,
        scope_code=assignment.division_id,
        reason=_text(reason, "reason"),
        after={"end_on": end_on},
    )
    return assignment


@transaction.atomic
def funding_record(
    *,
    actor: Staff | None,
    division_code: str,
    year: int | None,
    budgeted: Decimal | str,
    separately_listed: bool,
    source: str,
    disbursed: Decimal | str = "0",
) -> FundingRecord:
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    division = _division(actor, division_code, levels=[DivisionLevel.TOWNSHIP])
    if year is None or not 2000 <= year <= timezone.localdate().year + 1:
        raise _bad("year", "请填写有效的年度")
    amount = _decimal(budgeted, "budgeted")
    paid = _decimal(disbursed, "disbursed")
    record, _ = FundingRecord.objects.update_or_create(
        division=division,
        year=year,
        defaults={
            "budgeted": amount,
            "separately_listed": separately_listed,
            "disbursed": paid,
            "source": _text(source, "source", limit=120),
            "recorded_by": actor,
            "recorded_at": timezone.now(),
        },
    )
    audit_record(
        actor=actor,
        action=OversightAudit.FUNDING,
        object_type="oversight.fundingrecord",
        object_id=record.pk,
        scope_code=division.code,
        after={"year": year, "budgeted": amount, "separately_listed": separately_listed, "disbursed": paid},
    )
    return record


@dataclass(frozen=True)
class Upload:
    file_name: str
    content_type: str
    content: bytes


def _check_upload(upload: Upload) -> None:
    magic = DOCUMENT_TYPES.get(upload.content_type)
    if not upload.content:
        raise _bad("evidence", "文件为空")
    if magic is None:
        raise _bad("evidence", "只接受 PDF、JPG、PNG 文件")
    if not upload.content.startswith(magic):
        raise _bad("evidence", "文件内容与类型不符")
    if len(upload.content) > DOCUMENT_MAX_BYTES:
        raise _bad("evidence", "文件不能超过10MB")


def _store(upload: Upload, *, division: Division, actor: Staff | None, **owner: Any) -> Evidence:
    return Evidence.objects.create(
        division=division,
        file_name=(upload.file_name or "upload").replace("\x00", "")[-200:],
        content_type=upload.content_type,
        size=len(upload.content),
        sha256=hashlib.sha256(upload.content).hexdigest(),
        content=upload.content,
        uploaded_by=actor,
        **owner,
    )


@transaction.atomic
def facility_check_record(
    *,
    actor: Staff | None,
    division_code: str,
    checked_on: date,
    office_area_m2: Decimal | str,
    window_has_sign: bool,
    items: Mapping[str, int],
    evidence: Sequence[Upload],
    note: str = "",
) -> FacilityCheck:
    """An on-site check of an office: area, window sign, the checklist items found, with at least one
    photo (or PDF) as evidence, stored in the database."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    division = _division(actor, division_code, levels=[DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE])
    if not evidence:
        raise _bad("evidence", "请上传现场照片作为检查凭证")
    for upload in evidence:
        _check_upload(upload)
    if checked_on > timezone.localdate():
        raise _bad("checked_on", "检查日期不能晚于今天")
    area = _decimal(office_area_m2, "office_area_m2", places=1)
    clean: dict[str, int] = {}
    for code, quantity in items.items():
        if not code or len(code) > 32 or not str(code).replace("_", "").isalnum():
            raise _bad("items", f"设施代码无效：{code}")
        if not isinstance(quantity, int) or not 0 <= quantity <= 999:
            raise _bad("items", f"{code} 的数量应为0至999的整数")
        if quantity:
            clean[code] = quantity
    check = FacilityCheck.objects.create(
        division=division,
        checked_on=checked_on,
        office_area_m2=area,
        window_has_sign=window_has_sign,
        note=note.strip()[:300],
        checked_by=actor,
    )
    FacilityCheckItem.objects.bulk_create(
        [FacilityCheckItem(facility_check=check, code=code, quantity=q) for code, q in sorted(clean.items())]
    )
    stored = [_store(u, division=division, actor=actor, facility_check=check) for u in evidence]
    audit_record(
        actor=actor,
        action=OversightAudit.FACILITY_CHECK,
        object_type="oversight.facilitycheck",
        object_id=check.pk,
        scope_code=division.code,
        after={
            "checked_on": checked_on,
            "office_area_m2": area,
            "window_has_sign": window_has_sign,
            "items": clean,
            "evidence": [e.sha256 for e in stored],
        },
    )
    return check


@transaction.atomic
def evidence_download(*, actor: Staff, evidence_id: int) -> Evidence:
    require(actor, Perm.OVERSIGHT_VIEW)
    found = Evidence.objects.filter(pk=evidence_id).first()
    if found is None or not jurisdiction_of(actor).contains(found.division_id):
        raise NotFound("没有该文件")
    audit_record(
        actor=actor,
        action=OversightAudit.EVIDENCE_DOWNLOAD,
        object_type="oversight.evidence",
        object_id=found.pk,
        scope_code=found.division_id,
        after={"file": found.file_name, "sha256": found.sha256},
    )
    return found


# --- Training ------------------------------------------------------------------------------------


@transaction.atomic
def training_plan_create(
    *, actor: Staff | None, division_code: str, year: int, title: str, planned_events: int
) -> TrainingPlan:
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    division = _division(
        actor, division_code, levels=[DivisionLevel.CITY, DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP]
    )
    if not 2000 <= year <= timezone.localdate().year + 1:
        raise _bad("year", "年度不在有效范围内")
    if not 1 <= planned_events <= 100:
        raise _bad("planned_events", "计划期数应为1至100")
    plan = TrainingPlan.objects.create(
        division=division,
        year=year,
        title=_text(title, "title", limit=120),
        planned_events=planned_events,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=OversightAudit.TRAINING_PLAN,
        object_type="oversight.trainingplan",
        object_id=plan.pk,
        scope_code=division.code,
        after={"year": year, "title": plan.title, "planned_events": planned_events},
    )
    return plan


@transaction.atomic
def training_event_create(
    *,
    actor: Staff | None,
    organiser_code: str,
    kind: str,
    title: str,
    start_on: date,
    end_on: date,
    days: Decimal | str,
    location: str = "",
    plan_id: int | None = None,
) -> TrainingEvent:
    """A training held by a city, county or township office (the organiser's level)."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    organiser = _division(
        actor, organiser_code, levels=[DivisionLevel.CITY, DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP]
    )
    if kind not in TrainingKind.values:
        raise _bad("kind", "未知培训类别")
    if end_on < start_on:
        raise _bad("end_on", "结束日期不能早于开始日期")
    length = _decimal(days, "days", places=1)
    if length <= 0 or length > (end_on - start_on).days + 1:
        raise _bad("days", "培训天数应大于0且不超过起止日期之间的天数")
    plan = None
    if plan_id is not None:
        plan = TrainingPlan.objects.filter(pk=plan_id).first()
        if plan is None or (actor is not None and not jurisdiction_of(actor).contains(plan.division_id)):
            raise NotFound("没有该培训计划")
    event = TrainingEvent.objects.create(
        plan=plan,
        organiser=organiser,
        kind=kind,
        title=_text(title, "title", limit=120),
        start_on=start_on,
        end_on=end_on,
        days=length,
        location=location.strip()[:120],
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=OversightAudit.TRAINING_EVENT,
        object_type="oversight.trainingevent",
        object_id=event.pk,
        scope_code=organiser.code,
        after={"kind": kind, "title": event.title, "start_on": start_on, "days": length},
    )
    return event


@transaction.atomic
def attendance_record(
    *,
    actor: Staff | None,
    event_id: int,
    worker_id: int,
    days_attended: Decimal | str,
    passed: bool = True,
    certificate_number: str = "",
) -> TrainingAttendance:
    """A person's attendance of a training (the days they attended and their certificate). The
    worker must be in the actor's jurisdiction; the event may be organised above it (city, county)."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    event = TrainingEvent.objects.filter(pk=event_id).first()
    if event is None or (
        actor is not None
        and not (
            jurisdiction_of(actor).contains(event.organiser_id)
            or (event.organiser.prefix and jurisdiction_of(actor).prefix.startswith(event.organiser.prefix))
        )
    ):
        raise NotFound("没有该培训")
    worker = _worker(actor, worker_id)
    if not worker.division.prefix.startswith(event.organiser.prefix):
        raise _bad("worker_id", "该人员不在培训举办单位的辖区内")
    attended = _decimal(days_attended, "days_attended", places=1)
    if attended <= 0 or attended > event.days:
        raise _bad("days_attended", f"参训天数应大于0且不超过培训天数（{event.days}天）")
    if TrainingAttendance.objects.filter(event=event, worker=worker).exists():
        raise Conflict("已登记该人员参加本次培训", field_errors={"worker_id": ["已登记"]})
    attendance = TrainingAttendance.objects.create(
        event=event,
        worker=worker,
        days_attended=attended,
        passed=passed,
        certificate_number=certificate_number.strip()[:40],
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=OversightAudit.ATTENDANCE,
        object_type="oversight.trainingattendance",
        object_id=attendance.pk,
        scope_code=worker.division_id,
        after={
            "event": event.pk,
            "kind": event.kind,
            "worker": worker.pk,
            "days": attended,
            "passed": passed,
        },
    )
    return attendance


# --- Government-purchased services ---------------------------------------------------------------


@transaction.atomic
def provider_register(
    *, actor: Staff | None, county_code: str, name: str, uscc: str, kind: str
) -> ServiceProvider:
    """A provider (承接主体), identified by its unified social credit code (GB 32100-2015)."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_PURCHASE)
    county = _division(actor, county_code, levels=[DivisionLevel.COUNTY])
    try:
        code = parse_uscc(uscc)
    except InvalidIdentifier as exc:
        raise _bad("uscc", exc.message) from exc
    if kind not in ProviderKind.values:
        raise _bad("kind", "未知类别")
    if ServiceProvider.objects.filter(uscc=code).exists():
        raise Conflict("该统一社会信用代码已登记", field_errors={"uscc": ["已登记"]})
    provider = ServiceProvider.objects.create(
        name=_text(name, "name", limit=120), uscc=code, kind=kind, county=county
    )
    audit_record(
        actor=actor,
        action=OversightAudit.PROVIDER,
        object_type="oversight.serviceprovider",
        object_id=provider.pk,
        scope_code=county.code,
        after={"name": provider.name, "uscc": code, "kind": kind},
    )
    return provider


def fund_cap(province_code: str, on: date) -> FundCapRule | None:
    return (
        FundCapRule.objects.filter(province_code=province_code, valid_from__lte=on)
        .order_by("-valid_from")
        .first()
    )


def _contract(actor: Staff | None, contract_id: int) -> ServiceContract:
    contract = ServiceContract.objects.select_related("provider").filter(pk=contract_id).first()
    if contract is None or (actor is not None and not jurisdiction_of(actor).contains(contract.county_id)):
        raise NotFound("没有该购买服务合同")
    return contract


@transaction.atomic
def contract_create(
    *,
    actor: Staff | None,
    county_code: str,
    provider_id: int,
    number: str,
    title: str,
    mode: str,
    category: str,
    items: Sequence[str],
    amount: Decimal | str,
    funding_source: str,
    start_on: date,
    end_on: date,
    posts_count: int = 0,
    assistance_fund_total: Decimal | str | None = None,
) -> ServiceContract:
    """A purchase contract. Paid from the assistance fund, its share of the year's fund must stay
    within the province's cap (FundCapRule); without a cap for the province it is refused."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_PURCHASE)
    county = _division(actor, county_code, levels=[DivisionLevel.COUNTY])
    provider = ServiceProvider.objects.filter(pk=provider_id).first()
    if provider is None or (actor is not None and not jurisdiction_of(actor).contains(provider.county_id)):
        raise NotFound("没有该承接主体")
    if provider.barred_until is not None and provider.barred_until >= start_on:
        raise Conflict(f"该承接主体被禁止参与政府购买服务至{provider.barred_until}", code="provider_barred")
    if mode not in ContractMode.values:
        raise _bad("mode", "未知购买方式")
    if category not in ServiceCategory.values:
        raise _bad("category", "未知服务类别")
    if funding_source not in FundingSource.values:
        raise _bad("funding_source", "未知资金来源")
    if end_on < start_on:
        raise _bad("end_on", "结束日期不能早于开始日期")
    clean_items = [_text(i, "items", limit=100) for i in items if (i or "").strip()]
    if not clean_items:
        raise _bad("items", "请列明服务内容")
    if mode == ContractMode.POSTS and not 1 <= posts_count <= 999:
        raise _bad("posts_count", "岗位购买须注明岗位数")
    total = _decimal(amount, "amount")
    if total <= 0:
        raise _bad("amount", "合同金额应大于0")
    share = cap = fund_total = None
    if funding_source == FundingSource.ASSISTANCE_FUND:
        if assistance_fund_total in (None, ""):
            raise _bad("assistance_fund_total", "资金来自困难群众救助资金时，须填写当年救助资金总额")
        fund_total = _decimal(assistance_fund_total, "assistance_fund_total")
        if fund_total <= 0:
            raise _bad("assistance_fund_total", "救助资金总额应大于0")
        rule = fund_cap(county.code[:2], start_on)
        if rule is None:
            raise _bad(
                "funding_source", "本省（自治区）尚未设置从救助资金购买服务的比例上限，不能从救助资金列支"
            )
        share = (total * 100 / fund_total).quantize(Decimal("0.0001"), rounding=ROUND_HALF_UP)
        cap = rule.cap_percent
        if total * 100 > cap * fund_total:  # compared exactly, not after rounding the share
            raise _bad(
                "amount",
                f"合同金额占当年困难群众救助资金的{share.normalize():f}%以上，超过本省上限{cap.normalize():f}%（{rule.reference}）",
            )
    number = _text(number, "number", limit=40)
    if ServiceContract.objects.filter(number=number).exists():
        raise Conflict("合同编号已存在", field_errors={"number": ["已存在"]})
    contract = ServiceContract.objects.create(
        county=county,
        provider=provider,
        number=number,
        title=_text(title, "title", limit=120),
        mode=mode,
        category=category,
        items=clean_items,
        posts_count=posts_count if mode == ContractMode.POSTS else 0,
        amount=total,
        funding_source=funding_source,
        assistance_fund_total=fund_total,
        share_percent=share,
        cap_percent=cap,
        start_on=start_on,
        end_on=end_on,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=OversightAudit.CONTRACT,
        object_type="oversight.servicecontract",
        object_id=contract.pk,
        scope_code=county.code,
        after={
            "number": number,
            "provider": provider.uscc,
            "amount": total,
            "funding_source": funding_source,
            "share_percent": share,
            "cap_percent": cap,
        },
    )
    return contract


@transaction.atomic
def delivery_record(
    *,
    actor: Staff | None,
    contract_id: int,
    division_code: str,
    delivered_on: date,
    service_type: str,
    recipient_name: str,
    hours: Decimal | str,
    recipient_confirmed: bool,
    worker_id: int | None = None,
) -> ServiceDelivery:
    """A service delivered under a contract, with whether the recipient confirmed it (签字确认)."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    # A township records the services delivered in its own area under its county's contract.
    division = _division(actor, division_code, levels=[DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE])
    contract = ServiceContract.objects.filter(pk=contract_id).first()
    if contract is None or not division.code.startswith(contract.county_id[:6]):
        raise NotFound("没有该购买服务合同")
    if contract.status in (ContractStatus.TERMINATED, ContractStatus.CLOSED):
        raise Conflict("合同已终止或结束，不能再登记服务")
    if not contract.start_on <= delivered_on <= contract.end_on:
        raise _bad("delivered_on", "服务日期不在合同期内")
    worker = _worker(actor, worker_id) if worker_id is not None else None
    length = _decimal(hours, "hours", places=1)
    if length <= 0:
        raise _bad("hours", "时长应大于0")
    delivery = ServiceDelivery.objects.create(
        contract=contract,
        division=division,
        delivered_on=delivered_on,
        service_type=_text(service_type, "service_type", limit=40),
        recipient_name=_text(recipient_name, "recipient_name", limit=60),
        hours=length,
        recipient_confirmed=recipient_confirmed,
        worker=worker,
        recorded_by=actor,
    )
    audit_record(
        actor=actor,
        action=OversightAudit.DELIVERY,
        object_type="oversight.servicedelivery",
        object_id=delivery.pk,
        scope_code=division.code,
        after={
            "contract": contract.pk,
            "service_type": delivery.service_type,
            "confirmed": recipient_confirmed,
        },
    )
    return delivery


@transaction.atomic
def evaluation_record(
    *,
    actor: Staff | None,
    contract_id: int,
    stage: str,
    evaluator: str,
    evaluated_on: date,
    score: Decimal | str | float,
    outcome: str,
    note: str = "",
    barred_until: date | None = None,
) -> ProviderEvaluation:
    """An evaluation of a provider's contract (日常、中期、终期; by the bureau, a third party, or the
    recipients' satisfaction), scored 0–100, and its outcome: continue, rectify (the contract is under
    rectification), terminate, or terminate and bar the provider until a date."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_PURCHASE)
    contract = ServiceContract.objects.select_for_update().filter(pk=contract_id).first()
    if contract is None or (actor is not None and not jurisdiction_of(actor).contains(contract.county_id)):
        raise NotFound("没有该购买服务合同")
    errors: dict[str, list[str]] = {}
    if stage not in EvaluationStage.values:
        errors["stage"] = ["未知考核阶段"]
    if evaluator not in Evaluator.values:
        errors["evaluator"] = ["未知评价方"]
    if outcome not in EvaluationOutcome.values:
        errors["outcome"] = ["未知结论"]
    value: Decimal | None = None
    try:
        value = Decimal(str(score))
    except (InvalidOperation, ValueError):
        errors["score"] = ["得分应为数字"]
    if value is not None and (not value.is_finite() or not SCORE_SCALE[0] <= value <= SCORE_SCALE[1]):
        errors["score"] = ["得分应在0至100分之间"]
    elif value is not None and value != value.quantize(Decimal("0.1")):
        errors["score"] = ["得分最多保留一位小数"]
    if outcome == EvaluationOutcome.BAR and (barred_until is None or barred_until <= evaluated_on):
        errors["barred_until"] = ["禁止参与须注明截止日期（晚于评价日期）"]
    if contract.status in (ContractStatus.TERMINATED, ContractStatus.CLOSED):
        raise Conflict("合同已终止或结束")
    if errors:
        raise InvalidInput("评价有误：" + "；".join(m[0] for m in errors.values()), field_errors=errors)
    if value is None:  # for the type checker: refused above
        raise InvalidInput()
    evaluation = ProviderEvaluation.objects.create(
        contract=contract,
        stage=stage,
        evaluator=evaluator,
        evaluated_on=evaluated_on,
        score=value,
        outcome=outcome,
        barred_until=barred_until if outcome == EvaluationOutcome.BAR else None,
        note=note.strip()[:300],
        recorded_by=actor,
    )
    before = contract.status
    contract.status = {
        EvaluationOutcome.CONTINUE: ContractStatus.RUNNING,
        EvaluationOutcome.RECTIFY: ContractStatus.RECTIFYING,
        EvaluationOutcome.TERMINATE: ContractStatus.TERMINATED,
        EvaluationOutcome.BAR: ContractStatus.TERMINATED,
    }[EvaluationOutcome(outcome)]
    contract.save(update_fields=["status"])
    if outcome == EvaluationOutcome.BAR:
        ServiceProvider.objects.filter(pk=contract.provider_id).update(barred_until=barred_until)
    audit_record(
        actor=actor,
        action=OversightAudit.EVALUATION,
        object_type="oversight.providerevaluation",
        object_id=evaluation.pk,
        scope_code=contract.county_id,
        before={"status": before},
        after={
            "stage": stage,
            "evaluator": evaluator,
            "score": value,
            "outcome": outcome,
            "status": contract.status,
        },
    )
    return evaluation


# --- Supervision ---------------------------------------------------------------------------------


@transaction.atomic
def spot_check_create(
    *,
    actor: Staff | None,
    county_code: str,
    period_start: date,
    period_end: date,
    sample_size: int,
    seed: int | None = None,
) -> SpotCheck:
    """Sample decided cases of a county's period at random (重点抽查); the seed is kept so the same
    sample can be drawn again."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_SUPERVISE)
    county = _division(actor, county_code, levels=[DivisionLevel.COUNTY])
    if period_end < period_start:
        raise _bad("period_end", "抽查范围的截止日期不能早于起始日期")
    if not 1 <= sample_size <= 500:
        raise _bad("sample_size", "抽取件数应为1至500")
    pool = list(
        Case.objects.filter(
            division__code__startswith=county.prefix,
            closed_at__date__gte=period_start,
            closed_at__date__lte=period_end,
        )
        .exclude(outcome="")
        .order_by("pk")
        .values_list("pk", "division_id")
    )
    if not pool:
        raise _bad("period_start", "该期间没有已作出决定的案件可供抽查")
    seed = seed if seed is not None else random.SystemRandom().randrange(1, 2**31)
    chosen = random.Random(seed).sample(pool, min(sample_size, len(pool)))  # noqa: S311 (a reproducible sample)
    check = SpotCheck.objects.create(
        county=county,
        checked_on=timezone.localdate(),
        period_start=period_start,
        period_end=period_end,
        sample_size=len(chosen),
        seed=seed,
        created_by=actor,
    )
    SampledCase.objects.bulk_create(
        [SampledCase(spot_check=check, case_id=pk, division_id=division) for pk, division in sorted(chosen)]
    )
    audit_record(
        actor=actor,
        action=OversightAudit.SPOT_CHECK,
        object_type="oversight.spotcheck",
        object_id=check.pk,
        scope_code=county.code,
        after={"period": [period_start, period_end], "seed": seed, "cases": sorted(pk for pk, _ in chosen)},
    )
    return check


@transaction.atomic
def sample_finding_record(
    *, actor: Staff | None, sample_id: int, compliant: bool, finding: str, rectify_by: date | None = None
) -> SampledCase:
    """The finding on one sampled case; a non-compliant case with a deadline opens a rectification
    for its township."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_SUPERVISE)
    sample = SampledCase.objects.select_for_update().select_related("spot_check").filter(pk=sample_id).first()
    if sample is None or (actor is not None and not jurisdiction_of(actor).contains(sample.division_id)):
        raise NotFound("没有该抽查案件")
    finding = finding.strip()[:300]
    if not compliant and not finding:
        raise _bad("finding", "不符合规定时须写明发现的问题")
    sample.compliant = compliant
    sample.finding = finding
    sample.save(update_fields=["compliant", "finding"])
    if not compliant and rectify_by is not None:
        rectification_open(
            actor=actor,
            division_code=sample.division_id[:9] + "000",
            source=RectificationSource.SPOT_CHECK,
            issue=finding,
            due_on=rectify_by,
            sampled_case_id=sample.pk,
        )
    audit_record(
        actor=actor,
        action=OversightAudit.SAMPLE_FINDING,
        object_type="oversight.sampledcase",
        object_id=sample.pk,
        scope_code=sample.division_id,
        after={"compliant": compliant, "finding": finding},
    )
    return sample


@transaction.atomic
def supervision_task_create(
    *, actor: Staff | None, division_code: str, title: str, due_on: date
) -> SupervisionTask:
    if actor is not None:
        require(actor, Perm.OVERSIGHT_SUPERVISE)
    division = _division(actor, division_code, levels=[DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP])
    today = timezone.localdate()
    if due_on < today:
        raise _bad("due_on", "完成时限不能早于今天")
    task = SupervisionTask.objects.create(
        division=division, title=_text(title, "title"), due_on=due_on, created_by=actor, created_on=today
    )
    audit_record(
        actor=actor,
        action=OversightAudit.TASK,
        object_type="oversight.supervisiontask",
        object_id=task.pk,
        scope_code=division.code,
        after={"title": task.title, "due_on": due_on},
    )
    return task


@transaction.atomic
def supervision_task_complete(*, actor: Staff | None, task_id: int, result: str) -> SupervisionTask:
    if actor is not None:
        require(actor, Perm.OVERSIGHT_SUPERVISE)
    task = SupervisionTask.objects.select_for_update().filter(pk=task_id).first()
    if task is None or (actor is not None and not jurisdiction_of(actor).contains(task.division_id)):
        raise NotFound("没有该督导事项")
    if task.status == TaskStatus.DONE:
        raise Conflict("该督导事项已完成")
    task.status = TaskStatus.DONE
    task.result = _text(result, "result", limit=300)
    task.done_on = timezone.localdate()
    task.save(update_fields=["status", "result", "done_on"])
    audit_record(
        actor=actor,
        action=OversightAudit.TASK_DONE,
        object_type="oversight.supervisiontask",
        object_id=task.pk,
        scope_code=task.division_id,
        after={"result": task.result},
    )
    return task


@transaction.atomic
def rectification_open(
    *,
    actor: Staff | None,
    division_code: str,
    source: str,
    issue: str,
    due_on: date,
    opened_on: date | None = None,
    sampled_case_id: int | None = None,
) -> Rectification:
    if actor is not None:
        require(actor, Perm.OVERSIGHT_SUPERVISE)
    division = _division(
        actor, division_code, levels=[DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE]
    )
    if source not in RectificationSource.values:
        raise _bad("source", "未知来源")
    opened = opened_on or timezone.localdate()
    if due_on < opened:
        raise _bad("due_on", "整改时限不能早于下达日期")
    item = Rectification.objects.create(
        division=division,
        source=source,
        issue=_text(issue, "issue", limit=300),
        opened_on=opened,
        due_on=due_on,
        sampled_case_id=sampled_case_id,
        created_by=actor,
    )
    audit_record(
        actor=actor,
        action=OversightAudit.RECTIFICATION,
        object_type="oversight.rectification",
        object_id=item.pk,
        scope_code=division.code,
        after={"source": source, "issue": item.issue, "due_on": due_on},
    )
    return item


@transaction.atomic
def rectification_submit(
    *, actor: Staff | None, rectification_id: int, note: str, evidence: Sequence[Upload]
) -> Rectification:
    """The office reports what it did, with evidence (photo or PDF)."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_RECORD)
    item = (
        Rectification.objects.select_for_update()
        .select_related("division")
        .filter(pk=rectification_id)
        .first()
    )
    if item is None or (actor is not None and not jurisdiction_of(actor).contains(item.division_id)):
        raise NotFound("没有该整改事项")
    if item.status != RectificationStatus.OPEN:
        raise Conflict("该整改事项已报送或已销号")
    if not evidence:
        raise _bad("evidence", "请上传整改凭证")
    for upload in evidence:
        _check_upload(upload)
    item.note = _text(note, "note", limit=300)
    item.status = RectificationStatus.SUBMITTED
    item.submitted_on = timezone.localdate()
    item.save(update_fields=["note", "status", "submitted_on"])
    stored = [_store(u, division=item.division, actor=actor, rectification=item) for u in evidence]
    audit_record(
        actor=actor,
        action=OversightAudit.RECTIFICATION_SUBMIT,
        object_type="oversight.rectification",
        object_id=item.pk,
        scope_code=item.division_id,
        after={"note": item.note, "evidence": [e.sha256 for e in stored]},
    )
    return item


@transaction.atomic
def rectification_verify(
    *, actor: Staff | None, rectification_id: int, accepted: bool, note: str
) -> Rectification:
    """The supervisor accepts the rectification (销号) or sends it back to be done again."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_SUPERVISE)
    item = Rectification.objects.select_for_update().filter(pk=rectification_id).first()
    if item is None or (actor is not None and not jurisdiction_of(actor).contains(item.division_id)):
        raise NotFound("没有该整改事项")
    if item.status != RectificationStatus.SUBMITTED:
        raise Conflict("整改材料尚未报送或已销号")
    if actor is not None and actor.office.division_id == item.division_id:
        raise PermissionDenied("整改单位不能自行验收销号")
    item.status = RectificationStatus.VERIFIED if accepted else RectificationStatus.OPEN
    item.closed_on = timezone.localdate() if accepted else None
    item.note = f"{item.note}｜验收：{_text(note, 'note', limit=120)}"[:300]
    item.save(update_fields=["status", "closed_on", "note"])
    audit_record(
        actor=actor,
        action=OversightAudit.RECTIFICATION_VERIFY,
        object_type="oversight.rectification",
        object_id=item.pk,
        scope_code=item.division_id,
        after={"accepted": accepted, "status": item.status},
    )
    return item


def content_digest(content: Mapping[str, Any]) -> str:
    canonical = json.dumps(
        content, sort_keys=True, ensure_ascii=False, separators=(",", ":"), cls=DjangoJSONEncoder
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


@transaction.atomic
def bulletin_freeze(
    *, actor: Staff | None, division_code: str, month: date, content: Mapping[str, Any]
) -> Bulletin:
    """Store a month's bulletin (月通报) once, from values computed as of the month's last day
    (selectors.bulletin_content); it is never recomputed afterwards."""
    if actor is not None:
        require(actor, Perm.OVERSIGHT_SUPERVISE)
    division = _division(
        actor, division_code, levels=[DivisionLevel.PROVINCE, DivisionLevel.CITY, DivisionLevel.COUNTY]
    )
    month = month.replace(day=1)
    if Bulletin.objects.filter(division=division, month=month).exists():
        raise Conflict("该月的通报已生成，不能重复生成", code="bulletin_exists")
    as_of = date.fromisoformat(str(content["as_of"]))
    if as_of >= timezone.localdate():
        raise Conflict("该月尚未结束，月底后再生成通报", code="month_not_over")
    stored = json.loads(json.dumps(content, cls=DjangoJSONEncoder, ensure_ascii=False))
    bulletin = Bulletin.objects.create(
        division=division,
        month=month,
        as_of=as_of,
        content=stored,
        sha256=content_digest(stored),
        frozen_by=actor,
    )
    audit_record(
        actor=actor,
        action=OversightAudit.BULLETIN,
        object_type="oversight.bulletin",
        object_id=bulletin.pk,
        scope_code=division.code,
        after={"month": month, "sha256": bulletin.sha256},
    )
    return bulletin
