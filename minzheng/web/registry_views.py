"""Household registry pages."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms
from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from minzheng.core.errors import DomainError
from minzheng.core.identifiers import DivisionLevel
from minzheng.core.permissions import Perm
from minzheng.org import selectors as org_selectors
from minzheng.registry import selectors, services
from minzheng.registry.circumstances import ALL_KINDS, PERSON_KINDS
from minzheng.registry.models import Area, Membership, Relationship
from minzheng.rules import standing
from minzheng.web.base import BootstrapForm, actor, apply_domain_error, flash_done, paginate, staff_view

MEMBER_ROWS = 8


def current_members(household: Any) -> list[Any]:
    """Members prefetched by registry.selectors.household_get."""
    return list(household.current_memberships)


@staff_view(Perm.HOUSEHOLD_VIEW)
def household_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    page = paginate(request, selectors.household_list(actor=actor(request), search=search))
    template = "web/registry/_household_rows.html" if request.htmx else "web/registry/household_list.html"  # type: ignore[attr-defined]
    return render(request, template, {"page": page, "q": search})


@staff_view(Perm.HOUSEHOLD_VIEW)
def household_detail(request: HttpRequest, household_id: int) -> HttpResponse:
    household = selectors.household_get(actor=actor(request), pk=household_id)
    as_of = None
    if request.GET.get("as_of"):
        try:
            as_of = date.fromisoformat(request.GET["as_of"])
        except ValueError:
            messages.error(request, gettext_lazy("日期格式应为 YYYY-MM-DD"))
    rows = selectors.household_circumstances(actor=actor(request), household=household, as_of=as_of)
    kinds = [(k, str(m._meta.verbose_name)) for k, m in ALL_KINDS.items()]
    statuses = standing.statuses_of(household.pk, on=as_of or timezone.localdate())
    return render(
        request,
        "web/registry/household_detail.html",
        {
            "household": household,
            "rows": rows,
            "as_of": as_of,
            "kinds": kinds,
            "today": timezone.localdate(),
            "statuses": statuses,
            "sources": standing.SOURCES,
        },
    )


class HouseholdForm(BootstrapForm):
    division_code = forms.ChoiceField(label=gettext_lazy("村（社区）"))
    address = forms.CharField(label=gettext_lazy("住址"), max_length=200)
    area = forms.ChoiceField(label=gettext_lazy("城乡类别"), choices=Area.choices)
    phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=20, required=False)

    def __init__(self, *args: object, villages: list[tuple[str, str]], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["division_code"].choices = villages  # type: ignore[attr-defined]
        for i in range(MEMBER_ROWS):
            required = i == 0
            self.fields[f"m{i}_name"] = forms.CharField(
                label=gettext_lazy("姓名"), max_length=60, required=required
            )
            self.fields[f"m{i}_id_number"] = forms.CharField(
                label=gettext_lazy("身份证号"), max_length=18, required=required
            )
            self.fields[f"m{i}_relationship"] = forms.ChoiceField(
                label=gettext_lazy("与户主关系"),
                choices=[("", "—"), *Relationship.choices],
                required=required,
                initial=Relationship.HEAD if i == 0 else "",
            )
        self.style_fields()

    def member_rows(self) -> list[list[forms.BoundField]]:
        return [
            [self[f"m{i}_{f}"] for f in ("name", "id_number", "relationship")] for i in range(MEMBER_ROWS)
        ]

    def members(self) -> list[services.MemberInput]:
        data = self.cleaned_data
        return [
            services.MemberInput(
                name=data[f"m{i}_name"],
                id_number=data[f"m{i}_id_number"],
                relationship=data[f"m{i}_relationship"],
            )
            for i in range(MEMBER_ROWS)
            if data.get(f"m{i}_name") or data.get(f"m{i}_id_number")
        ]


def _map_member_errors(form: HouseholdForm, exc: DomainError) -> None:
    """Service errors name members as members[i].field; the form names them m{i}_field."""
    remapped = {}
    for key, errs in exc.field_errors.items():
        if key.startswith("members[") and "]." in key:
            index, field = key[len("members[") :].split("].", 1)
            remapped[f"m{index}_{field}"] = errs
        else:
            remapped[key] = errs
    exc.field_errors = remapped
    apply_domain_error(form, exc)


@staff_view(Perm.HOUSEHOLD_CHANGE)
@require_http_methods(["GET", "POST"])
def household_create(request: HttpRequest) -> HttpResponse:
    villages = [
        (d.code, f"{d.parent.name if d.parent else ''} {d.name}")
        for d in org_selectors.division_list(
            actor=actor(request), level=DivisionLevel.VILLAGE
        ).select_related("parent")
    ]
    form = HouseholdForm(request.POST or None, villages=villages)
    if request.method == "POST" and form.is_valid():
        try:
            household = services.household_create(
                actor=actor(request),
                division_code=form.cleaned_data["division_code"],
                address=form.cleaned_data["address"],
                area=form.cleaned_data["area"],
                phone=form.cleaned_data["phone"],
                members=form.members(),
            )
        except DomainError as exc:
            _map_member_errors(form, exc)
        else:
            flash_done(request, f"已登记家庭 {household.number}")
            return redirect("web:household", household_id=household.pk)
    return render(request, "web/registry/household_form.html", {"form": form})


@staff_view(Perm.HOUSEHOLD_VIEW)
def person_list(request: HttpRequest) -> HttpResponse:
    search = request.GET.get("q", "").strip()
    page = paginate(request, selectors.person_list(actor=actor(request), search=search))
    return render(request, "web/registry/person_list.html", {"page": page, "q": search})


@staff_view(Perm.ID_NUMBER_VIEW_FULL)
@require_http_methods(["POST"])
def person_reveal(request: HttpRequest, person_id: int) -> HttpResponse:
    person = selectors.person_get(actor=actor(request), pk=person_id)
    try:
        number = services.person_reveal_id_number(
            actor=actor(request), person=person, reason=request.POST.get("reason", "")
        )
    except DomainError as exc:
        return render(
            request,
            "web/registry/_reveal.html",
            {"person": person, "error": _(exc.message)},
            status=exc.status,
        )
    return render(request, "web/registry/_reveal.html", {"person": person, "number": number})


def _circumstance_form(
    kind: str, data: Any = None, subjects: list[tuple[str, str]] | None = None
) -> forms.Form:
    model = ALL_KINDS[kind]
    model_form = forms.modelform_factory(model, fields=services.circumstance_fields(kind))

    class CircumstanceForm(BootstrapForm, model_form):  # type: ignore[misc, valid-type]
        subject = forms.ChoiceField(label=gettext_lazy("登记对象"), choices=subjects or [])
        valid_from = forms.DateField(
            label=gettext_lazy("起始日期"), widget=forms.DateInput(attrs={"type": "date"})
        )
        valid_until = forms.DateField(
            label=gettext_lazy("截止日期"), required=False, widget=forms.DateInput(attrs={"type": "date"})
        )
        note = forms.CharField(label=gettext_lazy("说明"), max_length=200, required=False)
        source = forms.CharField(label=gettext_lazy("信息来源"), max_length=80, required=False)

    return CircumstanceForm(data)  # type: ignore[no-any-return]


@staff_view(Perm.HOUSEHOLD_CHANGE)
@require_http_methods(["GET", "POST"])
def circumstance_create(request: HttpRequest, household_id: int) -> HttpResponse:
    household = selectors.household_get(actor=actor(request), pk=household_id)
    kind = request.GET.get("kind", "income")
    if kind not in ALL_KINDS:
        raise Http404("未知的状况类别")
    if kind in PERSON_KINDS:
        subjects = [(str(m.person.pk), m.person.name) for m in current_members(household)]
    else:
        subjects = [("household", f"全户（{household.number}）")]
    form = _circumstance_form(kind, request.POST or None, subjects)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        subject: Any = household
        if kind in PERSON_KINDS:
            members = current_members(household)
            subject = next(m.person for m in members if str(m.person.pk) == data["subject"])
        try:
            services.circumstance_record(
                actor=actor(request),
                kind=kind,
                subject=subject,
                valid_from=data["valid_from"],
                valid_until=data["valid_until"],
                values={f: data[f] for f in services.circumstance_fields(kind)},
                note=data["note"],
                source=data["source"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, f"已登记{ALL_KINDS[kind]._meta.verbose_name}")
            return redirect("web:household", household_id=household.pk)
    kinds = [(k, str(m._meta.verbose_name)) for k, m in ALL_KINDS.items()]
    return render(
        request,
        "web/registry/circumstance_form.html",
        {"household": household, "form": form, "kind": kind, "kinds": kinds},
    )


@staff_view(Perm.HOUSEHOLD_CHANGE)
@require_http_methods(["POST"])
def circumstance_end(request: HttpRequest, kind: str, record_id: int) -> HttpResponse:
    record = selectors.circumstance_get(actor=actor(request), kind=kind, pk=record_id)
    household_id = record.household_id if kind not in PERSON_KINDS else _household_of(record)  # type: ignore[attr-defined]
    try:
        until = date.fromisoformat(request.POST.get("valid_until", ""))
    except ValueError:
        messages.error(request, gettext_lazy("请填写有效的截止日期"))
        return redirect("web:household", household_id=household_id)
    try:
        services.circumstance_end(
            actor=actor(request),
            kind=kind,
            record=record,
            valid_until=until,
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        messages.error(
            request, "；".join([_(exc.message), *("，".join(map(_, v)) for v in exc.field_errors.values())])
        )
    else:
        flash_done(request, gettext_lazy("记录已结束"))
    return redirect("web:household", household_id=household_id)


def _household_of(record: Any) -> int:
    membership = record.person.memberships.filter(end_date__isnull=True).first()
    if membership is None:
        raise Http404()
    return int(membership.household_id)


class ChangeBaseForm(BootstrapForm):
    on = forms.DateField(label=gettext_lazy("变动日期"), widget=forms.DateInput(attrs={"type": "date"}))
    reason = forms.CharField(label=gettext_lazy("变动原因"), max_length=200)


class MoveForm(ChangeBaseForm):
    person = forms.ChoiceField(label=gettext_lazy("迁出成员"))
    target_number = forms.CharField(label=gettext_lazy("迁入家庭编号"), max_length=20)
    relationship = forms.ChoiceField(
        label=gettext_lazy("与新户主关系"), choices=[c for c in Relationship.choices if c[0] != "head"]
    )


class SplitForm(ChangeBaseForm):
    people = forms.MultipleChoiceField(label=gettext_lazy("分出的成员"), widget=forms.CheckboxSelectMultiple)
    new_head = forms.ChoiceField(label=gettext_lazy("新户主"))
    address = forms.CharField(label=gettext_lazy("新家庭住址"), max_length=200)


class MergeForm(ChangeBaseForm):
    target_number = forms.CharField(label=gettext_lazy("并入家庭编号"), max_length=20)


class HeadForm(BootstrapForm):
    person = forms.ChoiceField(label=gettext_lazy("新户主"))
    reason = forms.CharField(label=gettext_lazy("变更原因"), max_length=200)


def _target(request: HttpRequest, number: str) -> Any:
    found = selectors.household_list(actor=actor(request)).filter(number=number.strip()).first()
    if found is None:
        raise DomainError(
            "管辖范围内没有该家庭编号", field_errors={"target_number": ["家庭编号不存在或不在管辖范围内"]}
        )
    return found


@staff_view(Perm.HOUSEHOLD_CHANGE)
@require_http_methods(["GET", "POST"])
def household_changes(request: HttpRequest, household_id: int) -> HttpResponse:
    """迁移、分户、合户、变更户主 for one household."""
    household = selectors.household_get(actor=actor(request), pk=household_id)
    members = [
        (str(m.person.pk), f"{m.person.name}（{m.get_relationship_display()}）")
        for m in current_members(household)
    ]  # type: ignore[attr-defined]
    action = request.POST.get("action", "")
    data = request.POST if request.method == "POST" else None
    forms_by_action: dict[str, BootstrapForm] = {
        "move": MoveForm(data if action == "move" else None),
        "split": SplitForm(data if action == "split" else None),
        "merge": MergeForm(data if action == "merge" else None),
        "head": HeadForm(data if action == "head" else None),
    }
    forms_by_action["move"].fields["person"].choices = members  # type: ignore[attr-defined]
    forms_by_action["split"].fields["people"].choices = members  # type: ignore[attr-defined]
    forms_by_action["split"].fields["new_head"].choices = members  # type: ignore[attr-defined]
    forms_by_action["head"].fields["person"].choices = members  # type: ignore[attr-defined]
    form = forms_by_action.get(action)
    if form is not None and form.is_valid():
        d = form.cleaned_data
        people = {m.person.pk: m for m in current_members(household)}  # type: ignore[attr-defined]
        who = actor(request)
        try:
            if action == "move":
                target = _target(request, d["target_number"])
                services.person_move(
                    actor=who,
                    person=people[int(d["person"])].person,
                    target=target,
                    relationship=d["relationship"],
                    on=d["on"],
                    reason=d["reason"],
                )
                done, goto = "成员已迁出", household.pk
            elif action == "split":
                chosen = {
                    int(p): (
                        people[int(p)].relationship if people[int(p)].relationship != "head" else "other"
                    )
                    for p in d["people"]
                }
                new = services.household_split(
                    actor=who,
                    household=household,
                    members=chosen,
                    new_head=int(d["new_head"]),
                    address=d["address"],
                    on=d["on"],
                    reason=d["reason"],
                )
                done, goto = f"已分户，新家庭编号 {new.number}", new.pk
            elif action == "merge":
                target = _target(request, d["target_number"])
                relationships = {
                    pid: (m.relationship if m.relationship != "head" else "other")
                    for pid, m in people.items()
                }
                services.household_merge(
                    actor=who,
                    source=household,
                    target=target,
                    relationships=relationships,
                    on=d["on"],
                    reason=d["reason"],
                )
                done, goto = "已合户", target.pk
            else:
                services.household_set_head(
                    actor=who, household=household, person=people[int(d["person"])].person, reason=d["reason"]
                )
                done, goto = "户主已变更", household.pk
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, done)
            return redirect("web:household", household_id=goto)
    return render(
        request, "web/registry/household_changes.html", {"household": household, "forms": forms_by_action}
    )


@staff_view(Perm.HOUSEHOLD_VIEW)
def likely_duplicates(request: HttpRequest) -> HttpResponse:
    groups = selectors.likely_duplicates(actor=actor(request))
    household_of = dict(
        Membership.objects.filter(
            end_date__isnull=True, person_id__in=[p.pk for g in groups for p in g.persons]
        ).values_list("person_id", "household_id")
    )
    rows = [
        {"group": g, "person": p, "household_id": household_of.get(p.pk), "first": i == 0}
        for g in groups
        for i, p in enumerate(g.persons)
    ]
    return render(request, "web/registry/duplicates.html", {"rows": rows})


class HouseholdEditForm(BootstrapForm):
    address = forms.CharField(label=gettext_lazy("住址"), max_length=200)
    phone = forms.CharField(label=gettext_lazy("联系电话"), max_length=20, required=False)
    reason = forms.CharField(label=gettext_lazy("修改原因"), max_length=200)


@staff_view(Perm.HOUSEHOLD_CHANGE)
@require_http_methods(["GET", "POST"])
def household_edit(request: HttpRequest, household_id: int) -> HttpResponse:
    household = selectors.household_get(actor=actor(request), pk=household_id)
    form = HouseholdEditForm(
        request.POST or None, initial={"address": household.address, "phone": household.phone}
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.household_update(
                actor=actor(request),
                household=household,
                address=form.cleaned_data["address"],
                phone=form.cleaned_data["phone"],
                reason=form.cleaned_data["reason"],
            )
        except DomainError as exc:
            apply_domain_error(form, exc)
        else:
            flash_done(request, gettext_lazy("家庭信息已修改"))
            return redirect("web:household", household_id=household.pk)
    return render(request, "web/registry/household_edit.html", {"household": household, "form": form})
