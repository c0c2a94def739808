"""The working-day calendar (工作日历).

Time limits in the regulations are counted in working days (工作日): Monday to Friday, except public
holidays, plus the weekend days the State Council turns into working days (调休上班). The
calendar stores only the days that need a row; every other day follows the Mon–Fri rule.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minzheng.org.models import Staff


class CalendarSource(models.TextChoices):
    HOLIDAYS = "holidays", _("节假日数据包")
    MANUAL = "manual", _("人工更正")


class CalendarDay(models.Model):
    """A day that differs from, or is named beside, the Mon–Fri rule.

    Rows: every public holiday the `holidays` package lists (also one falling on a weekend, so the
    calendar can show its name), every adjusted working day (调休上班), and every manual correction.
    Not every day of the year: 340 of 365 rows would only restate the weekday rule, a year nobody has
    loaded would then have no working days at all instead of sensible Mon–Fri ones, and a year's
    exceptions fit in a small dict that the selectors keep in memory.

    A manual row (source "manual") is never touched by the loader; `provisional` marks package rows
    for a year whose schedule the State Council has not yet announced (the package then estimates
    substitute days from the statutory holidays only).
    """

    date = models.DateField(_("日期"), primary_key=True)
    is_working_day = models.BooleanField(_("是否工作日"))
    name = models.CharField(_("名称"), max_length=60, blank=True)
    source = models.CharField(_("来源"), max_length=8, choices=CalendarSource.choices)
    provisional = models.BooleanField(_("推定（尚未公布）"), default=False)
    changed_by = models.ForeignKey(
        Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("更正人")
    )
    changed_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        ordering = ["date"]
        verbose_name = _("工作日历日")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(source__in=CalendarSource.values), name="calendarday_source_known"
            ),
            models.CheckConstraint(
                condition=models.Q(source=CalendarSource.HOLIDAYS) | models.Q(changed_by__isnull=False),
                name="calendarday_manual_has_author",
            ),
            models.CheckConstraint(
                condition=models.Q(provisional=False) | models.Q(source=CalendarSource.HOLIDAYS),
                name="calendarday_only_package_provisional",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.date:%Y-%m-%d} {'上班' if self.is_working_day else '休息'} {self.name}".rstrip()

    @property
    def is_weekend(self) -> bool:
        return self.date.weekday() >= 5

    @property
    def is_exception(self) -> bool:
        """True when the day deviates from Mon–Fri (a weekday off or a weekend working day)."""
        return self.is_working_day == self.is_weekend
