"""Pages for grassroots capacity (基层能力建设): compliance drilled from region or city to village,
norm sets and the county's choice, purchased-service contracts, monthly bulletins (A4 and Excel)."""

from __future__ import annotations

import io
import re
from collections.abc import Callable, Sequence
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from openpyxl import Workbook

from minzheng.cases.services import DOCUMENT_MAX_BYTES
from minzheng.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from minzheng.core.identifiers import DivisionLevel
from minzheng.core.inputs import parse_month
from minzheng.core.permissions import Perm
from minzheng.core.spreadsheets import neutralise
from minzheng.org.models import Division, Staff
from minzheng.org.scope import jurisdiction_of
from minzheng.oversight import selectors, services
from minzheng.oversight.guards import gate_rule
from minzheng.oversight.models import (
    ContractMode,
    EvaluationOutcome,
    EvaluationStage,
    Evaluator,
    FundingSource,
    NormSet,
    PostKind,
    ProviderKind,
    QualificationKind,
    RectificationSource,
    ServiceCategory,
    ServiceContract,
    TrainingEvent,
    TrainingKind,
    Worker,
)
from minzheng.web.base import (
    BootstrapForm,
    actor,
    apply_domain_error,
    flash_done,
    forbidden,
    staff_view,
    xlsx_response,
)


