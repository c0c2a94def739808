"""Demo data for grassroots capacity (基层能力建设) in 大武口区: the county applies 银川2018 (the
published norms nearest to it in Ningxia), its 11 townships' populations (demo figures, marked as
such), staff, village assistants, funding, facility checks with a photo, trainings (the demo accounts
have their pre-job training, and the county turns the pre-job gate on), a training plan, one
purchased-service contract with a qualified social worker, and a month of supervision (a task, an
open and a submitted rectification, a spot check of the decided cases and last month's bulletins)."""

from __future__ import annotations

import contextlib
import random
from datetime import date, timedelta

from django.db import transaction
from django.utils import timezone

from minzheng.core.errors import DomainError
from minzheng.core.identifiers import DivisionLevel, uscc_check_char
from minzheng.org.models import Division, Staff
from minzheng.oversight import selectors, services
from minzheng.oversight.models import CountyNormChoice, PostKind, TrainingKind

COUNTY = "640202000000"
CITY = "640200000000"
SOURCE = "演示数据（非真实统计）"
# The smallest valid PNG signature plus padding: a stand-in for an on-site photo.
PHOTO = services.Upload("现场照片.png", "image/png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)
SURNAMES = "王李张刘陈杨赵黄周吴徐孙马朱胡郭何高林罗"
GIVEN = "建国秀兰志强海燕晓东丽萍文斌淑珍永刚雪梅红霞春生玉兰国庆小军"


def _name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.sample(GIVEN, 2))


