"""Writes to the service catalogue. Staff do not edit guides in the UI: the YAML files are the source."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from minzheng.catalogue.guides import ITEMS_DIR, GuideSpec, read_guides
from minzheng.catalogue.models import MaterialRequirement, ServiceItem
from minzheng.core.audit import audit_record
from minzheng.core.errors import InvalidInput
from minzheng.org.models import Staff

_ITEM_FIELDS = (
    "name",
    "summary",
    "department",
    "handled_by",
    "intake_mode",
    "accepts_at_township",
    "delegated_to_township",
    "sort_order",
    "is_active",
    "legal_basis",
    "conditions",
    "steps",
    "time_limit_working_days",
    "time_limit_note",
    "forms",
    "fee",
    "commitment",
)
_MATERIAL_FIELDS = ("name", "required", "fetchable_by_office", "pledge_allowed", "note")
_ORDER_OFFSET = 10_000


@dataclass(frozen=True)
class CatalogueLoadResult:
    created: tuple[str, ...]
    updated: tuple[str, ...]
    unchanged: tuple[str, ...]
    deactivated: tuple[str, ...]


def _item_values(spec: GuideSpec) -> dict[str, object]:
    data = spec.model_dump()
    return {field: data[field] for field in _ITEM_FIELDS}


def _material_rows(spec: GuideSpec) -> list[tuple[object, ...]]:
    return [(i, *(getattr(m, f) for f in _MATERIAL_FIELDS)) for i, m in enumerate(spec.materials, start=1)]


def _stored_material_rows(item: ServiceItem) -> list[tuple[object, ...]]:
    return [
        (m.order, *(getattr(m, f) for f in _MATERIAL_FIELDS))
        for m in MaterialRequirement.objects.filter(item=item, is_active=True).order_by("order")
    ]


def _sync_materials(item: ServiceItem, spec: GuideSpec) -> None:
    """Update the item's lines in place, matched by name: applications point at these rows."""
    rows = {m.name: m for m in MaterialRequirement.objects.filter(item=item)}
    original_order = {name: m.order for name, m in rows.items()}
    # Move the active lines out of the way first, so renumbering never collides with the unique
    # (item, order) index halfway through (every order is below the offset).
    MaterialRequirement.objects.filter(item=item, is_active=True).update(order=F("order") + _ORDER_OFFSET)
    wanted = set()
    for order, material in enumerate(spec.materials, start=1):
        wanted.add(material.name)
        row = rows.get(material.name) or MaterialRequirement(item=item, name=material.name)
        row.order = order
        for field in _MATERIAL_FIELDS:
            setattr(row, field, getattr(material, field))
        row.is_active = True
        row.save()
    for name, row in rows.items():
        if name not in wanted and row.is_active:
            row.is_active = False
            row.order = original_order[name]
            row.save(update_fields=["is_active", "order"])


@transaction.atomic
def catalogue_load(*, actor: Staff | None, directory: Path = ITEMS_DIR) -> CatalogueLoadResult:
    """Create or update every item from the YAML guides; idempotent.

    An item whose file is gone is deactivated, never deleted (applications refer to it). Every run
    writes one audit event with what it created, updated and deactivated.
    """
    specs = read_guides(directory)
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise InvalidInput("事项名称重复：" + "、".join(sorted({n for n in names if names.count(n) > 1})))
    existing = {item.code: item for item in ServiceItem.objects.select_for_update()}
    now = timezone.now()
    created: list[str] = []
    updated: list[str] = []
    unchanged: list[str] = []
    for spec in specs:
        values = _item_values(spec)
        item = existing.get(spec.code)
        if item is None:
            item = ServiceItem.objects.create(code=spec.code, updated_at=now, **values)
            _sync_materials(item, spec)
            created.append(spec.code)
            continue
        item_changed = any(getattr(item, f) != v for f, v in values.items())
        materials_changed = _stored_material_rows(item) != _material_rows(spec)
        if not (item_changed or materials_changed):
            unchanged.append(spec.code)
            continue
        for field, value in values.items():
            setattr(item, field, value)
        item.updated_at = now
        item.save()
        if materials_changed:
            _sync_materials(item, spec)
        updated.append(spec.code)
    shipped = {s.code for s in specs}
    gone = sorted(code for code, item in existing.items() if code not in shipped and item.is_active)
    ServiceItem.objects.filter(code__in=gone).update(is_active=False, updated_at=now)
    result = CatalogueLoadResult(tuple(created), tuple(updated), tuple(unchanged), tuple(gone))
    audit_record(
        actor=actor,
        action="catalogue.load",
        object_type="catalogue.serviceitem",
        object_id=str(directory.name),
        after={
            "created": len(created),
            "updated": len(updated),
            "unchanged": len(unchanged),
            "deactivated": len(gone),
            "changed_codes": sorted([*created, *updated, *gone]),
        },
    )
    return result
