"""Organisation endpoints: the current account, divisions, offices, staff and API tokens."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Router, Schema, Status
from ninja.pagination import PageNumberPagination, paginate

from minzheng.core.errors import NotFound
from minzheng.org import selectors, services
from minzheng.org.models import ChangeKind, Division, Office, Staff, StaffChangeRequest
from minzheng.org.scope import jurisdiction_of

router = Router(tags=["组织机构 organisation"])


def actor(request: HttpRequest) -> Staff:
    return request.auth  # type: ignore[attr-defined, no-any-return]


class ErrorOut(Schema):
    code: str
    message: str
    field_errors: dict[str, list[str]]


class DivisionOut(Schema):
    code: str
    name: str
    level: int
    kind: str
    parent_code: str | None = Field(None, alias="parent_id")
    urban_rural_code: str


class OfficeOut(Schema):
    id: int
    name: str
    kind: str
    division_code: str = Field(alias="division_id")
    division_name: str = Field(alias="division.name")


class StaffOut(Schema):
    id: int
    username: str
    full_name: str
    office_id: int
    office_name: str = Field(alias="office.name")
    office_code: str = Field(alias="office.division_id")
    department: str = Field("", description="协作部门的账号所属部门；民政工作人员为空")
    is_active: bool
    roles: list[str]
    created_by: str | None = Field(None, description="创建此账号的人（用户名）")
    roles_granted_by: str | None = Field(None, description="最近授予角色的人（用户名）")
    roles_confirmed_by: str | None = Field(None, description="确认授予角色的人（用户名）")

    @staticmethod
    def resolve_roles(obj: Staff) -> list[str]:
        return sorted(g.role for g in obj.role_grants.all())

    @staticmethod
    def resolve_created_by(obj: Staff) -> str | None:
        return obj.created_by.username if obj.created_by_id else None  # type: ignore[union-attr]

    @staticmethod
    def resolve_roles_granted_by(obj: Staff) -> str | None:
        return obj.roles_granted_by.username if obj.roles_granted_by_id else None  # type: ignore[union-attr]

    @staticmethod
    def resolve_roles_confirmed_by(obj: Staff) -> str | None:
        return obj.roles_confirmed_by.username if obj.roles_confirmed_by_id else None  # type: ignore[union-attr]


class ChangeRequestOut(Schema):
    """A change to an account waiting for (or given) a second administrator's confirmation."""

    id: int
    staff_id: int
    staff_username: str = Field(alias="staff.username")
    kind: str
    roles: list[str]
    active: bool | None
    reason: str
    confirmer_roles: list[str]
    requested_by: str = Field(alias="requested_by.username")
    requested_at: datetime
    status: str
    decided_by: str | None = None
    decided_at: datetime | None
    decision_note: str

    @staticmethod
    def resolve_decided_by(obj: StaffChangeRequest) -> str | None:
        return obj.decided_by.username if obj.decided_by_id else None  # type: ignore[union-attr]


class StaffChangeDecisionIn(Schema):
    note: str = Field("", max_length=200)


class MeOut(Schema):
    id: int
    username: str
    full_name: str
    office: OfficeOut
    jurisdiction_prefix: str
    jurisdiction_name: str
    roles: list[str]
    permissions: list[str]
    must_change_password: bool
    demo: bool


class StaffIn(Schema):
    username: str = Field(min_length=3, max_length=150)
    full_name: str = Field(min_length=1, max_length=60)
    office_id: int
    password: str
    roles: list[str]
    phone: str = ""
    reason: str = ""
    department: str = Field("", max_length=24, description="协作部门的账号：所属部门")


class RolesIn(Schema):
    roles: list[str]
    reason: str = Field(min_length=1)


class ActiveIn(Schema):
    active: bool
    reason: str = Field(min_length=1)


class PasswordChangeIn(Schema):
    old_password: str
    new_password: str


class PasswordResetIn(Schema):
    new_password: str
    reason: str = Field(min_length=1)


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=200)


class TokenIn(Schema):
    name: str = Field(min_length=1, max_length=80)
    expires_at: datetime | None = Field(None, description="默认及最长：签发后 MINZHENG_API_TOKEN_DAYS 天")
    read_only: bool = Field(False, description="只读令牌只能用于 GET")


