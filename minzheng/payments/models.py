"""Enrolments (在保对象), their changes over time, monthly payroll runs with one line per beneficiary,
programme and month, bank files and their reconciliation, and periodic re-review tasks."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minzheng.cases.models import Case
from minzheng.org.models import Division
from minzheng.registry.models import Household, Person


class EnrolmentStatus(models.TextChoices):
    ACTIVE = "active", _("正常发放")
    SUSPENDED = "suspended", _("暂停发放")
    EXITING = "exiting", _("渐退期")
    TERMINATED = "terminated", _("已停发")


class Enrolment(models.Model):
    programme = models.CharField(_("救助项目"), max_length=40)
    case = models.OneToOneField(
        Case, on_delete=models.PROTECT, related_name="enrolment", verbose_name=_("审批案件")
    )
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="enrolments")
    payee = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="enrolments", verbose_name=_("领取人")
    )
    division = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="+", verbose_name=_("村/社区")
    )
    monthly_amount = models.DecimalField(_("月发放金额（元）"), max_digits=12, decimal_places=2)
    start_month = models.DateField(_("起始月份"))
    end_month = models.DateField(_("终止月份"), null=True)
    status = models.CharField(
        _("状态"), max_length=12, choices=EnrolmentStatus.choices, default=EnrolmentStatus.ACTIVE
    )
    # The amount the rules gave when `monthly_amount` was last decided (the decision's calculation,
    # or an approved proposal's): a later recalculation proposes the decided amount changed by the
    # difference only, so a component the decision refused never comes back on its own.
    calculated_amount = models.DecimalField(_("测算金额（元）"), max_digits=12, decimal_places=2, null=True)
    bank_name = models.CharField(_("开户银行"), max_length=60)
    account_encrypted = models.TextField(_("银行账号（加密）"))
    account_masked = models.CharField(_("银行账号（脱敏）"), max_length=40)
    review_months = models.PositiveSmallIntegerField(_("复核周期（月）"), default=12)
    next_review = models.DateField(_("下次复核日期"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("在保对象")
        ordering = ["division_id", "pk"]
        indexes = [
            models.Index(fields=["status", "division"], name="enrolment_status_division"),
            # The payroll looks for enrolments added since the county's last run (arrears).
            models.Index(fields=["created_at"], name="enrolment_created_at"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(monthly_amount__gte=0), name="enrolment_amount_not_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(end_month__isnull=True) | models.Q(end_month__gte=models.F("start_month")),
                name="enrolment_period_ordered",
            ),
            models.CheckConstraint(
                condition=models.Q(review_months__in=[6, 12]), name="enrolment_review_cycle"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme} {self.payee_id} {self.monthly_amount}"


class ChangeKind(models.TextChoices):
    ENROL = "enrol", _("纳入")
    AMOUNT = "amount", _("调整金额")
    SUSPEND = "suspend", _("暂停")
    RESUME = "resume", _("恢复")
    EXIT = "exit", _("启动渐退")
    TERMINATE = "terminate", _("停发")
    BACK_PAY = "back_pay", _("补发")
    RECOVER = "recover", _("追回（扣减）")
    REVIEW = "review", _("复核")
    BANK_ACCOUNT = "bank_account", _("变更银行账户")


class EnrolmentChange(models.Model):
    """Typed history of an enrolment: what changed, from which month, why, and the notice given."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="changes")
    kind = models.CharField(_("变更类型"), max_length=12, choices=ChangeKind.choices)
    effective_month = models.DateField(_("生效月份"))
    old_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    new_amount = models.DecimalField(max_digits=12, decimal_places=2, null=True)
    one_off_amount = models.DecimalField(_("一次性补发/扣减金额"), max_digits=12, decimal_places=2, default=0)
    reason = models.CharField(_("理由"), max_length=300)
    notice = models.TextField(_("告知内容"), blank=True)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["enrolment_id", "at", "pk"]
        # A payroll run finds the enrolments whose standing changed since its county's last run.
        indexes = [models.Index(fields=["at"], name="enrolmentchange_at")]

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.kind} {self.effective_month}"

    @property
    def settled_in_id(self) -> int | None:
        """The run that paid or deducted this one-off (`OneOffSettlement`); None while pending, and
        for changes without a one-off. Select the `settlement` with the change to read it."""
        settlement = getattr(self, "settlement", None)
        return settlement.run_id if settlement is not None else None


