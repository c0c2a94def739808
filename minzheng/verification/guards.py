"""The case workflow's verification step (核对) completes only with an issued report
(cases.workflows: the guard "verification_report_issued", registered in apps.py).

A county that has not connected any department yet (no active counterparty in the exchange) still
records the verification result by hand, as before: the guard then holds. Once one department is
connected, every case needs its report — the step cannot be passed by typing a result."""

from __future__ import annotations

from minzheng.cases.models import Case
from minzheng.exchange.models import Counterparty
from minzheng.verification.models import Report, RequestStatus


def report_issued(case: Case) -> str | None:
    if not Counterparty.objects.filter(active=True).exists():
        return None
    if Report.objects.filter(request__case=case, request__status=RequestStatus.REPORTED).exists():
        return None
    return "须先完成家庭经济状况核对并出具核对报告（成员授权、部门反馈、处理不符项后出具）"
