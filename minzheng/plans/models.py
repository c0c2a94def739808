"""Development plans and their indicators (规划指标): the plan's 2020 values and 2025 targets as data,
figures entered with evidence and approved by a second person (IndicatorEntry), and each year's
value (IndicatorValue), computed where the system holds the data, frozen once published."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Attribute(models.TextChoices):
    BINDING = "binding", _("约束性")
    EXPECTED = "expected", _("预期性")


class Comparison(models.TextChoices):
    AT_LEAST = "gte", "≥"
    MORE_THAN = "gt", ">"
    RELATIVE = "relative", _("不低于对比数据")


class Computation(models.TextChoices):
    """How a computed indicator is obtained (minzheng.plans.compute); blank: entered."""

    DIBAO_GROWTH = "dibao_growth", _("低保标准年度增速（标准参数）")
    DIBAO_RATIO = "dibao_ratio", _("农村低保标准占城市低保标准比例（标准参数）")
    DISABILITY_LIVING = "disability_living_coverage", _("困难残疾人生活补贴覆盖率（在保对象÷残联人数）")
    DISABILITY_CARE = "disability_care_coverage", _("重度残疾人护理补贴覆盖率（在保对象÷残联人数）")


class Plan(models.Model):
    code = models.SlugField("代码", max_length=60, unique=True)
    name = models.CharField("名称", max_length=120)
    region = models.CharField("地区代码", max_length=6, help_text="县（区）GB/T 2260 六位代码")
    basis = models.CharField("依据", max_length=200)
    baseline_year = models.PositiveSmallIntegerField("基期年度")
    target_year = models.PositiveSmallIntegerField("目标年度")

    class Meta:
        ordering = ["region", "code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(region__regex=r"^[0-9]{6}$"), name="plan_region_6_digits"
            ),
            models.CheckConstraint(
                condition=models.Q(target_year__gt=models.F("baseline_year")), name="plan_years_ordered"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.region} {self.name}"


class Indicator(models.Model):
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="indicators")
    number = models.PositiveSmallIntegerField("序号")
    name = models.CharField("主要指标", max_length=120)
    unit = models.CharField("单位", max_length=20)
    baseline_value = models.DecimalField("基期值", max_digits=14, decimal_places=2, null=True)
    baseline_text = models.CharField("基期值（原文）", max_length=40)
    target_value = models.DecimalField("目标值", max_digits=14, decimal_places=2, null=True)
    target_comparison = models.CharField("目标比较", max_length=10, choices=Comparison.choices)
    target_text = models.CharField("目标值（原文）", max_length=60)
    attribute = models.CharField("指标属性", max_length=10, choices=Attribute.choices)
    computation = models.CharField("计算方法", max_length=40, choices=Computation.choices, blank=True)
    decimals = models.PositiveSmallIntegerField("小数位数", default=1)
    source = models.CharField("数据来源", max_length=200)

    class Meta:
        ordering = ["plan_id", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="indicator_number_once"),
            models.CheckConstraint(
                condition=models.Q(target_comparison="relative") | models.Q(target_value__isnull=False),
                name="indicator_target_has_value",
            ),
            models.CheckConstraint(condition=models.Q(decimals__lte=2), name="indicator_decimals_0_2"),
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"

    @property
    def computed(self) -> bool:
        return bool(self.computation)


class EntryKind(models.TextChoices):
    VALUE = "value", _("指标值")
    DENOMINATOR = "denominator", _("目标人数（分母）")
    BENCHMARK = "benchmark", _("对比数据")


class EntryStatus(models.TextChoices):
    PENDING = "pending", _("待审核")
    APPROVED = "approved", _("已审核")
    REJECTED = "rejected", _("已退回")
    SUPERSEDED = "superseded", _("已被替代")


class IndicatorEntry(models.Model):
    """A figure entered for a year with its evidence (stored here, in the database), approved by a
    second person before it counts: an indicator's value, a coverage rate's denominator, or the
    statistic a relative target is compared with."""

    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="entries")
    year = models.PositiveSmallIntegerField("年度")
    kind = models.CharField("填报内容", max_length=12, choices=EntryKind.choices)
    value = models.DecimalField("数值", max_digits=14, decimal_places=2)
    source = models.CharField("数据来源", max_length=200)
    note = models.CharField("说明", max_length=300, blank=True)
    evidence_name = models.CharField("佐证材料", max_length=200)
    evidence_type = models.CharField("文件类型", max_length=80)
    evidence_size = models.PositiveIntegerField("大小（字节）")
    evidence_sha256 = models.CharField("SHA-256", max_length=64)
    evidence_content = models.BinaryField("内容")
    entered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    entered_at = models.DateTimeField("填报时间", default=timezone.now)
    status = models.CharField("状态", max_length=12, choices=EntryStatus.choices, default=EntryStatus.PENDING)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField("审核时间", null=True)
    decision_note = models.CharField("审核意见", max_length=300, blank=True)

    class Meta:
        ordering = ["indicator_id", "-year", "-entered_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(evidence_size__gt=0), name="entry_evidence_not_empty"),
            models.CheckConstraint(condition=models.Q(year__gte=2000, year__lte=2100), name="entry_year"),
            # Maker-checker in the database too: nobody decides their own entry.
            models.CheckConstraint(
                condition=models.Q(decided_by__isnull=True) | ~models.Q(decided_by=models.F("entered_by")),
                name="entry_decided_by_another",
            ),
            models.UniqueConstraint(
                fields=["indicator", "year", "kind"],
                condition=models.Q(status="pending"),
                name="entry_one_pending",
            ),
            models.UniqueConstraint(
                fields=["indicator", "year", "kind"],
                condition=models.Q(status="approved"),
                name="entry_one_approved",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.year} {self.kind} {self.value}"


class IndicatorValue(models.Model):
    """An indicator's value for a year: computed from what the system holds, or the approved entry.
    `inputs` says what it came from (parameters with their references, counts, entries); once
    published it is frozen and never recomputed."""

    indicator = models.ForeignKey(Indicator, on_delete=models.PROTECT, related_name="values")
    year = models.PositiveSmallIntegerField("年度")
    value = models.DecimalField("数值", max_digits=14, decimal_places=2, null=True)
    missing = models.CharField("暂无数值的原因", max_length=200, blank=True)
    inputs = models.JSONField("计算依据", default=dict)
    inputs_sha256 = models.CharField("依据摘要（SHA-256）", max_length=64)
    computed_at = models.DateTimeField("计算时间", default=timezone.now)
    frozen = models.BooleanField("已发布（冻结）", default=False)
    published_at = models.DateTimeField("发布时间", null=True)
    published_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["indicator_id", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["indicator", "year"], name="indicatorvalue_once_per_year"),
            models.CheckConstraint(
                condition=models.Q(frozen=False) | models.Q(published_at__isnull=False),
                name="indicatorvalue_frozen_when_published",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.indicator_id} {self.year}: {self.value}"
