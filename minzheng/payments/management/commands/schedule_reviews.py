from __future__ import annotations

from argparse import ArgumentParser
from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from minzheng.payments.services import reviews_schedule


class Command(BaseCommand):
    help = (
        "生成到期的定期复核任务（低保家庭每年一次，收入不稳定且有劳动能力成员的每半年一次），"
        "交给各乡镇（街道）。可重复运行：已有未完成复核任务的不再重复生成。宜每日定时运行。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--on", help="按该日期计算（YYYY-MM-DD，默认今天）")
        parser.add_argument("--lead-days", type=int, default=30, help="提前多少天生成任务（默认30）")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            on = date.fromisoformat(options["on"]) if options["on"] else timezone.localdate()
        except ValueError as exc:
            raise CommandError("--on 应为 YYYY-MM-DD") from exc
        if options["lead_days"] < 0:
            raise CommandError("--lead-days 不能为负数")
        created = reviews_schedule(on=on, lead_days=options["lead_days"])
        self.stdout.write(f"{on:%Y-%m-%d}：新生成复核任务 {created} 个")
