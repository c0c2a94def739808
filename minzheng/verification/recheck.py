"""The monthly re-check of recipients (在保对象定期核对): set-based, one request file per department.

1. `batch_create`: a county's batch for a month holds every current member of each household whose
   enrolment's re-review (复核: yearly, six-monthly for unstable income) falls due by the end of the
   month — one INSERT … SELECT, however many recipients. One `DepartmentQuery` per active department,
   with that department's time limit in working days.
2. `batch_send`: each department gets one signed request file of all those persons (file exchange,
   `exchange.send_batch`), whatever way it answers single cases.
3. `batch_collect` (the verification sweep calls it for acknowledged queries): the department's signed
   result file is fetched and verified by the exchange (signature, row count, digest; stored in the
   message log), then taken whole or not at all (`_take_file`): every row must answer a person of the
   batch, and every person with a hit must carry the ID number we asked with (keyed digest). The
   records are summed per person and item and compared with what the household declared on the day
   of the batch, in frames (Polars), not row by row. A difference that may end eligibility — income
   or assets above what was declared, undeclared real estate, a death — is a `RecheckHit`, and the
   household's enrolments get a re-review task (kind ``recheck``) for the township to decide: keep,
   change or stop with a notice. Nothing here stops a payment.
"""

from __future__ import annotations

import uuid
from calendar import monthrange
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from minzheng.core import protect
from minzheng.core.audit import audit_record
from minzheng.core.errors import Conflict, InvalidInput, NotFound
from minzheng.core.frames import drop_tables, sql_params, temp_table
from minzheng.core.identifiers import InvalidIdentifier
from minzheng.core.permissions import Perm
from minzheng.exchange import services as exchange
from minzheng.exchange.matching import person_key
from minzheng.org.models import Staff
from minzheng.org.scope import require_in_scope
from minzheng.verification.models import (
    DepartmentQuery,
    QueryStatus,
    RecheckBatch,
    RecheckSubject,
    RequestStatus,
)
from minzheng.verification.services import (
    FINAL,
    ITEMS,
    _departments,
    _require,
    department_days,
    query_acknowledged,
    query_not_sent,
)
from minzheng.workdays.selectors import add_working_days

# Every current member of each household with a payable enrolment in the county whose re-review is
# due by the end of the month. A person belongs to one household at a time.
SUBJECTS_SQL = """INSERT INTO verification_rechecksubject (batch_id, household_id, person_id, person_key)
    SELECT %(batch)s, m.household_id, m.person_id, p.id_digest
    FROM registry_membership m
    JOIN registry_person p ON p.id = m.person_id
    WHERE m.start_date <= %(as_of)s AND (m.end_date IS NULL OR m.end_date >= %(as_of)s)
      AND m.household_id IN (
          SELECT e.household_id FROM payments_enrolment e
          WHERE e.status IN ('active', 'exiting') AND e.division_id LIKE %(county_like)s
            AND e.next_review <= %(month_end)s)"""

# References in a result file (a temporary table) that are not persons of the batch.
UNKNOWN_REFS_SQL = """SELECT COUNT(*) FROM recheck_refs r WHERE NOT EXISTS (
    SELECT 1 FROM verification_rechecksubject s WHERE s.id = r.subject_id AND s.batch_id = %(batch)s)"""
# One open re-review task per payable enrolment of every household with a hit in the query.
TASKS_SQL = """INSERT INTO payments_reviewtask (enrolment_id, kind, due_date, office_code,
    created_at, done_at, outcome, note, done_by_id)
    SELECT e.id, 'recheck', %(due)s, SUBSTR(e.division_id, 1, 9) || '000', %(at)s, NULL, '', '', NULL
    FROM payments_enrolment e
    WHERE e.status IN ('active', 'exiting')
      AND e.household_id IN (
          SELECT s.household_id FROM verification_recheckhit h
          JOIN verification_rechecksubject s ON s.id = h.subject_id
          WHERE h.query_id = %(query)s)
      AND NOT EXISTS (
          SELECT 1 FROM payments_reviewtask t
          WHERE t.enrolment_id = e.id AND t.kind = 'recheck' AND t.done_at IS NULL)"""

