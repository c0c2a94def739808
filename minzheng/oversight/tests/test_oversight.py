"""Norm sets at their seeds' band boundaries, the county's choice, bad input refused with nothing
changed, the pre-job gate, purchased services and the bulletin's reproducibility."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from minzheng.core.errors import Conflict, InvalidInput, NotFound
from minzheng.core.identifiers import uscc_check_char
from minzheng.core.models import AuditEvent
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.services import staff_create, staff_set_roles
from minzheng.org.testing import TEST_PASSWORD, make_staff
from minzheng.oversight import selectors, services
from minzheng.oversight.models import (
    Bulletin,
    FacilityCheck,
    Metric,
    NormBand,
    NormSet,
    PopulationRecord,
    ProviderEvaluation,
    ServiceContract,
    TrainingKind,
)
from minzheng.oversight.services import BandSpec, NormSetSpec, Upload

PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32
TOWNSHIP = "640202001000"
TOWN = "640202100000"
VILLAGE = "640202001001"
COUNTY = "640202000000"


def photo() -> Upload:
    return Upload("现场.png", "image/png", PNG)


def valid_uscc(body: str = "52640202MJ000001") -> str:
    first17 = (body + "0" * 17)[:17]
    return first17 + uscc_check_char(first17)


@pytest.fixture
def admin(tree: dict[str, Division]) -> Staff:
    services.normsets_load(actor=None)
    return make_staff("oversight_admin", COUNTY, [Role.COUNTY_ADMIN])


def choose(admin: Staff, code: str, on: date = date(2020, 1, 1)) -> None:
    services.county_norm_choose(
        actor=admin, county_code=COUNTY, norm_set_code=code, valid_from=on, reason="测试"
    )


def population(admin: Staff, code: str, people: int, year: int | None = None) -> None:
    services.population_record(
        actor=admin,
        division_code=code,
        year=year or timezone.localdate().year,
        resident_population=people,
        source="统计年鉴",
    )


def row(code: str = TOWNSHIP) -> selectors.UnitRow:
    return next(r for r in selectors.township_rows(COUNTY, timezone.localdate()) if r.code == code)


def cell(r: selectors.UnitRow, metric: str) -> selectors.Cell:
    return next(c for c in r.cells if c.metric == metric)


@pytest.mark.parametrize(
    ("norm_set", "people", "staff", "funds"),
    [
        ("yinchuan_2018", 0, 2, 40000),
        ("yinchuan_2018", 29999, 2, 40000),
        ("yinchuan_2018", 30000, 3, 70000),
        ("yinchuan_2018", 49999, 3, 70000),
        ("yinchuan_2018", 50000, 3, 100000),
        ("xinzheng_2017", 29999, 3, 150000),
        ("xinzheng_2017", 30000, 4, 200000),
        ("xinzheng_2017", 49999, 4, 200000),
        ("xinzheng_2017", 50000, 5, 250000),
        ("zhangjiakou_2018", 12, 4, None),
        ("zhangjiakou_2018", 90000, 4, None),
    ],
)
def test_each_seeds_bands_at_their_boundaries(
    admin: Staff, norm_set: str, people: int, staff: int, funds: int | None
) -> None:
    choose(admin, norm_set)
    population(admin, TOWNSHIP, people)
    r = row()
    assert cell(r, Metric.TOWNSHIP_STAFF).required == staff
    assert cell(r, Metric.TOWNSHIP_STAFF).short  # nobody assigned yet
    if funds is None:
        assert Metric.TOWNSHIP_FUNDS not in [c.metric for c in r.cells]
    else:
        assert cell(r, Metric.TOWNSHIP_FUNDS).required == funds


def test_switching_the_norm_set_recomputes_every_gap(admin: Staff) -> None:
    choose(admin, "yinchuan_2018")
    population(admin, TOWNSHIP, 35000)
    for i in range(3):
        worker = services.worker_create(actor=admin, division_code=TOWNSHIP, full_name=f"专干{i}")
        services.assignment_create(
            actor=admin,
            worker_id=worker.pk,
            division_code=TOWNSHIP,
            post="full_time",
            start_on=date(2020, 1, 1),
        )
    services.funding_record(
        actor=admin,
        division_code=TOWNSHIP,
        year=timezone.localdate().year,
        budgeted="80000",
        separately_listed=True,
        source="预算",
    )
    yinchuan = row()
    assert not cell(yinchuan, Metric.TOWNSHIP_STAFF).short
    assert not cell(yinchuan, Metric.TOWNSHIP_FUNDS).short
    assert [f.label for f in yinchuan.facilities][:2] == ["电话", "电脑"]
    assert len(yinchuan.facilities) == 7  # 七有
    choose(admin, "xinzheng_2017", date(2021, 1, 1))
    xinzheng = row()
    assert cell(xinzheng, Metric.TOWNSHIP_STAFF).required == 4
    assert cell(xinzheng, Metric.TOWNSHIP_STAFF).short
    assert cell(xinzheng, Metric.TOWNSHIP_FUNDS).required == 200000
    assert cell(xinzheng, Metric.TOWNSHIP_FUNDS).short
    assert cell(xinzheng, Metric.SOCIAL_WORK_POSTS).required == 2
    assert len(xinzheng.facilities) == 10  # 十有
    # The earlier date still reads the earlier set.
    old = selectors.township_rows(COUNTY, date(2020, 6, 1))
    assert old[0].norm_set == "银川2018"


def test_a_facility_check_meets_the_list_with_two_computers_for_xinzheng(admin: Staff) -> None:
    choose(admin, "xinzheng_2017")
    population(admin, TOWNSHIP, 10000)
    items = {"phone": 1, "computer": 1, "printer": 1, "copier": 1, "fax": 1, "desk": 4}
    services.facility_check_record(
        actor=admin,
        division_code=TOWNSHIP,
        checked_on=timezone.localdate(),
        office_area_m2="38.5",
        window_has_sign=True,
        items=items,
        evidence=[photo()],
    )
    r = row()
    short = {c.metric for c in r.facilities if c.short}
    assert short == {"computer", "document_camera", "av_equipment", "archive_cabinet", "vehicle"}
    assert cell(r, Metric.OFFICE_AREA).short  # 38.5 < 40


def test_bad_input_changes_nothing(admin: Staff) -> None:
    before = (
        NormSet.objects.count(),
        NormBand.objects.count(),
        PopulationRecord.objects.count(),
        AuditEvent.objects.count(),
    )
    spec = NormSetSpec(
        code="bad_2020",
        name="坏",
        region_code="640202",
        source_document="文件",
        source_reference="文号",
        issued_on=date(2020, 1, 1),
        bands=[
            BandSpec("township_staff", 0, 30000, "2"),
            BandSpec("township_staff", 20000, None, "3"),
        ],
    )
    with pytest.raises(InvalidInput, match="重叠"):
        services.normset_create(actor=admin, spec=spec)
    gap = NormSetSpec(
        **{
            **spec.__dict__,
            "bands": [
                BandSpec("township_funds", 0, 30000, "1"),
                BandSpec("township_funds", 40000, None, "2"),
            ],
        }
    )
    with pytest.raises(InvalidInput, match="空缺"):
        services.normset_create(actor=admin, spec=gap)
    with pytest.raises(InvalidInput) as exc:
        services.population_record(
            actor=admin, division_code=TOWNSHIP, year=None, resident_population=1000, source="普查"
        )
    assert exc.value.field_errors["year"] == ["请填写人口数据的年度"]
    with pytest.raises(InvalidInput):
        services.facility_check_record(
            actor=admin,
            division_code=TOWNSHIP,
            checked_on=timezone.localdate(),
            office_area_m2="40",
            window_has_sign=True,
            items={"phone": 1},
            evidence=[],
        )
    assert FacilityCheck.objects.count() == 0
    after = (
        NormSet.objects.count(),
        NormBand.objects.count(),
        PopulationRecord.objects.count(),
        AuditEvent.objects.count(),
    )
    assert after == before


def test_a_township_sees_only_its_township(admin: Staff) -> None:
    choose(admin, "yinchuan_2018")
    head = make_staff("head", TOWNSHIP, [Role.TOWNSHIP_HEAD])
    view = selectors.compliance(actor=head)
    assert [r.code for r in view.townships] == [TOWNSHIP]
    with pytest.raises(NotFound):
        selectors.compliance(actor=head, code=TOWN)
    with pytest.raises(NotFound):
        services.population_record(
            actor=head, division_code=TOWN, year=2026, resident_population=1, source="x"
        )
    city = make_staff("city", "640200000000", [Role.SUPERVISOR])
    counties = [c.code for c in selectors.compliance(actor=city).counties]
    assert counties == ["640202000000", "640205000000"]


# --- Pre-job gate -----------------------------------------------------------------------------


def test_no_case_handling_role_without_pre_job_training_where_the_county_enables_it(admin: Staff) -> None:
    services.prejob_gate_set(
        actor=admin, county_code=COUNTY, valid_from=date(2020, 1, 1), enabled=True, reference="银政办发2018"
    )
    security = make_staff("security", COUNTY, [Role.SYSTEM_ADMIN])  # noqa: F841 (others exist)
    with pytest.raises(Conflict, match="尚无岗前培训记录"):
        staff_create(
            actor=admin,
            username="newbie",
            full_name="新人",
            office=Division.objects.get(code=TOWNSHIP).office,
            password=TEST_PASSWORD,
            roles=[Role.TOWNSHIP_CLERK],
        )
    assert not Staff.objects.filter(username="newbie").exists()
    newbie = staff_create(
        actor=admin,
        username="newbie",
        full_name="新人",
        office=Division.objects.get(code=TOWNSHIP).office,
        password=TEST_PASSWORD,
        roles=[],
    )
    with pytest.raises(Conflict, match="岗前培训"):
        staff_set_roles(actor=admin, staff=newbie, roles=[Role.TOWNSHIP_CLERK], reason="上岗")
    worker = services.worker_create(actor=admin, division_code=TOWNSHIP, full_name="新人", staff_id=newbie.pk)
    event = services.training_event_create(
        actor=admin,
        organiser_code=COUNTY,
        kind=TrainingKind.PRE_JOB,
        title="新任人员岗前培训",
        start_on=date(2026, 3, 2),
        end_on=date(2026, 3, 3),
        days="2",
    )
    services.attendance_record(actor=admin, event_id=event.pk, worker_id=worker.pk, days_attended="2")
    staff_set_roles(actor=admin, staff=newbie, roles=[Role.TOWNSHIP_CLERK], reason="上岗")
    assert Staff.objects.get(pk=newbie.pk).roles == {Role.TOWNSHIP_CLERK}


def test_the_gate_is_off_unless_the_county_turns_it_on(admin: Staff) -> None:
    staff = staff_create(
        actor=admin,
        username="clerk2",
        full_name="办事员",
        office=Division.objects.get(code=TOWNSHIP).office,
        password=TEST_PASSWORD,
        roles=[Role.TOWNSHIP_CLERK],
    )
    assert staff.roles == {Role.TOWNSHIP_CLERK}


# --- Purchased services -----------------------------------------------------------------------


def test_a_contract_above_the_provincial_cap_is_refused(tree: dict[str, Division]) -> None:
    services.normsets_load(actor=None)
    provider = services.provider_register(
        actor=None, county_code=COUNTY, name="社工中心", uscc=valid_uscc(), kind="social_organisation"
    )
    kwargs: dict[str, Any] = {
        "actor": None,
        "county_code": COUNTY,
        "provider_id": provider.pk,
        "title": "岗位购买",
        "mode": "posts",
        "category": "transactional",
        "items": ["家庭经济状况调查"],
        "funding_source": "assistance_fund",
        "start_on": date(2026, 1, 1),
        "end_on": date(2026, 12, 31),
        "posts_count": 2,
        "assistance_fund_total": "1000000",
    }
    # Ningxia (64) has no cap recorded: nothing may come from the assistance fund.
    with pytest.raises(InvalidInput, match="尚未设置"):
        services.contract_create(number="C1", amount="10000", **kwargs)
    services.FundCapRule.objects.create(
        province_code="64", valid_from=date(2020, 1, 1), cap_percent=Decimal("4"), reference="测试"
    )
    with pytest.raises(InvalidInput, match="超过本省上限4%"):
        services.contract_create(number="C1", amount="40000.01", **kwargs)
    assert not ServiceContract.objects.exists()
    contract = services.contract_create(number="C1", amount="40000", **kwargs)
    assert contract.share_percent == Decimal("4.0000")


def test_the_uscc_is_validated(tree: dict[str, Division]) -> None:
    good = valid_uscc()
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    with pytest.raises(InvalidInput, match="校验位"):
        services.provider_register(actor=None, county_code=COUNTY, name="X", uscc=bad, kind="enterprise")


def test_an_evaluation_outside_its_scale_is_refused_and_a_bar_ends_the_contract(
    tree: dict[str, Division],
) -> None:
    provider = services.provider_register(
        actor=None, county_code=COUNTY, name="社工中心", uscc=valid_uscc(), kind="social_organisation"
    )
    contract = services.contract_create(
        actor=None,
        county_code=COUNTY,
        provider_id=provider.pk,
        number="C2",
        title="项目",
        mode="project",
        category="service",
        items=["照料护理"],
        amount="50000",
        funding_source="local_budget",
        start_on=date(2026, 1, 1),
        end_on=date(2026, 12, 31),
    )
    for score in ("101", "-1", "abc"):
        with pytest.raises(InvalidInput):
            services.evaluation_record(
                actor=None,
                contract_id=contract.pk,
                stage="mid_term",
                evaluator="third_party",
                evaluated_on=date(2026, 6, 30),
                score=score,
                outcome="continue",
            )
    assert not ProviderEvaluation.objects.exists()
    services.evaluation_record(
        actor=None,
        contract_id=contract.pk,
        stage="final",
        evaluator="bureau",
        evaluated_on=date(2026, 6, 30),
        score="40",
        outcome="bar",
        barred_until=date(2028, 6, 30),
    )
    contract.refresh_from_db()
    provider.refresh_from_db()
    assert contract.status == "terminated"
    assert provider.barred_until == date(2028, 6, 30)


# --- Bulletin ---------------------------------------------------------------------------------


def test_the_bulletin_is_frozen_and_reproducible(admin: Staff) -> None:
    choose(admin, "yinchuan_2018")
    today = timezone.localdate()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    population(admin, TOWNSHIP, 20000, year=last_month.year)
    content = selectors.bulletin_content(actor=admin, division_code=COUNTY, month=last_month)
    assert [u["name"] for u in content["ranking"]] == ["长胜街道", "星海镇"] or len(content["ranking"]) == 2
    bulletin = services.bulletin_freeze(actor=admin, division_code=COUNTY, month=last_month, content=content)
    # Data recorded later (a new worker today) changes neither the stored bulletin nor a recomputation
    # as of that month's end.
    worker = services.worker_create(actor=admin, division_code=TOWNSHIP, full_name="后来者")
    services.assignment_create(
        actor=admin, worker_id=worker.pk, division_code=TOWNSHIP, post="full_time", start_on=today
    )
    again = selectors.bulletin_content(actor=admin, division_code=COUNTY, month=last_month)
    stored = Bulletin.objects.get(pk=bulletin.pk)
    assert services.content_digest(again) == stored.sha256 == services.content_digest(stored.content)
    with pytest.raises(Conflict):
        services.bulletin_freeze(actor=admin, division_code=COUNTY, month=last_month, content=again)
    with pytest.raises(Conflict, match="尚未结束"):
        services.bulletin_freeze(
            actor=admin,
            division_code=COUNTY,
            month=today,
            content=selectors.bulletin_content(actor=admin, division_code=COUNTY, month=today),
        )
