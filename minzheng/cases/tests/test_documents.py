"""The written decisions (审批决定书, 不予批准告知书): members by name, the amount with its explanation,
the legal basis and the rights statement naming the county's government and court — the same in the
printed page and the API, in Chinese and in English."""

from __future__ import annotations

import html
from datetime import date
from decimal import Decimal

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import translation

from minzheng.cases import documents, services
from minzheng.cases.models import Case
from minzheng.cases.testing import approved_dibao_case, complete_materials, registered_long_ago
from minzheng.core.errors import NotFound
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household, Person
from minzheng.registry.services import circumstance_record
from minzheng.registry.testing import make_household

RIGHTS_ZH = (
    "如对本决定不服，可以自收到本决定书之日起六十日内向大武口区人民政府申请行政复议，"
    "或者在六个月内直接向大武口区人民法院提起行政诉讼。"
)


@pytest.fixture
def child(household: Household) -> Person:
    return Person.objects.get(memberships__household=household, name="王大山家1")


@pytest.fixture
def approved(people: dict[str, Staff], household: Household, child: Person) -> Case:
    """A dibao case whose calculation names a member: the child earns 300 yuan a month."""
    circumstance_record(
        actor=people["clerk"],
        kind="income",
        subject=child,
        valid_from=date(2020, 1, 1),
        values={"category": "wages", "monthly_amount": "300.00"},
    )
    return approved_dibao_case(
        household,
        clerk=people["clerk"],
        reviewer=people["reviewer"],
        county_reviewer=people["county_reviewer"],
        approver=people["approver"],
    )


def refused_case(household: Household, *, clerk: Staff, reviewer: Staff, county_reviewer: Staff) -> Case:
    case = services.case_intake(
        actor=clerk,
        item_code="dibao",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        materials=complete_materials("dibao"),
    )
    services.case_transition(actor=reviewer, case_id=case.pk, action="start_investigation")
    services.visit_record(
        actor=reviewer,
        case_id=case.pk,
        visited_on=services._today(),
        investigators=["调查员甲", "调查员乙"],
        findings="入户核实",
        signed_by_applicant=True,
    )
    services.case_transition(actor=reviewer, case_id=case.pk, action="request_verification")
    services.case_transition(actor=county_reviewer, case_id=case.pk, action="record_verification")
    services.case_transition(
        actor=reviewer, case_id=case.pk, action="propose_refusal", note="家庭人均收入高于当地低保标准"
    )
    case.refresh_from_db()
    return case


def logged_in(staff: Staff, language: str = "zh-hans") -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(staff)
    return client


# --- Content ------------------------------------------------------------------------------------------


def test_the_decision_names_members_and_states_amount_basis_and_remedies(
    people: dict[str, Staff], approved: Case, child: Person
) -> None:
    doc = documents.case_document(actor=people["approver"], case_id=approved.pk, document="decision")
    assert doc.amount == Decimal("1000.00")  # 650 × 2 − 300 counted wages
    assert doc.period == "month"
    assert doc.start_month is not None
    assert doc.start_month.day == 1
    assert "1000.00" in doc.amount_summary
    assert f"{doc.start_month.year}年" in doc.amount_summary
    assert doc.deciding_organ == "大武口区民政局"
    income = next(line for line in doc.lines if "工资" in line.label)
    assert income.member == "王大山家1"
    assert income.explanation.startswith("王大山家1的")
    every_text = " ".join(
        [doc.reasons, *(f"{li.explanation} {li.label}" for li in doc.lines), *(f.text for f in doc.findings)]
    )
    assert f"成员{child.pk}" not in every_text
    assert "成员" not in every_text.replace("家庭成员", "")
    assert child.id_masked not in every_text
    described = {s.description: s.value for s in doc.standards}
    assert described["最低生活保障标准（每人每月）"] == "650.00"
    assert described["低保金计发方式"].startswith("补差发放")  # the choice's label, not "top_up"
    assert "《最低生活保障审核确认办法》（民发〔2021〕57号）" in doc.legal_basis
    assert doc.remedies.statement == RIGHTS_ZH
    assert doc.remedies.reconsideration_days == documents.RECONSIDERATION_DAYS == 60
    assert doc.remedies.litigation_months == documents.LITIGATION_MONTHS == 6
    assert "第二十条" in doc.remedies.reconsideration_basis
    assert "第四十六条" in doc.remedies.litigation_basis


