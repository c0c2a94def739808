"""The writes on the pages and through the API: an office's population, people, posts,
qualifications, funding and facility checks (with a photo); training plans, events and attendance;
providers, contracts, posts filled, deliveries and evaluations; spot checks, weekly tasks and
rectifications with evidence and sign-off. Bad input shows a Chinese error (422 on the page,
structured JSON in the API) and changes nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from minzheng.cases.models import Case
from minzheng.cases.services import case_intake
from minzheng.catalogue.models import MaterialRequirement
from minzheng.catalogue.services import catalogue_load
from minzheng.core.errors import Conflict
from minzheng.core.identifiers import uscc_check_char
from minzheng.core.models import AuditEvent
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue, staff_create, staff_set_roles
from minzheng.org.testing import TEST_PASSWORD, make_staff
from minzheng.oversight import services
from minzheng.oversight.models import (
    Evidence,
    FacilityCheck,
    FundingRecord,
    PopulationRecord,
    ProviderEvaluation,
    Qualification,
    Rectification,
    SampledCase,
    ServiceContract,
    ServiceDelivery,
    ServiceProvider,
    SpotCheck,
    StaffAssignment,
    SupervisionTask,
    TrainingAttendance,
    TrainingEvent,
    TrainingPlan,
    Worker,
)
from minzheng.registry.testing import make_household

COUNTY = "640202000000"
TOWNSHIP = "640202001000"
VILLAGE = "640202001001"
OTHER_TOWNSHIP = "640205001000"  # 惠农区: another county
PNG = b"\x89PNG\r\n\x1a\n" + b"0" * 32
YEAR = timezone.localdate().year


def uscc(body: str = "52640202MJ000009") -> str:
    first17 = (body + "0" * 17)[:17]
    return first17 + uscc_check_char(first17)


def photo(name: str = "现场.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PNG, "image/png")


@pytest.fixture
def norms(tree: dict[str, Division]) -> None:
    services.normsets_load(actor=None)
    services.county_norm_choose(
        actor=None,
        county_code=COUNTY,
        norm_set_code="xinzheng_2017",
        valid_from=date(2020, 1, 1),
        reason="测试",
    )


@pytest.fixture
def head(norms: None) -> Staff:
    return make_staff("township_head", TOWNSHIP, [Role.TOWNSHIP_HEAD])


@pytest.fixture
def admin(norms: None) -> Staff:
    return make_staff("county_admin", COUNTY, [Role.COUNTY_ADMIN])


def browser(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def bearer(staff: Staff) -> Client:
    _, raw = api_token_issue(actor=staff, name="oversight forms")
    return Client(enforce_csrf_checks=True, HTTP_AUTHORIZATION=f"Bearer {raw}")


def post_json(client: Client, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, body, content_type="application/json")


def oversight_events() -> int:
    return AuditEvent.objects.filter(action__startswith="oversight.").count()


def unchanged(before: int) -> bool:
    return oversight_events() == before


# --- An office's resources on the township page -------------------------------------------------


def test_the_township_records_its_population_people_funding_and_a_facility_check(head: Staff) -> None:
    client = browser(head)
    page = client.get(f"/oversight/d/{TOWNSHIP}/office/")
    assert page.status_code == 200
    for testid in (
        "population-form",
        "worker-form",
        "assignment-form",
        "funding-form",
        "facility-check-form",
    ):
        assert f'data-testid="{testid}"' in page.content.decode()
    assert (
        f'href="/oversight/d/{TOWNSHIP}/office/"' in client.get(f"/oversight/d/{TOWNSHIP}/").content.decode()
    )

    events = oversight_events()
    missing_year = client.post(
        f"/oversight/d/{TOWNSHIP}/population/",
        {"pop-year": "", "pop-resident_population": "31000", "pop-source": "统计年鉴"},
    )
    assert missing_year.status_code == 422
    assert "请填写人口数据的年度" in missing_year.content.decode()
    assert not PopulationRecord.objects.exists()
    assert unchanged(events)
    done = client.post(
        f"/oversight/d/{TOWNSHIP}/population/",
        {"pop-year": str(YEAR), "pop-resident_population": "31000", "pop-source": "统计年鉴"},
    )
    assert done.status_code == 302
    assert PopulationRecord.objects.get(division_id=TOWNSHIP, year=YEAR).resident_population == 31000

    assert client.post(f"/oversight/d/{TOWNSHIP}/workers/", {"worker-full_name": "王建国"}).status_code == 302
    worker = Worker.objects.get(full_name="王建国")
    wrong_post = client.post(
        f"/oversight/d/{TOWNSHIP}/assignments/",
        {"post-worker_id": worker.pk, "post-post": "village_assistant", "post-start_on": "2026-01-01"},
    )
    assert wrong_post.status_code == 422
    assert "民政协理员的岗位在村（社区）" in wrong_post.content.decode()
    assert not StaffAssignment.objects.exists()
    posted = client.post(
        f"/oversight/d/{TOWNSHIP}/assignments/",
        {"post-worker_id": worker.pk, "post-post": "full_time", "post-start_on": "2026-01-01"},
    )
    assert posted.status_code == 302
    assert StaffAssignment.objects.get(worker=worker).post == "full_time"
    qualified = client.post(
        f"/oversight/d/{TOWNSHIP}/qualifications/",
        {
            "qual-worker_id": worker.pk,
            "qual-kind": "social_worker",
            "qual-certificate_number": "SW2026001",
            "qual-obtained_on": "2025-06-01",
        },
    )
    assert qualified.status_code == 302
    assert Qualification.objects.get(worker=worker).certificate_number == "SW2026001"

    negative = client.post(
        f"/oversight/d/{TOWNSHIP}/funding/",
        {"fund-year": str(YEAR), "fund-budgeted": "-1", "fund-source": "预算"},
    )
    assert negative.status_code == 422
    assert not FundingRecord.objects.exists()
    funded = client.post(
        f"/oversight/d/{TOWNSHIP}/funding/",
        {
            "fund-year": str(YEAR),
            "fund-budgeted": "200000",
            "fund-separately_listed": "on",
            "fund-source": "县预算",
        },
    )
    assert funded.status_code == 302
    assert FundingRecord.objects.get(division_id=TOWNSHIP).separately_listed is True

    check = {
        "check-checked_on": "2026-03-01",
        "check-office_area_m2": "45.5",
        "check-window_has_sign": "on",
        "check-item_computer": "2",
        "check-item_phone": "1",
    }
    no_photo = client.post(f"/oversight/d/{TOWNSHIP}/facility-checks/", check)
    assert no_photo.status_code == 422
    assert "请上传现场照片作为检查凭证" in no_photo.content.decode()
    assert not FacilityCheck.objects.exists()
    wrong_file = client.post(
        f"/oversight/d/{TOWNSHIP}/facility-checks/",
        {**check, "check-photo": SimpleUploadedFile("a.png", b"not a png", "image/png")},
    )
    assert wrong_file.status_code == 422
    assert "文件内容与类型不符" in wrong_file.content.decode()
    checked = client.post(f"/oversight/d/{TOWNSHIP}/facility-checks/", {**check, "check-photo": photo()})
    assert checked.status_code == 302
    found = FacilityCheck.objects.get(division_id=TOWNSHIP)
    assert {i.code: i.quantity for i in found.items.all()} == {"computer": 2, "phone": 1}
    assert Evidence.objects.get(facility_check=found).content == PNG
    shown = client.get(f"/oversight/d/{TOWNSHIP}/office/").content.decode()
    assert "王建国" in shown
    assert "SW2026001" in shown
    # The compliance row counts what was recorded: 1 staff of the 4 the band requires at 31,000.
    county_cells = client.get(f"/oversight/d/{TOWNSHIP}/").content.decode()
    assert 'data-metric="township_staff" data-short="1"' in county_cells


def test_office_forms_are_scoped_and_permission_checked(head: Staff) -> None:
    client = browser(head)
    assert client.get(f"/oversight/d/{OTHER_TOWNSHIP}/office/").status_code == 404
    refused = client.post(f"/oversight/d/{OTHER_TOWNSHIP}/workers/", {"worker-full_name": "越权"})
    assert refused.status_code == 404
    reviewer = browser(make_staff("reviewer", TOWNSHIP, [Role.TOWNSHIP_REVIEWER]))  # view only
    page = reviewer.get(f"/oversight/d/{TOWNSHIP}/office/")
    assert page.status_code == 200
    assert 'data-testid="worker-form"' not in page.content.decode()
    assert reviewer.post(f"/oversight/d/{TOWNSHIP}/workers/", {"worker-full_name": "甲"}).status_code == 403
    assert not Worker.objects.exists()


# --- Training ------------------------------------------------------------------------------------


def test_training_plans_events_attendance_and_days_against_the_norm(admin: Staff) -> None:
    worker = services.worker_create(actor=admin, division_code=TOWNSHIP, full_name="李秀兰")
    services.assignment_create(
        actor=admin, worker_id=worker.pk, division_code=TOWNSHIP, post="full_time", start_on=date(2020, 1, 1)
    )
    client = browser(admin)
    plan = client.post(
        "/oversight/training/",
        {
            "plan-form": "plan",
            "plan-division_code": COUNTY,
            "plan-year": str(YEAR),
            "plan-title": "年度业务培训计划",
            "plan-planned_events": "3",
        },
    )
    assert plan.status_code == 302
    plan_id = TrainingPlan.objects.get().pk
    event = {
        "event-form": "event",
        "event-organiser_code": COUNTY,
        "event-kind": "business",
        "event-title": "低保业务培训",
        "event-start_on": f"{YEAR}-01-10",
        "event-end_on": f"{YEAR}-01-09",
        "event-days": "2",
        "event-plan_id": str(plan_id),
    }
    backwards = client.post("/oversight/training/", event)
    assert backwards.status_code == 422
    assert "结束日期不能早于开始日期" in backwards.content.decode()
    assert not TrainingEvent.objects.exists()
    assert client.post("/oversight/training/", {**event, "event-end_on": f"{YEAR}-01-11"}).status_code == 302
    held = TrainingEvent.objects.get()
    page = client.get(f"/oversight/training/{held.pk}/")
    assert page.status_code == 200
    too_long = client.post(
        f"/oversight/training/{held.pk}/attendance/", {"worker_id": worker.pk, "days_attended": "3"}
    )
    assert too_long.status_code == 422
    assert "参训天数应大于0且不超过培训天数" in too_long.content.decode()
    assert not TrainingAttendance.objects.exists()
    attended = client.post(
        f"/oversight/training/{held.pk}/attendance/",
        {"worker_id": worker.pk, "days_attended": "2", "passed": "on", "certificate_number": "JY-1"},
    )
    assert attended.status_code == 302
    listing = client.get("/oversight/training/").content.decode()
    assert "低保业务培训" in listing
    assert "1 / 3" in listing  # one of three planned events held
    # 新郑: at least 7 days per person per year; 2 days is short.
    assert f'data-testid="person-{worker.pk}"' in listing
    assert 'data-short="1">2 / 7' in listing


# --- Purchased services --------------------------------------------------------------------------


def test_providers_contracts_posts_deliveries_and_evaluations(admin: Staff) -> None:
    client = browser(admin)
    bad = client.post(
        "/oversight/purchases/",
        {
            "provider-form": "provider",
            "provider-county_code": COUNTY,
            "provider-name": "阳光社工",
            "provider-uscc": "52640202MJ0000091",
            "provider-kind": "social_organisation",
        },
    )
    assert bad.status_code == 422
    assert not ServiceProvider.objects.exists()
    good = client.post(
        "/oversight/purchases/",
        {
            "provider-form": "provider",
            "provider-county_code": COUNTY,
            "provider-name": "阳光社工",
            "provider-uscc": uscc(),
            "provider-kind": "social_organisation",
        },
    )
    assert good.status_code == 302
    provider = ServiceProvider.objects.get()
    contract = {
        "contract-form": "contract",
        "contract-county_code": COUNTY,
        "contract-provider_id": provider.pk,
        "contract-number": "DWK-GM-2026-01",
        "contract-title": "社会救助经办服务",
        "contract-mode": "posts",
        "contract-category": "transactional",
        "contract-items": "入户调查、信息录入",
        "contract-posts_count": "1",
        "contract-amount": "120000",
        "contract-funding_source": "assistance_fund",
        "contract-assistance_fund_total": "10000000",
        "contract-start_on": "2026-01-01",
        "contract-end_on": "2026-12-31",
    }
    no_cap = client.post("/oversight/purchases/", contract)
    assert no_cap.status_code == 422
    assert "尚未设置从救助资金购买服务的比例上限" in no_cap.content.decode()
    assert not ServiceContract.objects.exists()
    assert (
        client.post(
            "/oversight/purchases/", {**contract, "contract-funding_source": "work_funds"}
        ).status_code
        == 302
    )
    found = ServiceContract.objects.get()
    assert found.items == ["入户调查", "信息录入"]
    worker = services.worker_create(actor=admin, division_code=TOWNSHIP, full_name="赵海燕")
    page = client.get(f"/oversight/contracts/{found.pk}/").content.decode()
    for testid in ("post-form", "delivery-form", "evaluation-form"):
        assert f'data-testid="{testid}"' in page
    filled = client.post(
        f"/oversight/contracts/{found.pk}/posts/",
        {"post-worker_id": worker.pk, "post-division_code": TOWNSHIP, "post-start_on": "2026-02-01"},
    )
    assert filled.status_code == 302
    assert StaffAssignment.objects.get(contract=found).post == "purchased_post"
    outside = client.post(
        f"/oversight/contracts/{found.pk}/deliveries/",
        {
            "delivery-division_code": VILLAGE,
            "delivery-delivered_on": "2027-03-01",
            "delivery-service_type": "入户调查",
            "delivery-recipient_name": "王大山",
            "delivery-hours": "2",
            "delivery-recipient_confirmed": "on",
        },
    )
    assert outside.status_code == 422
    assert "服务日期不在合同期内" in outside.content.decode()
    delivered = client.post(
        f"/oversight/contracts/{found.pk}/deliveries/",
        {
            "delivery-division_code": VILLAGE,
            "delivery-delivered_on": "2026-03-01",
            "delivery-service_type": "入户调查",
            "delivery-recipient_name": "王大山",
            "delivery-hours": "2",
            "delivery-recipient_confirmed": "on",
        },
    )
    assert delivered.status_code == 302
    assert ServiceDelivery.objects.get().recipient_confirmed is True
    evaluation = {
        "evaluation-stage": "mid_term",
        "evaluation-evaluator": "third_party",
        "evaluation-evaluated_on": "2026-06-30",
        "evaluation-score": "101",
        "evaluation-outcome": "rectify",
    }
    off_scale = client.post(f"/oversight/contracts/{found.pk}/evaluations/", evaluation)
    assert off_scale.status_code == 422
    assert "得分应在0至100分之间" in off_scale.content.decode()
    assert not ProviderEvaluation.objects.exists()
    scored = client.post(
        f"/oversight/contracts/{found.pk}/evaluations/", {**evaluation, "evaluation-score": "72.5"}
    )
    assert scored.status_code == 302
    found.refresh_from_db()
    assert found.status == "rectifying"
    page = client.get(f"/oversight/contracts/{found.pk}/").content.decode()
    assert "赵海燕" in page
    assert "王大山" in page
    assert "2026-03：1" in page  # deliveries by month
    # Another county's bureau cannot reach this contract.
    other = browser(make_staff("other_admin", "640205000000", [Role.COUNTY_ADMIN]))
    assert (
        other.post(
            f"/oversight/contracts/{found.pk}/evaluations/", {**evaluation, "evaluation-score": "1"}
        ).status_code
        == 404
    )


# --- Supervision ---------------------------------------------------------------------------------


def decided_case(admin: Staff) -> Case:
    catalogue_load(actor=None)
    registrar = make_staff("registrar", COUNTY, [Role.TOWNSHIP_REVIEWER])
    household = make_household(registrar, VILLAGE, "王大山", members=1)
    case = case_intake(
        actor=make_staff("assistant", VILLAGE, [Role.VILLAGE_ASSISTANT]),
        item_code="dibao",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        channel="window",
        materials={m.pk: "provided" for m in MaterialRequirement.objects.filter(item__code="dibao")},
    )
    Case.objects.filter(pk=case.pk).update(closed_at=timezone.now() - timedelta(days=3), outcome="approved")
    return case


def test_spot_checks_tasks_and_rectifications_on_the_supervision_page(admin: Staff, head: Staff) -> None:
    case = decided_case(admin)
    client = browser(admin)
    today = timezone.localdate()
    spot = {
        "spot-form": "spot",
        "spot-county_code": COUNTY,
        "spot-period_start": (today - timedelta(days=30)).isoformat(),
        "spot-period_end": (today - timedelta(days=20)).isoformat(),
        "spot-sample_size": "5",
    }
    empty = client.post("/oversight/supervision/", spot)
    assert empty.status_code == 422
    assert "该期间没有已作出决定的案件可供抽查" in empty.content.decode()
    assert not SpotCheck.objects.exists()
    assert (
        client.post("/oversight/supervision/", {**spot, "spot-period_end": today.isoformat()}).status_code
        == 302
    )
    sample = SampledCase.objects.get()
    assert sample.case_id == case.pk
    no_finding = client.post(f"/oversight/samples/{sample.pk}/finding/", {f"s{sample.pk}-compliant": "0"})
    assert no_finding.status_code == 422
    assert "不符合规定时须写明发现的问题" in no_finding.content.decode()
    due = (today + timedelta(days=10)).isoformat()
    found = client.post(
        f"/oversight/samples/{sample.pk}/finding/",
        {
            f"s{sample.pk}-compliant": "0",
            f"s{sample.pk}-finding": "入户调查记录缺签名",
            f"s{sample.pk}-rectify_by": due,
        },
    )
    assert found.status_code == 302
    item = Rectification.objects.get()
    assert item.division_id == TOWNSHIP
    assert item.sampled_case_id == sample.pk

    past = client.post(
        "/oversight/supervision/",
        {
            "task-form": "task",
            "task-division_code": TOWNSHIP,
            "task-title": "补录人口数据",
            "task-due_on": "2020-01-01",
        },
    )
    assert past.status_code == 422
    assert "完成时限不能早于今天" in past.content.decode()
    assert (
        client.post(
            "/oversight/supervision/",
            {
                "task-form": "task",
                "task-division_code": TOWNSHIP,
                "task-title": "补录人口数据",
                "task-due_on": due,
            },
        ).status_code
        == 302
    )
    task = SupervisionTask.objects.get()
    assert (
        client.post(f"/oversight/tasks/{task.pk}/done/", {f"t{task.pk}-result": "已补录"}).status_code == 302
    )
    task.refresh_from_db()
    assert task.status == "done"

    # The township reports with evidence; without a file it is refused.
    township = browser(head)
    page = township.get("/oversight/supervision/").content.decode()
    assert f'data-testid="submit-{item.pk}"' in page
    bare = township.post(f"/oversight/rectifications/{item.pk}/submit/", {f"r{item.pk}-note": "已补签"})
    assert bare.status_code == 422
    assert "请上传整改凭证" in bare.content.decode()
    item.refresh_from_db()
    assert item.status == "open"
    sent = township.post(
        f"/oversight/rectifications/{item.pk}/submit/",
        {f"r{item.pk}-note": "已补签", f"r{item.pk}-evidence": photo("补签.png")},
    )
    assert sent.status_code == 302
    item.refresh_from_db()
    assert item.status == "submitted"
    assert Evidence.objects.filter(rectification=item).count() == 1
    # The township cannot sign off its own rectification: it has no supervision permission.
    assert (
        township.post(
            f"/oversight/rectifications/{item.pk}/verify/",
            {f"v{item.pk}-accepted": "1", f"v{item.pk}-note": "好"},
        ).status_code
        == 403
    )
    accepted = client.post(
        f"/oversight/rectifications/{item.pk}/verify/",
        {f"v{item.pk}-accepted": "1", f"v{item.pk}-note": "材料齐全"},
    )
    assert accepted.status_code == 302
    item.refresh_from_db()
    assert item.status == "verified"
    assert item.closed_on == today


# --- The same through the API, with a bearer token ----------------------------------------------


def test_the_api_records_an_office_and_refuses_bad_input_with_nothing_changed(admin: Staff) -> None:
    api = bearer(admin)
    events = oversight_events()
    bad = post_json(api, "/api/v1/oversight/workers", {"division_code": TOWNSHIP, "full_name": ""})
    assert bad.status_code == 422
    assert set(bad.json()) == {"code", "message", "field_errors"}
    assert "full_name" in bad.json()["field_errors"]
    assert unchanged(events)
    made = post_json(api, "/api/v1/oversight/workers", {"division_code": TOWNSHIP, "full_name": "陈丽萍"})
    assert made.status_code == 201, made.content
    worker_id = made.json()["id"]
    wrong = post_json(
        api,
        "/api/v1/oversight/assignments",
        {
            "worker_id": worker_id,
            "division_code": TOWNSHIP,
            "post": "purchased_post",
            "start_on": "2026-01-01",
        },
    )
    assert wrong.status_code == 422
    assert wrong.json()["field_errors"] == {"contract_id": ["购买服务岗位须关联购买服务合同"]}
    posted = post_json(
        api,
        "/api/v1/oversight/assignments",
        {"worker_id": worker_id, "division_code": TOWNSHIP, "post": "part_time", "start_on": "2026-01-01"},
    )
    assert posted.status_code == 201
    qualified = post_json(
        api,
        f"/api/v1/oversight/workers/{worker_id}/qualifications",
        {"kind": "assistant_social_worker", "certificate_number": "ZL-1", "obtained_on": "2024-01-01"},
    )
    assert qualified.status_code == 201
    assert qualified.json()["qualifications"][0]["kind"] == "assistant_social_worker"
    funded = post_json(
        api,
        "/api/v1/oversight/funding",
        {
            "division_code": TOWNSHIP,
            "year": YEAR,
            "budgeted": "150000.00",
            "separately_listed": False,
            "source": "县预算",
        },
    )
    assert funded.status_code == 201
    village_funding = post_json(
        api,
        "/api/v1/oversight/funding",
        {
            "division_code": VILLAGE,
            "year": YEAR,
            "budgeted": "1.00",
            "separately_listed": False,
            "source": "x",
        },
    )
    assert village_funding.status_code == 422
    assert village_funding.json()["field_errors"] == {"division_code": ["该区划的层级不适用"]}

    events = oversight_events()
    form = {
        "division_code": TOWNSHIP,
        "checked_on": "2026-03-01",
        "office_area_m2": "40.0",
        "window_has_sign": "true",
    }
    no_items = api.post("/api/v1/oversight/facility-checks", {**form, "items": "[1]", "files": photo()})
    assert no_items.status_code == 422
    assert no_items.json()["field_errors"] == {"items": ["应为设施代码到数量的 JSON 对象"]}
    pdf_named_png = api.post(
        "/api/v1/oversight/facility-checks",
        {**form, "files": SimpleUploadedFile("x.png", b"%PDF-1.4", "image/png")},
    )
    assert pdf_named_png.status_code == 422
    assert unchanged(events)
    assert not FacilityCheck.objects.exists()
    checked = api.post(
        "/api/v1/oversight/facility-checks",
        {**form, "items": '{"computer": 2, "phone": 1}', "files": [photo("a.png"), photo("b.png")]},
    )
    assert checked.status_code == 201, checked.content
    assert checked.json()["items"] == {"computer": 2, "phone": 1}
    assert len(checked.json()["evidence"]) == 2
    office = api.get(f"/api/v1/oversight/offices/{TOWNSHIP}").json()
    assert [w["full_name"] for w in office["workers"]] == ["陈丽萍"]
    assert office["funding"][0]["budgeted"] == "150000.00"
    assert office["facility_checks"][0]["office_area_m2"] == "40.0"
    assert office["facility_items"]["computer"] == "电脑（至少2台）"
    assert api.get(f"/api/v1/oversight/offices/{OTHER_TOWNSHIP}").status_code == 404
    # A session without the CSRF token is refused: the bearer token is what authenticates here.
    session = Client(enforce_csrf_checks=True)
    session.force_login(admin)
    assert (
        post_json(
            session, "/api/v1/oversight/workers", {"division_code": TOWNSHIP, "full_name": "甲"}
        ).status_code
        == 403
    )


def test_the_api_training_purchases_and_supervision(admin: Staff, head: Staff) -> None:
    api = bearer(admin)
    worker = services.worker_create(actor=admin, division_code=TOWNSHIP, full_name="周永刚")
    services.assignment_create(
        actor=admin, worker_id=worker.pk, division_code=TOWNSHIP, post="full_time", start_on=date(2020, 1, 1)
    )
    plan = post_json(
        api,
        "/api/v1/oversight/training/plans",
        {"division_code": COUNTY, "year": YEAR, "title": "计划", "planned_events": 2},
    )
    assert plan.status_code == 201
    event = post_json(
        api,
        "/api/v1/oversight/training/events",
        {
            "organiser_code": COUNTY,
            "kind": "pre_job",
            "title": "岗前培训",
            "start_on": f"{YEAR}-01-08",
            "end_on": f"{YEAR}-01-09",
            "days": "2",
            "plan_id": plan.json()["id"],
        },
    )
    assert event.status_code == 201, event.content
    event_id = event.json()["id"]
    twice = {"worker_id": worker.pk, "days_attended": "2", "certificate_number": "GQ-1"}
    assert (
        post_json(api, f"/api/v1/oversight/training/events/{event_id}/attendance", twice).status_code == 201
    )
    again = post_json(api, f"/api/v1/oversight/training/events/{event_id}/attendance", twice)
    assert again.status_code == 409
    overview = api.get("/api/v1/oversight/training").json()
    person = next(p for p in overview["people"] if p["worker_id"] == worker.pk)
    assert person == {
        "worker_id": worker.pk,
        "full_name": "周永刚",
        "division_code": TOWNSHIP,
        "post": "专职",
        "days": "2.0",
        "required": "7.00",
        "short": True,
        "pre_job": True,
    }
    assert overview["plans"][0]["held"] == 1

    bad_code = post_json(
        api,
        "/api/v1/oversight/providers",
        {"county_code": COUNTY, "name": "阳光", "uscc": "52640202MJ0000091", "kind": "social_organisation"},
    )
    assert bad_code.status_code == 422
    assert list(bad_code.json()["field_errors"]) == ["uscc"]
    provider = post_json(
        api,
        "/api/v1/oversight/providers",
        {"county_code": COUNTY, "name": "阳光", "uscc": uscc(), "kind": "social_organisation"},
    )
    assert provider.status_code == 201
    contract = post_json(
        api,
        "/api/v1/oversight/contracts",
        {
            "county_code": COUNTY,
            "provider_id": provider.json()["id"],
            "number": "GM-API-1",
            "title": "照料服务",
            "mode": "project",
            "category": "service",
            "items": ["照料护理"],
            "amount": "50000.00",
            "funding_source": "local_budget",
            "start_on": "2026-01-01",
            "end_on": "2026-12-31",
        },
    )
    assert contract.status_code == 201, contract.content
    contract_id = contract.json()["id"]
    delivery = post_json(
        api,
        f"/api/v1/oversight/contracts/{contract_id}/deliveries",
        {
            "division_code": VILLAGE,
            "delivered_on": "2026-04-01",
            "service_type": "照料",
            "recipient_name": "刘玉兰",
            "hours": "1.5",
            "recipient_confirmed": False,
        },
    )
    assert delivery.status_code == 201
    detail = api.get(f"/api/v1/oversight/contracts/{contract_id}").json()
    assert (detail["deliveries"], detail["deliveries_confirmed"]) == (1, 0)
    assert api.get("/api/v1/oversight/providers").json()[0]["uscc"] == uscc()

    case = decided_case(admin)
    today = timezone.localdate()
    spot = post_json(
        api,
        "/api/v1/oversight/spot-checks",
        {
            "county_code": COUNTY,
            "period_start": (today - timedelta(days=10)).isoformat(),
            "period_end": today.isoformat(),
            "sample_size": 3,
            "seed": 42,
        },
    )
    assert spot.status_code == 201, spot.content
    sample = spot.json()["samples"][0]
    assert sample["case_id"] == case.pk
    finding = post_json(
        api,
        f"/api/v1/oversight/spot-checks/samples/{sample['id']}/finding",
        {"compliant": False, "finding": "缺公示记录", "rectify_by": (today + timedelta(days=7)).isoformat()},
    )
    assert finding.status_code == 200
    task = post_json(
        api,
        "/api/v1/oversight/supervision-tasks",
        {"division_code": TOWNSHIP, "title": "补齐人员", "due_on": (today + timedelta(days=5)).isoformat()},
    )
    assert task.status_code == 201
    done = post_json(
        api, f"/api/v1/oversight/supervision-tasks/{task.json()['id']}/done", {"result": "已补齐"}
    )
    assert done.json()["status"] == "done"
    again = post_json(
        api, f"/api/v1/oversight/supervision-tasks/{task.json()['id']}/done", {"result": "再次"}
    )
    assert again.status_code == 409
    item = api.get("/api/v1/oversight/rectifications").json()[0]
    assert item["issue"] == "缺公示记录"
    township = bearer(head)
    bare = township.post(
        f"/api/v1/oversight/rectifications/{item['id']}/submit",
        {"note": "已补", "files": SimpleUploadedFile("x.png", b"", "image/png")},
    )
    assert bare.status_code == 422
    sent = township.post(
        f"/api/v1/oversight/rectifications/{item['id']}/submit", {"note": "已补公示", "files": photo()}
    )
    assert sent.status_code == 200, sent.content
    assert sent.json()["status"] == "submitted"
    assert len(sent.json()["evidence"]) == 1
    signed = post_json(
        api, f"/api/v1/oversight/rectifications/{item['id']}/verify", {"accepted": True, "note": "通过"}
    )
    assert signed.json()["status"] == "verified"
    opened = post_json(
        api,
        "/api/v1/oversight/rectifications",
        {"division_code": TOWNSHIP, "source": "indicator", "issue": "经费未单独列支", "due_on": "2020-01-01"},
    )
    assert opened.status_code == 422
    assert opened.json()["field_errors"] == {"due_on": ["整改时限不能早于下达日期"]}
    assert Rectification.objects.count() == 1
    assert Decimal(api.get("/api/v1/oversight/spot-checks").json()[0]["sample_size"]) == 1


# --- The pre-job gate, set on the county's page, met by recording the training -----------------


def test_the_county_turns_the_gate_on_and_a_recorded_pre_job_training_opens_it(admin: Staff) -> None:
    client = browser(admin)
    county_page = client.get(f"/oversight/d/{COUNTY}/").content.decode()
    assert 'data-testid="gate-form"' in county_page
    assert (
        client.post(
            f"/oversight/d/{COUNTY}/pre-job-gate/",
            {"valid_from": "2020-01-01", "enabled": "on", "reference": "银政办发〔2018〕"},
        ).status_code
        == 302
    )
    assert "已启用" in client.get(f"/oversight/d/{COUNTY}/").content.decode()
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
    # The township's page links the account to its worker; the county records the training.
    head = browser(make_staff("head2", TOWNSHIP, [Role.TOWNSHIP_HEAD]))
    assert (
        head.post(
            f"/oversight/d/{TOWNSHIP}/workers/",
            {"worker-full_name": "新人", "worker-staff_id": str(newbie.pk)},
        ).status_code
        == 302
    )
    worker = Worker.objects.get(staff=newbie)
    event = services.training_event_create(
        actor=admin,
        organiser_code=COUNTY,
        kind="pre_job",
        title="新任人员岗前培训",
        start_on=date(YEAR, 1, 2),
        end_on=date(YEAR, 1, 3),
        days="2",
    )
    assert (
        client.post(
            f"/oversight/training/{event.pk}/attendance/",
            {"worker_id": worker.pk, "days_attended": "2", "passed": "on"},
        ).status_code
        == 302
    )
    staff_set_roles(actor=admin, staff=newbie, roles=[Role.TOWNSHIP_CLERK], reason="上岗")
    assert Staff.objects.get(pk=newbie.pk).roles == {Role.TOWNSHIP_CLERK}
    # Through the API: an unknown role is refused by name, nothing changes.
    api = bearer(admin)
    unknown = post_json(
        api,
        "/api/v1/oversight/pre-job-gates",
        {
            "county_code": COUNTY,
            "valid_from": "2021-01-01",
            "enabled": True,
            "reference": "x",
            "roles": ["wizard"],
        },
    )
    assert unknown.status_code == 422
    assert unknown.json()["field_errors"] == {"roles": ["未知角色：wizard"]}
    off = post_json(
        api,
        "/api/v1/oversight/pre-job-gates",
        {"county_code": COUNTY, "valid_from": "2022-01-01", "enabled": False, "reference": "停用"},
    )
    assert off.status_code == 201
    assert off.json()["enabled"] is False


def test_the_pages_in_english(head: Staff) -> None:
    client = browser(head)
    client.cookies["django_language"] = "en"
    page = client.get(f"/oversight/d/{TOWNSHIP}/office/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Staff, funding and facilities" in page
    assert "Record a facility check (an on-site photo is required)" in page
    training = client.get("/oversight/training/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "Training days per person (against the norm)" in training


def test_a_person_leaves_a_post_on_the_page_and_through_the_api(head: Staff, admin: Staff) -> None:
    worker = services.worker_create(actor=head, division_code=TOWNSHIP, full_name="孙志强")
    post = services.assignment_create(
        actor=head, worker_id=worker.pk, division_code=TOWNSHIP, post="full_time", start_on=date(2024, 1, 1)
    )
    client = browser(head)
    assert f'data-testid="end-{post.pk}"' in client.get(f"/oversight/d/{TOWNSHIP}/office/").content.decode()
    early = client.post(
        f"/oversight/posts/{post.pk}/end/",
        {f"end{post.pk}-end_on": "2023-12-31", f"end{post.pk}-reason": "调离"},
    )
    assert early.status_code == 422
    assert "离岗日期不能早于到岗日期" in early.content.decode()
    post.refresh_from_db()
    assert post.end_on is None
    left = client.post(
        f"/oversight/posts/{post.pk}/end/",
        {f"end{post.pk}-end_on": "2025-06-30", f"end{post.pk}-reason": "调离"},
    )
    assert left.status_code == 302
    post.refresh_from_db()
    assert post.end_on == date(2025, 6, 30)
    again = post_json(
        bearer(admin),
        f"/api/v1/oversight/assignments/{post.pk}/end",
        {"end_on": "2025-07-01", "reason": "调离"},
    )
    assert again.status_code == 409
    other = services.assignment_create(
        actor=head, worker_id=worker.pk, division_code=TOWNSHIP, post="part_time", start_on=date(2025, 7, 1)
    )
    ended = post_json(
        bearer(admin),
        f"/api/v1/oversight/assignments/{other.pk}/end",
        {"end_on": "2025-12-31", "reason": "退休"},
    )
    assert ended.status_code == 200
    assert ended.json()["end_on"] == "2025-12-31"
