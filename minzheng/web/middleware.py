from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterator
from typing import Any

from django.conf import settings
from django.core.exceptions import RequestDataTooBig, TooManyFieldsSent, TooManyFilesSent
from django.db import DataError, IntegrityError
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import parse_header_parameters
from django.utils.translation import gettext as _

from minzheng.core.inputs import find_control_character

logger = logging.getLogger("minzheng.web")


class SecurityHeadersMiddleware:
    """Headers Django does not set itself; and staff who must change their password do so first."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and getattr(user, "must_change_password", False)
            and not request.path.startswith(("/static/", "/api/", "/i18n/"))
            and request.path not in (reverse("web:password_change"), reverse("web:logout"))
        ):
            return redirect("web:password_change")
        response = self.get_response(request)
        response.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
        response.setdefault("Cross-Origin-Resource-Policy", "same-origin")
        if getattr(user, "is_authenticated", False):
            response.setdefault("Cache-Control", "no-store")
        return response


def _strings(value: Any, path: str) -> Iterator[tuple[str, str]]:
    """Every string in a decoded JSON document, keys included, with the field it belongs to."""
    if isinstance(value, str):
        yield path, value
    elif isinstance(value, dict):
        for key, item in value.items():
            child = f"{path}.{key}" if path else str(key)
            yield child, str(key)
            yield from _strings(item, child)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            yield from _strings(item, f"{path}.{index}" if path else str(index))


class BoundedInputMiddleware:
    """Requests the application cannot sensibly read are answered before any view runs, in Chinese
    (English when the request asks for it), as JSON under /api/ and as a page elsewhere:

    * a body larger than DATA_UPLOAD_MAX_MEMORY_SIZE (MINZHENG_MAX_BODY_BYTES, 2.5 MB), or a
      multipart upload larger than MINZHENG_MAX_UPLOAD_BYTES (21 MB) -> 413;
    * a multipart body without a valid boundary, or a form with too many fields -> 400;
    * NUL or another control character in a query parameter, a form field or any string of a JSON
      body -> 422 under /api/ (like every other invalid input there), 400 for a page.

    Views and API handlers still map the same exceptions when they are raised later (a chunked body
    has no length to look at): see process_exception and minzheng.api.main.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.refusal(request) or self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RequestDataTooBig):
            return too_large(request)
        if isinstance(exception, MultiPartParserError | TooManyFieldsSent | TooManyFilesSent):
            return malformed(request)
        if isinstance(exception, IntegrityError | DataError | OverflowError):
            # A write the database refused that a service should have refused first: a clear
            # message, never the constraint's name or the SQL (those go to the log).
            logger.warning("database refused a write from a page", exc_info=exception)
            conflict = isinstance(exception, IntegrityError)
            return _refuse(
                request,
                409 if conflict else 400,
                "conflict" if conflict else "invalid",
                _("数据与已有记录冲突或不符合规则，未保存，请检查后重新提交")
                if conflict
                else _("输入的数值或文本超出允许范围，请检查后重新提交"),
            )
        return None

    def refusal(self, request: HttpRequest) -> HttpResponse | None:
        content_type, params = parse_header_parameters(request.META.get("CONTENT_TYPE", ""))
        multipart = content_type == "multipart/form-data"
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            return malformed(request)
        limit = settings.MINZHENG_MAX_UPLOAD_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        if length > limit:
            return too_large(request)
        if multipart and request.method in ("POST", "PUT", "PATCH"):
            boundary = params.get("boundary", "")
            if not boundary or not MultiPartParser.boundary_re.fullmatch(boundary):
                return malformed(request)
        try:
            fields = list(self._fields(request, content_type))
        except RequestDataTooBig:
            return too_large(request)
        except (MultiPartParserError, TooManyFieldsSent, TooManyFilesSent):
            return malformed(request)
        bad = [name for name, value in fields if find_control_character(value) is not None]
        if bad:
            return control_characters(request, bad)
        return None

    @staticmethod
    def _fields(request: HttpRequest, content_type: str) -> Iterator[tuple[str, str]]:
        for name, values in request.GET.lists():
            yield name, name
            for value in values:
                yield name, value
        if request.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return
        if content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            for name, values in request.POST.lists():
                yield name, name
                for value in values:
                    yield name, value
            for name, uploads in request.FILES.lists():
                for upload in uploads:
                    yield name, upload.name or ""
        elif content_type == "application/json" or content_type.endswith("+json"):
            try:
                document = json.loads(request.body or b"null")
            except ValueError:
                return  # the API answers malformed JSON itself
            yield from _strings(document, "")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _refuse(
    request: HttpRequest, status: int, code: str, message: str, fields: dict[str, list[str]] | None = None
) -> HttpResponse:
    if _is_api(request):
        return JsonResponse({"code": code, "message": message, "field_errors": fields or {}}, status=status)
    return render(request, "web/error.html", {"status": status, "message": message}, status=status)


def too_large(request: HttpRequest) -> HttpResponse:
    limit = settings.MINZHENG_MAX_UPLOAD_BYTES // 1024 // 1024
    return _refuse(
        request,
        413,
        "too_large",
        _("提交的内容过大：上传文件不超过%(upload)sMB，其他内容不超过%(body)sKB")
        % {"upload": limit, "body": settings.DATA_UPLOAD_MAX_MEMORY_SIZE // 1024},
    )


def malformed(request: HttpRequest) -> HttpResponse:
    return _refuse(request, 400, "malformed", _("请求格式不正确（表单或上传内容无法读取），请重新提交"))


def control_characters(request: HttpRequest, fields: list[str]) -> HttpResponse:
    message = _("不能包含空字符或其他控制字符")
    return _refuse(
        request,
        422 if _is_api(request) else 400,
        "invalid",
        _("输入有误：%(message)s") % {"message": message},
        {name: [message] for name in dict.fromkeys(fields)},
    )
