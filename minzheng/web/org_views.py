"""Organisation pages: division tree, staff accounts and roles."""

from __future__ import annotations

from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from minzheng.core.errors import Conflict, DomainError, InvalidInput
from minzheng.core.permissions import Perm
from minzheng.org import selectors, services
from minzheng.org.models import ChangeKind, Division, PartnerDepartment, Staff, StaffChangeRequest
from minzheng.org.roles import ROLE_PERMISSIONS, SEPARATED_ROLES, Role
from minzheng.org.scope import jurisdiction_of
from minzheng.web.base import BootstrapForm, actor, apply_domain_error, flash_done, paginate, staff_view


@staff_view(Perm.ORG_VIEW)
def division_list(request: HttpRequest) -> HttpResponse:
    staff = actor(request)
    parent_code = request.GET.get("parent") or jurisdiction_of(staff).division_code
    parent = selectors.division_get(actor=staff, code=parent_code)
    children = selectors.division_list(actor=staff, parent_code=parent.code)
    crumbs: list[Division] = []
    node: Division | None = parent
    while node is not None and jurisdiction_of(staff).contains(node.code):
        crumbs.insert(0, node)
        node = node.parent
    return render(
        request, "web/org/division_list.html", {"parent": parent, "children": children, "crumbs": crumbs}
    )


@staff_view(Perm.ORG_VIEW)
def staff_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    qs = selectors.staff_list(actor=actor(request), search=search)
    locked_names = set(
        AccessAttempt.objects.filter(failures_since_start__gte=settings.AXES_FAILURE_LIMIT).values_list(
            "username", flat=True
        )
    )
    if request.GET.get("locked"):
        qs = qs.filter(username__in=locked_names)
    return render(
        request,
        "web/org/staff_list.html",
        {
            "page": paginate(request, qs),
            "q": search,
            "locked": locked_names,
            "roles": Role,
            "pending_changes": selectors.staff_change_request_list(actor=actor(request)).count(),
        },
    )