@transaction.atomic
def build_demo_oversight(seed: int = 7) -> int:
    """Returns the number of townships given data (0 when it was there already)."""
    services.normsets_load(actor=None)
    if CountyNormChoice.objects.filter(county_id=COUNTY).exists():
        return 0
    rng = random.Random(seed)  # noqa: S311 (reproducible demo data)
    today = timezone.localdate()
    year = today.year
    services.county_norm_choose(
        actor=None,
        county_code=COUNTY,
        norm_set_code="yinchuan_2018",
        valid_from=date(2018, 6, 6),
        reason="演示：参照银川市标准",
    )
    townships = list(Division.objects.filter(parent_id=COUNTY, level=DivisionLevel.TOWNSHIP).order_by("code"))
    pre_job = services.training_event_create(
        actor=None,
        organiser_code=COUNTY,
        kind=TrainingKind.PRE_JOB,
        title="新任民政工作人员岗前培训",
        start_on=date(year, 1, 8),
        end_on=date(year, 1, 9),
        days="2",
        location="大武口区民政局",
    )
    plan = services.training_plan_create(
        actor=None,
        division_code=COUNTY,
        year=year,
        title="年度民政干部业务培训计划（演示）",
        planned_events=3,
    )
    business = [
        services.training_event_create(
            actor=None,
            plan_id=plan.pk,
            organiser_code=COUNTY,
            kind=kind,
            title=title,
            start_on=date(year, month, 15),
            end_on=date(year, month, 15),
            days="1",
            location="大武口区民政局",
        )
        for kind, title, month in (
            (TrainingKind.BUSINESS, "社会救助政策业务培训", 3),
            (TrainingKind.WARNING, "警示教育专题培训", 5),
        )
        if date(year, month, 15) <= today
    ]
    # Every demo account of the county gets a worker record and its pre-job training.
    for staff in Staff.objects.filter(office__division__code__startswith="640202", is_demo=True):
        worker = services.worker_create(
            actor=None, division_code=staff.office.division_id, full_name=staff.full_name, staff_id=staff.pk
        )
        services.attendance_record(actor=None, event_id=pre_job.pk, worker_id=worker.pk, days_attended="2")
    for index, township in enumerate(townships):
        people = rng.choice([12_000, 18_000, 26_000, 29_500, 31_000, 38_000, 45_000, 52_000])
        services.population_record(
            actor=None, division_code=township.code, year=year, resident_population=people, source=SOURCE
        )
        need = 2 if people < 30_000 else 3
        have = need if index % 4 else need - 1  # every fourth township is one short
        for _ in range(have):
            worker = services.worker_create(actor=None, division_code=township.code, full_name=_name(rng))
            services.assignment_create(
                actor=None,
                worker_id=worker.pk,
                division_code=township.code,
                post=PostKind.FULL_TIME if _ % 2 == 0 else PostKind.PART_TIME,
                start_on=date(year - 2, 3, 1),
            )
            services.attendance_record(
                actor=None, event_id=pre_job.pk, worker_id=worker.pk, days_attended="2"
            )
            for event in business[: 2 if index % 3 else 1]:
                services.attendance_record(
                    actor=None, event_id=event.pk, worker_id=worker.pk, days_attended="1"
                )
        band = 40_000 if people < 30_000 else 70_000 if people < 50_000 else 100_000
        services.funding_record(
            actor=None,
            division_code=township.code,
            year=year,
            budgeted=str(band if index % 5 else band - 10_000),
            separately_listed=index % 5 != 0,
            disbursed=str(band // 2),
            source="乡镇（街道）年度预算（演示）",
        )
        items = {"phone": 2, "computer": 3, "printer": 1, "desk": 6, "archives": 1, "info_platform": 1}
        if index % 3:
            items["av_equipment"] = 1
        services.facility_check_record(
            actor=None,
            division_code=township.code,
            checked_on=today - timedelta(days=20 + index),
            office_area_m2="45.0" if index % 2 else "36.0",
            window_has_sign=index % 4 != 1,
            items=items,
            evidence=[PHOTO],
            note="区民政局实地检查（演示）",
        )
        villages = Division.objects.filter(parent_id=township.code, level=DivisionLevel.VILLAGE).order_by(
            "code"
        )
        for number, village in enumerate(villages):
            services.population_record(
                actor=None,
                division_code=village.code,
                year=year,
                resident_population=rng.randint(1_500, 6_000),
                source=SOURCE,
            )
            if number % 6 == 5:
                continue  # a village without an assistant yet
            worker = services.worker_create(actor=None, division_code=village.code, full_name=_name(rng))
            services.assignment_create(
                actor=None,
                worker_id=worker.pk,
                division_code=village.code,
                post=PostKind.VILLAGE_ASSISTANT,
                start_on=date(year - 1, 5, 1),
                monthly_allowance="300",
            )
            services.attendance_record(
                actor=None, event_id=pre_job.pk, worker_id=worker.pk, days_attended="2"
            )
    # Purchased services: social-work posts paid from the county's work funds (no cap applies).
    first17 = "52640202MJ0000010"
    provider = services.provider_register(
        actor=None,
        county_code=COUNTY,
        name="石嘴山市大武口区社会工作服务中心（演示）",
        uscc=first17 + uscc_check_char(first17),
        kind="social_organisation",
    )
    contract = services.contract_create(
        actor=None,
        county_code=COUNTY,
        provider_id=provider.pk,
        number=f"DWK-GM-{year}-01",
        title="社会救助经办服务岗位购买",
        mode="posts",
        category="transactional",
        items=["困难群众排查", "家庭经济状况调查", "政策宣传"],
        amount="360000.00",
        funding_source="work_funds",
        start_on=date(year, 1, 1),
        end_on=date(year, 12, 31),
        posts_count=4,
    )
    for number, township in enumerate(townships[:3]):
        worker = services.worker_create(actor=None, division_code=township.code, full_name=_name(rng))
        if number == 0:
            services.qualification_record(
                actor=None,
                worker_id=worker.pk,
                kind="assistant_social_worker",
                certificate_number=f"ZS{year - 1}640202001",
                obtained_on=date(year - 1, 6, 20),
                fee_reimbursed="200",
            )
        services.assignment_create(
            actor=None,
            worker_id=worker.pk,
            division_code=township.code,
            post=PostKind.PURCHASED_POST,
            start_on=date(year, 1, 1),
            contract_id=contract.pk,
        )
        first_village = Division.objects.filter(parent_id=township.code, level=DivisionLevel.VILLAGE).first()
        if first_village is not None and date(year, 2, 10) <= today:
            services.delivery_record(
                actor=None,
                contract_id=contract.pk,
                division_code=first_village.code,
                delivered_on=date(year, 2, 10),
                service_type="家庭经济状况调查",
                recipient_name=_name(rng),
                hours="2",
                recipient_confirmed=True,
                worker_id=worker.pk,
            )
    if date(year, 6, 30) <= today:
        services.evaluation_record(
            actor=None,
            contract_id=contract.pk,
            stage="mid_term",
            evaluator="third_party",
            evaluated_on=date(year, 6, 30),
            score="86.5",
            outcome="continue",
            note="岗位到岗率偏低，服务记录规范（演示）",
        )
    # A month of supervision.
    lagging = townships[0]
    services.supervision_task_create(
        actor=None,
        division_code=lagging.code,
        title="督促配齐民政工作人员并完成岗前培训",
        due_on=today + timedelta(days=7),
    )
    services.rectification_open(
        actor=None,
        division_code=lagging.code,
        source="supervision",
        issue="民政工作人员未按人口规模配齐",
        opened_on=today - timedelta(days=25),
        due_on=today + timedelta(days=5),
    )
    reported = services.rectification_open(
        actor=None,
        division_code=townships[1].code,
        source="indicator",
        issue="服务窗口未悬挂标志牌和民政徽标",
        opened_on=today - timedelta(days=12),
        due_on=today + timedelta(days=3),
    )
    services.rectification_submit(
        actor=None, rectification_id=reported.pk, note="已制作并悬挂标志牌（演示）", evidence=[PHOTO]
    )
    with contextlib.suppress(DomainError):  # a spot check of the demo's decided cases, if any
        services.spot_check_create(
            actor=None,
            county_code=COUNTY,
            period_start=today - timedelta(days=365),
            period_end=today,
            sample_size=5,
            seed=2026,
        )
    services.prejob_gate_set(
        actor=None,
        county_code=COUNTY,
        valid_from=today,
        enabled=True,
        reference="银川市基层民政服务能力建设实施方案（2018）：新任民政工作人员必须经岗前培训才能上岗",
    )
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    supervisor = Staff.objects.filter(username="szs_supervisor").first()
    county_admin = Staff.objects.filter(username="dwk_county_admin").first()
    for who, code in ((county_admin, COUNTY), (supervisor, CITY)):
        if who is None:
            continue
        try:
            content = selectors.bulletin_content(actor=who, division_code=code, month=last_month)
            services.bulletin_freeze(actor=None, division_code=code, month=last_month, content=content)
        except DomainError:
            pass
    return len(townships)
