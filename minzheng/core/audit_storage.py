"""What the database lets the application's own connection do to the audit tables.

Migration core 0003 (or docs/deploy/audit_owner.sql, run by the DBA) gives the audit tables to
`<app role>_audit_owner`; this reads back, from the catalogue, whether that holds for the running
connection and which ways around it remain, for `verify_audit_chain` and the audit page.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import connection
from django.utils.translation import gettext as _

_PROBE = """
SELECT t.tableowner, current_user, pg_has_role(t.tableowner, 'USAGE'),
       has_table_privilege('core_auditevent', 'UPDATE'),
       has_table_privilege('core_auditevent', 'DELETE'),
       has_table_privilege('core_auditevent', 'TRUNCATE'),
       has_table_privilege('core_auditevent', 'TRIGGER'),
       r.rolsuper, r.rolcreaterole, current_setting('server_version_num')::int,
       pg_has_role(n.nspowner, 'USAGE')
FROM pg_tables t
JOIN pg_namespace n ON n.nspname = t.schemaname
JOIN pg_roles r ON r.rolname = current_user
WHERE t.schemaname = current_schema() AND t.tablename = 'core_auditevent'
"""


@dataclass(frozen=True)
class AuditProtection:
    database: str
    owner: str
    app_role: str
    # The database itself refuses the application's UPDATE, DELETE, TRUNCATE and trigger changes.
    enforced: bool
    # Ways around it still open to the application's role, in words for the audit administrator.
    risks: tuple[str, ...]


def audit_protection() -> AuditProtection:
    if connection.vendor != "postgresql":
        return AuditProtection(
            connection.vendor,
            "",
            "",
            False,
            (
                _(
                    "嵌入式数据库（SQLite）不区分账号：审计记录仅靠哈希链和检查点发现改动，生产环境请用PostgreSQL"
                ),
            ),
        )
    with connection.cursor() as cursor:
        cursor.execute(_PROBE)
        row = cursor.fetchone()
    if row is None:
        return AuditProtection("postgresql", "", "", False, (_("未找到审计表 core_auditevent"),))
    owner, app, acts_as_owner, update, delete, truncate, trigger, superuser, createrole, version, schema = row
    risks: list[str] = []
    if superuser:
        risks.append(_("应用账号 %(app)s 是超级用户，可做任何修改") % {"app": app})
    if owner == app:
        risks.append(
            _(
                "审计表由应用账号 %(app)s 拥有，可停用只追加触发器后改写记录（请执行 docs/deploy/audit_owner.sql）"
            )
            % {"app": app}
        )
    elif acts_as_owner:
        risks.append(_("应用账号 %(app)s 是审计表所有者角色 %(owner)s 的成员") % {"app": app, "owner": owner})
    granted = [
        name
        for name, held in (
            ("UPDATE", update),
            ("DELETE", delete),
            ("TRUNCATE", truncate),
            ("TRIGGER", trigger),
        )
        if held
    ]
    if granted and owner != app and not acts_as_owner:
        risks.append(_("应用账号对审计表有 %(grants)s 权限") % {"grants": "、".join(granted)})
    if createrole and not superuser and version < 160000:
        risks.append(
            _(
                "应用账号 %(app)s 有 CREATEROLE 属性，可把自己重新加入 %(owner)s（首次迁移后请 ALTER ROLE %(app)s NOCREATEROLE）"
            )
            % {"app": app, "owner": owner}
        )
    if schema and owner != app:
        risks.append(_("应用账号拥有审计表所在的模式（schema），可删除整张审计表；每日检查点可发现"))
    enforced = not (superuser or acts_as_owner or update or delete or truncate or trigger)
    return AuditProtection("postgresql", str(owner), str(app), enforced, tuple(risks))
