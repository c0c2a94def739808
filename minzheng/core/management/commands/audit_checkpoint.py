from __future__ import annotations

from datetime import date
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minzheng.core.audit_checkpoint import checkpoint_issue
from minzheng.core.errors import InvalidInput


class Command(BaseCommand):
    help = (
        "输出审计链的签名检查点（日期、最后记录号、其哈希、记录数、签名），"
        "由安全审计员每日保存在数据库之外（打印或存到另一台机器）。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--date", type=date.fromisoformat, default=None, help="截至该日（YYYY-MM-DD）结束；默认当前"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            checkpoint = checkpoint_issue(day=options["date"])
        except InvalidInput as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(checkpoint.text(), ending="")
