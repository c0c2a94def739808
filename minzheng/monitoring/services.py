"""Monitoring and active discovery: the writes.

- `feed_import`: a department's file (Excel or CSV: 身份证号、姓名、日期、金额、说明) checked row by row;
  any bad row and nothing is imported (the report names every row). The rows are written set-based,
  matched to persons by the keyed digest in one UPDATE, and every warning rule in force for the
  feed's event type is evaluated over them in one INSERT ... SELECT each (`_evaluate`).
- The closed loop of a warning: `warning_accept` (the township signs for it), `warning_visit` (two
  workers at least, findings, photos), `warning_verify` (true or false), `warning_dispose` (a pre-
  filled application with channel 主动发现, temporary assistance, a referral, a re-check of the
  household's benefits — a review task, never a stop — or no action with a reason).
- `emergency_report`: a village assistant's report of sudden hardship: a warning of the highest
  severity due the same day.
- `warnings_escalate` (the worker's sweep): warnings past their limit go to the county.
- `rule_version_create`: a rule's new dated version for a region (thresholds tuned as data).
- `cohort_record`: a person monitored in an imported cohort (防返贫监测, others).
"""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

import polars as pl
from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from minzheng.cases import services as case_services
from minzheng.cases.models import Case, Channel
from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from minzheng.core.frames import drop_tables, postgres, sql_params, temp_table, write_frame
from minzheng.core.i18n import as_stored
from minzheng.core.identifiers import InvalidIdentifier, parse_resident_id
from minzheng.core.permissions import Perm
from minzheng.core.spreadsheets import neutralise
from minzheng.core.uploads import Upload, check_photo
from minzheng.monitoring.models import (
    Cohort,
    CohortImport,
    CohortMembership,
    Direction,
    EventType,
    Feed,
    FeedFeedback,
    Outcome,
    Severity,
    Warning,
    WarningPhoto,
    WarningRule,
    WarningState,
    WarningVisit,
)
from minzheng.org.models import Staff
from minzheng.org.scope import jurisdiction_of, require_in_scope
from minzheng.payments.models import Enrolment, EnrolmentStatus, ReviewTask
from minzheng.registry.models import Household, Membership, Person
from minzheng.rules.selectors import policy_table
from minzheng.rules.standing import in_force_sql

DISPOSE_DAYS = "monitoring.dispose_days"
COLUMNS = {"身份证号": "id_number", "姓名": "name", "日期": "event_on", "金额": "amount", "说明": "detail"}
REQUIRED = ("身份证号", "日期")
MAX_ROWS = 2_000_000
SHOWN_ERRORS = 50
EMERGENCIES = {
    "disaster": "自然灾害、火灾等受灾",
    "accident": "意外事故",
    "breadwinner_death": "主要劳动力死亡",
    "illness": "突发重大疾病",
    "other": "其他急难情形",
}
OPEN_STATES = (
    WarningState.NEW,
    WarningState.ACCEPTED,
    WarningState.VISITED,
    WarningState.VERIFIED_TRUE,
    WarningState.VERIFIED_FALSE,
)


def _require(actor: Staff, perm: Perm, message: str) -> None:
    if not actor.can(perm):
        raise PermissionDenied(message)


def _audit(actor: Staff | None, action: str, kind: str, pk: int, scope: str, **after: Any) -> None:
    audit_record(
        actor=actor,
        action=f"monitoring.{action}",
        object_type=f"monitoring.{kind}",
        object_id=pk,
        scope_code=scope,
        after=after,
    )


def dispose_days(county: str, day: date) -> int:
    return int(policy_table().lookup(DISPOSE_DAYS, day, county, "urban").value)


# --- Rules -------------------------------------------------------------------------------------------


def rules_in_force(county: str, day: date, event_type: str | None = None) -> list[WarningRule]:
    """Each rule code's version in force for the county on `day`: the county's own latest version from
    a date not after `day`, else the national default's; inactive versions switch a rule off."""
    versions = WarningRule.objects.filter(Q(region="") | Q(region=county), valid_from__lte=day)
    if event_type is not None:
        versions = versions.filter(event_type=event_type)
    chosen: dict[str, WarningRule] = {}
    for rule in versions.order_by("code", "valid_from"):
        current = chosen.get(rule.code)
        if current is None or (rule.region, rule.valid_from) >= (current.region, current.valid_from):
            chosen[rule.code] = rule
    return [r for r in chosen.values() if r.active]


