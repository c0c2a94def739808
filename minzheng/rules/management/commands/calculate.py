import json
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minzheng.core.errors import DomainError
from minzheng.rules.engine import calculate
from minzheng.rules.facts import parse_facts, parse_overrides
from minzheng.rules.policy import shipped_policy
from minzheng.rules.programmes import PROGRAMMES
from minzheng.rules.selectors import policy_table


class Command(BaseCommand):
    help = (
        "按救助项目测算一个家庭（JSON 文件，格式同 POST /api/v1/calculations/{programme}），输出带说明的结果"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("programme", choices=sorted(PROGRAMMES))
        parser.add_argument("file", help="家庭情况 JSON 文件；- 表示标准输入")
        parser.add_argument(
            "--set", action="append", default=[], metavar="参数=值", help="假设参数（测算用），可重复"
        )
        parser.add_argument("--packs", action="store_true", help="使用仓库中的参数包而不是数据库中的生效值")

    def handle(self, *args: Any, **options: Any) -> None:
        path = options["file"]
        try:
            text = sys.stdin.read() if path == "-" else Path(path).read_text(encoding="utf-8")
            data = json.loads(text)
        except (OSError, json.JSONDecodeError) as exc:
            raise CommandError(f"无法读取 JSON：{exc}") from exc
        overrides = dict(data.pop("overrides", None) or {}) if isinstance(data, dict) else {}
        for item in options["set"]:
            name, sep, value = item.partition("=")
            if not sep:
                raise CommandError(f"--set 需要“参数=值”：{item}")
            overrides[name.strip()] = value.strip()
        try:
            facts = parse_facts(data)
            table = shipped_policy() if options["packs"] else policy_table()
            result = calculate(options["programme"], facts, table, overrides=parse_overrides(overrides))
        except DomainError as exc:
            self.stdout.write(
                json.dumps(
                    {"code": exc.code, "message": exc.message, "field_errors": exc.field_errors},
                    ensure_ascii=False,
                    indent=2,
                )
            )
            raise CommandError(exc.message) from exc
        self.stdout.write(json.dumps(result.as_dict(), ensure_ascii=False, indent=2))
