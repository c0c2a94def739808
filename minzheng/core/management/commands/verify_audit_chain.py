from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from minzheng.core.audit import verify_chain
from minzheng.core.audit_checkpoint import checkpoint_parse, checkpoint_verify
from minzheng.core.audit_storage import audit_protection
from minzheng.core.errors import InvalidInput


class Command(BaseCommand):
    help = (
        "校验审计记录哈希链，报告第一条被修改、插入或删除的记录；"
        "给出 --checkpoint 时再与保存在数据库之外的检查点比对（发现重算的链和被删除的末尾）。"
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--checkpoint",
            action="append",
            default=[],
            metavar="FILE",
            help="由 audit_checkpoint 导出的检查点文件（可重复给出）",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        protection = audit_protection()
        for risk in protection.risks:
            self.stderr.write(f"注意：{risk}")
        failures: list[str] = []
        for name in options["checkpoint"]:
            try:
                checkpoint = checkpoint_parse(Path(name).read_text(encoding="utf-8"))
            except (OSError, UnicodeDecodeError, InvalidInput) as exc:
                raise CommandError(f"无法读取检查点 {name}：{exc}") from exc
            report = checkpoint_verify(checkpoint)
            where = f"检查点 {name}（{checkpoint.day}，第 {checkpoint.last_seq} 号）"
            if report.ok:
                self.stdout.write(f"{where}：一致。")
            for finding in report.findings:
                failures.append(f"{where}：[{finding.kind}] {finding.detail}")
        if not options["checkpoint"]:
            report_chain = verify_chain()
            if report_chain.problem is None:
                self.stdout.write(f"审计链完整：共校验 {report_chain.checked} 条记录。")
            else:
                p = report_chain.problem
                failures.append(
                    f"审计链异常：第 {p.seq} 号记录 [{p.kind}] {p.detail}（已校验 {report_chain.checked} 条）"
                )
        if failures:
            raise CommandError("\n".join(dict.fromkeys(failures)))