def test_a_refusal_states_its_reasons_and_the_remedies_and_has_no_decision(
    people: dict[str, Staff], household: Household
) -> None:
    case = refused_case(
        household,
        clerk=people["clerk"],
        reviewer=people["reviewer"],
        county_reviewer=people["county_reviewer"],
    )
    doc = documents.case_document(actor=people["reviewer"], case_id=case.pk, document="refusal")
    assert doc.reasons == "家庭人均收入高于当地低保标准"
    assert "决定不予批准" in doc.opening
    assert doc.amount is None
    assert doc.lines == ()
    assert doc.deciding_organ == "长胜街道办事处"  # refused by the street (township level)
    assert doc.remedies.statement == RIGHTS_ZH.replace("本决定书", "本告知书")
    assert doc.notice_due is not None
    with pytest.raises(NotFound):
        documents.case_document(actor=people["reviewer"], case_id=case.pk, document="decision")


def test_a_town_deciding_is_named_as_the_town_government(tree: dict[str, Division], catalogue: None) -> None:
    clerk = make_staff("t_clerk", "640202100000", [Role.TOWNSHIP_CLERK])
    reviewer = make_staff("t_reviewer", "640202100000", [Role.TOWNSHIP_REVIEWER])
    county_reviewer = make_staff("t_county_reviewer", "640202000000", [Role.COUNTY_REVIEWER])
    household = registered_long_ago(make_household(clerk, "640202100201", "李星光"))
    case = refused_case(household, clerk=clerk, reviewer=reviewer, county_reviewer=county_reviewer)
    doc = documents.case_document(actor=reviewer, case_id=case.pk, document="refusal")
    assert doc.deciding_organ == "星海镇人民政府"
    assert "大武口区人民政府" in doc.remedies.statement  # a town's decisions go to the county government


def test_one_off_aid_decided_by_the_street_states_the_amount_and_how_it_is_paid(
    people: dict[str, Staff], household: Household
) -> None:
    case = services.case_intake(
        actor=people["clerk"],
        item_code="temporary_emergency",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
        materials=complete_materials("temporary_emergency"),
        details={"temporary": {"type": "emergency", "requested_amount": "1500", "cause": "突发火灾"}},
    )
    services.case_calculate(actor=people["reviewer"], case_id=case.pk)
    services.case_transition(actor=people["reviewer"], case_id=case.pk, action="aid_first", note="先行救助")
    services.visit_record(
        actor=people["reviewer"],
        case_id=case.pk,
        visited_on=services._today(),
        investigators=["调查员甲", "调查员乙"],
        findings="入户核实",
        signed_by_applicant=True,
    )
    services.case_transition(
        actor=people["head"], case_id=case.pk, action="complete_paperwork", note="手续已补齐"
    )
    doc = documents.case_document(actor=people["head"], case_id=case.pk, document="decision")
    assert doc.amount == Decimal("1500.00")
    assert doc.period == "once"
    assert doc.start_month is None
    assert doc.amount_summary == "核定一次性发放1500.00元。"
    assert "一次性足额发放" in doc.payment
    assert "社会保障卡或银行账户" in doc.payment
    assert doc.deciding_organ == "长胜街道办事处"  # decided within the township's authority
    assert "大武口区人民政府" in doc.remedies.statement
    assert any("临时救助" in line for line in doc.legal_basis)


def test_out_of_scope_and_missing_documents_are_not_found(people: dict[str, Staff], approved: Case) -> None:
    with pytest.raises(NotFound):
        documents.case_document(actor=people["outsider"], case_id=approved.pk, document="decision")
    with pytest.raises(NotFound):
        documents.case_document(actor=people["approver"], case_id=approved.pk, document="refusal")
    with pytest.raises(NotFound):
        documents.case_document(actor=people["approver"], case_id=approved.pk, document="receipt")


def test_names_of_members_outside_the_readers_scope_are_not_printed(
    people: dict[str, Staff], approved: Case, child: Person
) -> None:
    Person.objects.filter(pk=child.pk).update(division_id="640202001002")  # moved to another community
    assistant = people["assistant"]  # sees only 640202001001
    doc = documents.case_document(actor=assistant, case_id=approved.pk, document="decision")
    income = next(line for line in doc.lines if "工资" in line.label)
    assert income.member == "第2名家庭成员"
    assert "王大山家1" not in income.explanation
    assert f"成员{child.pk}" not in income.explanation


def test_chinese_counts_in_the_rights_statement() -> None:
    with translation.override("zh-hans"):
        assert documents._count(60) == "六十"
        assert documents._count(6) == "六"
        assert documents._count(15) == "十五"
        assert documents._count(21) == "二十一"
    with translation.override("en"):
        assert documents._count(60) == "60"


# --- Printed page and API -----------------------------------------------------------------------------


