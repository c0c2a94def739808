"""Shared plumbing for pages: permission-checked views and domain errors shown in Chinese."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.functional import Promise
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from minzheng.core import inputs
from minzheng.core.errors import DomainError, NotFound, PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.org.models import Staff

V = TypeVar("V", bound=Callable[..., HttpResponse])


def staff_view(perm: Perm | None = None) -> Callable[[V], V]:
    """Login required, permission checked; out-of-scope reads become 404, refusals 403 pages."""

    def decorate(view: V) -> V:
        @login_required
        @wraps(view)
        def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if perm is not None and not actor(request).can(perm):
                return forbidden(request)
            try:
                return view(request, *args, **kwargs)
            except NotFound as exc:
                raise Http404(exc.message) from exc
            except PermissionDenied as exc:
                return forbidden(request, exc.message)

        return wrapper  # type: ignore[return-value]

    return decorate


def actor(request: HttpRequest) -> Staff:
    return request.user  # type: ignore[return-value]


def forbidden(request: HttpRequest, message: str = "您没有执行此操作的权限") -> HttpResponse:
    return render(request, "web/error.html", {"status": 403, "message": _(message)}, status=403)


def paginate(request: HttpRequest, queryset: QuerySet[Any], per_page: int = 50) -> Page[Any]:
    return Paginator(queryset, per_page).get_page(request.GET.get("page"))


def apply_domain_error(form: Any, exc: DomainError) -> None:
    """Put a domain error onto a Django form: field errors by name, the rest as non-field errors."""
    placed = False
    for field, errors in exc.field_errors.items():
        target = field if field in form.fields else None
        for err in errors:
            form.add_error(target, _(err) if target else f"{field}: {_(err)}")
            placed = True
    if not placed:
        form.add_error(None, _(exc.message))


def flash_done(request: HttpRequest, text: str | Promise) -> None:
    messages.success(request, str(text))


class BootstrapForm(forms.Form):
    """A form whose widgets carry Bootstrap classes (no inline styles: the CSP forbids them)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.style_fields()
        self.bound_fields()

    def bound_fields(self) -> None:
        """The shared input rules (minzheng.core.inputs) on every field of every form: text without
        control characters, dates within the configured window, amounts within the largest limit
        (services apply the narrower limit of each kind of amount)."""
        for field in self.fields.values():
            if isinstance(field, forms.CharField):
                field.validators.append(inputs.form_text)
            elif isinstance(field, forms.DateField):
                field.validators.append(inputs.form_date)
            elif isinstance(field, forms.DecimalField):
                field.validators.append(inputs.form_money(inputs.MoneyKind.STOCK, negative=True))

    def style_fields(self) -> None:
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxSelectMultiple | forms.CheckboxInput):
                widget.attrs.setdefault("class", "form-check-input")
            elif isinstance(widget, forms.Select):
                widget.attrs.setdefault("class", "form-select")
            else:
                widget.attrs.setdefault("class", "form-control")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def xlsx_response(content: bytes, name: str) -> HttpResponse:
    """A workbook as a download named `name` (any characters: RFC 6266 encoding)."""
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = (
        content_disposition_header(as_attachment=True, filename=name) or "attachment"
    )
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