MONEY = pl.Decimal(14, 2)
# Our items and what each is compared with (from services.ITEMS): the department's category and type.
ITEM_FRAME = pl.DataFrame(
    [
        (category, item_type, mapped[0], mapped[1])
        for (category, item_type), mapped in ITEMS.items()
        if mapped is not None
    ],
    schema={
        "category": pl.String(),
        "item_type": pl.String(),
        "item": pl.String(),
        "comparison": pl.String(),
    },
    orient="row",
)
# Each item's declared kinds (income categories or asset kinds).
KIND_FRAME = pl.DataFrame(
    sorted({(mapped[0], kind) for mapped in ITEMS.values() if mapped is not None for kind in mapped[2]}),
    schema={"item": pl.String(), "kind": pl.String()},
    orient="row",
)


# The items' declared kinds as SQL rows (income categories or asset kinds), from ITEMS.
KINDS_SQL = " UNION ALL ".join(
    f"SELECT '{item}' AS item, '{kind}' AS kind" for item, kind in KIND_FRAME.iter_rows()
)
# A department's records summed per person and item (the temporary table recheck_found) against what
# the household declared on the batch's day — a member's income of the item's categories, the
# household's assets of its kinds (their value, or their number for real estate) — written as hits
# where they differ: more income or assets than declared, undeclared real estate, a death.
HITS_SQL = f"""INSERT INTO verification_recheckhit (batch_id, query_id, subject_id, item, amount, records,
        declared, source_ref, description)
    WITH kinds AS ({KINDS_SQL}),
    declared_income AS (
        SELECT i.person_id, k.item, SUM(i.monthly_amount) AS value
        FROM registry_incomeitem i JOIN kinds k ON k.kind = i.category
        WHERE i.valid_from <= %(as_of)s AND (i.valid_until IS NULL OR i.valid_until >= %(as_of)s)
          AND i.person_id IN (SELECT s.person_id FROM recheck_found f
                              JOIN verification_rechecksubject s ON s.id = f.subject_id)
        GROUP BY i.person_id, k.item),
    declared_assets AS (
        SELECT a.household_id, k.item, SUM(a.value) AS value, COUNT(*) AS number
        FROM registry_asset a JOIN kinds k ON k.kind = a.kind
        WHERE a.valid_from <= %(as_of)s AND (a.valid_until IS NULL OR a.valid_until >= %(as_of)s)
          AND a.household_id IN (SELECT s.household_id FROM recheck_found f
                                 JOIN verification_rechecksubject s ON s.id = f.subject_id)
        GROUP BY a.household_id, k.item),
    compared AS (
        SELECT f.subject_id, f.item, f.comparison, f.amount, f.records, f.source_ref, f.description,
            CASE f.comparison
                WHEN 'income' THEN COALESCE(di.value, 0)
                WHEN 'assets' THEN COALESCE(da.value, 0)
                WHEN 'count' THEN COALESCE(da.number, 0)
            END AS declared
        FROM recheck_found f
        JOIN verification_rechecksubject s ON s.id = f.subject_id
        LEFT JOIN declared_income di ON di.person_id = s.person_id AND di.item = f.item
        LEFT JOIN declared_assets da ON da.household_id = s.household_id AND da.item = f.item)
    SELECT %(batch)s, %(query)s, subject_id, item, amount, records, declared, source_ref, description
    FROM compared
    WHERE comparison = 'death'
       OR (comparison = 'count' AND declared < 1)
       OR (comparison IN ('income', 'assets') AND amount IS NOT NULL AND amount > declared)"""  # noqa: S608 (items and kinds are constants of ITEMS)


def month_end(month: date) -> date:
    return month.replace(day=monthrange(month.year, month.month)[1])


def _audit(actor: Staff | None, action: str, batch: RecheckBatch, **after: Any) -> None:
    audit_record(
        actor=actor,
        action=f"verification.recheck_{action}",
        object_type="verification.RecheckBatch",
        object_id=batch.pk,
        scope_code=batch.county,
        after=after,
    )


