"""Low-income population monitoring and active discovery (低收入人口动态监测, 主动发现, DOMAIN.md §8, §12).

- Cohorts: who is monitored. Dibao, extreme poverty and near-poor households come from the assistance
  statuses (rules.standing), rigid-expense hardship from the registry's rigid expenses; households at
  risk of returning to poverty (防返贫监测, the rural-revitalisation side) and others are imported or
  recorded as `CohortMembership`, dated, with their source.
- Feeds: another department's monthly file (`Feed`), its rows (`FeedRecord`) matched to persons by
  the keyed digest of the ID number, never stored in plaintext.
- Warning rules as data (`WarningRule`): named, dated, regional; which event, the threshold, the
  cohorts, the direction, the severity and the deduplication window. Evaluated set-based per feed.
- Warnings (`Warning`) routed to the township, with the closed loop: accepted, visited by two workers
  (`WarningVisit`, photos), verified true or false, disposed within the limit (a pre-filled
  application, temporary assistance, a referral, a re-check of an existing benefit — never a stop —
  or no action with a reason); overdue ones escalate to the county.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minzheng.cases.models import Case
from minzheng.registry.models import Household, Person


class Cohort(models.TextChoices):
    DIBAO = "dibao", _("低保对象")
    EXTREME_POVERTY = "extreme_poverty", _("特困人员")
    NEAR_POOR = "near_poor", _("低保边缘家庭成员")
    RIGID_EXPENSE = "rigid_expense", _("刚性支出困难家庭成员")
    RETURN_RISK = "return_risk", _("防止返贫监测对象")
    OTHER = "other", _("其他困难人员")


# Cohorts derived from data (statuses and the registry); the others are imported or recorded.
DERIVED_COHORTS = (Cohort.DIBAO, Cohort.EXTREME_POVERTY, Cohort.NEAR_POOR, Cohort.RIGID_EXPENSE)


class CohortMembership(models.Model):
    """A person monitored in a cohort that is not derived from our own data (防返贫监测 lists from the
    rural-revitalisation bureau, others), dated, with its source."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+", verbose_name=_("人员"))
    cohort = models.CharField(_("监测类别"), max_length=16, choices=Cohort.choices)
    since = models.DateField(_("纳入日期"))
    until = models.DateField(_("退出日期"), null=True, blank=True)
    source = models.CharField(_("来源"), max_length=120)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)
    imported_from = models.ForeignKey(
        "CohortImport", null=True, blank=True, on_delete=models.PROTECT, related_name="memberships"
    )

    class Meta:
        verbose_name = _("监测对象")
        ordering = ["person_id", "cohort", "since"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(until__isnull=True) | models.Q(until__gte=models.F("since")),
                name="cohort_membership_dates",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} {self.cohort}"


class EventType(models.TextChoices):
    MEDICAL_SELF_PAY = "medical_self_pay", _("医疗费用个人自付")
    HOSPITALISATION = "hospitalisation", _("住院")
    DISABILITY_GRADING = "disability_grading", _("残疾评定")
    UNEMPLOYMENT = "unemployment", _("登记失业")
    DEATH = "death", _("死亡、火化")
    DISASTER = "disaster", _("受灾")
    SCHOOL_ENROLMENT = "school_enrolment", _("入学")
    VEHICLE_PURCHASE = "vehicle_purchase", _("购买机动车")
    PROPERTY_PURCHASE = "property_purchase", _("购买房产")


class Feed(models.Model):
    """One department's file of events for a period, imported whole or not at all."""

    county = models.CharField(_("县（区）代码"), max_length=6)
    department = models.CharField(_("来源部门"), max_length=60)
    event_type = models.CharField(_("数据类别"), max_length=24, choices=EventType.choices)
    period = models.DateField(_("所属月份"))
    file_name = models.CharField(_("文件名"), max_length=200)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(_("记录数"))
    matched = models.PositiveIntegerField(_("匹配到人员"), default=0)
    warnings = models.PositiveIntegerField(_("产生预警"), default=0)
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("部门监测数据")
        ordering = ["-imported_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["county", "sha256"], name="feed_file_once_per_county"),
        ]

    def __str__(self) -> str:
        return f"{self.department} {self.event_type} {self.period:%Y-%m}"