@transaction.atomic
def rule_version_create(
    *,
    actor: Staff,
    code: str,
    region: str,
    valid_from: date,
    name: str,
    event_type: str,
    threshold: Decimal | None,
    cohorts: list[str],
    outside_cohorts: bool,
    direction: str,
    severity: int,
    dedupe_days: int,
    active: bool,
    reference: str,
) -> WarningRule:
    """A rule's new version for a county from a date (a county tunes the national default)."""
    _require(actor, Perm.MONITORING_MANAGE, "您没有管理预警规则的权限")
    errors: dict[str, list[str]] = {}
    if not (region.isdigit() and len(region) == 6):
        errors["region"] = ["应为6位县（区）代码"]
    else:
        require_in_scope(actor, region)
    if not code.strip():
        errors["code"] = ["请填写规则代码"]
    if not name.strip():
        errors["name"] = ["请填写规则名称"]
    if event_type not in EventType.values:
        errors["event_type"] = ["未知的数据类别"]
    if threshold is not None and threshold < 0:
        errors["threshold"] = ["阈值不能为负数"]
    if not set(cohorts) <= set(Cohort.values):
        errors["cohorts"] = ["含有未知的监测类别"]
    if not cohorts and not outside_cohorts:
        errors["cohorts"] = ["请至少选择一个监测类别，或对监测对象以外的人员也预警"]
    if direction not in Direction.values:
        errors["direction"] = ["未知的方向"]
    if severity not in Severity.values:
        errors["severity"] = ["严重程度应为1至3"]
    if not 0 <= dedupe_days <= 366:
        errors["dedupe_days"] = ["去重期应在0至366天之间"]
    if errors:
        raise InvalidInput("预警规则填写有误", field_errors=errors)
    if WarningRule.objects.filter(code=code, region=region, valid_from=valid_from).exists():
        raise Conflict("该规则在该日期已有版本")
    rule = WarningRule.objects.create(
        code=code.strip(),
        region=region,
        valid_from=valid_from,
        name=name.strip()[:100],
        event_type=event_type,
        threshold=threshold,
        cohorts=sorted(set(cohorts)),
        outside_cohorts=outside_cohorts,
        direction=direction,
        severity=severity,
        dedupe_days=dedupe_days,
        active=active,
        reference=reference.strip()[:200],
        created_by=actor,
    )
    _audit(
        actor, "rule_version_created", "WarningRule", rule.pk, region, code=rule.code, valid_from=valid_from
    )
    return rule


# --- Feeds -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RowError:
    row: int
    message: str


def _read_table(file_name: str, content: bytes) -> list[list[str]]:
    """The file's rows as text cells (Excel .xlsx or UTF-8 CSV)."""
    if file_name.lower().endswith(".xlsx"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(content), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            raise InvalidInput(
                "无法读取 Excel 文件", field_errors={"file": ["文件已损坏或不是 .xlsx"]}
            ) from exc
        sheet = book.worksheets[0]
        rows = []
        for values in sheet.iter_rows(values_only=True):
            rows.append(
                ["" if v is None else (v.isoformat()[:10] if isinstance(v, date) else str(v)) for v in values]
            )
        book.close()
        return rows
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInput("CSV 文件应为 UTF-8 编码", field_errors={"file": ["编码不是 UTF-8"]}) from exc
    return list(csv.reader(io.StringIO(text)))


def _header(
    table: list[list[str]], columns: dict[str, str], required: tuple[str, ...], refusal: str
) -> list[str]:
    """The file's columns as field names, or every problem with its header (unknown, missing,
    repeated columns; too many rows)."""
    if not table:
        raise InvalidInput("文件是空的", field_errors={"file": ["没有表头"]})
    header = [h.strip() for h in table[0]]
    while header and not header[-1]:
        header.pop()
    unknown = [h for h in header if h not in columns]
    missing = [h for h in required if h not in header]
    if unknown or missing or len(set(header)) != len(header):
        problems = [f"未知的列：{'、'.join(unknown)}"] if unknown else []
        problems += [f"缺少必填列：{'、'.join(missing)}"] if missing else []
        problems += ["列名重复"] if len(set(header)) != len(header) else []
        raise InvalidInput(refusal, field_errors={"file": problems})
    if len(table) - 1 > MAX_ROWS:
        raise InvalidInput("文件行数过多", field_errors={"file": [f"每个文件不超过{MAX_ROWS:,}行"]})
    return [columns[h] for h in header]


def _check_rows(table: list[list[str]]) -> tuple[list[dict[str, Any]], list[RowError]]:
    names = _header(table, COLUMNS, REQUIRED, "表头不符合模板（身份证号、姓名、日期、金额、说明）")
    good: list[dict[str, Any]] = []
    errors: list[RowError] = []
    for number, cells in enumerate(table[1:], start=2):
        values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(names)}
        if not any(values.values()):
            continue
        try:
            rid = parse_resident_id(values["id_number"])
        except InvalidIdentifier as exc:
            errors.append(RowError(number, f"身份证号无效：{exc.message}"))
            continue
        try:
            event_on = date.fromisoformat(values["event_on"][:10])
        except ValueError:
            errors.append(RowError(number, "日期应为 YYYY-MM-DD"))
            continue
        amount: Decimal | None = None
        if values.get("amount"):
            try:
                amount = Decimal(values["amount"]).quantize(Decimal("0.01"))
            except InvalidOperation:
                errors.append(RowError(number, "金额应为数字"))
                continue
            if amount < 0 or amount >= Decimal("1e12"):
                errors.append(RowError(number, "金额应在0至一万亿元之间"))
                continue
        good.append(
            {
                "row": number,
                "id_digest": protect.lookup_digest(rid.number),
                "id_masked": f"{rid.number[:6]}********{rid.number[-4:]}",
                "event_on": event_on,
                "amount": amount,
                "detail": values.get("detail", "")[:200],
            }
        )
    if not good and not errors:
        raise InvalidInput("文件没有数据行", field_errors={"file": ["没有数据行"]})
    return good, errors


