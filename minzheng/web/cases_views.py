"""Case pages (申请事项): intake at the window or by the village assistant (代办), the case page with
the actions of its workflow, printable notices, worklists, time-limit warnings and statistics, village
notices and the register of staff and cadres whose relatives apply (近亲属备案).

Thin: a form in, one service or selector call, a template out. Domain errors are shown in Chinese on
the page, never as a server error.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from minzheng.cases import documents, selectors, services
from minzheng.cases.models import Case, Channel, MaterialStatus
from minzheng.cases.workflows import WORKFLOW_FOR_ITEM, WORKFLOWS, Transition, state_label
from minzheng.catalogue import selectors as catalogue_selectors
from minzheng.catalogue.models import IntakeMode, MaterialRequirement, ServiceItem
from minzheng.core.errors import Conflict, DomainError, InvalidInput, PermissionDenied
from minzheng.core.identifiers import DivisionLevel
from minzheng.core.permissions import Perm
from minzheng.feedback import selectors as feedback_selectors
from minzheng.org import selectors as org_selectors
from minzheng.org.models import Staff
from minzheng.org.scope import jurisdiction_of
from minzheng.registry import selectors as registry_selectors
from minzheng.rules.models import Calculation
from minzheng.web.base import BootstrapForm, actor, flash_done, paginate, staff_view
from minzheng.workdays.selectors import add_working_days

# Errors an action can meet on a case the actor may see: shown on the page, never a server error.
SHOWN_ERRORS = (InvalidInput, Conflict, PermissionDenied)
CASE_WORK_PERMS = services.CASE_WORK_PERMS  # roles that work on cases (not read-only ones)
UPLOAD_KINDS = ("入户调查记录", "家庭经济状况核对报告", "委托书", "其他材料")
PRINTS = {
    "receipt": gettext_lazy("受理回执"),
    "missing": gettext_lazy("一次性告知书"),
    "refusal": gettext_lazy("不予批准告知书"),
    "decision": gettext_lazy("审批决定书"),
}


# --- Shared helpers -----------------------------------------------------------------------------


def _tone(due: date | None, completed: date | None, today: date, soon: date) -> str:
    """'overdue' (red), 'soon' (amber) or '' for an open step's due date."""
    if completed is not None or due is None:
        return ""
    if due < today:
        return "overdue"
    return "soon" if due <= soon else ""


def _today_and_soon() -> tuple[date, date]:
    today = timezone.localdate()
    return today, add_working_days(today, selectors.WARN_WORKING_DAYS)


@dataclass(frozen=True)
class CaseRow:
    case: Case
    state_label: str
    due: date | None
    tone: str


def _state(workflow: str, state: str) -> str:
    """A workflow state's label in the reader's language (the workflows are written in Chinese)."""
    return _(state_label(workflow, state))


def _event_label(label: str) -> str:
    """A case event's stored label in the reader's language."""
    uploaded = "上传材料："
    if label.startswith(uploaded):
        return _("上传材料：%(kind)s") % {"kind": _(label.removeprefix(uploaded))}
    return _(label)


def _rows(cases: Any) -> list[CaseRow]:
    today, soon = _today_and_soon()
    return [
        CaseRow(c, _state(c.workflow, c.state), c.open_due, _tone(c.open_due, None, today, soon))
        for c in cases
    ]


def _calculation(who: Staff, case: Case) -> Calculation | None:
    """The case's latest stored calculation (the one a decision will rest on)."""
    calc_id = case.details.get("calculation_id")
    if not calc_id:
        return None
    prefix = jurisdiction_of(who).prefix
    return Calculation.objects.filter(pk=calc_id, division_code__startswith=prefix).first()


def _decision(case: Case) -> Any:
    return case.decision if hasattr(case, "decision") else None


def _error_text(exc: DomainError) -> str:
    # The message says it all for a refused move ("action" names the action code); other field
    # errors (e.g. 请填写异议内容) are added when the message does not already contain them.
    details = [
        e for key, errs in exc.field_errors.items() if key != "action" for e in errs if e not in exc.message
    ]
    return "；".join([_(exc.message), *map(_, details)]) if details else _(exc.message)


