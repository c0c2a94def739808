"""Audit search for auditors."""

from __future__ import annotations

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from minzheng.core.permissions import Perm
from minzheng.org.selectors import AuditQuery, audit_event_search
from minzheng.web.base import BootstrapForm, actor, paginate, staff_view


class AuditSearchForm(BootstrapForm):
    action = forms.CharField(label="操作", required=False)
    actor_username = forms.CharField(label="操作人用户名", required=False)
    object_type = forms.CharField(label="对象类型", required=False)
    object_id = forms.CharField(label="对象编号", required=False)
    date_from = forms.DateField(
        label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(
        label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )


@staff_view(Perm.AUDIT_VIEW)
def audit_search(request: HttpRequest) -> HttpResponse:
    form = AuditSearchForm(request.GET or None)
    query = AuditQuery()
    if form.is_valid():
        query = AuditQuery(**{k: v for k, v in form.cleaned_data.items() if v})
    page = paginate(request, audit_event_search(actor=actor(request), query=query))
    params = request.GET.copy()
    params.pop("page", None)
    return render(
        request, "web/audit/search.html", {"form": form, "page": page, "params": params.urlencode()}
    )
