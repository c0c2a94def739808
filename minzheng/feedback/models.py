"""The public's voice (群众诉求): tickets from every channel (complaints, 12345 work orders, poor
ratings, letters and visits), their dispatches to the offices that must act, their typed history,
the hotline platform they came from, and the service-quality receipts (服务质量回执, 一次一评)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from minzheng.cases.models import Case
from minzheng.org.models import Division, Office


class TicketChannel(models.TextChoices):
    WINDOW = "window", _("窗口")
    PHONE = "phone", _("来电")
    HOTLINE = "hotline", _("12345热线")
    ONLINE = "online", _("网上")
    MAILBOX = "mailbox", _("意见箱")
    SUPERVISION_PHONE = "supervision_phone", _("监督电话")
    GRID = "grid", _("网格")
    REVIEW = "review", _("好差评")
    LETTERS_VISITS = "letters_visits", _("信访")


class TicketKind(models.TextChoices):
    CONSULTATION = "consultation", _("咨询")
    HELP = "help", _("求助")
    COMPLAINT = "complaint", _("投诉")
    REPORT = "report", _("举报")
    SUGGESTION = "suggestion", _("建议")
    PRAISE = "praise", _("表扬")
    BAD_REVIEW = "bad_review", _("差评")


class Sensitivity(models.TextChoices):
    STANDARD = "standard", _("一般")
    SENSITIVE = "sensitive", _("敏感")
    HIGHLY_SENSITIVE = "highly_sensitive", _("高度敏感")


class TicketState(models.TextChoices):
    RECEIVED = "received", _("已受理")
    DISPATCHED = "dispatched", _("已派单")
    RETURNED = "returned", _("已退单")
    PROCESSING = "processing", _("办理中")
    REPLIED = "replied", _("已答复")
    CALLED_BACK = "called_back", _("已回访")
    REOPENED = "reopened", _("重新办理")
    CLOSED = "closed", _("已办结")
    MERGED = "merged", _("已并单")


OPEN_STATES = frozenset(
    {
        TicketState.RECEIVED,
        TicketState.DISPATCHED,
        TicketState.RETURNED,
        TicketState.PROCESSING,
        TicketState.REPLIED,
        TicketState.CALLED_BACK,
        TicketState.REOPENED,
    }
)


class Decision(models.TextChoices):
    """The finding a ticket closes with (spp_grm: closing requires a decision)."""

    UPHELD = "upheld", _("诉求属实，已解决")
    PARTIALLY_UPHELD = "partially_upheld", _("部分属实")
    REJECTED = "rejected", _("诉求不属实")
    EXPLAINED = "explained", _("已解释说明")
    WITHDRAWN = "withdrawn", _("诉求人撤回")
    REFERRED = "referred", _("已转有关部门")


class CaseReviewOutcome(models.TextChoices):
    KEPT = "kept", _("维持原决定")
    CHANGED = "changed", _("变更原决定")
    REVOKED = "revoked", _("撤销原决定")


class Ticket(models.Model):
    number = models.CharField(_("诉求编号"), max_length=24, unique=True)
    channel = models.CharField(_("来源渠道"), max_length=20, choices=TicketChannel.choices)
    # The hotline's work-order number (12345 工单号), a grid case number, a receipt code …
    external_ref = models.CharField(_("外部编号"), max_length=40, blank=True)
    kind = models.CharField(_("诉求类型"), max_length=16, choices=TicketKind.choices)
    category_code = models.CharField(_("诉求分类（GB/T 39666）"), max_length=6)
    title = models.CharField(_("标题"), max_length=120)
    content = models.TextField(_("诉求内容"))
    complainant_name = models.CharField(_("诉求人"), max_length=60, blank=True)
    complainant_phone = models.CharField(_("联系电话"), max_length=20, blank=True)
    anonymous = models.BooleanField(_("匿名"), default=False)
    # Where the matter is; with the responsible office, what decides who sees the ticket.
    division = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="+", verbose_name=_("所涉区划")
    )
    office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("承办机构")
    )
    about_case = models.ForeignKey(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("所涉案件")
    )
    about_office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("所涉机构")
    )
    about_staff = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("所涉工作人员"),
    )
    sensitivity = models.CharField(
        _("敏感程度"), max_length=16, choices=Sensitivity.choices, default=Sensitivity.STANDARD
    )
    urgent = models.BooleanField(_("紧急"), default=False)
    state = models.CharField(
        _("状态"), max_length=12, choices=TicketState.choices, default=TicketState.RECEIVED
    )
    received_on = models.DateField(_("受理日期"))
    due_date = models.DateField(_("办理时限"))
    limit_reference = models.CharField(_("时限依据"), max_length=200, blank=True)
    reminded_on = models.DateField(_("催办日期"), null=True, blank=True)
    escalated_on = models.DateField(_("通报日期"), null=True, blank=True)
    reply = models.TextField(_("答复内容"), blank=True)
    replied_at = models.DateTimeField(_("答复时间"), null=True, blank=True)
    satisfaction = models.PositiveSmallIntegerField(_("满意度（1-5）"), null=True, blank=True)
    called_back_at = models.DateTimeField(_("回访时间"), null=True, blank=True)
    callback_due = models.DateField(_("回访时限"), null=True, blank=True)
    rectify_due = models.DateField(_("整改时限"), null=True, blank=True)
    rectified_at = models.DateTimeField(_("整改完成时间"), null=True, blank=True)
    rectification = models.TextField(_("整改情况"), blank=True)
    decision = models.CharField(_("处理结论"), max_length=20, choices=Decision.choices, blank=True)
    # A complaint about a benefit decision: closed only with the case review's outcome.
    case_review_required = models.BooleanField(_("须复查所涉案件"), default=False)
    case_review_outcome = models.CharField(
        _("案件复查结论"), max_length=10, choices=CaseReviewOutcome.choices, blank=True
    )
    case_review_note = models.CharField(_("复查说明"), max_length=300, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged", verbose_name=_("并入")
    )
    repeat_count = models.PositiveSmallIntegerField(_("重复诉求次数"), default=0)
    reopen_count = models.PositiveSmallIntegerField(_("重新办理次数"), default=0)
    return_count = models.PositiveSmallIntegerField(_("退单次数"), default=0)
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    closed_at = models.DateTimeField(_("办结时间"), null=True, blank=True)

    class Meta:
        verbose_name = _("群众诉求")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["channel", "external_ref"],
                condition=~models.Q(external_ref=""),
                name="ticket_external_ref_once",
            ),
            models.CheckConstraint(
                condition=models.Q(category_code__regex=r"^[0-9]{6}$"), name="ticket_category_6"
            ),
            models.CheckConstraint(
                condition=~models.Q(state="closed") | ~models.Q(decision=""),
                name="ticket_closed_has_decision",
            ),
            models.CheckConstraint(
                condition=models.Q(satisfaction__isnull=True)
                | models.Q(satisfaction__gte=1, satisfaction__lte=5),
                name="ticket_satisfaction_1_5",
            ),
        ]
        indexes = [models.Index(fields=["state", "due_date"])]

    def __str__(self) -> str:
        return f"{self.number} {self.title}"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN_STATES


class TicketEvent(models.Model):
    """One step of a ticket (typed history): who, when, which action, from and to which state, why."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=60, blank=True)
    action = models.CharField(_("操作"), max_length=20)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12, blank=True)
    note = models.TextField(_("说明"), blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.action}"


