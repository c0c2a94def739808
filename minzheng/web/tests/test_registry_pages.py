from __future__ import annotations

from django.test import Client
from django.urls import reverse

from minzheng.org.models import Staff
from minzheng.registry.circumstances import IncomeItem
from minzheng.registry.models import Household
from minzheng.registry.testing import make_household, resident_id


def test_register_household_through_the_form(village_assistant: Staff) -> None:
    client = Client()
    client.force_login(village_assistant)
    form = client.get(reverse("web:household_create")).content.decode()
    assert "640202001001" in form
    assert "640202001002" not in form
    bad = client.post(
        reverse("web:household_create"),
        {
            "division_code": "640202001001",
            "address": "长胜社区",
            "area": "urban",
            "m0_name": "甲",
            "m0_id_number": "123",
            "m0_relationship": "head",
        },
    )
    assert "身份证号码" in bad.content.decode()
    assert Household.objects.count() == 0
    ok = client.post(
        reverse("web:household_create"),
        {
            "division_code": "640202001001",
            "address": "长胜社区8号楼",
            "area": "urban",
            "m0_name": "何一",
            "m0_id_number": resident_id(),
            "m0_relationship": "head",
            "m1_name": "何二",
            "m1_id_number": resident_id(male=False),
            "m1_relationship": "spouse",
        },
    )
    household = Household.objects.get()
    assert ok["Location"] == reverse("web:household", kwargs={"household_id": household.pk})
    page = client.get(ok["Location"]).content.decode()
    assert "何一" in page
    assert "何二" in page


def test_record_income_and_view_as_of(village_assistant: Staff) -> None:
    household = make_household(village_assistant, "640202001001", "冯一")
    client = Client()
    client.force_login(village_assistant)
    url = reverse("web:circumstance_create", kwargs={"household_id": household.pk}) + "?kind=income"
    assert "收入类别" in client.get(url).content.decode()
    bad = client.post(
        url,
        {
            "subject": household.head_id,
            "category": "wages",
            "monthly_amount": "-5",
            "valid_from": "2025-01-01",
        },
    )
    assert bad.status_code == 200
    assert IncomeItem.objects.count() == 0
    done = client.post(
        url,
        {
            "subject": household.head_id,
            "category": "wages",
            "monthly_amount": "2100.00",
            "valid_from": "2025-01-01",
        },
    )
    assert done.status_code == 302
    detail = reverse("web:household", kwargs={"household_id": household.pk})
    page = client.get(detail).content.decode()
    assert "circumstance-table" not in page.split("</title>")[0]
    assert "circumstance-table" in page.split("<main")[1]
    timeline = page.split('data-testid="circumstance-table"')[1]
    assert "2100.00" in timeline
    assert "冯一" in timeline
    earlier = client.get(detail, {"as_of": "2024-12-31"}).content.decode()
    assert "暂无状况记录" in earlier.split('data-testid="circumstance-table"')[1]
    record = IncomeItem.objects.get()
    end = reverse("web:circumstance_end", kwargs={"kind": "income", "record_id": record.pk})
    client.post(end, {"valid_until": "2025-06-30", "reason": "换工作"})
    record.refresh_from_db()
    assert str(record.valid_until) == "2025-06-30"


def test_move_a_member_through_the_change_page(village_assistant: Staff) -> None:
    from datetime import timedelta

    from django.utils import timezone

    from minzheng.registry.models import Membership, Person

    source = make_household(village_assistant, "640202001001", "褚一", members=2)
    target = make_household(village_assistant, "640202001001", "卫一")
    client = Client()
    client.force_login(village_assistant)
    url = reverse("web:household_changes", kwargs={"household_id": source.pk})
    mover = Person.objects.get(name="褚一家1")
    on = (timezone.localdate() + timedelta(days=1)).isoformat()
    wrong = client.post(
        url,
        {
            "action": "move",
            "person": mover.pk,
            "target_number": "640205001001000001",
            "relationship": "other",
            "on": on,
            "reason": "投亲",
        },
    )
    assert "家庭编号不存在或不在管辖范围内" in wrong.content.decode()
    done = client.post(
        url,
        {
            "action": "move",
            "person": mover.pk,
            "target_number": target.number,
            "relationship": "other",
            "on": on,
            "reason": "投亲",
        },
    )
    assert done.status_code == 302
    assert Membership.objects.get(person=mover, end_date__isnull=True).household_id == target.pk


def test_edit_household_address_is_audited(village_assistant: Staff) -> None:
    from minzheng.core.models import AuditEvent

    household = make_household(village_assistant, "640202001001", "蒋一")
    client = Client()
    client.force_login(village_assistant)
    url = reverse("web:household_edit", kwargs={"household_id": household.pk})
    missing_reason = client.post(url, {"address": "新址", "phone": ""})
    assert missing_reason.status_code == 200
    done = client.post(url, {"address": "长胜社区新址2号", "phone": "13800000000", "reason": "搬迁"})
    assert done.status_code == 302
    household.refresh_from_db()
    assert household.address == "长胜社区新址2号"
    assert AuditEvent.objects.get(action="household.update").reason == "搬迁"
