"""Pages of the public's voice (群众诉求): the ticket list with its deadlines, registering a ticket,
a ticket with its history and the next steps of the loop, the 12345 platform (pull now), the
receipts with each office's callback and rectification rates, and the public rating page of a
service-quality receipt (no login).

Thin: a form in, one service or selector call, a template out; domain errors shown in Chinese.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from minzheng.core import throttle
from minzheng.core.errors import Conflict, DomainError, InvalidInput, NotFound, TooManyRequests
from minzheng.core.permissions import Perm
from minzheng.core.uploads import PHOTO_MAX_BYTES
from minzheng.feedback import catalogue, grid, receipts, selectors, services
from minzheng.feedback.models import (
    CaseReviewOutcome,
    Decision,
    Sensitivity,
    TicketChannel,
    TicketKind,
    TicketState,
)
from minzheng.org.scope import jurisdiction_of
from minzheng.web.base import BootstrapForm, actor, apply_domain_error, flash_done, paginate, staff_view

MANUAL_CHANNELS = [
    (c.value, c.label) for c in TicketChannel if c not in (TicketChannel.HOTLINE, TicketChannel.REVIEW)
]


def _category_choices() -> list[tuple[str, str]]:
    return [(c.code, c.display_label) for c in catalogue.categories().values()]


class TicketForm(BootstrapForm):
    channel = forms.ChoiceField(label=gettext_lazy("来源渠道"), choices=MANUAL_CHANNELS)
    kind = forms.ChoiceField(label=gettext_lazy("诉求类型"), choices=TicketKind.choices)
    category_code = forms.ChoiceField(label=gettext_lazy("诉求分类"), choices=_category_choices)
    title = forms.CharField(label=gettext_lazy("标题"), max_length=120)
    content = forms.CharField(label=gettext_lazy("诉求内容"), widget=forms.Textarea(attrs={"rows": 4}))
    division_code = forms.CharField(
        label=gettext_lazy("所涉区划代码"),
        max_length=12,
        help_text=gettext_lazy("12位统计用区划代码，如村（社区）"),
    )
    complainant_name = forms.CharField(label=gettext_lazy("诉求人"), max_length=60, required=False)
    complainant_phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=20, required=False)
    anonymous = forms.BooleanField(label=gettext_lazy("匿名"), required=False)
    urgent = forms.BooleanField(label=gettext_lazy("紧急"), required=False)
    sensitivity = forms.ChoiceField(label=gettext_lazy("敏感程度"), choices=Sensitivity.choices)
    about_case_id = forms.IntegerField(
        label=gettext_lazy("所涉案件（内部编号）"), required=False, min_value=1
    )


@staff_view(Perm.FEEDBACK_VIEW)
def ticket_list(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    state = request.GET.get("state", "open")
    if state not in TicketState.values and state not in ("open", "all"):
        state = "open"
    overdue = request.GET.get("overdue") == "1"
    search = request.GET.get("q", "").strip()[:40]
    qs = selectors.tickets(actor=me, state="" if state == "all" else state, overdue=overdue, search=search)
    page = paginate(request, qs)
    params = f"state={state}" + ("&overdue=1" if overdue else "") + (f"&q={search}" if search else "")
    return render(
        request,
        "web/feedback/tickets.html",
        {
            "page": page,
            "state": state,
            "overdue": overdue,
            "q": search,
            "params": params,
            "states": TicketState.choices,
            "today": timezone.localdate(),
            "can_intake": me.can(Perm.FEEDBACK_INTAKE),
        },
    )


@require_http_methods(["GET", "POST"])
@staff_view(Perm.FEEDBACK_INTAKE)
def ticket_create(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    initial = {"division_code": me.office.division_id, "sensitivity": Sensitivity.STANDARD}
    form = TicketForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            ticket = services.ticket_register(actor=me, **form.cleaned_data)
        except InvalidInput as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, _("已登记诉求：%(number)s") % {"number": ticket.number})
            return redirect("web:feedback_ticket", ticket_id=ticket.pk)
    status = 422 if request.method == "POST" else 200
    return render(request, "web/feedback/ticket_new.html", {"form": form}, status=status)


def _render_ticket(request: HttpRequest, ticket_id: int, error: str = "", status: int = 200) -> HttpResponse:
    me = actor(request)
    ticket = selectors.ticket_get(actor=me, ticket_id=ticket_id)
    category = catalogue.category(ticket.category_code)
    actions = [a for a, m in services.MOVES.items() if ticket.state in m.sources and me.can(m.perm)]
    if ticket.kind != TicketKind.BAD_REVIEW:
        actions = [a for a in actions if a != "rectify"]
    can_review = (
        ticket.case_review_required
        and ticket.is_open
        and (me.can(Perm.CASE_REVIEW_TOWNSHIP) or me.can(Perm.CASE_REVIEW_COUNTY))
    )
    return render(
        request,
        "web/feedback/ticket.html",
        {
            "ticket": ticket,
            "category": category,
            "events": selectors.ticket_events(ticket),
            "dispatches": selectors.ticket_dispatches(ticket),
            "actions": [(a, _(services.MOVES[a].label)) for a in actions],
            "offices": selectors.dispatch_offices(actor=me) if "dispatch" in actions else [],
            "merge_candidates": selectors.merge_candidates(actor=me, ticket=ticket)
            if "merge" in actions
            else [],
            "decisions": Decision.choices,
            "review_outcomes": CaseReviewOutcome.choices,
            "can_review": can_review,
            "labels": services.ACTION_LABELS,
            "today": timezone.localdate(),
            "error": error,
            "receipt_related": getattr(ticket, "receipt", None)
            if ticket.kind == TicketKind.BAD_REVIEW
            else None,
        },
        status=status,
    )


@staff_view(Perm.FEEDBACK_VIEW)
def ticket_detail(request: HttpRequest, ticket_id: int) -> HttpResponse:
    return _render_ticket(request, ticket_id)


@require_POST
@staff_view(Perm.FEEDBACK_VIEW)
def ticket_action(request: HttpRequest, ticket_id: int) -> HttpResponse:
    """One step of the loop (the buttons are the moves the ticket's state and the account allow)."""
    me = actor(request)
    selectors.ticket_get(actor=me, ticket_id=ticket_id)
    action = request.POST.get("action", "")
    note = request.POST.get("note", "")
    try:
        if action == "case_review":
            services.ticket_case_review(
                actor=me, ticket_id=ticket_id, outcome=request.POST.get("outcome", ""), note=note
            )
        else:
            data = {k: request.POST.get(k, "") for k in ("office_id", "decision", "satisfaction", "into_id")}
            services.ticket_act(actor=me, ticket_id=ticket_id, action=action, note=note, data=data)
    except NotFound:
        raise
    except DomainError as exc:
        messages = [m for ms in exc.field_errors.values() for m in ms]
        text = (
            _(exc.message)
            if not messages or exc.message in messages
            else f"{_(exc.message)}：{'；'.join(map(_, messages))}"
        )
        return _render_ticket(request, ticket_id, error=text, status=exc.status)
    flash_done(request, _("已办理：%(label)s") % {"label": services.ACTION_LABELS.get(action, action)})
    return redirect("web:feedback_ticket", ticket_id=ticket_id)


@require_http_methods(["GET", "POST"])
@staff_view(Perm.FEEDBACK_VIEW)
def hotline_page(request: HttpRequest) -> HttpResponse:
    """The 12345 platform: when it was last pulled, what is still to report, pull now."""
    me = actor(request)
    result = None
    error = ""
    status = 200
    if request.method == "POST":
        try:
            result = services.hotline_pull(actor=me)
            services.hotline_push()
        except DomainError as exc:
            error = _(exc.message)
            status = exc.status
    platform = selectors.platform()
    return render(
        request,
        "web/feedback/hotline.html",
        {
            "platform": platform,
            "result": result,
            "error": error,
            "can_pull": me.can(Perm.FEEDBACK_DISPATCH),
            "orders": selectors.tickets(actor=me, state="all").filter(channel=TicketChannel.HOTLINE)[:50],
        },
        status=status,
    )


@staff_view(Perm.FEEDBACK_VIEW)
def receipt_list(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    return render(
        request,
        "web/feedback/receipts.html",
        {
            "rates": selectors.office_rates(actor=me),
            "page": paginate(request, selectors.receipts(actor=me)),
            "labels": receipts.RATING_LABELS,
            "jurisdiction": jurisdiction_of(me).name,
        },
    )


@staff_view(Perm.FEEDBACK_VIEW)
def receipt_print(request: HttpRequest, receipt_id: int) -> HttpResponse:
    """The receipt slip to hand over or print (half an A4 sheet): the short code and the QR code of
    the absolute rating address, so the citizen rates from a phone without an account."""
    receipt = selectors.receipt_get(actor=actor(request), receipt_id=receipt_id)
    rating_url = request.build_absolute_uri(reverse("web:receipt_rate", kwargs={"code": receipt.code}))
    return render(
        request,
        "web/feedback/receipt_print.html",
        {
            "receipt": receipt,
            "rating_url": rating_url,
            # segno's SVG: generated from our own URL, no user markup in it (the title is escaped).
            "qr_svg": mark_safe(receipts.rating_qr_svg(rating_url, title=_("服务评价二维码"))),  # noqa: S308
            "labels": [(k, _(v)) for k, v in receipts.RATING_LABELS.items()],
        },
    )


# --- Public: rating a receipt (no login) ---------------------------------------------------------------


class RatingForm(BootstrapForm):
    rating = forms.TypedChoiceField(
        label=gettext_lazy("评价"),
        choices=[(k, v) for k, v in receipts.RATING_LABELS.items()],
        coerce=int,
        widget=forms.RadioSelect,
    )
    comment = forms.CharField(
        label=gettext_lazy("意见和建议"),
        max_length=receipts.COMMENT_MAX,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("不满意的，请说明原因，我们将在1个工作日内回访"),
    )
    contact_phone = forms.CharField(
        label=gettext_lazy("联系电话（选填，便于回访）"), max_length=20, required=False
    )


class LookupForm(BootstrapForm):
    code = forms.CharField(label=gettext_lazy("回执码"), max_length=12)


@require_http_methods(["GET", "POST"])
def receipt_lookup(request: HttpRequest) -> HttpResponse:
    """服务评价: the citizen types the code printed on the receipt."""
    form = LookupForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        return redirect("web:receipt_rate", code=receipts.normalise_code(form.cleaned_data["code"]))
    return render(request, "web/feedback/rate_lookup.html", {"form": form})


@require_http_methods(["GET", "POST"])
def receipt_rate(request: HttpRequest, code: str) -> HttpResponse:
    try:
        shown = receipts.receipt_public(code=code)
    except NotFound as exc:
        raise Http404(exc.message) from exc
    form = RatingForm(request.POST or None)
    status = 200
    context: dict[str, Any] = {"receipt": shown, "form": form, "done": False}
    if request.method == "POST":
        status = 422
        if form.is_valid():
            try:
                throttle.check(request, "receipt_rating")
                receipts.receipt_rate(code=shown.code, **form.cleaned_data)
            except (InvalidInput, Conflict, TooManyRequests) as exc:
                apply_domain_error(form, exc)
                status = exc.status
            else:
                context.update(done=True, receipt=receipts.receipt_public(code=shown.code))
                status = 200
    context["rate_url"] = reverse("web:receipt_rate", kwargs={"code": shown.code})
    return render(request, "web/feedback/rate.html", context, status=status)


# --- The grid loop (网格事件) ---------------------------------------------------------------------------


class GridReportForm(BootstrapForm):
    category_code = forms.ChoiceField(label=gettext_lazy("事件分类"), choices=_category_choices)
    description = forms.CharField(label=gettext_lazy("事件描述"), widget=forms.Textarea(attrs={"rows": 3}))
    # Text, checked by the service: degrees with up to six decimals (not money).
    lat = forms.CharField(label=gettext_lazy("纬度"), max_length=12)
    lng = forms.CharField(label=gettext_lazy("经度"), max_length=12)


def _uploaded_photos(request: HttpRequest) -> list[grid.Photo]:
    return [
        grid.Photo(f.content_type or "", f.read(PHOTO_MAX_BYTES + 1)) for f in request.FILES.getlist("photos")
    ]


@staff_view(Perm.FEEDBACK_VIEW)
def grid_event_list(request: HttpRequest) -> HttpResponse:
    me = actor(request)
    open_only = request.GET.get("all") != "1"
    return render(
        request,
        "web/feedback/grid_events.html",
        {
            "page": paginate(request, grid.grid_events(actor=me, open_only=open_only)),
            "open_only": open_only,
            "params": "" if open_only else "all=1",
            "can_report": me.can(Perm.FEEDBACK_INTAKE),
            "today": timezone.localdate(),
        },
    )


@staff_view(Perm.FEEDBACK_VIEW)
def grid_rate_list(request: HttpRequest) -> HttpResponse:
    """按时结案率: per village (its cells added up), then per grid cell a page at a time (337 cells
    in the demo county), narrowed to one village by choosing it."""
    me = actor(request)
    villages = grid.grid_village_rates(actor=me)
    village = request.GET.get("village", "").strip()[:20]
    error = ""
    status = 200
    if village and village not in {v.code for v in villages}:
        error = _("没有该村（社区）的网格：%(code)s") % {"code": village}
        village, status = "", 422
    page = paginate(request, grid.grid_rate_rows(actor=me, village_code=village))
    page.object_list = [grid.grid_rate_of(c) for c in page.object_list]
    return render(
        request,
        "web/feedback/grid_rates.html",
        {
            "villages": villages,
            "village": village,
            "page": page,
            "params": f"village={village}" if village else "",
            "error": error,
        },
        status=status,
    )


@require_http_methods(["GET", "POST"])
@staff_view(Perm.FEEDBACK_INTAKE)
def grid_report(request: HttpRequest) -> HttpResponse:
    """上报 from a phone: the location from the phone's GPS (grid.js), photos from its camera."""
    me = actor(request)
    form = GridReportForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            event = grid.grid_event_report(actor=me, photos=_uploaded_photos(request), **form.cleaned_data)
        except InvalidInput as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, _("已上报网格事件：%(number)s") % {"number": event.number})
            return redirect("web:grid_event", grid_event_id=event.pk)
    status = 422 if request.method == "POST" else 200
    response = render(request, "web/feedback/grid_report.html", {"form": form}, status=status)
    # This page alone may ask for the phone's position (the site-wide policy forbids geolocation).
    response["Permissions-Policy"] = "camera=(), microphone=(), geolocation=(self), payment=()"
    return response


def _render_grid_event(
    request: HttpRequest, grid_event_id: int, error: str = "", status: int = 200
) -> HttpResponse:
    me = actor(request)
    event = grid.grid_event_get(actor=me, event_id=grid_event_id)
    actions = [
        (a, _(m.label)) for a, m in grid.GRID_MOVES.items() if event.state in m.sources and me.can(m.perm)
    ]
    return render(
        request,
        "web/feedback/grid_event.html",
        {
            "event": event,
            "category": catalogue.category(event.category_code),
            "steps": [
                (step, _(grid.GRID_MOVES[step.action].label) if step.action in grid.GRID_MOVES else _("上报"))
                for step in event.steps.all()
            ],
            "photos": list(event.photos.only("pk", "stage", "taken_at")),
            "actions": actions,
            "offices": selectors.dispatch_offices(actor=me),
            "error": error,
            "today": timezone.localdate(),
        },
        status=status,
    )


@staff_view(Perm.FEEDBACK_VIEW)
def grid_event_detail(request: HttpRequest, grid_event_id: int) -> HttpResponse:
    return _render_grid_event(request, grid_event_id)


@require_POST
@staff_view(Perm.FEEDBACK_VIEW)
def grid_event_action(request: HttpRequest, grid_event_id: int) -> HttpResponse:
    me = actor(request)
    grid.grid_event_get(actor=me, event_id=grid_event_id)
    action = request.POST.get("action", "")
    try:
        office = request.POST.get("office_id", "")
        grid.grid_event_act(
            actor=me,
            event_id=grid_event_id,
            action=action,
            note=request.POST.get("note", ""),
            office_id=int(office) if office.isdigit() else None,
            passed={"1": True, "0": False}.get(request.POST.get("passed", "")),
            photos=_uploaded_photos(request),
        )
    except NotFound:
        raise
    except DomainError as exc:
        messages = [m for ms in exc.field_errors.values() for m in ms]
        text = (
            _(exc.message)
            if not messages or exc.message in messages
            else f"{_(exc.message)}：{'；'.join(map(_, messages))}"
        )
        return _render_grid_event(request, grid_event_id, error=text, status=exc.status)
    label = _(grid.GRID_MOVES[action].label)
    flash_done(request, _("已办理：%(label)s") % {"label": label})
    return redirect("web:grid_event", grid_event_id=grid_event_id)


@staff_view(Perm.FEEDBACK_VIEW)
def grid_photo(request: HttpRequest, grid_event_id: int, photo_id: int) -> HttpResponse:
    photo = grid.grid_photo_get(actor=actor(request), event_id=grid_event_id, photo_id=photo_id)
    response = HttpResponse(bytes(photo.content), content_type=photo.content_type)
    response["Cache-Control"] = "private, no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
