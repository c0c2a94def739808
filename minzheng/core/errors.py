"""Typed domain errors. Services raise these; api/ and web/ turn them into responses.

Each error has a stable machine `code` and a Chinese `message` for users; `field_errors` maps a
field name to its messages when the problem is with input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence


class DomainError(Exception):
    code = "error"
    status = 400
    default_message = "请求无法处理"

    def __init__(
        self,
        message: str | None = None,
        *,
        code: str | None = None,
        field_errors: Mapping[str, Sequence[str]] | None = None,
    ) -> None:
        self.message = message or self.default_message
        if code:
            self.code = code
        self.field_errors: dict[str, list[str]] = {k: list(v) for k, v in (field_errors or {}).items()}
        super().__init__(self.message)


class InvalidInput(DomainError):
    code = "invalid"
    status = 422
    default_message = "输入有误，请检查后重新提交"


class NotFound(DomainError):
    code = "not_found"
    status = 404
    default_message = "记录不存在或不在您的管辖范围内"


class OutOfScope(NotFound):
    """Outside the actor's jurisdiction. Deliberately indistinguishable from NotFound so that the
    existence of records in other jurisdictions does not leak."""

    code = "not_found"


class PermissionDenied(DomainError):
    code = "forbidden"
    status = 403
    default_message = "您没有执行此操作的权限"


class Conflict(DomainError):
    code = "conflict"
    status = 409
    default_message = "操作与现有记录冲突"


class TransitionNotAllowed(Conflict):
    code = "transition_not_allowed"
    default_message = "当前状态下不允许此操作"


class TooManyRequests(DomainError):
    code = "rate_limited"
    status = 429
    default_message = "操作过于频繁，请稍后再试"
