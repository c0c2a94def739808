"""Payments pages (资金发放): enrolments (在保对象) and their changes, enrolment from an approved case,
monthly payroll runs (progress, totals, lines, maker-checker approval, bank files, reconciliation,
re-issue, village rosters on screen, on A4 paper and in Excel), re-review tasks (复核), and one-off
payments (一次性救助支付单: how each is paid, bank batches, cash against a receipt, cancellation,
recovery) with the township funds' ledger (资金台账). A one-off batch is a run of kind ONE_OFF and
uses the run pages.

Thin: a form in, one service or selector call, a template out. A refused action shows its Chinese
reason on the page; a record outside the jurisdiction is a 404 before any service is called.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import partial
from typing import Any

from django import forms
from django.contrib import messages
from django.db.models import Count, Sum
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header, urlencode
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, gettext_noop
from django.views.decorators.http import require_http_methods, require_POST, require_safe
from openpyxl import Workbook

from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.core.spreadsheets import neutralise
from minzheng.org.models import Division
from minzheng.org.scope import jurisdiction_of, scoped
from minzheng.payments import orders, selectors, services, tasks
from minzheng.payments.models import (
    EnrolmentStatus,
    FundKind,
    LineStatus,
    OrderStatus,
    PaymentMethod,
    RunKind,
    RunStatus,
)
from minzheng.verification import selectors as verification_selectors
from minzheng.web.base import (
    BootstrapForm,
    actor,
    apply_domain_error,
    flash_done,
    forbidden,
    paginate,
    staff_view,
)

# Errors an action can meet on a record the actor may see: shown on the page, never a server error.
SHOWN_ERRORS = (InvalidInput, Conflict, PermissionDenied)
PROPOSALS_SHOWN = 200  # on the run page; the API lists them all, page by page
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# The monthly programmes' names (minzheng.rules.programmes), marked here for translation; templates
# show them with {% translate label %}.
PROGRAMME_NAMES = (
    gettext_noop("最低生活保障"),
    gettext_noop("特困人员救助供养"),
    gettext_noop("残疾人两项补贴"),
    gettext_noop("高龄津贴"),
    gettext_noop("孤儿和事实无人抚养儿童保障"),
    gettext_noop("临时救助"),
    gettext_noop("医疗救助"),
)


def _attachment(content: bytes, name: str, content_type: str) -> HttpResponse:
    response = HttpResponse(content, content_type=content_type)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=name) or "attachment"
    )
    response["X-Content-Type-Options"] = "nosniff"
    return response


def _next_month() -> date:
    return services.add_months(services.first_of_month(timezone.localdate()), 1)


def _month_field(label: Any, **kwargs: Any) -> forms.DateField:
    return forms.DateField(
        label=label,
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        **kwargs,
    )


def _reason_field(label: Any = None) -> forms.CharField:
    return forms.CharField(label=label or gettext_lazy("理由"), max_length=300)


def _money_field(label: Any, **kwargs: Any) -> forms.DecimalField:
    return forms.DecimalField(label=label, max_digits=12, decimal_places=2, **kwargs)


# --- Enrolments (在保对象) -----------------------------------------------------------------------------


@staff_view(Perm.PAYMENT_VIEW)
@require_safe
def enrolment_list(request: HttpRequest) -> HttpResponse:
    who = actor(request)
    q = request.GET.get("q", "").strip()
    status = request.GET.get("status", "")
    if status not in EnrolmentStatus.values:
        status = ""
    programme = request.GET.get("programme", "")
    if programme not in dict(selectors.programme_choices()):
        programme = ""
    page = paginate(
        request, selectors.enrolment_list(actor=who, search=q, status=status, programme=programme)
    )
    page.object_list = list(page.object_list)
    for enrolment in page.object_list:
        enrolment.programme_label = selectors.programme_label(enrolment.programme)
    pending = list(selectors.cases_awaiting_enrolment(actor=who)[:50])
    return render(
        request,
        "web/payments/enrolment_list.html",
        {
            "page": page,
            "q": q,
            "status": status,
            "programme": programme,
            "statuses": EnrolmentStatus.choices,
            "programmes": selectors.programme_choices(),
            "params": urlencode(
                {k: v for k, v in (("q", q), ("status", status), ("programme", programme)) if v}
            ),
            "pending": pending,
        },
    )


@staff_view(Perm.PAYMENT_VIEW)
@require_safe
def enrolment_detail(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    enrolment = selectors.enrolment_get(actor=actor(request), enrolment_id=enrolment_id)
    # Back pay paid by its own payment order (补发（单独发放）) is settled by that order, not a run.
    paid_by_order = dict(
        selectors.order_list(actor=actor(request))
        .filter(change__enrolment=enrolment)
        .values_list("change_id", "pk")
    )
    for change in enrolment.changes.all():
        change.order_id = paid_by_order.get(change.pk)  # type: ignore[attr-defined]
    return render(
        request,
        "web/payments/enrolment_detail.html",
        {
            "enrolment": enrolment,
            "programme_label": selectors.programme_label(enrolment.programme),
            "changes": [(c, CHANGES[c]) for c in CHANGE_ORDER if enrolment.status in CHANGES[c].allowed],
        },
    )


class EnrolForm(BootstrapForm):
    bank_name = forms.CharField(
        label=gettext_lazy("开户银行"), max_length=60, help_text=gettext_lazy("如：宁夏银行大武口支行")
    )
    account_number = forms.CharField(
        label=gettext_lazy("银行账号"),
        max_length=40,
        help_text=gettext_lazy("12至30位数字；银行卡号须通过校验。账号加密保存，页面只显示首尾四位"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


@staff_view(Perm.PAYROLL_RUN)
@require_http_methods(["GET", "POST"])
def enrol(request: HttpRequest, case_id: int) -> HttpResponse:
    """Enrol an approved monthly benefit: amount and first month come from the decision."""
    who = actor(request)
    case = selectors.case_for_enrolment(actor=who, case_id=case_id)
    form = EnrolForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            enrolment = services.enrolment_create(
                actor=who,
                case_id=case.pk,
                bank_name=form.cleaned_data["bank_name"],
                account_number=form.cleaned_data["account_number"],
            )
        except SHOWN_ERRORS as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, _("已纳入发放：%(name)s") % {"name": enrolment.payee.name})
            return redirect("web:enrolment", enrolment_id=enrolment.pk)
    return render(
        request,
        "web/payments/enrol.html",
        {
            "case": case,
            "decision": selectors.decision_of(case),
            "enrolled": getattr(case, "enrolment", None),
            "form": form,
        },
    )


class AmountForm(BootstrapForm):
    new_amount = _money_field(gettext_lazy("新的月发放金额（元）"), min_value=Decimal("0"))
    month = _month_field(gettext_lazy("生效月份"))
    reason = _reason_field()


class MonthReasonForm(BootstrapForm):
    month = _month_field(gettext_lazy("生效月份"))
    reason = _reason_field()


class ExitForm(BootstrapForm):
    months = forms.TypedChoiceField(
        label=gettext_lazy("渐退期（月）"),
        choices=[(n, n) for n in range(1, services.MAX_EXIT_MONTHS + 1)],
        coerce=int,
        initial=3,
        help_text=gettext_lazy("因就业等收入超过标准的，可继续按现金额发放1至6个月后停发"),
    )
    month = _month_field(gettext_lazy("渐退起始月份"))
    reason = _reason_field()


class TerminateForm(BootstrapForm):
    month = _month_field(gettext_lazy("停发月份"), help_text=gettext_lazy("自该月起不再发放（含该月）"))
    reason = _reason_field(gettext_lazy("停发理由"))
    notice = forms.CharField(
        label=gettext_lazy("书面告知内容"),
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=gettext_lazy("停发须书面告知本人并说明理由"),
    )


class OneOffForm(BootstrapForm):
    kind = forms.ChoiceField(
        label=gettext_lazy("类型"),
        choices=[
            ("back_pay", gettext_lazy("补发（随下次发放一并发放）")),
            ("recover", gettext_lazy("追回（从下次发放中扣减）")),
        ],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
        initial="back_pay",
    )
    amount = _money_field(gettext_lazy("金额（元）"), min_value=Decimal("0.01"))
    month = _month_field(gettext_lazy("结算月份"), help_text=gettext_lazy("在该月或之后的第一次发放中结算"))
    reason = _reason_field()


class BankAccountForm(EnrolForm):
    reason = _reason_field(gettext_lazy("变更理由"))


@dataclass(frozen=True)
class Change:
    title: Any
    form: type[forms.Form]
    allowed: tuple[str, ...]
    button: str  # Bootstrap button style


ALL_OPEN = (EnrolmentStatus.ACTIVE, EnrolmentStatus.SUSPENDED, EnrolmentStatus.EXITING)
CHANGES: dict[str, Change] = {
    "amount": Change(gettext_lazy("调整金额"), AmountForm, ALL_OPEN, "outline-primary"),
    "suspend": Change(
        gettext_lazy("暂停发放"), MonthReasonForm, (EnrolmentStatus.ACTIVE,), "outline-warning"
    ),
    "resume": Change(
        gettext_lazy("恢复发放"), MonthReasonForm, (EnrolmentStatus.SUSPENDED,), "outline-success"
    ),
    "exit": Change(gettext_lazy("启动渐退"), ExitForm, (EnrolmentStatus.ACTIVE,), "outline-warning"),
    "terminate": Change(gettext_lazy("停发"), TerminateForm, ALL_OPEN, "outline-danger"),
    "one-off": Change(gettext_lazy("补发/追回"), OneOffForm, ALL_OPEN, "outline-secondary"),
    "bank-account": Change(gettext_lazy("变更银行账户"), BankAccountForm, ALL_OPEN, "outline-secondary"),
}
CHANGE_ORDER = ("amount", "suspend", "resume", "exit", "terminate", "one-off", "bank-account")


def _apply_change(who: Any, enrolment_id: int, change: str, data: dict[str, Any]) -> None:
    common = {"actor": who, "enrolment_id": enrolment_id}
    if change == "amount":
        services.enrolment_change_amount(
            **common, new_amount=data["new_amount"], month=data["month"], reason=data["reason"]
        )
    elif change == "suspend":
        services.enrolment_suspend(**common, month=data["month"], reason=data["reason"])
    elif change == "resume":
        services.enrolment_resume(**common, month=data["month"], reason=data["reason"])
    elif change == "exit":
        services.enrolment_start_exit(
            **common, months=data["months"], month=data["month"], reason=data["reason"]
        )
    elif change == "terminate":
        services.enrolment_terminate(
            **common, month=data["month"], reason=data["reason"], notice=data["notice"]
        )
    elif change == "one-off":
        sign = Decimal("-1") if data["kind"] == "recover" else Decimal("1")
        services.enrolment_one_off(
            **common, amount=sign * data["amount"], month=data["month"], reason=data["reason"]
        )
    elif change == "bank-account":
        services.enrolment_bank_account_change(
            **common,
            bank_name=data["bank_name"],
            account_number=data["account_number"],
            reason=data["reason"],
        )


@staff_view(Perm.PAYROLL_RUN)
@require_http_methods(["GET", "POST"])
def enrolment_change(request: HttpRequest, enrolment_id: int, change: str) -> HttpResponse:
    who = actor(request)
    enrolment = selectors.enrolment_get(actor=who, enrolment_id=enrolment_id)
    if change not in CHANGES:
        raise Http404(_("没有这项变更"))
    spec = CHANGES[change]
    initial = {
        "month": _next_month(),
        "new_amount": enrolment.monthly_amount,
        "bank_name": enrolment.bank_name,
    }
    form = spec.form(request.POST if request.method == "POST" else None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            _apply_change(who, enrolment.pk, change, form.cleaned_data)
        except SHOWN_ERRORS as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, _("已办理：%(change)s") % {"change": spec.title})
            return redirect("web:enrolment", enrolment_id=enrolment.pk)
    return render(
        request,
        "web/payments/enrolment_change.html",
        {"enrolment": enrolment, "form": form, "title": spec.title, "change": change},
    )


# --- Payroll runs (发放批次) ---------------------------------------------------------------------------


class RunForm(BootstrapForm):
    county = forms.ChoiceField(label=gettext_lazy("县（区）"))
    month = _month_field(gettext_lazy("发放月份"))

    def __init__(self, *args: Any, counties: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["county"].choices = counties  # type: ignore[attr-defined]


def _counties(request: HttpRequest) -> list[tuple[str, str]]:
    """The counties a payroll may be asked for from this office (县级生成)."""
    who = actor(request)
    if len(jurisdiction_of(who).prefix) > 6:
        return []
    found = scoped(Division.objects.filter(level=3), who, field="code").order_by("code")
    return [(d.code[:6], f"{d.name}（{d.code[:6]}）") for d in found]


@staff_view(Perm.PAYMENT_VIEW)
@require_http_methods(["GET", "POST"])
def run_list(request: HttpRequest) -> HttpResponse:
    who = actor(request)
    counties = _counties(request) if who.can(Perm.PAYROLL_RUN) else []
    form = RunForm(
        request.POST if request.method == "POST" else None,
        counties=counties,
        initial={"month": _next_month()},
    )
    if request.method == "POST":
        if not who.can(Perm.PAYROLL_RUN):
            return forbidden(request)
        if form.is_valid():
            try:
                run = tasks.payroll_run_start(
                    actor=who, county=form.cleaned_data["county"], month=form.cleaned_data["month"]
                )
            except SHOWN_ERRORS as exc:
                apply_domain_error(form, exc)
            else:
                return redirect("web:payroll_run", run_id=run.pk)
    page = paginate(request, selectors.run_list(actor=who))
    return render(
        request,
        "web/payments/run_list.html",
        {"page": page, "form": form if counties else None, "local": selectors.local_rosters(actor=who)},
    )


def _run_context(request: HttpRequest, run_id: int) -> dict[str, Any]:
    who = actor(request)
    detail = selectors.run_get(actor=who, run_id=run_id)
    run = detail.run
    can_run = who.can(Perm.PAYROLL_RUN)
    one_off = run.kind == RunKind.ONE_OFF  # a batch of payment orders: nothing was recalculated
    return {
        "detail": detail,
        "run": run,
        "one_off": one_off,
        "can_approve": who.can(Perm.PAYROLL_APPROVE) and run.status == RunStatus.COMPUTED,
        "own_run": run.created_by_id == who.pk,
        "can_run": can_run,
        "can_export": can_run and run.status in services.EXPORTABLE,
        "can_reconcile": can_run and run.status == RunStatus.EXPORTED,
        "layouts": services.bank_layouts() if can_run else [],
        "villages": [] if detail.running else selectors.run_villages(actor=who, run_id=run_id),
        "exports": [] if detail.running else list(selectors.export_list(actor=who, run_id=run_id)),
        "reports": []
        if detail.running
        else list(selectors.reconciliation_list(actor=who, run_id=run_id)[:20]),
        "can_resume": can_run and (run.status == RunStatus.FAILED or detail.stuck),
        "can_decide": who.can(Perm.PAYROLL_APPROVE) and run.created_by_id != who.pk,
        "proposals": []
        if detail.running or one_off
        else list(selectors.run_proposals(actor=who, run_id=run_id)[:PROPOSALS_SHOWN]),
        "parameters": [] if detail.running or one_off else selectors.run_parameters(actor=who, run_id=run_id),
    }


@staff_view(Perm.PAYMENT_VIEW)
@require_safe
def run_detail(request: HttpRequest, run_id: int) -> HttpResponse:
    """The run page; while it is computing, htmx asks for the status part every two seconds."""
    context = _run_context(request, run_id)
    if request.htmx:  # type: ignore[attr-defined]
        return render(request, "web/payments/_run_status.html", context)
    return render(request, "web/payments/run_detail.html", context)


@staff_view(Perm.PAYMENT_VIEW)
@require_safe
def run_lines(request: HttpRequest, run_id: int) -> HttpResponse:
    who = actor(request)
    detail = selectors.run_get(actor=who, run_id=run_id)
    village = request.GET.get("village", "")
    status = request.GET.get("status", "")
    if not village.isdigit():
        village = ""
    if status not in LineStatus.values:
        status = ""
    lines = selectors.run_lines(actor=who, run_id=run_id, village=village, status=status)
    page = paginate(request, lines.select_related("order"), 100)  # a one-off line's account is its order's
    return render(
        request,
        "web/payments/run_lines.html",
        {
            "detail": detail,
            "run": detail.run,
            "page": page,
            "village": village,
            "status": status,
            "statuses": LineStatus.choices,
            "villages": selectors.run_villages(actor=who, run_id=run_id),
            "params": urlencode({k: v for k, v in (("village", village), ("status", status)) if v}),
        },
    )


@staff_view(Perm.PAYMENT_VIEW)
@require_safe
def line_explanation(request: HttpRequest, run_id: int, line_id: int) -> HttpResponse:
    """Why one line pays what it pays (the decision or approved change behind its amount, arrears,
    one-offs, the run's parameters)."""
    who = actor(request)
    detail = selectors.run_get(actor=who, run_id=run_id)
    explanation = selectors.line_explanation(actor=who, run_id=run_id, line_id=line_id)
    return render(
        request,
        "web/payments/line_explanation.html",
        {"detail": detail, "run": detail.run, "x": explanation, "line": explanation.line},
    )


def _run_action(request: HttpRequest, run_id: int, act: Any, done: str) -> HttpResponse:
    """A POST on a run within the actor's scope: `act(actor, run)`, then back to the run page with
    the outcome (`done`, or the refusal)."""
    who = actor(request)
    run = selectors.run_get(actor=who, run_id=run_id).run
    try:
        result = act(who, run)
    except (*SHOWN_ERRORS, NotFound) as exc:
        messages.error(request, _(exc.message))
    else:
        flash_done(request, done % {"n": result} if "%(n)" in done else done)
    return redirect("web:payroll_run", run_id=run.pk)


@staff_view(Perm.PAYROLL_APPROVE)
@require_POST
def run_approve(request: HttpRequest, run_id: int) -> HttpResponse:
    note = request.POST.get("note", "")[:300]
    return _run_action(
        request,
        run_id,
        lambda who, run: services.payroll_approve(actor=who, run_id=run.pk, note=note),
        _("发放名册已审批"),
    )


@staff_view(Perm.PAYROLL_RUN)
@require_POST
def run_resume(request: HttpRequest, run_id: int) -> HttpResponse:
    """Continue a run that failed or whose computing process died (the worker computes it)."""
    return _run_action(
        request,
        run_id,
        lambda who, run: tasks.payroll_run_resume(actor=who, run_id=run.pk),
        _("已重新排队计算；已写入的发放记录不会重复"),
    )


@staff_view(Perm.PAYROLL_APPROVE)
@require_POST
def run_proposals_decide(request: HttpRequest, run_id: int) -> HttpResponse:
    """Approve or reject a run's amount proposals: those ticked, or all of them."""
    action = request.POST.get("action", "")
    ticked = [int(i) for i in request.POST.getlist("proposal") if i.isdigit()]
    decide_with = partial(
        services.proposals_decide,
        approve=action in ("approve", "approve_all"),
        note=request.POST.get("note", "")[:300],
        notice=request.POST.get("notice", "")[:2000],
    )

    def decide(who: Any, run: Any) -> int:
        if action == "approve_all":
            return decide_with(actor=who, run_id=run.pk)
        mine = selectors.run_proposals(actor=who, run_id=run.pk).filter(pk__in=ticked)
        if not ticked or mine.count() != len(set(ticked)):
            raise InvalidInput(_("请勾选要审核的调整建议"))
        return decide_with(actor=who, proposal_ids=ticked)

    return _run_action(request, run_id, decide, _("已审核 %(n)s 条金额调整建议"))


@staff_view(Perm.PAYROLL_RUN)
@require_POST
def run_export(request: HttpRequest, run_id: int) -> HttpResponse:
    """The bank payment file of an approved run, in the chosen layout; the run page offers it."""
    who = actor(request)
    run = selectors.run_get(actor=who, run_id=run_id).run
    try:
        export = services.bank_export(actor=who, run_id=run.pk, layout=request.POST.get("layout", "")[:40])
    except SHOWN_ERRORS as exc:
        messages.error(request, _(exc.message))
    else:
        flash_done(
            request,
            _("已生成银行文件 %(name)s（%(n)s 笔，%(total)s 元）")
            % {"name": export.file_name, "n": export.line_count, "total": export.total_amount},
        )
    return redirect("web:payroll_run", run_id=run.pk)


@staff_view(Perm.PAYROLL_RUN)
@require_safe
def export_file(request: HttpRequest, run_id: int, export_id: int) -> HttpResponse:
    who = actor(request)
    export = selectors.export_get(actor=who, run_id=run_id, export_id=export_id)
    name, content_type, content = services.bank_export_file(actor=who, export_id=export.pk)
    return _attachment(content, name, content_type)


class ResultsForm(BootstrapForm):
    file = forms.FileField(
        label=gettext_lazy("银行回盘文件（CSV或Excel）"),
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}),
        help_text=gettext_lazy("须有“业务参考号”和“状态”（成功/失败）两列，可有失败原因、银行流水号、金额"),
    )


