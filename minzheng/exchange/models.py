"""Counterparties (other departments) and the log of every message exchanged with them."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Mode(models.TextChoices):
    API = "api", _("接口（异步查询与回调）")
    FILE = "file", _("批量文件")


class Counterparty(models.Model):
    """A department Minzheng exchanges data with (核对协作单位), and the key its messages are signed with."""

    code = models.SlugField(_("代码"), max_length=40, unique=True)  # tax, social_insurance, bank …
    name = models.CharField(_("名称"), max_length=100)
    base_url = models.URLField(_("接口地址"), max_length=300)
    public_key_pem = models.TextField(_("签名公钥（PEM）"))
    mode = models.CharField(_("交换方式"), max_length=8, choices=Mode.choices, default=Mode.API)
    active = models.BooleanField(_("启用"), default=True)
    updated_at = models.DateTimeField(_("更新时间"), default=timezone.now)

    class Meta:
        ordering = ["code"]
        verbose_name = _("交换对方部门")
        constraints = [
            models.CheckConstraint(condition=models.Q(mode__in=Mode.values), name="counterparty_mode_known"),
        ]

    def __str__(self) -> str:
        return f"{self.name}（{self.code}）"


class Direction(models.TextChoices):
    IN = "in", _("收到")
    OUT = "out", _("发出")


class MessageAction(models.TextChoices):
    SEARCH = "search", _("查询请求")
    ON_SEARCH = "on-search", _("查询结果")
    TXN_STATUS = "txn-status", _("状态查询")
    ON_TXN_STATUS = "on-txn-status", _("状态答复")
    BATCH = "batch", _("批量请求文件")
    BATCH_RESULT = "batch-result", _("批量结果文件")
    UNKNOWN = "unknown", _("无法识别")


class Message(models.Model):
    """One message in or out, kept so that every exchange can be reproduced for audit.

    The payload (it holds ID numbers) is stored sealed with core.protect; its SHA-256 digest and the
    signature check are kept in clear. An incoming message is `accepted` when its signature verified
    and its handler took it; a message id is accepted at most once per counterparty, so a repeated
    callback is recognised and changes nothing. Acknowledgements are incoming messages with the
    action they acknowledge.
    """

    direction = models.CharField(_("方向"), max_length=3, choices=Direction.choices)
    counterparty = models.ForeignKey(
        Counterparty,
        on_delete=models.PROTECT,
        to_field="code",
        related_name="messages",
        verbose_name=_("对方部门"),
    )
    action = models.CharField(_("消息类型"), max_length=16, choices=MessageAction.choices)
    status = models.CharField(_("消息状态"), max_length=8, blank=True)  # rcvd / pdng / succ / rjct
    message_id = models.CharField(_("消息编号"), max_length=200, blank=True)
    transaction_id = models.CharField(_("事务编号"), max_length=200, blank=True, db_index=True)
    correlation_id = models.CharField(_("关联编号"), max_length=200, blank=True, db_index=True)
    at = models.DateTimeField(_("时间"), default=timezone.now, db_index=True)
    payload_sha256 = models.CharField(_("内容摘要（SHA-256）"), max_length=64)
    payload_sealed = models.TextField(_("内容（加密）"))
    signature_ok = models.BooleanField(
        _("签名有效"), null=True
    )  # None: nothing to check (our own, a failure)
    accepted = models.BooleanField(_("已受理"), default=False)
    http_status = models.PositiveSmallIntegerField(_("HTTP状态"), null=True, blank=True)
    error = models.TextField(_("错误"), blank=True)

    # Set by services.receive on the first message when the same message arrives again.
    duplicate: bool = False

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("交换消息")
        constraints = [
            models.UniqueConstraint(
                fields=["direction", "counterparty", "message_id"],
                condition=models.Q(accepted=True),
                name="message_accepted_once",
            ),
            models.CheckConstraint(
                condition=models.Q(direction__in=Direction.values), name="message_direction"
            ),
            models.CheckConstraint(
                condition=models.Q(accepted=False) | models.Q(signature_ok=True) | models.Q(direction="out"),
                name="message_accepted_only_signed",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.get_direction_display()} {self.counterparty_id} {self.action} {self.message_id}"