def test_the_printed_decision_and_the_api_say_the_same(people: dict[str, Staff], approved: Case) -> None:
    client = logged_in(people["approver"])
    page = client.get(reverse("web:case_print", args=[approved.pk, "decision"])).content.decode()
    assert "王大山家1" in page
    assert "成员" not in page.replace("家庭成员", "")
    assert "dibao.standard" not in page
    assert "top_up" not in page
    assert RIGHTS_ZH in page
    assert "《最低生活保障审核确认办法》（民发〔2021〕57号）" in page
    assert 'data-testid="print-amount">1000.00<' in page
    assert "大武口区民政局" in page

    api = client.get(f"/api/v1/cases/{approved.pk}/documents/decision")
    assert api.status_code == 200, api.content
    body = api.json()
    assert body["remedies"]["statement"] == RIGHTS_ZH
    assert body["amount"] == "1000.00"
    assert body["start_month"] == approved.decision.start_month.isoformat()  # type: ignore[union-attr]
    assert body["deciding_organ"] == "大武口区民政局"
    assert any(line["member"] == "王大山家1" for line in body["lines"])
    assert "《最低生活保障审核确认办法》（民发〔2021〕57号）" in body["legal_basis"]
    assert "dibao.standard" not in api.content.decode()
    for standard in body["standards"]:
        assert standard["description"] in page
    for line in body["lines"]:
        assert line["explanation"] in page


def test_the_printed_refusal_and_the_api_state_reasons_and_remedies(
    people: dict[str, Staff], household: Household
) -> None:
    case = refused_case(
        household,
        clerk=people["clerk"],
        reviewer=people["reviewer"],
        county_reviewer=people["county_reviewer"],
    )
    client = logged_in(people["reviewer"])
    page = client.get(reverse("web:case_print", args=[case.pk, "refusal"])).content.decode()
    assert "家庭人均收入高于当地低保标准" in page
    assert "大武口区人民政府申请行政复议" in page
    assert "大武口区人民法院提起行政诉讼" in page
    assert "长胜街道办事处" in page
    body = client.get(f"/api/v1/cases/{case.pk}/documents/refusal").json()
    assert body["reasons"] == "家庭人均收入高于当地低保标准"
    assert body["remedies"]["statement"] in page
    assert body["amount"] is None
    assert client.get(f"/api/v1/cases/{case.pk}/documents/decision").status_code == 404
    assert client.get(f"/api/v1/cases/{case.pk}/documents/nonsense").status_code == 404


def test_api_documents_are_scoped_like_the_case(people: dict[str, Staff], approved: Case) -> None:
    outsider = logged_in(people["outsider"])
    response = outsider.get(f"/api/v1/cases/{approved.pk}/documents/decision")
    assert response.status_code == 404
    assert "王大山" not in response.content.decode()
    assert outsider.get(reverse("web:case_print", args=[approved.pk, "decision"])).status_code == 404
    assert Client().get(f"/api/v1/cases/{approved.pk}/documents/decision").status_code in (401, 403)


def test_uploaded_documents_are_still_downloaded_by_number(people: dict[str, Staff], approved: Case) -> None:
    """The written decisions share /cases/{id}/documents/ with uploaded materials: numbers still
    reach the download."""
    document = services.document_upload(
        actor=people["clerk"],
        case_id=approved.pk,
        kind="其他材料",
        file_name="a.pdf",
        content_type="application/pdf",
        content=b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n",
    )
    response = logged_in(people["clerk"]).get(f"/api/v1/cases/{approved.pk}/documents/{document.pk}")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"


def test_english_renders_the_english_text(people: dict[str, Staff], approved: Case) -> None:
    client = logged_in(people["approver"], "en")
    page = html.unescape(
        client.get(reverse("web:case_print", args=[approved.pk, "decision"])).content.decode()
    )
    assert "administrative reconsideration" in page
    assert "People's Government of 大武口区" in page
    assert "People's Court of 大武口区" in page
    assert "within 60 days" in page
    assert "within 6 months" in page
    assert "Civil Affairs Bureau of 大武口区" in page
    assert "如对本决定不服" not in page
    body = client.get(f"/api/v1/cases/{approved.pk}/documents/decision").json()
    assert body["title"] == "Decision"
    assert "administrative reconsideration" in body["remedies"]["statement"]
    assert "王大山家1" in " ".join(line["explanation"] for line in body["lines"])


def test_member_references_are_replaced_but_counts_are_not() -> None:
    names = {"123": "王大山", "2": "李小花"}
    assert documents._named("成员123的工资性收入300.00元/月", names) == "王大山的工资性收入300.00元/月"
    assert documents._named("成员2：65周岁", names) == "李小花：65周岁"
    assert documents._named("该户成员2人均有劳动能力", names) == "该户成员2人均有劳动能力"
    assert documents._named("成员999的收入", names) == "成员999的收入"  # not a member of this calculation
