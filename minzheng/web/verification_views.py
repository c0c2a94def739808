"""Verification pages (家庭经济状况核对): a case's authorisation checklist with the form to record one
and the button that sends the request to every department; the county's list of requests in
progress; a request's page (each department's state and due date, the findings per member with
their dispositions, the report button); the printable report.

Thin: a form in, one service or selector call, a template out. Domain errors are shown in Chinese
on the page, never as a server error.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from minzheng.core.errors import Conflict, DomainError, InvalidInput, NotFound, OutOfScope, PermissionDenied
from minzheng.core.identifiers import InvalidIdentifier, parse_resident_id
from minzheng.core.permissions import Perm
from minzheng.org.scope import jurisdiction_of
from minzheng.registry import selectors as registry_selectors
from minzheng.verification import pdf, recheck, selectors, services
from minzheng.verification.models import Disposition, Finding, RequestStatus, SignerRole
from minzheng.web.base import BootstrapForm, actor, flash_done, paginate, staff_view

SHOWN_ERRORS = (InvalidInput, Conflict, PermissionDenied)


def callback_site(request: HttpRequest) -> str:
    """Where the departments call us back: the configured address, else the one this request came
    in on."""
    return getattr(settings, "MINZHENG_EXCHANGE_CALLBACK_BASE", "") or request.build_absolute_uri("/")


def _error_text(exc: DomainError) -> str:
    details = [e for errs in exc.field_errors.values() for e in errs if e not in exc.message]
    return "；".join([_(exc.message), *map(_, details)]) if details else _(exc.message)


# --- A case's authorisations and request ---------------------------------------------------------


class AuthorisationForm(BootstrapForm):
    person = forms.TypedChoiceField(label=gettext_lazy("被核对人"), coerce=int, required=False)
    id_number = forms.CharField(
        label=gettext_lazy("或：义务人身份证号"),
        required=False,
        max_length=18,
        help_text=gettext_lazy("赡养、抚养、扶养义务人不在本户时，按身份证号查找已登记人员"),
    )
    role = forms.ChoiceField(
        label=gettext_lazy("签署身份"),
        choices=[
            (SignerRole.MEMBER.value, gettext_lazy("本人")),
            (SignerRole.GUARDIAN.value, gettext_lazy("监护人")),
            (SignerRole.SUPPORTER.value, gettext_lazy("义务人")),
        ],
    )
    signer_name = forms.CharField(label=gettext_lazy("签署人"), max_length=60)
    signed_on = forms.DateField(
        label=gettext_lazy("签署日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    reference = forms.CharField(label=gettext_lazy("授权书编号"), max_length=60, required=False)

    def __init__(self, *args: Any, members: list[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["person"].choices = [("", "—"), *((p.pk, f"{p.name}（{p.id_masked}）") for p in members)]  # type: ignore[attr-defined]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("person") and not (data.get("id_number") or "").strip():
            self.add_error("person", _("请选择被核对人，或填写义务人身份证号"))
        return data


def _case_page(
    request: HttpRequest, case_id: int, *, form: AuthorisationForm | None = None, send_error: str = ""
) -> HttpResponse:
    who = actor(request)
    view = selectors.case_verification(actor=who, case_id=case_id)
    can_record = view.verifiable and who.can(Perm.CASE_INVESTIGATE)
    if form is None and can_record:
        form = AuthorisationForm(
            members=[m.person for m in view.members], initial={"signed_on": timezone.localdate()}
        )
    names = selectors.department_names()
    context = {
        "case": view.case,
        "view": view,
        "form": form if can_record else None,
        "can_send": view.verifiable and who.can(Perm.CASE_REVIEW_COUNTY) and view.current is None,
        "send_error": send_error,
        "requests": [(r, selectors.query_rows(r, names)) for r in view.requests],
    }
    status = 200 if not (send_error or (form is not None and form.errors)) else 422
    return render(request, "web/verification/case.html", context, status=status)


@staff_view(Perm.CASE_VIEW)
@require_safe
def case_verification(request: HttpRequest, case_id: int) -> HttpResponse:
    return _case_page(request, case_id)


def _person_by_number(request: HttpRequest, number: str) -> int:
    try:
        parse_resident_id(number)
    except InvalidIdentifier as exc:
        raise InvalidInput(_("身份证号无效"), field_errors={"id_number": [_("身份证号无效")]}) from exc
    found = registry_selectors.person_list(actor=actor(request), search=number).first()
    if found is None:
        raise InvalidInput(
            _("没有找到该身份证号的登记人员"), field_errors={"id_number": [_("请先在家庭档案中登记该义务人")]}
        )
    return found.pk


@staff_view(Perm.CASE_INVESTIGATE)
@require_POST
def case_authorisation(request: HttpRequest, case_id: int) -> HttpResponse:
    who = actor(request)
    view = selectors.case_verification(actor=who, case_id=case_id)
    form = AuthorisationForm(request.POST, members=[m.person for m in view.members])
    if form.is_valid():
        data = form.cleaned_data
        try:
            number = (data.get("id_number") or "").strip()
            person_id = data["person"] if data.get("person") else _person_by_number(request, number)
            services.authorisation_record(
                actor=who,
                case_id=view.case.pk,
                person_id=person_id,
                role=data["role"],
                signer_name=data["signer_name"],
                signed_on=data["signed_on"],
                reference=data.get("reference", ""),
            )
        except (*SHOWN_ERRORS, NotFound) as exc:
            for field, errs in exc.field_errors.items():
                target = {"person_id": "person"}.get(field, field)
                for err in errs:
                    form.add_error(target if target in form.fields else None, err)
            if exc.message not in [str(e) for e in form.non_field_errors()]:
                form.add_error(None, _(exc.message))
        else:
            flash_done(request, _("已登记核对授权"))
            return redirect(reverse("web:case_verification", args=[view.case.pk]))
    return _case_page(request, view.case.pk, form=form)


@staff_view(Perm.CASE_REVIEW_COUNTY)
@require_POST
def case_verification_send(request: HttpRequest, case_id: int) -> HttpResponse:
    """提请核对: one request to every department; each answers later at our callback."""
    who = actor(request)
    view = selectors.case_verification(actor=who, case_id=case_id)
    try:
        sent = services.request_send(actor=who, case_id=view.case.pk, site=callback_site(request))
    except SHOWN_ERRORS as exc:
        return _case_page(request, view.case.pk, send_error=_error_text(exc))
    flash_done(request, _("已提请家庭经济状况核对，各部门反馈后将显示在本页"))
    return redirect(reverse("web:verification", args=[sent.pk]))


# --- Requests ------------------------------------------------------------------------------------


class RequestFilterForm(BootstrapForm):
    status = forms.ChoiceField(
        label=gettext_lazy("状态"),
        required=False,
        choices=[("", gettext_lazy("进行中")), ("all", gettext_lazy("全部")), *RequestStatus.choices],
    )


@staff_view(Perm.CASE_VIEW)
@require_safe
def request_list(request: HttpRequest) -> HttpResponse:
    """家庭经济状况核对: the requests in progress with their departments' states and due dates."""
    form = RequestFilterForm(request.GET)
    status = form.cleaned_data.get("status", "") if form.is_valid() else ""
    qs = selectors.request_list(
        actor=actor(request),
        in_progress=status == "",
        status="" if status == "all" else status,
    )
    page = paginate(request, qs)
    names = selectors.department_names()
    rows = [(r, selectors.query_rows(r, names)) for r in page]
    params = f"status={status}" if status else ""
    return render(
        request,
        "web/verification/request_list.html",
        {"form": form, "page": page, "rows": rows, "params": params, "today": timezone.localdate()},
    )


