from __future__ import annotations

import time
import unicodedata
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from minzheng.catalogue.services import catalogue_load
from minzheng.core.errors import DomainError
from minzheng.demo.cases import build_demo_cases
from minzheng.demo.feedback import build_demo_feedback
from minzheng.demo.monitoring import build_demo_monitoring
from minzheng.demo.oversight import build_demo_oversight
from minzheng.demo.plans import build_demo_plans
from minzheng.demo.reports import build_demo_reports
from minzheng.demo.services import (
    DEFAULT_HOUSEHOLDS,
    DEFAULT_SEED,
    DEMO_PASSWORD,
    build_demo,
    demo_allowed,
    demo_logins,
)
from minzheng.demo.takeup import build_demo_takeup
from minzheng.workdays.services import workdays_load


def _width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _pad(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


class Command(BaseCommand):
    help = (
        "生成演示数据（仅限演示模式）：大武口区、惠农区的区划与民政机构，每个角色一个演示账号，"
        "以及大武口区的演示家庭（默认2000户）。可重复运行：已有的不再重复生成，户数不足时补足。"
    )

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument(
            "--households", type=int, default=DEFAULT_HOUSEHOLDS, help="大武口区家庭总户数（补足到该数）"
        )
        parser.add_argument("--seed", type=int, default=DEFAULT_SEED, help="随机种子（相同种子生成相同数据）")
        parser.add_argument("--print-logins", action="store_true", help="只打印演示账号列表，不生成数据")

    def handle(self, *args: Any, **options: Any) -> None:
        if not demo_allowed():
            raise CommandError(
                "拒绝执行：演示数据只能在演示模式下生成（请设置 MINZHENG_MODE=demo）。"
                "演示账号的密码是公开的，不得出现在正式系统中。"
            )
        if not options["print_logins"]:
            if options["households"] < 0:
                raise CommandError("--households 不能为负数")
            self._build(options["households"], options["seed"], options["verbosity"])
        self._print_logins()

    def _build(self, households: int, seed: int, verbosity: int) -> None:
        started = time.perf_counter()

        def progress(done: int, total: int) -> None:
            if verbosity >= 1 and total > 10_000:
                elapsed = time.perf_counter() - started
                self.stdout.write(f"  家庭：{done:,} / {total:,} 户（已用 {elapsed:.0f} 秒）")
                self.stdout.flush()

        try:
            result = build_demo(households=households, seed=seed, progress=progress)
            # The working-day calendar (this year and next) and the service guides, like a real setup.
            this_year = timezone.localdate().year
            calendar = workdays_load(actor=None, years=[this_year, this_year + 1])
            guides = catalogue_load(actor=None)
            demo_cases = build_demo_cases()
            oversight = build_demo_oversight()
            feedback = build_demo_feedback()
            monitoring = build_demo_monitoring()
            # Last: the scan reads the cases and enrolments made above.
            takeup = build_demo_takeup()
            build_demo_plans()  # the plan's indicators: entries approved, this year's values computed
            build_demo_reports()  # last: the statistics count everything made above
        except DomainError as exc:
            raise CommandError(exc.message) from exc
        self.stdout.write(
            f"工作日历：{this_year}、{this_year + 1}年新增 {calendar.created} 天，更新 {calendar.updated} 天；"
            f"办事指南：新增 {len(guides.created)} 项，更新 {len(guides.updated)} 项；演示申请：新增 {demo_cases} 件；"
            f"基层能力建设：{oversight} 个乡镇（街道）；群众诉求：新增 {feedback} 件；监测预警：{monitoring} 条"
        )
        if takeup is not None:
            self.stdout.write(f"应保尽保排查：{takeup.households:,} 户中应保未保 {takeup.gaps:,} 户·项")
        h = result.households
        self.stdout.write(
            f"区划：新增 {result.divisions_created}，新建机构 {result.offices_created}；"
            f"演示账号：新建 {len(result.accounts_created)} 个"
        )
        if h.households:
            self.stdout.write(
                f"家庭：新增 {h.households:,} 户、{h.persons:,} 人（原有 {h.existing:,} 户，"
                f"现共 {h.total:,} 户），用时 {h.seconds:.1f} 秒"
            )
        else:
            self.stdout.write(f"家庭：已有 {h.existing:,} 户，无需补充")
        if verbosity >= 2:
            timings = "，".join(f"{k} {v:.1f} 秒" for k, v in result.timings.items())
            self.stdout.write(
                f"用时：{timings}（其中重建索引与外键 {h.index_seconds:.1f} 秒，"
                f"提交 {h.commit_seconds:.1f} 秒）"
            )

    def _print_logins(self) -> None:
        logins = demo_logins()
        self.stdout.write("")
        self.stdout.write("演示模式：以下账号密码公开，仅供演示")
        if not logins:
            self.stdout.write("（尚无演示账号，请先运行 manage.py demo_data）")
            return
        headers = ("用户名", "姓名", "角色", "所在机构")
        rows = [(r.username, r.full_name, r.role_label, r.office_name) for r in logins]
        widths = [max(_width(row[i]) for row in [headers, *rows]) for i in range(len(headers))]
        for row in [headers, *rows]:
            self.stdout.write("  ".join(_pad(cell, w) for cell, w in zip(row, widths, strict=True)).rstrip())
        self.stdout.write(f"密码（所有演示账号相同）：{DEMO_PASSWORD}")
