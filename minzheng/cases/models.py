"""Applications (申请事项/案件) from intake to decision, with their steps, timeline and evidence.

A case moves only through `cases.workflow.case_transition`, which checks the item's transitions table
(cases/workflows.py), the actor's permission and jurisdiction, and writes the event, the step clocks
and the audit record in one transaction.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minzheng.catalogue.models import MaterialRequirement, ServiceItem
from minzheng.org.models import Division
from minzheng.registry.models import Household, Person
from minzheng.rules.models import Calculation


class Channel(models.TextChoices):
    WINDOW = "window", _("窗口受理")
    PROXY = "proxy", _("村（居）代办")
    ONLINE = "online", _("网上申请")
    # Started by the office from a verified monitoring warning or a take-up worklist (主动发现, 政策找人),
    # with the household's consent recorded at the visit.
    DISCOVERY = "discovery", _("主动发现")


class Outcome(models.TextChoices):
    APPROVED = "approved", _("批准")
    REFUSED = "refused", _("不予批准")
    WITHDRAWN = "withdrawn", _("撤回")
    TRANSFERRED = "transferred", _("已转办并反馈")


class Case(models.Model):
    number = models.CharField(_("受理编号"), max_length=24, unique=True)
    item = models.ForeignKey(ServiceItem, on_delete=models.PROTECT, related_name="+", verbose_name=_("事项"))
    workflow = models.CharField(_("流程"), max_length=40)
    division = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="+", verbose_name=_("村/社区")
    )
    household = models.ForeignKey(
        Household, null=True, on_delete=models.PROTECT, related_name="cases", verbose_name=_("家庭")
    )
    applicant = models.ForeignKey(
        Person, null=True, on_delete=models.PROTECT, related_name="cases", verbose_name=_("申请人")
    )
    applicant_name = models.CharField(_("申请人姓名"), max_length=60)
    applicant_id_digest = models.CharField(_("申请人身份证号摘要"), max_length=64, db_index=True)
    applicant_id_masked = models.CharField(_("申请人身份证号（脱敏）"), max_length=18)
    applicant_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    channel = models.CharField(_("申请方式"), max_length=12, choices=Channel.choices)
    proxy_name = models.CharField(_("代办人"), max_length=60, blank=True)
    proxy_relation = models.CharField(_("代办人身份/关系"), max_length=60, blank=True)
    mandate = models.CharField(_("委托书/授权说明"), max_length=300, blank=True)
    details = models.JSONField(_("申请内容"), default=dict, blank=True)
    state = models.CharField(_("当前环节"), max_length=32)
    submitted_at = models.DateTimeField(_("提交时间"), default=timezone.now)
    accepted_on = models.DateField(_("受理日期"), null=True)
    due_date = models.DateField(_("办结时限"), null=True)
    closed_at = models.DateTimeField(_("办结时间"), null=True)
    outcome = models.CharField(_("办理结果"), max_length=12, choices=Outcome.choices, blank=True)
    conflict_of_interest = models.BooleanField(_("经办人员或村干部近亲属"), default=False)
    conflict_note = models.CharField(_("近亲属备案说明"), max_length=300, blank=True)
    decided_at_township = models.BooleanField(_("乡镇审核确认（已下放）"), default=False)
    sampled_for_county_visit = models.BooleanField(_("县级入户抽查"), default=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("受理人"),
    )

    class Meta:
        verbose_name = _("申请案件")
        ordering = ["-submitted_at", "-pk"]
        indexes = [
            models.Index(fields=["division", "state"], name="case_division_state"),
            models.Index(fields=["state", "due_date"], name="case_state_due"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(closed_at__isnull=True, outcome="")
                | models.Q(closed_at__isnull=False) & ~models.Q(outcome=""),
                name="case_closed_has_outcome",
            ),
            models.CheckConstraint(
                condition=~models.Q(channel="proxy") | ~models.Q(proxy_name="") & ~models.Q(mandate=""),
                name="case_proxy_has_mandate",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.applicant_name}"

    @property
    def is_open(self) -> bool:
        return self.closed_at is None


class CaseStep(models.Model):
    """The clock of one workflow state: when it started and the day it must be done by."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="steps")
    state = models.CharField(_("环节"), max_length=32)
    started_on = models.DateField(_("开始日期"))
    due_date = models.DateField(_("应完成日期"), null=True)
    limit_text = models.CharField(_("时限要求"), max_length=120, blank=True)
    completed_on = models.DateField(_("完成日期"), null=True)

    class Meta:
        ordering = ["case_id", "pk"]
        indexes = [models.Index(fields=["completed_on", "due_date"], name="casestep_open_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["case"],
                condition=models.Q(completed_on__isnull=True),
                name="casestep_one_open_per_case",
            )
        ]

    def __str__(self) -> str:
        return f"{self.case_id}:{self.state}"


