"""Economic-status verification (家庭经济状况核对, MZ/T 072-2024): the members' authorisations, one
request per case fanned out to the departments, each department's query, what they answered about
each member (findings, compared with the household's declaration), and the report the decision rests
on."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minzheng.cases.models import Case
from minzheng.registry.models import Household, Person


class SignerRole(models.TextChoices):
    MEMBER = "member", _("家庭成员本人")
    GUARDIAN = "guardian", _("监护人（未成年人、无民事行为能力人）")
    SUPPORTER = "supporter", _("赡养、抚养、扶养义务人")


class Authorisation(models.Model):
    """A person's signed authorisation to verify their economic status (核对授权书): every member of
    the household (a guardian signs for a minor) and every person with a duty of support."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="authorisations")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("被核对人"))
    role = models.CharField(_("签署身份"), max_length=10, choices=SignerRole.choices)
    signer_name = models.CharField(_("签署人"), max_length=60)
    signed_on = models.DateField(_("签署日期"))
    reference = models.CharField(_("授权书编号"), max_length=60, blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("核对授权")
        ordering = ["case_id", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["case", "person"], name="authorisation_once_per_person"),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.person_id}"


class RequestStatus(models.TextChoices):
    OPEN = "open", _("核对中")
    ANSWERED = "answered", _("已全部反馈，待出具报告")
    REPORTED = "reported", _("已出具核对报告")
    SUPERSEDED = "superseded", _("已被复核替代")


class VerificationRequest(models.Model):
    """One verification of a household: for a case, sent to every department at once."""

    case = models.ForeignKey(Case, null=True, on_delete=models.PROTECT, related_name="verifications")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    county = models.CharField(_("县（区）代码"), max_length=6)
    transaction_id = models.CharField(_("事务编号"), max_length=64, unique=True)
    as_of = models.DateField(_("核对时点"))
    status = models.CharField(
        _("状态"), max_length=12, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    supersedes = models.OneToOneField(
        "self",
        null=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
        verbose_name=_("复核所替代的核对"),
    )
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("核对请求")
        ordering = ["-requested_at", "-pk"]

    def __str__(self) -> str:
        return self.transaction_id


class QueryStatus(models.TextChoices):
    QUEUED = "queued", _("待发送")
    ACKNOWLEDGED = "acknowledged", _("已受理，待反馈")
    ANSWERED = "answered", _("已反馈")
    REJECTED = "rejected", _("部门拒绝")
    FAILED = "failed", _("发送失败")
    TIMED_OUT = "timed_out", _("超时未反馈")


class RecheckBatch(models.Model):
    """A county's monthly re-check of its recipients (在保对象定期核对): every member of each household
    whose re-review falls due by the end of the month, asked of every department in one request file
    each. What the departments answer is compared with the declarations set-based; a difference opens
    a re-review task (`RecheckHit`), never a stop."""

    county = models.CharField(_("县（区）代码"), max_length=6)
    month = models.DateField(_("核对月份"))
    transaction_id = models.CharField(_("事务编号"), max_length=64, unique=True)
    as_of = models.DateField(_("核对时点"))
    status = models.CharField(
        _("状态"), max_length=12, choices=RequestStatus.choices, default=RequestStatus.OPEN
    )
    households = models.PositiveIntegerField(_("家庭数"), default=0)
    persons = models.PositiveIntegerField(_("人数"), default=0)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("在保对象定期核对批次")
        ordering = ["-month", "county"]
        constraints = [models.UniqueConstraint(fields=["county", "month"], name="recheck_once_per_month")]

    def __str__(self) -> str:
        return f"{self.county} {self.month:%Y-%m}"


class RecheckSubject(models.Model):
    """A person asked about in a re-check batch (the request file's reference is this row's id)."""

    # Written set-based (one INSERT ... SELECT of a million rows from the rows they point to): the
    # database's per-row foreign-key checks at commit would cost more than the batch itself, and
    # registry rows are never deleted.
    batch = models.ForeignKey(  # indexed by the unique (batch, person) below
        RecheckBatch, on_delete=models.CASCADE, related_name="subjects", db_constraint=False, db_index=False
    )
    household = models.ForeignKey(
        Household, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="+", db_constraint=False, db_index=False
    )
    person_key = models.CharField(_("匹配键"), max_length=64)

    class Meta:
        verbose_name = _("定期核对对象")
        constraints = [models.UniqueConstraint(fields=["batch", "person"], name="recheck_subject_once")]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.person_id}"


