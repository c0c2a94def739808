"""Monitoring pages (低收入人口动态监测, 主动发现): the county's and township's warnings by state and age
with the list to act on; a warning's page, usable on a phone, with its steps (sign for it, record the
two-worker visit with photos, verify, dispose); the departments' feeds and their import; the rules
with their hit and true-positive rates and a form for a county's own version; the emergency report.

Thin: a form in, one service or selector call, a template out; domain errors shown in Chinese."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from minzheng.catalogue import selectors as catalogue_selectors
from minzheng.core.errors import Conflict, InvalidInput, NotFound, OutOfScope, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.core.uploads import Upload
from minzheng.monitoring import selectors, services
from minzheng.monitoring.models import Cohort, Direction, EventType, Outcome, Severity, WarningState
from minzheng.org.scope import jurisdiction_of
from minzheng.registry.models import Household, Membership
from minzheng.web.base import (
    BootstrapForm,
    actor,
    apply_domain_error,
    flash_done,
    forbidden,
    paginate,
    staff_view,
    xlsx_response,
)

SHOWN = (InvalidInput, Conflict, PermissionDenied, OutOfScope)


class FilterForm(BootstrapForm):
    state = forms.ChoiceField(
        label=gettext_lazy("状态"), required=False, choices=[("", "—"), *WarningState.choices]
    )
    overdue = forms.BooleanField(label=gettext_lazy("只看逾期"), required=False)
    rule = forms.CharField(label=gettext_lazy("规则代码"), required=False, max_length=40)


@staff_view(Perm.MONITORING_VIEW)
@require_safe
def monitoring_home(request: HttpRequest) -> HttpResponse:
    """监测预警: warnings by state and age since the clue, overdue and escalated; the list to act on."""
    who = actor(request)
    form = FilterForm(request.GET)
    data = form.cleaned_data if form.is_valid() else {}
    qs = selectors.warnings(
        actor=who,
        state=data.get("state", ""),
        overdue=bool(data.get("overdue")),
        rule=data.get("rule", ""),
        open_only=not data.get("state"),
    )
    return render(
        request,
        "web/monitoring/home.html",
        {
            "form": form,
            "overview": selectors.overview(actor=who),
            "page": paginate(request, qs),
            "today": timezone.localdate(),
            "bands": [f"{low}–{high}" if high else f"{low}+" for low, high in selectors.AGE_BANDS],
        },
    )


class VisitForm(BootstrapForm):
    visited_on = forms.DateField(
        label=gettext_lazy("入户日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    workers = forms.CharField(
        label=gettext_lazy("入户人员"), max_length=200, help_text=gettext_lazy("两人以上，用顿号或逗号分隔")
    )
    findings = forms.CharField(
        label=gettext_lazy("核实情况"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3})
    )
    photo1 = forms.FileField(
        label=gettext_lazy("现场照片"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )
    photo2 = forms.FileField(
        label=gettext_lazy("现场照片（二）"),
        required=False,
        widget=forms.ClearableFileInput(attrs={"accept": "image/*", "capture": "environment"}),
    )


class VerifyForm(BootstrapForm):
    true = forms.TypedChoiceField(
        label=gettext_lazy("核实结论"),
        choices=[("1", gettext_lazy("属实")), ("0", gettext_lazy("不属实"))],
        coerce=lambda v: v == "1",
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=gettext_lazy("说明"), max_length=300)


class DisposeForm(BootstrapForm):
    outcome = forms.ChoiceField(label=gettext_lazy("处置结果"), choices=Outcome.choices)
    item_code = forms.ChoiceField(label=gettext_lazy("申请事项（引导申请、临时救助时）"), required=False)
    referred_to = forms.CharField(label=gettext_lazy("转介部门（转介时）"), required=False, max_length=60)
    reason = forms.CharField(label=gettext_lazy("处置说明"), max_length=300)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        items = [(i.code, i.name) for i in catalogue_selectors.item_list()]
        self.fields["item_code"].choices = [("", "—"), *items]  # type: ignore[attr-defined]


def _forms(request: HttpRequest, action: str = "", bound: BootstrapForm | None = None) -> dict[str, Any]:
    made = {
        "visit": VisitForm(initial={"visited_on": timezone.localdate()}, auto_id="visit_%s"),
        "verify": VerifyForm(auto_id="verify_%s"),
        "dispose": DisposeForm(auto_id="dispose_%s"),
    }
    if bound is not None:
        made[action] = bound
    return made


def _warning_page(
    request: HttpRequest, warning_id: int, *, action: str = "", bound: Any = None, status: int = 200
) -> HttpResponse:
    who = actor(request)
    warning = selectors.warning_get(actor=who, warning_id=warning_id)
    return render(
        request,
        "web/monitoring/warning.html",
        {
            "w": warning,
            "visits": warning.visits.prefetch_related("photos"),
            "forms": _forms(request, action, bound),
            "may_handle": who.can(Perm.MONITORING_HANDLE),
            "today": timezone.localdate(),
        },
        status=status,
    )


@staff_view(Perm.MONITORING_VIEW)
@require_http_methods(["GET", "POST"])
def warning_detail(request: HttpRequest, warning_id: int) -> HttpResponse:
    """A warning and its steps; POST `action` = accept / visit / verify / dispose."""
    if request.method != "POST":
        return _warning_page(request, warning_id)
    who = actor(request)
    if not who.can(Perm.MONITORING_HANDLE):
        return forbidden(request)
    found = selectors.warning_get(actor=who, warning_id=warning_id)
    action = request.POST.get("action", "")
    form: Any = None
    try:
        if action == "accept":
            services.warning_accept(actor=who, warning_id=found.pk)
        elif action == "visit":
            form = VisitForm(request.POST, request.FILES, auto_id="visit_%s")
            if not form.is_valid():
                return _warning_page(request, found.pk, action=action, bound=form, status=422)
            photos = [
                Upload(f.name or "photo", f.content_type or "", f.read(5 * 1024 * 1024 + 1))
                for f in (form.cleaned_data.get("photo1"), form.cleaned_data.get("photo2"))
                if f
            ]
            workers = form.cleaned_data["workers"].replace("，", "、").replace(",", "、").split("、")
            services.warning_visit(
                actor=who,
                warning_id=found.pk,
                visited_on=form.cleaned_data["visited_on"],
                workers=workers,
                findings=form.cleaned_data["findings"],
                photos=photos,
            )
        elif action == "verify":
            form = VerifyForm(request.POST, auto_id="verify_%s")
            if not form.is_valid():
                return _warning_page(request, found.pk, action=action, bound=form, status=422)
            services.warning_verify(
                actor=who, warning_id=found.pk, true=form.cleaned_data["true"], note=form.cleaned_data["note"]
            )
        elif action == "dispose":
            form = DisposeForm(request.POST, auto_id="dispose_%s")
            if not form.is_valid():
                return _warning_page(request, found.pk, action=action, bound=form, status=422)
            services.warning_dispose(actor=who, warning_id=found.pk, **form.cleaned_data)
        else:
            return _warning_page(request, found.pk, status=422)
    except SHOWN as exc:
        if form is None:
            form = {"visit": VisitForm, "verify": VerifyForm, "dispose": DisposeForm}.get(action, VerifyForm)(
                request.POST, auto_id=f"{action}_%s"
            )
            form.is_valid()
        apply_domain_error(form, exc)
        return _warning_page(
            request, found.pk, action=action if action != "accept" else "verify", bound=form, status=422
        )
    flash_done(request, _("已办理"))
    return redirect("web:monitoring_warning", found.pk)


@staff_view(Perm.MONITORING_VIEW)
@require_safe
def warning_photo(request: HttpRequest, warning_id: int, warning_photo_id: int) -> HttpResponse:
    photo = selectors.photo_get(actor=actor(request), warning_id=warning_id, photo_id=warning_photo_id)
    response = HttpResponse(bytes(photo.content), content_type=photo.content_type)
    response["Cache-Control"] = "private, no-store"
    return response


class FeedForm(BootstrapForm):
    county = forms.CharField(label=gettext_lazy("县（区）代码"), min_length=6, max_length=6)
    department = forms.CharField(label=gettext_lazy("来源部门"), max_length=60)
    event_type = forms.ChoiceField(label=gettext_lazy("数据类别"), choices=EventType.choices)
    period = forms.DateField(
        label=gettext_lazy("所属月份"),
        input_formats=["%Y-%m", "%Y-%m-%d"],
        widget=forms.DateInput(attrs={"type": "month"}, format="%Y-%m"),
    )
    file = forms.FileField(
        label=gettext_lazy("数据文件"),
        help_text=gettext_lazy("Excel（.xlsx）或 CSV（UTF-8），列：身份证号、姓名、日期、金额、说明"),
    )


def _feeds_page(request: HttpRequest, form: FeedForm, status: int = 200) -> HttpResponse:
    who = actor(request)
    return render(
        request,
        "web/monitoring/feeds.html",
        {
            "form": form,
            "page": paginate(request, selectors.feeds(actor=who)),
            "may_import": who.can(Perm.MONITORING_MANAGE),
        },
        status=status,
    )


@staff_view(Perm.MONITORING_VIEW)
@require_http_methods(["GET", "POST"])
def feeds(request: HttpRequest) -> HttpResponse:
    """部门监测数据: the feeds imported, and the import (whole or not at all, with the row report)."""
    who = actor(request)
    if request.method != "POST":
        initial = {"county": jurisdiction_of(who).division_code[:6], "period": timezone.localdate()}
        return _feeds_page(request, FeedForm(initial=initial))
    if not who.can(Perm.MONITORING_MANAGE):
        return forbidden(request)
    form = FeedForm(request.POST, request.FILES)
    if not form.is_valid():
        return _feeds_page(request, form, status=422)
    upload = form.cleaned_data["file"]
    try:
        feed = services.feed_import(
            actor=who,
            county=form.cleaned_data["county"],
            department=form.cleaned_data["department"],
            event_type=form.cleaned_data["event_type"],
            period=form.cleaned_data["period"],
            file_name=upload.name or "feed",
            content=upload.read(),
        )
    except SHOWN as exc:
        form.add_error(None, _(exc.message))
        for problems in exc.field_errors.values():
            for problem in problems:
                form.add_error(None, problem)
        return _feeds_page(request, form, status=422)
    flash_done(
        request,
        _("已导入%(rows)s条，匹配%(matched)s人，产生预警%(warnings)s条")
        % {"rows": feed.rows, "matched": feed.matched, "warnings": feed.warnings},
    )
    return redirect("web:monitoring_feed", feed.pk)


@staff_view(Perm.MONITORING_VIEW)
@require_http_methods(["GET", "POST"])
def feed_detail(request: HttpRequest, feed_id: int) -> HttpResponse:
    """A feed: its figures, the warnings it raised with their outcome, and the feedback workbooks
    issued to the source department (POST issues one)."""
    who = actor(request)
    feed = selectors.feed_get(actor=who, feed_id=feed_id)
    if request.method == "POST":
        if not who.can(Perm.MONITORING_MANAGE):
            return forbidden(request)
        feedback = services.feed_feedback_issue(actor=who, feed_id=feed.pk)
        flash_done(
            request,
            _("已生成反馈文件（最终反馈）")
            if feedback.final
            else _("已生成阶段反馈文件，尚有%(n)s条预警未处置") % {"n": feedback.open_warnings},
        )
        return redirect("web:monitoring_feed", feed.pk)
    qs = selectors.warnings(actor=who).filter(record__feed=feed)
    return render(
        request,
        "web/monitoring/feed.html",
        {
            "feed": feed,
            "page": paginate(request, qs),
            "feedbacks": selectors.feed_feedbacks(actor=who, feed_id=feed.pk),
            "may_manage": who.can(Perm.MONITORING_MANAGE),
        },
    )


@staff_view(Perm.MONITORING_VIEW)
@require_safe
def feed_feedback_file(request: HttpRequest, feed_id: int, feed_feedback_id: int) -> HttpResponse:
    """A feedback workbook as issued (the sealed copy kept in the database)."""
    found = selectors.feed_feedback_get(actor=actor(request), feedback_id=feed_feedback_id)
    if found.feed_id != feed_id:
        raise NotFound("没有找到该反馈文件")
    return xlsx_response(bytes(found.content), f"monitoring-feedback-{found.feed_id}-{found.pk}.xlsx")


class RuleForm(BootstrapForm):
    code = forms.SlugField(label=gettext_lazy("规则代码"), max_length=40)
    name = forms.CharField(label=gettext_lazy("规则名称"), max_length=100)
    region = forms.CharField(label=gettext_lazy("适用县（区）代码"), min_length=6, max_length=6)
    valid_from = forms.DateField(
        label=gettext_lazy("生效日期"), widget=forms.DateInput(attrs={"type": "date"})
    )
    event_type = forms.ChoiceField(label=gettext_lazy("数据类别"), choices=EventType.choices)
    threshold = forms.DecimalField(
        label=gettext_lazy("阈值（元，合计不低于）"), required=False, max_digits=14, decimal_places=2
    )
    cohorts = forms.MultipleChoiceField(
        label=gettext_lazy("适用监测类别"),
        required=False,
        choices=Cohort.choices,
        widget=forms.CheckboxSelectMultiple,
    )
    outside_cohorts = forms.BooleanField(label=gettext_lazy("监测对象以外也预警（新发现）"), required=False)
    direction = forms.ChoiceField(label=gettext_lazy("方向"), choices=Direction.choices)
    severity = forms.TypedChoiceField(label=gettext_lazy("严重程度"), choices=Severity.choices, coerce=int)
    dedupe_days = forms.IntegerField(label=gettext_lazy("去重期（天）"), min_value=0, max_value=366)
    active = forms.BooleanField(label=gettext_lazy("启用"), required=False, initial=True)
    reference = forms.CharField(label=gettext_lazy("依据"), required=False, max_length=200)


def _rules_page(request: HttpRequest, form: RuleForm, status: int = 200) -> HttpResponse:
    who = actor(request)
    return render(
        request,
        "web/monitoring/rules.html",
        {
            "form": form,
            "figures": selectors.rule_figures(actor=who),
            "may_manage": who.can(Perm.MONITORING_MANAGE),
        },
        status=status,
    )


@staff_view(Perm.MONITORING_VIEW)
@require_http_methods(["GET", "POST"])
def rules(request: HttpRequest) -> HttpResponse:
    """预警规则: each rule in force with its hit rate and true-positive rate; a county's new version."""
    who = actor(request)
    if request.method != "POST":
        initial = {
            "region": jurisdiction_of(who).division_code[:6],
            "valid_from": timezone.localdate(),
            "dedupe_days": 90,
        }
        return _rules_page(request, RuleForm(initial=initial))
    if not who.can(Perm.MONITORING_MANAGE):
        return forbidden(request)
    form = RuleForm(request.POST)
    if not form.is_valid():
        return _rules_page(request, form, status=422)
    try:
        services.rule_version_create(actor=who, **form.cleaned_data)
    except SHOWN as exc:
        apply_domain_error(form, exc)
        return _rules_page(request, form, status=422)
    flash_done(request, _("已保存规则的新版本"))
    return redirect("web:monitoring_rules")


