"""Status inquiries (救助身份查询) by other departments: who asked, when, about whom (a keyed digest of
the ID number, never the number), for what purpose (用途), and how many statuses were answered."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class InquiryChannel(models.TextChoices):
    WEB = "web", _("网页")
    API = "api", _("接口")


class StatusInquiry(models.Model):
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("查询人")
    )
    asked_at = models.DateTimeField(_("查询时间"), default=timezone.now)
    # The asking account's department and jurisdiction when it asked (both may change later).
    department = models.CharField(_("查询部门"), max_length=24, blank=True)
    scope_code = models.CharField(_("查询人管辖区划"), max_length=12, db_index=True)
    id_digest = models.CharField(_("身份证号摘要"), max_length=64, db_index=True)
    on = models.DateField(_("身份日期"))
    purpose = models.CharField(_("用途"), max_length=200)
    channel = models.CharField(_("方式"), max_length=8, choices=InquiryChannel.choices)
    result_count = models.PositiveSmallIntegerField(_("答复身份数"))

    class Meta:
        verbose_name = _("救助身份查询记录")
        ordering = ["-asked_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=~models.Q(purpose=""), name="statusinquiry_purpose_given"),
            models.CheckConstraint(
                condition=models.Q(id_digest__regex=r"^[0-9a-f]{64}$"), name="statusinquiry_digest_only"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.asked_by_id} {self.asked_at:%Y-%m-%d %H:%M} {self.purpose}"
