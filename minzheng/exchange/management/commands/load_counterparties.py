"""Register the departments of a key directory (the department simulator's, for the demo and tests)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minzheng.exchange.services import ExchangeError, counterparties_load


class Command(BaseCommand):
    help = "登记交换对方部门：读取 {url}/.well-known/keys 中的部门、地址和公钥（可重复运行）"

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--url", required=True, help="e.g. http://127.0.0.1:8001 (the department simulator)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            registered = counterparties_load(url=options["url"])
        except ExchangeError as exc:
            raise CommandError(exc.message) from exc
        for counterparty in registered:
            self.stdout.write(
                f"{counterparty.code:18} {counterparty.get_mode_display():12} {counterparty.name}"
            )
        self.stdout.write(self.style.SUCCESS(f"已登记 {len(registered)} 个交换部门"))