class DepartmentQuery(models.Model):
    """A query to one department — for a case's request or a re-check batch — with its state and
    time limit in working days."""

    request = models.ForeignKey(
        VerificationRequest, null=True, on_delete=models.CASCADE, related_name="queries"
    )
    batch = models.ForeignKey(RecheckBatch, null=True, on_delete=models.CASCADE, related_name="queries")
    counterparty = models.CharField(_("核对部门"), max_length=40)
    status = models.CharField(
        _("状态"), max_length=14, choices=QueryStatus.choices, default=QueryStatus.QUEUED
    )
    attempts = models.PositiveSmallIntegerField(_("发送次数"), default=0)
    due_on = models.DateField(_("反馈期限"))
    correlation_id = models.CharField(max_length=100, blank=True)
    sent_at = models.DateTimeField(null=True)
    answered_at = models.DateTimeField(null=True)
    error = models.CharField(_("错误"), max_length=300, blank=True)
    records = models.PositiveIntegerField(_("反馈记录数"), default=0)

    class Meta:
        verbose_name = _("部门核对查询")
        ordering = ["request_id", "counterparty"]
        constraints = [
            models.UniqueConstraint(fields=["request", "counterparty"], name="query_once_per_department"),
            models.UniqueConstraint(fields=["batch", "counterparty"], name="batch_query_once_per_department"),
            models.CheckConstraint(
                condition=models.Q(request__isnull=True, batch__isnull=False)
                | models.Q(request__isnull=False, batch__isnull=True),
                name="query_of_a_request_or_a_batch",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.request_id} {self.counterparty}"


class Disposition(models.TextChoices):
    PENDING = "pending", _("待处理")
    ACCEPTED = "accepted", _("采信核对结果")
    EXPLAINED = "explained", _("已核实说明（不采信）")
    CONTESTED = "contested", _("申请人提出异议")


class Finding(models.Model):
    """What a department answered about one member, against what the household declared."""

    request = models.ForeignKey(VerificationRequest, on_delete=models.CASCADE, related_name="findings")
    query = models.ForeignKey(DepartmentQuery, on_delete=models.CASCADE, related_name="findings")
    person = models.ForeignKey(Person, null=True, on_delete=models.PROTECT, related_name="+")
    person_key = models.CharField(_("匹配键"), max_length=64)
    item = models.CharField(_("核对项目"), max_length=24)
    description = models.CharField(_("说明"), max_length=200)
    amount = models.DecimalField(_("金额（元）"), max_digits=14, decimal_places=2, null=True)
    quantity = models.DecimalField(_("数量"), max_digits=12, decimal_places=2, null=True)
    unit = models.CharField(_("单位"), max_length=20, blank=True)
    period_start = models.DateField(null=True)
    period_end = models.DateField(null=True)
    source_ref = models.CharField(_("来源记录"), max_length=100, blank=True)
    declared = models.DecimalField(_("申报值"), max_digits=14, decimal_places=2, null=True)
    discrepancy = models.BooleanField(_("与申报不符"), default=False)
    disposition = models.CharField(
        _("处理"), max_length=10, choices=Disposition.choices, default=Disposition.PENDING
    )
    disposition_note = models.CharField(_("处理说明"), max_length=300, blank=True)
    disposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    disposed_at = models.DateTimeField(null=True)

    class Meta:
        verbose_name = _("核对发现")
        ordering = ["request_id", "person_id", "item", "pk"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.item} {self.amount}"


class Report(models.Model):
    """The verification report (核对报告) of a request: its content frozen when issued, sealed with a
    digest; a re-check's report supersedes it and both are kept."""

    request = models.OneToOneField(VerificationRequest, on_delete=models.PROTECT, related_name="report")
    number = models.CharField(_("报告编号"), max_length=40, unique=True)
    content = models.JSONField(_("报告内容"))
    sha256 = models.CharField(max_length=64)
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("核对报告")
        ordering = ["-issued_at", "-pk"]

    def __str__(self) -> str:
        return self.number


class RecheckHit(models.Model):
    """What a department holds on a recipient that differs from the declaration (income or assets above
    what was declared, undeclared real estate, a death): the records summed per member and item. It
    opens a re-review task of the household's enrolments (复核) and never stops a payment by itself."""

    # Written with COPY from the batch's own rows (see RecheckSubject on the foreign keys).
    batch = models.ForeignKey(
        RecheckBatch, on_delete=models.CASCADE, related_name="hits", db_constraint=False
    )
    query = models.ForeignKey(
        DepartmentQuery, on_delete=models.CASCADE, related_name="hits", db_constraint=False
    )
    subject = models.ForeignKey(
        RecheckSubject, on_delete=models.CASCADE, related_name="hits", db_constraint=False
    )
    item = models.CharField(_("核对项目"), max_length=24)
    amount = models.DecimalField(_("部门数据（合计）"), max_digits=14, decimal_places=2, null=True)
    records = models.PositiveIntegerField(_("记录数"))
    declared = models.DecimalField(_("申报值"), max_digits=14, decimal_places=2, null=True)
    source_ref = models.CharField(_("来源记录"), max_length=100, blank=True)
    description = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("定期核对发现")
        ordering = ["batch_id", "subject_id", "item"]
        constraints = [
            models.UniqueConstraint(fields=["query", "subject", "item"], name="recheck_hit_once"),
        ]

    def __str__(self) -> str:
        return f"{self.batch_id} {self.subject_id} {self.item}"
