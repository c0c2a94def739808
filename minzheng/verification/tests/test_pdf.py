"""The report as a PDF: drawn from the sealed content (the same content gives the same file), served
on the page and through the API to those who may see the case, 404 to another county."""

from __future__ import annotations

from datetime import date

import pytest
from django.test import Client
from django.urls import reverse

from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import make_staff
from minzheng.verification.models import Report, RequestStatus, VerificationRequest
from minzheng.verification.pdf import report_pdf
from minzheng.verification.tests.test_verification import dibao_case, staff

pytestmark = pytest.mark.django_db(transaction=True)
__all__ = ["staff"]


def issued(staff: dict[str, Staff]) -> Report:
    case, household = dibao_case(staff)
    request = VerificationRequest.objects.create(
        case=case,
        household=household,
        county="640202",
        transaction_id="pdf-txn",
        as_of=date(2026, 12, 1),
        status=RequestStatus.REPORTED,
        requested_by=staff["county"],
    )
    content = {
        "case": case.number,
        "as_of": "2026-12-01",
        "departments": [{"code": "tax", "name": "税务局", "status_label": "已反馈", "note": ""}],
        "findings": [
            {
                "person": "核对甲",
                "item_label": "工资性收入（月均）",
                "description": "工资薪金<所得>",
                "department": "税务局",
                "amount": "3000.00",
                "unit": "",
                "period": ["2026-11-01", "2026-11-30"],
                "declared": "0.00",
                "discrepancy": True,
                "disposition_label": "采信核对结果",
                "note": "属实",
            }
        ],
    }
    return Report.objects.create(
        request=request,
        number="HD6402022026000001",
        content=content,
        sha256="a" * 64,
        issued_by=staff["county"],
    )


def test_the_pdf_is_the_sealed_content_and_nothing_else(staff: dict[str, Staff]) -> None:
    report = issued(staff)
    first = report_pdf(report, applicant="核对甲", authority="大武口区")
    assert first.startswith(b"%PDF-")
    assert first == report_pdf(report, applicant="核对甲", authority="大武口区")  # reproducible
    report.content["findings"][0]["amount"] = "3000.01"
    assert report_pdf(report, applicant="核对甲", authority="大武口区") != first


def test_the_pdf_on_the_page_and_through_the_api(staff: dict[str, Staff]) -> None:
    report = issued(staff)
    client = Client()
    client.force_login(staff["reviewer"])
    page = client.get(reverse("web:verification_report_pdf", args=[report.pk]))
    assert page.status_code == 200
    assert page["Content-Type"] == "application/pdf"
    assert "HD6402022026000001.pdf" in page["Content-Disposition"]
    assert page.content.startswith(b"%PDF-")

    _, raw = api_token_issue(actor=staff["county"], name="报告下载")
    api = Client(enforce_csrf_checks=True)
    got = api.get(f"/api/v1/verification/reports/{report.pk}/pdf", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert got.status_code == 200
    assert got.content == page.content

    outsider = make_staff("pdf_far", "640205000000", [Role.COUNTY_REVIEWER])
    _, far = api_token_issue(actor=outsider, name="x")
    assert (
        api.get(
            f"/api/v1/verification/reports/{report.pk}/pdf", HTTP_AUTHORIZATION=f"Bearer {far}"
        ).status_code
        == 404
    )
    other = Client()
    other.force_login(outsider)
    assert other.get(reverse("web:verification_report_pdf", args=[report.pk])).status_code == 404