@transaction.atomic
def batch_create(*, actor: Staff, county: str, month: date) -> RecheckBatch:
    """The county's re-check batch for `month`: every member of each recipient household whose
    re-review is due by the month's end, one query per department. Once per county and month."""
    _require(actor, Perm.CASE_REVIEW_COUNTY, "您没有提请家庭经济状况核对的权限")
    if not (county.isdigit() and len(county) == 6):
        raise InvalidInput("县（区）代码应为6位数字", field_errors={"county": ["应为6位数字"]})
    require_in_scope(actor, county)
    month = month.replace(day=1)
    if RecheckBatch.objects.filter(county=county, month=month).exists():
        raise Conflict(f"{county}的{month:%Y年%m月}定期核对批次已经生成")
    departments = _departments()
    if not departments:
        raise Conflict("尚未接入任何核对部门，请联系系统管理员")
    today = timezone.localdate()
    batch = RecheckBatch.objects.create(
        county=county,
        month=month,
        transaction_id=uuid.uuid4().hex,
        as_of=today,
        requested_by=actor,
    )
    with connection.cursor() as cursor:
        cursor.execute(
            SUBJECTS_SQL,
            sql_params(
                {
                    "batch": batch.pk,
                    "as_of": today,
                    "county_like": f"{county}%",
                    "month_end": month_end(month),
                }
            ),
        )
        batch.persons = int(cursor.rowcount)
    batch.households = batch.subjects.values("household_id").distinct().count()
    if batch.persons == 0:
        raise Conflict(f"{month:%Y年%m月}没有到期复核的在保对象")
    batch.save(update_fields=["persons", "households"])
    DepartmentQuery.objects.bulk_create(
        DepartmentQuery(
            batch=batch,
            counterparty=d.code,
            due_on=add_working_days(today, department_days(d.code, today, county)),
        )
        for d in departments
    )
    _audit(
        actor,
        "batch_created",
        batch,
        month=month,
        households=batch.households,
        persons=batch.persons,
        departments=[d.code for d in departments],
    )
    return batch


def _request_rows(batch: RecheckBatch) -> list[dict[str, Any]]:
    """The request file's rows: each person's reference (our subject id) and ID number."""
    return [
        {
            "reference_id": str(pk),
            "id_number": protect.decrypt(sealed),
            "name": name,
            "as_of": batch.as_of.isoformat(),
            "consent": f"recheck:{batch.pk}",
        }
        for pk, sealed, name in batch.subjects.order_by("pk").values_list(
            "pk", "person__id_encrypted", "person__name"
        )
    ]


def batch_send(*, batch_id: int, actor: Staff | None = None) -> RecheckBatch:
    """Send the request file to every department not yet asked (or whose sending failed), each
    outside our transaction; a refusal or failure is kept on the query and tried again later."""
    batch = RecheckBatch.objects.filter(pk=batch_id).first()
    if batch is None:
        raise NotFound("没有找到该定期核对批次")
    if actor is not None:
        _require(actor, Perm.CASE_REVIEW_COUNTY, "您没有提请家庭经济状况核对的权限")
        require_in_scope(actor, batch.county)
    pending = list(batch.queries.filter(status__in=(QueryStatus.QUEUED, QueryStatus.FAILED)))
    rows = _request_rows(batch) if pending else []
    for query in pending:
        try:
            receipt = exchange.send_batch(
                counterparty_code=query.counterparty,
                transaction_id=batch.transaction_id,
                queries=rows,
                any_mode=True,
            )
        except exchange.ExchangeError as exc:
            query_not_sent(query, exc)
            continue
        query_acknowledged(query, str(receipt["batch_id"]))
    refresh_status(batch.pk)
    batch.refresh_from_db()
    return batch


def refresh_status(batch_id: int) -> None:
    """OPEN while a department is still to answer; ANSWERED once every query is final."""
    with transaction.atomic():
        batch = RecheckBatch.objects.select_for_update().get(pk=batch_id)
        if batch.status == RequestStatus.OPEN and not batch.queries.exclude(status__in=FINAL).exists():
            batch.status = RequestStatus.ANSWERED
            batch.save(update_fields=["status"])


def batch_collect(*, query_id: int) -> bool:
    """An acknowledged batch query's result file fetched and taken; False while it is not ready."""
    query = DepartmentQuery.objects.select_related("batch").filter(pk=query_id).first()
    if query is None or query.batch is None or query.status != QueryStatus.ACKNOWLEDGED:
        return False
    result = exchange.fetch_batch_result(
        counterparty_code=query.counterparty, batch_id=query.correlation_id, any_mode=True
    )
    if result is None:
        return False
    with transaction.atomic():
        locked = DepartmentQuery.objects.select_for_update().get(pk=query.pk)
        if locked.status != QueryStatus.ACKNOWLEDGED:
            return False
        taken = take_file(locked, result.frame)
        _audit(None, "answer_taken", query.batch, department=query.counterparty, **taken.as_dict())
    refresh_status(query.batch.pk)
    return True


@dataclass(frozen=True)
class Taken:
    records: int
    hits: int
    tasks: int

    def as_dict(self) -> dict[str, int]:
        return {"records": self.records, "hits": self.hits, "tasks": self.tasks}


