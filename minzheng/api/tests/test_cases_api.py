"""The cases API: intake, every action through one endpoint, evidence, time limits, public lookups."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from minzheng.cases import services
from minzheng.cases.models import Case, MaterialStatus
from minzheng.catalogue.models import ServiceItem
from minzheng.catalogue.services import catalogue_load
from minzheng.core.models import AuditEvent
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household
from minzheng.registry.testing import make_household, resident_id

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    catalogue_load(actor=None)
    return {
        "assistant": make_staff("a_assistant", "640202001001", [Role.VILLAGE_ASSISTANT]),
        "clerk": make_staff("a_clerk", "640202001000", [Role.TOWNSHIP_CLERK]),
        "reviewer": make_staff("a_reviewer", "640202001000", [Role.TOWNSHIP_REVIEWER]),
        "county_reviewer": make_staff("a_county_reviewer", "640202000000", [Role.COUNTY_REVIEWER]),
        "approver": make_staff("a_approver", "640202000000", [Role.COUNTY_APPROVER]),
        "auditor": make_staff("a_auditor", "640202000000", [Role.AUDITOR]),
        "sysadmin": make_staff("a_sysadmin", "640202000000", [Role.SYSTEM_ADMIN]),
        "outsider": make_staff("a_outsider", "640205000000", [Role.COUNTY_APPROVER, Role.COUNTY_REVIEWER]),
    }


@pytest.fixture
def household(people: dict[str, Staff]) -> Household:
    return make_household(people["clerk"], "640202001001", "王大山", members=2)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Callable[[date], None]:
    """Set the cases service clock ("today") to pass the 7-day notice without waiting."""

    def set_today(day: date) -> None:
        monkeypatch.setattr(services, "_today", lambda: day)

    return set_today


def client_for(staff: Staff | None = None) -> Client:
    client = Client()
    if staff is not None:
        client.force_login(staff)
    return client


def post(client: Client, url: str, body: object) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def complete_materials(item_code: str = "dibao") -> dict[str, str]:
    item = ServiceItem.objects.get(code=item_code)
    return {
        str(m.pk): (MaterialStatus.FETCHED if m.fetchable_by_office else MaterialStatus.PROVIDED)
        for m in item.materials.all()
    }


def intake_body(household: Household, **extra: object) -> dict[str, Any]:
    return {
        "item_code": "dibao",
        "household_id": household.pk,
        "applicant_id": household.head_id,
        "channel": "proxy",
        "proxy_name": "村协理员李四",
        "proxy_relation": "村民政协理员",
        "mandate": "申请人书面委托",
        "materials": complete_materials(),
        **extra,
    }


def act(client: Client, case_id: int, action: str, note: str = "", **data: object) -> Any:
    return post(client, f"/api/v1/cases/{case_id}/actions/{action}", {"note": note, "data": data})


def new_case(people: dict[str, Staff], household: Household) -> int:
    response = post(client_for(people["assistant"]), "/api/v1/cases", intake_body(household))
    assert response.status_code == 201, response.content
    return int(response.json()["id"])


def assert_error(response: Any, status: int, code: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"code", "message", "field_errors"}
    if code is not None:
        assert body["code"] == code
    return body  # type: ignore[no-any-return]


def test_intake_by_proxy_needs_the_mandate(people: dict[str, Staff], household: Household) -> None:
    client = client_for(people["assistant"])
    body = assert_error(
        post(client, "/api/v1/cases", intake_body(household, mandate="", proxy_name="")), 422, "invalid"
    )
    assert {"proxy_name", "mandate"} <= set(body["field_errors"])
    assert not Case.objects.exists()

    response = post(client, "/api/v1/cases", intake_body(household, phone="13900001111"))
    assert response.status_code == 201
    case = response.json()
    assert (case["state"], case["channel"], case["mandate"]) == ("accepted", "proxy", "申请人书面委托")
    assert case["number"].startswith("640202")
    assert case["applicant_name"] == "王大山"
    assert case["steps"][0]["state"] == "accepted"
    assert case["steps"][0]["due_date"] is not None
    assert case["events"][0]["action"] == "intake"
    assert case["actions"] == [
        {
            "action": "start_investigation",
            "label": "启动调查核实",
            "target": "investigating",
            "target_label": "入户调查",
        },
        {
            "action": "withdraw",
            "label": "申请人撤回申请",
            "target": "withdrawn",
            "target_label": "申请人撤回",
        },
    ]


def test_window_intake_without_materials_gives_the_one_time_notice(
    people: dict[str, Staff], household: Household
) -> None:
    client = client_for(people["clerk"])
    response = post(
        client,
        "/api/v1/cases",
        {"item_code": "dibao", "household_id": household.pk, "applicant_id": household.head_id},
    )
    assert response.status_code == 201
    case = response.json()
    assert (case["state"], case["channel"], case["mandate"]) == ("incomplete", "window", "")
    notice = client.get(f"/api/v1/cases/{case['id']}/missing-materials").json()
    names = [m["name"] for m in notice["missing"]]
    assert "最低生活保障申请书" in names
    assert "户口簿" not in names  # fetched by the office through data sharing
    assert all(name in notice["text"] for name in names)
    assert case["number"] in notice["text"]

    assert_error(act(client, case["id"], "complete_materials"), 409, "transition_not_allowed")
    response = post(client, f"/api/v1/cases/{case['id']}/materials", {"materials": complete_materials()})
    assert response.status_code == 200
    assert client.get(f"/api/v1/cases/{case['id']}/missing-materials").json()["missing"] == []
    response = act(client, case["id"], "complete_materials")
    assert response.status_code == 200
    assert response.json()["state"] == "accepted"


def test_dibao_through_the_api_up_to_county_confirmation(
    people: dict[str, Staff], household: Household, clock: Callable[[date], None]
) -> None:
    today = timezone.localdate()
    clock(today)
    reviewer = client_for(people["reviewer"])
    case_id = new_case(people, household)
    assert [c["id"] for c in reviewer.get("/api/v1/cases/worklist").json()["items"]] == [case_id]

    assert act(reviewer, case_id, "start_investigation").status_code == 200
    body = assert_error(act(reviewer, case_id, "request_verification"), 409, "transition_not_allowed")
    assert "入户调查记录" in body["message"]
    visit = post(
        client_for(people["assistant"]),
        f"/api/v1/cases/{case_id}/visits",
        {
            "visited_on": today.isoformat(),
            "investigators": ["张调查", "李调查"],
            "findings": "家中无固定收入",
            "signed_by_applicant": True,
        },
    )
    assert visit.status_code == 201
    assert visit.json()["investigators"] == ["张调查", "李调查"]
    assert act(reviewer, case_id, "request_verification").status_code == 200
    county = client_for(people["county_reviewer"])
    assert act(county, case_id, "record_verification", "核对无异常").json()["state"] == "opinion"

    calculation = reviewer.post(f"/api/v1/cases/{case_id}/calculation")
    assert calculation.status_code == 200
    explanation = calculation.json()
    assert explanation["eligible"] is True
    assert explanation["programme"] == "dibao"
    assert explanation["lines"]
    assert explanation["parameters"]
    amount = explanation["amount"]

    case = act(reviewer, case_id, "propose_approval", "符合条件，拟纳入").json()
    assert case["state"] == "notice"
    assert case["notices"][0]["kind"] == "preliminary"
    assert set(case["notices"][0]["content"]) == {"applicant", "household_size", "amount", "item"}
    body = assert_error(act(reviewer, case_id, "close_notice"), 409, "transition_not_allowed")
    assert "公示期" in body["message"]
    listed = reviewer.get("/api/v1/notices").json()
    assert [n["case_number"] for n in listed["items"]] == [case["number"]]
    assert listed["items"][0]["current"] is True

    clock(today + timedelta(days=7))
    assert act(reviewer, case_id, "close_notice").json()["state"] == "county_review"
    assert_error(act(reviewer, case_id, "approve", "越权批准"), 403, "forbidden")
    approver = client_for(people["approver"])
    case = act(approver, case_id, "approve", "经审核确认，同意纳入").json()

    assert (case["state"], case["outcome"], case["is_open"]) == ("approved", "approved", False)
    decision = case["decision"]
    assert decision["amount"] == amount
    assert decision["level"] == "county"
    next_month = ((today + timedelta(days=7)).replace(day=1) + timedelta(days=32)).replace(day=1)
    assert decision["start_month"] == next_month.isoformat()
    assert decision["calculation"]["id"] == explanation["id"]
    assert decision["calculation"]["amount"] == amount
    assert decision["calculation"]["reasons"] == explanation["reasons"]
    assert case["actions"] == []
    assert [e["action"] for e in case["events"]][-1] == "approve"
    assert all(s["completed_on"] for s in case["steps"])
    assert {s["state"] for s in case["steps"]} >= {"accepted", "investigating", "notice", "county_review"}

    # The applicant's village shows the notice without login: name, size, amount, item, period only.
    public = client_for().get("/api/v1/public/notices/640202001001")
    assert public.status_code == 200
    shown = public.json()
    assert [n["kind"] for n in shown] == ["preliminary"]
    assert shown[0]["applicant"] == "王大山"
    assert shown[0]["household_size"] == 2
    assert set(shown[0]) == {"kind", "item", "applicant", "household_size", "amount", "starts_on", "ends_on"}
    assert household.head is not None
    assert household.head.id_masked not in public.content.decode()
    assert client_for().get("/api/v1/public/notices/640202001002").json() == []
    assert_error(client_for().get("/api/v1/public/notices/640202001000"), 404, "not_found")


def test_illegal_action_is_409_with_the_reason_and_changes_nothing(
    people: dict[str, Staff], household: Household
) -> None:
    case_id = new_case(people, household)
    approver = client_for(people["approver"])
    body = assert_error(act(approver, case_id, "approve", "越级批准"), 409, "transition_not_allowed")
    assert "当前环节" in body["message"]
    assert "已受理" in body["message"]
    assert_error(act(approver, case_id, "no_such_action"), 409, "transition_not_allowed")
    case = Case.objects.get(pk=case_id)
    assert case.state == "accepted"
    assert case.events.count() == 1


def test_missing_permission_is_403(people: dict[str, Staff], household: Household) -> None:
    case_id = new_case(people, household)
    # The window clerk does not investigate.
    assert_error(act(client_for(people["clerk"]), case_id, "start_investigation"), 403, "forbidden")
    # Read-only roles see the case but cannot calculate (it would replace the decision's calculation).
    auditor = client_for(people["auditor"])
    assert auditor.get(f"/api/v1/cases/{case_id}").status_code == 200
    assert auditor.get(f"/api/v1/cases/{case_id}").json()["actions"] == []
    assert_error(auditor.post(f"/api/v1/cases/{case_id}/calculation"), 403, "forbidden")
    assert_error(
        auditor.post(
            f"/api/v1/cases/{case_id}/documents",
            {"file": SimpleUploadedFile("a.pdf", PDF, "application/pdf"), "kind": "申请书"},
        ),
        403,
        "forbidden",
    )
    # A system administrator has no access to cases at all.
    sysadmin = client_for(people["sysadmin"])
    assert_error(sysadmin.get("/api/v1/cases"), 403, "forbidden")
    assert_error(sysadmin.get(f"/api/v1/cases/{case_id}"), 403, "forbidden")
    assert_error(sysadmin.get("/api/v1/cases/overdue"), 403, "forbidden")
    assert Case.objects.get(pk=case_id).details == {}


def test_another_county_gets_404_everywhere(people: dict[str, Staff], household: Household) -> None:
    case_id = new_case(people, household)
    document = client_for(people["assistant"]).post(
        f"/api/v1/cases/{case_id}/documents",
        {"file": SimpleUploadedFile("申请书.pdf", PDF, "application/pdf"), "kind": "申请书"},
    )
    assert document.status_code == 201
    outsider = client_for(people["outsider"])
    assert_error(outsider.get(f"/api/v1/cases/{case_id}"), 404, "not_found")
    assert_error(act(outsider, case_id, "start_investigation"), 404, "not_found")
    assert_error(outsider.post(f"/api/v1/cases/{case_id}/calculation"), 404, "not_found")
    assert_error(outsider.get(f"/api/v1/cases/{case_id}/missing-materials"), 404, "not_found")
    assert_error(outsider.get(f"/api/v1/cases/{case_id}/documents/{document.json()['id']}"), 404, "not_found")
    assert_error(post(outsider, "/api/v1/cases", intake_body(household)), 404, "not_found")
    assert outsider.get("/api/v1/cases").json()["count"] == 0
    assert outsider.get("/api/v1/cases", {"search": "王大山"}).json()["count"] == 0
    assert Case.objects.get(pk=case_id).state == "accepted"


def test_documents_are_checked_on_upload_and_downloaded_as_stored(
    people: dict[str, Staff], household: Household
) -> None:
    case_id = new_case(people, household)
    client = client_for(people["assistant"])
    url = f"/api/v1/cases/{case_id}/documents"

    response = client.post(
        url, {"file": SimpleUploadedFile("收入证明.pdf", PDF, "application/pdf"), "kind": "收入证明"}
    )
    assert response.status_code == 201
    document = response.json()
    assert (document["kind"], document["size"], document["content_type"]) == (
        "收入证明",
        len(PDF),
        "application/pdf",
    )
    download = client.get(f"{url}/{document['id']}")
    assert download.status_code == 200
    assert download.content == PDF
    assert download["Content-Type"] == "application/pdf"
    assert download["Content-Disposition"].startswith("attachment")
    downloads = AuditEvent.objects.filter(action="cases.document_downloaded", object_id=str(case_id))
    assert [(e.after or {}).get("sha256") for e in downloads] == [document["sha256"]]
    assert client.get(f"/api/v1/cases/{case_id}").json()["documents"][0]["id"] == document["id"]

    refused = [
        ({"file": SimpleUploadedFile("x.exe", b"MZ\x90\x00", "application/octet-stream"), "kind": "x"}, 422),
        ({"file": SimpleUploadedFile("x.html", b"<script>", "text/html"), "kind": "x"}, 422),
        ({"file": SimpleUploadedFile("fake.png", PDF, "image/png"), "kind": "x"}, 422),  # content is a PDF
        ({"file": SimpleUploadedFile("ok.png", PNG, "image/png"), "kind": "  "}, 422),
        ({"file": SimpleUploadedFile("empty.pdf", b"", "application/pdf"), "kind": "x"}, 422),
        ({"kind": "x"}, 422),
        (
            {
                "file": SimpleUploadedFile(
                    "big.pdf", PDF + b"0" * services.DOCUMENT_MAX_BYTES, "application/pdf"
                ),
                "kind": "x",
            },
            413,
        ),
    ]
    for data, status in refused:
        body = assert_error(client.post(url, data), status)
        assert body["field_errors"], body
    assert (
        client.post(url, {"file": SimpleUploadedFile("ok.png", PNG, "image/png"), "kind": "照片"}).status_code
        == 201
    )
    assert Case.objects.get(pk=case_id).documents.count() == 2
    assert_error(client.get(f"{url}/999999"), 404, "not_found")


def test_public_look_ups_and_applications_are_limited_per_address(
    people: dict[str, Staff], settings: Any
) -> None:
    settings.MINZHENG_PUBLIC_LIMITS = {"status_lookup": (3, 600), "online_application": (1, 3600)}
    anonymous = client_for()
    query = {"number": "640202202600001", "id_number": resident_id("640202", date(1970, 3, 3))}
    assert [anonymous.get("/api/v1/public/status", query).status_code for _ in range(3)] == [404] * 3
    assert_error(anonymous.get("/api/v1/public/status", query), 429, "rate_limited")
    other_address = Client(REMOTE_ADDR="10.0.0.9")
    assert other_address.get("/api/v1/public/status", query).status_code == 404

    application = {
        "item_code": "dibao",
        "division_code": "640202001001",
        "applicant_name": "赵网申",
        "id_number": query["id_number"],
        "phone": "13900000000",
    }
    assert post(anonymous, "/api/v1/public/applications", application).status_code == 201
    again = post(anonymous, "/api/v1/public/applications", {**application, "applicant_name": "钱网申"})
    assert_error(again, 429, "rate_limited")
    assert Case.objects.count() == 1


def test_online_application_and_status_lookup_without_login(
    people: dict[str, Staff], household: Household
) -> None:
    anonymous = client_for()
    id_number = resident_id("640202", date(1970, 3, 3))
    response = post(
        anonymous,
        "/api/v1/public/applications",
        {
            "item_code": "dibao",
            "division_code": "640202001001",
            "applicant_name": "赵网申",
            "id_number": id_number,
            "phone": "13900000000",
            "details": {"reason": "失业无收入"},
        },
    )
    assert response.status_code == 201, response.content
    number = response.json()["number"]
    assert set(response.json()) == {"number", "item_name", "state_label", "message"}
    case = Case.objects.get(number=number)
    assert (case.state, case.channel, case.details) == ("submitted", "online", {"reason": "失业无收入"})

    status = anonymous.get("/api/v1/public/status", {"number": number, "id_number": id_number})
    assert status.status_code == 200
    shown = status.json()
    assert set(shown) == {"item_name", "state_label", "steps"}
    assert shown["item_name"] == "最低生活保障"
    assert shown["state_label"] == "网上申请，待窗口受理"
    assert set(shown["steps"][0]) == {"label", "started_on", "due_date", "completed_on"}
    assert "赵网申" not in status.content.decode()

    # A mismatch, an unknown number and a malformed ID number all get the same answer.
    wrong_id = anonymous.get(
        "/api/v1/public/status", {"number": number, "id_number": resident_id("640202", date(1970, 3, 4))}
    )
    unknown = anonymous.get("/api/v1/public/status", {"number": "640202202699999", "id_number": id_number})
    malformed = anonymous.get("/api/v1/public/status", {"number": number, "id_number": "123"})
    assert wrong_id.status_code == unknown.status_code == malformed.status_code == 404
    assert wrong_id.content == unknown.content == malformed.content
    assert_error(anonymous.get("/api/v1/public/status"), 422, "invalid")

    # The window then handles it like any case.
    clerk = client_for(people["clerk"])
    assert act(clerk, case.pk, "notify_missing", "请补充材料").json()["state"] == "incomplete"
    steps = anonymous.get("/api/v1/public/status", {"number": number, "id_number": id_number}).json()["steps"]
    assert [s["label"] for s in steps] == ["网上申请，待窗口受理", "材料不全，已一次性告知"]

    bad = post(
        anonymous,
        "/api/v1/public/applications",
        {
            "item_code": "dibao",
            "division_code": "640202001000",
            "applicant_name": "x",
            "id_number": "123456789012345",
            "phone": "1",
        },
    )
    body = assert_error(bad, 422, "invalid")
    assert {"id_number", "division_code"} <= set(body["field_errors"])
    body = assert_error(
        post(
            anonymous,
            "/api/v1/public/applications",
            {
                "item_code": "dibao",
                "division_code": "640202001001",
                "applicant_name": "x",
                "id_number": id_number,
                "phone": "1",
                "details": {"calculation_id": 1},
            },
        ),
        422,
        "invalid",
    )
    assert Case.objects.count() == 1


def test_time_limits_overdue_and_statistics(
    people: dict[str, Staff], household: Household, clock: Callable[[date], None]
) -> None:
    today = timezone.localdate()
    clock(today - timedelta(days=30))
    case_id = new_case(people, household)
    reviewer = client_for(people["reviewer"])
    overdue = reviewer.get("/api/v1/cases/overdue").json()
    assert [s["case_id"] for s in overdue["overdue"]] == [case_id]
    assert overdue["overdue"][0]["label"] == "已受理，待启动调查"
    assert overdue["due_soon"] == []
    assert overdue["transfers_overdue"] == []
    steps = reviewer.get(f"/api/v1/cases/{case_id}").json()["steps"]
    assert steps[0]["overdue"] is True
    assert client_for(people["outsider"]).get("/api/v1/cases/overdue").json()["overdue"] == []
    stats = client_for(people["approver"]).get("/api/v1/cases/time-limit-stats").json()
    assert [(s["code"], s["open_cases"], s["open_overdue"]) for s in stats] == [("640202001000", 1, 1)]


def test_case_list_filters_and_pages(people: dict[str, Staff], household: Household) -> None:
    case_id = new_case(people, household)
    other = make_household(people["clerk"], "640202001002", "李小河", members=1)
    post(
        client_for(people["clerk"]),
        "/api/v1/cases",
        {"item_code": "elderly_allowance", "household_id": other.pk, "applicant_id": other.head_id},
    )
    client = client_for(people["reviewer"])
    assert client.get("/api/v1/cases").json()["count"] == 2
    assert [c["id"] for c in client.get("/api/v1/cases", {"item": "dibao"}).json()["items"]] == [case_id]
    assert client.get("/api/v1/cases", {"search": "李小河"}).json()["count"] == 1
    assert client.get("/api/v1/cases", {"state": "accepted", "open": "true"}).json()["count"] >= 1
    assert client.get("/api/v1/cases", {"state": "approved"}).json()["count"] == 0
    item = client.get("/api/v1/cases", {"item": "dibao"}).json()["items"][0]
    assert item["state_label"] == "已受理，待启动调查"
    assert item["step_due_date"] is not None
    # The village assistant of 长胜社区 sees only its own village.
    assert client_for(people["assistant"]).get("/api/v1/cases").json()["count"] == 1


def test_conflict_register_flags_relatives(people: dict[str, Staff], household: Household) -> None:
    reviewer = client_for(people["reviewer"])
    head_digest = household.head.id_digest  # type: ignore[union-attr]
    id_number = resident_id("640202", date(1975, 6, 1))
    response = post(
        reviewer,
        "/api/v1/conflict-registrations",
        {
            "division_code": "640202001001",
            "name": "村主任甲",
            "position": "村委会主任",
            "id_number": id_number,
        },
    )
    assert response.status_code == 201
    assert id_number not in response.content.decode()
    listed = reviewer.get("/api/v1/conflict-registrations").json()
    assert [r["name"] for r in listed["items"]] == ["村主任甲"]
    assert client_for(people["outsider"]).get("/api/v1/conflict-registrations").json()["count"] == 0
    body = assert_error(
        post(
            reviewer,
            "/api/v1/conflict-registrations",
            {"division_code": "640202001001", "name": "又一", "position": "主任", "id_number": id_number},
        ),
        422,
    )
    assert "id_number" in body["field_errors"]
    assert_error(
        post(
            client_for(people["assistant"]),
            "/api/v1/conflict-registrations",
            {"division_code": "640202001001", "name": "x", "position": "y", "id_number": id_number},
        ),
        403,
    )
    # A registered person applying is flagged for county investigation.
    from minzheng.cases.models import ConflictRegistration

    ConflictRegistration.objects.update(id_digest=head_digest)
    case = post(client_for(people["assistant"]), "/api/v1/cases", intake_body(household)).json()
    assert case["conflict_of_interest"] is True
    assert "县级直接调查" in case["conflict_note"]


def test_bad_input_never_gives_a_server_error(people: dict[str, Staff], household: Household) -> None:
    case_id = new_case(people, household)
    online = services.case_submit_online(
        item_code="dibao",
        division_code="640202001001",
        applicant_name="网申",
        id_number=resident_id("640202"),
        phone="13900000139",
    )
    other = make_household(people["clerk"], "640202001001", "另一户", members=1)
    reviewer = client_for(people["reviewer"])
    assistant = client_for(people["assistant"])
    huge = 10**30
    requests: list[tuple[Client, str, str, object]] = [
        (reviewer, "get", f"/api/v1/cases/{huge}", None),
        (reviewer, "get", f"/api/v1/cases/{2**63}", None),
        (reviewer, "get", "/api/v1/cases/abc", None),
        (reviewer, "get", f"/api/v1/cases/{case_id}/documents/{huge}", None),
        (reviewer, "get", "/api/v1/cases?open=maybe", None),
        (reviewer, "post", f"/api/v1/cases/{huge}/actions/start_investigation", {"note": ""}),
        (reviewer, "post", f"/api/v1/cases/{case_id}/actions/start_investigation", {"note": 5, "data": []}),
        (reviewer, "post", f"/api/v1/cases/{case_id}/actions/start_investigation", "not json"),
        (reviewer, "post", f"/api/v1/cases/{case_id}/actions/x", {"note": "x" * 5000}),
        (
            reviewer,
            "post",
            f"/api/v1/cases/{case_id}/actions/record_objection",
            {"data": {"content": {"a": 1}}},
        ),
        (reviewer, "post", f"/api/v1/cases/{online.pk}/calculation", None),  # no registered household
        (reviewer, "post", f"/api/v1/cases/{case_id}/calculation?on=yesterday", None),
        (reviewer, "post", f"/api/v1/cases/{case_id}/materials", {"materials": {"abc": "provided"}}),
        (reviewer, "post", f"/api/v1/cases/{case_id}/materials", {"materials": {str(huge): "provided"}}),
        (reviewer, "post", f"/api/v1/cases/{online.pk}/materials", {"materials": {"1": "lost"}}),
        (reviewer, "post", f"/api/v1/cases/{case_id}/visits", {"visited_on": "2026-02-30"}),
        (
            reviewer,
            "post",
            f"/api/v1/cases/{case_id}/visits",
            {
                "visited_on": "2099-01-01",
                "investigators": ["甲"],
                "findings": " ",
                "signed_by_applicant": True,
            },
        ),
        (assistant, "post", "/api/v1/cases", {"item_code": "dibao", "household_id": huge, "applicant_id": 1}),
        (assistant, "post", "/api/v1/cases", {"item_code": "dibao", "household_id": -1, "applicant_id": 0}),
        (assistant, "post", "/api/v1/cases", intake_body(household, item_code="nope")),
        (assistant, "post", "/api/v1/cases", intake_body(household, channel="online")),
        (assistant, "post", "/api/v1/cases", intake_body(household, details={"temporary": "fire"})),
        (assistant, "post", "/api/v1/cases", intake_body(household, details={"calculation_id": 7})),
        (assistant, "post", "/api/v1/cases", intake_body(household, materials={"999999": "provided"})),
        (assistant, "post", "/api/v1/cases", intake_body(household, applicant_id=other.head_id)),
        (assistant, "post", "/api/v1/cases", [1, 2]),
        (
            reviewer,
            "post",
            "/api/v1/conflict-registrations",
            {
                "division_code": "640202001999",
                "name": "x",
                "position": "y",
                "id_number": resident_id("640202"),
            },
        ),
        (
            reviewer,
            "post",
            "/api/v1/conflict-registrations",
            {
                "division_code": "640202001001",
                "name": "x",
                "position": "y",
                "id_number": "640202198001011234",
            },
        ),
        (client_for(), "get", f"/api/v1/public/notices/{'9' * 200}", None),
        (client_for(), "get", "/api/v1/public/status?number=%00&id_number=%00", None),
        (client_for(), "get", f"/api/v1/public/status?number=%00&id_number={resident_id()}", None),
        (client_for(), "get", "/api/v1/public/notices/%00", None),
        (reviewer, "get", "/api/v1/cases?search=%00&item=%00&state=%00", None),
        (assistant, "post", "/api/v1/cases", intake_body(household, item_code="dibao\u0000")),
        (client_for(), "post", "/api/v1/public/applications", {"item_code": "dibao"}),
        (
            client_for(),
            "post",
            "/api/v1/public/applications",
            {
                "item_code": "education_aid" * 10,
                "division_code": "640202001001",
                "applicant_name": "x",
                "id_number": resident_id("640202"),
                "phone": "1",
                "details": {"temporary": {"type": "emergency", "requested_amount": "-5"}},
            },
        ),
    ]
    for client, method, url, body in requests:
        if body is None:
            response = getattr(client, method)(url)
        else:
            data = body if isinstance(body, str) else json.dumps(body)
            response = getattr(client, method)(url, data=data, content_type="application/json")
        assert 400 <= response.status_code < 500, (url, body, response.status_code, response.content)
        assert set(response.json()) == {"code", "message", "field_errors"}, (url, response.content)
    assert Case.objects.count() == 2
    assert Case.objects.get(pk=case_id).state == "accepted"


def test_calculation_with_bad_stated_details_is_a_field_error(
    people: dict[str, Staff], household: Household
) -> None:
    """The application's own statements join the registry facts; a bad combination is named."""
    response = post(
        client_for(people["assistant"]),
        "/api/v1/cases",
        intake_body(
            household,
            item_code="medical_assistance",
            materials=complete_materials("medical_assistance"),
            details={"medical": {"member": "nobody", "eligible_costs": "1000"}},
        ),
    )
    assert response.status_code == 201, response.content
    body = assert_error(
        client_for(people["reviewer"]).post(f"/api/v1/cases/{response.json()['id']}/calculation"), 422
    )
    assert body["field_errors"]


def test_openapi_lists_the_cases_paths(db: None) -> None:
    paths = client_for().get("/api/v1/openapi.json").json()["paths"]
    for path in (
        "/api/v1/cases",
        "/api/v1/cases/worklist",
        "/api/v1/cases/overdue",
        "/api/v1/cases/time-limit-stats",
        "/api/v1/cases/{case_id}",
        "/api/v1/cases/{case_id}/materials",
        "/api/v1/cases/{case_id}/actions/{action}",
        "/api/v1/cases/{case_id}/visits",
        "/api/v1/cases/{case_id}/calculation",
        "/api/v1/cases/{case_id}/documents",
        "/api/v1/cases/{case_id}/documents/{document_id}",
        "/api/v1/cases/{case_id}/missing-materials",
        "/api/v1/notices",
        "/api/v1/conflict-registrations",
        "/api/v1/public/applications",
        "/api/v1/public/status",
        "/api/v1/public/notices/{village_code}",
    ):
        assert path in paths, path
    assert "post" in paths["/api/v1/cases"]
    assert paths["/api/v1/public/status"]["get"].get("security") in (None, [])
