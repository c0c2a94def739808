"""Data exchange with other departments: their callbacks, our public key, and the message log.

The callback is a webhook: no session, no token, no CSRF. What authenticates it is the Ed25519
signature of the envelope, checked against the key the department was registered with; an
unsigned or badly signed message is refused with 401 and logged. Requests are limited per address.
"""

from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.http.request import RawPostDataException
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema, Status
from ninja.pagination import paginate

from minzheng.api.org import ErrorOut, actor
from minzheng.api.pagination import BoundedPageNumberPagination
from minzheng.core import throttle
from minzheng.core.errors import PermissionDenied
from minzheng.core.permissions import Perm
from minzheng.exchange import keys, selectors, services
from minzheng.exchange.envelope import BadSignature, now_ts
from minzheng.org.roles import Role

router = Router(tags=["部门数据交换 exchange"])


class AckMessageOut(Schema):
    ack_status: str = Field(description="ACK：已受理；重复消息同样答 ACK（不再处理）")
    timestamp: str
    correlation_id: str = Field(description="受理的消息编号")
    duplicate: bool = Field(description="是否为已受理过的重复消息")


class AckOut(Schema):
    message: AckMessageOut


class PublicKeyOut(Schema):
    sender_id: str = Field(description="本系统在交换中的标识（消息头 sender_id / receiver_id）")
    algorithm: str
    key_id: str
    public_key_pem: str


class MessageOut(Schema):
    id: int
    at: datetime
    direction: str
    counterparty: str = Field(alias="counterparty_id")
    action: str
    status: str
    message_id: str
    transaction_id: str
    correlation_id: str
    payload_sha256: str
    signature_ok: bool | None
    accepted: bool
    http_status: int | None
    error: str


class MessageFilter(Schema):
    counterparty: str = Field("", max_length=40, description="对方部门代码")
    direction: str = Field("", pattern="^(|in|out)$", description="in 收到 / out 发出")
    transaction_id: str = Field("", max_length=200)
    signature_ok: bool | None = Field(None, description="只看签名有效（true）或无效（false）的消息")


@router.post(
    "/exchange/{counterparty}/callback",
    response={200: AckOut, 401: ErrorOut, 404: ErrorOut, 422: ErrorOut, 429: ErrorOut},
    auth=None,
    summary="接收对方部门的回调消息（以消息签名认证；重复消息幂等受理）",
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"type": "object", "description": "签名消息信封"}}},
        }
    },
)
def callback(request: HttpRequest, counterparty: str) -> Status:
    throttle.check(request, "exchange_callback")
    try:
        body = request.body
    except RawPostDataException:  # a form upload, already parsed by a middleware: no envelope
        body = b""
    try:
        record = services.receive(counterparty_code=counterparty[:40], body=body)
    except BadSignature as exc:
        return Status(
            401,
            {
                "code": "bad_signature",
                "message": _("消息签名无效，已拒收并记录"),
                "field_errors": {"signature": [exc.message]},
            },
        )
    return Status(
        200,
        {
            "message": {
                "ack_status": "ACK",
                "timestamp": now_ts(),
                "correlation_id": record.message_id,
                "duplicate": record.duplicate,
            }
        },
    )


@router.get(
    "/exchange/public-key",
    response=PublicKeyOut,
    auth=None,
    summary="本系统的签名公钥（供对方部门验证本系统发出的消息）",
)
def public_key(request: HttpRequest) -> dict[str, Any]:
    return {
        "sender_id": keys.sender_id(),
        "algorithm": "ed25519",
        "key_id": keys.key_id(),
        "public_key_pem": keys.public_key_pem(),
    }


@router.get(
    "/exchange/messages",
    response=list[MessageOut],
    summary="交换消息记录（只含摘要，不含内容；审计人员和系统管理员）",
)
@paginate(BoundedPageNumberPagination, page_size=50)
def messages(request: HttpRequest, filters: Query[MessageFilter]) -> Any:
    staff = actor(request)
    if not (staff.can(Perm.AUDIT_VIEW) or Role.SYSTEM_ADMIN in staff.roles):
        raise PermissionDenied("交换消息记录仅供审计人员和系统管理员查看")
    return selectors.message_list(
        counterparty=filters.counterparty,
        direction=filters.direction,
        transaction_id=filters.transaction_id,
        signature_ok=filters.signature_ok,
    )
