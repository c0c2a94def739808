from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from minzheng.core.audit import verify_chain


class Command(BaseCommand):
    help = "校验审计记录哈希链，报告第一条被修改、插入或删除的记录。"

    def handle(self, *args: Any, **options: Any) -> None:
        report = verify_chain()
        if report.problem is None:
            self.stdout.write(f"审计链完整：共校验 {report.checked} 条记录。")
            return
        p = report.problem
        raise CommandError(
            f"审计链异常：第 {p.seq} 号记录 [{p.kind}] {p.detail}（已校验 {report.checked} 条）"
        )
