"""The service catalogue (事项目录): every item the one window accepts, with its published guide (办事指南).

The guides are shipped as YAML in `minzheng/catalogue/items/` and loaded by `manage.py load_catalogue`;
the YAML is the source of truth, the tables are what the pages, the API and the cases app read.
"""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Department(models.TextChoices):
    """The department responsible for the item (承办部门)."""

    CIVIL_AFFAIRS = "civil_affairs", _("民政局")
    EDUCATION = "education", _("教育局")
    MEDICAL_INSURANCE = "medical_insurance", _("医疗保障局")
    HOUSING = "housing", _("住房和城乡建设局")
    HUMAN_RESOURCES = "human_resources", _("人力资源和社会保障局")
    PETITIONS = "petitions", _("信访局")


class DecisionLevel(models.TextChoices):
    """Who decides (审核确认/审批) under the regulation."""

    TOWNSHIP = "township", _("乡镇（街道）")
    COUNTY = "county", _("县（区）")


class IntakeMode(models.TextChoices):
    """What the township window does with an application."""

    HANDLE = "handle", _("受理办理")  # the case runs in this system through to a decision
    TRANSFER = "transfer", _("受理转办")  # received, passed to the responsible department, result fed back


class ServiceItem(models.Model):
    code = models.SlugField(_("事项编码"), max_length=40, unique=True)
    name = models.CharField(_("事项名称"), max_length=80, unique=True)
    summary = models.CharField(_("简介"), max_length=200)
    department = models.CharField(_("承办部门"), max_length=24, choices=Department.choices)
    handled_by = models.CharField(_("审批层级"), max_length=8, choices=DecisionLevel.choices)
    intake_mode = models.CharField(_("窗口办理方式"), max_length=8, choices=IntakeMode.choices)
    accepts_at_township = models.BooleanField(_("乡镇（街道）窗口受理"), default=True)
    delegated_to_township = models.BooleanField(_("审核确认权限已下放乡镇（街道）"), default=False)
    legal_basis = models.TextField(_("设定依据"))
    conditions = models.TextField(_("申请条件"))
    # [{"name": "...", "who": "...", "days": 3 (working days) | null, "calendar_days": 7 | null, "note": "..."}]
    steps = models.JSONField(_("办理流程"), default=list)
    time_limit_working_days = models.PositiveSmallIntegerField(_("办理时限（工作日）"))
    time_limit_note = models.CharField(_("时限说明"), max_length=300, blank=True)
    # [{"name": "...", "note": "..."}]
    forms = models.JSONField(_("申请表格"), default=list)
    fee = models.CharField(_("收费标准"), max_length=100, default="不收费")
    commitment = models.TextField(_("服务承诺"))
    sort_order = models.PositiveSmallIntegerField(_("排序"), default=0)
    is_active = models.BooleanField(_("有效"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        ordering = ["sort_order", "code"]
        verbose_name = _("服务事项")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[a-z][a-z0-9_]*$"), name="item_code_slug"
            ),
            models.CheckConstraint(
                condition=models.Q(department__in=Department.values), name="item_department_known"
            ),
            models.CheckConstraint(
                condition=models.Q(handled_by__in=DecisionLevel.values), name="item_handled_by_known"
            ),
            models.CheckConstraint(
                condition=models.Q(intake_mode__in=IntakeMode.values), name="item_intake_mode_known"
            ),
            models.CheckConstraint(
                condition=models.Q(time_limit_working_days__gte=1), name="item_time_limit_positive"
            ),
            # Only a county decision can be delegated, and only to a township that accepts the item.
            models.CheckConstraint(
                condition=models.Q(delegated_to_township=False)
                | models.Q(handled_by=DecisionLevel.COUNTY, accepts_at_township=True),
                name="item_delegation_from_county",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def decided_at_township(self) -> bool:
        return self.handled_by == DecisionLevel.TOWNSHIP or self.delegated_to_township


class MaterialRequirement(models.Model):
    """One line of an item's materials list (申请材料).

    Applications refer to these rows, so the loader updates them in place (matched by name within the
    item) and retires a line the guide no longer lists (`is_active` false) instead of deleting it.
    """

    item = models.ForeignKey(ServiceItem, on_delete=models.CASCADE, related_name="materials")
    order = models.PositiveSmallIntegerField(_("序号"))
    name = models.CharField(_("材料名称"), max_length=120)
    required = models.BooleanField(_("必须提供"), default=True)
    # Obtained by the office through government data sharing: not asked of the applicant again.
    fetchable_by_office = models.BooleanField(_("可免提交（数据共享获取）"), default=False)
    # The applicant may sign a written pledge instead of a certificate (告知承诺制).
    pledge_allowed = models.BooleanField(_("可告知承诺"), default=False)
    note = models.CharField(_("说明"), max_length=300, blank=True)
    is_active = models.BooleanField(_("有效"), default=True)

    class Meta:
        ordering = ["item_id", "order"]
        verbose_name = _("申请材料")
        constraints = [
            models.UniqueConstraint(
                fields=["item", "order"],
                condition=models.Q(is_active=True),
                name="material_item_order_unique",
            ),
            models.UniqueConstraint(fields=["item", "name"], name="material_item_name_unique"),
            models.CheckConstraint(condition=models.Q(order__gte=1), name="material_order_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"

    @property
    def asked_of_applicant(self) -> bool:
        """Whether the window asks the applicant for it (一次性告知 lists these)."""
        return not self.fetchable_by_office