# One join, not a lookup per row (UPDATE ... FROM: PostgreSQL, and SQLite since 3.33).
MATCH_SQL = """UPDATE monitoring_feedrecord SET person_id = p.id
    FROM registry_person p
    WHERE monitoring_feedrecord.feed_id = %(feed)s AND p.id_digest = monitoring_feedrecord.id_digest"""


@transaction.atomic
def feed_import(
    *,
    actor: Staff,
    county: str,
    department: str,
    event_type: str,
    period: date,
    file_name: str,
    content: bytes,
) -> Feed:
    """Import a department's file for the county whole or not at all; evaluate the rules over it."""
    _require(actor, Perm.MONITORING_MANAGE, "您没有导入部门数据的权限")
    if not (county.isdigit() and len(county) == 6):
        raise InvalidInput("县（区）代码应为6位数字", field_errors={"county": ["应为6位数字"]})
    require_in_scope(actor, county)
    if event_type not in EventType.values:
        raise InvalidInput("未知的数据类别", field_errors={"event_type": ["未知"]})
    if not department.strip():
        raise InvalidInput("请填写来源部门", field_errors={"department": ["必填"]})
    sha = hashlib.sha256(content).hexdigest()
    if Feed.objects.filter(county=county, sha256=sha).exists():
        raise Conflict("该文件已导入过")
    rows, errors = _check_rows(_read_table(file_name, content))
    if errors:
        _refuse_rows(errors)
    feed = Feed.objects.create(
        county=county,
        department=department.strip()[:60],
        event_type=event_type,
        period=period.replace(day=1),
        file_name=file_name[-200:],
        sha256=sha,
        rows=len(rows),
        imported_by=actor,
    )
    frame = pl.DataFrame(
        rows,
        schema={
            "row": pl.Int64(),
            "id_digest": pl.String(),
            "id_masked": pl.String(),
            "event_on": pl.Date(),
            "amount": pl.Decimal(14, 2),
            "detail": pl.String(),
        },
    ).with_columns(pl.lit(feed.pk).alias("feed_id"))
    write_frame("monitoring_feedrecord", frame)
    with connection.cursor() as cursor:
        cursor.execute(MATCH_SQL, {"feed": feed.pk})
    feed.matched = feed.records.filter(person__isnull=False).count()
    feed.warnings = sum(
        _evaluate(rule, feed) for rule in rules_in_force(county, timezone.localdate(), event_type)
    )
    feed.save(update_fields=["matched", "warnings"])
    _audit(
        actor,
        "feed_imported",
        "Feed",
        feed.pk,
        county,
        department=feed.department,
        event_type=event_type,
        rows=feed.rows,
        matched=feed.matched,
        warnings=feed.warnings,
        sha256=sha,
    )
    return feed


def cohorts_sql() -> str:
    """Each placed person's cohorts on %(day)s: from the assistance statuses of their household, the
    household's rigid expenses in force, and the imported memberships."""
    statuses = in_force_sql(
        connection.vendor,
        households="IN (SELECT household_id FROM placed)",
        persons="IN (SELECT person_id FROM placed)",
    )
    return f"""
    SELECT p.person_id, s.status AS cohort FROM placed p JOIN ({statuses}) s
        ON s.household_id = p.household_id AND s.status IN ('dibao', 'extreme_poverty', 'near_poor')
    UNION ALL
    SELECT p.person_id, 'rigid_expense' FROM placed p JOIN registry_rigidexpense x
        ON x.household_id = p.household_id
        AND x.valid_from <= %(day)s AND (x.valid_until IS NULL OR x.valid_until >= %(day)s)
    UNION ALL
    SELECT c.person_id, c.cohort FROM monitoring_cohortmembership c
    WHERE c.person_id IN (SELECT person_id FROM placed)
      AND c.since <= %(day)s AND (c.until IS NULL OR c.until >= %(day)s)"""  # noqa: S608 (constant SQL)