class NormChoiceForm(BootstrapForm):
    norm_set = forms.ChoiceField(label=gettext_lazy("适用标准"))
    valid_from = forms.DateField(
        label=gettext_lazy("适用起始日"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reason = forms.CharField(label=gettext_lazy("说明"), max_length=200)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["norm_set"].choices = [  # type: ignore[attr-defined]
            (n.code, f"{n.name}（{n.source_reference[:30]}…）") for n in NormSet.objects.all()
        ]


class GateForm(BootstrapForm):
    valid_from = forms.DateField(
        label=gettext_lazy("适用起始日"), widget=forms.DateInput(attrs={"type": "date"})
    )
    enabled = forms.BooleanField(label=gettext_lazy("未经岗前培训不得授予办案角色"), required=False)
    reference = forms.CharField(label=gettext_lazy("依据"), max_length=200)


class BulletinForm(BootstrapForm):
    month = forms.CharField(
        label=gettext_lazy("月份"), max_length=7, widget=forms.TextInput(attrs={"type": "month"})
    )


def _on(request: HttpRequest) -> date | None:
    raw = request.GET.get("on", "")
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


def _compliance_page(request: HttpRequest, code: str | None) -> HttpResponse:
    who = actor(request)
    view = selectors.compliance(actor=who, code=code, on=_on(request))
    trend = selectors.township_trend(actor=who, code=view.division.code) if view.division.level == 4 else []
    county = view.division.code[:6] + "000000" if view.division.level >= 3 else ""
    choice_form = gate_form = None
    if county and who.can(Perm.OVERSIGHT_NORMS) and view.division.level == 3:
        choice_form = NormChoiceForm(initial={"valid_from": timezone.localdate()})
        gate_form = GateForm(initial={"valid_from": timezone.localdate()})
    return render(
        request,
        "web/oversight/compliance.html",
        {
            "view": view,
            "trend": trend,
            "norm_set": selectors.applicable_norm_set(county, view.on) if county else None,
            "choice_form": choice_form,
            "gate_form": gate_form,
            "gate": gate_rule(county, view.on) if county else None,
            "bulletin_form": BulletinForm()
            if who.can(Perm.OVERSIGHT_SUPERVISE) and view.division.level <= 3
            else None,
            "contracts": selectors.contracts(actor=who)[:20] if view.division.level <= 3 else [],
            "rectifications": selectors.rectifications(actor=who, open_only=True).filter(
                division__code__startswith=view.division.prefix
            )[:50],
            "bulletins": selectors.bulletins(actor=who).filter(
                division__code__startswith=view.division.prefix
            )[:12],
        },
    )


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def home(request: HttpRequest) -> HttpResponse:
    return _compliance_page(request, None)


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def division(request: HttpRequest, code: str) -> HttpResponse:
    return _compliance_page(request, code)


@staff_view(Perm.OVERSIGHT_NORMS)
@require_POST
def norm_choose(request: HttpRequest, code: str) -> HttpResponse:
    who = actor(request)
    form = NormChoiceForm(request.POST)
    if form.is_valid():
        try:
            services.county_norm_choose(
                actor=who,
                county_code=code,
                norm_set_code=form.cleaned_data["norm_set"],
                valid_from=form.cleaned_data["valid_from"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            messages.error(request, _(exc.message))
        else:
            flash_done(request, _("已更换适用标准，各项差距已按新标准重新计算"))
    else:
        messages.error(request, _("请填写适用标准、起始日和说明"))
    selectors.compliance(actor=who, code=code)  # out of scope: 404 before the redirect
    return redirect("web:oversight_division", code=code)


@staff_view(Perm.OVERSIGHT_NORMS)
@require_POST
def prejob_gate(request: HttpRequest, code: str) -> HttpResponse:
    """Turn the pre-job gate (岗前培训上岗) on or off for the county from a date."""
    who = actor(request)
    selectors.compliance(actor=who, code=code)  # out of scope: 404 before reading the input
    form = GateForm(request.POST)
    if form.is_valid():
        try:
            services.prejob_gate_set(
                actor=who,
                county_code=code,
                valid_from=form.cleaned_data["valid_from"],
                enabled=form.cleaned_data["enabled"],
                reference=form.cleaned_data["reference"],
            )
        except DomainError as exc:
            messages.error(request, _(exc.message))
        else:
            flash_done(request, _("岗前培训上岗规则已更新"))
    else:
        messages.error(request, _("请填写适用起始日和依据"))
    return redirect("web:oversight_division", code=code)


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def norms(request: HttpRequest) -> HttpResponse:
    sets = NormSet.objects.prefetch_related("bands", "facility_items")
    return render(request, "web/oversight/norms.html", {"norm_sets": sets})


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def contract(request: HttpRequest, contract_id: int) -> HttpResponse:
    return _contract_page(request, selectors.contract_get(actor=actor(request), contract_id=contract_id))


@staff_view(Perm.OVERSIGHT_SUPERVISE)
@require_POST
def bulletin_freeze(request: HttpRequest, code: str) -> HttpResponse:
    who = actor(request)
    form = BulletinForm(request.POST)
    selectors.compliance(actor=who, code=code)  # out of scope: 404
    if not form.is_valid():
        messages.error(request, _("请选择月份"))
        return redirect("web:oversight_division", code=code)
    try:
        month = parse_month(form.cleaned_data["month"])
        content = selectors.bulletin_content(actor=who, division_code=code, month=month)
        bulletin = services.bulletin_freeze(actor=who, division_code=code, month=month, content=content)
    except (DomainError, ValueError) as exc:
        messages.error(request, getattr(exc, "message", str(exc)))
        return redirect("web:oversight_division", code=code)
    flash_done(request, _("月通报已生成"))
    return redirect("web:oversight_bulletin", bulletin_id=bulletin.pk)


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def bulletin(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    found = selectors.bulletin_get(actor=actor(request), bulletin_id=bulletin_id)
    return render(
        request,
        "web/oversight/bulletin_print.html",
        {"bulletin": found, "content": found.content, "title": _("基层民政服务能力建设月通报")},
    )


def _rate_cell(rate: str | None) -> Decimal | str:
    """A frozen percentage as a number in the sheet, or a dash when nothing was counted."""
    return Decimal(rate) if rate is not None else "—"


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def bulletin_xlsx(request: HttpRequest, bulletin_id: int) -> HttpResponse:
    found = selectors.bulletin_get(actor=actor(request), bulletin_id=bulletin_id)
    content = found.content
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook has its sheet
    sheet.title = _("排名")
    sheet.append(
        [_("名次"), _("单位"), _("得分"), _("未达标项数"), _("未达标项目"), _("超期环节"), _("未销号整改")]
    )
    for unit in content["ranking"]:
        sheet.append(
            [
                unit["rank"],
                neutralise(unit["name"]),
                unit["score"],
                unit["shortfalls"],
                neutralise("、".join(unit["short"])),
                unit["overdue_steps"],
                unit["open_rectifications"],
            ]
        )
    if content.get("has_voice"):
        voice = book.create_sheet(_("群众诉求与监测预警"))
        voice.append(
            [
                _("单位"),
                _("受理诉求"),
                _("办结"),
                _("按时办结"),
                _("按时办结率（%）"),
                _("回访"),
                _("满意"),
                _("满意率（%）"),
                _("退单"),
                _("退单率（%）"),
                _("预警未处置"),
                _("预警超期"),
            ]
        )
        for unit in content["ranking"]:
            voice.append(
                [
                    neutralise(unit["name"]),
                    unit["tickets_received"],
                    unit["tickets_closed"],
                    unit["tickets_closed_on_time"],
                    _rate_cell(unit["tickets_on_time_rate"]),
                    unit["tickets_rated"],
                    unit["tickets_satisfied"],
                    _rate_cell(unit["tickets_satisfaction_rate"]),
                    unit["tickets_returned"],
                    _rate_cell(unit["tickets_return_rate"]),
                    unit["warnings_open"],
                    unit["warnings_overdue"],
                ]
            )
    items = book.create_sheet(_("未销号整改"))
    items.append([_("单位"), _("问题"), _("下达日期"), _("整改时限"), _("已用天数"), _("是否超期")])
    for item in content["open_rectifications"]:
        items.append(
            [
                neutralise(item["division"]),
                neutralise(item["issue"]),
                item["opened_on"],
                item["due_on"],
                item["age_days"],
                _("超期") if item["overdue"] else "",
            ]
        )
    out = io.BytesIO()
    book.save(out)
    name = f"月通报_{content['division']['name']}_{content['month']}.xlsx"
    return xlsx_response(out.getvalue(), name)


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def evidence(request: HttpRequest, evidence_id: int) -> HttpResponse:
    """A facility check's or rectification's photo: always downloaded, never rendered inline."""
    found = services.evidence_download(actor=actor(request), evidence_id=evidence_id)
    response = HttpResponse(bytes(found.content), content_type=found.content_type)
    response["Content-Disposition"] = content_disposition_header(True, found.file_name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Forms for the writes: an office's resources, training, purchased services, supervision ----------
# Each form posts to its own address; the target (office, contract, event, rectification…) is looked
# up in the actor's scope first, so another jurisdiction's record answers 404 before any input is read.
# Bad input re-renders the page with the error in Chinese and status 422; nothing is written.

SHOWN_ERRORS = (InvalidInput, Conflict, PermissionDenied)
DATE = forms.DateInput(attrs={"type": "date"})
YEAR_HELP = gettext_lazy("四位年度，如 2026")


def _date(label: Any, *, required: bool = True) -> forms.DateField:
    return forms.DateField(label=label, widget=DATE, required=required)


def _attempt(form: forms.Form, call: Callable[[dict[str, Any]], Any]) -> bool:
    """Run the service with the form's cleaned data; a refusal lands on the form."""
    if not form.is_valid():
        return False
    try:
        call(form.cleaned_data)
    except SHOWN_ERRORS as exc:
        apply_domain_error(form, exc)
        return False
    return True


def _divisions(who: Staff, levels: Sequence[int], within: str = "") -> list[tuple[str, str]]:
    prefix = within or jurisdiction_of(who).prefix
    if not prefix.startswith(jurisdiction_of(who).prefix):
        prefix = jurisdiction_of(who).prefix
    found = Division.objects.filter(code__startswith=prefix, level__in=levels, is_active=True).order_by(
        "code"
    )
    return [(d.code, f"{d.name}（{d.code}）") for d in found[:2000]]


class PopulationForm(BootstrapForm):
    year = forms.IntegerField(label=gettext_lazy("年度"), required=False, help_text=YEAR_HELP)
    resident_population = forms.IntegerField(label=gettext_lazy("常住人口"), min_value=0)
    households = forms.IntegerField(label=gettext_lazy("户数"), min_value=0, required=False)
    source = forms.CharField(label=gettext_lazy("数据来源"), max_length=120)


class WorkerForm(BootstrapForm):
    full_name = forms.CharField(label=gettext_lazy("姓名"), max_length=60)
    phone = forms.CharField(label=gettext_lazy("电话"), max_length=20, required=False)
    staff_id = forms.TypedChoiceField(
        label=gettext_lazy("系统账号"), coerce=int, required=False, empty_value=None
    )

    def __init__(self, *args: Any, accounts: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["staff_id"].choices = [("", gettext_lazy("无账号")), *accounts]  # type: ignore[attr-defined]


class AssignmentForm(BootstrapForm):
    worker_id = forms.TypedChoiceField(label=gettext_lazy("人员"), coerce=int)
    post = forms.ChoiceField(label=gettext_lazy("岗位"), choices=PostKind.choices)
    start_on = _date(gettext_lazy("到岗日期"))
    end_on = _date(gettext_lazy("离岗日期"), required=False)
    monthly_allowance = forms.DecimalField(
        label=gettext_lazy("月津贴（元）"), required=False, min_value=0, decimal_places=2
    )

    def __init__(self, *args: Any, workers: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["worker_id"].choices = list(workers)  # type: ignore[attr-defined]


class QualificationForm(BootstrapForm):
    worker_id = forms.TypedChoiceField(label=gettext_lazy("人员"), coerce=int)
    kind = forms.ChoiceField(label=gettext_lazy("资格"), choices=QualificationKind.choices)
    certificate_number = forms.CharField(label=gettext_lazy("证书编号"), max_length=40)
    obtained_on = _date(gettext_lazy("取得日期"))
    fee_reimbursed = forms.DecimalField(
        label=gettext_lazy("报销考试费用（元）"), required=False, min_value=0, decimal_places=2
    )

    def __init__(self, *args: Any, workers: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["worker_id"].choices = list(workers)  # type: ignore[attr-defined]


class FundingForm(BootstrapForm):
    year = forms.IntegerField(label=gettext_lazy("年度"), help_text=YEAR_HELP)
    budgeted = forms.DecimalField(label=gettext_lazy("预算（元）"), min_value=0, decimal_places=2)
    separately_listed = forms.BooleanField(label=gettext_lazy("单独列支"), required=False)
    disbursed = forms.DecimalField(
        label=gettext_lazy("已拨付（元）"), min_value=0, decimal_places=2, required=False
    )
    source = forms.CharField(label=gettext_lazy("资金来源/预算文件"), max_length=120)


class FacilityCheckForm(BootstrapForm):
    checked_on = _date(gettext_lazy("检查日期"))
    office_area_m2 = forms.DecimalField(
        label=gettext_lazy("办公用房面积（平方米）"), min_value=0, decimal_places=1
    )
    window_has_sign = forms.BooleanField(label=gettext_lazy("服务窗口悬挂标志牌和民政徽标"), required=False)
    note = forms.CharField(label=gettext_lazy("说明"), max_length=300, required=False)
    photo = forms.FileField(
        label=gettext_lazy("现场照片"),
        required=False,
        help_text=gettext_lazy("JPG、PNG 或 PDF，不超过10MB"),
        widget=forms.ClearableFileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf"}),
    )

    def __init__(self, *args: Any, items: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for code, label in items:
            self.fields[f"item_{code}"] = forms.IntegerField(
                label=label, min_value=0, max_value=999, required=False, initial=0
            )
        self.style_fields()

    def item_quantities(self) -> dict[str, int]:
        return {
            name.removeprefix("item_"): value or 0
            for name, value in self.cleaned_data.items()
            if name.startswith("item_")
        }


def _upload(file: Any) -> list[services.Upload]:
    if not file:
        return []
    return [
        services.Upload(
            (file.name or "").replace("\x00", "") or "upload",
            file.content_type or "",
            file.read(DOCUMENT_MAX_BYTES + 1),
        )
    ]


def _office_forms(who: Staff, found: selectors.Office, data: Any = None, files: Any = None) -> dict[str, Any]:
    code = found.division.code
    people = [(w.pk, f"{w.full_name}（{w.division_id}）") for w in found.workers]
    linked = set(Worker.objects.filter(staff__isnull=False).values_list("staff_id", flat=True))
    accounts = [
        (s.pk, f"{s.full_name or s.username}（{s.username}）")
        for s in Staff.objects.filter(office__division_id=code, is_active=True).order_by("username")
        if s.pk not in linked
    ]
    level = found.division.level
    return {
        "population_form": PopulationForm(data, prefix="pop", initial={"year": timezone.localdate().year})
        if level >= DivisionLevel.TOWNSHIP
        else None,
        "worker_form": WorkerForm(data, prefix="worker", accounts=accounts),
        "assignment_form": AssignmentForm(data, prefix="post", workers=people),
        "qualification_form": QualificationForm(data, prefix="qual", workers=people),
        "funding_form": FundingForm(data, prefix="fund", initial={"year": timezone.localdate().year})
        if level == DivisionLevel.TOWNSHIP
        else None,
        "check_form": FacilityCheckForm(data, files, prefix="check", items=found.facility_items)
        if level >= DivisionLevel.TOWNSHIP
        else None,
    }


def _office_page(
    request: HttpRequest, found: selectors.Office, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    who = actor(request)
    context: dict[str, Any] = {"office": found, "division": found.division}
    if who.can(Perm.OVERSIGHT_RECORD):
        context.update(_office_forms(who, found))
        context.update(bound or {})
    return render(request, "web/oversight/office.html", context, status=status)


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def office(request: HttpRequest, code: str) -> HttpResponse:
    return _office_page(request, selectors.office(actor=actor(request), code=code))


def _office_write(
    request: HttpRequest,
    code: str,
    key: str,
    call: Callable[[Staff, selectors.Office, Any], bool],
    done: str,
) -> HttpResponse:
    who = actor(request)
    found = selectors.office(actor=who, code=code)  # another jurisdiction: 404 before reading input
    form = _office_forms(who, found, request.POST, request.FILES)[key]
    if form is None:
        raise Http404
    if call(who, found, form):
        flash_done(request, done)
        return redirect("web:oversight_office", code=code)
    return _office_page(request, found, {key: form}, status=422)


@staff_view(Perm.OVERSIGHT_RECORD)
@require_POST
def population_record(request: HttpRequest, code: str) -> HttpResponse:
    def call(who: Staff, found: selectors.Office, form: PopulationForm) -> bool:
        return _attempt(
            form,
            lambda d: services.population_record(
                actor=who,
                division_code=code,
                year=d["year"],
                resident_population=d["resident_population"],
                households=d["households"],
                source=d["source"],
            ),
        )

    return _office_write(request, code, "population_form", call, _("人口数据已登记"))


@staff_view(Perm.OVERSIGHT_RECORD)
@require_POST
def worker_create(request: HttpRequest, code: str) -> HttpResponse:
    def call(who: Staff, found: selectors.Office, form: WorkerForm) -> bool:
        return _attempt(
            form,
            lambda d: services.worker_create(
                actor=who,
                division_code=code,
                full_name=d["full_name"],
                staff_id=d["staff_id"],
                phone=d["phone"],
            ),
        )

    return _office_write(request, code, "worker_form", call, _("工作人员已登记"))


@staff_view(Perm.OVERSIGHT_RECORD)
@require_POST
def assignment_create(request: HttpRequest, code: str) -> HttpResponse:
    def call(who: Staff, found: selectors.Office, form: AssignmentForm) -> bool:
        return _attempt(
            form,
            lambda d: services.assignment_create(
                actor=who,
                worker_id=d["worker_id"],
                division_code=code,
                post=d["post"],
                start_on=d["start_on"],
                end_on=d["end_on"],
                monthly_allowance=d["monthly_allowance"],
            ),
        )

    return _office_write(request, code, "assignment_form", call, _("到岗已登记"))


@staff_view(Perm.OVERSIGHT_RECORD)
@require_POST
def qualification_record(request: HttpRequest, code: str) -> HttpResponse:
    def call(who: Staff, found: selectors.Office, form: QualificationForm) -> bool:
        return _attempt(
            form,
            lambda d: services.qualification_record(
                actor=who,
                worker_id=d["worker_id"],
                kind=d["kind"],
                certificate_number=d["certificate_number"],
                obtained_on=d["obtained_on"],
                fee_reimbursed=d["fee_reimbursed"],
            ),
        )

    return _office_write(request, code, "qualification_form", call, _("资格已登记"))


@staff_view(Perm.OVERSIGHT_RECORD)
@require_POST
def funding_record(request: HttpRequest, code: str) -> HttpResponse:
    def call(who: Staff, found: selectors.Office, form: FundingForm) -> bool:
        return _attempt(
            form,
            lambda d: services.funding_record(
                actor=who,
                division_code=code,
                year=d["year"],
                budgeted=d["budgeted"],
                separately_listed=d["separately_listed"],
                disbursed=d["disbursed"] if d["disbursed"] is not None else "0",
                source=d["source"],
            ),
        )

    return _office_write(request, code, "funding_form", call, _("经费已登记"))


@staff_view(Perm.OVERSIGHT_RECORD)
@require_POST
def facility_check_record(request: HttpRequest, code: str) -> HttpResponse:
    def call(who: Staff, found: selectors.Office, form: FacilityCheckForm) -> bool:
        if (
            form.is_valid()
            and form.cleaned_data["photo"]
            and form.cleaned_data["photo"].size > DOCUMENT_MAX_BYTES
        ):
            form.add_error("photo", _("文件不能超过10MB"))
        return _attempt(
            form,
            lambda d: services.facility_check_record(
                actor=who,
                division_code=code,
                checked_on=d["checked_on"],
                office_area_m2=d["office_area_m2"],
                window_has_sign=d["window_has_sign"],
                items=form.item_quantities(),
                evidence=_upload(d["photo"]),
                note=d["note"],
            ),
        )

    return _office_write(request, code, "check_form", call, _("设施检查已登记"))


class AssignmentEndForm(BootstrapForm):
    end_on = _date(gettext_lazy("离岗日期"))
    reason = forms.CharField(label=gettext_lazy("离岗原因"), max_length=200)


@staff_view(Perm.OVERSIGHT_RECORD)
@require_POST
def assignment_end(request: HttpRequest, assignment_id: int) -> HttpResponse:
    """A person leaves a post (离岗): the post stops counting towards the norms from the day after."""
    who = actor(request)
    post = selectors.assignment_get(actor=who, assignment_id=assignment_id)  # out of scope: 404
    found = selectors.office(actor=who, code=post.division_id)
    form = AssignmentEndForm(request.POST, prefix=f"end{post.pk}")
    ok = _attempt(
        form,
        lambda d: services.assignment_end(
            actor=who, assignment_id=post.pk, end_on=d["end_on"], reason=d["reason"]
        ),
    )
    if ok:
        flash_done(request, _("离岗已登记"))
        return redirect("web:oversight_office", code=post.division_id)
    errors = "；".join(str(e) for errs in form.errors.values() for e in errs)
    return _office_page(request, found, {"end_error": f"{post.worker.full_name}：{errors}"}, status=422)


# --- Training ----------------------------------------------------------------------------------------


class TrainingPlanForm(BootstrapForm):
    form = forms.CharField(widget=forms.HiddenInput, initial="plan")
    division_code = forms.ChoiceField(label=gettext_lazy("制定单位"))
    year = forms.IntegerField(label=gettext_lazy("年度"))
    title = forms.CharField(label=gettext_lazy("计划名称"), max_length=120)
    planned_events = forms.IntegerField(label=gettext_lazy("计划期数"), min_value=1, max_value=100)

    def __init__(self, *args: Any, units: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division_code"].choices = list(units)  # type: ignore[attr-defined]


class TrainingEventForm(BootstrapForm):
    form = forms.CharField(widget=forms.HiddenInput, initial="event")
    organiser_code = forms.ChoiceField(label=gettext_lazy("举办单位"))
    kind = forms.ChoiceField(label=gettext_lazy("类别"), choices=TrainingKind.choices)
    title = forms.CharField(label=gettext_lazy("名称"), max_length=120)
    start_on = _date(gettext_lazy("开始日期"))
    end_on = _date(gettext_lazy("结束日期"))
    days = forms.DecimalField(label=gettext_lazy("天数"), min_value=0, decimal_places=1)
    location = forms.CharField(label=gettext_lazy("地点"), max_length=120, required=False)
    plan_id = forms.TypedChoiceField(
        label=gettext_lazy("所属计划"), coerce=int, required=False, empty_value=None
    )

    def __init__(
        self,
        *args: Any,
        units: Sequence[tuple[str, str]] = (),
        plans: Sequence[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["organiser_code"].choices = list(units)  # type: ignore[attr-defined]
        self.fields["plan_id"].choices = [("", "—"), *plans]  # type: ignore[attr-defined]


def _year(request: HttpRequest) -> int:
    raw = request.GET.get("year", "")
    return int(raw) if raw.isdigit() and 2000 <= int(raw) <= 2100 else timezone.localdate().year


def _training_forms(who: Staff, year: int, data: Any = None) -> dict[str, Any]:
    if not who.can(Perm.OVERSIGHT_RECORD):
        return {}
    units = _divisions(who, [DivisionLevel.CITY, DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP])
    plans = [(p.pk, f"{p.year} {p.title}") for p in selectors.training_plans(actor=who)[:200]]
    return {
        "plan_form": TrainingPlanForm(data, prefix="plan", units=units, initial={"year": year}),
        "event_form": TrainingEventForm(data, prefix="event", units=units, plans=plans),
    }


def _training_page(
    request: HttpRequest, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    who = actor(request)
    year = _year(request)
    context: dict[str, Any] = {
        "year": year,
        "years": list(range(timezone.localdate().year, timezone.localdate().year - 5, -1)),
        "plans": selectors.training_plans(actor=who, year=year),
        "events": selectors.training_events(actor=who, year=year).order_by("-start_on", "pk"),
        "people": selectors.training_days_per_person(actor=who, year=year),
        **_training_forms(who, year),
        **(bound or {}),
    }
    return render(request, "web/oversight/training.html", context, status=status)


@staff_view(Perm.OVERSIGHT_VIEW)
@require_http_methods(["GET", "HEAD", "POST"])
def training(request: HttpRequest) -> HttpResponse:
    """Plans, events and each person's days against the norm; the plan and event forms post here."""
    if request.method != "POST":
        return _training_page(request)
    who = actor(request)
    if not who.can(Perm.OVERSIGHT_RECORD):
        return forbidden(request)
    forms_ = _training_forms(who, _year(request), request.POST)
    if request.POST.get("plan-form") == "plan":
        form = forms_["plan_form"]
        ok = _attempt(
            form,
            lambda d: services.training_plan_create(
                actor=who,
                division_code=d["division_code"],
                year=d["year"],
                title=d["title"],
                planned_events=d["planned_events"],
            ),
        )
        key, done = "plan_form", _("培训计划已登记")
    else:
        form = forms_["event_form"]
        ok = _attempt(
            form,
            lambda d: services.training_event_create(
                actor=who,
                organiser_code=d["organiser_code"],
                kind=d["kind"],
                title=d["title"],
                start_on=d["start_on"],
                end_on=d["end_on"],
                days=d["days"],
                location=d["location"],
                plan_id=d["plan_id"],
            ),
        )
        key, done = "event_form", _("培训已登记")
    if ok:
        flash_done(request, done)
        return redirect("web:oversight_training")
    return _training_page(request, {key: form}, status=422)


class AttendanceForm(BootstrapForm):
    worker_id = forms.TypedChoiceField(label=gettext_lazy("人员"), coerce=int)
    days_attended = forms.DecimalField(label=gettext_lazy("参训天数"), min_value=0, decimal_places=1)
    passed = forms.BooleanField(label=gettext_lazy("考核合格"), required=False, initial=True)
    certificate_number = forms.CharField(label=gettext_lazy("结业证书编号"), max_length=40, required=False)

    def __init__(self, *args: Any, workers: Sequence[tuple[int, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["worker_id"].choices = list(workers)  # type: ignore[attr-defined]


def _event_page(
    request: HttpRequest, event: TrainingEvent, form: AttendanceForm | None = None, status: int = 200
) -> HttpResponse:
    who = actor(request)
    if form is None and who.can(Perm.OVERSIGHT_RECORD):
        people = selectors.workers(actor=who).filter(division__code__startswith=event.organiser.prefix)
        form = AttendanceForm(
            workers=[(w.pk, f"{w.full_name}（{w.division.name}）") for w in people[:2000]],
            initial={"days_attended": event.days},
        )
    return render(
        request,
        "web/oversight/training_event.html",
        {"event": event, "attendance": selectors.attendance_in_scope(actor=who, event=event), "form": form},
        status=status,
    )


@staff_view(Perm.OVERSIGHT_VIEW)
@require_safe
def training_event(request: HttpRequest, event_id: int) -> HttpResponse:
    return _event_page(request, selectors.training_event(actor=actor(request), event_id=event_id))


@staff_view(Perm.OVERSIGHT_RECORD)
@require_POST
def attendance_record(request: HttpRequest, event_id: int) -> HttpResponse:
    who = actor(request)
    event = selectors.training_event(actor=who, event_id=event_id)
    people = selectors.workers(actor=who).filter(division__code__startswith=event.organiser.prefix)
    form = AttendanceForm(
        request.POST, workers=[(w.pk, f"{w.full_name}（{w.division.name}）") for w in people[:2000]]
    )
    ok = _attempt(
        form,
        lambda d: services.attendance_record(
            actor=who,
            event_id=event.pk,
            worker_id=d["worker_id"],
            days_attended=d["days_attended"],
            passed=d["passed"],
            certificate_number=d["certificate_number"],
        ),
    )
    if ok:
        flash_done(request, _("参训已登记"))
        return redirect("web:oversight_training_event", event_id=event.pk)
    return _event_page(request, event, form, status=422)


# --- Purchased services ------------------------------------------------------------------------------


class ProviderForm(BootstrapForm):
    form = forms.CharField(widget=forms.HiddenInput, initial="provider")
    county_code = forms.ChoiceField(label=gettext_lazy("登记县（区）"))
    name = forms.CharField(label=gettext_lazy("名称"), max_length=120)
    uscc = forms.CharField(label=gettext_lazy("统一社会信用代码"), max_length=18)
    kind = forms.ChoiceField(label=gettext_lazy("类别"), choices=ProviderKind.choices)

    def __init__(self, *args: Any, counties: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["county_code"].choices = list(counties)  # type: ignore[attr-defined]


class ContractForm(BootstrapForm):
    form = forms.CharField(widget=forms.HiddenInput, initial="contract")
    county_code = forms.ChoiceField(label=gettext_lazy("购买主体（县区）"))
    provider_id = forms.TypedChoiceField(label=gettext_lazy("承接主体"), coerce=int)
    number = forms.CharField(label=gettext_lazy("合同编号"), max_length=40)
    title = forms.CharField(label=gettext_lazy("名称"), max_length=120)
    mode = forms.ChoiceField(label=gettext_lazy("购买方式"), choices=ContractMode.choices)
    category = forms.ChoiceField(label=gettext_lazy("服务类别"), choices=ServiceCategory.choices)
    items = forms.CharField(
        label=gettext_lazy("服务内容"), max_length=2000, help_text=gettext_lazy("每项以顿号或逗号分隔")
    )
    posts_count = forms.IntegerField(label=gettext_lazy("岗位数"), min_value=0, max_value=999, required=False)
    amount = forms.DecimalField(label=gettext_lazy("合同金额（元）"), min_value=0, decimal_places=2)
    funding_source = forms.ChoiceField(label=gettext_lazy("资金来源"), choices=FundingSource.choices)
    assistance_fund_total = forms.DecimalField(
        label=gettext_lazy("当年困难群众救助资金总额（元）"), required=False, min_value=0, decimal_places=2
    )
    start_on = _date(gettext_lazy("开始日期"))
    end_on = _date(gettext_lazy("结束日期"))

    def __init__(
        self,
        *args: Any,
        counties: Sequence[tuple[str, str]] = (),
        providers: Sequence[tuple[int, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["county_code"].choices = list(counties)  # type: ignore[attr-defined]
        self.fields["provider_id"].choices = list(providers)  # type: ignore[attr-defined]


def _purchase_forms(who: Staff, data: Any = None) -> dict[str, Any]:
    if not who.can(Perm.OVERSIGHT_PURCHASE):
        return {}
    counties = _divisions(who, [DivisionLevel.COUNTY])
    providers = [(p.pk, f"{p.name}（{p.uscc}）") for p in selectors.providers(actor=who)[:500]]
    return {
        "provider_form": ProviderForm(data, prefix="provider", counties=counties),
        "contract_form": ContractForm(data, prefix="contract", counties=counties, providers=providers),
    }


def _purchases_page(
    request: HttpRequest, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    who = actor(request)
    context = {
        "providers": selectors.providers(actor=who)[:500],
        "contracts": selectors.contracts(actor=who)[:500],
        **_purchase_forms(who),
        **(bound or {}),
    }
    return render(request, "web/oversight/purchases.html", context, status=status)


@staff_view(Perm.OVERSIGHT_VIEW)
@require_http_methods(["GET", "HEAD", "POST"])
def purchases(request: HttpRequest) -> HttpResponse:
    """Providers and contracts; the provider and contract forms post here."""
    if request.method != "POST":
        return _purchases_page(request)
    who = actor(request)
    if not who.can(Perm.OVERSIGHT_PURCHASE):
        return forbidden(request)
    forms_ = _purchase_forms(who, request.POST)
    if request.POST.get("provider-form") == "provider":
        form = forms_["provider_form"]
        ok = _attempt(
            form,
            lambda d: services.provider_register(
                actor=who, county_code=d["county_code"], name=d["name"], uscc=d["uscc"], kind=d["kind"]
            ),
        )
        key, done = "provider_form", _("承接主体已登记")
    else:
        form = forms_["contract_form"]
        ok = _attempt(
            form,
            lambda d: services.contract_create(
                actor=who,
                county_code=d["county_code"],
                provider_id=d["provider_id"],
                number=d["number"],
                title=d["title"],
                mode=d["mode"],
                category=d["category"],
                items=[i for i in re.split(r"[、,，;；\n]", d["items"]) if i.strip()],
                amount=d["amount"],
                funding_source=d["funding_source"],
                start_on=d["start_on"],
                end_on=d["end_on"],
                posts_count=d["posts_count"] or 0,
                assistance_fund_total=d["assistance_fund_total"],
            ),
        )
        key, done = "contract_form", _("购买服务合同已登记")
    if ok:
        flash_done(request, done)
        return redirect("web:oversight_purchases")
    return _purchases_page(request, {key: form}, status=422)


class ContractPostForm(BootstrapForm):
    worker_id = forms.TypedChoiceField(label=gettext_lazy("人员"), coerce=int)
    division_code = forms.ChoiceField(label=gettext_lazy("服务单位"))
    start_on = _date(gettext_lazy("到岗日期"))

    def __init__(
        self,
        *args: Any,
        workers: Sequence[tuple[int, str]] = (),
        units: Sequence[tuple[str, str]] = (),
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["worker_id"].choices = list(workers)  # type: ignore[attr-defined]
        self.fields["division_code"].choices = list(units)  # type: ignore[attr-defined]


class DeliveryForm(BootstrapForm):
    division_code = forms.ChoiceField(label=gettext_lazy("服务地点"))
    delivered_on = _date(gettext_lazy("服务日期"))
    service_type = forms.CharField(label=gettext_lazy("服务项目"), max_length=40)
    recipient_name = forms.CharField(label=gettext_lazy("服务对象"), max_length=60)
    hours = forms.DecimalField(label=gettext_lazy("时长（小时）"), min_value=0, decimal_places=1)
    recipient_confirmed = forms.BooleanField(label=gettext_lazy("服务对象签字确认"), required=False)

    def __init__(self, *args: Any, units: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division_code"].choices = list(units)  # type: ignore[attr-defined]


class EvaluationForm(BootstrapForm):
    stage = forms.ChoiceField(label=gettext_lazy("考核阶段"), choices=EvaluationStage.choices)
    evaluator = forms.ChoiceField(label=gettext_lazy("评价方"), choices=Evaluator.choices)
    evaluated_on = _date(gettext_lazy("评价日期"))
    score = forms.CharField(label=gettext_lazy("得分（0-100）"), max_length=8)
    outcome = forms.ChoiceField(label=gettext_lazy("结论"), choices=EvaluationOutcome.choices)
    barred_until = _date(gettext_lazy("禁止参与至"), required=False)
    note = forms.CharField(label=gettext_lazy("评价意见"), max_length=300, required=False)


def _contract_forms(who: Staff, found: ServiceContract, data: Any = None) -> dict[str, Any]:
    units = _divisions(who, [DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE], within=found.county.prefix)
    out: dict[str, Any] = {}
    if who.can(Perm.OVERSIGHT_RECORD):
        people = selectors.workers(actor=who).filter(division__code__startswith=found.county.prefix)
        if found.mode == ContractMode.POSTS:
            out["post_form"] = ContractPostForm(
                data,
                prefix="post",
                workers=[(w.pk, f"{w.full_name}（{w.division.name}）") for w in people[:2000]],
                units=units,
            )
        out["delivery_form"] = DeliveryForm(data, prefix="delivery", units=units)
    if who.can(Perm.OVERSIGHT_PURCHASE):
        out["evaluation_form"] = EvaluationForm(data, prefix="evaluation")
    return out


def _contract_page(
    request: HttpRequest, found: ServiceContract, bound: dict[str, Any] | None = None, status: int = 200
) -> HttpResponse:
    who = actor(request)
    prefix = jurisdiction_of(who).prefix
    return render(
        request,
        "web/oversight/contract.html",
        {
            "contract": found,
            "summary": selectors.contract_summary(actor=who, contract=found),
            "evaluations": found.evaluations.all(),
            "posts": found.posts.filter(division__code__startswith=prefix).select_related(
                "worker", "division"
            ),
            "deliveries": found.deliveries.filter(division__code__startswith=prefix).select_related(
                "division"
            )[:200],
            **_contract_forms(who, found),
            **(bound or {}),
        },
        status=status,
    )


def _contract_write(
    request: HttpRequest, contract_id: int, key: str, call: Callable[..., Any], done: str
) -> HttpResponse:
    who = actor(request)
    found = selectors.contract_get(actor=who, contract_id=contract_id)  # another county's: 404
    form = _contract_forms(who, found, request.POST).get(key)
    if form is None:
        return forbidden(request)
    if _attempt(form, lambda d: call(who, found, d)):
        flash_done(request, done)
        return redirect("web:oversight_contract", contract_id=found.pk)
    return _contract_page(
        request, selectors.contract_get(actor=who, contract_id=contract_id), {key: form}, 422
    )


@staff_view(Perm.OVERSIGHT_RECORD)
@require_POST
def contract_post(request: HttpRequest, contract_id: int) -> HttpResponse:
    def call(who: Staff, found: ServiceContract, d: dict[str, Any]) -> Any:
        return services.assignment_create(
            actor=who,
            worker_id=d["worker_id"],
            division_code=d["division_code"],
            post=PostKind.PURCHASED_POST,
            start_on=d["start_on"],
            contract_id=found.pk,
        )

    return _contract_write(request, contract_id, "post_form", call, _("岗位到岗已登记"))


@staff_view(Perm.OVERSIGHT_RECORD)
@require_POST
def delivery_record(request: HttpRequest, contract_id: int) -> HttpResponse:
    def call(who: Staff, found: ServiceContract, d: dict[str, Any]) -> Any:
        return services.delivery_record(
            actor=who,
            contract_id=found.pk,
            division_code=d["division_code"],
            delivered_on=d["delivered_on"],
            service_type=d["service_type"],
            recipient_name=d["recipient_name"],
            hours=d["hours"],
            recipient_confirmed=d["recipient_confirmed"],
        )

    return _contract_write(request, contract_id, "delivery_form", call, _("服务记录已登记"))


@staff_view(Perm.OVERSIGHT_PURCHASE)
@require_POST
def evaluation_record(request: HttpRequest, contract_id: int) -> HttpResponse:
    def call(who: Staff, found: ServiceContract, d: dict[str, Any]) -> Any:
        return services.evaluation_record(
            actor=who,
            contract_id=found.pk,
            stage=d["stage"],
            evaluator=d["evaluator"],
            evaluated_on=d["evaluated_on"],
            score=d["score"],
            outcome=d["outcome"],
            barred_until=d["barred_until"],
            note=d["note"],
        )

    return _contract_write(request, contract_id, "evaluation_form", call, _("考核评价已登记"))


# --- Supervision ---------------------------------------------------------------------------------------


class SpotCheckForm(BootstrapForm):
    form = forms.CharField(widget=forms.HiddenInput, initial="spot")
    county_code = forms.ChoiceField(label=gettext_lazy("县（区）"))
    period_start = _date(gettext_lazy("抽查范围起"))
    period_end = _date(gettext_lazy("抽查范围止"))
    sample_size = forms.IntegerField(label=gettext_lazy("抽取件数"), min_value=1, max_value=500)

    def __init__(self, *args: Any, counties: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["county_code"].choices = list(counties)  # type: ignore[attr-defined]


class TaskForm(BootstrapForm):
    form = forms.CharField(widget=forms.HiddenInput, initial="task")
    division_code = forms.ChoiceField(label=gettext_lazy("督导单位"))
    title = forms.CharField(label=gettext_lazy("督导事项"), max_length=200)
    due_on = _date(gettext_lazy("完成时限"))

    def __init__(self, *args: Any, units: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division_code"].choices = list(units)  # type: ignore[attr-defined]


class RectificationForm(BootstrapForm):
    form = forms.CharField(widget=forms.HiddenInput, initial="rectification")
    division_code = forms.ChoiceField(label=gettext_lazy("整改单位"))
    source = forms.ChoiceField(label=gettext_lazy("来源"), choices=RectificationSource.choices)
    issue = forms.CharField(label=gettext_lazy("问题"), max_length=300)
    due_on = _date(gettext_lazy("整改时限"))

    def __init__(self, *args: Any, units: Sequence[tuple[str, str]] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["division_code"].choices = list(units)  # type: ignore[attr-defined]


class FindingForm(BootstrapForm):
    compliant = forms.TypedChoiceField(
        label=gettext_lazy("结论"),
        coerce=lambda v: v == "1",
        choices=[("1", gettext_lazy("符合规定")), ("0", gettext_lazy("不符合规定"))],
    )
    finding = forms.CharField(label=gettext_lazy("发现问题"), max_length=300, required=False)
    rectify_by = _date(gettext_lazy("整改时限"), required=False)


class TaskDoneForm(BootstrapForm):
    result = forms.CharField(label=gettext_lazy("督导结果"), max_length=300)


class SubmitForm(BootstrapForm):
    note = forms.CharField(label=gettext_lazy("整改情况"), max_length=300)
    evidence = forms.FileField(
        label=gettext_lazy("整改凭证"),
        required=False,
        help_text=gettext_lazy("JPG、PNG 或 PDF，不超过10MB"),
        widget=forms.ClearableFileInput(attrs={"accept": ".jpg,.jpeg,.png,.pdf"}),
    )


class VerifyForm(BootstrapForm):
    accepted = forms.TypedChoiceField(
        label=gettext_lazy("验收"),
        coerce=lambda v: v == "1",
        choices=[("1", gettext_lazy("通过，销号")), ("0", gettext_lazy("不通过，退回"))],
    )
    note = forms.CharField(label=gettext_lazy("验收意见"), max_length=120)


def _supervision_forms(who: Staff, data: Any = None) -> dict[str, Any]:
    if not who.can(Perm.OVERSIGHT_SUPERVISE):
        return {}
    return {
        "spot_form": SpotCheckForm(data, prefix="spot", counties=_divisions(who, [DivisionLevel.COUNTY])),
        "task_form": TaskForm(
            data, prefix="task", units=_divisions(who, [DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP])
        ),
        "rectification_form": RectificationForm(
            data,
            prefix="rect",
            units=_divisions(who, [DivisionLevel.COUNTY, DivisionLevel.TOWNSHIP, DivisionLevel.VILLAGE]),
        ),
    }


def _supervision_page(
    request: HttpRequest, bound: dict[str, Any] | None = None, status: int = 200, failed: str = ""
) -> HttpResponse:
    who = actor(request)
    context = {
        "spot_checks": selectors.spot_checks(actor=who)[:20],
        "tasks": selectors.supervision_tasks(actor=who)[:200],
        "rectifications": selectors.rectifications(actor=who)[:200],
        "today": timezone.localdate(),
        "can_supervise": who.can(Perm.OVERSIGHT_SUPERVISE),
        "can_record": who.can(Perm.OVERSIGHT_RECORD),
        "finding_form": FindingForm(),
        "done_form": TaskDoneForm(),
        "submit_form": SubmitForm(),
        "verify_form": VerifyForm(),
        "failed": failed,
        **_supervision_forms(who),
        **(bound or {}),
    }
    return render(request, "web/oversight/supervision.html", context, status=status)


@staff_view(Perm.OVERSIGHT_VIEW)
@require_http_methods(["GET", "HEAD", "POST"])
def supervision(request: HttpRequest) -> HttpResponse:
    """Spot checks, weekly tasks and rectifications; the three forms that start them post here."""
    if request.method != "POST":
        return _supervision_page(request)
    who = actor(request)
    if not who.can(Perm.OVERSIGHT_SUPERVISE):
        return forbidden(request)
    forms_ = _supervision_forms(who, request.POST)
    which = request.POST.get("spot-form") or request.POST.get("task-form") or request.POST.get("rect-form")
    if which == "spot":
        key, done = "spot_form", _("已抽取案件")
        ok = _attempt(
            forms_[key],
            lambda d: services.spot_check_create(
                actor=who,
                county_code=d["county_code"],
                period_start=d["period_start"],
                period_end=d["period_end"],
                sample_size=d["sample_size"],
            ),
        )
    elif which == "task":
        key, done = "task_form", _("督导事项已下达")
        ok = _attempt(
            forms_[key],
            lambda d: services.supervision_task_create(
                actor=who, division_code=d["division_code"], title=d["title"], due_on=d["due_on"]
            ),
        )
    else:
        key, done = "rectification_form", _("整改事项已下达")
        ok = _attempt(
            forms_[key],
            lambda d: services.rectification_open(
                actor=who,
                division_code=d["division_code"],
                source=d["source"],
                issue=d["issue"],
                due_on=d["due_on"],
            ),
        )
    if ok:
        flash_done(request, done)
        return redirect("web:oversight_supervision")
    return _supervision_page(request, {key: forms_[key]}, status=422)


def _row_write(
    request: HttpRequest, form: BootstrapForm, call: Callable[[dict[str, Any]], Any], done: str, failed: str
) -> HttpResponse:
    if _attempt(form, call):
        flash_done(request, done)
        return redirect("web:oversight_supervision")
    errors = [str(e) for errs in form.errors.values() for e in errs]
    return _supervision_page(request, status=422, failed=f"{failed}：{'；'.join(errors)}")


@staff_view(Perm.OVERSIGHT_SUPERVISE)
@require_POST
def sample_finding(request: HttpRequest, sample_id: int) -> HttpResponse:
    who = actor(request)
    sample = selectors.sample_get(actor=who, sample_id=sample_id)  # out of scope: 404
    return _row_write(
        request,
        FindingForm(request.POST, prefix=f"s{sample.pk}"),
        lambda d: services.sample_finding_record(
            actor=who,
            sample_id=sample.pk,
            compliant=d["compliant"],
            finding=d["finding"],
            rectify_by=d["rectify_by"],
        ),
        _("抽查结论已登记"),
        _("抽查案件 %(number)s") % {"number": sample.case.number},
    )


@staff_view(Perm.OVERSIGHT_SUPERVISE)
@require_POST
def task_done(request: HttpRequest, supervision_task_id: int) -> HttpResponse:
    who = actor(request)
    task = selectors.supervision_task_get(actor=who, task_id=supervision_task_id)
    return _row_write(
        request,
        TaskDoneForm(request.POST, prefix=f"t{task.pk}"),
        lambda d: services.supervision_task_complete(actor=who, task_id=task.pk, result=d["result"]),
        _("督导事项已完成"),
        _("督导事项 %(title)s") % {"title": task.title},
    )


@staff_view(Perm.OVERSIGHT_RECORD)
@require_POST
def rectification_submit(request: HttpRequest, rectification_id: int) -> HttpResponse:
    who = actor(request)
    item = selectors.rectification_get(actor=who, rectification_id=rectification_id)
    form = SubmitForm(request.POST, request.FILES, prefix=f"r{item.pk}")
    if (
        form.is_valid()
        and form.cleaned_data["evidence"]
        and form.cleaned_data["evidence"].size > DOCUMENT_MAX_BYTES
    ):
        form.add_error("evidence", _("文件不能超过10MB"))
    return _row_write(
        request,
        form,
        lambda d: services.rectification_submit(
            actor=who, rectification_id=item.pk, note=d["note"], evidence=_upload(d["evidence"])
        ),
        _("整改材料已报送"),
        _("整改事项 %(issue)s") % {"issue": item.issue},
    )


@staff_view(Perm.OVERSIGHT_SUPERVISE)
@require_POST
def rectification_verify(request: HttpRequest, rectification_id: int) -> HttpResponse:
    who = actor(request)
    item = selectors.rectification_get(actor=who, rectification_id=rectification_id)
    return _row_write(
        request,
        VerifyForm(request.POST, prefix=f"v{item.pk}"),
        lambda d: services.rectification_verify(
            actor=who, rectification_id=item.pk, accepted=d["accepted"], note=d["note"]
        ),
        _("验收结果已登记"),
        _("整改事项 %(issue)s") % {"issue": item.issue},
    )
