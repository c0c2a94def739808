from __future__ import annotations

import time
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from minzheng.rules.summary import refresh


class Command(BaseCommand):
    help = (
        "把登记信息的变化计入成员情况汇总（rules_memberfacts，保存在数据库中），使每月发放时只需处理最近的变化。"
        "可重复运行；宜每隔几分钟运行一次（或用 --every 常驻）。发放计算本身不依赖它：每次计算前都会先计入尚未计入的变化。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--every", type=int, default=0, help="常驻运行，每隔多少秒更新一次（默认0：更新一次即退出）"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        every = options["every"]
        if every < 0:
            raise CommandError("--every 不能为负数")
        while True:
            started = time.monotonic()
            persons = refresh()
            self.stdout.write(
                f"成员情况汇总已更新：重新计算 {persons} 人，用时 {time.monotonic() - started:.1f} 秒"
            )
            if not every:
                return
            time.sleep(max(0.0, every - (time.monotonic() - started)))