class TokenOut(Schema):
    id: int
    name: str
    prefix: str
    read_only: bool
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    revoked_reason: str
    last_used_at: datetime | None


class TokenCreatedOut(TokenOut):
    token: str


@router.get("/me", response=MeOut, summary="当前账号、机构与管辖范围")
def me(request: HttpRequest) -> dict[str, object]:
    staff = actor(request)
    j = jurisdiction_of(staff)
    return {
        "id": staff.pk,
        "username": staff.username,
        "full_name": staff.full_name,
        "office": staff.office,
        "jurisdiction_prefix": j.prefix,
        "jurisdiction_name": j.name,
        "roles": sorted(staff.roles),
        "permissions": sorted(staff.permissions),
        "must_change_password": staff.must_change_password,
        "demo": staff.is_demo,
    }


@router.post("/me/password", response={204: None, 422: ErrorOut}, summary="修改本人密码")
def change_password(request: HttpRequest, payload: PasswordChangeIn) -> Status:
    services.staff_change_password(
        staff=actor(request), old_password=payload.old_password, new_password=payload.new_password
    )
    return Status(204, None)


@router.get("/divisions", response=list[DivisionOut], summary="管辖范围内的行政区划")
@paginate(PageNumberPagination, page_size=100)
def divisions(request: HttpRequest, parent: str | None = None, level: int | None = None) -> object:
    return selectors.division_list(actor=actor(request), parent_code=parent, level=level)


@router.get("/divisions/{code}", response=DivisionOut, summary="行政区划详情")
def division(request: HttpRequest, code: str) -> Division:
    return selectors.division_get(actor=actor(request), code=code)


@router.get("/offices", response=list[OfficeOut], summary="管辖范围内的民政机构")
@paginate(PageNumberPagination, page_size=100)
def offices(request: HttpRequest) -> object:
    return selectors.office_list(actor=actor(request))


@router.get("/staff", response=list[StaffOut], summary="管辖范围内的工作人员")
@paginate(PageNumberPagination, page_size=50)
def staff_list(request: HttpRequest, search: str = "", office_code: str = "") -> object:
    return selectors.staff_list(actor=actor(request), search=search, office_code=office_code)


@router.get("/staff/{staff_id}", response=StaffOut, summary="工作人员详情")
def staff_detail(request: HttpRequest, staff_id: int) -> Staff:
    return selectors.staff_get(actor=actor(request), pk=staff_id)


def _office_in_scope(request: HttpRequest, office_id: int) -> Office:
    office = selectors.office_list(actor=actor(request)).filter(pk=office_id).first()
    if office is None:
        raise NotFound("机构不存在或不在您的管辖范围内", field_errors={"office_id": ["不在管辖范围内"]})
    return office


