"""The service catalogue: YAML guides validated and loaded idempotently; selectors."""

from __future__ import annotations

import shutil
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import IntegrityError, transaction

from minzheng.catalogue import selectors
from minzheng.catalogue.guides import ITEMS_DIR, GuideSpec, read_guides
from minzheng.catalogue.models import MaterialRequirement, ServiceItem
from minzheng.catalogue.services import catalogue_load
from minzheng.catalogue.testing import SHIPPED_CODES as CODES
from minzheng.core.errors import InvalidInput, NotFound
from minzheng.core.models import AuditEvent


@pytest.fixture
def catalogue(db: None) -> None:
    catalogue_load(actor=None)


def test_shipped_guides_cover_the_codes_others_rely_on() -> None:
    assert {g.code for g in read_guides()} == CODES


@pytest.mark.parametrize("guide", read_guides(), ids=lambda g: g.code)
def test_every_guide_is_complete(guide: GuideSpec) -> None:
    assert guide.materials, "materials list"
    assert guide.time_limit_working_days >= 1
    assert guide.legal_basis
    assert guide.conditions
    assert guide.commitment
    assert guide.fee == "不收费"
    assert (
        any(m.required and not m.fetchable_by_office for m in guide.materials)
        or guide.intake_mode == "transfer"
    )
    if guide.department != "civil_affairs":
        assert guide.intake_mode == "transfer" or guide.code == "medical_assistance"


@pytest.mark.parametrize(
    ("code", "reference"),
    [
        ("dibao", "民发〔2021〕57号"),
        ("extreme_poverty", "民发〔2021〕43号"),
        ("temporary_emergency", "国发〔2014〕47号"),
        ("temporary_expense", "第九章“临时救助”"),
        ("disability_living", "国发〔2015〕52号"),
        ("disability_care", "国发〔2015〕52号"),
        ("orphan", "国办发〔2010〕54号"),
        ("unsupported_child", "民发〔2019〕62号"),
        ("medical_assistance", "国办发〔2021〕42号"),
    ],
)
def test_guides_cite_their_regulation(code: str, reference: str) -> None:
    guide = next(g for g in read_guides() if g.code == code)
    assert reference in guide.legal_basis


def test_load_creates_every_item_with_materials_and_time_limit(catalogue: None) -> None:
    assert set(ServiceItem.objects.values_list("code", flat=True)) == CODES
    for item in ServiceItem.objects.all():
        assert item.materials.exists(), item.code  # type: ignore[attr-defined]
        assert item.time_limit_working_days >= 1
    dibao = selectors.item_get(code="dibao")
    assert dibao.time_limit_working_days == 30
    assert dibao.handled_by == "county"
    assert dibao.intake_mode == "handle"
    assert [s["name"] for s in dibao.steps][:2] == ["申请受理", "家庭经济状况调查"]
    publicity = next(s for s in dibao.steps if s["name"] == "初审与公示")
    assert publicity["calendar_days"] == 7
    assert publicity["days"] is None


def test_load_is_idempotent_and_audited_once_per_run(catalogue: None) -> None:
    materials = list(MaterialRequirement.objects.order_by("pk").values_list("pk", flat=True))
    result = catalogue_load(actor=None)
    assert (result.created, result.updated, result.deactivated) == ((), (), ())
    assert len(result.unchanged) == len(CODES)
    # Nothing rewritten: the material rows are the same rows.
    assert list(MaterialRequirement.objects.order_by("pk").values_list("pk", flat=True)) == materials
    events = list(AuditEvent.objects.filter(action="catalogue.load").order_by("seq"))
    assert len(events) == 2
    assert events[0].after is not None
    assert events[0].after["created"] == len(CODES)
    assert events[1].after == {
        "created": 0,
        "updated": 0,
        "unchanged": len(CODES),
        "deactivated": 0,
        "changed_codes": [],
    }