def _evaluate(rule: WarningRule, feed: Feed) -> int:
    """The rule over the feed's matched records, in one statement: per person the records summed (at
    or above the threshold), the person placed in their household of the county, their cohorts, the
    rule's cohorts (or none, for a new discovery), no warning of the same rule within the window."""
    today = timezone.localdate()
    vendor = connection.vendor
    agg = (
        "string_agg(DISTINCT cm.cohort, ',')"
        if vendor == "postgresql"
        else "group_concat(DISTINCT cm.cohort)"
    )
    cohorts = ", ".join(f"'{c}'" for c in rule.cohorts if c in Cohort.values) or "''"
    due = (
        today
        if rule.severity == Severity.URGENT
        else today + timedelta(days=dispose_days(feed.county, today))
    )
    # The persons the rule's records point at, placed in their household of the county: a temporary
    # table with statistics, so that the planner joins the statuses by hash, not row by row.
    placed = """CREATE TEMPORARY TABLE placed AS
    WITH hits AS (
        SELECT r.person_id, MIN(r.id) AS record_id, COUNT(*) AS records, SUM(r.amount) AS amount,
               MAX(r.detail) AS detail
        FROM monitoring_feedrecord r
        WHERE r.feed_id = %(feed)s AND r.person_id IS NOT NULL
        GROUP BY r.person_id
        HAVING CAST(%(threshold)s AS NUMERIC) IS NULL
            OR COALESCE(SUM(r.amount), 0) >= CAST(%(threshold)s AS NUMERIC))
    SELECT h.person_id, h.record_id, h.records, h.amount, h.detail, m.household_id,
           hh.division_id AS village
    FROM hits h
    JOIN registry_membership m ON m.person_id = h.person_id
         AND m.start_date <= %(day)s AND (m.end_date IS NULL OR m.end_date >= %(day)s)
    JOIN registry_household hh ON hh.id = m.household_id
    WHERE hh.division_id LIKE %(county_like)s"""
    sql = f"""INSERT INTO monitoring_warning (rule_id, emergency, record_id, records, amount, person_id,
            household_id, village_code, township_code, cohorts, discovery, direction, severity, description,
            state, clue_on, due_on, created_at, reported_by_id, accepted_by_id, accepted_at, verified,
            verified_note, outcome, outcome_reason, referred_to, case_id, disposed_by_id, disposed_at,
            escalated_at)
    WITH cohort_members AS ({cohorts_sql()}),
    person_cohorts AS (
        SELECT cm.person_id, {agg} AS cohorts,
               MAX(CASE WHEN cm.cohort IN ({cohorts}) THEN 1 ELSE 0 END) AS in_rule
        FROM cohort_members cm GROUP BY cm.person_id)
    SELECT %(rule)s, '', p.record_id, p.records, p.amount, p.person_id, p.household_id, p.village,
           SUBSTR(p.village, 1, 9) || '000', COALESCE(pc.cohorts, ''), pc.person_id IS NULL, %(direction)s,
           %(severity)s, SUBSTR(COALESCE(p.detail, ''), 1, 300), 'new', %(day)s, %(due)s, %(now)s,
           NULL, NULL, NULL, NULL, '', '', '', '', NULL, NULL, NULL, NULL
    FROM placed p LEFT JOIN person_cohorts pc ON pc.person_id = p.person_id
    WHERE (pc.in_rule = 1 OR (%(outside)s AND pc.person_id IS NULL))
      AND NOT EXISTS (
          SELECT 1 FROM monitoring_warning w
          WHERE w.person_id = p.person_id AND w.created_at >= %(since)s
            AND w.rule_id IN (SELECT id FROM monitoring_warningrule WHERE code = %(code)s))"""  # noqa: S608 (validated cohort codes)
    params = {
        "feed": feed.pk,
        "threshold": rule.threshold,
        "day": today,
        "county_like": f"{feed.county}%",
        "rule": rule.pk,
        "direction": rule.direction,
        "severity": rule.severity,
        "due": due,
        "now": timezone.now(),
        "outside": rule.outside_cohorts,
        "since": timezone.now() - timedelta(days=rule.dedupe_days),
        "code": rule.code,
    }
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS placed")
        cursor.execute(placed, sql_params(params))
        cursor.execute("ANALYZE placed")
        cursor.execute(sql, sql_params(params))
        made = int(cursor.rowcount)
        cursor.execute("DROP TABLE placed")
    return made


# --- Cohorts -------------------------------------------------------------------------------------------


@transaction.atomic
def cohort_record(
    *, actor: Staff, person_id: int, cohort: str, since: date, until: date | None, source: str
) -> CohortMembership:
    """A person monitored in a cohort we do not derive (防返贫监测, others), with its source."""
    _require(actor, Perm.MONITORING_MANAGE, "您没有管理监测对象的权限")
    person = Person.objects.filter(pk=person_id).first()
    place = (
        Membership.objects.filter(person_id=person_id, end_date__isnull=True)
        .values_list("household__division_id", flat=True)
        .first()
    )
    if person is None or place is None:
        raise NotFound("没有找到该人员")
    require_in_scope(actor, place)
    errors: dict[str, list[str]] = {}
    if cohort not in (Cohort.RETURN_RISK, Cohort.OTHER):
        errors["cohort"] = ["低保、特困、低保边缘和刚性支出困难由系统根据数据认定，无需登记"]
    if until is not None and until < since:
        errors["until"] = ["退出日期不能早于纳入日期"]
    if not source.strip():
        errors["source"] = ["请填写来源（如乡村振兴部门名单及其日期）"]
    if errors:
        raise InvalidInput("监测对象登记有误", field_errors=errors)
    membership = CohortMembership.objects.create(
        person=person, cohort=cohort, since=since, until=until, source=source.strip()[:120], recorded_by=actor
    )
    _audit(actor, "cohort_recorded", "CohortMembership", membership.pk, place, cohort=cohort)
    return membership


# --- The closed loop of a warning ------------------------------------------------------------------------


def _warning(actor: Staff, warning_id: int) -> Warning:
    found = Warning.objects.select_for_update().filter(pk=warning_id).first()
    if found is None:
        raise NotFound("没有找到该预警")
    require_in_scope(actor, found.village_code)
    return found


def _handle(actor: Staff) -> None:
    _require(actor, Perm.MONITORING_HANDLE, "您没有处置预警的权限")


def _step(actor: Staff, warning: Warning, action: str, **after: Any) -> None:
    _audit(actor, action, "Warning", warning.pk, warning.village_code, state=warning.state, **after)