class EmergencyForm(BootstrapForm):
    household_number = forms.CharField(label=gettext_lazy("家庭编号"), max_length=20)
    member_name = forms.CharField(label=gettext_lazy("成员姓名"), max_length=60)
    kind = forms.ChoiceField(
        label=gettext_lazy("急难情形"),
        choices=[(k, gettext_lazy(v)) for k, v in services.EMERGENCIES.items()],
    )
    description = forms.CharField(
        label=gettext_lazy("情况说明"), max_length=250, widget=forms.Textarea(attrs={"rows": 3})
    )


@staff_view(Perm.MONITORING_HANDLE)
@require_http_methods(["GET", "POST"])
def emergency(request: HttpRequest) -> HttpResponse:
    """急难情况报告: from a phone in the village; a warning of the highest severity, due today."""
    who = actor(request)
    form = EmergencyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        household = Household.objects.filter(number=form.cleaned_data["household_number"].strip()).first()
        today = timezone.localdate()
        member = (
            Membership.objects.filter(
                household=household,
                person__name=form.cleaned_data["member_name"].strip(),
                start_date__lte=today,
            )
            .exclude(end_date__lt=today)
            .first()
            if household
            else None
        )
        if household is None or member is None or not jurisdiction_of(who).contains(household.division_id):
            form.add_error("household_number", _("没有找到该家庭或成员（须为您辖区内的家庭）"))
        else:
            try:
                warning = services.emergency_report(
                    actor=who,
                    household_id=household.pk,
                    person_id=member.person_id,
                    kind=form.cleaned_data["kind"],
                    description=form.cleaned_data["description"],
                )
            except SHOWN as exc:
                apply_domain_error(form, exc)
            else:
                flash_done(request, _("已报告，乡镇当日处置"))
                return redirect("web:monitoring_warning", warning.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "web/monitoring/emergency.html", {"form": form}, status=status)