class Dispatch(models.Model):
    """A ticket sent to an office (派单); signed for (签收) or returned with a reason (退单)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="dispatches")
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+", verbose_name=_("承办机构"))
    dispatched_at = models.DateTimeField(default=timezone.now)
    dispatched_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+"
    )
    signed_at = models.DateTimeField(_("签收时间"), null=True, blank=True)
    returned_at = models.DateTimeField(_("退单时间"), null=True, blank=True)
    return_reason = models.CharField(_("退单理由"), max_length=300, blank=True)

    class Meta:
        ordering = ["dispatched_at", "pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(returned_at__isnull=True) | ~models.Q(return_reason=""),
                name="dispatch_return_has_reason",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ticket_id} → {self.office_id}"


class HotlinePlatform(models.Model):
    """The 12345 hotline platform (政务服务便民热线) Minzheng takes work orders from and reports to."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)
    name = models.CharField(_("名称"), max_length=100)
    base_url = models.URLField(_("接口地址"), max_length=300)
    public_key_pem = models.TextField(_("签名公钥（PEM）"))
    # Orders with no division of their own (a county-wide matter) are filed under this division.
    default_division = models.ForeignKey(Division, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(_("启用"), default=True)
    last_pulled_at = models.DateTimeField(_("最近拉取"), null=True, blank=True)

    class Meta:
        verbose_name = _("12345热线平台")

    def __str__(self) -> str:
        return self.name


class SyncStatus(models.TextChoices):
    PENDING = "pending", _("待同步")
    SENT = "sent", _("已同步")


class HotlineSync(models.Model):
    """A status a hotline work order reached, to be reported back to the platform (an outbox: written
    in the transaction of the change, sent after it, retried by the sweep until the platform has it)."""

    ticket = models.ForeignKey(Ticket, on_delete=models.CASCADE, related_name="syncs")
    status = models.CharField(max_length=20)
    payload = models.JSONField(default=dict)
    created_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(max_length=8, choices=SyncStatus.choices, default=SyncStatus.PENDING)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    last_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.status} {self.state}"