RESULTS_MAX_BYTES = 20 * 1024 * 1024


@staff_view(Perm.PAYROLL_RUN)
@require_POST
def run_reconcile(request: HttpRequest, run_id: int) -> HttpResponse:
    """Import the bank's results file; the report (accepted, or every problem row by row) follows."""
    who = actor(request)
    run = selectors.run_get(actor=who, run_id=run_id).run
    form = ResultsForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("请选择银行回盘文件"))
        return redirect("web:payroll_run", run_id=run.pk)
    upload = form.cleaned_data["file"]
    if upload.size > RESULTS_MAX_BYTES:
        messages.error(request, _("文件不能超过20MB"))
        return redirect("web:payroll_run", run_id=run.pk)
    try:
        report = services.reconciliation_import(
            actor=who, run_id=run.pk, file_name=upload.name or "results.csv", content=upload.read()
        )
    except SHOWN_ERRORS as exc:
        messages.error(request, _(exc.message))
        return redirect("web:payroll_run", run_id=run.pk)
    return redirect("web:payroll_reconciliation", run_id=run.pk, report_id=report.pk)


@staff_view(Perm.PAYMENT_VIEW)
@require_safe
def reconciliation_detail(request: HttpRequest, run_id: int, report_id: int) -> HttpResponse:
    who = actor(request)
    report = selectors.reconciliation_get(actor=who, run_id=run_id, report_id=report_id)
    detail = selectors.run_get(actor=who, run_id=run_id)
    return render(
        request,
        "web/payments/reconciliation.html",
        {"report": report, "detail": detail, "run": detail.run},
    )


