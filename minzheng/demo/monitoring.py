"""Demo data for monitoring and active discovery: a month's medical-insurance file for the demo county
(the self-paid costs of some residents of 长胜街道, a few of them above the threshold), imported as the
county would, so that warnings wait at the township in several states; a household on the
rural-revitalisation bureau's list (防返贫监测); and an emergency reported by the village assistant."""

from __future__ import annotations

from datetime import date

from django.utils import timezone

from minzheng.core import protect
from minzheng.monitoring import services
from minzheng.monitoring.models import Feed, Outcome, Warning
from minzheng.org.models import Staff
from minzheng.registry.models import Household

COUNTY = "640202"
TOWNSHIP = "640202001"


def _staff(username: str) -> Staff:
    return Staff.objects.get(username=username)


def build_demo_monitoring() -> int:
    """Returns the number of warnings made (0 when the demo has them already)."""
    if Feed.objects.filter(county=COUNTY).exists():
        return 0
    county = _staff("dwk_county_reviewer")
    reviewer = _staff("dwk_township_reviewer")
    clerk = _staff("dwk_township_clerk")
    assistant = _staff("dwk_village_assistant")
    households = list(
        Household.objects.filter(division__code__startswith=TOWNSHIP, head__isnull=False)
        .select_related("head")
        .order_by("pk")[:12]
    )
    if len(households) < 8:
        return 0
    today = timezone.localdate()
    month = (today.replace(day=1) - date.resolution).replace(day=1)
    at_risk = households[5]
    assert at_risk.head is not None  # noqa: S101 (selected with a head)
    services.cohort_record(
        actor=county,
        person_id=at_risk.head_id,  # type: ignore[arg-type]
        cohort="return_risk",
        since=date(today.year, 1, 1),
        until=None,
        source="区乡村振兴局防返贫监测对象名单（演示）",
    )
    amounts = ["26800.00", "15200.50", "12000.00", "3100.00", "880.00", "18800.00", "640.00", "2200.00"]
    lines = ["身份证号,姓名,日期,金额,说明"]
    for household, amount in zip(households, amounts, strict=False):
        head = household.head
        assert head is not None  # noqa: S101
        lines.append(
            f"{protect.decrypt(head.id_encrypted)},{head.name},{month:%Y-%m}-15,{amount},住院医疗费用个人自付"
        )
    feed = services.feed_import(
        actor=county,
        county=COUNTY,
        department="大武口区医疗保障局",
        event_type="medical_self_pay",
        period=month,
        file_name=f"医保个人自付{month:%Y%m}.csv",
        content=("\n".join(lines) + "\n").encode("utf-8"),
    )
    made = list(Warning.objects.filter(record__feed=feed).order_by("pk"))
    if made:  # the first: verified true and started as an application (主动发现)
        first = made[0]
        services.warning_accept(actor=reviewer, warning_id=first.pk)
        services.warning_visit(
            actor=reviewer,
            warning_id=first.pk,
            visited_on=today,
            workers=["王建军", "马秀兰"],
            findings="户主住院两次，家庭收入骤减，医疗支出较大（演示）",
        )
        services.warning_verify(actor=reviewer, warning_id=first.pk, true=True, note="入户核实属实")
        services.warning_dispose(
            actor=clerk,
            warning_id=first.pk,
            outcome=Outcome.APPLICATION,
            reason="引导申请最低生活保障（演示）",
            item_code="dibao",
        )
    if len(made) > 1:  # the second: signed for, the visit to record
        services.warning_accept(actor=reviewer, warning_id=made[1].pk)
    village = assistant.office.division_id
    local = (
        Household.objects.filter(division_id=village, head__isnull=False)
        .exclude(pk__in=[h.pk for h in households])
        .order_by("pk")
        .first()
    )
    if local is not None and local.head_id is not None:
        services.emergency_report(
            actor=assistant,
            household_id=local.pk,
            person_id=local.head_id,
            kind="accident",
            description="户主务工途中遭遇交通事故，住院治疗（演示）",
        )
    return Warning.objects.filter(household__division__code__startswith=TOWNSHIP).count()