@transaction.atomic
def warning_accept(*, actor: Staff, warning_id: int) -> Warning:
    _handle(actor)
    warning = _warning(actor, warning_id)
    if warning.state != WarningState.NEW:
        raise Conflict("该预警已签收")
    warning.state = WarningState.ACCEPTED
    warning.accepted_by = actor
    warning.accepted_at = timezone.now()
    warning.save(update_fields=["state", "accepted_by", "accepted_at"])
    _step(actor, warning, "warning_accepted")
    return warning


@transaction.atomic
def warning_visit(
    *,
    actor: Staff,
    warning_id: int,
    visited_on: date,
    workers: list[str],
    findings: str,
    photos: list[Upload] | None = None,
) -> WarningVisit:
    """A home visit by two workers at least, with what they found (and photos taken on the phone)."""
    _handle(actor)
    warning = _warning(actor, warning_id)
    if warning.state not in (WarningState.ACCEPTED, WarningState.VISITED):
        raise Conflict("请先签收预警；已核实的预警不再登记入户")
    names = [" ".join(w.split()) for w in workers if w.strip()]
    errors: dict[str, list[str]] = {}
    if len(set(names)) < 2:
        errors["workers"] = ["入户核实须有两名以上工作人员"]
    if not findings.strip():
        errors["findings"] = ["请填写核实情况"]
    if visited_on > timezone.localdate():
        errors["visited_on"] = ["入户日期不能晚于今天"]
    for photo in photos or []:
        problem = check_photo(photo)
        if problem:
            errors.setdefault("photos", []).append(problem)
    if errors:
        raise InvalidInput("入户核实登记有误", field_errors=errors)
    visit = WarningVisit.objects.create(
        warning=warning,
        visited_on=visited_on,
        workers=names[:6],
        findings=findings.strip()[:2000],
        recorded_by=actor,
    )
    for photo in photos or []:
        WarningPhoto.objects.create(
            visit=visit,
            content_type=photo.content_type,
            size=len(photo.content),
            sha256=hashlib.sha256(photo.content).hexdigest(),
            content=photo.content,
        )
    warning.state = WarningState.VISITED
    warning.save(update_fields=["state"])
    _step(actor, warning, "warning_visited", visit=visit.pk, workers=len(names), photos=len(photos or []))
    return visit


@transaction.atomic
def warning_verify(*, actor: Staff, warning_id: int, true: bool, note: str) -> Warning:
    _handle(actor)
    warning = _warning(actor, warning_id)
    if warning.state != WarningState.VISITED:
        raise Conflict("须先入户核实，再认定是否属实")
    if not note.strip():
        raise InvalidInput("请填写核实结论的说明", field_errors={"note": ["必填"]})
    warning.state = WarningState.VERIFIED_TRUE if true else WarningState.VERIFIED_FALSE
    warning.verified = true
    warning.verified_note = note.strip()[:300]
    warning.save(update_fields=["state", "verified", "verified_note"])
    _step(actor, warning, "warning_verified", verified=true)
    return warning


def _application(actor: Staff, warning: Warning, item_code: str) -> Case:
    household = Household.objects.get(pk=warning.household_id)
    applicant = household.head or warning.person
    return case_services.case_intake(
        actor=actor,
        item_code=item_code,
        household=household,
        applicant=applicant,
        channel=Channel.DISCOVERY,
        details={"source": "active_discovery", "warning": warning.pk, "warning_number": warning.number},
    )


@transaction.atomic
def warning_dispose(
    *,
    actor: Staff,
    warning_id: int,
    outcome: str,
    reason: str,
    item_code: str = "",
    referred_to: str = "",
) -> Warning:
    """Dispose of a verified warning. An application (or temporary assistance) is started pre-filled
    with channel 主动发现 and the warning linked; a re-check opens a review task of the household's
    benefits (never a stop); a referral names the department; every outcome has a reason."""
    _handle(actor)
    warning = _warning(actor, warning_id)
    if warning.state not in (WarningState.VERIFIED_TRUE, WarningState.VERIFIED_FALSE):
        raise Conflict("须先入户核实并认定是否属实，再作处置")
    errors: dict[str, list[str]] = {}
    if outcome not in Outcome.values:
        errors["outcome"] = ["未知的处置结果"]
    elif warning.state == WarningState.VERIFIED_FALSE and outcome != Outcome.NO_ACTION:
        errors["outcome"] = ["核实不属实的预警只能作“无需处置”"]
    if not reason.strip():
        errors["reason"] = ["请填写处置说明"]
    if outcome == Outcome.REFERRAL and not referred_to.strip():
        errors["referred_to"] = ["请填写转介的部门"]
    if outcome in (Outcome.APPLICATION, Outcome.TEMPORARY) and not item_code.strip():
        errors["item_code"] = ["请选择申请的救助事项"]
    if outcome == Outcome.TEMPORARY and item_code and not item_code.startswith("temporary"):
        errors["item_code"] = ["临时救助应选择临时救助事项"]
    if errors:
        raise InvalidInput("处置填写有误", field_errors=errors)
    if outcome in (Outcome.APPLICATION, Outcome.TEMPORARY) and not actor.can(Perm.CASE_INTAKE):
        raise PermissionDenied("引导申请须由有受理权限的人员（窗口受理员、协理员）办理")
    if outcome in (Outcome.APPLICATION, Outcome.TEMPORARY):
        warning.case = _application(actor, warning, item_code.strip())
    elif outcome == Outcome.RECHECK:
        enrolments = list(
            Enrolment.objects.filter(
                household_id=warning.household_id,
                status__in=(EnrolmentStatus.ACTIVE, EnrolmentStatus.SUSPENDED, EnrolmentStatus.EXITING),
            )
        )
        if not enrolments:
            raise Conflict("该家庭没有在保的救助项目，无需复核")
        for e in enrolments:
            ReviewTask.objects.get_or_create(
                enrolment=e,
                kind="warning",
                done_at__isnull=True,
                defaults={
                    "due_date": timezone.localdate() + timedelta(days=30),
                    "office_code": e.division_id[:9] + "000",
                    "note": f"监测预警{warning.number}",
                },
            )
    warning.state = WarningState.DISPOSED
    warning.outcome = outcome
    warning.outcome_reason = reason.strip()[:300]
    warning.referred_to = referred_to.strip()[:60]
    warning.disposed_by = actor
    warning.disposed_at = timezone.now()
    warning.save()
    _step(
        actor,
        warning,
        "warning_disposed",
        outcome=outcome,
        case=warning.case_id,
        referred_to=warning.referred_to,
    )
    return warning


