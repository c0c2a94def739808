"""Shell pages: login, logout, home, password, tokens, error pages."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.contrib.auth import update_session_auth_hash
from django.contrib.auth import views as auth_views
from django.contrib.auth.forms import AuthenticationForm
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from minzheng.core.errors import DomainError
from minzheng.org import selectors as org_selectors
from minzheng.org import services as org_services
from minzheng.web import home as home_work
from minzheng.web.base import BootstrapForm, actor, apply_domain_error, flash_done, staff_view


class LoginForm(AuthenticationForm):
    error_messages = {
        "invalid_login": "用户名或密码错误。连续多次错误后账号将被临时锁定。",
        "inactive": "该账号已停用，请联系管理员。",
    }


class LoginView(auth_views.LoginView):
    template_name = "web/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@staff_view()
def home(request: HttpRequest) -> HttpResponse:
    staff = actor(request)
    return render(
        request,
        "web/home.html",
        {
            "work": home_work.pending_work(staff),
            "staff": staff,
            "dashboard": home_work.dashboard_link(staff),
            "headline": home_work.headline(staff),
        },
    )


class PasswordChangeForm(BootstrapForm):
    old_password = forms.CharField(label=gettext_lazy("原密码"), widget=forms.PasswordInput)
    new_password = forms.CharField(label=gettext_lazy("新密码"), widget=forms.PasswordInput)
    new_password_again = forms.CharField(label=gettext_lazy("再次输入新密码"), widget=forms.PasswordInput)

    def clean(self) -> dict[str, object]:
        data = super().clean() or {}
        if data.get("new_password") != data.get("new_password_again"):
            self.add_error("new_password_again", "两次输入的新密码不一致")
        return data


@staff_view()
@require_http_methods(["GET", "POST"])
def password_change(request: HttpRequest) -> HttpResponse:
    form = PasswordChangeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            staff = org_services.staff_change_password(
                staff=actor(request),
                old_password=form.cleaned_data["old_password"],
                new_password=form.cleaned_data["new_password"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            update_session_auth_hash(request, staff)
            flash_done(request, gettext_lazy("密码已修改"))
            return redirect("web:home")
    return render(request, "web/password_change.html", {"form": form})


class TokenForm(BootstrapForm):
    name = forms.CharField(label=gettext_lazy("用途"), max_length=80)
    read_only = forms.BooleanField(label=gettext_lazy("只读（只能查询）"), required=False)


@staff_view()
@require_http_methods(["GET", "POST"])
def tokens(request: HttpRequest) -> HttpResponse:
    form = TokenForm(request.POST or None)
    raw = None
    if request.method == "POST" and form.is_valid():
        try:
            _, raw = org_services.api_token_issue(
                actor=actor(request),
                name=form.cleaned_data["name"],
                read_only=form.cleaned_data["read_only"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            form = TokenForm()
    return render(
        request,
        "web/tokens.html",
        {
            "form": form,
            "raw_token": raw,
            "tokens": org_selectors.api_token_list(actor=actor(request)),
            "token_days": settings.MINZHENG_API_TOKEN_DAYS,
        },
    )


@staff_view()
@require_http_methods(["POST"])
def token_revoke(request: HttpRequest, token_id: int) -> HttpResponse:
    token = org_selectors.api_token_list(actor=actor(request)).filter(pk=token_id).first()
    if token is not None:
        org_services.api_token_revoke(actor=actor(request), token=token)
        flash_done(request, gettext_lazy("令牌已吊销"))
    return redirect("web:tokens")


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return render(
        request,
        "web/error.html",
        {"status": 403, "message": gettext_lazy("页面已过期或请求来源无法验证，请刷新页面后重试。")},
        status=403,
    )


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(
        request,
        "web/error.html",
        {"status": 404, "message": gettext_lazy("页面或记录不存在，或不在您的管辖范围内。")},
        status=404,
    )


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(
        request,
        "web/error.html",
        {"status": 403, "message": gettext_lazy("您没有执行此操作的权限。")},
        status=403,
    )


def server_error(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "web/error.html",
        {"status": 500, "message": gettext_lazy("服务器内部错误，已记录，请联系管理员。")},
        status=500,
    )


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(
        request, "web/error.html", {"status": 400, "message": gettext_lazy("请求无效。")}, status=400
    )