@staff_view(Perm.PAYROLL_RUN)
@require_POST
def run_reissue(request: HttpRequest, run_id: int) -> HttpResponse:
    who = actor(request)
    run = selectors.run_get(actor=who, run_id=run_id).run
    try:
        count = services.payroll_reissue(actor=who, run_id=run.pk)
    except SHOWN_ERRORS as exc:
        messages.error(request, _(exc.message))
    else:
        if count:
            flash_done(request, _("已重发 %(n)s 笔，请生成银行文件") % {"n": count})
        else:
            messages.warning(request, _("没有可重发的笔数：发放失败的，须先变更其银行账户"))
    return redirect("web:payroll_run", run_id=run.pk)


@staff_view(Perm.PAYMENT_VIEW)
@require_safe
def roster_xlsx(request: HttpRequest, run_id: int, village_code: str) -> HttpResponse:
    """The village payment roster as an Excel workbook (A4 landscape, masked identifiers)."""
    roster = selectors.roster(actor=actor(request), run_id=run_id, village_code=village_code)
    content = services.roster_workbook(actor=actor(request), run_id=run_id, village_code=village_code)
    name = f"发放花名册_{roster.village_name}_{roster.run.month:%Y%m}.xlsx"
    return _attachment(content, name, XLSX)


@staff_view(Perm.PAYMENT_VIEW)
@require_safe
def roster_print(request: HttpRequest, run_id: int, village_code: str) -> HttpResponse:
    """The village payment roster (发放花名册) on A4, for signature on receipt."""
    who = actor(request)
    roster = selectors.roster(actor=who, run_id=run_id, village_code=village_code)
    run_visible = selectors.run_list(actor=who).filter(pk=run_id).exists()
    # A one-off batch's lines are paid to their orders' accounts (the monthly lines to enrolments').
    ordered = [line.order_id for line in roster.lines if line.order_id is not None]
    accounts = (
        dict(selectors.order_list(actor=who).filter(pk__in=ordered).values_list("pk", "account_masked"))
        if ordered
        else {}
    )
    for line in roster.lines:
        line.account_masked = (  # type: ignore[attr-defined]
            accounts.get(line.order_id, "")
            if line.order_id
            else getattr(line.enrolment, "account_masked", "")
        )
    return render(request, "web/payments/roster_print.html", {"roster": roster, "run_visible": run_visible})