class FeedRecord(models.Model):
    """A row of a feed: the person by the keyed digest of the ID number (matched to the registry when
    the person is registered), the event's day and amount."""

    feed = models.ForeignKey(Feed, on_delete=models.CASCADE, related_name="records")
    row = models.PositiveIntegerField(_("行号"))
    id_digest = models.CharField(max_length=64)
    id_masked = models.CharField(_("证件号码（脱敏）"), max_length=18)
    person = models.ForeignKey(Person, null=True, on_delete=models.PROTECT, related_name="+")
    event_on = models.DateField(_("发生日期"))
    amount = models.DecimalField(_("金额（元）"), max_digits=14, decimal_places=2, null=True)
    detail = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("部门监测数据记录")
        ordering = ["feed_id", "row"]
        indexes = [models.Index(fields=["feed", "person"], name="feedrecord_feed_person")]

    def __str__(self) -> str:
        return f"{self.feed_id}:{self.row}"


class Direction(models.TextChoices):
    NEEDS_HELP = "needs_help", _("可能需要救助")
    MAY_NOT_QUALIFY = "may_not_qualify", _("可能不再符合条件")


class Severity(models.IntegerChoices):
    NORMAL = 1, _("一般")
    SERIOUS = 2, _("较重")
    URGENT = 3, _("紧急")


