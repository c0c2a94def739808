"""Test helpers for payments: a payroll window wide enough for tests that run many months."""

from __future__ import annotations

from datetime import date

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
