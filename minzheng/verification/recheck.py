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
   batch, and every person with records must carry the ID number we asked with (keyed digest). The
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
from minzheng.core.frames import read_frame, sql_params, write_frame
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
    RequestStatus,
)
from minzheng.verification.services import FINAL, ITEMS, _departments, _require, department_days
from minzheng.workdays.selectors import add_working_days

# Every current member of each household with a payable enrolment in the county whose re-review is
# due by the end of the month. A person belongs to one household at a time.
SUBJECTS_SQL = """INSERT INTO verification_rechecksubject (batch_id, household_id, person_id, person_key)
    SELECT DISTINCT %(batch)s, m.household_id, m.person_id, p.id_digest
    FROM payments_enrolment e
    JOIN registry_membership m ON m.household_id = e.household_id
         AND m.start_date <= %(as_of)s AND (m.end_date IS NULL OR m.end_date >= %(as_of)s)
    JOIN registry_person p ON p.id = m.person_id
    WHERE e.status IN ('active', 'exiting') AND e.division_id LIKE %(county_like)s
      AND e.next_review <= %(month_end)s"""

SUBJECT_SCHEMA = {
    "subject_id": pl.Int64(),
    "household_id": pl.Int64(),
    "person_id": pl.Int64(),
    "person_key": pl.String(),
}
SUBJECTS_OF_BATCH = """SELECT id, household_id, person_id, person_key FROM verification_rechecksubject
    WHERE batch_id = %(batch)s"""
# What the batch's households declared on the batch's day: income per person and category, assets per
# household and kind (their sum and number).
DECLARED_INCOME = """SELECT i.person_id, i.category, SUM(i.monthly_amount)
    FROM registry_incomeitem i
    WHERE i.person_id IN (SELECT person_id FROM verification_rechecksubject WHERE batch_id = %(batch)s)
      AND i.valid_from <= %(as_of)s AND (i.valid_until IS NULL OR i.valid_until >= %(as_of)s)
    GROUP BY i.person_id, i.category"""
DECLARED_ASSETS = """SELECT a.household_id, a.kind, SUM(a.value), COUNT(*)
    FROM registry_asset a
    WHERE a.household_id IN (SELECT household_id FROM verification_rechecksubject WHERE batch_id = %(batch)s)
      AND a.valid_from <= %(as_of)s AND (a.valid_until IS NULL OR a.valid_until >= %(as_of)s)
    GROUP BY a.household_id, a.kind"""
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
    schema={"category": pl.String(), "item_type": pl.String(), "item": pl.String(), "comparison": pl.String()},
    orient="row",
)
# Each item's declared kinds (income categories or asset kinds).
KIND_FRAME = pl.DataFrame(
    sorted({(mapped[0], kind) for mapped in ITEMS.values() if mapped is not None for kind in mapped[2]}),
    schema={"item": pl.String(), "kind": pl.String()},
    orient="row",
)


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
                {"batch": batch.pk, "as_of": today, "county_like": f"{county}%", "month_end": month_end(month)}
            ),
        )
    subjects = batch.subjects.all()
    batch.persons = subjects.count()
    batch.households = subjects.values("household_id").distinct().count()
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
            refused = getattr(exc, "code", "") == "exchange.refused"
            DepartmentQuery.objects.filter(pk=query.pk).exclude(status__in=FINAL).update(
                status=QueryStatus.REJECTED if refused else QueryStatus.FAILED,
                attempts=query.attempts + 1,
                sent_at=timezone.now(),
                error=str(exc.message)[:300],
            )
            continue
        DepartmentQuery.objects.filter(
            pk=query.pk, status__in=(QueryStatus.QUEUED, QueryStatus.FAILED)
        ).update(
            status=QueryStatus.ACKNOWLEDGED,
            attempts=query.attempts + 1,
            sent_at=timezone.now(),
            correlation_id=str(receipt["batch_id"])[:100],
            error="",
        )
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
    """Every person with records carries the ID number we asked with (old 15-digit numbers too)."""
    pairs = records.select("subject_id", "id_number", "person_key").unique()
    for number, key in pairs.select("id_number", "person_key").iter_rows():
        try:
            found = person_key(number) if number else key
        except InvalidIdentifier as exc:
            raise InvalidInput("结果文件中的证件号码无效") from exc
        if found != key:
            raise InvalidInput("结果文件中的证件号码与查询人员不符")


