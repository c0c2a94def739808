"""The online applicant's side: identification, the step list with due dates, the one-time notice
and uploads of missing materials, the inbox with text messages, and the window linking the
application to the registry."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from minzheng.cases import notifications, online, services
from minzheng.cases.models import (
    ApplicantNotification,
    Case,
    Document,
    MaterialStatus,
    SmsDelivery,
    SmsStatus,
)
from minzheng.core.errors import (
    Conflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
    TransitionNotAllowed,
)
from minzheng.core.models import AuditEvent
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household, Person
from minzheng.registry.testing import make_household, resident_id

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
ID_NUMBER = resident_id("640202", date(1971, 4, 4))


def submit(id_number: str = ID_NUMBER, phone: str = "13900000001", village: str = "640202001001") -> Case:
    return services.case_submit_online(
        item_code="dibao",
        division_code=village,
        applicant_name="赵网申",
        id_number=id_number,
        phone=phone,
    )


def notify_missing(clerk: Staff, case: Case) -> Case:
    return services.case_transition(actor=clerk, case_id=case.pk, action="notify_missing", note="请补充材料")


def upload(case: Case, requirement_id: int | None = None, **extra: Any) -> Document:
    if requirement_id is None:
        requirement_id = online.applicant_view(case).missing[0].requirement_id
    fields: dict[str, Any] = {
        "file_name": "收入证明.pdf",
        "content_type": "application/pdf",
        "content": PDF,
        **extra,
    }
    return online.applicant_document_upload(case_id=case.pk, requirement_id=requirement_id, **fields)


def test_applicant_identifies_with_id_number_or_phone(people: dict[str, Staff]) -> None:
    case = submit()
    assert online.applicant_identify(number=case.number, secret=ID_NUMBER) == case
    assert online.applicant_identify(number=case.number, secret="139 0000 0001") == case
    for wrong in (resident_id("640202", date(1971, 4, 5)), "13900000002", "", "x"):
        with pytest.raises(NotFound, match="受理编号或身份证号不正确"):
            online.applicant_identify(number=case.number, secret=wrong)
    token = online.applicant_token(case)
    assert online.applicant_case(token=token) == case
    with pytest.raises(PermissionDenied):
        online.applicant_case(token=token + "x")


def test_applicant_token_expires(people: dict[str, Staff], settings: Any) -> None:
    case = submit()
    token = online.applicant_token(case)
    settings.MINZHENG_APPLICANT_SESSION_SECONDS = -1
    with pytest.raises(PermissionDenied, match="查询已过期"):
        online.applicant_case(token=token)


def test_status_shows_every_step_with_its_working_day_due_date(people: dict[str, Staff]) -> None:
    case = submit()
    view = online.applicant_view(case)
    assert view.steps[0].label == "网上申请，待窗口受理"
    assert view.steps[0].status == "current"
    assert view.steps[0].due_date is not None
    assert view.steps[0].limit_text == "2个工作日"
    upcoming = [s.label for s in view.steps if s.status == "upcoming"]
    assert upcoming[:3] == ["已受理，待启动调查", "入户调查", "家庭经济状况核对"]
    assert "村（居）公示" in upcoming
    assert "已批准" in upcoming
    assert "不予批准（已告知）" not in upcoming  # an alternative, shown only when reached

    services.case_materials_update(
        actor=people["clerk"],
        case_id=case.pk,
        materials={m.requirement_id: MaterialStatus.PROVIDED for m in case.materials.all()},
    )
    services.case_transition(actor=people["clerk"], case_id=case.pk, action="accept")
    case.refresh_from_db()
    view = online.applicant_view(case)
    assert [s.status for s in view.steps[:2]] == ["done", "current"]
    assert view.steps[1].label == "已受理，待启动调查"
    assert view.due_date == case.due_date
    assert view.steps[1].limit_text == "3个工作日"


def test_applicant_uploads_a_missing_material_and_the_clerk_completes(people: dict[str, Staff]) -> None:
    case = submit()
    assert online.applicant_view(case).can_upload is False or online.applicant_view(case).missing
    notify_missing(people["clerk"], case)
    case.refresh_from_db()
    view = online.applicant_view(case)
    assert view.missing_notified
    assert view.can_upload
    requirement = view.missing[0]

    document = upload(case, requirement.requirement_id)
    assert (document.from_applicant, document.uploaded_by_id, document.requirement_id) == (
        True,
        None,
        requirement.requirement_id,
    )
    assert bytes(Document.objects.get(pk=document.pk).content) == PDF
    view = online.applicant_view(case)
    assert view.missing[0].uploaded == ["收入证明.pdf"]
    assert view.uploads[0].material == requirement.name
    assert AuditEvent.objects.filter(
        action="cases.applicant_document_uploaded", object_id=str(case.pk)
    ).exists()
    assert case.events.filter(action="applicant_document", actor__isnull=True).exists()
    check = case.materials.get(requirement_id=requirement.requirement_id)
    assert (check.status, check.note) == (MaterialStatus.MISSING, "申请人已网上补交，待窗口核验")

    # The window checks it and accepts.
    services.case_materials_update(
        actor=people["clerk"],
        case_id=case.pk,
        materials={m.requirement_id: MaterialStatus.PROVIDED for m in case.materials.all()},
    )
    services.case_transition(actor=people["clerk"], case_id=case.pk, action="complete_materials")
    case.refresh_from_db()
    assert case.state == "accepted"
    with pytest.raises(TransitionNotAllowed, match="申请已受理"):
        upload(case, requirement.requirement_id)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"content_type": "text/html", "content": b"<html>"}, "只接受 PDF、JPG、PNG 文件"),
        ({"content_type": "application/pdf", "content": b"MZ\x90\x00"}, "文件内容与类型不符"),
        ({"content_type": "image/png", "content": b""}, "文件为空"),
    ],
)
def test_a_bad_file_is_refused_and_changes_nothing(
    people: dict[str, Staff], extra: dict[str, Any], message: str
) -> None:
    case = submit()
    notify_missing(people["clerk"], case)
    events = case.events.count()
    with pytest.raises(InvalidInput) as info:
        upload(case, **extra)
    assert info.value.field_errors["file"] == [message]
    assert not Document.objects.exists()
    assert case.events.count() == events


def test_upload_limits_of_size_and_count_come_from_settings(people: dict[str, Staff], settings: Any) -> None:
    settings.MINZHENG_APPLICANT_UPLOAD_MAX_FILES = 2
    settings.MINZHENG_APPLICANT_UPLOAD_MAX_BYTES = 1024 * 1024
    case = submit()
    notify_missing(people["clerk"], case)
    with pytest.raises(InvalidInput) as info:
        upload(case, content=PDF + b"0" * (1024 * 1024))
    assert info.value.field_errors["file"] == ["每个文件不超过1MB"]
    upload(case)
    upload(case)
    with pytest.raises(InvalidInput, match="最多2个"):
        upload(case)
    assert Document.objects.count() == 2


def test_no_upload_after_the_case_is_decided_or_for_a_material_not_missing(people: dict[str, Staff]) -> None:
    case = submit()
    notify_missing(people["clerk"], case)
    case.refresh_from_db()
    missing = {m.requirement_id for m in online.applicant_view(case).missing}
    other = case.materials.exclude(requirement_id__in=missing).first()
    if other is not None:
        with pytest.raises(InvalidInput, match="请选择一次性告知中所缺的材料"):
            upload(case, other.requirement_id)
    services.case_transition(actor=people["clerk"], case_id=case.pk, action="withdraw", note="申请人撤回")
    with pytest.raises(TransitionNotAllowed, match="申请已办结，不能再上传材料"):
        upload(case, next(iter(missing)))
    assert not Document.objects.exists()


def test_each_state_change_writes_a_notification_and_a_text_message(
    people: dict[str, Staff], settings: Any
) -> None:
    settings.MINZHENG_SMS_GATEWAY_URL = ""
    case = submit()
    notify_missing(people["clerk"], case)
    upload(case)
    kinds = list(
        ApplicantNotification.objects.filter(case=case).order_by("pk").values_list("kind", flat=True)
    )
    assert kinds == ["received", "missing_materials", "materials_received"]
    sms = SmsDelivery.objects.order_by("pk")
    assert [s.status for s in sms] == [SmsStatus.OFF] * 3  # no gateway: recorded, not sent
    assert sms[0].phone_masked == "139****0001"
    assert "13900000001" not in " ".join(s.text + s.phone_masked for s in sms)
    assert case.number in sms[1].text
    assert "一次性告知" in sms[1].text


def test_window_cases_get_no_applicant_notifications(people: dict[str, Staff], household: Household) -> None:
    services.case_intake(
        actor=people["clerk"],
        item_code="dibao",
        household=household,
        applicant=household.head,  # type: ignore[arg-type]
    )
    assert not ApplicantNotification.objects.exists()


def test_sms_sent_through_the_gateway_and_retried_by_the_sweep(
    people: dict[str, Staff], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MINZHENG_SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"
    sent: list[dict[str, str]] = []
    fail = {"on": True}

    def post(url: str, body: dict[str, str]) -> str:
        if fail["on"]:
            raise notifications.GatewayError("网关不可用")
        sent.append(body)
        return f"G{len(sent)}"

    monkeypatch.setattr(notifications, "_post", post)
    case = submit()
    delivery = SmsDelivery.objects.get()
    assert delivery.status == SmsStatus.PENDING
    assert notifications.sms_sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == (SmsStatus.FAILED, 1, "网关不可用")
    assert notifications.sms_sweep() == 0  # paused until its next attempt
    SmsDelivery.objects.update(next_attempt_at=delivery.next_attempt_at.replace(year=2000))
    fail["on"] = False
    assert notifications.sms_sweep() == 1
    delivery.refresh_from_db()
    assert (delivery.status, delivery.gateway_id, delivery.attempts) == (SmsStatus.SENT, "G1", 2)
    assert sent == [{"to": "13900000001", "text": delivery.text, "ref": f"minzheng-sms-{delivery.pk}"}]
    assert notifications.sms_sweep() == 0  # never sent twice
    assert case.number in sent[0]["text"]


def test_sms_given_up_after_the_last_attempt(
    people: dict[str, Staff], settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings.MINZHENG_SMS_GATEWAY_URL = "http://127.0.0.1:9/sms"

    def post(url: str, body: dict[str, str]) -> str:
        raise notifications.GatewayError("网关返回 500")

    monkeypatch.setattr(notifications, "_post", post)
    submit()
    delivery = SmsDelivery.objects.get()
    for _ in range(notifications.MAX_ATTEMPTS):
        notifications.sms_deliver(delivery_id=delivery.pk)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == (SmsStatus.ABANDONED, notifications.MAX_ATTEMPTS)


def test_clerk_links_an_online_application_to_the_household_holding_the_applicant(
    people: dict[str, Staff],
) -> None:
    household = make_household(people["clerk"], "640202001001", "钱已登", members=2)
    head = household.head
    assert head is not None
    # The applicant registered after applying: the application is not linked yet.
    case = submit()
    Case.objects.filter(pk=case.pk).update(applicant_id_digest=head.id_digest)
    case.refresh_from_db()
    assert case.household_id is None
    candidates = list(online.household_candidates(actor=people["clerk"], case=case))
    assert candidates == [household]
    assert list(online.household_candidates(actor=people["outsider"], case=case)) == []

    other = make_household(people["clerk"], "640202001001", "孙无关", members=1)
    with pytest.raises(InvalidInput, match="不是该家庭的现有成员"):
        online.case_link_household(actor=people["clerk"], case_id=case.pk, household_id=other.pk)
    online.case_link_household(actor=people["clerk"], case_id=case.pk, household_id=household.pk)
    case.refresh_from_db()
    assert (case.household_id, case.applicant_id) == (household.pk, head.pk)
    assert AuditEvent.objects.filter(action="cases.household_linked").count() == 1
    with pytest.raises(Conflict, match="已关联家庭档案"):
        online.case_link_household(actor=people["clerk"], case_id=case.pk, household_id=household.pk)


def test_linking_to_a_household_outside_scope_is_refused(people: dict[str, Staff]) -> None:
    foreign_clerk = make_staff("c_foreign_clerk", "640205001000", [Role.TOWNSHIP_CLERK])
    foreign = make_household(foreign_clerk, "640205001001", "周外县", members=1)
    case = submit()
    with pytest.raises(NotFound):
        online.case_link_household(actor=people["clerk"], case_id=case.pk, household_id=foreign.pk)
    with pytest.raises(NotFound):  # and the foreign clerk cannot reach the case at all
        online.case_link_household(actor=foreign_clerk, case_id=case.pk, household_id=foreign.pk)
    case.refresh_from_db()
    assert case.household_id is None


def test_clerk_registers_a_new_household_from_the_application(people: dict[str, Staff]) -> None:
    case = submit()
    with pytest.raises(InvalidInput, match="身份证号与申请人不符"):
        online.case_register_household(
            actor=people["clerk"],
            case_id=case.pk,
            id_number=resident_id("640202", date(1971, 4, 5)),
            address="长胜街道1号",
            area="urban",
        )
    assert not Household.objects.exists()
    online.case_register_household(
        actor=people["clerk"], case_id=case.pk, id_number=ID_NUMBER, address="长胜街道1号", area="urban"
    )
    case.refresh_from_db()
    household = Household.objects.get()
    person = Person.objects.get()
    assert (case.household_id, case.applicant_id, household.head_id) == (household.pk, person.pk, person.pk)
    assert (person.name, household.division_id, household.phone) == ("赵网申", "640202001001", "13900000001")
    assert AuditEvent.objects.filter(action="household.create").exists()


def test_text_messages_reach_the_gateway_simulator_and_failures_are_retried(
    people: dict[str, Staff], sms_gateway: Any, django_capture_on_commit_callbacks: Any
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        case = submit()
    [message] = sms_gateway.messages()
    assert message["to"] == "13900000001"
    assert case.number in message["text"]
    assert SmsDelivery.objects.get().status == SmsStatus.SENT

    sms_gateway.fault("fail")
    with django_capture_on_commit_callbacks(execute=True):
        notify_missing(people["clerk"], case)
    failed = SmsDelivery.objects.get(notification__kind="missing_materials")
    assert (failed.status, failed.last_error) == (SmsStatus.FAILED, "网关返回 503")
    sms_gateway.fault("none")
    SmsDelivery.objects.filter(pk=failed.pk).update(next_attempt_at=failed.next_attempt_at.replace(year=2000))
    assert notifications.sms_sweep() == 1
    failed.refresh_from_db()
    assert failed.status == SmsStatus.SENT
    assert [m["text"] for m in sms_gateway.messages()][1].startswith("【民政通】您的申请")
    # Sent again by mistake (a second worker): the gateway keeps one message per reference.
    SmsDelivery.objects.filter(pk=failed.pk).update(status=SmsStatus.PENDING)
    notifications.sms_deliver(delivery_id=failed.pk)
    assert len(sms_gateway.messages()) == 2