class CaseEvent(models.Model):
    """The case's timeline (typed history): every action with actor, time, states and note."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("时间"), default=timezone.now)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("操作人"),
    )
    actor_name = models.CharField(_("操作人姓名"), max_length=60, blank=True)
    action = models.CharField(_("操作"), max_length=40)
    label = models.CharField(_("操作名称"), max_length=60)
    from_state = models.CharField(_("原环节"), max_length=32, blank=True)
    to_state = models.CharField(_("新环节"), max_length=32, blank=True)
    note = models.TextField(_("意见/说明"), blank=True)
    data = models.JSONField(_("数据"), default=dict, blank=True)

    class Meta:
        ordering = ["case_id", "at", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.action}"


class MaterialStatus(models.TextChoices):
    PROVIDED = "provided", _("已提交")
    FETCHED = "fetched", _("部门共享获取")
    PLEDGED = "pledged", _("告知承诺")
    MISSING = "missing", _("缺少")


class MaterialCheck(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="materials")
    requirement = models.ForeignKey(MaterialRequirement, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(_("情况"), max_length=10, choices=MaterialStatus.choices)
    note = models.CharField(_("说明"), max_length=200, blank=True)

    class Meta:
        ordering = ["case_id", "requirement__order"]
        constraints = [
            models.UniqueConstraint(fields=["case", "requirement"], name="materialcheck_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.requirement.name}: {self.get_status_display()}"


class Document(models.Model):
    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(_("材料类型"), max_length=40)
    file_name = models.CharField(_("文件名"), max_length=200)
    content_type = models.CharField(_("文件类型"), max_length=80)
    size = models.PositiveIntegerField(_("大小（字节）"))
    sha256 = models.CharField("SHA-256", max_length=64)
    content = models.BinaryField(_("内容"))
    # Staff uploads name their account; an online applicant's own upload (网上补交材料) names none and
    # says which missing material it answers.
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    from_applicant = models.BooleanField(_("申请人网上补交"), default=False)
    requirement = models.ForeignKey(
        MaterialRequirement, null=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("对应材料")
    )
    uploaded_at = models.DateTimeField(_("上传时间"), default=timezone.now)

    class Meta:
        ordering = ["case_id", "uploaded_at", "pk"]
        constraints = [
            models.CheckConstraint(condition=models.Q(size__gt=0), name="document_not_empty"),
            models.CheckConstraint(
                condition=models.Q(from_applicant=True) | models.Q(uploaded_by__isnull=False),
                name="document_has_uploader",
            ),
        ]

    def __str__(self) -> str:
        return self.file_name


class Visit(models.Model):
    """A household visit record (入户调查记录): at least two investigators, signed by the applicant."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="visits")
    visited_on = models.DateField(_("调查日期"))
    investigators = models.JSONField(_("调查人员"))
    by_county = models.BooleanField(_("县级调查/抽查"), default=False)
    findings = models.TextField(_("调查情况"))
    signed_by_applicant = models.BooleanField(_("申请人签字确认"))
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["case_id", "visited_on", "pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.visited_on}"


class PublicNotice(models.Model):
    """A village notice (公示) of a preliminary opinion or a confirmed benefit: only what the rules allow."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notices")
    division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(
        _("公示类型"), max_length=16, choices=[("preliminary", _("初审公示")), ("result", _("结果公示"))]
    )
    starts_on = models.DateField(_("公示开始"))
    ends_on = models.DateField(_("公示结束"))
    content = models.JSONField(_("公示内容"))
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-starts_on", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ends_on__gte=models.F("starts_on")), name="notice_period"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.starts_on}–{self.ends_on}"


class Objection(models.Model):
    notice = models.ForeignKey(PublicNotice, on_delete=models.PROTECT, related_name="objections")
    received_on = models.DateField(_("收到日期"))
    raised_by = models.CharField(_("异议人（可匿名）"), max_length=60, blank=True)
    content = models.TextField(_("异议内容"))
    handling = models.CharField(
        _("处理方式"),
        max_length=16,
        blank=True,
        choices=[("reinvestigate", _("重新调查")), ("appraisal", _("民主评议"))],
    )
    outcome = models.TextField(_("处理结果"), blank=True)
    recorded_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["notice_id", "received_on", "pk"]

    def __str__(self) -> str:
        return f"{self.notice_id} {self.received_on}"


class Decision(models.Model):
    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="decision")
    outcome = models.CharField(_("结论"), max_length=12, choices=Outcome.choices)
    level = models.CharField(
        _("决定层级"), max_length=8, choices=[("township", _("乡镇（街道）")), ("county", _("县（区）"))]
    )
    amount = models.DecimalField(_("金额（元）"), max_digits=14, decimal_places=2, default=0)
    period = models.CharField(_("发放周期"), max_length=8, blank=True)
    start_month = models.DateField(_("起始发放月份"), null=True)
    reasons = models.TextField(_("理由"))
    calculation = models.ForeignKey(Calculation, null=True, on_delete=models.PROTECT, related_name="+")
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(default=timezone.now)
    notice_due = models.DateField(_("书面告知期限"), null=True)
    notice_sent_on = models.DateField(_("书面告知日期"), null=True)

    class Meta:
        verbose_name = _("审批决定")
        constraints = [
            models.CheckConstraint(condition=models.Q(amount__gte=0), name="decision_amount_not_negative"),
            models.CheckConstraint(
                condition=~models.Q(outcome="approved") | models.Q(calculation__isnull=False),
                name="decision_approval_has_calculation",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.case_id} {self.outcome}"


class Transfer(models.Model):
    """An item of another department received at the window and passed on (转办), awaiting feedback."""

    case = models.OneToOneField(Case, on_delete=models.PROTECT, related_name="transfer")
    department = models.CharField(_("承办部门"), max_length=24)
    sent_on = models.DateField(_("转办日期"))
    feedback_due = models.DateField(_("反馈期限"))
    feedback_on = models.DateField(_("反馈日期"), null=True)
    feedback = models.TextField(_("反馈结果"), blank=True)

    class Meta:
        verbose_name = _("转办")

    def __str__(self) -> str:
        return f"{self.case_id} → {self.department}"


class ConflictRegistration(models.Model):
    """Staff and village cadres whose close relatives' applications are handled separately
    (民发〔2021〕57号: 近亲属备案, county investigates itself). Held by ID digest only."""

    division = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="+", verbose_name=_("所在村/机构")
    )
    name = models.CharField(_("姓名"), max_length=60)
    position = models.CharField(_("职务"), max_length=60)
    id_digest = models.CharField(_("身份证号摘要"), max_length=64, db_index=True)
    registered_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    registered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("经办人员和村干部备案")
        constraints = [models.UniqueConstraint(fields=["id_digest"], name="conflict_registration_unique")]

    def __str__(self) -> str:
        return f"{self.name}（{self.position}）"


class CaseCounter(models.Model):
    """The last case number issued per county and year (locked while a number is taken)."""

    county = models.CharField(max_length=6)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["county", "year"], name="casecounter_unique")]

    def __str__(self) -> str:
        return f"{self.county}-{self.year}: {self.last}"


# --- Extreme-poverty support: support mode and visits to home-supported people (特困人员) -------------


class SupportMode(models.TextChoices):
    """How an extreme-poverty person is supported, by their own choice (民发〔2021〕43号)."""

    HOME = "home", _("分散供养")
    INSTITUTIONAL = "institutional", _("集中供养")


class CareVisitPlan(models.Model):
    """The visiting plan (探访照料) of a home-supported extreme-poverty person, made when the case is
    approved: who, in which village, how often, and when the next visit is due."""

    case = models.OneToOneField(
        Case, on_delete=models.PROTECT, related_name="care_plan", verbose_name=_("案件")
    )
    person = models.ForeignKey(
        Person, on_delete=models.PROTECT, related_name="care_plans", verbose_name=_("供养对象")
    )
    division = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="+", verbose_name=_("村/社区")
    )
    interval_days = models.PositiveSmallIntegerField(_("探访周期（天）"))
    next_due = models.DateField(_("下次探访日期"))
    active = models.BooleanField(_("有效"), default=True)
    created_at = models.DateTimeField(_("建立时间"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("建立人"),
    )

    class Meta:
        verbose_name = _("探访计划")
        ordering = ["next_due", "pk"]
        indexes = [models.Index(fields=["active", "next_due"], name="careplan_active_due")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(interval_days__gt=0), name="careplan_interval_positive"
            ),
            models.UniqueConstraint(
                fields=["person"], condition=models.Q(active=True), name="careplan_one_active_per_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} / {self.next_due}"


class CareVisit(models.Model):
    """One visit to a home-supported person (探访记录): who went, what they found, whether something
    must be followed up."""

    plan = models.ForeignKey(CareVisitPlan, on_delete=models.PROTECT, related_name="visits")
    visited_on = models.DateField(_("探访日期"))
    visitor = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("探访人")
    )
    companions = models.JSONField(_("同行人员"), default=list, blank=True)
    living_conditions = models.TextField(_("生活状况"))
    health = models.TextField(_("健康状况"))
    needs = models.TextField(_("需求"), blank=True)
    follow_up_needed = models.BooleanField(_("需要跟进"), default=False)
    recorded_at = models.DateTimeField(_("录入时间"), default=timezone.now)

    class Meta:
        verbose_name = _("探访记录")
        ordering = ["plan_id", "-visited_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.plan_id} {self.visited_on}"


# --- The applicant's inbox and text messages (申请人消息与短信通知) -----------------------------------


class NotificationKind(models.TextChoices):
    RECEIVED = "received", _("申请已收到")
    MISSING_MATERIALS = "missing_materials", _("材料不全，一次性告知")
    MATERIALS_RECEIVED = "materials_received", _("补交材料已收到")
    ACCEPTED = "accepted", _("已受理")
    PROGRESS = "progress", _("办理进度更新")
    DECIDED = "decided", _("已作出决定")
    CLOSED = "closed", _("已办结")


class ApplicantNotification(models.Model):
    """A message to an online applicant about their case, shown on the status page (and texted when
    the SMS gateway is configured). The text is built from the kind and state when shown."""

    case = models.ForeignKey(Case, on_delete=models.CASCADE, related_name="notifications")
    kind = models.CharField(_("类型"), max_length=20, choices=NotificationKind.choices)
    state = models.CharField(_("环节"), max_length=32)
    created_at = models.DateTimeField(_("时间"), default=timezone.now)

    class Meta:
        verbose_name = _("申请人消息")
        ordering = ["case_id", "-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.case_id} {self.kind}"


class SmsStatus(models.TextChoices):
    PENDING = "pending", _("待发送")
    SENT = "sent", _("已发送")
    FAILED = "failed", _("发送失败，待重试")
    ABANDONED = "abandoned", _("多次失败，已放弃")
    OFF = "off", _("未开通短信")


class SmsDelivery(models.Model):
    """One text message of a notification to the applicant's phone, through the SMS gateway
    (MINZHENG_SMS_GATEWAY_URL), retried by the worker's sweep. The number is read from the case when
    sending; only its masked form is kept here."""

    notification = models.OneToOneField(ApplicantNotification, on_delete=models.CASCADE, related_name="sms")
    phone_masked = models.CharField(_("手机号（脱敏）"), max_length=20)
    text = models.CharField(_("短信内容"), max_length=300)
    status = models.CharField(_("状态"), max_length=10, choices=SmsStatus.choices, default=SmsStatus.PENDING)
    attempts = models.PositiveSmallIntegerField(_("已尝试次数"), default=0)
    next_attempt_at = models.DateTimeField(_("下次尝试时间"), default=timezone.now)
    last_error = models.CharField(_("最近错误"), max_length=300, blank=True)
    gateway_id = models.CharField(_("网关消息编号"), max_length=64, blank=True)
    sent_at = models.DateTimeField(_("发送时间"), null=True)

    class Meta:
        verbose_name = _("短信发送记录")
        ordering = ["-pk"]
        indexes = [models.Index(fields=["status", "next_attempt_at"], name="sms_status_next")]

    def __str__(self) -> str:
        return f"{self.notification_id} {self.status}"
