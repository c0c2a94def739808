from __future__ import annotations

import time
from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from minzheng.core.errors import DomainError
from minzheng.org.models import Staff
from minzheng.payments.models import PayrollRun
from minzheng.payments.services import payroll_compute, payroll_run_request


class Command(BaseCommand):
    help = (
        "生成（或继续生成）一个县（区）某月的发放名册，在本进程中同步计算并显示进度。"
        "可重复运行：已发放的不重复发放；计算在一个事务中完成，中断则不留下任何发放记录，再次运行即可。"
        "批次尚未申请时须用 --user 指定申请人（须有生成发放名册权限，审批须由他人进行）。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--county", required=True, help="县（区）代码，6位，如 640202")
        parser.add_argument("--month", required=True, help="发放月份，YYYY-MM，如 2026-12")
        parser.add_argument("--user", help="申请人的用户名（批次尚未申请时必填）")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            year, month = (int(part) for part in options["month"].split("-"))
            first = date(year, month, 1)
        except ValueError as exc:
            raise CommandError("--month 应为 YYYY-MM，如 2026-12") from exc
        county = options["county"]
        run = PayrollRun.objects.filter(county=county, month=first).first()
        try:
            if options["user"]:
                actor = Staff.objects.filter(username=options["user"], is_active=True).first()
                if actor is None:
                    raise CommandError(f"没有有效的用户 {options['user']}")
                run = payroll_run_request(actor=actor, county=county, month=first)
            elif run is None:
                raise CommandError("该县（区）该月尚无发放批次：请用 --user 指定申请人")
            started = time.perf_counter()
            self.stdout.write(f"{county} {first:%Y年%m月} 发放批次 #{run.pk}：开始计算")
            run = payroll_compute(run_id=run.pk)
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"完成：{run.get_status_display()}，{run.line_count:,} 笔，合计 {run.total_amount:,} 元，"
            f"用时 {time.perf_counter() - started:.1f} 秒"
        )
