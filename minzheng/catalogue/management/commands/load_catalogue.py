from __future__ import annotations

from argparse import ArgumentParser
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from minzheng.catalogue.guides import ITEMS_DIR
from minzheng.catalogue.services import catalogue_load
from minzheng.core.errors import DomainError


class Command(BaseCommand):
    help = (
        "载入服务事项目录和办事指南（minzheng/catalogue/items/*.yaml）。可重复运行：已有事项按文件更新，"
        "文件已删除的事项停用而不删除。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--source", type=Path, default=ITEMS_DIR, help="事项 YAML 文件所在目录")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = catalogue_load(actor=None, directory=options["source"])
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"事项目录：新增 {len(result.created)}，更新 {len(result.updated)}，"
            f"未变 {len(result.unchanged)}，停用 {len(result.deactivated)}"
        )
        for label, codes in (
            ("新增", result.created),
            ("更新", result.updated),
            ("停用", result.deactivated),
        ):
            if codes:
                self.stdout.write(f"  {label}：{'、'.join(codes)}")