def _apply(form: forms.Form, exc: DomainError, rename: dict[str, str] | None = None) -> None:
    """A domain error onto the form, service field names renamed to the form's (never shown raw)."""
    rename = rename or {}
    renamed: dict[str, list[str]] = {}
    for key, errs in exc.field_errors.items():
        target = rename.get(key, key)
        if target not in form.fields:
            target = "__all__"
        renamed.setdefault(target, []).extend(errs)
    for key, errs in renamed.items():
        for err in errs:
            form.add_error(None if key == "__all__" else key, err)
    if not renamed or ("__all__" in renamed and exc.message not in renamed["__all__"]):
        form.add_error(None, _(exc.message))


def _material_choices(req: MaterialRequirement) -> list[tuple[str, str]]:
    choices = [
        (MaterialStatus.PROVIDED.value, _("已提交")),
        (MaterialStatus.FETCHED.value, _("部门共享获取")),
    ]
    if req.pledge_allowed:
        choices.append((MaterialStatus.PLEDGED.value, _("告知承诺")))
    choices.append((MaterialStatus.MISSING.value, _("缺少")))
    return choices


def _material_fields(
    form: forms.Form, requirements: list[MaterialRequirement], current: dict[int, str]
) -> None:
    for req in requirements:
        default = MaterialStatus.FETCHED if req.fetchable_by_office else MaterialStatus.MISSING
        form.fields[f"material_{req.pk}"] = forms.ChoiceField(
            label=req.name,
            choices=_material_choices(req),
            initial=current.get(req.pk, default),
            help_text=req.note,
        )


def _material_values(form: forms.Form, requirements: list[MaterialRequirement]) -> dict[int, str]:
    return {req.pk: form.cleaned_data[f"material_{req.pk}"] for req in requirements}


def _material_renames(requirements: list[MaterialRequirement]) -> dict[str, str]:
    return {f"materials.{req.pk}": f"material_{req.pk}" for req in requirements}


# --- Intake (受理申请) -----------------------------------------------------------------------------