@transaction.atomic
def emergency_report(
    *, actor: Staff, household_id: int, person_id: int, kind: str, description: str
) -> Warning:
    """Sudden hardship reported from the village: a warning of the highest severity, due today."""
    _handle(actor)
    household = Household.objects.filter(pk=household_id).first()
    if household is None:
        raise NotFound("没有找到该家庭")
    require_in_scope(actor, household.division_id)
    errors: dict[str, list[str]] = {}
    if kind not in EMERGENCIES:
        errors["kind"] = ["请选择急难情形"]
    if not description.strip():
        errors["description"] = ["请说明急难情况"]
    today = timezone.localdate()
    member = Membership.objects.filter(
        household=household, person_id=person_id, start_date__lte=today
    ).filter(Q(end_date__isnull=True) | Q(end_date__gte=today))
    if not member.exists():
        errors["person"] = ["请选择本家庭的成员"]
    if errors:
        raise InvalidInput("急难情况报告有误", field_errors=errors)
    warning = Warning.objects.create(
        emergency=kind,
        person_id=person_id,
        household=household,
        village_code=household.division_id,
        township_code=household.division_id[:9] + "000",
        direction=Direction.NEEDS_HELP,
        severity=Severity.URGENT,
        description=f"{EMERGENCIES[kind]}：{description.strip()}"[:300],
        clue_on=today,
        due_on=today,
        reported_by=actor,
    )
    _step(actor, warning, "emergency_reported", emergency=kind)
    return warning


def warnings_escalate(*, today: date | None = None) -> int:
    """The worker's sweep: warnings past their limit and not disposed go to the county (once)."""
    day = today or timezone.localdate()
    with transaction.atomic():
        late = list(
            Warning.objects.select_for_update(skip_locked=postgres())
            .filter(state__in=OPEN_STATES, due_on__lt=day, escalated_at__isnull=True)
            .values_list("pk", "village_code")[:5000]
        )
        if not late:
            return 0
        Warning.objects.filter(pk__in=[pk for pk, _ in late]).update(escalated_at=timezone.now())
        for pk, village in late:
            _audit(None, "warning_escalated", "Warning", pk, village)
    return len(late)


def cohort_record_by_id_number(
    *, actor: Staff, id_number: str, cohort: str, since: date, until: date | None, source: str
) -> CohortMembership:
    """As cohort_record, the person found by their ID number (the list a bureau sends names them so)."""
    try:
        rid = parse_resident_id(id_number.strip())
    except InvalidIdentifier as exc:
        raise InvalidInput("身份证号无效", field_errors={"id_number": [exc.message]}) from exc
    person = Person.objects.filter(id_digest=protect.lookup_digest(rid.number)).first()
    if person is None:
        raise InvalidInput("该身份证号未在家庭档案中登记", field_errors={"id_number": ["未登记"]})
    return cohort_record(
        actor=actor, person_id=person.pk, cohort=cohort, since=since, until=until, source=source
    )


# --- A whole monitored list from one file ------------------------------------------------------------------

COHORT_COLUMNS = {
    "身份证号": "id_number",
    "姓名": "name",
    "监测类别": "cohort",
    "纳入日期": "since",
    "退出日期": "until",
}
COHORT_REQUIRED = ("身份证号", "监测类别", "纳入日期")
# A list names the cohort by its code or its Chinese name (the file's language, whatever the page's).
IMPORTED_COHORTS = {Cohort.RETURN_RISK.value: "防止返贫监测对象", Cohort.OTHER.value: "其他困难人员"}

# The list's persons: registered or not, and where they live now (their open membership's village).
COHORT_PLACES_SQL = """SELECT r.row, p.id, h.division_id
    FROM cohort_rows r
    LEFT JOIN registry_person p ON p.id_digest = r.id_digest
    LEFT JOIN registry_membership m ON m.person_id = p.id AND m.end_date IS NULL
    LEFT JOIN registry_household h ON h.id = m.household_id
    ORDER BY r.row"""

