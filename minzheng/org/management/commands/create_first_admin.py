from __future__ import annotations

import getpass
import sys
from argparse import ArgumentParser
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from minzheng.core.errors import DomainError
from minzheng.org.models import Office
from minzheng.org.roles import Role
from minzheng.org.services import staff_create


class Command(BaseCommand):
    help = "建立第一个系统管理员账号（绑定到某一级民政机构）。三员分立：安全管理员、安全审计员须另建账号。"

    def add_arguments(self, parser: ArgumentParser) -> None:
        parser.add_argument("--username", required=True)
        parser.add_argument("--full-name", default="系统管理员")
        parser.add_argument(
            "--office-division", required=True, help="机构所在区划的12位代码，如 640202000000"
        )
        parser.add_argument(
            "--role",
            default=Role.SYSTEM_ADMIN,
            choices=[Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN, Role.COUNTY_ADMIN],
        )
        parser.add_argument("--password-stdin", action="store_true", help="从标准输入读取密码（自动化部署）")

    def handle(self, *args: Any, **options: Any) -> None:
        office = Office.objects.filter(division_id=options["office_division"]).first()
        if office is None:
            raise CommandError("找不到该区划的民政机构，请先运行 load_divisions")
        if options["password_stdin"]:
            password = sys.stdin.readline().rstrip("\n")
        else:
            password = getpass.getpass("密码：")
            if password != getpass.getpass("再次输入密码："):
                raise CommandError("两次输入的密码不一致")
        try:
            staff = staff_create(
                actor=None,
                username=options["username"],
                full_name=options["full_name"],
                office=office,
                password=password,
                roles=[options["role"]],
                must_change_password=False,
                reason="初始化第一个管理员",
            )
        except DomainError as exc:
            details = "; ".join(f"{k}: {'，'.join(v)}" for k, v in exc.field_errors.items())
            raise CommandError(f"{exc.message} {details}") from exc
        self.stdout.write(f"已建立 {staff.username}（{Role(options['role']).label}，{office.name}）")