class IntakeForm(BootstrapForm):
    applicant = forms.ChoiceField(label=gettext_lazy("申请人"))
    channel = forms.ChoiceField(
        label=gettext_lazy("受理方式"),
        choices=[
            (Channel.WINDOW.value, gettext_lazy("窗口受理（本人到窗口申请）")),
            (Channel.PROXY.value, gettext_lazy("村（居）代办或委托他人代办")),
        ],
    )
    proxy_name = forms.CharField(label=gettext_lazy("代办人"), max_length=60, required=False)
    proxy_relation = forms.CharField(
        label=gettext_lazy("代办人身份/与申请人关系"),
        max_length=60,
        required=False,
        help_text=gettext_lazy("如：村民政协理员、子女、亲属"),
    )
    mandate = forms.CharField(
        label=gettext_lazy("委托书/授权说明"),
        max_length=300,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=gettext_lazy("代办时必填：委托书签署日期及内容，或申请人授权情况"),
    )
    phone = forms.CharField(
        label=gettext_lazy("联系电话"),
        max_length=20,
        required=False,
        help_text=gettext_lazy("不填则使用家庭档案中的电话"),
    )

    def __init__(
        self,
        *args: Any,
        item: ServiceItem,
        members: list[tuple[str, str]],
        requirements: list[MaterialRequirement],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.item = item
        self.requirements = requirements
        self.fields["applicant"].choices = members  # type: ignore[attr-defined]
        _material_fields(self, requirements, {})
        programme = _programme(item)
        if programme == "temporary_assistance":
            self.fields["temp_cause"] = forms.CharField(
                label=gettext_lazy("救助事由"),
                max_length=200,
                help_text=gettext_lazy("如：突发重病、火灾、交通事故、大额医疗或教育支出"),
            )
            if item.code == "temporary_emergency":
                self.fields["temp_requested_amount"] = forms.DecimalField(
                    label=gettext_lazy("申请救助金额（元）"), min_value=0, max_digits=14, decimal_places=2
                )
            else:
                self.fields["temp_expenses"] = forms.DecimalField(
                    label=gettext_lazy("自付费用合计（元）"),
                    min_value=0,
                    max_digits=14,
                    decimal_places=2,
                    help_text=gettext_lazy("医疗、教育等必需支出中个人负担部分"),
                )
            self.fields["temp_months_since"] = forms.IntegerField(
                label=gettext_lazy("距上次同一事由救助的月数"),
                min_value=0,
                required=False,
                help_text=gettext_lazy("未曾因同一事由获得救助的不填"),
            )
        if programme == "medical_assistance":
            self.fields["med_member"] = forms.ChoiceField(label=gettext_lazy("就医成员"), choices=members)
            self.fields["med_eligible_costs"] = forms.DecimalField(
                label=gettext_lazy("政策范围内个人自付费用（元）"),
                min_value=0,
                max_digits=14,
                decimal_places=2,
            )
            self.fields["med_assisted_this_year"] = forms.DecimalField(
                label=gettext_lazy("本年度已获医疗救助（元）"),
                min_value=0,
                max_digits=14,
                decimal_places=2,
                required=False,
                initial=0,
            )
        self.style_fields()

    def material_fields(self) -> list[forms.BoundField]:
        return [self[f"material_{req.pk}"] for req in self.requirements]

    def detail_fields(self) -> list[forms.BoundField]:
        return [self[name] for name in self.fields if name.startswith(("temp_", "med_"))]

    def details(self) -> dict[str, Any]:
        data = self.cleaned_data
        if "temp_cause" in self.fields:
            temporary: dict[str, Any] = {
                "type": "emergency" if self.item.code == "temporary_emergency" else "expense",
                "cause": data["temp_cause"],
            }
            if "temp_requested_amount" in data:
                temporary["requested_amount"] = _yuan(data["temp_requested_amount"])
            if "temp_expenses" in data:
                temporary["expenses"] = _yuan(data["temp_expenses"])
            if data.get("temp_months_since") is not None:
                temporary["months_since_same_cause"] = data["temp_months_since"]
            return {"temporary": temporary}
        if "med_member" in self.fields:
            return {
                "medical": {
                    "member": data["med_member"],
                    "eligible_costs": _yuan(data["med_eligible_costs"]),
                    "assisted_this_year": _yuan(data["med_assisted_this_year"] or Decimal(0)),
                }
            }
        return {}


def _yuan(value: Decimal) -> str:
    """An amount the form validated to two decimal places, as the calculation input expects it."""
    return f"{value:.2f}"


def _programme(item: ServiceItem) -> str:
    if item.intake_mode == IntakeMode.TRANSFER or item.code not in WORKFLOW_FOR_ITEM:
        return ""
    return WORKFLOW_FOR_ITEM[item.code].programme


def _household_param(request: HttpRequest) -> int | None:
    raw = request.GET.get("household", "")
    if not raw:
        return None
    if not raw.isdigit():
        raise Http404(_("家庭不存在"))
    return int(raw)


@staff_view(Perm.CASE_INTAKE)
@require_http_methods(["GET", "POST"])
def case_intake(request: HttpRequest) -> HttpResponse:
    """Choose the household (or come from its page), the item, then fill in the application."""
    who = actor(request)
    household_id = _household_param(request)
    if household_id is None:
        q = request.GET.get("q", "").strip()
        found = list(registry_selectors.household_list(actor=who, search=q)[:20]) if q else []
        return render(request, "web/cases/intake_choose.html", {"q": q, "households": found})
    household = registry_selectors.household_get(actor=who, pk=household_id)
    items = list(catalogue_selectors.item_list())
    item = next((i for i in items if i.code == request.GET.get("item", "")), None)
    context: dict[str, Any] = {"household": household, "items": items, "item": item}
    if not household.is_active:
        messages.error(request, _("该家庭已注销，不能受理新的申请"))
        return render(request, "web/cases/intake_form.html", context)
    if item is None:
        return render(request, "web/cases/intake_form.html", context)
    item = catalogue_selectors.item_get(code=item.code)
    requirements = catalogue_selectors.item_materials(item=item)
    memberships = list(household.current_memberships)  # type: ignore[attr-defined]
    members = [(str(m.person.pk), f"{m.person.name}（{m.get_relationship_display()}）") for m in memberships]
    village_office = len(jurisdiction_of(who).prefix) > 9
    form = IntakeForm(
        request.POST if request.method == "POST" else None,
        item=item,
        members=members,
        requirements=requirements,
        initial={
            "channel": Channel.PROXY if village_office else Channel.WINDOW,
            "proxy_name": who.full_name if village_office else "",
            "proxy_relation": _("村（社区）民政协理员") if village_office else "",
            "applicant": str(household.head_id or ""),
        },
    )
    if request.method == "POST" and form.is_valid():
        people = {str(m.person.pk): m.person for m in memberships}
        data = form.cleaned_data
        try:
            case = services.case_intake(
                actor=who,
                item_code=item.code,
                household=household,
                applicant=people[data["applicant"]],
                channel=data["channel"],
                proxy_name=data["proxy_name"],
                proxy_relation=data["proxy_relation"],
                mandate=data["mandate"],
                phone=data["phone"],
                details=form.details(),
                materials=_material_values(form, requirements),
            )
        except SHOWN_ERRORS as exc:
            _apply(form, exc, _material_renames(requirements))
        else:
            if case.state == "incomplete":
                messages.warning(
                    request,
                    _("已登记申请 %(number)s：材料不全，请打印一次性告知书交申请人")
                    % {"number": case.number},
                )
            else:
                flash_done(request, _("已受理申请 %(number)s") % {"number": case.number})
            return redirect("web:case", case_id=case.pk)
    context.update({"form": form, "requirements": requirements})
    return render(request, "web/cases/intake_form.html", context)


# --- The case page --------------------------------------------------------------------------------


class ActionForm(BootstrapForm):
    action = forms.CharField(widget=forms.HiddenInput)
    note = forms.CharField(
        label=gettext_lazy("意见/说明"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    content = forms.CharField(
        label=gettext_lazy("异议内容"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )
    raised_by = forms.CharField(label=gettext_lazy("异议人（可匿名）"), required=False, max_length=60)
    feedback = forms.CharField(
        label=gettext_lazy("承办部门反馈结果"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )


class VisitForm(BootstrapForm):
    visited_on = forms.DateField(
        label=gettext_lazy("调查日期"), widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")
    )
    investigator_1 = forms.CharField(label=gettext_lazy("调查人员一"), max_length=60, required=False)
    investigator_2 = forms.CharField(label=gettext_lazy("调查人员二"), max_length=60, required=False)
    investigator_3 = forms.CharField(label=gettext_lazy("调查人员三（可选）"), max_length=60, required=False)
    findings = forms.CharField(
        label=gettext_lazy("调查情况"),
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("家庭人口、住房、收入、财产、生活状况等"),
    )
    signed_by_applicant = forms.BooleanField(
        label=gettext_lazy("申请人已在调查记录上签字确认"), required=False
    )

    def investigators(self) -> list[str]:
        return [
            self.cleaned_data[f"investigator_{i}"]
            for i in (1, 2, 3)
            if self.cleaned_data[f"investigator_{i}"]
        ]


class DocumentForm(BootstrapForm):
    kind = forms.ChoiceField(label=gettext_lazy("材料类型"))
    file = forms.FileField(
        label=gettext_lazy("文件"),
        help_text=gettext_lazy("PDF、JPG 或 PNG，不超过10MB"),
        widget=forms.ClearableFileInput(
            attrs={"accept": ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"}
        ),
    )

    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        names = [m.requirement.name for m in case.materials.all()]
        kinds = [("", "—"), *((n, n) for n in names), *((n, _(n)) for n in UPLOAD_KINDS)]
        self.fields["kind"].choices = kinds  # type: ignore[attr-defined]

    def clean_file(self) -> Any:
        upload = self.cleaned_data["file"]
        if upload.size > services.DOCUMENT_MAX_BYTES:
            raise forms.ValidationError(_("文件不能超过10MB"))
        return upload


class MaterialsForm(BootstrapForm):
    def __init__(self, *args: Any, case: Case, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        checks = list(case.materials.all())
        self.requirements = [m.requirement for m in checks]
        _material_fields(self, self.requirements, {m.requirement_id: m.status for m in checks})
        self.style_fields()


@dataclass(frozen=True)
class ActionRow:
    transition: Transition
    needs_reason: bool
    form: ActionForm
    error: str


def _action_rows(who: Staff, case: Case, failed: tuple[str, str, Any] | None) -> list[ActionRow]:
    rows = []
    for t in selectors.available_actions(actor=who, case=case):
        # Where the decision is taken is known from the case: offer only the matching route.
        if ("county_route" in t.guards and case.decided_at_township) or (
            "township_route" in t.guards and not case.decided_at_township
        ):
            continue
        error, data = "", None
        if failed is not None and failed[0] == t.action:
            error, data = failed[1], failed[2]
        form = ActionForm(data, initial={"action": t.action}, auto_id=f"id_{t.action}_%s")
        rows.append(ActionRow(t, "reasons_given" in t.guards, form, error))
    return rows


def _can_print(case: Case, decision: Any) -> dict[str, bool]:
    events = list(case.events.all())
    return {
        "receipt": case.accepted_on is not None,
        "missing": case.state == "incomplete"
        or any(e.action == "notify_missing" or e.to_state == "incomplete" for e in events),
        "refusal": decision is not None and decision.outcome == "refused",
        "decision": decision is not None and decision.outcome == "approved",
    }


def _render_case(
    request: HttpRequest,
    case_id: int,
    *,
    visit_form: VisitForm | None = None,
    document_form: DocumentForm | None = None,
    failed_action: tuple[str, str, Any] | None = None,
) -> HttpResponse:
    who = actor(request)
    case = selectors.case_get(actor=who, case_id=case_id)
    workflow = WORKFLOWS[case.workflow]
    today, soon = _today_and_soon()
    steps = [
        (s, _state(case.workflow, s.state), _tone(s.due_date, s.completed_on, today, soon))
        for s in case.steps.all()
    ]
    open_step = next((s for s, _label, _tone_ in steps if s.completed_on is None), None)
    decision = _decision(case)
    can_work = any(who.can(p) for p in CASE_WORK_PERMS)
    actions = _action_rows(who, case, failed_action) if can_work else []
    shown = {row.transition.action for row in actions}
    context = {
        "case": case,
        "workflow": workflow,
        "state_label": _state(case.workflow, case.state),
        "steps": steps,
        "open_step": open_step,
        "open_tone": _tone(open_step.due_date, None, today, soon) if open_step else "",
        "events": [
            (e, _event_label(e.label), _state(case.workflow, e.to_state) if e.to_state else "")
            for e in case.events.all()
        ],
        "actions": actions,
        # A refused action without its own button (not allowed here, or not for this account).
        "action_error": failed_action[1] if failed_action and failed_action[0] not in shown else "",
        "missing": services.missing_materials(case),
        "materials_form": MaterialsForm(case=case)
        if case.state in ("submitted", "incomplete") and who.can(Perm.CASE_INTAKE)
        else None,
        "visit_form": visit_form
        or (
            VisitForm(initial={"visited_on": today})
            if case.is_open and who.can(Perm.CASE_INVESTIGATE)
            else None
        ),
        "document_form": document_form
        or (
            DocumentForm(case=case)
            if who.can(Perm.CASE_INTAKE)
            or who.can(Perm.CASE_INVESTIGATE)
            or who.can(Perm.CASE_REVIEW_TOWNSHIP)
            else None
        ),
        "calculation": _calculation(who, case),
        "can_calculate": case.is_open and bool(workflow.programme) and can_work,
        "decision": decision,
        "transfer": case.transfer if hasattr(case, "transfer") else None,
        "prints": [(code, PRINTS[code]) for code, ok in _can_print(case, decision).items() if ok],
        # The service-quality receipt the finished service issued (一次一评), to print with its QR.
        "service_receipt": feedback_selectors.receipt_for_case(actor=who, case_id=case.pk),
    }
    return render(request, "web/cases/case_detail.html", context)


@staff_view(Perm.CASE_VIEW)
@require_safe
def case_detail(request: HttpRequest, case_id: int) -> HttpResponse:
    return _render_case(request, case_id)


def _back(case_id: int, anchor: str = "") -> HttpResponse:
    return redirect(reverse("web:case", kwargs={"case_id": case_id}) + (f"#{anchor}" if anchor else ""))


@staff_view(Perm.CASE_VIEW)
@require_POST
def case_action(request: HttpRequest, case_id: int) -> HttpResponse:
    """One move of the workflow (the buttons are `available_actions`); refusals shown beside it."""
    who = actor(request)
    case = selectors.case_get(actor=who, case_id=case_id)
    form = ActionForm(request.POST)
    form.is_valid()
    data = form.cleaned_data
    action = data.get("action", "")
    transition = WORKFLOWS[case.workflow].transition(case.state, action)
    payload: dict[str, str] = {}
    if action == "record_objection":
        payload = {"content": data.get("content", ""), "raised_by": data.get("raised_by", "")}
    elif action == "record_feedback":
        payload = {"feedback": data.get("feedback", "")}
    try:
        moved = services.case_transition(
            actor=who, case_id=case.pk, action=action, note=data.get("note", ""), data=payload
        )
    except SHOWN_ERRORS as exc:
        return _render_case(request, case.pk, failed_action=(action, _error_text(exc), request.POST))
    flash_done(
        request,
        _("已办理：%(label)s。当前环节：%(state)s")
        % {
            "label": _(transition.label) if transition else action,
            "state": _state(moved.workflow, moved.state),
        },
    )
    return _back(case.pk)


@staff_view(Perm.CASE_INVESTIGATE)
@require_POST
def case_visit(request: HttpRequest, case_id: int) -> HttpResponse:
    who = actor(request)
    case = selectors.case_get(actor=who, case_id=case_id)
    form = VisitForm(request.POST)
    if form.is_valid():
        try:
            services.visit_record(
                actor=who,
                case_id=case.pk,
                visited_on=form.cleaned_data["visited_on"],
                investigators=form.investigators(),
                findings=form.cleaned_data["findings"],
                signed_by_applicant=form.cleaned_data["signed_by_applicant"],
            )
        except SHOWN_ERRORS as exc:
            _apply(form, exc, {"investigators": "investigator_2"})
        else:
            flash_done(request, _("已录入入户调查记录"))
            return _back(case.pk, "visits")
    return _render_case(request, case.pk, visit_form=form)


@staff_view(Perm.CASE_VIEW)
@require_POST
def case_calculate(request: HttpRequest, case_id: int) -> HttpResponse:
    who = actor(request)
    case = selectors.case_get(actor=who, case_id=case_id)
    if not any(who.can(p) for p in CASE_WORK_PERMS):
        raise PermissionDenied(_("您没有待遇测算的权限"))
    try:
        calc = services.case_calculate(actor=who, case_id=case.pk)
    except SHOWN_ERRORS as exc:
        messages.error(request, _error_text(exc))
    else:
        if calc.eligible:
            flash_done(request, _("测算完成：符合条件，金额 %(amount)s 元") % {"amount": calc.amount})
        else:
            messages.warning(request, _("测算完成：不符合条件"))
    return _back(case.pk, "calculation")


@staff_view(Perm.CASE_INTAKE)
@require_POST
def case_materials(request: HttpRequest, case_id: int) -> HttpResponse:
    who = actor(request)
    case = selectors.case_get(actor=who, case_id=case_id)
    form = MaterialsForm(request.POST, case=case)
    if not form.is_valid():
        messages.error(request, _("材料情况不正确"))
        return _back(case.pk, "materials")
    try:
        services.case_materials_update(
            actor=who, case_id=case.pk, materials=_material_values(form, form.requirements)
        )
    except SHOWN_ERRORS as exc:
        messages.error(request, _error_text(exc))
    else:
        flash_done(request, _("材料情况已更新"))
    return _back(case.pk, "materials")


@staff_view(Perm.CASE_VIEW)
@require_POST
def case_document_upload(request: HttpRequest, case_id: int) -> HttpResponse:
    who = actor(request)
    case = selectors.case_get(actor=who, case_id=case_id)
    form = DocumentForm(request.POST, request.FILES, case=case)
    if form.is_valid():
        upload = form.cleaned_data["file"]
        try:
            services.document_upload(
                actor=who,
                case_id=case.pk,
                kind=form.cleaned_data["kind"],
                file_name=upload.name or "",
                content_type=upload.content_type or "",
                content=upload.read(),
            )
        except SHOWN_ERRORS as exc:
            _apply(form, exc)
        else:
            flash_done(request, _("材料已上传"))
            return _back(case.pk, "documents")
    return _render_case(request, case.pk, document_form=form)


@staff_view(Perm.CASE_VIEW)
@require_safe
def case_document(request: HttpRequest, case_id: int, document_id: int) -> HttpResponse:
    """Download an uploaded document: always as an attachment, never rendered by the browser."""
    document = services.document_download(actor=actor(request), case_id=case_id, document_id=document_id)
    response = HttpResponse(bytes(document.content), content_type=document.content_type)
    response["Content-Disposition"] = content_disposition_header(True, document.file_name) or "attachment"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# --- Printable documents --------------------------------------------------------------------------


@staff_view(Perm.CASE_VIEW)
@require_safe
def case_print(request: HttpRequest, case_id: int, document: str) -> HttpResponse:
    """受理回执, 一次性告知书, 不予批准告知书, 审批决定书: A4, printed from the browser."""
    who = actor(request)
    case = selectors.case_get(actor=who, case_id=case_id)
    decision = _decision(case)
    if document not in PRINTS or not _can_print(case, decision)[document]:
        raise Http404(_("该申请暂无此文书"))
    # The written decisions say what the API's documents endpoint says: one content, two renderings.
    written = (
        documents.document_for(actor=who, case=case, document=document)
        if document in documents.DOCUMENTS
        else None
    )
    context = {
        "case": case,
        "document": document,
        "title": PRINTS[document],
        "decision": decision,
        "doc": written,
        "missing": services.missing_materials(case),
        "township": case.division.parent,
        "status_url": request.build_absolute_uri(reverse("web:status")),
        "today": timezone.localdate(),
        "state_label": _state(case.workflow, case.state),
    }
    return render(request, f"web/cases/print_{document}.html", context)


# --- Worklists ------------------------------------------------------------------------------------


@staff_view(Perm.CASE_VIEW)
@require_safe
def worklist(request: HttpRequest) -> HttpResponse:
    """我的待办: open cases whose current step this account can act on, soonest due first."""
    page = paginate(request, selectors.worklist(actor=actor(request)))
    return render(request, "web/cases/worklist.html", {"page": page, "rows": _rows(page)})


def _state_choices() -> list[tuple[str, str]]:
    seen: dict[str, str] = {}
    for workflow in WORKFLOWS.values():
        for state in workflow.states.values():
            seen.setdefault(state.code, _(state.label))
    return [("", _("全部环节")), *seen.items()]


class CaseFilterForm(BootstrapForm):
    q = forms.CharField(label=gettext_lazy("受理编号或申请人"), required=False, max_length=60)
    state = forms.ChoiceField(label=gettext_lazy("当前环节"), required=False)
    item = forms.ChoiceField(label=gettext_lazy("事项"), required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["state"].choices = _state_choices()  # type: ignore[attr-defined]
        self.fields["item"].choices = [  # type: ignore[attr-defined]
            ("", _("全部事项")),
            *((i.code, i.name) for i in catalogue_selectors.item_list()),
        ]


@staff_view(Perm.CASE_VIEW)
@require_safe
def case_list(request: HttpRequest) -> HttpResponse:
    """全部申请 in scope, filtered by state, item and a search."""
    form = CaseFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    qs = selectors.case_list(
        actor=actor(request),
        state=filters.get("state", ""),
        item=filters.get("item", ""),
        search=filters.get("q", "").strip(),
    )
    page = paginate(request, qs)
    params = urlencode({k: v for k, v in filters.items() if v})
    return render(
        request,
        "web/cases/case_list.html",
        {"form": form, "page": page, "rows": _rows(page), "params": params},
    )


@staff_view(Perm.CASE_VIEW)
@require_safe
def warnings(request: HttpRequest) -> HttpResponse:
    """超期预警: steps past their statutory date, steps due within two working days, transfers
    without the department's feedback."""
    who = actor(request)
    label = _state
    return render(
        request,
        "web/cases/warnings.html",
        {
            "overdue": [
                (s, label(s.case.workflow, s.state)) for s in selectors.overdue_steps(actor=who)[:200]
            ],
            "due_soon": [
                (s, label(s.case.workflow, s.state)) for s in selectors.due_soon_steps(actor=who)[:200]
            ],
            "transfers": list(selectors.transfers_overdue(actor=who)[:200]),
        },
    )


@staff_view(Perm.CASE_VIEW)
@require_safe
def time_limits(request: HttpRequest) -> HttpResponse:
    """时限统计 per township: table and bar chart (ECharts, initialised by a static script)."""
    stats = selectors.time_limit_stats(actor=actor(request))
    chart = {
        "townships": [s.name for s in stats],
        "series": [
            {"name": _("在办"), "data": [s.open_cases for s in stats]},
            {"name": _("在办超期"), "data": [s.open_overdue for s in stats]},
            {"name": _("已办结"), "data": [s.closed for s in stats]},
            {"name": _("超期办结"), "data": [s.closed_late for s in stats]},
        ],
    }
    return render(request, "web/cases/time_limits.html", {"stats": stats, "chart": chart})


@staff_view(Perm.CASE_VIEW)
@require_safe
def notice_list(request: HttpRequest) -> HttpResponse:
    """公示管理: notices in scope, with the village notice boards to print."""
    page = paginate(request, selectors.notices_in_scope(actor=actor(request)))
    today = timezone.localdate()
    return render(request, "web/cases/notice_list.html", {"page": page, "today": today})


@staff_view(Perm.CASE_VIEW)
@require_safe
def notice_print(request: HttpRequest, notice_id: int) -> HttpResponse:
    notice = selectors.notices_in_scope(actor=actor(request)).filter(pk=notice_id).first()
    if notice is None:
        raise Http404(_("没有找到该公示"))
    return render(
        request,
        "web/cases/print_notice.html",
        {"notices": [notice], "division": notice.division, "township": notice.division.parent},
    )


# --- Conflict-of-interest register (近亲属备案) ------------------------------------------------------


class ConflictForm(BootstrapForm):
    division_code = forms.ChoiceField(label=gettext_lazy("所在村（社区）或机构"))
    name = forms.CharField(label=gettext_lazy("姓名"), max_length=60)
    position = forms.CharField(
        label=gettext_lazy("职务"),
        max_length=60,
        help_text=gettext_lazy("如：村委会主任、民政协理员、经办人员"),
    )
    id_number = forms.CharField(
        label=gettext_lazy("身份证号"),
        max_length=18,
        help_text=gettext_lazy("只保存摘要，用于比对申请家庭成员，不显示"),
    )


@staff_view(Perm.CASE_REVIEW_TOWNSHIP)
@require_http_methods(["GET", "POST"])
def conflicts(request: HttpRequest) -> HttpResponse:
    who = actor(request)
    divisions = [
        (d.code, d.name)
        for d in org_selectors.division_list(actor=who)
        .filter(level__gte=DivisionLevel.TOWNSHIP)
        .order_by("code")
    ]
    form = ConflictForm(request.POST if request.method == "POST" else None)
    form.fields["division_code"].choices = divisions  # type: ignore[attr-defined]
    if request.method == "POST" and form.is_valid():
        try:
            services.conflict_register(actor=who, **form.cleaned_data)
        except SHOWN_ERRORS as exc:
            _apply(form, exc)
        else:
            flash_done(request, _("已备案：%(name)s") % {"name": form.cleaned_data["name"]})
            return redirect("web:case_conflicts")
    page = paginate(request, selectors.conflict_registrations(actor=who))
    return render(request, "web/cases/conflicts.html", {"form": form, "page": page})