class PendingOneOff(models.Model):
    """A back pay or recovery (an EnrolmentChange with a one-off amount) that no payroll run has
    settled yet: the queue each run of the county reads, with what the run needs of the change
    (copied from it: a change is never updated). Entered with the change; when a run settles it,
    the row moves to `OneOffSettlement` (deleted here, inserted there, in one transaction), so a
    one-off is always in exactly one of the two. The change rows themselves are never updated: an
    update of the million-row history adds an entry to each of its indexes for every row (about
    100 µs a row while the lines are written, bench/README.md), a delete here none."""

    change = models.OneToOneField(
        EnrolmentChange, primary_key=True, on_delete=models.PROTECT, related_name="+"
    )
    county = models.CharField(_("县（区）代码"), max_length=6, db_index=True)
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="+", db_index=False)
    effective_month = models.DateField(_("生效月份"))
    amount = models.DecimalField(_("一次性补发/扣减金额"), max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.county} {self.change_id}"


class OneOffSettlement(models.Model):
    """The run that settled a one-off (its line's adjustment), with the one-off's enrolment and
    amount as queued. One per change, enforced by the key: no back pay is paid twice. Written by
    the payroll from the `PendingOneOff` rows it deletes in the same transaction, so the references hold by construction and, as for the lines, are not checked
    row by row by the database (`db_constraint=False`)."""

    change = models.OneToOneField(
        EnrolmentChange,
        primary_key=True,
        on_delete=models.PROTECT,
        related_name="settlement",
        db_constraint=False,
    )
    run = models.ForeignKey("PayrollRun", on_delete=models.PROTECT, related_name="+", db_constraint=False)
    enrolment = models.ForeignKey(
        Enrolment, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    amount = models.DecimalField(_("一次性补发/扣减金额"), max_digits=12, decimal_places=2)

    def __str__(self) -> str:
        return f"{self.change_id} {self.run_id}"


class RunStatus(models.TextChoices):
    QUEUED = "queued", _("排队中")
    COMPUTING = "computing", _("计算中")
    COMPUTED = "computed", _("待审批")
    APPROVED = "approved", _("已审批")
    EXPORTED = "exported", _("已生成银行文件")
    RECONCILED = "reconciled", _("已对账")
    FAILED = "failed", _("计算失败")


class RunKind(models.TextChoices):
    MONTHLY = "monthly", _("月度发放名册")
    ONE_OFF = "one_off", _("一次性救助代发批次")


class PayrollRun(models.Model):
    """A county's payments paid together through the bank: the monthly payroll (one per county and
    month, computed by `payments.payroll`), or a batch of one-off payment orders (temporary and
    medical assistance, back pay outside the monthly run: `payments.orders`). Both are approved by
    a second person, exported in the same bank layouts, reconciled and re-issued the same way."""

    kind = models.CharField(
        _("批次类型"),
        max_length=8,
        choices=RunKind.choices,
        default=RunKind.MONTHLY,
        db_default=RunKind.MONTHLY,
    )
    county = models.CharField(_("县（区）代码"), max_length=6)
    month = models.DateField(_("发放月份"))
    status = models.CharField(_("状态"), max_length=12, choices=RunStatus.choices, default=RunStatus.QUEUED)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    line_count = models.PositiveIntegerField(_("笔数"), default=0)
    total_amount = models.DecimalField(_("总金额"), max_digits=16, decimal_places=2, default=0)
    error = models.TextField(blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    # The computation under way: the worker that claimed it, when, how many times it was tried.
    claimed_by = models.CharField(_("计算进程"), max_length=120, blank=True)
    started_at = models.DateTimeField(_("开始计算时间"), null=True)
    attempts = models.PositiveSmallIntegerField(_("计算次数"), default=0)
    # What the run recomputed: households whose facts, standing or age band changed since this time
    # (all of them when None: the county's first run, or a parameter change).
    changes_since = models.DateTimeField(_("重新测算起点"), null=True)
    recomputed_households = models.PositiveIntegerField(_("重新测算户数"), default=0)
    proposals = models.PositiveIntegerField(_("金额调整建议数"), default=0)
    reviews_opened = models.PositiveIntegerField(_("转复核数"), default=0)
    arrears_total = models.DecimalField(_("补发（漏发月份）合计"), max_digits=16, decimal_places=2, default=0)
    computed_at = models.DateTimeField(null=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("发放批次")
        ordering = ["-month", "county"]
        constraints = [
            models.UniqueConstraint(
                fields=["county", "month"],
                condition=models.Q(kind="monthly"),
                name="payrollrun_one_per_county_month",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.month:%Y-%m}"


class LineStatus(models.TextChoices):
    PENDING = "pending", _("待发放")
    PAID = "paid", _("已到账")
    FAILED = "failed", _("发放失败")
    REISSUED = "reissued", _("已重发")


class PayrollLine(models.Model):
    """One payment: a beneficiary, programme and month (or the re-issue of a failed payment).

    Written by the payroll (`payments.payroll`) in one INSERT ... SELECT per run, a million rows
    per county and month. The references (run, enrolment, payee, re-issued line) are therefore
    foreign keys without database triggers (`db_constraint=False`): a row-by-row RI check costs
    more than the insert itself at that size, and even a reference left empty queues a deferred
    trigger event per row (a tenth of the write, bench/README.md). Every line is built by the
    statement that reads its enrolment (payee and run included), and a re-issue from the line it
    re-issues, so the references hold by construction; Django's PROTECT still keeps those rows
    from being deleted. The indexes are the few the work needs, each cheap to fill in the order
    lines are written (by payee): the uniqueness that pays nobody twice leads with the month, so
    a month's lines fill their own part of the index, and serves an enrolment's lines too (by
    month, payee and programme, `selectors.enrolment_detail`); the run's lines are found by run
    alone, on PostgreSQL through a BRIN index (a run's lines lie together; migration 0004)."""

    run = models.ForeignKey(
        PayrollRun, on_delete=models.PROTECT, related_name="lines", db_constraint=False, db_index=False
    )
    # The enrolment of a monthly line; a one-off line has its payment order instead.
    enrolment = models.ForeignKey(
        Enrolment,
        null=True,
        on_delete=models.PROTECT,
        related_name="lines",
        db_constraint=False,
        db_index=False,
    )
    order = models.ForeignKey(
        "PaymentOrder",
        null=True,
        on_delete=models.PROTECT,
        related_name="lines",
        db_constraint=False,
        db_index=False,
    )
    programme = models.CharField(max_length=40)
    month = models.DateField()
    payee = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    division_code = models.CharField(max_length=12)
    monthly_amount = models.DecimalField(_("月标准金额"), max_digits=12, decimal_places=2)
    adjustment = models.DecimalField(_("补发/扣减"), max_digits=12, decimal_places=2, default=0)
    # Months of this enrolment that earlier runs missed (it was enrolled late), paid with this line:
    # each month in `ArrearsMonth`.
    arrears = models.DecimalField(_("补发漏发月份"), max_digits=12, decimal_places=2, default=0, db_default=0)
    amount = models.DecimalField(_("实发金额"), max_digits=12, decimal_places=2)
    # Defaults in the database too: the payroll's COPY leaves these out (bench/README.md).
    status = models.CharField(
        max_length=10, choices=LineStatus.choices, default=LineStatus.PENDING, db_default=LineStatus.PENDING
    )
    bank_reference = models.CharField(max_length=60, blank=True, default="", db_default="")
    failure_reason = models.CharField(max_length=200, blank=True, default="", db_default="")
    result_at = models.DateTimeField(_("回盘时间"), null=True)
    reissue_of = models.ForeignKey(
        "self",
        null=True,
        on_delete=models.PROTECT,
        related_name="reissues",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        ordering = ["run_id", "division_code", "pk"]
        constraints = [
            # Nobody is paid twice: one line per beneficiary, programme and month (re-issues aside).
            # The payee before the programme: a new line is placed by month and payee alone, and the
            # programme's text is compared only between lines of the same payee (migration 0005).
            models.UniqueConstraint(
                fields=["month", "payee", "programme"],
                condition=models.Q(reissue_of__isnull=True, order__isnull=True),
                name="payrollline_once_per_payee_programme_month",
            ),
            # A payment order is paid by one line (its re-issues aside).
            models.UniqueConstraint(
                fields=["order"],
                condition=models.Q(reissue_of__isnull=True, order__isnull=False),
                name="payrollline_once_per_order",
            ),
            models.CheckConstraint(
                condition=models.Q(enrolment__isnull=False) | models.Q(order__isnull=False),
                name="payrollline_enrolment_or_order",
            ),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="payrollline_amount_not_negative"),
        ]
        indexes = [
            models.Index(fields=["run"], name="payrollline_run"),
            models.Index(
                fields=["reissue_of"],
                condition=models.Q(reissue_of__isnull=False),
                name="payrollline_reissue_of",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.run_id}:{self.payee_id} {self.amount}"


class PayrollTotal(models.Model):
    run = models.ForeignKey(PayrollRun, on_delete=models.CASCADE, related_name="totals")
    township_code = models.CharField(max_length=12)
    programme = models.CharField(max_length=40)
    line_count = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=16, decimal_places=2)

    class Meta:
        ordering = ["run_id", "township_code", "programme"]
        constraints = [
            models.UniqueConstraint(fields=["run", "township_code", "programme"], name="payrolltotal_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.township_code} {self.programme}"


class BankExport(models.Model):
    run = models.ForeignKey(PayrollRun, on_delete=models.PROTECT, related_name="exports")
    layout = models.CharField(_("文件格式"), max_length=40)
    file_name = models.CharField(max_length=120)
    content_type = models.CharField(max_length=100, default="application/octet-stream")
    content = models.BinaryField()
    sha256 = models.CharField(max_length=64)
    line_count = models.PositiveIntegerField()
    total_amount = models.DecimalField(max_digits=16, decimal_places=2)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.file_name


class ReconciliationReport(models.Model):
    """One bank results file (回盘文件) checked against a run. All or nothing: `accepted` when every
    row was valid and the line statuses were updated; otherwise `errors` lists every problem, row
    by row, and no line was changed."""

    run = models.ForeignKey(PayrollRun, on_delete=models.PROTECT, related_name="reconciliations")
    file_name = models.CharField(_("文件名"), max_length=200)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(_("数据行数"), default=0)
    accepted = models.BooleanField(_("已入账"), default=False)
    paid = models.PositiveIntegerField(_("成功笔数"), default=0)
    paid_amount = models.DecimalField(_("成功金额"), max_digits=16, decimal_places=2, default=0)
    failed = models.PositiveIntegerField(_("失败笔数"), default=0)
    failed_amount = models.DecimalField(_("失败金额"), max_digits=16, decimal_places=2, default=0)
    pending_after = models.PositiveIntegerField(_("仍待发放笔数"), default=0)
    errors = models.JSONField(_("错误明细"), default=list, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("银行回盘对账")
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.run_id} {self.file_name}"


class ReviewTask(models.Model):
    """A re-review (复核) due for an enrolment: periodic, or after a reported death."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="reviews")
    kind = models.CharField(
        max_length=12,
        choices=[
            ("periodic", _("定期复核")),
            ("death", _("成员死亡复核")),
            ("recheck", _("定期核对发现复核")),
            ("warning", _("监测预警复核")),
        ],
    )
    due_date = models.DateField(_("应完成日期"))
    office_code = models.CharField(_("负责机构"), max_length=12)
    created_at = models.DateTimeField(default=timezone.now)
    done_at = models.DateTimeField(null=True)
    outcome = models.CharField(
        max_length=8, blank=True, choices=[("keep", _("维持")), ("change", _("调整")), ("stop", _("停发"))]
    )
    note = models.CharField(max_length=300, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["due_date", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment", "kind"],
                condition=models.Q(done_at__isnull=True),
                name="reviewtask_one_open",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.kind} {self.due_date}"


class ArrearsMonth(models.Model):
    """A month an enrolment was payable in but not paid, because it was enrolled after that month's
    run was computed (补发): paid once, with the enrolment's line in a later run (its `arrears`). One
    per enrolment and month, enforced by the key: no month is paid twice as arrears."""

    run = models.ForeignKey(PayrollRun, on_delete=models.PROTECT, related_name="arrears_months")
    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="arrears_months")
    month = models.DateField(_("漏发月份"))
    amount = models.DecimalField(_("金额"), max_digits=12, decimal_places=2)

    class Meta:
        ordering = ["enrolment_id", "month"]
        constraints = [
            models.UniqueConstraint(fields=["enrolment", "month"], name="arrearsmonth_once"),
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="arrearsmonth_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.month:%Y-%m} {self.amount}"


class RunParameter(models.Model):
    """A parameter value in force for a run's county and month, as the run's recalculation used it:
    what an amount proposal of the run rests on, so it can be reproduced and explained."""

    run = models.ForeignKey(PayrollRun, on_delete=models.CASCADE, related_name="parameters")
    name = models.CharField(_("参数"), max_length=80)
    description = models.CharField(_("说明"), max_length=200, blank=True)
    area = models.CharField(_("城乡"), max_length=8)
    region = models.CharField(_("适用地区"), max_length=6, blank=True)
    effective_from = models.DateField(_("生效日期"), null=True)
    value = models.TextField(_("值"))
    reference = models.CharField(_("依据文件"), max_length=300)

    class Meta:
        ordering = ["run_id", "name", "area"]
        constraints = [
            models.UniqueConstraint(fields=["run", "name", "area"], name="runparameter_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.run_id} {self.name}/{self.area}={self.value}"


class ProposalStatus(models.TextChoices):
    PROPOSED = "proposed", _("待审核")
    APPROVED = "approved", _("已批准")
    REJECTED = "rejected", _("不予调整")
    SUPERSEDED = "superseded", _("已被新建议替代")


class ProposalReason(models.TextChoices):
    FIRST = "first", _("首次核算")
    PARAMETERS = "parameters", _("标准调整")
    FACTS = "facts", _("家庭情况变化")
    AGE = "age", _("成员年龄段变化")
    STANDING = "standing", _("救助身份变化")


class AmountProposal(models.Model):
    """A monthly amount the rules give that differs from the decided one, found by a payroll run's
    recalculation. The run keeps paying the decided amount; the change takes effect only when a
    second person approves it (one by one, or all of a run's at once for a standard raise), with the
    written notice the regulation requires, from the first month not yet computed."""

    enrolment = models.ForeignKey(Enrolment, on_delete=models.PROTECT, related_name="proposals")
    run = models.ForeignKey(PayrollRun, on_delete=models.PROTECT, related_name="amount_proposals")
    reason = models.CharField(_("原因"), max_length=12, choices=ProposalReason.choices)
    current_amount = models.DecimalField(_("现发放金额"), max_digits=12, decimal_places=2)
    basis_amount = models.DecimalField(_("原测算金额"), max_digits=12, decimal_places=2)
    calculated_amount = models.DecimalField(_("重新测算金额"), max_digits=12, decimal_places=2)
    proposed_amount = models.DecimalField(_("建议金额"), max_digits=12, decimal_places=2)
    status = models.CharField(
        _("状态"), max_length=12, choices=ProposalStatus.choices, default=ProposalStatus.PROPOSED
    )
    created_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True)
    effective_month = models.DateField(_("生效月份"), null=True)
    notice = models.TextField(_("书面告知内容"), blank=True)
    note = models.CharField(_("审核意见"), max_length=300, blank=True)
    change = models.OneToOneField(
        EnrolmentChange, null=True, on_delete=models.PROTECT, related_name="proposal"
    )

    class Meta:
        verbose_name = _("金额调整建议")
        ordering = ["-created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["enrolment"],
                condition=models.Q(status="proposed"),
                name="amountproposal_one_open",
            ),
            models.CheckConstraint(
                condition=models.Q(proposed_amount__gte=0), name="amountproposal_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.enrolment_id} {self.current_amount}→{self.proposed_amount}"


# --- One-off payments (一次性救助发放) and funds (资金台账) ------------------------------------------


class OrderBasis(models.TextChoices):
    DECISION = "decision", _("审批决定")
    AID_FIRST = "aid_first", _("先行救助")
    BACK_PAY = "back_pay", _("补发（不随月度发放）")


class OrderStatus(models.TextChoices):
    AWAITING = "awaiting", _("待确定发放方式")
    READY = "ready", _("待编入代发批次")
    BATCHED = "batched", _("已编入代发批次")
    CASH_PAID = "cash_paid", _("已现金发放")
    CANCELLED = "cancelled", _("已撤销")


class PaymentMethod(models.TextChoices):
    BANK = "bank", _("银行代发")
    CASH = "cash", _("备用金现金发放")


class PaymentOrder(models.Model):
    """An amount decided once (temporary or medical assistance, back pay outside the monthly run) to
    be paid: by the bank in a one-off batch (a PayrollRun of kind ONE_OFF, one line per order), or
    in cash from the township's reserve fund with a receipt. One order per case and per back pay:
    nothing is paid twice."""

    county = models.CharField(_("县（区）代码"), max_length=6)
    division = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="+", verbose_name=_("村/社区")
    )
    township_code = models.CharField(_("乡镇（街道）代码"), max_length=12)
    programme = models.CharField(_("救助项目"), max_length=40)
    basis = models.CharField(_("依据"), max_length=10, choices=OrderBasis.choices)
    case = models.ForeignKey(Case, null=True, on_delete=models.PROTECT, related_name="payment_orders")
    change = models.OneToOneField(
        EnrolmentChange, null=True, on_delete=models.PROTECT, related_name="payment_order"
    )
    payee = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("领取人"))
    amount = models.DecimalField(_("金额（元）"), max_digits=12, decimal_places=2)
    reason = models.CharField(_("事由"), max_length=300)
    status = models.CharField(
        _("状态"), max_length=10, choices=OrderStatus.choices, default=OrderStatus.AWAITING
    )
    method = models.CharField(_("发放方式"), max_length=8, choices=PaymentMethod.choices, blank=True)
    bank_name = models.CharField(_("开户银行"), max_length=60, blank=True)
    account_encrypted = models.TextField(_("银行账号（加密）"), blank=True)
    account_masked = models.CharField(_("银行账号（脱敏）"), max_length=40, blank=True)
    account_changed_at = models.DateTimeField(_("账户变更时间"), null=True)
    run = models.ForeignKey(
        PayrollRun, null=True, on_delete=models.PROTECT, related_name="orders", verbose_name=_("代发批次")
    )
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("一次性救助支付单")
        ordering = ["-created_at", "-pk"]
        indexes = [models.Index(fields=["county", "status"], name="paymentorder_county_status")]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="paymentorder_amount_positive"),
            models.UniqueConstraint(
                fields=["case"], condition=models.Q(case__isnull=False), name="paymentorder_once_per_case"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.programme} {self.payee_id} {self.amount}"


class FundKind(models.TextChoices):
    ASSISTANCE = "assistance", _("临时救助资金")
    RESERVE = "reserve", _("乡镇（街道）备用金")


class Fund(models.Model):
    """A township's fund: the temporary-assistance fund its bank-paid one-off orders draw on, or
    its reserve fund (备用金) for cash paid first (先行救助). The balance is the sum of its ledger
    entries and never below zero (checked by the database)."""

    kind = models.CharField(_("资金类别"), max_length=12, choices=FundKind.choices)
    township_code = models.CharField(_("乡镇（街道）代码"), max_length=12)
    balance = models.DecimalField(_("余额（元）"), max_digits=16, decimal_places=2, default=0)

    class Meta:
        verbose_name = _("救助资金")
        ordering = ["township_code", "kind"]
        constraints = [
            models.UniqueConstraint(fields=["kind", "township_code"], name="fund_one_per_township"),
            models.CheckConstraint(condition=models.Q(balance__gte=0), name="fund_balance_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.township_code} {self.kind} {self.balance}"


class EntryKind(models.TextChoices):
    BUDGET = "budget", _("拨入（预算）")
    PAID = "paid", _("支出（已发放）")
    RECOVERED = "recovered", _("追回")
    RETURNED = "returned", _("退回（发放失败）")


class FundEntry(models.Model):
    """One movement of a fund, with the balance after it: allocations in, payments out (a bank
    batch's paid lines by reconciliation, a cash payment), recoveries and failed payments back."""

    fund = models.ForeignKey(Fund, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("类别"), max_length=10, choices=EntryKind.choices)
    month = models.DateField(_("所属月份"))
    amount = models.DecimalField(_("金额（元）"), max_digits=16, decimal_places=2)
    balance_after = models.DecimalField(_("余额（元）"), max_digits=16, decimal_places=2)
    order = models.ForeignKey(PaymentOrder, null=True, on_delete=models.PROTECT, related_name="entries")
    run = models.ForeignKey(PayrollRun, null=True, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("说明"), max_length=300, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("资金台账")
        ordering = ["fund_id", "at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="fundentry_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(balance_after__gte=0), name="fundentry_balance_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.fund_id} {self.kind} {self.amount}"


class CashPayment(models.Model):
    """Cash paid from a township's reserve fund against an order, with the receipt the recipient signed."""

    order = models.OneToOneField(PaymentOrder, on_delete=models.PROTECT, related_name="cash_payment")
    receipt_number = models.CharField(_("收据编号"), max_length=40, unique=True)
    paid_on = models.DateField(_("发放日期"))
    recipient_name = models.CharField(_("领款人"), max_length=60)
    recipient_signed = models.BooleanField(_("领款人已签字"), default=False)
    paid_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = models.CharField(_("备注"), max_length=300, blank=True)
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("现金发放收据")

    def __str__(self) -> str:
        return self.receipt_number
