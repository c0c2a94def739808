"""The JSON API under /api/v1. Errors are always {"code", "message", "field_errors"}."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.translation import gettext as _
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from minzheng.api import (
    audit,
    care,
    cases,
    catalogue,
    departments,
    exchange,
    feedback,
    monitoring,
    org,
    oversight,
    payments,
    plans,
    registry,
    registry_excel,
    reports,
    rules,
    takeup,
    verification,
    workdays,
)
from minzheng.api.auth import StaffSession, StaffToken
from minzheng.core.errors import DomainError

logger = logging.getLogger("minzheng.api")

api = NinjaAPI(
    title="民政通 Minzheng API",
    version="1",
    description="基层民政工作系统接口。会话（需CSRF）或 Bearer 令牌认证；所有数据均限定在账号所属机构的管辖范围内。",
    urls_namespace="api",
    auth=[StaffSession(), StaffToken()],
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def error_body(code: str, message: str, field_errors: dict[str, list[str]] | None = None) -> dict[str, Any]:
    return {"code": code, "message": message, "field_errors": field_errors or {}}


def _field_path(loc: list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "form", "payload", "data")]
    return ".".join(parts) or "__all__"


@api.exception_handler(DomainError)
def _domain_error(request: HttpRequest, exc: DomainError) -> HttpResponse:
    # Services write their messages in Chinese; those in the catalogue are given in the request's
    # language (Accept-Language or the language cookie, as for pages), the rest as written.
    fields = {name: [_(m) for m in messages] for name, messages in exc.field_errors.items()}
    return api.create_response(request, error_body(exc.code, _(exc.message), fields), status=exc.status)


def _validation_message(err: dict[str, Any]) -> str:
    """pydantic's English messages, in the request's language (Chinese by default)."""
    kind = str(err.get("type", ""))
    ctx = err.get("ctx") or {}
    messages: dict[str, str] = {
        "missing": _("必填"),
        "string_type": _("应为文本"),
        "string_too_short": _("至少 %(min_length)s 个字符"),
        "string_too_long": _("最多 %(max_length)s 个字符"),
        "string_pattern_mismatch": _("格式不正确"),
        "int_type": _("应为整数"),
        "int_parsing": _("应为整数"),
        "int_from_float": _("应为整数"),
        "float_type": _("应为数字"),
        "float_parsing": _("应为数字"),
        "decimal_type": _("应为数字"),
        "decimal_parsing": _("应为数字"),
        "decimal_max_digits": _("数字位数过多"),
        "decimal_max_places": _("小数位数过多"),
        "finite_number": _("应为有限的数字"),
        "bool_type": _("应为 true 或 false"),
        "bool_parsing": _("应为 true 或 false"),
        "date_type": _("应为日期（YYYY-MM-DD）"),
        "date_parsing": _("应为日期（YYYY-MM-DD）"),
        "date_from_datetime_parsing": _("应为日期（YYYY-MM-DD）"),
        "date_from_datetime_inexact": _("应为日期（YYYY-MM-DD）"),
        "datetime_type": _("应为日期时间"),
        "datetime_parsing": _("应为日期时间"),
        "greater_than": _("应大于 %(gt)s"),
        "greater_than_equal": _("应不小于 %(ge)s"),
        "less_than": _("应小于 %(lt)s"),
        "less_than_equal": _("应不大于 %(le)s"),
        "literal_error": _("取值无效，可选：%(expected)s"),
        "enum": _("取值无效，可选：%(expected)s"),
        "extra_forbidden": _("不允许的字段"),
        "dict_type": _("应为对象"),
        "model_type": _("应为对象"),
        "model_attributes_type": _("应为对象"),
        "list_type": _("应为列表"),
        "too_short": _("至少 %(min_length)s 项"),
        "too_long": _("最多 %(max_length)s 项"),
        "json_invalid": _("JSON 格式错误"),
        "json_type": _("JSON 格式错误"),
        "bytes_type": _("应为文件"),
        "url_parsing": _("格式不正确"),
        "union_tag_invalid": _("取值无效"),
    }
    if kind in messages:
        try:
            return messages[kind] % {k: str(v) for k, v in ctx.items()}
        except (KeyError, TypeError, ValueError):
            return messages[kind].split("%")[0].strip() or _("输入无效")
    message = str(err.get("msg", ""))
    if kind == "value_error":
        message = message.removeprefix("Value error, ")
    # Our own rules (minzheng.core.inputs) raise PydanticCustomError with a translated message.
    return message if message and not message.isascii() else _("输入无效")


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        fields.setdefault(_field_path(list(err.get("loc", []))), []).append(_validation_message(err))
    return api.create_response(
        request, error_body("invalid", _("输入有误，请检查后重新提交"), fields), status=422
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, error_body("unauthenticated", _("请先登录或提供有效的访问令牌")), status=401
    )


@api.exception_handler(DjangoPermissionDenied)
def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, error_body("forbidden", _("您没有执行此操作的权限")), status=403)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(
        request, error_body("not_found", _("记录不存在或不在您的管辖范围内")), status=404
    )


_HTTP_MESSAGES = {
    400: "请求格式不正确，无法解析",
    401: "请先登录或提供有效的访问令牌",
    403: "您没有执行此操作的权限",
    404: "记录不存在或不在您的管辖范围内",
    405: "不支持此请求方法",
    413: "提交的内容过大",
    429: "操作过于频繁，请稍后再试",
}


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    # ninja's own messages ("Cannot parse request body") are English: say it in the user's language.
    message = _(_HTTP_MESSAGES.get(exc.status_code, "请求无法处理"))
    return api.create_response(request, error_body("http_error", message), status=exc.status_code)


@api.exception_handler(RequestDataTooBig)
def _too_large(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, error_body("too_large", _("提交的内容过大")), status=413)


@api.exception_handler(MultiPartParserError)
@api.exception_handler(TooManyFieldsSent)
@api.exception_handler(TooManyFilesSent)
def _malformed(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(
        request,
        error_body("malformed", _("请求格式不正确（表单或上传内容无法读取），请重新提交")),
        status=400,
    )


@api.exception_handler(IntegrityError)
def _integrity_error(request: HttpRequest, exc: IntegrityError) -> HttpResponse:
    # The database refused a write a service should have refused first: say so plainly, never with
    # the constraint's name or the SQL (logged for the developers).
    logger.warning("database constraint refused an API write", exc_info=exc)
    return api.create_response(
        request,
        error_body("conflict", _("数据与已有记录冲突或不符合规则，未保存，请检查后重新提交")),
        status=409,
    )


@api.exception_handler(OverflowError)
@api.exception_handler(DataError)
def _data_error(request: HttpRequest, exc: Exception) -> HttpResponse:
    # DataError: PostgreSQL refused a value (bigint out of range, numeric overflow); OverflowError:
    # SQLite's driver refused an integer beyond 64 bits, e.g. an id in the path.
    logger.warning("database refused a value from the API", exc_info=exc)
    return api.create_response(
        request, error_body("invalid", _("输入的数值或文本超出允许范围，请检查后重新提交")), status=422
    )


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled API error", exc_info=exc)
    return api.create_response(
        request, error_body("server_error", _("服务器内部错误，已记录，请联系管理员")), status=500
    )


api.add_router("/", org.router)
# Before the registry router: its /households/{household_id} would otherwise take /households/export.xlsx.
api.add_router("/", registry_excel.router)
api.add_router("/", registry.router)
api.add_router("/audit", audit.router)
api.add_router("/", rules.router)
api.add_router("/", catalogue.router)
api.add_router("/", workdays.router)
api.add_router("/", cases.router)
api.add_router("/", cases.public_router)
api.add_router("/", care.router)
api.add_router("/", payments.router)
api.add_router("/", exchange.router)
api.add_router("/", verification.router)
api.add_router("/", departments.router)
api.add_router("/", feedback.router)
api.add_router("/", oversight.router)
api.add_router("/", takeup.router)
api.add_router("/", monitoring.router)
api.add_router("/", reports.router)
api.add_router("/", plans.router)