# --- Re-review (复核) ----------------------------------------------------------------------------------


def _review_view(view: Any) -> Any:
    """Re-review pages: the township reviewers who do them, and everyone who may see payments."""

    @staff_view(None)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        who = actor(request)
        if not (who.can(Perm.PAYMENT_VIEW) or who.can(Perm.CASE_REVIEW_TOWNSHIP)):
            return forbidden(request)
        return view(request, *args, **kwargs)  # type: ignore[no-any-return]

    return wrapper


@_review_view
@require_safe
def review_list(request: HttpRequest) -> HttpResponse:
    show_all = request.GET.get("all") == "1"
    page = paginate(request, selectors.review_tasks(actor=actor(request), open_only=not show_all))
    return render(
        request,
        "web/payments/review_list.html",
        {
            "page": page,
            "show_all": show_all,
            "params": "all=1" if show_all else "",
            "today": timezone.localdate(),
        },
    )


class ReviewForm(BootstrapForm):
    outcome = forms.ChoiceField(
        label=gettext_lazy("复核结论"),
        choices=[
            ("keep", gettext_lazy("维持")),
            ("change", gettext_lazy("调整金额")),
            ("stop", gettext_lazy("停发")),
        ],
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    new_amount = _money_field(
        gettext_lazy("调整后的月发放金额（元）"),
        min_value=Decimal("0"),
        required=False,
        help_text=gettext_lazy("结论为“调整金额”时填写"),
    )
    reason = _reason_field(gettext_lazy("复核意见与理由"))


@_review_view
@require_http_methods(["GET", "POST"])
def review_complete(request: HttpRequest, task_id: int) -> HttpResponse:
    who = actor(request)
    task = selectors.review_task_get(actor=who, task_id=task_id)
    form = ReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if not who.can(Perm.CASE_REVIEW_TOWNSHIP):
            return forbidden(request)
        if form.is_valid():
            try:
                services.review_complete(
                    actor=who,
                    task_id=task.pk,
                    outcome=form.cleaned_data["outcome"],
                    reason=form.cleaned_data["reason"],
                    new_amount=form.cleaned_data["new_amount"],
                )
            except SHOWN_ERRORS as exc:
                apply_domain_error(form, exc)
            else:
                flash_done(request, _("复核已完成"))
                return redirect("web:payment_reviews")
    return render(
        request,
        "web/payments/review_form.html",
        {
            "task": task,
            "enrolment": task.enrolment,
            "form": form,
            "can_review": who.can(Perm.CASE_REVIEW_TOWNSHIP),
            # What the monthly re-check found on the household: what the re-review decides on.
            "hits": [
                (h, verification_selectors.item_label(h.item))
                for h in verification_selectors.recheck_hits(
                    actor=who, household_id=task.enrolment.household_id
                )[:50]
            ]
            if task.kind == "recheck"
            else [],
        },
    )


# --- One-off payments (一次性救助支付单) -----------------------------------------------------------------


def _show_error(form: forms.Form, exc: Any) -> None:
    """A refusal on the form: its reasons by field, and its whole message above them (the fields'
    reasons are short, e.g. 必填; the message says what was wrong, e.g. 请填写开户银行)."""
    apply_domain_error(form, exc)
    if exc.field_errors and exc.message not in form.non_field_errors():
        form.add_error(None, _(exc.message))


def _may_order(who: Any) -> bool:
    """May say how an order is paid and hand out cash (the township office, or the county)."""
    return any(who.can(p) for p in orders.ORDER_PERMS)


class BatchForm(BootstrapForm):
    county = forms.ChoiceField(label=gettext_lazy("县（区）"))

    def __init__(self, *args: Any, counties: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["county"].choices = counties  # type: ignore[attr-defined]


@staff_view(Perm.PAYMENT_VIEW)
@require_http_methods(["GET", "POST"])
def order_list(request: HttpRequest) -> HttpResponse:
    """The one-off payment orders in scope, by status; the county pays the bank orders ready to pay
    in one batch (a run of kind ONE_OFF, approved, exported and reconciled on the run pages)."""
    who = actor(request)
    counties = _counties(request) if who.can(Perm.PAYROLL_RUN) else []
    form = BatchForm(request.POST if request.method == "POST" else None, counties=counties)
    if request.method == "POST":
        if not who.can(Perm.PAYROLL_RUN):
            return forbidden(request)
        if form.is_valid():
            try:
                run = orders.orders_batch(actor=who, county=form.cleaned_data["county"])
            except SHOWN_ERRORS as exc:
                _show_error(form, exc)
            else:
                flash_done(
                    request,
                    _("已生成一次性救助代发批次：%(n)s 笔，%(total)s 元，请由他人审批")
                    % {"n": run.line_count, "total": run.total_amount},
                )
                return redirect("web:payroll_run", run_id=run.pk)
    status = request.GET.get("status", "")
    if status not in OrderStatus.values:
        status = ""
    found = selectors.order_list(actor=who, status=status)
    totals = found.aggregate(total=Sum("amount"))
    ready = (
        selectors.order_list(actor=who, status=OrderStatus.READY)
        .filter(method=PaymentMethod.BANK)
        .aggregate(n=Count("pk"), total=Sum("amount"))
    )
    page = paginate(request, found)
    page.object_list = list(page.object_list)
    for order in page.object_list:
        order.programme_label = selectors.programme_label(order.programme)
    return render(
        request,
        "web/payments/order_list.html",
        {
            "page": page,
            "status": status,
            "statuses": OrderStatus.choices,
            "params": urlencode({"status": status} if status else {}),
            "total": totals["total"] or Decimal("0"),
            "ready": ready,
            "form": form if counties else None,
        },
    )


class MethodForm(BootstrapForm):
    method = forms.ChoiceField(
        label=gettext_lazy("发放方式"),
        choices=PaymentMethod.choices,
        widget=forms.RadioSelect(attrs={"class": "form-check-input"}),
    )
    bank_name = forms.CharField(
        label=gettext_lazy("开户银行"),
        max_length=60,
        required=False,
        help_text=gettext_lazy("银行代发时填写，如：宁夏银行大武口支行"),
    )
    account_number = forms.CharField(
        label=gettext_lazy("银行账号"),
        max_length=40,
        required=False,
        help_text=gettext_lazy("银行代发时填写：12至30位数字，加密保存，页面只显示首尾四位"),
        widget=forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )


class CashForm(BootstrapForm):
    receipt_number = forms.CharField(label=gettext_lazy("收据编号"), max_length=40)
    paid_on = forms.DateField(label=gettext_lazy("发放日期"), widget=forms.DateInput(attrs={"type": "date"}))
    recipient_name = forms.CharField(label=gettext_lazy("领款人"), max_length=60)
    recipient_signed = forms.BooleanField(
        label=gettext_lazy("领款人已在收据上签字"),
        required=False,
        widget=forms.CheckboxInput(attrs={"class": "form-check-input"}),
    )
    note = forms.CharField(label=gettext_lazy("备注"), max_length=300, required=False)


class CancelForm(BootstrapForm):
    reason = _reason_field(gettext_lazy("撤销原因"))


class RecoverForm(BootstrapForm):
    amount = _money_field(gettext_lazy("追回金额（元）"))
    reason = _reason_field(gettext_lazy("追回原因"))


@dataclass(frozen=True)
class OrderAction:
    title: Any
    form: type[forms.Form]
    button: str  # Bootstrap button style


ORDER_ACTIONS: dict[str, OrderAction] = {
    "method": OrderAction(gettext_lazy("确定发放方式"), MethodForm, "primary"),
    "cash": OrderAction(gettext_lazy("现金发放"), CashForm, "success"),
    "cancel": OrderAction(gettext_lazy("撤销支付单"), CancelForm, "outline-danger"),
    "recover": OrderAction(gettext_lazy("追回"), RecoverForm, "outline-warning"),
}


def _order_forms(who: Any, detail: selectors.OrderDetail) -> dict[str, forms.Form]:
    """The actions the order's state and the actor's permissions allow, each with its empty form."""
    order = detail.order
    unpaid = order.status in (OrderStatus.AWAITING, OrderStatus.READY)
    failed = order.status == OrderStatus.BATCHED and any(
        line.status == LineStatus.FAILED for line in detail.lines
    )
    found: dict[str, forms.Form] = {}
    if _may_order(who) and (unpaid or failed):
        found["method"] = MethodForm(
            initial={
                "method": PaymentMethod.BANK if failed else order.method or PaymentMethod.BANK,
                "bank_name": order.bank_name,
            }
        )
        if failed:  # only the account of a failed bank payment can be corrected (then re-issued)
            found["method"].fields["method"].choices = [  # type: ignore[attr-defined]
                (PaymentMethod.BANK, PaymentMethod.BANK.label)
            ]
    if _may_order(who) and unpaid:
        found["cash"] = CashForm(
            initial={"paid_on": timezone.localdate(), "recipient_name": order.payee.name}
        )
    if who.can(Perm.PAYROLL_RUN) and unpaid:
        found["cancel"] = CancelForm()
    if who.can(Perm.PAYROLL_RUN) and detail.paid and detail.recovered < order.amount:
        found["recover"] = RecoverForm()
    return found


def _render_order(
    request: HttpRequest, detail: selectors.OrderDetail, bound: dict[str, forms.Form] | None = None
) -> HttpResponse:
    who = actor(request)
    found = _order_forms(who, detail)
    found.update(bound or {})
    order = detail.order
    return render(
        request,
        "web/payments/order_detail.html",
        {
            "x": detail,
            "order": order,
            "programme_label": selectors.programme_label(order.programme),
            "decision": selectors.decision_of(order.case) if order.case is not None else None,
            "actions": [(slug, ORDER_ACTIONS[slug], found[slug]) for slug in ORDER_ACTIONS if slug in found],
            "failed": any(line.status == LineStatus.FAILED for line in detail.lines),
        },
    )


@staff_view(Perm.PAYMENT_VIEW)
@require_safe
def order_detail(request: HttpRequest, order_id: int) -> HttpResponse:
    """One order: what it pays and why, its bank lines, its fund entries, its cash receipt, and the
    actions its state allows."""
    return _render_order(request, selectors.order_get(actor=actor(request), order_id=order_id))


def _apply_order_action(who: Any, order_id: int, action: str, data: dict[str, Any]) -> None:
    if action == "method":
        orders.order_set_method(
            actor=who,
            order_id=order_id,
            method=data["method"],
            bank_name=data["bank_name"],
            account_number=data["account_number"],
        )
    elif action == "cash":
        orders.order_pay_cash(
            actor=who,
            order_id=order_id,
            receipt_number=data["receipt_number"],
            paid_on=data["paid_on"],
            recipient_name=data["recipient_name"],
            recipient_signed=data["recipient_signed"],
            note=data["note"],
        )
    elif action == "cancel":
        orders.order_cancel(actor=who, order_id=order_id, reason=data["reason"])
    elif action == "recover":
        orders.order_recover(actor=who, order_id=order_id, amount=data["amount"], reason=data["reason"])


def _order_action(request: HttpRequest, order_id: int, action: str) -> HttpResponse:
    """A POSTed action on an order in scope: done, back to the order; refused, the order page again
    with the form and its reasons in Chinese."""
    who = actor(request)
    detail = selectors.order_get(actor=who, order_id=order_id)
    spec = ORDER_ACTIONS[action]
    form = spec.form(request.POST)
    if form.is_valid():
        try:
            _apply_order_action(who, detail.order.pk, action, form.cleaned_data)
        except SHOWN_ERRORS as exc:
            _show_error(form, exc)
        else:
            flash_done(request, _("已办理：%(action)s") % {"action": spec.title})
            return redirect("web:order", order_id=detail.order.pk)
    return _render_order(request, detail, {action: form})


@staff_view(Perm.PAYMENT_VIEW)
@require_POST
def order_method(request: HttpRequest, order_id: int) -> HttpResponse:
    if not _may_order(actor(request)):
        return forbidden(request)
    return _order_action(request, order_id, "method")


@staff_view(Perm.PAYMENT_VIEW)
@require_POST
def order_cash(request: HttpRequest, order_id: int) -> HttpResponse:
    if not _may_order(actor(request)):
        return forbidden(request)
    return _order_action(request, order_id, "cash")


@staff_view(Perm.PAYROLL_RUN)
@require_POST
def order_cancel(request: HttpRequest, order_id: int) -> HttpResponse:
    return _order_action(request, order_id, "cancel")


@staff_view(Perm.PAYROLL_RUN)
@require_POST
def order_recover(request: HttpRequest, order_id: int) -> HttpResponse:
    return _order_action(request, order_id, "recover")


class BackPayOrderForm(BootstrapForm):
    amount = _money_field(gettext_lazy("补发金额（元）"), min_value=Decimal("0.01"))
    month = _month_field(gettext_lazy("补发所属月份"), help_text=gettext_lazy("补发的是哪个月份的待遇"))
    reason = _reason_field(gettext_lazy("补发理由"))


@staff_view(Perm.PAYROLL_RUN)
@require_http_methods(["GET", "POST"])
def enrolment_back_pay_order(request: HttpRequest, enrolment_id: int) -> HttpResponse:
    """Back pay of an enrolment paid now, by its own payment order (补发（单独发放）), not with the
    next monthly line."""
    who = actor(request)
    enrolment = selectors.enrolment_get(actor=who, enrolment_id=enrolment_id)
    form = BackPayOrderForm(
        request.POST if request.method == "POST" else None,
        initial={"month": services.first_of_month(timezone.localdate())},
    )
    if request.method == "POST" and form.is_valid():
        try:
            order = orders.back_pay_order(
                actor=who,
                enrolment_id=enrolment.pk,
                amount=form.cleaned_data["amount"],
                month=form.cleaned_data["month"],
                reason=form.cleaned_data["reason"],
            )
        except SHOWN_ERRORS as exc:
            _show_error(form, exc)
        else:
            flash_done(request, _("已生成补发支付单：%(amount)s 元") % {"amount": order.amount})
            return redirect("web:order", order_id=order.pk)
    return render(
        request,
        "web/payments/enrolment_change.html",
        {"enrolment": enrolment, "form": form, "title": _("补发（单独发放）"), "change": "back-pay-order"},
    )


# --- Funds (资金台账) ----------------------------------------------------------------------------------


class AllocateForm(BootstrapForm):
    township_code = forms.ChoiceField(label=gettext_lazy("乡镇（街道）"))
    kind = forms.ChoiceField(label=gettext_lazy("资金类别"), choices=FundKind.choices)
    amount = _money_field(gettext_lazy("拨入金额（元）"), min_value=Decimal("0.01"))
    month = _month_field(gettext_lazy("所属月份"))
    note = forms.CharField(label=gettext_lazy("拨款依据（文号）"), max_length=300)

    def __init__(self, *args: Any, townships: list[tuple[str, str]], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["township_code"].choices = townships  # type: ignore[attr-defined]


def _townships(request: HttpRequest) -> list[tuple[str, str]]:
    """The townships a county office allocates funds to (its own county's)."""
    who = actor(request)
    if len(jurisdiction_of(who).prefix) > 6:
        return []
    found = scoped(Division.objects.filter(level=4), who, field="code").order_by("code")
    return [(d.code, f"{d.name}（{d.code[:9]}）") for d in found]


@dataclass(frozen=True)
class FundRow:
    township_code: str
    township_name: str
    kind: str
    kind_label: str
    balance: Decimal


def _ledger(request: HttpRequest) -> tuple[list[FundRow], list[selectors.LedgerRow], dict[str, Decimal]]:
    who = actor(request)
    funds = selectors.funds_of(actor=who)
    names = dict(
        Division.objects.filter(code__in={f.township_code for f in funds}).values_list("code", "name")
    )
    rows = [
        FundRow(
            f.township_code,
            names.get(f.township_code, f.township_code),
            f.kind,
            str(FundKind(f.kind).label),
            f.balance,
        )
        for f in funds
    ]
    ledger = selectors.fund_ledger(actor=who)
    totals = {
        key: sum((getattr(r, key) for r in ledger), Decimal("0"))
        for key in ("budget", "paid", "recovered", "pending")
    }
    totals["balance"] = sum((f.balance for f in funds), Decimal("0"))
    return rows, ledger, totals


@staff_view(Perm.PAYMENT_VIEW)
@require_http_methods(["GET", "POST"])
def fund_ledger(request: HttpRequest) -> HttpResponse:
    """The township funds (临时救助资金, 备用金): balances, the ledger by month, and the county's
    allocations to them."""
    who = actor(request)
    townships = _townships(request) if who.can(Perm.PAYROLL_RUN) else []
    form = AllocateForm(
        request.POST if request.method == "POST" else None,
        townships=townships,
        initial={"month": services.first_of_month(timezone.localdate()), "kind": FundKind.ASSISTANCE},
    )
    if request.method == "POST":
        if not who.can(Perm.PAYROLL_RUN):
            return forbidden(request)
        if form.is_valid():
            try:
                entry = orders.fund_allocate(
                    actor=who,
                    township_code=form.cleaned_data["township_code"],
                    kind=form.cleaned_data["kind"],
                    amount=form.cleaned_data["amount"],
                    month=form.cleaned_data["month"],
                    note=form.cleaned_data["note"],
                )
            except SHOWN_ERRORS as exc:
                _show_error(form, exc)
            else:
                flash_done(
                    request,
                    _("已拨入 %(amount)s 元，余额 %(balance)s 元")
                    % {"amount": entry.amount, "balance": entry.balance_after},
                )
                return redirect("web:funds")
    funds, ledger, totals = _ledger(request)
    return render(
        request,
        "web/payments/fund_ledger.html",
        {"funds": funds, "ledger": ledger, "totals": totals, "form": form if townships else None},
    )


LEDGER_HEADERS = (
    gettext_noop("乡镇（街道）"),
    gettext_noop("资金类别"),
    gettext_noop("月份"),
    gettext_noop("拨入（元）"),
    gettext_noop("支出（元）"),
    gettext_noop("追回（元）"),
    gettext_noop("待发放（元）"),
    gettext_noop("月末余额（元）"),
)


@staff_view(Perm.PAYMENT_VIEW)
@require_safe
def fund_ledger_xlsx(request: HttpRequest) -> HttpResponse:
    """The fund ledger as an Excel workbook, with its totals row."""
    _funds, ledger, totals = _ledger(request)
    book = Workbook()
    sheet = book.active
    assert sheet is not None  # noqa: S101 - a new workbook has its sheet
    sheet.title = _("资金台账")
    sheet.append([_(h) for h in LEDGER_HEADERS])
    for row in ledger:
        sheet.append(
            [
                neutralise(row.township_name),
                neutralise(_(row.kind_label)),
                f"{row.month:%Y-%m}",
                row.budget,
                row.paid,
                row.recovered,
                row.pending,
                row.balance,
            ]
        )
    sheet.append(
        [
            _("合计"),
            "",
            "",
            totals["budget"],
            totals["paid"],
            totals["recovered"],
            totals["pending"],
            totals["balance"],
        ]
    )
    for cells in sheet.iter_rows(min_row=2, min_col=4, max_col=8):
        for cell in cells:
            cell.number_format = "#,##0.00"
    for letter, width in zip("ABCDEFGH", (20, 18, 10, 14, 14, 14, 14, 16), strict=True):
        sheet.column_dimensions[letter].width = width
    out = io.BytesIO()
    book.save(out)
    return _attachment(out.getvalue(), f"资金台账_{timezone.localdate():%Y%m%d}.xlsx", XLSX)
