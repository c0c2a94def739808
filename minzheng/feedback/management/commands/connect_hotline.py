from __future__ import annotations

from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from minzheng.core.errors import DomainError
from minzheng.feedback.services import hotline_connect


class Command(BaseCommand):
    help = (
        "接入12345热线平台：读取平台的密钥目录（{url}/.well-known/keys）并登记；工单由后台任务定时拉取，"
        "也可在“12345工单”页面手动拉取。可重复运行。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--url", required=True, help="平台地址，例如 http://127.0.0.1:8002")
        parser.add_argument("--division", default="640202000000", help="平台工单所属的县级区划代码（12位）")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            platform = hotline_connect(
                actor=None, url=options["url"], default_division_code=options["division"]
            )
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(f"已接入：{platform.name}（{platform.base_url}）")
