"""Public service guides (办事指南): no login, printable. The YAML files are their only source."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from minzheng.catalogue import selectors
from minzheng.core.errors import NotFound


@require_safe
def guide_list(request: HttpRequest) -> HttpResponse:
    return render(request, "web/catalogue/guide_list.html", {"groups": selectors.items_by_department()})


@require_safe
def guide_item(request: HttpRequest, code: str) -> HttpResponse:
    try:
        item = selectors.item_get(code=code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    materials = selectors.item_materials(item=item)
    return render(
        request,
        "web/catalogue/guide_item.html",
        {
            "item": item,
            "materials": materials,
            "asked": [m for m in materials if m.asked_of_applicant],
        },
    )
