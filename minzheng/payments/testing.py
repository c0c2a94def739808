"""Test helpers for payments: a payroll window wide enough for tests that run many months, a\nstandard raised as a county raises it."""

from __future__ import annotations

from datetime import date

from minzheng.org.models import Staff
from minzheng.rules import services as rules_services
from minzheng.rules.models import ParameterValue, ValueStatus


def wide_payroll_window(*, region: str = "640202", months: int = 120) -> None:
    """Let runs be requested for any month within `months` of today in `region` (the dated
    parameters payroll.months_before / months_after, approved as a county would)."""
    for name in ("payroll.months_before", "payroll.months_after"):
        ParameterValue.objects.create(
            name=name,
            region=region,
            area="all",
            effective_from=date(2000, 1, 1),
            value=str(months),
            reference="测试：放宽发放月份范围",
            source="test",
            status=ValueStatus.APPROVED,
        )


def raise_dibao_standard(
    *, proposer: Staff, approver: Staff, effective_from: date, value: str = "700"
) -> None:
    """The urban dibao standard of 640202 raised from `effective_from`, proposed and approved as a
    county does (石大政发〔2026〕20号 in the tests)."""
    proposal = rules_services.parameter_propose(
        actor=proposer,
        name="dibao.standard",
        region="640202",
        area="urban",
        effective_from=effective_from,
        value=value,
        reference="石大政发〔2026〕20号",
        reason="提标",
    )
    rules_services.parameter_approve(actor=approver, value_id=proposal.pk)
