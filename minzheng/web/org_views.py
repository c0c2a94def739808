"""Organisation pages: division tree, staff accounts and roles."""

from __future__ import annotations

from axes.models import AccessAttempt
from django import forms
from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from minzheng.core.errors import DomainError
from minzheng.core.permissions import Perm
from minzheng.org import selectors, services
from minzheng.org.models import Division
from minzheng.org.roles import ROLE_PERMISSIONS, Role
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
        {"page": paginate(request, qs), "q": search, "locked": locked_names, "roles": Role},
    )


class StaffForm(BootstrapForm):
    username = forms.CharField(label="用户名", max_length=150, min_length=3)
    full_name = forms.CharField(label="姓名", max_length=60)
    office = forms.ChoiceField(label="所属机构")
    phone = forms.CharField(label="手机号", max_length=20, required=False)
    password = forms.CharField(
        label="初始密码",
        widget=forms.PasswordInput,
        help_text="至少10位，含大小写字母、数字、符号中的至少3类；首次登录须修改。",
    )
    roles = forms.MultipleChoiceField(label="角色", choices=Role.choices, widget=forms.CheckboxSelectMultiple)

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
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, f"已创建账号 {staff.username}")
            return redirect("web:staff_detail", staff_id=staff.pk)
    return render(request, "web/org/staff_form.html", {"form": form})


class RolesForm(BootstrapForm):
    roles = forms.MultipleChoiceField(
        label="角色", choices=Role.choices, widget=forms.CheckboxSelectMultiple, required=False
    )
    reason = forms.CharField(label="原因", max_length=200)


class ReasonForm(BootstrapForm):
    reason = forms.CharField(label="原因", max_length=200)


class ResetPasswordForm(BootstrapForm):
    new_password = forms.CharField(label="新密码", widget=forms.PasswordInput)
    reason = forms.CharField(label="原因", max_length=200)


@staff_view(Perm.ORG_VIEW)
@require_http_methods(["GET", "POST"])
def staff_detail(request: HttpRequest, staff_id: int) -> HttpResponse:
    me = actor(request)
    staff = selectors.staff_get(actor=me, pk=staff_id)
    roles_form = RolesForm(initial={"roles": sorted(staff.roles)})
    reset_form = ResetPasswordForm()
    active_form = ReasonForm()
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "roles":
                roles_form = RolesForm(request.POST)
                if roles_form.is_valid():
                    services.staff_set_roles(
                        actor=me,
                        staff=staff,
                        roles=roles_form.cleaned_data["roles"],
                        reason=roles_form.cleaned_data["reason"],
                    )
                    flash_done(request, "角色已更新")
                    return redirect("web:staff_detail", staff_id=staff.pk)
            elif action in ("activate", "deactivate"):
                active_form = ReasonForm(request.POST)
                if active_form.is_valid():
                    services.staff_set_active(
                        actor=me,
                        staff=staff,
                        active=action == "activate",
                        reason=active_form.cleaned_data["reason"],
                    )
                    flash_done(request, "账号已启用" if action == "activate" else "账号已停用")
                    return redirect("web:staff_detail", staff_id=staff.pk)
            elif action == "reset_password":
                reset_form = ResetPasswordForm(request.POST)
                if reset_form.is_valid():
                    services.staff_reset_password(
                        actor=me,
                        staff=staff,
                        new_password=reset_form.cleaned_data["new_password"],
                        reason=reset_form.cleaned_data["reason"],
                    )
                    flash_done(request, "密码已重置，该账号下次登录须修改密码")
                    return redirect("web:staff_detail", staff_id=staff.pk)
            elif action == "unlock":
                services.staff_unlock(
                    actor=me, staff=staff, reason=request.POST.get("reason", "") or "解除登录锁定"
                )
                flash_done(request, "已解除锁定")
                return redirect("web:staff_detail", staff_id=staff.pk)
        except DomainError as exc:
            target = {"roles": roles_form, "reset_password": reset_form}.get(action or "", active_form)
            apply_domain_error(target, exc)
    locked = AccessAttempt.objects.filter(
        username=staff.username, failures_since_start__gte=settings.AXES_FAILURE_LIMIT
    ).exists()
    return render(
        request,
        "web/org/staff_detail.html",
        {
            "person": staff,
            "roles_form": roles_form,
            "reset_form": reset_form,
            "active_form": active_form,
            "locked": locked,
            "role_permissions": {Role(r).label: sorted(ROLE_PERMISSIONS[Role(r)]) for r in staff.roles},
        },
    )
