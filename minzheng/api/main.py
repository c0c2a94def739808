"""The JSON API under /api/v1. Errors are always {"code", "message", "field_errors"}."""

import logging
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError

from minzheng.api import (
    audit,
    cases,
    catalogue,
    org,
    payments,
    registry,
    registry_excel,
    rules,
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
    return api.create_response(
        request, error_body(exc.code, exc.message, exc.field_errors), status=exc.status
    )


@api.exception_handler(ValidationError)
def _validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    fields: dict[str, list[str]] = {}
    for err in exc.errors:
        fields.setdefault(_field_path(list(err.get("loc", []))), []).append(str(err.get("msg", "无效")))
    return api.create_response(
        request, error_body("invalid", "输入有误，请检查后重新提交", fields), status=422
    )


@api.exception_handler(AuthenticationError)
def _unauthenticated(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, error_body("unauthenticated", "请先登录或提供有效的访问令牌"), status=401
    )


@api.exception_handler(DjangoPermissionDenied)
def _forbidden(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, error_body("forbidden", "您没有执行此操作的权限"), status=403)


@api.exception_handler(Http404)
def _not_found(request: HttpRequest, exc: Exception) -> HttpResponse:
    return api.create_response(request, error_body("not_found", "记录不存在或不在您的管辖范围内"), status=404)


@api.exception_handler(HttpError)
def _http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    return api.create_response(request, error_body("http_error", str(exc)), status=exc.status_code)


@api.exception_handler(Exception)
def _unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("unhandled API error", exc_info=exc)
    return api.create_response(
        request, error_body("server_error", "服务器内部错误，已记录，请联系管理员"), status=500
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
api.add_router("/", payments.router)
