"""Parameter values in the database: loaded from the shipped packs, or proposed by a county
administrator and approved by a second person. Rows are never updated in value: a correction is a new
row, and the row it replaces points to it (superseded_by), so the history stays whole."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ValueStatus(models.TextChoices):
    PROPOSED = "proposed", _("待批准")
    APPROVED = "approved", _("已生效")
    REJECTED = "rejected", _("已驳回")


class ParameterValue(models.Model):
    name = models.CharField(_("参数名称"), max_length=80)
    region = models.CharField(
        _("适用地区代码"), max_length=6, blank=True, help_text=_("空=全国；2/4/6位区划代码")
    )
    area = models.CharField(_("城乡"), max_length=8, default="all")
    effective_from = models.DateField(_("生效日期"))
    value = models.TextField(_("值"))
    reference = models.CharField(_("依据文件"), max_length=300)
    provisional = models.BooleanField(_("待核实"), default=False)
    source = models.CharField(_("来源"), max_length=40)
    status = models.CharField(_("状态"), max_length=10, choices=ValueStatus.choices)
    reason = models.CharField(_("调整理由"), max_length=300, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("提出人"),
    )
    proposed_at = models.DateTimeField(_("提出时间"), default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("批准人"),
    )
    decided_at = models.DateTimeField(_("批准时间"), null=True)
    decision_note = models.CharField(_("批准意见"), max_length=300, blank=True)
    superseded_by = models.ForeignKey(
        "self", null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("被更正为")
    )

    class Meta:
        verbose_name = _("参数值")
        ordering = ["name", "region", "area", "effective_from", "pk"]
        indexes = [models.Index(fields=["status", "name"], name="parameter_value_status_name")]
        constraints = [
            models.UniqueConstraint(
                fields=["name", "region", "area", "effective_from"],
                condition=models.Q(status="approved", superseded_by__isnull=True),
                name="parameter_value_one_in_force",
            ),
            models.CheckConstraint(
                condition=models.Q(area__in=["urban", "rural", "all"]), name="parameter_value_area"
            ),
            models.CheckConstraint(
                condition=models.Q(status__in=["proposed", "approved", "rejected"]),
                name="parameter_value_status",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name}@{self.region or '全国'}/{self.area} {self.effective_from}: {self.value}"


class Calculation(models.Model):
    """A calculation kept as evidence (e.g. the one a decision rests on): the facts, the result with its
    line items and every parameter value used, so the figure can be reproduced years later even after
    the standards have changed (engine.reproduce)."""

    programme = models.CharField(_("救助项目"), max_length=40)
    household = models.ForeignKey(
        "registry.Household", null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("家庭")
    )
    division_code = models.CharField(_("区划代码"), max_length=12, db_index=True)
    on_date = models.DateField(_("测算日期"))
    eligible = models.BooleanField(_("符合条件"))
    amount = models.DecimalField(_("金额（元）"), max_digits=14, decimal_places=2)
    result = models.JSONField(_("结果与说明"))
    digest = models.CharField(_("结果摘要（SHA-256）"), max_length=64)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("测算人"),
    )
    created_at = models.DateTimeField(_("测算时间"), default=timezone.now)

    class Meta:
        verbose_name = _("测算记录")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="calculation_amount_not_negative")
        ]

    def __str__(self) -> str:
        return f"{self.programme} {self.on_date} {self.amount}"


class MemberFacts(models.Model):
    """A member's facts as the rules read them, constant from valid_from to valid_until (inclusive;
    null: open): derived from the registry and kept current by `rules.summary` (never edited by hand).
    Money in integer fen (rules.money)."""

    person_id = models.BigIntegerField(db_index=True)
    household_id = models.BigIntegerField(db_index=True)
    valid_from = models.DateField()
    valid_until = models.DateField(null=True)
    region = models.CharField(max_length=12)
    area = models.CharField(max_length=8)
    birth_date = models.DateField()
    disability_category = models.CharField(max_length=20, null=True)  # noqa: DJ001 (null: no record, as the engine reads it)
    disability_grade = models.SmallIntegerField(null=True)
    serious_illness = models.BooleanField()
    labour_capacity = models.CharField(max_length=20, null=True)  # noqa: DJ001 (null: no record, as the engine reads it)
    self_care = models.CharField(max_length=20, null=True)  # noqa: DJ001 (null: no record, as the engine reads it)
    in_school_full_time = models.BooleanField()
    counted_income_fen = models.BigIntegerField()
    rigid_expenses_fen = models.BigIntegerField()
    financial_assets_fen = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(fields=["region", "valid_from"], name="memberfacts_region_from"),
            # A payroll run finds the members who reached an age the rules tell apart (payments.payroll).
            models.Index(fields=["birth_date"], name="memberfacts_birth_date"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.household_id} {self.valid_from}~{self.valid_until or ''}"


class StaleFacts(models.Model):
    """A person or household whose MemberFacts are to be recomputed, written by database triggers."""

    person_id = models.BigIntegerField(null=True)
    household_id = models.BigIntegerField(null=True)

    def __str__(self) -> str:
        return f"person {self.person_id}" if self.person_id else f"household {self.household_id}"


class FactsChange(models.Model):
    """A person whose MemberFacts a refresh recomputed (ids in commit order: refreshes run one at a
    time), so that a payroll run recomputes only the households that changed since its county's
    previous run (`payments.payroll`). Kept `rules.summary.KEEP_DAYS` days."""

    person_id = models.BigIntegerField()
    at = models.DateTimeField(db_index=True)

    def __str__(self) -> str:
        return f"{self.pk}: person {self.person_id}"


class TakeUpScan(models.Model):
    """One take-up scan (应保尽保排查) of a county on a day: the bulk engine over every registered
    household of the county, for the programmes listed, kept with its counts and the parameter values
    it read (`rules.takeup`). A newer scan of the county replaces the older one's open gaps; the scan
    rows stay as history."""

    county = models.CharField(_("县（市、区）代码"), max_length=6)
    day = models.DateField(_("排查日期"))
    programmes = models.JSONField(_("排查项目"), default=list)
    started_at = models.DateTimeField(_("开始时间"), default=timezone.now)
    finished_at = models.DateTimeField(_("完成时间"), null=True)
    households = models.PositiveIntegerField(_("排查家庭数"), default=0)
    gaps = models.PositiveIntegerField(_("应保未保（户·项）"), default=0)
    by_programme = models.JSONField(_("各项目户数"), default=dict)
    parameters = models.JSONField(_("所用参数"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("排查人"),
    )

    class Meta:
        verbose_name = _("应保尽保排查")
        ordering = ["-started_at", "-pk"]
        indexes = [models.Index(fields=["county", "-started_at"], name="takeupscan_county_started")]

    def __str__(self) -> str:
        return f"{self.county} {self.day} ({self.gaps})"


class TakeUpGap(models.Model):
    """A household the rules say qualifies for a programme it neither receives nor has applied for,
    as one scan found it, with the figures of the calculation that says so (integer fen, as the
    bulk engine computes them). Taken up when an application is started for it (主动发现); the case is
    recorded by id and number (cases sit above the rules)."""

    scan = models.ForeignKey(TakeUpScan, on_delete=models.CASCADE, related_name="gap_rows")
    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="+", verbose_name=_("家庭")
    )
    division_code = models.CharField(_("村/社区代码"), max_length=12)
    programme = models.CharField(_("救助项目"), max_length=40)
    amount_fen = models.BigIntegerField(_("测算月金额（分）"))
    members = models.PositiveSmallIntegerField(_("家庭人数"))
    income_fen = models.BigIntegerField(_("家庭月收入（分）"))
    per_capita_income_fen = models.BigIntegerField(_("人均月收入（分）"))
    standard_fen = models.BigIntegerField(_("低保标准（分）"), null=True)
    rigid_expenses_fen = models.BigIntegerField(_("刚性支出（分）"), default=0)
    financial_assets_fen = models.BigIntegerField(_("金融资产（分）"), default=0)
    taken_up_at = models.DateTimeField(_("发起申请时间"), null=True)
    taken_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("发起人"),
    )
    case_id = models.BigIntegerField(_("申请案件ID"), null=True)
    case_number = models.CharField(_("受理编号"), max_length=24, blank=True)

    class Meta:
        verbose_name = _("应保未保家庭")
        ordering = ["division_code", "household_id", "programme"]
        indexes = [
            # The worklists: open gaps of a village, township or county (a range of division codes),
            # in page order; with the amount, the counts per village read the index alone.
            models.Index(
                fields=["division_code", "household", "programme"],
                include=["amount_fen"],
                condition=models.Q(taken_up_at__isnull=True),
                name="takeupgap_open_division_cover",
            ),
            models.Index(fields=["scan", "division_code"], name="takeupgap_scan_division"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["scan", "household", "programme"], name="takeupgap_one_per_scan"),
            models.CheckConstraint(condition=models.Q(amount_fen__gt=0), name="takeupgap_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(taken_up_at__isnull=True, case_id__isnull=True)
                | models.Q(taken_up_at__isnull=False, case_id__isnull=False),
                name="takeupgap_taken_up_has_case",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.household_id} {self.programme} {self.amount_fen}"
