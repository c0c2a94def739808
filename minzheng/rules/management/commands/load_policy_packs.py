from typing import Any

from django.core.management.base import BaseCommand

from minzheng.rules.services import policy_packs_load


class Command(BaseCommand):
    help = "把 minzheng/rules/packs/*.yaml 中的标准参数载入数据库（已有的生效值保持不变）"

    def handle(self, *args: Any, **options: Any) -> None:
        report = policy_packs_load()
        self.stdout.write(f"新增 {report.added} 条，未变 {report.unchanged} 条")
        for key in report.kept_database:
            self.stdout.write(self.style.WARNING(f"数据库中的生效值与参数包不同，保留数据库值：{key}"))