class ServiceReceipt(models.Model):
    """服务质量回执 (一次一评): issued when a service at the window or online is finished; the citizen
    rates it once, on five levels, without logging in, by its short code."""

    code = models.CharField(_("回执码"), max_length=10, unique=True)
    case = models.OneToOneField(
        Case, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("案件")
    )
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="+", verbose_name=_("服务机构"))
    staff = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    service_name = models.CharField(_("服务事项"), max_length=120)
    channel = models.CharField(_("服务方式"), max_length=8)
    served_at = models.DateTimeField(_("办结时间"), default=timezone.now)
    rating = models.PositiveSmallIntegerField(_("评价（1-5）"), null=True, blank=True)
    comment = models.CharField(_("评价意见"), max_length=300, blank=True)
    rated_at = models.DateTimeField(_("评价时间"), null=True, blank=True)
    ticket = models.OneToOneField(
        Ticket,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="receipt",
        verbose_name=_("差评工单"),
    )

    class Meta:
        verbose_name = _("服务质量回执")
        ordering = ["-served_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(rating__isnull=True) | models.Q(rating__gte=1, rating__lte=5),
                name="receipt_rating_1_5",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.service_name}"


class DailyCounter(models.Model):
    """The last number given out on a day by one numbering (`name`: "ticket" for MZT-YYYYMMDD-NNNNN,
    "grid" for WG-YYYYMMDD-NNNNNN), taken under a row lock (counters.next_number) so two requests
    at the same moment never get the same number."""

    name = models.CharField(max_length=20, default="ticket")
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["name", "day"], name="daily_counter_one_per_day")]

    def __str__(self) -> str:
        return f"{self.name} {self.day} {self.last}"


# --- The grid loop (网格化: 案件上报—审核—立案—派遣—反馈结案) ------------------------------------------


