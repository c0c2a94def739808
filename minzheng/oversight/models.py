"""Grassroots capacity (加强基层民政服务能力建设): norm sets, offices' resources, training, purchased
services and supervision.

Norms are dated regional data with their source document (NormSet, NormBand, FacilityItem); a county
chooses the set that applies from a date (CountyNormChoice). Gaps are never stored: they are computed
on read from the data below (selectors.compliance), except in a monthly bulletin, which freezes them.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minzheng.org.models import Division


class Metric(models.TextChoices):
    """What a norm band sets (per township unless it says village)."""

    TOWNSHIP_STAFF = "township_staff", _("乡镇（街道）民政工作人员（人）")
    SOCIAL_WORK_POSTS = "social_work_posts", _("购买服务专业社工岗位（个）")
    TOWNSHIP_FUNDS = "township_funds", _("年度工作经费（元）")
    OFFICE_AREA = "office_area", _("办公用房面积（平方米）")
    VILLAGE_ASSISTANTS = "village_assistants", _("村（社区）民政协理员（人）")
    VILLAGE_ALLOWANCE = "village_allowance", _("协理员工作津贴（元/月）")
    COUNTY_TRAININGS = "county_trainings", _("市对县区干部培训（次/年）")
    TOWNSHIP_TRAININGS = "township_trainings", _("乡镇（街道）人员培训（次/年）")
    VILLAGE_TRAININGS = "village_trainings", _("村级协理员培训（次/年）")
    TRAINING_DAYS = "training_days", _("人均培训时间（天/年）")


class NormSet(models.Model):
    """A published norm set (e.g. 银川2018), with the document it comes from."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=60)
    region_code = models.CharField(_("发布地区区划代码"), max_length=6)
    source_document = models.CharField(_("依据文件"), max_length=200)
    source_reference = models.CharField(_("文号与出处"), max_length=200)
    issued_on = models.DateField(_("成文日期"))
    pre_job_training_required = models.BooleanField(_("须经岗前培训才能上岗"), default=False)
    window_sign_required = models.BooleanField(_("服务窗口须悬挂标志牌和民政徽标"), default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["issued_on", "code"]
        verbose_name = _("能力建设标准")

    def __str__(self) -> str:
        return self.name


class NormBand(models.Model):
    """The value of one metric for townships (or villages) whose resident population is in
    [population_min, population_max); population_max null means no upper bound."""

    norm_set = models.ForeignKey(NormSet, on_delete=models.CASCADE, related_name="bands")
    metric = models.CharField(_("指标"), max_length=24, choices=Metric.choices)
    population_min = models.PositiveIntegerField(_("人口下限（含）"), default=0)
    population_max = models.PositiveIntegerField(_("人口上限（不含）"), null=True, blank=True)
    value = models.DecimalField(_("标准值"), max_digits=12, decimal_places=2)
    quote = models.CharField(_("原文"), max_length=300, blank=True)

    class Meta:
        ordering = ["norm_set_id", "metric", "population_min"]
        constraints = [
            models.UniqueConstraint(fields=["norm_set", "metric", "population_min"], name="normband_unique"),
            models.CheckConstraint(
                condition=models.Q(population_max__isnull=True)
                | models.Q(population_max__gt=models.F("population_min")),
                name="normband_max_above_min",
            ),
            models.CheckConstraint(condition=models.Q(value__gte=0), name="normband_value_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.norm_set_id}:{self.metric}:{self.population_min}"


class FacilityItem(models.Model):
    """One item of a facility checklist (七有, 十有)."""

    norm_set = models.ForeignKey(NormSet, on_delete=models.CASCADE, related_name="facility_items")
    code = models.SlugField(_("代码"), max_length=32)
    label = models.CharField(_("名称"), max_length=40)
    min_quantity = models.PositiveSmallIntegerField(_("最少数量"), default=1)
    order = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["norm_set_id", "order"]
        constraints = [models.UniqueConstraint(fields=["norm_set", "code"], name="facilityitem_unique")]

    def __str__(self) -> str:
        return self.label


class CountyNormChoice(models.Model):
    """The norm set that applies in a county from a date (until its next choice)."""

    county = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    norm_set = models.ForeignKey(NormSet, on_delete=models.PROTECT, related_name="choices")
    valid_from = models.DateField(_("适用起始日"))
    reason = models.CharField(_("说明"), max_length=200)
    chosen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    chosen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["county_id", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["county", "valid_from"], name="countynorm_one_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.county_id} {self.valid_from}: {self.norm_set_id}"


class PreJobGateRule(models.Model):
    """Whether, from a date, a county refuses case-handling roles to anyone without recorded
    pre-job training (岗前培训), and which roles count (银政办发〔2018〕: "必须经岗前培训才能上岗")."""

    county = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    valid_from = models.DateField(_("适用起始日"))
    enabled = models.BooleanField(_("启用"))
    roles = models.JSONField(_("适用角色"), default=list)
    reference = models.CharField(_("依据"), max_length=200)
    set_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    set_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["county_id", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["county", "valid_from"], name="prejobgate_one_per_day")
        ]

    def __str__(self) -> str:
        return f"{self.county_id} {self.valid_from}: {self.enabled}"


class FundCapRule(models.Model):
    """The provincial cap on purchased services paid from the assistance fund (困难群众救助资金),
    as a percentage of that year's fund (民发〔2017〕153号; 广西 2 %, 拉萨 4 %)."""

    province_code = models.CharField(_("省级区划代码"), max_length=2)
    valid_from = models.DateField(_("适用起始日"))
    cap_percent = models.DecimalField(_("上限（%）"), max_digits=5, decimal_places=2)
    reference = models.CharField(_("依据"), max_length=200)

    class Meta:
        ordering = ["province_code", "-valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["province_code", "valid_from"], name="fundcap_one_per_day"),
            models.CheckConstraint(
                condition=models.Q(cap_percent__gte=0, cap_percent__lte=100), name="fundcap_percent"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.province_code} {self.valid_from}: {self.cap_percent}%"


# --- Offices and their resources --------------------------------------------------------------


class PopulationRecord(models.Model):
    """Resident population of a township or village in a year, with its source: it drives the bands."""

    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    resident_population = models.PositiveIntegerField(_("常住人口"))
    households = models.PositiveIntegerField(_("户数"), null=True, blank=True)
    source = models.CharField(_("数据来源"), max_length=120)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["division_id", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["division", "year"], name="population_one_per_year"),
            models.CheckConstraint(
                condition=models.Q(year__gte=2000, year__lte=2100), name="population_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.division_id} {self.year}: {self.resident_population}"


class Worker(models.Model):
    """A person working in the grassroots network (基层民政工作人员). A staff account is optional:
    village assistants usually have none."""

    full_name = models.CharField(_("姓名"), max_length=60)
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    staff = models.OneToOneField(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="worker"
    )
    phone = models.CharField(_("电话"), max_length=20, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["division_id", "full_name", "pk"]
        verbose_name = _("基层民政工作人员")

    def __str__(self) -> str:
        return self.full_name


class QualificationKind(models.TextChoices):
    ASSISTANT_SOCIAL_WORKER = "assistant_social_worker", _("助理社会工作师")
    SOCIAL_WORKER = "social_worker", _("社会工作师")
    SENIOR_SOCIAL_WORKER = "senior_social_worker", _("高级社会工作师")


class Qualification(models.Model):
    worker = models.ForeignKey(Worker, on_delete=models.CASCADE, related_name="qualifications")
    kind = models.CharField(_("资格"), max_length=32, choices=QualificationKind.choices)
    certificate_number = models.CharField(_("证书编号"), max_length=40)
    obtained_on = models.DateField(_("取得日期"))
    fee_reimbursed = models.DecimalField(
        _("报销考试费用（元）"), max_digits=10, decimal_places=2, null=True, blank=True
    )

    class Meta:
        ordering = ["worker_id", "obtained_on"]
        constraints = [models.UniqueConstraint(fields=["worker", "kind"], name="qualification_unique")]

    def __str__(self) -> str:
        return f"{self.worker_id} {self.kind}"


class PostKind(models.TextChoices):
    FULL_TIME = "full_time", _("专职")
    PART_TIME = "part_time", _("兼职")
    VILLAGE_ASSISTANT = "village_assistant", _("村（社区）民政协理员")
    PURCHASED_POST = "purchased_post", _("购买服务岗位")
    SOCIAL_WORKER = "social_worker", _("专业社工")


# The posts that count towards a township's staffing norm (专(兼)职民政工作人员).
STAFF_POSTS = (PostKind.FULL_TIME, PostKind.PART_TIME)
# The posts that count towards the purchased social-work posts (新郑: 2 per township).
SOCIAL_WORK_POSTS = (PostKind.PURCHASED_POST, PostKind.SOCIAL_WORKER)


class StaffAssignment(models.Model):
    """A person's post at a township or village, from a date until an end date."""

    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="assignments")
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    post = models.CharField(_("岗位"), max_length=20, choices=PostKind.choices)
    start_on = models.DateField(_("到岗日期"))
    end_on = models.DateField(_("离岗日期"), null=True, blank=True)
    monthly_allowance = models.DecimalField(
        _("月津贴（元）"), max_digits=10, decimal_places=2, null=True, blank=True
    )
    contract = models.ForeignKey(
        "ServiceContract", null=True, blank=True, on_delete=models.PROTECT, related_name="posts"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["division_id", "start_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_on__isnull=True) | models.Q(end_on__gte=models.F("start_on")),
                name="assignment_end_after_start",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.worker_id}@{self.division_id} {self.post}"


class FundingRecord(models.Model):
    """A township's civil-affairs operating funds for a year: budgeted, whether listed separately in
    the budget (单独列支), and disbursed."""

    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    budgeted = models.DecimalField(_("预算（元）"), max_digits=14, decimal_places=2)
    separately_listed = models.BooleanField(_("单独列支"))
    disbursed = models.DecimalField(_("已拨付（元）"), max_digits=14, decimal_places=2, default=0)
    source = models.CharField(_("资金来源/预算文件"), max_length=120)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["division_id", "-year"]
        constraints = [
            models.UniqueConstraint(fields=["division", "year"], name="funding_one_per_year"),
            models.CheckConstraint(
                condition=models.Q(budgeted__gte=0, disbursed__gte=0), name="funding_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.division_id} {self.year}"


class FacilityCheck(models.Model):
    """An on-site check of an office's conditions on a date, with photo evidence: its area, its
    service window's sign and emblem, and the checklist items found (FacilityCheckItem)."""

    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    checked_on = models.DateField(_("检查日期"))
    office_area_m2 = models.DecimalField(_("办公用房面积（平方米）"), max_digits=8, decimal_places=1)
    window_has_sign = models.BooleanField(_("服务窗口悬挂标志牌和民政徽标"))
    note = models.CharField(_("说明"), max_length=300, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["division_id", "-checked_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(office_area_m2__gte=0), name="facilitycheck_area"),
        ]

    def __str__(self) -> str:
        return f"{self.division_id} {self.checked_on}"


class FacilityCheckItem(models.Model):
    facility_check = models.ForeignKey(FacilityCheck, on_delete=models.CASCADE, related_name="items")
    code = models.SlugField(_("设施"), max_length=32)
    quantity = models.PositiveSmallIntegerField(_("数量"))

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["facility_check", "code"], name="facilitycheckitem_unique")
        ]

    def __str__(self) -> str:
        return f"{self.code}×{self.quantity}"


class Evidence(models.Model):
    """An uploaded photo or PDF kept in the database (as cases.Document is): of a facility check or
    of a rectification."""

    facility_check = models.ForeignKey(
        FacilityCheck, null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    rectification = models.ForeignKey(
        "Rectification", null=True, blank=True, on_delete=models.CASCADE, related_name="evidence"
    )
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    file_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=80)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField("SHA-256", max_length=64)
    content = models.BinaryField(_("内容"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["uploaded_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gt=0), name="evidence_not_empty"),
            models.CheckConstraint(
                condition=models.Q(facility_check__isnull=False, rectification__isnull=True)
                | models.Q(facility_check__isnull=True, rectification__isnull=False),
                name="evidence_one_owner",
            ),
        ]

    def __str__(self) -> str:
        return self.file_name


# --- Training -------------------------------------------------------------------------------------


class TrainingKind(models.TextChoices):
    PRE_JOB = "pre_job", _("岗前培训")
    BUSINESS = "business", _("业务培训")
    LEGAL = "legal", _("法治培训")
    ETIQUETTE = "etiquette", _("礼仪培训")
    WARNING = "warning", _("警示教育")


class TrainingPlan(models.Model):
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    year = models.PositiveSmallIntegerField(_("年度"))
    title = models.CharField(_("计划名称"), max_length=120)
    planned_events = models.PositiveSmallIntegerField(_("计划期数"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["division_id", "-year", "pk"]

    def __str__(self) -> str:
        return self.title


class TrainingEvent(models.Model):
    """A training held by the city, county or township (the organiser's division says which)."""

    plan = models.ForeignKey(
        TrainingPlan, null=True, blank=True, on_delete=models.PROTECT, related_name="events"
    )
    organiser = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("类别"), max_length=16, choices=TrainingKind.choices)
    title = models.CharField(_("名称"), max_length=120)
    start_on = models.DateField(_("开始日期"))
    end_on = models.DateField(_("结束日期"))
    days = models.DecimalField(_("天数"), max_digits=4, decimal_places=1)
    location = models.CharField(_("地点"), max_length=120, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-start_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(end_on__gte=models.F("start_on")), name="training_dates"
            ),
            models.CheckConstraint(condition=models.Q(days__gt=0), name="training_days_positive"),
        ]

    def __str__(self) -> str:
        return self.title


class TrainingAttendance(models.Model):
    event = models.ForeignKey(TrainingEvent, on_delete=models.CASCADE, related_name="attendance")
    worker = models.ForeignKey(Worker, on_delete=models.PROTECT, related_name="attendance")
    days_attended = models.DecimalField(_("参训天数"), max_digits=4, decimal_places=1)
    passed = models.BooleanField(_("考核合格"), default=True)
    certificate_number = models.CharField(_("结业证书编号"), max_length=40, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["event_id", "worker_id"]
        constraints = [
            models.UniqueConstraint(fields=["event", "worker"], name="attendance_once"),
            models.CheckConstraint(condition=models.Q(days_attended__gt=0), name="attendance_days_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.event_id}:{self.worker_id}"


# --- Government-purchased services (民发〔2017〕153号) -------------------------------------------------


class ProviderKind(models.TextChoices):
    SOCIAL_ORGANISATION = "social_organisation", _("社会组织")
    LABOUR_COMPANY = "labour_company", _("专业劳务公司")
    PUBLIC_INSTITUTION = "public_institution", _("事业单位")
    ENTERPRISE = "enterprise", _("企业")


class ServiceProvider(models.Model):
    name = models.CharField(_("名称"), max_length=120)
    uscc = models.CharField(_("统一社会信用代码"), max_length=18, unique=True)
    kind = models.CharField(_("类别"), max_length=24, choices=ProviderKind.choices)
    # The county that registered it in the system; its records are scoped through its contracts.
    county = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    barred_until = models.DateField(_("禁止参与至"), null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ContractMode(models.TextChoices):
    POSTS = "posts", _("岗位购买")
    PROJECT = "project", _("项目购买")


class ServiceCategory(models.TextChoices):
    TRANSACTIONAL = "transactional", _("事务性工作")
    SERVICE = "service", _("服务性工作")


class FundingSource(models.TextChoices):
    WORK_FUNDS = "work_funds", _("社会救助工作经费")
    ASSISTANCE_FUND = "assistance_fund", _("困难群众救助资金")
    LOCAL_BUDGET = "local_budget", _("本级财政预算")


class ContractStatus(models.TextChoices):
    RUNNING = "running", _("履行中")
    RECTIFYING = "rectifying", _("整改中")
    TERMINATED = "terminated", _("已终止")
    CLOSED = "closed", _("已结束")


class ServiceContract(models.Model):
    county = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    provider = models.ForeignKey(ServiceProvider, on_delete=models.PROTECT, related_name="contracts")
    number = models.CharField(_("合同编号"), max_length=40, unique=True)
    title = models.CharField(_("名称"), max_length=120)
    mode = models.CharField(_("购买方式"), max_length=10, choices=ContractMode.choices)
    category = models.CharField(_("服务类别"), max_length=16, choices=ServiceCategory.choices)
    items = models.JSONField(_("服务内容"), default=list)
    posts_count = models.PositiveSmallIntegerField(_("岗位数"), default=0)
    amount = models.DecimalField(_("合同金额（元）"), max_digits=14, decimal_places=2)
    funding_source = models.CharField(_("资金来源"), max_length=20, choices=FundingSource.choices)
    assistance_fund_total = models.DecimalField(
        _("当年困难群众救助资金总额（元）"), max_digits=16, decimal_places=2, null=True, blank=True
    )
    share_percent = models.DecimalField(
        _("占救助资金比例（%）"), max_digits=7, decimal_places=4, null=True, blank=True
    )
    cap_percent = models.DecimalField(
        _("适用上限（%）"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    start_on = models.DateField(_("开始日期"))
    end_on = models.DateField(_("结束日期"))
    status = models.CharField(
        _("状态"), max_length=12, choices=ContractStatus.choices, default=ContractStatus.RUNNING
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-start_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gt=0), name="contract_amount_positive"),
            models.CheckConstraint(
                condition=models.Q(end_on__gte=models.F("start_on")), name="contract_dates"
            ),
            models.CheckConstraint(
                condition=models.Q(share_percent__isnull=True)
                | models.Q(cap_percent__isnull=False, share_percent__lte=models.F("cap_percent")),
                name="contract_share_within_cap",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"


class ServiceDelivery(models.Model):
    contract = models.ForeignKey(ServiceContract, on_delete=models.PROTECT, related_name="deliveries")
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    delivered_on = models.DateField(_("服务日期"))
    service_type = models.CharField(_("服务项目"), max_length=40)
    recipient_name = models.CharField(_("服务对象"), max_length=60)
    hours = models.DecimalField(_("时长（小时）"), max_digits=6, decimal_places=1)
    recipient_confirmed = models.BooleanField(_("服务对象签字确认"))
    worker = models.ForeignKey(Worker, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-delivered_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(hours__gt=0), name="delivery_hours_positive")
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.delivered_on}"


class EvaluationStage(models.TextChoices):
    ROUTINE = "routine", _("日常考核")
    MID_TERM = "mid_term", _("中期考核")
    FINAL = "final", _("终期考核")


class Evaluator(models.TextChoices):
    BUREAU = "bureau", _("民政部门评价")
    THIRD_PARTY = "third_party", _("第三方评估")
    SATISFACTION = "satisfaction", _("服务对象满意度")


class EvaluationOutcome(models.TextChoices):
    CONTINUE = "continue", _("继续履行")
    RECTIFY = "rectify", _("限期整改")
    TERMINATE = "terminate", _("终止合同")
    BAR = "bar", _("终止合同并禁止一定期限内参与")


class ProviderEvaluation(models.Model):
    contract = models.ForeignKey(ServiceContract, on_delete=models.PROTECT, related_name="evaluations")
    stage = models.CharField(_("考核阶段"), max_length=10, choices=EvaluationStage.choices)
    evaluator = models.CharField(_("评价方"), max_length=14, choices=Evaluator.choices)
    evaluated_on = models.DateField(_("评价日期"))
    score = models.DecimalField(_("得分（0-100）"), max_digits=5, decimal_places=1)
    outcome = models.CharField(_("结论"), max_length=10, choices=EvaluationOutcome.choices)
    barred_until = models.DateField(_("禁止参与至"), null=True, blank=True)
    note = models.CharField(_("评价意见"), max_length=300, blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["contract_id", "evaluated_on", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(score__gte=0, score__lte=100), name="evaluation_scale"),
            models.CheckConstraint(
                condition=~models.Q(outcome="bar") | models.Q(barred_until__isnull=False),
                name="evaluation_bar_has_period",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.contract_id} {self.stage} {self.score}"


# --- Supervision (周督导、月通报) -------------------------------------------------------------------


class SpotCheck(models.Model):
    """A county's sample of decided cases (重点抽查), each sampled case with its finding."""

    county = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    checked_on = models.DateField(_("抽查日期"))
    period_start = models.DateField(_("抽查范围起"))
    period_end = models.DateField(_("抽查范围止"))
    sample_size = models.PositiveSmallIntegerField(_("抽取件数"))
    seed = models.PositiveIntegerField(_("抽样种子"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-checked_on", "pk"]

    def __str__(self) -> str:
        return f"{self.county_id} {self.checked_on}"


class SampledCase(models.Model):
    spot_check = models.ForeignKey(SpotCheck, on_delete=models.CASCADE, related_name="samples")
    case = models.ForeignKey("cases.Case", on_delete=models.PROTECT, related_name="+")
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    compliant = models.BooleanField(_("符合规定"), null=True, blank=True)
    finding = models.CharField(_("发现问题"), max_length=300, blank=True)

    class Meta:
        ordering = ["spot_check_id", "pk"]
        constraints = [models.UniqueConstraint(fields=["spot_check", "case"], name="sampledcase_once")]

    def __str__(self) -> str:
        return f"{self.spot_check_id}:{self.case_id}"


class TaskStatus(models.TextChoices):
    OPEN = "open", _("待办")
    DONE = "done", _("已完成")


class SupervisionTask(models.Model):
    """A weekly supervision task for a lagging office (周督导)."""

    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("督导事项"), max_length=200)
    due_on = models.DateField(_("完成时限"))
    status = models.CharField(_("状态"), max_length=8, choices=TaskStatus.choices, default=TaskStatus.OPEN)
    result = models.CharField(_("督导结果"), max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    created_on = models.DateField(_("下达日期"))
    done_on = models.DateField(_("完成日期"), null=True, blank=True)

    class Meta:
        ordering = ["status", "due_on", "pk"]

    def __str__(self) -> str:
        return self.title


class RectificationSource(models.TextChoices):
    SPOT_CHECK = "spot_check", _("重点抽查")
    INDICATOR = "indicator", _("指标落后")
    SUPERVISION = "supervision", _("督导检查")
    PROVIDER = "provider", _("购买服务评价")


class RectificationStatus(models.TextChoices):
    OPEN = "open", _("整改中")
    SUBMITTED = "submitted", _("已报送整改材料")
    VERIFIED = "verified", _("已验收销号")


class Rectification(models.Model):
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(_("来源"), max_length=12, choices=RectificationSource.choices)
    issue = models.CharField(_("问题"), max_length=300)
    opened_on = models.DateField(_("下达日期"))
    due_on = models.DateField(_("整改时限"))
    status = models.CharField(_("状态"), max_length=10, choices=RectificationStatus.choices, default="open")
    submitted_on = models.DateField(_("报送日期"), null=True, blank=True)
    closed_on = models.DateField(_("销号日期"), null=True, blank=True)
    note = models.CharField(_("整改情况"), max_length=300, blank=True)
    sampled_case = models.ForeignKey(
        SampledCase, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["status", "due_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(due_on__gte=models.F("opened_on")), name="rectification_due"
            ),
        ]

    def __str__(self) -> str:
        return self.issue


class Bulletin(models.Model):
    """A monthly bulletin (月通报) of a county or city: the values frozen at month end, kept as they
    were (content and its digest), so it prints and exports the same years later."""

    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    month = models.DateField(_("月份"))  # the first day of the month
    as_of = models.DateField(_("数据截止日"))
    content = models.JSONField(_("通报内容"))
    sha256 = models.CharField("SHA-256", max_length=64)
    frozen_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    frozen_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-month", "division_id"]
        constraints = [models.UniqueConstraint(fields=["division", "month"], name="bulletin_one_per_month")]

    def __str__(self) -> str:
        return f"{self.division_id} {self.month:%Y-%m}"
