"""Monthly statistics (月度统计) of a county: one period per county and month, its figures per
township (or office) and metric, and, once the month is frozen, the records each figure counted.

A period is computed from the other apps' tables by set-based SQL (`reports.statistics`); it stays
open (recomputed by the worker's sweep and on demand) until it is frozen at the month's end, after
which neither its figures nor its members ever change."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class PeriodState(models.TextChoices):
    OPEN = "open", _("统计中")
    FROZEN = "frozen", _("已冻结")


class StatisticPeriod(models.Model):
    county = models.CharField(_("县（区）代码"), max_length=6)
    month = models.DateField(_("统计月份"))
    state = models.CharField(_("状态"), max_length=8, choices=PeriodState.choices, default=PeriodState.OPEN)
    computed_at = models.DateTimeField(_("计算时间"), null=True)
    computed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("计算人"),
    )
    # SHA-256 over the figures: the sweep audits a recompute only when the figures changed.
    digest = models.CharField(max_length=64, blank=True)
    frozen_at = models.DateTimeField(_("冻结时间"), null=True)
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("冻结人"),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("月度统计期")
        ordering = ["-month", "county"]
        constraints = [
            models.UniqueConstraint(fields=["county", "month"], name="statisticperiod_one_per_county_month"),
            models.CheckConstraint(
                condition=models.Q(state__in=["open", "frozen"]), name="statisticperiod_state"
            ),
            models.CheckConstraint(
                condition=models.Q(state="open", frozen_at__isnull=True)
                | models.Q(state="frozen", frozen_at__isnull=False),
                name="statisticperiod_frozen_has_time",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.county} {self.month:%Y-%m}"

    @property
    def frozen(self) -> bool:
        return self.state == PeriodState.FROZEN


class StatisticValue(models.Model):
    """One figure: a metric of a period for a unit (a township, or the office a ticket is with; the
    county itself for county-wide figures such as the standards), by one dimension value."""

    period = models.ForeignKey(StatisticPeriod, on_delete=models.CASCADE, related_name="values")
    division_code = models.CharField(_("统计单位代码"), max_length=12)
    metric = models.CharField(_("指标"), max_length=40)
    dimension = models.CharField(_("分组"), max_length=80, blank=True)
    value = models.DecimalField(_("数值"), max_digits=18, decimal_places=2)

    class Meta:
        ordering = ["period_id", "metric", "division_code", "dimension"]
        constraints = [
            models.UniqueConstraint(
                fields=["period", "metric", "division_code", "dimension"], name="statisticvalue_unique"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_id} {self.metric} {self.division_code} {self.dimension}={self.value}"


class StatisticMember(models.Model):
    """A record a frozen figure counted (a household, person, enrolment, payroll line, fund entry,
    case, warning or ticket, by id): written set-based when the month is frozen, so the drill-down
    of a published month lists exactly what was counted, whatever changes later."""

    period = models.ForeignKey(StatisticPeriod, on_delete=models.CASCADE, related_name="members")
    division_code = models.CharField(max_length=12)
    metric = models.CharField(max_length=40)
    dimension = models.CharField(max_length=80, blank=True)
    member_id = models.BigIntegerField()

    class Meta:
        indexes = [
            models.Index(
                fields=["period", "metric", "division_code", "dimension", "member_id"],
                name="statmember_lookup",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.period_id} {self.metric} {self.division_code} {self.dimension} #{self.member_id}"
