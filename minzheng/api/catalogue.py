"""The service catalogue and its guides (办事指南): public, no login needed."""

from datetime import datetime

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema

from minzheng.api.org import ErrorOut
from minzheng.catalogue import selectors
from minzheng.catalogue.models import ServiceItem

router = Router(tags=["事项目录 catalogue"])


class GuideMaterialOut(Schema):
    order: int
    name: str
    required: bool
    fetchable_by_office: bool = Field(description="可通过数据共享获取，申请人无需提交")
    pledge_allowed: bool = Field(description="可以书面承诺代替证明（告知承诺）")
    note: str


class GuideStepOut(Schema):
    name: str
    who: str
    days: int | None = Field(None, description="工作日")
    calendar_days: int | None = Field(None, description="自然日（如公示期）")
    note: str = ""


class FormOut(Schema):
    name: str
    note: str = ""


class ItemSummaryOut(Schema):
    code: str
    name: str
    summary: str
    department: str
    department_label: str
    handled_by: str = Field(description="审批层级：township / county")
    intake_mode: str = Field(description="handle=受理办理，transfer=受理转办")
    accepts_at_township: bool
    delegated_to_township: bool
    time_limit_working_days: int

    @staticmethod
    def resolve_department_label(obj: ServiceItem) -> str:
        return obj.get_department_display()


class ItemOut(ItemSummaryOut):
    legal_basis: str
    conditions: str
    materials: list[GuideMaterialOut]
    steps: list[GuideStepOut]
    time_limit_note: str
    forms: list[FormOut]
    fee: str
    commitment: str
    updated_at: datetime

    @staticmethod
    def resolve_materials(obj: ServiceItem) -> list[object]:
        return list(selectors.item_materials(item=obj))


class ItemQuery(Schema):
    department: str | None = Field(None, description="承办部门，如 civil_affairs")


@router.get(
    "/catalogue/items",
    response={200: list[ItemSummaryOut], 422: ErrorOut},
    auth=None,
    summary="服务事项目录（公开）",
)
def items(request: HttpRequest, query: Query[ItemQuery]) -> object:
    return list(selectors.item_list(department=query.department))


@router.get(
    "/catalogue/items/{code}",
    response={200: ItemOut, 404: ErrorOut},
    auth=None,
    summary="办事指南（公开）",
)
def item(request: HttpRequest, code: str) -> ServiceItem:
    return selectors.item_get(code=code)