@router.post(
    "/staff",
    response={201: StaffOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="新建工作人员账号",
)
def staff_create(request: HttpRequest, payload: StaffIn) -> Status:
    staff = services.staff_create(
        actor=actor(request),
        username=payload.username,
        full_name=payload.full_name,
        office=_office_in_scope(request, payload.office_id),
        password=payload.password,
        roles=payload.roles,
        phone=payload.phone,
        reason=payload.reason,
        department=payload.department,
    )
    return Status(201, staff)


def _submitted(result: Staff | StaffChangeRequest, done: int = 200) -> Status:
    """The change itself (200/204), or 202 with the request waiting for a second administrator."""
    if isinstance(result, StaffChangeRequest):
        return Status(202, result)
    return Status(done, result if done == 200 else None)


CHANGE_RESPONSES: dict[int, object] = {202: ChangeRequestOut, 403: ErrorOut, 409: ErrorOut, 422: ErrorOut}


@router.put(
    "/staff/{staff_id}/roles",
    response={200: StaffOut, **CHANGE_RESPONSES},  # type: ignore[dict-item]
    summary="设置角色（三员及审批类角色须另一管理员确认：202）",
)
def staff_roles(request: HttpRequest, staff_id: int, payload: RolesIn) -> Status:
    staff = selectors.staff_get(actor=actor(request), pk=staff_id)
    return _submitted(
        services.staff_change_submit(
            actor=actor(request),
            staff=staff,
            kind=ChangeKind.SET_ROLES,
            roles=payload.roles,
            reason=payload.reason,
        )
    )


@router.post(
    "/staff/{staff_id}/active",
    response={200: StaffOut, **CHANGE_RESPONSES},  # type: ignore[dict-item]
    summary="启用或停用账号（停用即吊销其API令牌）",
)
def staff_active(request: HttpRequest, staff_id: int, payload: ActiveIn) -> Status:
    staff = selectors.staff_get(actor=actor(request), pk=staff_id)
    return _submitted(
        services.staff_change_submit(
            actor=actor(request),
            staff=staff,
            kind=ChangeKind.SET_ACTIVE,
            active=payload.active,
            reason=payload.reason,
        )
    )


@router.post(
    "/staff/{staff_id}/password",
    response={204: None, **CHANGE_RESPONSES},  # type: ignore[dict-item]
    summary="重置密码（安全管理员；吊销其API令牌）",
)
def staff_password(request: HttpRequest, staff_id: int, payload: PasswordResetIn) -> Status:
    staff = selectors.staff_get(actor=actor(request), pk=staff_id)
    return _submitted(
        services.staff_change_submit(
            actor=actor(request),
            staff=staff,
            kind=ChangeKind.RESET_PASSWORD,
            new_password=payload.new_password,
            reason=payload.reason,
        ),
        done=204,
    )


@router.post(
    "/staff/{staff_id}/unlock",
    response={204: None, **CHANGE_RESPONSES},  # type: ignore[dict-item]
    summary="解除登录锁定（安全管理员）",
)
def staff_unlock(request: HttpRequest, staff_id: int, payload: ReasonIn) -> Status:
    staff = selectors.staff_get(actor=actor(request), pk=staff_id)
    return _submitted(
        services.staff_change_submit(
            actor=actor(request), staff=staff, kind=ChangeKind.UNLOCK, reason=payload.reason
        ),
        done=204,
    )


@router.get(
    "/staff-change-requests", response=list[ChangeRequestOut], summary="待确认（或已处理）的账号变更申请"
)
@paginate(PageNumberPagination, page_size=50)
def change_requests(request: HttpRequest, status: str = "pending") -> object:
    return selectors.staff_change_request_list(actor=actor(request), status=status)


@router.post(
    "/staff-change-requests/{request_id}/confirm",
    response={200: ChangeRequestOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut},
    summary="确认账号变更申请（另一管理员）",
)
def change_confirm(
    request: HttpRequest, request_id: int, payload: StaffChangeDecisionIn
) -> StaffChangeRequest:
    return services.staff_change_confirm(actor=actor(request), request_id=request_id, note=payload.note)


@router.post(
    "/staff-change-requests/{request_id}/reject",
    response={200: ChangeRequestOut, 403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut},
    summary="驳回或撤回账号变更申请",
)
def change_reject(
    request: HttpRequest, request_id: int, payload: StaffChangeDecisionIn
) -> StaffChangeRequest:
    return services.staff_change_reject(actor=actor(request), request_id=request_id, note=payload.note)


@router.get("/tokens", response=list[TokenOut], summary="本人的API令牌")
def tokens(request: HttpRequest) -> object:
    return selectors.api_token_list(actor=actor(request))


@router.post(
    "/tokens",
    response={201: TokenCreatedOut, 403: ErrorOut, 422: ErrorOut},
    summary="签发API令牌（只显示一次）",
)
def token_issue(request: HttpRequest, payload: TokenIn) -> Status:
    token, raw = services.api_token_issue(
        actor=actor(request), name=payload.name, expires_at=payload.expires_at, read_only=payload.read_only
    )
    return Status(201, {**TokenOut.from_orm(token).dict(), "token": raw})


@router.delete("/tokens/{token_id}", response={204: None, 404: ErrorOut}, summary="吊销API令牌")
def token_revoke(request: HttpRequest, token_id: int) -> Status:
    token = selectors.api_token_list(actor=actor(request)).filter(pk=token_id).first()
    if token is None:
        raise NotFound()
    services.api_token_revoke(actor=actor(request), token=token)
    return Status(204, None)
