from __future__ import annotations

from functools import cached_property

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models
from django.db.models.functions import Length
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minzheng.core.identifiers import DivisionLevel
from minzheng.core.permissions import Perm
from minzheng.org.roles import SEPARATED_ROLES, Role, permissions_for

# The constraint tying a division's level to its prefix length uses the Length transform.
models.CharField.register_lookup(Length, "length")


class DivisionKind(models.TextChoices):
    PROVINCE = "province", _("省/自治区")
    CITY = "city", _("市")
    COUNTY = "county", _("县/区")
    STREET = "street", _("街道")
    TOWN = "town", _("镇")
    TOWNSHIP = "township", _("乡")
    OTHER_TOWNSHIP = "other_township", _("其他乡级单位")
    COMMUNITY = "community", _("社区（居委会）")
    VILLAGE = "village", _("村（村委会）")


class Division(models.Model):
    """An administrative division at one of five levels, keyed by its 12-digit statistical code.

    `prefix` is the significant part of the code (2, 4, 6, 9 or 12 digits): every division below
    starts with it, so a jurisdiction is a prefix and scoping a query is an indexed LIKE 'prefix%'.
    """

    code = models.CharField(_("统计用区划代码"), max_length=12, primary_key=True)
    prefix = models.CharField(max_length=12, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    level = models.PositiveSmallIntegerField(
        _("层级"), choices=[(lv.value, lv.name.lower()) for lv in DivisionLevel]
    )
    kind = models.CharField(_("类别"), max_length=16, choices=DivisionKind.choices)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children"
    )
    urban_rural_code = models.CharField(_("城乡分类代码"), max_length=3, blank=True)
    is_active = models.BooleanField(_("有效"), default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=models.Q(level__gte=1, level__lte=5), name="division_level_1_5"),
            models.CheckConstraint(
                condition=models.Q(code__regex=r"^[0-9]{12}$"), name="division_code_12_digits"
            ),
            models.CheckConstraint(
                condition=(
                    models.Q(level=1, prefix__length=2)
                    | models.Q(level=2, prefix__length=4)
                    | models.Q(level=3, prefix__length=6)
                    | models.Q(level=4, prefix__length=9)
                    | models.Q(level=5, prefix__length=12)
                ),
                name="division_prefix_matches_level",
            ),
            models.CheckConstraint(
                condition=models.Q(level=1, parent__isnull=True)
                | models.Q(level__gt=1, parent__isnull=False),
                name="division_parent_unless_province",
            ),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def gb2260(self) -> str:
        return self.code[:6]


class OfficeKind(models.TextChoices):
    PROVINCE_DEPARTMENT = "province_department", _("省/自治区民政厅")
    CITY_BUREAU = "city_bureau", _("市民政局")
    COUNTY_BUREAU = "county_bureau", _("县/区民政局")
    TOWNSHIP_OFFICE = "township_office", _("乡镇/街道民政办")
    VILLAGE_COMMITTEE = "village_committee", _("村/社区民政工作站")


OFFICE_KIND_FOR_LEVEL: dict[int, OfficeKind] = {
    DivisionLevel.PROVINCE: OfficeKind.PROVINCE_DEPARTMENT,
    DivisionLevel.CITY: OfficeKind.CITY_BUREAU,
    DivisionLevel.COUNTY: OfficeKind.COUNTY_BUREAU,
    DivisionLevel.TOWNSHIP: OfficeKind.TOWNSHIP_OFFICE,
    DivisionLevel.VILLAGE: OfficeKind.VILLAGE_COMMITTEE,
}


class Office(models.Model):
    """A civil-affairs office; its division is its jurisdiction."""

    name = models.CharField(_("名称"), max_length=120)
    kind = models.CharField(_("类别"), max_length=24, choices=OfficeKind.choices)
    division = models.OneToOneField(Division, on_delete=models.PROTECT, related_name="office")
    phone = models.CharField(_("电话"), max_length=40, blank=True)
    address = models.CharField(_("地址"), max_length=200, blank=True)
    is_active = models.BooleanField(_("有效"), default=True)

    class Meta:
        ordering = ["division_id"]

    def __str__(self) -> str:
        return self.name


class PartnerDepartment(models.TextChoices):
    """Another department whose staff use the system (协作部门): the departments items are transferred
    to (catalogue.Department, civil affairs aside) and the disability federation, which asks statuses."""

    DISABILITY_FEDERATION = "disability_federation", _("残疾人联合会")
    EDUCATION = "education", _("教育局")
    MEDICAL_INSURANCE = "medical_insurance", _("医疗保障局")
    HOUSING = "housing", _("住房和城乡建设局")
    HUMAN_RESOURCES = "human_resources", _("人力资源和社会保障局")
    PETITIONS = "petitions", _("信访局")


class StaffManager(BaseUserManager["Staff"]):
    def get_by_natural_key(self, username: str | None) -> Staff:
        return self.get(username=username)