# Rows already monitored: the same person in the same cohort with an open or overlapping membership.
COHORT_ALREADY_SQL = """SELECT r.row FROM cohort_rows r
    JOIN registry_person p ON p.id_digest = r.id_digest
    WHERE EXISTS (SELECT 1 FROM monitoring_cohortmembership c
        WHERE c.person_id = p.id AND c.cohort = r.cohort
          AND (c.until IS NULL OR c.until >= r.since))"""

COHORT_INSERT_SQL = """INSERT INTO monitoring_cohortmembership
        (person_id, cohort, since, until, source, recorded_by_id, recorded_at, imported_from_id)
    SELECT p.id, r.cohort, r.since, r.until, %(source)s, %(actor)s, %(now)s, %(import)s
    FROM cohort_rows r JOIN registry_person p ON p.id_digest = r.id_digest
    WHERE NOT EXISTS (SELECT 1 FROM monitoring_cohortmembership c
        WHERE c.person_id = p.id AND c.cohort = r.cohort
          AND (c.until IS NULL OR c.until >= r.since))"""


def _cohort_value(text: str) -> str | None:
    for code, label in IMPORTED_COHORTS.items():
        if text in (code, label):
            return code
    return None


def _date_cell(text: str) -> date | None:
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None


def _check_cohort_rows(table: list[list[str]]) -> tuple[list[dict[str, Any]], list[RowError]]:
    names = _header(
        table,
        COHORT_COLUMNS,
        COHORT_REQUIRED,
        "表头不符合模板（身份证号、姓名、监测类别、纳入日期、退出日期）",
    )
    good: list[dict[str, Any]] = []
    errors: list[RowError] = []
    seen: dict[tuple[str, str], int] = {}
    for number, cells in enumerate(table[1:], start=2):
        values = {name: (cells[i].strip() if i < len(cells) else "") for i, name in enumerate(names)}
        if not any(values.values()):
            continue
        try:
            rid = parse_resident_id(values["id_number"])
        except InvalidIdentifier as exc:
            errors.append(RowError(number, f"身份证号无效：{exc.message}"))
            continue
        cohort = _cohort_value(values["cohort"])
        if cohort is None:
            errors.append(
                RowError(number, "监测类别应为“防止返贫监测对象”或“其他困难人员”（其他类别由系统认定）")
            )
            continue
        since = _date_cell(values["since"])
        until = _date_cell(values["until"]) if values.get("until") else None
        if since is None or (values.get("until") and until is None):
            errors.append(RowError(number, "日期应为 YYYY-MM-DD"))
            continue
        if until is not None and until < since:
            errors.append(RowError(number, "退出日期不能早于纳入日期"))
            continue
        digest = protect.lookup_digest(rid.number)
        if (digest, cohort) in seen:
            errors.append(RowError(number, f"与第{seen[(digest, cohort)]}行重复"))
            continue
        seen[(digest, cohort)] = number
        good.append({"row": number, "id_digest": digest, "cohort": cohort, "since": since, "until": until})
    if not good and not errors:
        raise InvalidInput("文件没有数据行", field_errors={"file": ["没有数据行"]})
    return good, errors


def _refuse_rows(errors: list[RowError]) -> None:
    shown = [f"第{e.row}行：{e.message}" for e in errors[:SHOWN_ERRORS]]
    if len(errors) > SHOWN_ERRORS:
        shown.append(f"……共{len(errors)}行有误")
    raise InvalidInput(f"{len(errors)}行数据有误，文件未导入", field_errors={"rows": shown})


@transaction.atomic
def cohort_import(*, actor: Staff, county: str, source: str, file_name: str, content: bytes) -> CohortImport:
    """A whole monitored list (身份证号、姓名、监测类别、纳入日期、退出日期) taken whole or not at all:
    every person registered and living in the actor's jurisdiction, inside the county; persons
    already monitored in the same cohort are counted, not recorded twice. Matched and written
    set-based (a temporary table, one INSERT ... SELECT)."""
    _require(actor, Perm.MONITORING_MANAGE, "您没有管理监测对象的权限")
    if not (county.isdigit() and len(county) == 6):
        raise InvalidInput("县（区）代码应为6位数字", field_errors={"county": ["应为6位数字"]})
    require_in_scope(actor, county)
    if not source.strip():
        raise InvalidInput(
            "请填写来源", field_errors={"source": ["请填写来源（如乡村振兴部门名单及其日期）"]}
        )
    sha = hashlib.sha256(content).hexdigest()
    if CohortImport.objects.filter(county=county, sha256=sha).exists():
        raise Conflict("该文件已导入过")
    rows, errors = _check_cohort_rows(_read_table(file_name, content))
    if errors:
        _refuse_rows(errors)
    frame = pl.DataFrame(
        rows,
        schema={
            "row": pl.Int64(),
            "id_digest": pl.String(),
            "cohort": pl.String(),
            "since": pl.Date(),
            "until": pl.Date(),
        },
    )
    temp_table(
        "cohort_rows", "row integer, id_digest varchar(64), cohort varchar(16), since date, until date", frame
    )
    try:
        with connection.cursor() as cursor:
            cursor.execute(COHORT_PLACES_SQL)
            places = cursor.fetchall()
        scope = jurisdiction_of(actor)
        for row, person_id, village in places:
            if person_id is None:
                errors.append(RowError(row, "该身份证号未在家庭档案中登记"))
            elif village is None:
                errors.append(RowError(row, "该人员当前不在任何家庭中"))
            elif not (village.startswith(county) and scope.contains(village)):
                errors.append(RowError(row, "该人员的家庭不在您的管辖范围内"))
        if errors:
            _refuse_rows(sorted(errors, key=lambda e: e.row))
        with connection.cursor() as cursor:
            cursor.execute(COHORT_ALREADY_SQL)
            already = len(cursor.fetchall())
        batch = CohortImport.objects.create(
            county=county,
            source=source.strip()[:120],
            file_name=file_name[-200:],
            sha256=sha,
            rows=len(rows),
            added=len(rows) - already,
            already=already,
            imported_by=actor,
        )
        with connection.cursor() as cursor:
            cursor.execute(
                COHORT_INSERT_SQL,
                sql_params(
                    {"source": batch.source, "actor": actor.pk, "now": timezone.now(), "import": batch.pk}
                ),
            )
            if cursor.rowcount != batch.added:
                raise Conflict("监测对象名单在导入时发生变化，请重试")
    finally:
        drop_tables("cohort_rows")
    _audit(
        actor,
        "cohort_imported",
        "CohortImport",
        batch.pk,
        county,
        rows=batch.rows,
        added=batch.added,
        already=batch.already,
        sha256=sha,
    )
    return batch