class CohortImportForm(BootstrapForm):
    county = forms.CharField(label=gettext_lazy("县（区）代码"), min_length=6, max_length=6)
    source = forms.CharField(
        label=gettext_lazy("来源"),
        max_length=120,
        help_text=gettext_lazy("如：区乡村振兴局防返贫监测对象名单及其日期"),
    )
    file = forms.FileField(
        label=gettext_lazy("名单文件"),
        help_text=gettext_lazy(
            "Excel（.xlsx）或 CSV（UTF-8），列：身份证号、姓名、监测类别、纳入日期、退出日期"
        ),
    )


class CohortForm(BootstrapForm):
    id_number = forms.CharField(label=gettext_lazy("身份证号"), max_length=18)
    cohort = forms.ChoiceField(
        label=gettext_lazy("监测类别"),
        choices=[(c.value, c.label) for c in (Cohort.RETURN_RISK, Cohort.OTHER)],
    )
    since = forms.DateField(label=gettext_lazy("纳入日期"), widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(
        label=gettext_lazy("退出日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    source = forms.CharField(
        label=gettext_lazy("来源"),
        max_length=120,
        help_text=gettext_lazy("如：区乡村振兴局防返贫监测对象名单及其日期"),
    )


@staff_view(Perm.MONITORING_VIEW)
@require_http_methods(["GET", "POST"])
def cohorts(request: HttpRequest) -> HttpResponse:
    """监测对象: persons monitored per township and cohort; the imported cohorts' memberships, the
    form to record one (防返贫监测, others) and the import of a whole list."""
    who = actor(request)
    importing = request.POST.get("form") == "import"
    form = CohortForm(None if importing else (request.POST or None), initial={"since": timezone.localdate()})
    initial = {"county": jurisdiction_of(who).division_code[:6]}
    import_form = (
        CohortImportForm(request.POST, request.FILES, initial=initial)
        if importing
        else CohortImportForm(initial=initial)
    )
    status = 200
    if request.method == "POST":
        if not who.can(Perm.MONITORING_MANAGE):
            return forbidden(request)
        bound = import_form if importing else form
        if bound.is_valid():
            try:
                if importing:
                    upload = import_form.cleaned_data["file"]
                    batch = services.cohort_import(
                        actor=who,
                        county=import_form.cleaned_data["county"],
                        source=import_form.cleaned_data["source"],
                        file_name=upload.name or "cohort",
                        content=upload.read(),
                    )
                    done = _("已导入%(rows)s人：新登记%(added)s人，已在监测中%(already)s人") % {
                        "rows": batch.rows,
                        "added": batch.added,
                        "already": batch.already,
                    }
                else:
                    services.cohort_record_by_id_number(actor=who, **form.cleaned_data)
                    done = _("已登记监测对象")
            except SHOWN as exc:
                if importing:
                    import_form.add_error(None, _(exc.message))
                    for problems in exc.field_errors.values():
                        for problem in problems:
                            import_form.add_error(None, problem)
                else:
                    apply_domain_error(form, exc)
            else:
                flash_done(request, done)
                return redirect("web:monitoring_cohorts")
        status = 422
    return render(
        request,
        "web/monitoring/cohorts.html",
        {
            "form": form,
            "import_form": import_form,
            "rows": [
                (r, [r.counts.get(c, 0) for c in Cohort.values]) for r in selectors.cohort_counts(actor=who)
            ],
            "cohorts": Cohort.choices,
            "page": paginate(request, selectors.cohort_memberships(actor=who)),
            "imports": selectors.cohort_imports(actor=who)[:10],
            "may_manage": who.can(Perm.MONITORING_MANAGE),
        },
        status=status,
    )