class Staff(AbstractBaseUser):
    """A staff account, bound to exactly one office; it sees that office's jurisdiction."""

    username = models.CharField(_("用户名"), max_length=150, unique=True)
    full_name = models.CharField(_("姓名"), max_length=60)
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="staff")
    phone = models.CharField(_("手机号"), max_length=20, blank=True)
    # Blank for civil-affairs staff. A partner department's account belongs to the civil-affairs
    # office whose jurisdiction it works in (its county bureau) and names its own department here.
    department = models.CharField(
        _("所属部门"), max_length=24, choices=PartnerDepartment.choices, blank=True, default=""
    )
    is_active = models.BooleanField(_("启用"), default=True)
    is_demo = models.BooleanField(_("演示账号"), default=False)
    must_change_password = models.BooleanField(_("须修改密码"), default=False)
    password_changed_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    # Maker-checker by person: who made this account and who last gave it its roles (and, for a
    # grant that needed one, who confirmed it). None for accounts made on the server (bootstrap).
    created_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("创建人")
    )
    roles_granted_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("授予角色人"),
    )
    roles_confirmed_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("确认授予人"),
    )
    roles_granted_at = models.DateTimeField(_("角色授予时间"), null=True, blank=True)

    objects = StaffManager()

    USERNAME_FIELD = "username"
    REQUIRED_FIELDS = ["full_name", "office"]

    class Meta:
        ordering = ["username"]
        verbose_name = _("工作人员")
        constraints = [
            models.CheckConstraint(
                condition=models.Q(department="") | models.Q(department__in=PartnerDepartment.values),
                name="staff_department_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name}（{self.username}）"

    @cached_property
    def roles(self) -> frozenset[str]:
        return frozenset(self.role_grants.values_list("role", flat=True))

    @cached_property
    def permissions(self) -> frozenset[Perm]:
        return permissions_for(self.roles) if self.is_active else frozenset()

    def can(self, perm: Perm) -> bool:
        return perm in self.permissions

    def has_perm(self, perm: str, obj: object = None) -> bool:
        return self.is_active and perm in self.permissions

    def has_perms(self, perm_list: list[str], obj: object = None) -> bool:
        return all(self.has_perm(p) for p in perm_list)

    def has_module_perms(self, app_label: str) -> bool:
        return any(p.startswith(app_label + ".") for p in self.permissions)

    @property
    def office_code(self) -> str:
        return self.office.division_id

    @property
    def role_labels(self) -> list[str]:
        return [str(Role(r).label) for r in sorted(self.roles)]


class StaffRole(models.Model):
    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="role_grants")
    role = models.CharField(_("角色"), max_length=32, choices=Role.choices)
    granted_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["staff", "role"], name="staff_role_unique"),
            # 三员分立: at most one of system/security/audit administrator per account, in the database.
            models.UniqueConstraint(
                fields=["staff"],
                condition=models.Q(role__in=sorted(SEPARATED_ROLES)),
                name="staff_one_separated_role",
            ),
            models.CheckConstraint(condition=models.Q(role__in=Role.values), name="staff_role_known"),
        ]

    def __str__(self) -> str:
        return f"{self.staff_id}:{self.role}"


class RevokeReason(models.TextChoices):
    OWNER = "owner", _("本人或安全管理员吊销")
    PASSWORD_RESET = "password_reset", _("密码被重置")
    DEACTIVATED = "deactivated", _("账号停用")
    LOCKOUT = "lockout", _("登录失败锁定")


class ApiToken(models.Model):
    """A bearer token for API clients (other departments, scripts). Only its digest is stored.

    Every token expires (MINZHENG_API_TOKEN_DAYS at most); a read-only token may only read."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("用途"), max_length=80)
    digest = models.CharField(max_length=64, unique=True)
    prefix = models.CharField(max_length=8)
    read_only = models.BooleanField(_("只读"), default=False)
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(_("到期时间"))
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(_("吊销原因"), max_length=16, choices=RevokeReason.choices, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    # Token use is audited at most once an hour per token (see api.auth); this is when it last was.
    last_audited_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(expires_at__gt=models.F("created_at")), name="apitoken_expires_after_issue"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_expired(self) -> bool:
        return self.expires_at <= timezone.now()


class ChangeKind(models.TextChoices):
    SET_ROLES = "set_roles", _("设置角色")
    SET_ACTIVE = "set_active", _("启用或停用")
    RESET_PASSWORD = "reset_password", _("重置密码")
    UNLOCK = "unlock", _("解除锁定")


class ChangeStatus(models.TextChoices):
    PENDING = "pending", _("待确认")
    APPLIED = "applied", _("已确认生效")
    REJECTED = "rejected", _("已驳回")


class StaffChangeRequest(models.Model):
    """A change to an account that one person may not make alone (三员分立, approver grants):
    proposed by one administrator, applied only when another of the kind the rules name confirms it.
    """

    staff = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="change_requests")
    kind = models.CharField(_("变更类型"), max_length=16, choices=ChangeKind.choices)
    roles = models.JSONField(_("角色"), default=list, blank=True)
    active = models.BooleanField(_("启用"), null=True, blank=True)
    # The new password's hash, kept only while the request is pending.
    password_hash = models.CharField(max_length=128, blank=True)
    reason = models.CharField(_("原因"), max_length=200)
    confirmer_roles = models.JSONField(_("可确认的角色"), default=list)
    requested_by = models.ForeignKey(Staff, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(default=timezone.now)
    status = models.CharField(max_length=10, choices=ChangeStatus.choices, default=ChangeStatus.PENDING)
    decided_by = models.ForeignKey(Staff, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-requested_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["staff", "kind"],
                condition=models.Q(status="pending"),
                name="staffchange_one_pending_per_kind",
            ),
            # Applied means confirmed by a second person, in the database too.
            models.CheckConstraint(
                condition=~models.Q(status="applied")
                | (
                    models.Q(decided_by__isnull=False)
                    & ~models.Q(decided_by=models.F("requested_by"))
                    & ~models.Q(decided_by=models.F("staff"))
                ),
                name="staffchange_applied_by_another",
            ),
            models.CheckConstraint(
                condition=~models.Q(requested_by=models.F("staff")), name="staffchange_not_own_account"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.staff_id}"