class GridCell(models.Model):
    """A grid (网格) under a village or community, with its grid worker and the box of coordinates
    that locates an event reported from a phone (WGS-84 degrees)."""

    code = models.CharField(_("网格编码"), max_length=20, unique=True)
    name = models.CharField(_("网格名称"), max_length=60)
    village = models.ForeignKey(
        Division, on_delete=models.PROTECT, related_name="+", verbose_name=_("村（社区）")
    )
    worker = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("网格员"),
    )
    min_lat = models.DecimalField(max_digits=9, decimal_places=6)
    max_lat = models.DecimalField(max_digits=9, decimal_places=6)
    min_lng = models.DecimalField(max_digits=9, decimal_places=6)
    max_lng = models.DecimalField(max_digits=9, decimal_places=6)
    active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("网格")
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(min_lat__lt=models.F("max_lat"), min_lng__lt=models.F("max_lng")),
                name="gridcell_box_not_empty",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class GridEventState(models.TextChoices):
    REPORTED = "reported", _("已上报")
    VERIFIED = "verified", _("已核实")
    REJECTED = "rejected", _("不予立案")
    REGISTERED = "registered", _("已立案")
    DISPATCHED = "dispatched", _("已派遣")
    HANDLED = "handled", _("已处置")
    FED_BACK = "fed_back", _("已反馈")
    RETURNED = "returned", _("核查未通过，重新处置")
    CLOSED = "closed", _("已结案")


GRID_OPEN_STATES = frozenset(
    {"reported", "verified", "registered", "dispatched", "handled", "fed_back", "returned"}
)


class GridEvent(models.Model):
    number = models.CharField(_("事件编号"), max_length=24, unique=True)
    cell = models.ForeignKey(
        GridCell, on_delete=models.PROTECT, related_name="events", verbose_name=_("网格")
    )
    category_code = models.CharField(_("事件分类（GB/T 39666）"), max_length=6)
    description = models.TextField(_("事件描述"))
    lat = models.DecimalField(_("纬度"), max_digits=9, decimal_places=6)
    lng = models.DecimalField(_("经度"), max_digits=9, decimal_places=6)
    reported_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    reported_at = models.DateTimeField(default=timezone.now)
    state = models.CharField(
        _("状态"), max_length=12, choices=GridEventState.choices, default=GridEventState.REPORTED
    )
    office = models.ForeignKey(
        Office, null=True, blank=True, on_delete=models.PROTECT, related_name="+", verbose_name=_("处置机构")
    )
    registered_on = models.DateField(_("立案日期"), null=True, blank=True)
    due_date = models.DateField(_("处置时限"), null=True, blank=True)
    reject_reason = models.CharField(_("不予立案理由"), max_length=300, blank=True)
    handling = models.TextField(_("处置情况"), blank=True)
    check_note = models.CharField(_("核查意见"), max_length=300, blank=True)
    closed_on = models.DateField(_("结案日期"), null=True, blank=True)

    class Meta:
        verbose_name = _("网格事件")
        ordering = ["-reported_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~models.Q(state="rejected") | ~models.Q(reject_reason=""),
                name="gridevent_reject_reason",
            ),
        ]

    def __str__(self) -> str:
        return self.number

    @property
    def is_open(self) -> bool:
        return self.state in GRID_OPEN_STATES


class GridPhoto(models.Model):
    """A photo of an event: taken when reporting (before) or when checking on site (after)."""

    event = models.ForeignKey(GridEvent, on_delete=models.CASCADE, related_name="photos")
    stage = models.CharField(max_length=8, choices=[("before", _("上报照片")), ("after", _("核查照片"))])
    content_type = models.CharField(max_length=40)
    size = models.PositiveIntegerField()
    content = models.BinaryField()
    taken_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.event_id} {self.stage}"


class GridEventStep(models.Model):
    """One step of a grid event (typed history)."""

    event = models.ForeignKey(GridEvent, on_delete=models.CASCADE, related_name="steps")
    at = models.DateTimeField(default=timezone.now)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.PROTECT, related_name="+")
    actor_name = models.CharField(max_length=60, blank=True)
    action = models.CharField(max_length=12)
    from_state = models.CharField(max_length=12, blank=True)
    to_state = models.CharField(max_length=12)
    note = models.TextField(blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.event_id} {self.action}"
