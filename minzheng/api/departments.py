"""Other departments as users (协作部门): the items transferred to the account's own department and
their feedback, and the assistance-status inquiry about a person the department serves.

A department's system calls these with a bearer token; a read-only token suffices for the status
inquiry (each inquiry is still recorded and audited: the record of who asked is not a change to
anyone's data)."""

from datetime import date
from typing import Annotated

from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from ninja.pagination import paginate

from minzheng.api.cases import In
from minzheng.api.org import ErrorOut, actor
from minzheng.api.pagination import BoundedPageNumberPagination
from minzheng.cases import departments
from minzheng.cases.models import Transfer
from minzheng.core.inputs import BoundedDate, Line, Text
from minzheng.inquiries import services as inquiries
from minzheng.inquiries.models import InquiryChannel

router = Router(tags=["协作部门 departments"])

Id = Annotated[int, Field(ge=1, le=2**63 - 1)]
_READ_ERRORS = {403: ErrorOut, 404: ErrorOut, 422: ErrorOut}
_WRITE_ERRORS = {403: ErrorOut, 404: ErrorOut, 409: ErrorOut, 422: ErrorOut}


class DepartmentTransferOut(Schema):
    case_id: int
    number: str
    item: str
    village: str
    applicant_name: str
    applicant_id_masked: str
    applicant_phone: str
    details: dict[str, object]
    state: str
    sent_on: date
    feedback_due: date
    overdue: bool
    feedback_on: date | None
    feedback: str


def _transfer(t: Transfer) -> DepartmentTransferOut:
    case = t.case
    return DepartmentTransferOut(
        case_id=case.pk,
        number=case.number,
        item=case.item.name,
        village=case.division.name,
        applicant_name=case.applicant_name,
        applicant_id_masked=case.applicant_id_masked,
        applicant_phone=case.applicant_phone,
        details=case.details,
        state=case.state,
        sent_on=t.sent_on,
        feedback_due=t.feedback_due,
        overdue=t.feedback_on is None and t.feedback_due < timezone.localdate(),
        feedback_on=t.feedback_on,
        feedback=t.feedback,
    )


class TransferFilter(Schema):
    include_closed: bool = False


@router.get(
    "/department/transfers",
    response={200: list[DepartmentTransferOut], 403: ErrorOut},
    summary="转本部门办理的事项（默认：待反馈的）",
)
@paginate(BoundedPageNumberPagination, page_size=50)
def transfer_list(request: HttpRequest, filters: Query[TransferFilter]) -> object:
    qs = departments.department_transfers(actor=actor(request), open_only=not filters.include_closed)
    return _Page(qs)


class _Page:
    """The transfers, mapped to output rows once the paginator has sliced them."""

    def __init__(self, qs: QuerySet[Transfer]) -> None:
        self.qs = qs

    def count(self) -> int:
        return self.qs.count()

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[DepartmentTransferOut]:
        return [_transfer(t) for t in self.qs[index]]


@router.get(
    "/department/transfers/{case_id}",
    response={200: DepartmentTransferOut, **_READ_ERRORS},
    summary="转本部门办理的一件事项",
)
def transfer_get(request: HttpRequest, case_id: Id) -> DepartmentTransferOut:
    return _transfer(departments.department_transfer_get(actor=actor(request), case_id=case_id))


class FeedbackIn(In):
    feedback: Text = Field(min_length=1, max_length=departments.FEEDBACK_MAX_LENGTH)


@router.post(
    "/department/transfers/{case_id}/feedback",
    response={200: DepartmentTransferOut, **_WRITE_ERRORS},
    summary="反馈办理结果（办结转办事项）",
)
def transfer_feedback(request: HttpRequest, case_id: Id, payload: FeedbackIn) -> DepartmentTransferOut:
    departments.transfer_feedback_record(actor=actor(request), case_id=case_id, feedback=payload.feedback)
    return _transfer(departments.department_transfer_get(actor=actor(request), case_id=case_id))


class InquiryQuery(Schema):
    # Optional in the schema so that the service gives its own messages (in Chinese, per field).
    id_number: Line = Field("", max_length=18, description="被查询人身份证号")
    purpose: Line = Field("", max_length=inquiries.PURPOSE_MAX_LENGTH, description="查询用途（必填）")
    on: BoundedDate | None = Field(None, description="身份日期，默认今天")


class InquiryStatusOut(Schema):
    status: str
    label: str
    subject: str = Field(description="person：本人的身份；household：所在家庭的身份")
    valid_from: date | None
    valid_until: date | None


class InquiryOut(Schema):
    inquiry_id: int
    on: date
    statuses: list[InquiryStatusOut]
    message: str


@router.get(
    "/status-inquiries",
    response={200: InquiryOut, 403: ErrorOut, 422: ErrorOut},
    summary="查询服务对象的救助身份（须说明用途；每次查询留痕）",
)
def status_inquiry(request: HttpRequest, query: Query[InquiryQuery]) -> InquiryOut:
    result = inquiries.status_inquire(
        actor=actor(request),
        id_number=query.id_number,
        purpose=query.purpose,
        on=query.on or timezone.localdate(),
        channel=InquiryChannel.API,
    )
    return InquiryOut(
        inquiry_id=result.inquiry.pk,
        on=result.on,
        statuses=[InquiryStatusOut(**s.__dict__) for s in result.statuses],
        message=result.message,
    )