def _declared(batch: RecheckBatch) -> tuple[pl.DataFrame, pl.DataFrame]:
    params = {"batch": batch.pk, "as_of": batch.as_of}
    income = read_frame(
        DECLARED_INCOME, params, {"person_id": pl.Int64(), "kind": pl.String(), "declared": MONEY}
    )
    assets = read_frame(
        DECLARED_ASSETS,
        params,
        {"household_id": pl.Int64(), "kind": pl.String(), "declared": MONEY, "count": pl.Int64()},
    )
    return income, assets


def hits_of(batch: RecheckBatch, frame: pl.DataFrame) -> tuple[int, pl.DataFrame]:
    """A result file's rows against the batch's subjects and their declarations: the number of
    records, and the hits (subject, item, amount, records, declared, source, description)."""
    subjects = read_frame(SUBJECTS_OF_BATCH, {"batch": batch.pk}, SUBJECT_SCHEMA)
    rows = frame.with_columns(pl.col("reference_id").cast(pl.Int64(), strict=False).alias("subject_id"))
    if rows.join(subjects, on="subject_id", how="anti").height:
        raise InvalidInput("结果文件中含有本批次未查询的人员")
    records = rows.filter((pl.col("status") == "found") & (pl.col("category") != "")).join(
        subjects, on="subject_id"
    )
    _check_identities(records)
    found = (
        records.join(ITEM_FRAME, on=["category", "item_type"], how="inner")
        .with_columns(
            pl.when(pl.col("amount") == "")
            .then(None)
            .otherwise(pl.col("amount"))
            .cast(MONEY, strict=False)
            .alias("amount")
        )
        .group_by("subject_id", "household_id", "person_id", "item", "comparison")
        .agg(
            pl.col("amount").sum().alias("amount"),
            pl.len().alias("records"),
            pl.col("source_ref").first().str.slice(0, 100).alias("source_ref"),
            pl.col("description").first().str.slice(0, 200).alias("description"),
        )
    )
    income, assets = _declared(batch)
    by_item_income = (
        income.join(KIND_FRAME, on="kind")
        .group_by("person_id", "item")
        .agg(pl.col("declared").sum().alias("declared_income"))
    )
    by_item_assets = (
        assets.join(KIND_FRAME, on="kind")
        .group_by("household_id", "item")
        .agg(pl.col("declared").sum().alias("declared_assets"), pl.col("count").sum().alias("declared_count"))
    )
    compared = (
        found.join(by_item_income, on=["person_id", "item"], how="left")
        .join(by_item_assets, on=["household_id", "item"], how="left")
        .with_columns(
            pl.when(pl.col("comparison") == "income")
            .then(pl.col("declared_income").fill_null(0))
            .when(pl.col("comparison") == "assets")
            .then(pl.col("declared_assets").fill_null(0))
            .when(pl.col("comparison") == "count")
            .then(pl.col("declared_count").fill_null(0).cast(MONEY))
            .otherwise(None)
            .cast(MONEY)
            .alias("declared")
        )
    )
    hits = compared.filter(
        (pl.col("comparison") == "death")
        | ((pl.col("comparison") == "count") & (pl.col("declared") < 1))
        | (
            pl.col("comparison").is_in(["income", "assets"])
            & pl.col("amount").is_not_null()
            & (pl.col("amount") > pl.col("declared"))
        )
    ).select("subject_id", "item", "amount", "records", "declared", "source_ref", "description")
    return records.height, hits.sort("subject_id", "item")


def take_file(query: DepartmentQuery, frame: pl.DataFrame) -> Taken:
    """A department's result file taken whole (within the caller's transaction, the query locked):
    its hits stored, the re-review tasks opened, the query answered."""
    assert query.batch is not None  # noqa: S101 (a batch's query)
    batch = query.batch
    count, hits = hits_of(batch, frame)
    write_frame(
        "verification_recheckhit",
        hits.with_columns(
            pl.lit(batch.pk).alias("batch_id"), pl.lit(query.pk).alias("query_id")
        ),
    )
    tasks = 0
    if hits.height:
        today = timezone.localdate()
        with connection.cursor() as cursor:
            cursor.execute(
                TASKS_SQL,
                sql_params(
                    {"query": query.pk, "due": today + timedelta(days=30), "at": timezone.now()}
                ),
            )
            tasks = int(cursor.rowcount)
    query.status = QueryStatus.ANSWERED
    query.answered_at = timezone.now()
    query.records = count
    query.save(update_fields=["status", "answered_at", "records"])
    return Taken(records=count, hits=hits.height, tasks=tasks)
