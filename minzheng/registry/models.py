from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minzheng.org.models import Division


class Area(models.TextChoices):
    URBAN = "urban", _("城市")
    RURAL = "rural", _("农村")


class Sex(models.TextChoices):
    MALE = "M", _("男")
    FEMALE = "F", _("女")


class Relationship(models.TextChoices):
    HEAD = "head", _("户主")
    SPOUSE = "spouse", _("配偶")
    CHILD = "child", _("子女")
    PARENT = "parent", _("父母")
    GRANDCHILD = "grandchild", _("孙子女/外孙子女")
    GRANDPARENT = "grandparent", _("祖父母/外祖父母")
    SIBLING = "sibling", _("兄弟姐妹")
    CHILD_IN_LAW = "child_in_law", _("儿媳/女婿")
    OTHER = "other", _("其他")


class Household(models.Model):
    """A household (家庭) as registered for social assistance, belonging to one village/community."""

    number = models.CharField(_("家庭编号"), max_length=20, unique=True)
    division = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="households", verbose_name=_("村/社区")
    )
    address = models.CharField(_("住址"), max_length=200)
    area = models.CharField(_("城乡类别"), max_length=8, choices=Area.choices)
    head = models.ForeignKey(
        "Person", null=True, blank=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("户主")
    )
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    is_active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["number"]
        indexes = [models.Index(fields=["division", "number"], name="household_division_number")]

    def __str__(self) -> str:
        return self.number


class Person(models.Model):
    """A resident. The ID number is stored only encrypted and as a keyed digest (minzheng.core.protect)."""

    name = models.CharField(_("姓名"), max_length=60, db_index=True)
    sex = models.CharField(_("性别"), max_length=1, choices=Sex.choices)
    birth_date = models.DateField(_("出生日期"))
    id_digest = models.CharField(max_length=64, unique=True)
    id_encrypted = models.TextField()
    id_masked = models.CharField(_("身份证号（脱敏）"), max_length=18)
    # Village of the person's current household, kept in step by the registry services so that
    # scope checks on persons need no join.
    division = models.ForeignKey(Division, null=True, on_delete=models.PROTECT, related_name="+")
    phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        indexes = [models.Index(fields=["name", "birth_date"], name="person_name_birth")]

    def __str__(self) -> str:
        return f"{self.name}（{self.id_masked}）"


class Membership(models.Model):
    """A person's membership of a household over time; one open membership per person."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="memberships")
    household = models.ForeignKey(Household, on_delete=models.PROTECT, related_name="memberships")
    relationship = models.CharField(_("与户主关系"), max_length=16, choices=Relationship.choices)
    start_date = models.DateField(_("加入日期"))
    end_date = models.DateField(_("离开日期"), null=True, blank=True)
    end_reason = models.CharField(_("离开原因"), max_length=200, blank=True)

    class Meta:
        ordering = ["household_id", "start_date"]
        constraints = [
            models.UniqueConstraint(
                fields=["person"],
                condition=models.Q(end_date__isnull=True),
                name="membership_one_open_per_person",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="membership_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id}@{self.household_id}"


# The dated circumstance models live in their own module; importing it here registers them.
from minzheng.registry import circumstances as circumstances  # noqa: E402


class ImportStatus(models.TextChoices):
    PENDING = "pending", _("排队中")
    RUNNING = "running", _("处理中")
    DONE = "done", _("已完成")
    FAILED = "failed", _("未导入")


class ImportMode(models.TextChoices):
    ALL_OR_NOTHING = "all_or_nothing", _("全部无误才导入")
    VALID_ROWS_ONLY = "valid_rows_only", _("只导入无误的家庭")


class ImportJob(models.Model):
    """One Excel import of households (家庭批量导入): progress, counts and the error report.

    The uploaded file and the error workbook hold full ID numbers, so both are kept sealed
    (minzheng.core.protect), and the upload is dropped as soon as the job has run.
    """

    uploaded_by = models.ForeignKey(
        "org.Staff", on_delete=models.PROTECT, related_name="+", verbose_name=_("上传人")
    )
    # The uploader's jurisdiction: who else may look at the job.
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+", verbose_name=_("辖区"))
    file_name = models.CharField(_("文件名"), max_length=255)
    status = models.CharField(
        _("状态"), max_length=16, choices=ImportStatus.choices, default=ImportStatus.PENDING
    )
    mode = models.CharField(
        _("导入方式"), max_length=20, choices=ImportMode.choices, default=ImportMode.ALL_OR_NOTHING
    )
    total_rows = models.PositiveIntegerField(_("数据行数"), default=0)
    processed_rows = models.PositiveIntegerField(_("已处理行数"), default=0)
    households_imported = models.PositiveIntegerField(_("导入家庭数"), default=0)
    persons_imported = models.PositiveIntegerField(_("导入人数"), default=0)
    error_count = models.PositiveIntegerField(_("错误数"), default=0)
    errors = models.JSONField(_("错误明细（前若干条）"), default=list, blank=True)
    message = models.CharField(_("说明"), max_length=500, blank=True)
    source = models.TextField(blank=True)
    error_workbook = models.TextField(blank=True)
    created_at = models.DateTimeField(_("上传时间"), default=timezone.now)
    started_at = models.DateTimeField(_("开始时间"), null=True, blank=True)
    finished_at = models.DateTimeField(_("完成时间"), null=True, blank=True)
    # Renewed by the running worker as it goes; on SQLite a lapsed lease means the worker is gone
    # (on PostgreSQL the worker's advisory lock says so): see excel.import_jobs_recover.
    lease_until = models.DateTimeField(_("租约到期"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        verbose_name = _("家庭导入任务")
        indexes = [models.Index(fields=["division", "created_at"], name="importjob_division_created")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(status__in=ImportStatus.values), name="importjob_status_known"
            ),
            models.CheckConstraint(
                condition=models.Q(mode__in=ImportMode.values), name="importjob_mode_known"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.file_name}（{self.get_status_display()}）"

    @property
    def finished(self) -> bool:
        return self.status in (ImportStatus.DONE, ImportStatus.FAILED)

    @property
    def percent(self) -> int:
        if self.finished:
            return 100
        if not self.total_rows:
            return 0
        return min(99, self.processed_rows * 100 // self.total_rows)