def test_load_updates_changed_guides_and_retires_removed_ones(tmp_path: Path, db: None) -> None:
    source = tmp_path / "items"
    shutil.copytree(ITEMS_DIR, source)
    catalogue_load(actor=None, directory=source)
    original = (source / "elderly_allowance.yaml").read_text(encoding="utf-8")
    ids = dict(MaterialRequirement.objects.filter(item__code="elderly_allowance").values_list("name", "pk"))
    (source / "elderly_allowance.yaml").write_text(
        original.replace("time_limit_working_days: 10", "time_limit_working_days: 8").replace(
            "  - name: 户口簿\n    fetchable_by_office: true\n", ""
        ),
        encoding="utf-8",
    )
    (source / "petition.yaml").unlink()
    result = catalogue_load(actor=None, directory=source)
    assert result.updated == ("elderly_allowance",)
    assert result.deactivated == ("petition",)
    item = ServiceItem.objects.get(code="elderly_allowance")
    assert item.time_limit_working_days == 8
    current = selectors.item_materials(item=selectors.item_get(code="elderly_allowance"))
    assert [(m.order, m.name) for m in current] == [
        (1, "高龄津贴申请表"),
        (2, "居民身份证"),
        (3, "本人社会保障卡或银行账户信息"),
        (4, "委托书及代办人身份证件"),
    ]
    # Applications point at these rows: they are renumbered in place, and a dropped line is retired.
    assert {m.name: m.pk for m in current} == {n: pk for n, pk in ids.items() if n != "户口簿"}
    assert MaterialRequirement.objects.get(pk=ids["户口簿"]).is_active is False
    assert ServiceItem.objects.get(code="petition").is_active is False
    with pytest.raises(NotFound):
        selectors.item_get(code="petition")

    # Putting the line back brings back the same row.
    (source / "elderly_allowance.yaml").write_text(original, encoding="utf-8")
    catalogue_load(actor=None, directory=source)
    restored = MaterialRequirement.objects.get(pk=ids["户口簿"])
    assert (restored.is_active, restored.order) == (True, 3)


def test_load_rejects_an_invalid_guide_naming_the_file_and_field(tmp_path: Path, db: None) -> None:
    (tmp_path / "broken.yaml").write_text(
        (ITEMS_DIR / "orphan.yaml")
        .read_text(encoding="utf-8")
        .replace("code: orphan", "code: broken")
        .replace("time_limit_working_days: 30", "time_limit_working_days: 0"),
        encoding="utf-8",
    )
    with pytest.raises(InvalidInput) as caught:
        catalogue_load(actor=None, directory=tmp_path)
    assert "broken.yaml" in caught.value.message
    assert "time_limit_working_days" in caught.value.message
    assert not ServiceItem.objects.exists()


def test_database_refuses_duplicate_material_order_and_bad_code(catalogue: None) -> None:
    item = ServiceItem.objects.get(code="dibao")
    with pytest.raises(IntegrityError), transaction.atomic():
        MaterialRequirement.objects.create(item=item, order=1, name="另一份材料")
    # A retired line may share its old number with a current one.
    MaterialRequirement.objects.create(item=item, order=1, name="旧材料", is_active=False)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceItem.objects.filter(code="orphan").update(code="Bad Code")
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceItem.objects.filter(code="orphan").update(time_limit_working_days=0)
    with pytest.raises(IntegrityError), transaction.atomic():
        ServiceItem.objects.filter(code="orphan").update(handled_by="township", delegated_to_township=True)


def test_checklist_leaves_out_what_the_office_fetches(catalogue: None) -> None:
    item = selectors.item_get(code="dibao")
    everything = selectors.item_materials(item=item)
    asked = selectors.materials_checklist(item=item)
    assert "户口簿" in [m.name for m in everything]
    assert "户口簿" not in [m.name for m in asked]
    assert "家庭经济状况核对授权书" in [m.name for m in asked]
    assert [m.order for m in everything] == sorted(m.order for m in everything)


def test_item_list_filters_by_department(catalogue: None) -> None:
    codes = [i.code for i in selectors.item_list(department="civil_affairs")]
    assert codes[0] == "dibao"
    assert "education_aid" not in codes
    with pytest.raises(InvalidInput):
        selectors.item_list(department="nowhere")


def test_command_reports_counts(db: None) -> None:
    out = StringIO()
    call_command("load_catalogue", stdout=out)
    call_command("load_catalogue", stdout=out)
    text = out.getvalue()
    assert f"新增 {len(CODES)}" in text
    assert f"未变 {len(CODES)}" in text