class StaffForm(BootstrapForm):
    username = forms.CharField(label=gettext_lazy("用户名"), max_length=150, min_length=3)
    full_name = forms.CharField(label=gettext_lazy("姓名"), max_length=60)
    office = forms.ChoiceField(label=gettext_lazy("所属机构"))
    phone = forms.CharField(label=gettext_lazy("手机号"), max_length=20, required=False)
    password = forms.CharField(
        label=gettext_lazy("初始密码"),
        widget=forms.PasswordInput,
        help_text=gettext_lazy("至少10位，含大小写字母、数字、符号中的至少3类；首次登录须修改。"),
    )
    roles = forms.MultipleChoiceField(
        label=gettext_lazy("角色"), choices=Role.choices, widget=forms.CheckboxSelectMultiple
    )
    department = forms.ChoiceField(
        label=gettext_lazy("所属部门"),
        choices=[("", "—"), *PartnerDepartment.choices],
        required=False,
        help_text=gettext_lazy("仅协作部门（残联、教育局等）的账号填写：只能授予“协作部门工作人员”角色"),
    )

    def __init__(self, *args: object, offices: list[tuple[int, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["office"].choices = offices  # type: ignore[attr-defined]
        self.style_fields()


@staff_view(Perm.STAFF_MANAGE)
@require_http_methods(["GET", "POST"])
def staff_create(request: HttpRequest) -> HttpResponse:
    offices_qs = selectors.office_list(actor=actor(request))
    offices = [(o.pk, o.name) for o in offices_qs]
    form = StaffForm(request.POST or None, offices=offices)
    if request.method == "POST" and form.is_valid():
        try:
            staff = services.staff_create(
                actor=actor(request),
                username=form.cleaned_data["username"],
                full_name=form.cleaned_data["full_name"],
                office=offices_qs.get(pk=form.cleaned_data["office"]),
                password=form.cleaned_data["password"],
                roles=form.cleaned_data["roles"],
                phone=form.cleaned_data["phone"],
                department=form.cleaned_data["department"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, f"已创建账号 {staff.username}")
            return redirect("web:staff_detail", staff_id=staff.pk)
    return render(request, "web/org/staff_form.html", {"form": form})


class RolesForm(BootstrapForm):
    roles = forms.MultipleChoiceField(
        label=gettext_lazy("角色"), choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    reason = forms.CharField(label=gettext_lazy("原因"), max_length=200)


class ReasonForm(BootstrapForm):
    reason = forms.CharField(label=gettext_lazy("原因"), max_length=200)


class ResetPasswordForm(BootstrapForm):
    new_password = forms.CharField(label=gettext_lazy("新密码"), widget=forms.PasswordInput)
    reason = forms.CharField(label=gettext_lazy("原因"), max_length=200)


def _submitted(request: HttpRequest, result: Staff | StaffChangeRequest, done: str) -> None:
    if isinstance(result, StaffChangeRequest):
        flash_done(
            request,
            f"已提交变更申请，须经{services.role_labels(result.confirmer_roles)}确认后生效",
        )
    else:
        flash_done(request, done)


@staff_view(Perm.ORG_VIEW)
@require_http_methods(["GET", "POST"])
def staff_detail(request: HttpRequest, staff_id: int) -> HttpResponse:
    """An account: its roles, who made it and who gave it its roles, and the changes the viewer may
    make or propose (the services decide: alone, with a second administrator's confirmation, or not)."""
    me = actor(request)
    staff = selectors.staff_get(actor=me, pk=staff_id)
    roles_form = RolesForm(initial={"roles": sorted(staff.roles)})
    reset_form = ResetPasswordForm()
    active_form = ReasonForm()
    unlock_form = ReasonForm(prefix="unlock")
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "roles":
                roles_form = RolesForm(request.POST)
                if roles_form.is_valid():
                    result = services.staff_change_submit(
                        actor=me,
                        staff=staff,
                        kind=ChangeKind.SET_ROLES,
                        roles=roles_form.cleaned_data["roles"],
                        reason=roles_form.cleaned_data["reason"],
                    )
                    _submitted(request, result, "角色已更新")
                    return redirect("web:staff_detail", staff_id=staff.pk)
            elif action in ("activate", "deactivate"):
                active_form = ReasonForm(request.POST)
                if active_form.is_valid():
                    result = services.staff_change_submit(
                        actor=me,
                        staff=staff,
                        kind=ChangeKind.SET_ACTIVE,
                        active=action == "activate",
                        reason=active_form.cleaned_data["reason"],
                    )
                    _submitted(request, result, "账号已启用" if action == "activate" else "账号已停用")
                    return redirect("web:staff_detail", staff_id=staff.pk)
            elif action == "reset_password":
                reset_form = ResetPasswordForm(request.POST)
                if reset_form.is_valid():
                    result = services.staff_change_submit(
                        actor=me,
                        staff=staff,
                        kind=ChangeKind.RESET_PASSWORD,
                        new_password=reset_form.cleaned_data["new_password"],
                        reason=reset_form.cleaned_data["reason"],
                    )
                    _submitted(request, result, "密码已重置，该账号下次登录须修改密码，其API令牌已吊销")
                    return redirect("web:staff_detail", staff_id=staff.pk)
            elif action == "unlock":
                unlock_form = ReasonForm(request.POST, prefix="unlock")
                result = services.staff_change_submit(
                    actor=me,
                    staff=staff,
                    kind=ChangeKind.UNLOCK,
                    reason=request.POST.get("unlock-reason", "") or "解除登录锁定",
                )
                _submitted(request, result, "已解除锁定")
                return redirect("web:staff_detail", staff_id=staff.pk)
        except DomainError as exc:
            target = {"roles": roles_form, "reset_password": reset_form, "unlock": unlock_form}.get(
                action or "", active_form
            )
            apply_domain_error(target, exc)
    locked = AccessAttempt.objects.filter(
        username=staff.username, failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    ).exists()
    is_admin = bool(me.roles & SEPARATED_ROLES)
    return render(
        request,
        "web/org/staff_detail.html",
        {
            "person": staff,
            "roles_form": roles_form,
            "reset_form": reset_form,
            "active_form": active_form,
            "unlock_form": unlock_form,
            "locked": locked,
            "can_manage": me.pk != staff.pk and (me.can(Perm.STAFF_MANAGE) or is_admin),
            "can_secure": me.pk != staff.pk and (me.can(Perm.SECURITY_MANAGE) or is_admin),
            "changes": selectors.staff_change_request_list(actor=me, status="", staff_id=staff.pk)[:20],
            "role_permissions": {Role(r).label: sorted(ROLE_PERMISSIONS[Role(r)]) for r in staff.roles},
        },
    )


@staff_view(Perm.ORG_VIEW)
def staff_changes(request: HttpRequest) -> HttpResponse:
    """Account changes waiting for a second administrator (三员分立, approver grants)."""
    status = request.GET.get("status", "pending")
    qs = selectors.staff_change_request_list(actor=actor(request), status=status if status != "all" else "")
    return render(request, "web/org/staff_changes.html", {"page": paginate(request, qs), "status": status})


@staff_view(Perm.ORG_VIEW)
@require_http_methods(["POST"])
def staff_change_decide(request: HttpRequest, request_id: int) -> HttpResponse:
    me = actor(request)
    change = selectors.staff_change_request_get(actor=me, pk=request_id)
    note = request.POST.get("note", "")
    try:
        if request.POST.get("action") == "confirm":
            services.staff_change_confirm(actor=me, request_id=change.pk, note=note)
            flash_done(request, gettext_lazy("已确认，变更已生效"))
        else:
            services.staff_change_reject(actor=me, request_id=change.pk, note=note)
            flash_done(request, gettext_lazy("已驳回该变更申请"))
    except (Conflict, InvalidInput) as exc:
        messages.error(request, _(exc.message))
    back = request.POST.get("next", "")
    if url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return redirect(back)
    return redirect("web:staff_changes")