class DispositionForm(BootstrapForm):
    disposition = forms.ChoiceField(
        label=gettext_lazy("处理"),
        choices=[(Disposition.ACCEPTED, gettext_lazy("采信")), (Disposition.EXPLAINED, gettext_lazy("说明"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=gettext_lazy("处理说明"), max_length=300)


@dataclass(frozen=True)
class FindingRow:
    finding: Finding
    label: str
    department: str
    form: DispositionForm | None
    error: str


@dataclass(frozen=True)
class MemberFindings:
    name: str
    rows: list[FindingRow]


def _request_context(
    request: HttpRequest, request_id: int, *, failed: tuple[int, DispositionForm, str] | None = None
) -> dict[str, Any]:
    who = actor(request)
    found = selectors.request_get(actor=who, request_id=request_id)
    names = selectors.department_names()
    may_work = who.can(Perm.CASE_REVIEW_COUNTY)
    open_to_dispose = found.status in (RequestStatus.OPEN, RequestStatus.ANSWERED)
    groups: dict[str, list[FindingRow]] = {}
    for f in found.findings.all():
        form: DispositionForm | None = None
        error = ""
        if f.discrepancy and may_work and open_to_dispose:
            if failed is not None and failed[0] == f.pk:
                form, error = failed[1], failed[2]
            else:
                initial = {"disposition": f.disposition, "note": f.disposition_note}
                form = DispositionForm(initial=initial, auto_id=f"id_f{f.pk}_%s")
        label = _(selectors.item_label(f.item))
        groups.setdefault(f.person.name if f.person else _("（未匹配）"), []).append(
            FindingRow(f, label, names.get(f.query.counterparty, f.query.counterparty), form, error)
        )
    rows = selectors.query_rows(found, names)
    report = getattr(found, "report", None)
    return {
        "vr": found,
        "case": found.case,
        "queries": rows,
        "members": [MemberFindings(name, items) for name, items in groups.items()],
        "pending": selectors.pending_dispositions(found),
        "can_resend": may_work
        and found.status == RequestStatus.OPEN
        and any(r.query.status == "failed" for r in rows),
        "can_report": may_work and found.status == RequestStatus.ANSWERED and report is None,
        "report": report,
        # After the report: the applicant's objection to a finding, and the re-check of those contested.
        "can_contest": who.can(Perm.CASE_INVESTIGATE) and found.status == RequestStatus.REPORTED,
        "can_recheck": may_work
        and found.status == RequestStatus.REPORTED
        and found.findings.filter(disposition="contested").exists(),
        "polling": found.status == RequestStatus.OPEN,
    }


@staff_view(Perm.CASE_VIEW)
@require_safe
def request_detail(request: HttpRequest, verification_id: int) -> HttpResponse:
    """The request page; while departments are still to answer, htmx asks for their states again
    every few seconds."""
    context = _request_context(request, verification_id)
    if request.htmx:  # type: ignore[attr-defined]
        response = render(request, "web/verification/_queries.html", context)
        if not context["polling"]:
            # The answers are in: the whole page again, with the findings to dispose of.
            response["HX-Refresh"] = "true"
        return response
    return render(request, "web/verification/request.html", context)


def _back(request_id: int, anchor: str = "") -> HttpResponse:
    return redirect(reverse("web:verification", args=[request_id]) + (f"#{anchor}" if anchor else ""))


@staff_view(Perm.CASE_REVIEW_COUNTY)
@require_POST
def request_resend(request: HttpRequest, verification_id: int) -> HttpResponse:
    who = actor(request)
    found = selectors.request_get(actor=who, request_id=verification_id)
    try:
        services.request_resend(actor=who, request_id=found.pk, site=callback_site(request))
    except SHOWN_ERRORS as exc:
        messages.error(request, _error_text(exc))
    else:
        flash_done(request, _("已重新发送失败的查询"))
    return _back(found.pk)


@staff_view(Perm.CASE_REVIEW_COUNTY)
@require_POST
def finding_dispose(request: HttpRequest, finding_id: int) -> HttpResponse:
    who = actor(request)
    finding = selectors.finding_get(actor=who, finding_id=finding_id)
    form = DispositionForm(request.POST, auto_id=f"id_f{finding.pk}_%s")
    error = ""
    if form.is_valid():
        try:
            services.finding_dispose(
                actor=who,
                finding_id=finding.pk,
                disposition=form.cleaned_data["disposition"],
                note=form.cleaned_data["note"],
            )
        except SHOWN_ERRORS as exc:
            error = _error_text(exc)
        else:
            flash_done(request, _("已处理核对结果"))
            return _back(finding.request_id, "findings")
    else:
        error = _("请选择采信或说明，并填写处理说明")
    context = _request_context(request, finding.request_id, failed=(finding.pk, form, error))
    return render(request, "web/verification/request.html", context, status=422)


@staff_view(Perm.CASE_INVESTIGATE)
@require_POST
def finding_contest(request: HttpRequest, finding_id: int) -> HttpResponse:
    """登记异议: the applicant's statement and evidence against a finding of an issued report."""
    who = actor(request)
    finding = selectors.finding_get(actor=who, finding_id=finding_id)
    try:
        services.finding_contest(
            actor=who,
            finding_id=finding.pk,
            statement=request.POST.get("statement", ""),
            evidence=request.POST.get("evidence", ""),
        )
    except SHOWN_ERRORS as exc:
        messages.error(request, _error_text(exc))
    else:
        flash_done(request, _("已登记异议，待复核"))
    return _back(finding.request_id, "findings")


@staff_view(Perm.CASE_REVIEW_COUNTY)
@require_POST
def request_recheck(request: HttpRequest, verification_id: int) -> HttpResponse:
    """复核: the contested items asked again; the new request's page."""
    who = actor(request)
    found = selectors.request_get(actor=who, request_id=verification_id)
    try:
        recheck = services.recheck_send(actor=who, request_id=found.pk, site=callback_site(request))
    except SHOWN_ERRORS as exc:
        messages.error(request, _error_text(exc))
        return _back(found.pk)
    flash_done(request, _("已提请复核"))
    return _back(recheck.pk)


@staff_view(Perm.CASE_REVIEW_COUNTY)
@require_POST
def report_issue(request: HttpRequest, verification_id: int) -> HttpResponse:
    who = actor(request)
    found = selectors.request_get(actor=who, request_id=verification_id)
    try:
        report = services.report_issue(actor=who, request_id=found.pk)
    except SHOWN_ERRORS as exc:
        messages.error(request, _error_text(exc))
        return _back(found.pk)
    flash_done(request, _("已出具核对报告 %(number)s") % {"number": report.number})
    return redirect(reverse("web:verification_report", args=[report.pk]))


@staff_view(Perm.CASE_VIEW)
@require_safe
def report_print(request: HttpRequest, verification_report_id: int) -> HttpResponse:
    """核对报告: A4, printed from the browser; its content as frozen when issued, with the digest."""
    report = selectors.report_get(actor=actor(request), report_id=verification_report_id)
    case = report.request.case
    return render(
        request,
        "web/verification/print_report.html",
        {
            "report": report,
            "content": report.content,
            "case": case,
            "title": _("家庭经济状况核对报告"),
            "county": case.division.parent.parent if case and case.division.parent else None,
        },
    )


@staff_view(Perm.CASE_VIEW)
@require_safe
def report_pdf(request: HttpRequest, verification_report_id: int) -> HttpResponse:
    """核对报告 as a PDF file (A4), from the content frozen when it was issued."""
    report = selectors.report_get(actor=actor(request), report_id=verification_report_id)
    name, data = pdf.report_file(report)
    response = HttpResponse(data, content_type="application/pdf")
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(name)}"
    return response


# --- The monthly re-check of recipients -----------------------------------------------------------


class RecheckForm(BootstrapForm):
    county = forms.CharField(label=gettext_lazy("县（区）代码"), max_length=6, min_length=6)
    month = forms.DateField(
        label=gettext_lazy("核对月份"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
        help_text=gettext_lazy("该月底前到期复核的在保家庭，全部成员向各部门批量核对"),
    )


def _recheck_list_page(request: HttpRequest, form: RecheckForm, status: int = 200) -> HttpResponse:
    who = actor(request)
    page = paginate(request, selectors.recheck_batches(actor=who))
    names = selectors.department_names()
    rows = [(b, selectors.query_rows(b, names)) for b in page]
    return render(
        request,
        "web/verification/recheck_list.html",
        {"form": form, "page": page, "rows": rows, "may_create": who.can(Perm.CASE_REVIEW_COUNTY)},
        status=status,
    )


@staff_view(Perm.CASE_REVIEW_COUNTY)
@require_http_methods(["GET", "POST"])
def recheck_list(request: HttpRequest) -> HttpResponse:
    """在保对象定期核对: the county's monthly batches; the form starts a month's batch and sends its
    files to every department."""
    who = actor(request)
    if request.method != "POST":
        initial = {"county": jurisdiction_of(who).division_code[:6], "month": timezone.localdate()}
        return _recheck_list_page(request, RecheckForm(initial=initial))
    form = RecheckForm(request.POST)
    if not form.is_valid():
        return _recheck_list_page(request, form, status=422)
    try:
        batch = recheck.batch_create(
            actor=who, county=form.cleaned_data["county"], month=form.cleaned_data["month"]
        )
    except (*SHOWN_ERRORS, OutOfScope) as exc:
        form.add_error(None, _error_text(exc))
        return _recheck_list_page(request, form, status=422)
    recheck.batch_send(batch_id=batch.pk, actor=who)
    flash_done(request, _("已生成定期核对批次并向各部门发送核对文件"))
    return redirect("web:recheck", batch.pk)


@staff_view(Perm.CASE_REVIEW_COUNTY)
@require_safe
def recheck_detail(request: HttpRequest, batch_id: int) -> HttpResponse:
    """A batch: each department's state, and what differs from the declarations (each hit with the
    re-review task it opened for the township)."""
    who = actor(request)
    batch = selectors.recheck_batch_get(actor=who, batch_id=batch_id)
    names = selectors.department_names()
    rows = selectors.query_rows(batch, names)
    page = paginate(request, selectors.recheck_hits(actor=who, batch_id=batch.pk))
    hits = [
        (h, _(selectors.item_label(h.item)), names.get(h.query.counterparty, h.query.counterparty))
        for h in page
    ]
    return render(
        request,
        "web/verification/recheck.html",
        {
            "batch": batch,
            "queries": rows,
            "page": page,
            "hits": hits,
            "can_resend": batch.status == RequestStatus.OPEN
            and any(r.query.status in ("queued", "failed") for r in rows),
        },
    )


@staff_view(Perm.CASE_REVIEW_COUNTY)
@require_POST
def recheck_send(request: HttpRequest, batch_id: int) -> HttpResponse:
    who = actor(request)
    batch = selectors.recheck_batch_get(actor=who, batch_id=batch_id)
    try:
        recheck.batch_send(batch_id=batch.pk, actor=who)
    except SHOWN_ERRORS as exc:
        messages.error(request, _error_text(exc))
    else:
        flash_done(request, _("已重新发送未送达的核对文件"))
    return redirect("web:recheck", batch.pk)