def _check_identities(records: pl.DataFrame) -> None:
    """The records carry the ID number we asked with (old 15-digit numbers too)."""
    pairs = records.select("subject_id", "id_number").unique()
    ids = pairs["subject_id"].unique().to_list()
    keys: dict[int, str] = {}
    for start in range(0, len(ids), 5000):
        keys.update(
            RecheckSubject.objects.filter(pk__in=ids[start : start + 5000]).values_list("pk", "person_key")
        )
    for subject_id, number in pairs.iter_rows():
        try:
            found = person_key(number) if number else keys[subject_id]
        except InvalidIdentifier as exc:
            raise InvalidInput("结果文件中的证件号码无效") from exc
        if found != keys[subject_id]:
            raise InvalidInput("结果文件中的证件号码与查询人员不符")


def _found(records: pl.DataFrame) -> pl.DataFrame:
    """The records of compared items summed per person and item (amounts exact, in Decimal)."""
    return (
        records.join(ITEM_FRAME, on=["category", "item_type"], how="inner")
        .with_columns(
            pl.when(pl.col("amount") == "")
            .then(None)
            .otherwise(pl.col("amount"))
            .cast(MONEY, strict=False)
            .alias("amount")
        )
        .group_by("subject_id", "item", "comparison")
        .agg(
            pl.col("amount").sum().alias("amount"),
            pl.len().cast(pl.Int64()).alias("records"),
            pl.col("source_ref").first().str.slice(0, 100).alias("source_ref"),
            pl.col("description").first().str.slice(0, 200).alias("description"),
        )
        # Declarations are never negative (the registry's CHECKs): a sum of zero or nothing cannot
        # exceed one, so only deaths, real estate and positive sums need the database's comparison.
        .filter(pl.col("comparison").is_in(["death", "count"]) | (pl.col("amount") > 0))
    )


def take_file(query: DepartmentQuery, frame: pl.DataFrame) -> Taken:
    """A department's result file taken whole, within the caller's transaction (the query locked):
    every row must name a person of the batch; the records of compared items, summed per person and
    item, go to the database, which compares them with the declarations on the batch's day and
    writes the hits in one statement; the persons with hits must carry the numbers we asked with;
    the re-review tasks are opened; the query is answered. Any refusal raises InvalidInput and,
    the transaction rolled back, leaves nothing behind."""
    assert query.batch is not None  # noqa: S101 (a batch's query)
    batch = query.batch
    rows = frame.with_columns(pl.col("reference_id").cast(pl.Int64(), strict=False).alias("subject_id"))
    if rows["subject_id"].null_count():
        raise InvalidInput("结果文件中含有本批次未查询的人员")
    temp_table("recheck_refs", "subject_id bigint", rows.select("subject_id").unique())
    with connection.cursor() as cursor:
        cursor.execute(UNKNOWN_REFS_SQL, {"batch": batch.pk})
        unknown = int(cursor.fetchone()[0])
    drop_tables("recheck_refs")
    if unknown:
        raise InvalidInput("结果文件中含有本批次未查询的人员")
    records = rows.filter((pl.col("status") == "found") & (pl.col("category") != ""))
    found = _found(records)
    hits = 0
    if not found.is_empty():
        temp_table(
            "recheck_found",
            "subject_id bigint, item varchar(24), comparison varchar(8), amount numeric(14, 2), "
            "records bigint, source_ref varchar(100), description varchar(200)",
            found,
        )
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE recheck_found")  # a temporary table has no statistics until then
            cursor.execute(HITS_SQL, sql_params({"batch": batch.pk, "query": query.pk, "as_of": batch.as_of}))
            hits = int(cursor.rowcount)
        drop_tables("recheck_found")
    tasks = 0
    if hits:
        hit_subjects = pl.DataFrame(
            {"subject_id": list(query.hits.values_list("subject_id", flat=True).distinct())},
            schema={"subject_id": pl.Int64()},
        )
        # What is acted on must be about the person we asked: the ID number on every record of a
        # person with a hit is checked against the key we asked with (a record that changes nothing
        # is not relied on, and hashing every number of a 10,000,000-row file would cost more than
        # the whole match).
        _check_identities(records.join(hit_subjects, on="subject_id"))
        today = timezone.localdate()
        with connection.cursor() as cursor:
            cursor.execute(
                TASKS_SQL,
                sql_params({"query": query.pk, "due": today + timedelta(days=30), "at": timezone.now()}),
            )
            tasks = int(cursor.rowcount)
    query.status = QueryStatus.ANSWERED
    query.answered_at = timezone.now()
    query.records = records.height
    query.save(update_fields=["status", "answered_at", "records"])
    return Taken(records=records.height, hits=hits, tasks=tasks)