# --- Feedback to a feed's source department ------------------------------------------------------------

# Each record of the feed, whether its person is registered, and the warnings the feed raised for
# that person (a person may be warned by more than one rule: one line each).
FEEDBACK_SQL = """SELECT r.row, r.id_masked, r.event_on, r.amount, r.person_id IS NOT NULL,
        w.id, w.state, w.verified, w.outcome, w.referred_to
    FROM monitoring_feedrecord r
    LEFT JOIN (SELECT w.id, w.person_id, w.state, w.verified, w.outcome, w.referred_to
        FROM monitoring_warning w JOIN monitoring_feedrecord wr ON wr.id = w.record_id
        WHERE wr.feed_id = %(feed)s) w ON w.person_id = r.person_id
    WHERE r.feed_id = %(feed)s
    ORDER BY r.row, w.id"""

FEEDBACK_HEADER = (
    "行号",
    "证件号码（脱敏）",
    "日期",
    "金额（元）",
    "是否登记",
    "预警编号",
    "状态",
    "核实结果",
    "处置结果",
    "转介部门",
)


def _feedback_book(feed: Feed) -> tuple[bytes, int, int]:
    from openpyxl import Workbook

    states = {code: as_stored(label) for code, label in WarningState.choices}
    outcomes = {code: as_stored(label) for code, label in Outcome.choices}
    book = Workbook(write_only=True)
    sheet = book.create_sheet("反馈")
    sheet.append(
        [
            neutralise(f"{feed.department} {feed.get_event_type_display()} {feed.period:%Y-%m}"),
            neutralise(feed.file_name),
            feed.sha256,
        ]
    )
    sheet.append(list(FEEDBACK_HEADER))
    lines = 0
    open_ids: set[int] = set()
    with connection.cursor() as cursor:
        cursor.execute(FEEDBACK_SQL, {"feed": feed.pk})
        for (
            row,
            masked,
            event_on,
            amount,
            registered,
            wid,
            state,
            verified,
            outcome,
            referred,
        ) in cursor.fetchall():
            if wid is not None and state in OPEN_STATES:
                open_ids.add(wid)
            sheet.append(
                [
                    row,
                    masked,
                    str(event_on)[:10],
                    None if amount is None else Decimal(str(amount)),
                    "已登记" if registered else "未登记",
                    f"YJ{wid:08d}" if wid else "",
                    str(states.get(state, "")) if wid else "",
                    "" if verified is None else ("属实" if verified else "不属实"),
                    str(outcomes.get(outcome, "")),
                    neutralise(referred or ""),
                ]
            )
            lines += 1
    out = io.BytesIO()
    book.save(out)
    return out.getvalue(), lines, len(open_ids)


@transaction.atomic
def feed_feedback_issue(*, actor: Staff, feed_id: int) -> FeedFeedback:
    """The feedback workbook for a feed's source department, kept sealed in the database: interim
    while warnings are open, final once every warning from the feed is disposed."""
    _require(actor, Perm.MONITORING_MANAGE, "您没有向来源部门反馈的权限")
    feed = Feed.objects.select_for_update().filter(pk=feed_id).first()
    if feed is None or not jurisdiction_of(actor).contains(feed.county):
        raise NotFound("没有找到该部门监测数据")
    content, lines, open_warnings = _feedback_book(feed)
    feedback = FeedFeedback.objects.create(
        feed=feed,
        rows=lines,
        open_warnings=open_warnings,
        final=open_warnings == 0,
        sha256=hashlib.sha256(content).hexdigest(),
        content=content,
        issued_by=actor,
    )
    _audit(
        actor,
        "feed_feedback_issued",
        "FeedFeedback",
        feedback.pk,
        feed.county,
        feed=feed.pk,
        rows=lines,
        open_warnings=open_warnings,
        sha256=feedback.sha256,
    )
    return feedback