class WarningRule(models.Model):
    """A warning rule as data: named and versioned by date and region (a county's own version
    replaces the national default from its date)."""

    code = models.SlugField(_("规则代码"), max_length=40)
    name = models.CharField(_("规则名称"), max_length=100)
    region = models.CharField(_("适用地区"), max_length=6, blank=True, help_text=_("空：全国默认"))
    valid_from = models.DateField(_("生效日期"))
    event_type = models.CharField(_("数据类别"), max_length=24, choices=EventType.choices)
    threshold = models.DecimalField(
        _("阈值（元，合计不低于）"), max_digits=14, decimal_places=2, null=True, blank=True
    )
    cohorts = models.JSONField(_("适用监测类别"), default=list)
    outside_cohorts = models.BooleanField(_("监测对象以外也预警（新发现）"), default=False)
    direction = models.CharField(_("方向"), max_length=16, choices=Direction.choices)
    severity = models.PositiveSmallIntegerField(_("严重程度"), choices=Severity.choices)
    dedupe_days = models.PositiveSmallIntegerField(_("去重期（天）"), default=90)
    active = models.BooleanField(_("启用"), default=True)
    reference = models.CharField(_("依据"), max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("预警规则")
        ordering = ["code", "region", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["code", "region", "valid_from"], name="warningrule_version_once"),
            models.CheckConstraint(
                condition=models.Q(threshold__isnull=True) | models.Q(threshold__gte=0),
                name="warningrule_threshold_not_negative",
            ),
            models.CheckConstraint(condition=models.Q(dedupe_days__lte=366), name="warningrule_dedupe_year"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.region or '全国'} {self.valid_from}"


class WarningState(models.TextChoices):
    NEW = "new", _("待签收")
    ACCEPTED = "accepted", _("已签收，待核实")
    VISITED = "visited", _("已入户")
    VERIFIED_TRUE = "verified_true", _("核实属实，待处置")
    VERIFIED_FALSE = "verified_false", _("核实不属实，待处置")
    DISPOSED = "disposed", _("已处置")


class Outcome(models.TextChoices):
    APPLICATION = "application", _("引导申请救助（预填申请）")
    TEMPORARY = "temporary", _("临时救助")
    REFERRAL = "referral", _("转介其他部门")
    RECHECK = "recheck", _("对现有救助复核")
    NO_ACTION = "no_action", _("无需处置")


class Warning(models.Model):
    """A warning about a person (and their household), routed to the township office."""

    rule = models.ForeignKey(WarningRule, null=True, on_delete=models.PROTECT, related_name="warnings")
    emergency = models.CharField(_("急难情况"), max_length=40, blank=True)
    record = models.ForeignKey(FeedRecord, null=True, on_delete=models.PROTECT, related_name="+")
    records = models.PositiveIntegerField(_("依据记录数"), default=0)
    amount = models.DecimalField(_("合计金额（元）"), max_digits=14, decimal_places=2, null=True)
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="+")
    village_code = models.CharField(_("村（社区）"), max_length=12)
    township_code = models.CharField(_("负责乡镇（街道）"), max_length=12, db_index=True)
    cohorts = models.CharField(_("监测类别"), max_length=120, blank=True)
    discovery = models.BooleanField(_("监测对象以外（新发现）"), default=False)
    direction = models.CharField(_("方向"), max_length=16, choices=Direction.choices)
    severity = models.PositiveSmallIntegerField(_("严重程度"), choices=Severity.choices)
    description = models.CharField(_("说明"), max_length=300, blank=True)
    state = models.CharField(_("状态"), max_length=16, choices=WarningState.choices, default=WarningState.NEW)
    clue_on = models.DateField(_("线索日期"))
    due_on = models.DateField(_("处置期限"))
    created_at = models.DateTimeField(default=timezone.now)
    reported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    accepted_at = models.DateTimeField(null=True)
    verified = models.BooleanField(_("核实属实"), null=True)
    verified_note = models.CharField(_("核实说明"), max_length=300, blank=True)
    outcome = models.CharField(_("处置结果"), max_length=12, choices=Outcome.choices, blank=True)
    outcome_reason = models.CharField(_("处置说明"), max_length=300, blank=True)
    referred_to = models.CharField(_("转介部门"), max_length=60, blank=True)
    case = models.ForeignKey(Case, null=True, on_delete=models.PROTECT, related_name="+")
    disposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    disposed_at = models.DateTimeField(null=True)
    escalated_at = models.DateTimeField(_("逾期上报县级"), null=True)

    class Meta:
        verbose_name = _("监测预警")
        ordering = ["-severity", "due_on", "pk"]
        indexes = [
            models.Index(fields=["person", "rule", "created_at"], name="warning_dedupe"),
            models.Index(fields=["state", "due_on"], name="warning_state_due"),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def number(self) -> str:
        return f"YJ{self.pk:08d}" if self.pk else "YJ"


class WarningVisit(models.Model):
    """A home visit on a warning: two workers at least, what they found, photos."""

    warning = models.ForeignKey(Warning, on_delete=models.CASCADE, related_name="visits")
    visited_on = models.DateField(_("入户日期"))
    workers = models.JSONField(_("入户人员"))
    findings = models.TextField(_("核实情况"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("预警入户核实")
        ordering = ["warning_id", "visited_on", "pk"]

    def __str__(self) -> str:
        return f"{self.warning_id} {self.visited_on}"


class WarningPhoto(models.Model):
    visit = models.ForeignKey(WarningVisit, on_delete=models.CASCADE, related_name="photos")
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()

    class Meta:
        verbose_name = _("入户照片")
        ordering = ["visit_id", "pk"]

    def __str__(self) -> str:
        return f"{self.visit_id}:{self.pk}"


class CohortImport(models.Model):
    """A whole list of monitored persons brought in from one file (a rural-revitalisation bureau's
    防返贫监测 list, others), taken whole or not at all."""

    county = models.CharField(_("县（区）代码"), max_length=6)
    source = models.CharField(_("来源"), max_length=120)
    file_name = models.CharField(_("文件名"), max_length=200)
    sha256 = models.CharField(max_length=64)
    rows = models.PositiveIntegerField(_("记录数"))
    added = models.PositiveIntegerField(_("新登记"))
    already = models.PositiveIntegerField(_("已在监测中"))
    imported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    imported_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("监测对象名单导入")
        ordering = ["-imported_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["county", "sha256"], name="cohort_import_once_per_county"),
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.file_name}"


class FeedFeedback(models.Model):
    """What went back to a feed's source department: each of its records, whether the person is
    registered, and the warnings it raised with their state and outcome (a sealed workbook).
    Interim while warnings are open, final once all are disposed."""

    feed = models.ForeignKey(Feed, on_delete=models.PROTECT, related_name="feedbacks")
    rows = models.PositiveIntegerField(_("行数"))
    open_warnings = models.PositiveIntegerField(_("未处置预警"))
    final = models.BooleanField(_("最终反馈"))
    sha256 = models.CharField(max_length=64)
    content = models.BinaryField()
    issued_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    issued_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("监测数据反馈")
        ordering = ["feed_id", "-issued_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.feed_id} {self.issued_at:%Y-%m-%d}"
