from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from minzheng.core.errors import DomainError
from minzheng.workdays.services import workdays_load


class Command(BaseCommand):
    help = (
        "从 holidays 数据包载入法定节假日和调休上班日（中国），如 --years 2025 2026。"
        "可重复运行；人工更正过的日期不会被覆盖。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--years", type=int, nargs="+", required=True, help="年份，可多个")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = workdays_load(actor=None, years=options["years"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        years = "、".join(map(str, result.years))
        self.stdout.write(
            f"工作日历（{years}年）：新增 {result.created}，更新 {result.updated}，删除 {result.deleted}，"
            f"保留人工更正 {result.kept_manual}"
        )
        if result.provisional_years:
            pending = "、".join(map(str, result.provisional_years))
            self.stdout.write(
                f"注意：{pending}年的放假安排尚未收入数据包（国务院尚未公布或数据包未更新），"
                "已按法定节日推定；公布后请升级 holidays 包并重新载入，或由系统管理员人工更正。"
            )
