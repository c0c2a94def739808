"""Case pages: intake at the window and by proxy, the case page and its actions, printable notices,
worklists, the conflict register, and the public pages (online application, status, notice board)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from minzheng.cases import services
from minzheng.cases.models import Case, ConflictRegistration, Document, MaterialStatus
from minzheng.catalogue.models import ServiceItem
from minzheng.catalogue.selectors import item_materials
from minzheng.catalogue.services import catalogue_load
from minzheng.core import protect
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household, Membership, Person
from minzheng.registry.testing import make_household, resident_id

MONDAY = date(2026, 11, 2)


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    return {
        "assistant": make_staff("p_assistant", "640202001001", [Role.VILLAGE_ASSISTANT]),
        "clerk": make_staff("p_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("p_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "head": make_staff("p_head", "640202001000", [Role.TOWNSHIP_HEAD]),
        "county_reviewer": make_staff("p_county_reviewer", "640202000000", [Role.COUNTY_REVIEWER]),
        "approver": make_staff("p_approver", "640202000000", [Role.COUNTY_APPROVER]),
        "auditor": make_staff("p_auditor", "640202000000", [Role.AUDITOR]),
    }


@pytest.fixture
def household(people: dict[str, Staff]) -> Household:
    household = make_household(people["clerk"], "640202001001", "王大山", members=2)
    Membership.objects.filter(household=household).update(start_date=date(2020, 1, 1))
    return household


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    def set_today(day: date) -> None:
        monkeypatch.setattr(services, "_today", lambda: day)

    return set_today


def logged_in(staff: Staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client


def complete(item_code: str) -> dict[str, str]:
    item = ServiceItem.objects.get(code=item_code)
    return {
        f"material_{m.pk}": MaterialStatus.FETCHED if m.fetchable_by_office else MaterialStatus.PROVIDED
        for m in item_materials(item=item)
    }


def intake_url(household: Household, item: str) -> str:
    return f"{reverse('web:case_intake')}?household={household.pk}&item={item}"


def intake(client: Client, household: Household, item: str = "dibao", **fields: Any) -> Any:
    data = {
        "applicant": str(household.head_id),
        "channel": "proxy",
        "proxy_name": "李协理",
        "proxy_relation": "村民政协理员",
        "mandate": "申请人2026年11月2日签署书面委托书",
        "phone": "13900001111",
        **complete(item),
        **fields,
    }
    return client.post(intake_url(household, item), data)


def act(client: Client, case: Case, action: str, note: str = "", **extra: str) -> Any:
    return client.post(reverse("web:case_action", args=[case.pk]), {"action": action, "note": note, **extra})


def visit(client: Client, case: Case, *names: str, signed: bool = True) -> Any:
    data = {
        "visited_on": services._today().isoformat(),
        "findings": "家中无固定收入，住房简陋",
        **{f"investigator_{i}": n for i, n in enumerate(names, start=1)},
    }
    if signed:
        data["signed_by_applicant"] = "on"
    return client.post(reverse("web:case_visit", args=[case.pk]), data)


def page(client: Client, case: Case) -> str:
    response = client.get(reverse("web:case", args=[case.pk]))
    assert response.status_code == 200
    return response.content.decode()


# --- Intake -----------------------------------------------------------------------------------------


def test_intake_starts_from_a_household_search_and_from_the_household_page(
    people: dict[str, Staff], household: Household
) -> None:
    client = logged_in(people["assistant"])
    found = client.get(reverse("web:case_intake"), {"q": "王大山"}).content.decode()
    assert household.number in found
    assert f"?household={household.pk}" in found
    household_page = client.get(reverse("web:household", args=[household.pk])).content.decode()
    assert 'data-testid="household-cases"' in household_page
    assert f"{reverse('web:case_intake')}?household={household.pk}" in household_page
    form = client.get(intake_url(household, "dibao")).content.decode()
    assert "最低生活保障申请书" in form  # the item's materials checklist
    assert "告知承诺" in form  # offered where the guide allows a pledge
    assert 'value="proxy" selected' in form  # a village assistant applies by proxy by default


def test_proxy_intake_without_a_mandate_is_refused_with_a_chinese_message(
    people: dict[str, Staff], household: Household
) -> None:
    client = logged_in(people["assistant"])
    response = intake(client, household, mandate="", proxy_name="")
    assert response.status_code == 200
    body = response.content.decode()
    assert "请填写委托书或授权说明" in body
    assert "请填写代办人" in body
    assert not Case.objects.exists()

    response = intake(client, household)
    case = Case.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("web:case", args=[case.pk])
    assert (case.channel, case.proxy_name, case.state) == ("proxy", "李协理", "accepted")
    body = page(client, case)
    assert "申请人2026年11月2日签署书面委托书" in body
    assert case.applicant_id_masked in body
    assert "已受理" in body
    assert (
        household.number
        in logged_in(people["assistant"]).get(reverse("web:household", args=[household.pk])).content.decode()
    )


def test_a_pledge_where_the_guide_allows_none_is_refused_on_the_form(
    people: dict[str, Staff], household: Household
) -> None:
    item = ServiceItem.objects.get(code="dibao")
    no_pledge = next(m for m in item_materials(item=item) if not m.pledge_allowed)
    response = intake(
        logged_in(people["clerk"]), household, channel="window", **{f"material_{no_pledge.pk}": "pledged"}
    )
    assert response.status_code == 200
    assert not Case.objects.exists()


def test_temporary_and_medical_applications_record_what_is_asked(
    people: dict[str, Staff], household: Household
) -> None:
    client = logged_in(people["clerk"])
    intake(
        client,
        household,
        "temporary_emergency",
        channel="window",
        temp_cause="突发火灾",
        temp_requested_amount="1500",
    )
    case = Case.objects.get(item__code="temporary_emergency")
    assert case.details["temporary"] == {
        "type": "emergency",
        "cause": "突发火灾",
        "requested_amount": "1500.00",
    }
    intake(
        client,
        household,
        "medical_assistance",
        channel="window",
        med_member=str(household.head_id),
        med_eligible_costs="8000",
    )
    case = Case.objects.get(item__code="medical_assistance")
    assert case.details["medical"] == {
        "member": str(household.head_id),
        "eligible_costs": "8000.00",
        "assisted_this_year": "0.00",
    }


def test_one_time_notice_lists_every_missing_material(people: dict[str, Staff], household: Household) -> None:
    client = logged_in(people["clerk"])
    item = ServiceItem.objects.get(code="dibao")
    materials = {
        f"material_{m.pk}": "missing" for m in item_materials(item=item) if not m.fetchable_by_office
    }
    intake(client, household, channel="window", **materials)
    case = Case.objects.get()
    assert case.state == "incomplete"
    body = page(client, case)
    assert reverse("web:case_print", args=[case.pk, "missing"]) in body
    assert reverse("web:case_print", args=[case.pk, "receipt"]) not in body  # not accepted yet
    notice = client.get(reverse("web:case_print", args=[case.pk, "missing"])).content.decode()
    required = [m for m in item_materials(item=item) if m.required and not m.fetchable_by_office]
    assert len(required) >= 3
    for m in required:
        assert m.name in notice
    for m in item_materials(item=item):
        if m.fetchable_by_office:
            assert m.name not in notice  # fetched by the office, not asked again
    assert client.get(reverse("web:case_print", args=[case.pk, "receipt"])).status_code == 404

    # The window records what was brought and accepts: the receipt is then available.
    response = client.post(reverse("web:case_materials", args=[case.pk]), complete("dibao"))
    assert response.status_code == 302
    act(client, case, "complete_materials")
    case.refresh_from_db()
    assert case.state == "accepted"
    receipt = client.get(reverse("web:case_print", args=[case.pk, "receipt"])).content.decode()
    assert case.number in receipt
    assert "http://testserver/status/" in receipt
    assert f"{case.due_date:%Y年%-m月%-d日}" in receipt


# --- The case page ---------------------------------------------------------------------------------


def test_case_page_actions_from_intake_to_county_confirmation(
    people: dict[str, Staff], household: Household, clock: Callable[[date], None]
) -> None:
    clock(MONDAY)
    intake(logged_in(people["assistant"]), household)
    case = Case.objects.get()
    reviewer = logged_in(people["reviewer"])
    assert "启动调查核实" in page(reviewer, case)
    assert act(reviewer, case, "start_investigation").status_code == 302

    refused = act(reviewer, case, "request_verification")
    assert refused.status_code == 200
    assert "须先录入不少于2名调查人员" in refused.content.decode()

    one = visit(reviewer, case, "张调查")
    assert "入户调查人员不少于2人" in one.content.decode()
    assert visit(reviewer, case, "张调查", "李调查").status_code == 302
    assert "张调查、李调查" in page(reviewer, case)
    act(reviewer, case, "request_verification")
    act(logged_in(people["county_reviewer"]), case, "record_verification", "核对无异常")

    assert "须先进行待遇测算" in act(reviewer, case, "propose_approval").content.decode()
    assert reviewer.post(reverse("web:case_calculate", args=[case.pk])).status_code == 302
    body = page(reviewer, case)
    assert 'data-testid="calculation-lines"' in body
    assert "1300.00" in body
    assert "最低生活保障标准" in body  # the parameter used, with its reference

    assert "须填写理由" in act(reviewer, case, "propose_refusal").content.decode()
    assert "不能执行该操作" in act(reviewer, case, "no_such_action").content.decode()
    act(reviewer, case, "propose_approval", "符合条件，拟纳入")
    assert "公示期" in act(reviewer, case, "close_notice").content.decode()
    clock(date(2026, 11, 9))
    act(reviewer, case, "close_notice")
    # The reviewer has no approval permission: no button, and a posted approval is refused in Chinese.
    assert 'data-testid="action-approve"' not in page(reviewer, case)
    assert "您没有" in act(reviewer, case, "approve").content.decode()
    clock(date(2026, 11, 10))
    approver = logged_in(people["approver"])
    assert act(approver, case, "approve", "经审核确认，同意纳入").status_code == 302
    body = page(approver, case)
    assert "1300.00" in body
    assert "2026年12月" in body  # paid from the month after confirmation
    decision = approver.get(reverse("web:case_print", args=[case.pk, "decision"])).content.decode()
    assert "1300.00" in decision
    assert "2026年12月" in decision
    assert 'data-testid="print-parameters"' in decision
    assert "2022" in decision  # effective date of the standard used


def test_refusal_notice_states_the_reasons(
    people: dict[str, Staff], household: Household, clock: Callable[[date], None]
) -> None:
    clock(MONDAY)
    intake(logged_in(people["assistant"]), household)
    case = Case.objects.get()
    reviewer = logged_in(people["reviewer"])
    act(reviewer, case, "start_investigation")
    visit(reviewer, case, "张调查", "李调查")
    act(reviewer, case, "request_verification")
    act(logged_in(people["county_reviewer"]), case, "record_verification")
    act(reviewer, case, "propose_refusal", "家庭人均收入高于当地低保标准")
    notice = reviewer.get(reverse("web:case_print", args=[case.pk, "refusal"])).content.decode()
    assert "家庭人均收入高于当地低保标准" in notice
    assert "行政复议" in notice
    assert reviewer.get(reverse("web:case_print", args=[case.pk, "decision"])).status_code == 404
    assert reviewer.get(reverse("web:case_print", args=[case.pk, "nonsense"])).status_code == 404


def test_read_only_roles_see_the_case_but_no_buttons(people: dict[str, Staff], household: Household) -> None:
    intake(logged_in(people["assistant"]), household)
    case = Case.objects.get()
    auditor = logged_in(people["auditor"])
    body = page(auditor, case)
    assert 'data-testid="actions"' not in body
    assert 'data-testid="calculate"' not in body
    assert auditor.post(reverse("web:case_calculate", args=[case.pk])).status_code == 403
    assert "您没有" in act(auditor, case, "start_investigation").content.decode()
    assert Case.objects.get().state == "accepted"


def test_document_upload_refuses_other_types_and_downloads_as_attachment(
    people: dict[str, Staff], household: Household
) -> None:
    intake(logged_in(people["assistant"]), household)
    case = Case.objects.get()
    client = logged_in(people["assistant"])
    url = reverse("web:case_document_upload", args=[case.pk])
    text = SimpleUploadedFile("说明.txt", b"hello", content_type="text/plain")
    response = client.post(url, {"kind": "其他材料", "file": text})
    assert response.status_code == 200
    assert "只接受 PDF、JPG、PNG 文件" in response.content.decode()
    fake = SimpleUploadedFile("伪装.pdf", b"MZ\x90\x00not a pdf", content_type="application/pdf")
    assert "文件内容与类型不符" in client.post(url, {"kind": "其他材料", "file": fake}).content.decode()
    assert not Document.objects.exists()

    pdf = SimpleUploadedFile("委托书.pdf", b"%PDF-1.4\n%test\n", content_type="application/pdf")
    assert client.post(url, {"kind": "委托书", "file": pdf}).status_code == 302
    document = Document.objects.get()
    assert "委托书.pdf" in page(client, case)
    download = client.get(reverse("web:case_document", args=[case.pk, document.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment;")
    assert download.content == b"%PDF-1.4\n%test\n"


# --- Lists ------------------------------------------------------------------------------------------


def test_worklist_lists_warnings_statistics_and_notices(
    people: dict[str, Staff], household: Household, clock: Callable[[date], None]
) -> None:
    clock(date(2020, 3, 2))  # long ago: the investigation should have started by now
    intake(logged_in(people["assistant"]), household)
    case = Case.objects.get()
    reviewer = logged_in(people["reviewer"])
    mine = reviewer.get(reverse("web:case_worklist")).content.decode()
    assert case.number in mine
    assert 'data-tone="overdue"' in mine
    assert case.number not in logged_in(people["approver"]).get(reverse("web:case_worklist")).content.decode()

    listing = reviewer.get(reverse("web:cases"), {"q": "王大山", "state": "accepted", "item": "dibao"})
    assert case.number in listing.content.decode()
    assert "共 1 条" in listing.content.decode()
    assert "共 0 条" in reviewer.get(reverse("web:cases"), {"state": "approved"}).content.decode()

    warnings = reviewer.get(reverse("web:case_warnings")).content.decode()
    assert case.number in warnings.split('data-testid="overdue"')[1].split("</table>")[0]

    stats = logged_in(people["approver"]).get(reverse("web:case_time_limits")).content.decode()
    assert "长胜街道" in stats
    assert 'id="time-limit-data"' in stats
    assert "vendor/echarts/echarts.min.js" in stats
    assert reviewer.get(reverse("web:case_notices")).status_code == 200


def test_conflict_register_lists_and_adds_within_scope(
    people: dict[str, Staff], household: Household
) -> None:
    client = logged_in(people["reviewer"])
    id_number = resident_id("640202")
    response = client.post(
        reverse("web:case_conflicts"),
        {"division_code": "640202001001", "name": "张主任", "position": "村委会主任", "id_number": id_number},
    )
    assert response.status_code == 302
    listing = client.get(reverse("web:case_conflicts")).content.decode()
    assert "张主任" in listing
    assert id_number not in listing
    # Another township is not offered, and a posted one is refused.
    response = client.post(
        reverse("web:case_conflicts"),
        {
            "division_code": "640202100201",
            "name": "外镇",
            "position": "村主任",
            "id_number": resident_id("640202"),
        },
    )
    assert response.status_code == 200
    assert ConflictRegistration.objects.count() == 1
    assert logged_in(people["clerk"]).get(reverse("web:case_conflicts")).status_code == 403


# --- Public pages ----------------------------------------------------------------------------------


def test_status_look_ups_are_limited_per_address(people: dict[str, Staff], settings: Any) -> None:
    settings.MINZHENG_PUBLIC_LIMITS = {"status_lookup": (2, 600)}
    client = Client()
    query = {"number": "640202202600001", "id_number": resident_id("640202", date(1970, 3, 3))}
    for _ in range(2):
        assert "受理编号或身份证号不正确" in client.post(reverse("web:status"), query).content.decode()
    limited = client.post(reverse("web:status"), query)
    assert limited.status_code == 429
    assert "操作过于频繁，请10分钟后再试" in limited.content.decode()


def test_online_application_and_status_lookup_without_login(people: dict[str, Staff]) -> None:
    client = Client()
    form = client.get(reverse("web:apply")).content.decode()
    assert "长胜社区" in form
    assert "最低生活保障" in form
    bad = client.post(
        reverse("web:apply"),
        {
            "item_code": "dibao",
            "division_code": "640202001001",
            "applicant_name": "赵网申",
            "id_number": "123",
            "phone": "1",
        },
    )
    assert bad.status_code == 200
    assert not Case.objects.exists()

    id_number = resident_id("640202", date(1970, 3, 3))
    response = client.post(
        reverse("web:apply"),
        {
            "item_code": "dibao",
            "division_code": "640202001001",
            "applicant_name": "赵网申",
            "id_number": id_number,
            "phone": "13900000000",
        },
    )
    assert response.status_code == 302
    case = Case.objects.get()
    assert (case.channel, case.state) == ("online", "submitted")
    receipt = client.get(response["Location"]).content.decode()
    assert case.number in receipt
    assert Client().get(reverse("web:apply_done")).status_code == 302  # another browser sees nothing

    found = client.post(
        reverse("web:status"), {"number": case.number, "id_number": id_number}
    ).content.decode()
    assert "最低生活保障" in found
    assert "网上申请，待窗口受理" in found
    assert "赵网申" not in found  # nothing but the item, the state and the steps
    wrong = client.post(
        reverse("web:status"), {"number": case.number, "id_number": resident_id("640202", date(1970, 3, 4))}
    ).content.decode()
    assert "受理编号或身份证号不正确" in wrong
    assert "网上申请，待窗口受理" not in wrong

    # The window sends the one-time notice; the applicant sees the new state.
    act(logged_in(people["clerk"]), case, "notify_missing", "请补充材料")
    found = client.post(
        reverse("web:status"), {"number": case.number, "id_number": id_number}
    ).content.decode()
    assert "材料不全，已一次性告知" in found


def to_notice(people: dict[str, Staff], household: Household) -> Case:
    """A dibao case taken through to its village notice (today, by the real clock)."""
    intake(logged_in(people["assistant"]), household)
    case = Case.objects.get()
    reviewer = logged_in(people["reviewer"])
    act(reviewer, case, "start_investigation")
    visit(reviewer, case, "张调查", "李调查")
    act(reviewer, case, "request_verification")
    act(logged_in(people["county_reviewer"]), case, "record_verification")
    reviewer.post(reverse("web:case_calculate", args=[case.pk]))
    act(reviewer, case, "propose_approval")
    return case


def test_village_notice_shows_name_size_and_amount_and_no_id_number(
    people: dict[str, Staff], household: Household
) -> None:
    case = to_notice(people, household)
    board = Client().get(reverse("web:village_notices", args=["640202001001"]))
    assert board.status_code == 200
    table = board.content.decode().split('data-testid="notice-table"')[1].split("</table>")[0]
    assert "王大山" in table
    assert "1300.00" in table
    assert ">2<" in table  # household size
    for private in (case.applicant_id_masked, case.applicant_id_masked[-4:], case.number, household.number):
        assert private not in board.content.decode()
    staff_print = logged_in(people["reviewer"]).get(reverse("web:notice_print", args=[case.notices.get().pk]))
    assert "王大山" in staff_print.content.decode()
    assert case.applicant_id_masked not in staff_print.content.decode()
    neighbour = Client().get(reverse("web:village_notices", args=["640202001002"])).content.decode()
    assert "王大山" not in neighbour
    assert Client().get(reverse("web:village_notices", args=["640202001000"])).status_code == 404
    chooser = Client().get(reverse("web:notice_boards"), {"code": "640202001001"})
    assert chooser["Location"] == reverse("web:village_notices", args=["640202001001"])


def test_an_objection_is_recorded_on_the_case_page(people: dict[str, Staff], household: Household) -> None:
    case = to_notice(people, household)
    reviewer = logged_in(people["reviewer"])
    refused = act(reviewer, case, "record_objection")
    assert "须填写异议内容" in refused.content.decode()
    act(reviewer, case, "record_objection", content="该户有经营性收入未申报", raised_by="村民")
    body = page(reviewer, case)
    assert "该户有经营性收入未申报" in body
    assert "公示有异议，待处理" in body
    act(reviewer, case, "reinvestigate", "重新入户核实经营收入")
    assert "重新调查" in page(reviewer, case)


def test_another_departments_item_is_transferred_and_the_feedback_recorded(
    people: dict[str, Staff], household: Household
) -> None:
    client = logged_in(people["clerk"])
    intake(client, household, "education_aid", channel="window")
    case = Case.objects.get()
    assert case.workflow == "transfer"
    act(client, case, "transfer", "转县教育局学生资助中心")
    assert "须填写承办部门的反馈结果" in act(client, case, "record_feedback").content.decode()
    act(client, case, "record_feedback", feedback="已纳入秋季学期资助名单")
    body = page(client, case)
    assert "已纳入秋季学期资助名单" in body
    assert 'data-testid="calculate"' not in body  # nothing to calculate for a transfer


def test_case_pages_in_english(people: dict[str, Staff], household: Household) -> None:
    intake(logged_in(people["assistant"]), household)
    case = Case.objects.get()
    client = logged_in(people["reviewer"])
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    body = page(client, case)
    assert "Steps and time limits" in body
    assert "Calculate benefit" in body
    assert "办理环节与时限" not in body
    assert "My work" in client.get(reverse("web:case_worklist")).content.decode()
    public = Client()
    public.post(reverse("set_language"), {"language": "en", "next": "/"})
    assert "Apply online" in public.get(reverse("web:apply")).content.decode()


def test_a_relative_of_a_registered_cadre_is_flagged_on_the_case_page(
    people: dict[str, Staff], household: Household
) -> None:
    other = household.memberships.exclude(person=household.head).get()
    id_number = resident_id("640202", date(1999, 9, 9))
    Person.objects.filter(pk=other.person_id).update(id_digest=protect.lookup_digest(id_number))
    reviewer = logged_in(people["reviewer"])
    reviewer.post(
        reverse("web:case_conflicts"),
        {"division_code": "640202001001", "name": "张主任", "position": "村委会主任", "id_number": id_number},
    )
    intake(logged_in(people["assistant"]), household)
    case = Case.objects.get()
    body = page(reviewer, case)
    assert 'data-testid="conflict-warning"' in body
    assert "张主任（村委会主任）" in body
    # The township may not investigate it; the county does.
    assert "县级" in act(reviewer, case, "start_investigation").content.decode()
    assert act(logged_in(people["county_reviewer"]), case, "start_investigation").status_code == 302
