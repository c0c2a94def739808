"""Nothing leaks across jurisdictions: every API endpoint and every page, with every role.

Each village of the test tree holds a household, a staff account and a token. For each role, an
account at that role's natural level looks at everything through every endpoint the API publishes
and every page the web app routes. Records outside its jurisdiction must never appear in a body,
never be counted, and never be changed. A new endpoint or page must be added to the tables below,
or this test fails.
"""

from __future__ import annotations

import io
import json
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.http import HttpResponseBase
from django.test import Client
from django.urls import URLPattern, reverse
from django.utils import timezone
from openpyxl import Workbook

from minzheng.api.main import api
from minzheng.cases.models import CareVisitPlan, Case, Document, PublicNotice, Transfer
from minzheng.cases.services import case_intake, conflict_register, document_upload
from minzheng.catalogue.models import MaterialRequirement, ServiceItem
from minzheng.catalogue.testing import make_service_item
from minzheng.core import protect
from minzheng.core.models import AuditEvent
from minzheng.feedback.models import GridCell, GridEvent, GridPhoto, ServiceReceipt, Ticket, TicketChannel
from minzheng.monitoring.models import (
    CohortMembership,
    Feed,
    FeedFeedback,
    FeedRecord,
    WarningPhoto,
    WarningVisit,
)
from minzheng.monitoring.models import Warning as MonitoringWarning
from minzheng.org.models import (
    ApiToken,
    ChangeKind,
    Division,
    Office,
    PartnerDepartment,
    Staff,
    StaffChangeRequest,
)
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import VILLAGES, make_staff
from minzheng.oversight.models import (
    Bulletin,
    CountyNormChoice,
    Evidence,
    FacilityCheck,
    FundingRecord,
    PopulationRecord,
    PreJobGateRule,
    ProviderEvaluation,
    Qualification,
    Rectification,
    SampledCase,
    ServiceContract,
    ServiceDelivery,
    ServiceProvider,
    SpotCheck,
    StaffAssignment,
    SupervisionTask,
    TrainingAttendance,
    TrainingEvent,
    TrainingPlan,
    Worker,
)
from minzheng.payments.models import (
    BankExport,
    Enrolment,
    Fund,
    FundEntry,
    OrderBasis,
    OrderStatus,
    PaymentMethod,
    PaymentOrder,
    PayrollLine,
    PayrollRun,
    PayrollTotal,
    ReconciliationReport,
    ReviewTask,
    RunStatus,
)
from minzheng.plans.definitions import DAWUKOU_14TH, load_plan
from minzheng.plans.models import Indicator, IndicatorEntry, IndicatorValue, Plan
from minzheng.registry import excel
from minzheng.registry.circumstances import DatedRecord, IncomeItem
from minzheng.registry.models import Household, ImportJob, ImportStatus, Membership, Person
from minzheng.registry.services import circumstance_record
from minzheng.registry.testing import make_household, resident_id
from minzheng.rules.models import ParameterValue, TakeUpGap, TakeUpScan
from minzheng.rules.services import parameter_propose
from minzheng.verification.models import (
    DepartmentQuery,
    Finding,
    QueryStatus,
    RecheckBatch,
    RecheckHit,
    RecheckSubject,
    Report,
    RequestStatus,
    VerificationRequest,
)
from minzheng.web import urls as web_urls

HOME_OF: dict[Role, str] = {
    Role.VILLAGE_ASSISTANT: "640202001001",
    Role.TOWNSHIP_CLERK: "640202001000",
    Role.TOWNSHIP_REVIEWER: "640202001000",
    Role.TOWNSHIP_HEAD: "640202001000",
    Role.COUNTY_REVIEWER: "640202000000",
    Role.COUNTY_APPROVER: "640202000000",
    Role.COUNTY_ADMIN: "640202000000",
    Role.SUPERVISOR: "640200000000",
    Role.AUDITOR: "640202000000",
    Role.DEPARTMENT_STAFF: "640202000000",
    Role.SYSTEM_ADMIN: "640202000000",
    Role.SECURITY_ADMIN: "640202000000",
    Role.AUDIT_ADMIN: "640202000000",
}

# A partner department's account belongs to the department its transferred items name.
DEPARTMENT_OF: dict[Role, str] = {Role.DEPARTMENT_STAFF: PartnerDepartment.EDUCATION}

HEAD_NAMES = {code: f"户主{i}号" for i, code in enumerate(VILLAGES)}


@dataclass
class World:
    households: dict[str, Household]
    staff: dict[str, Staff]
    tokens: dict[str, ApiToken]
    incomes: dict[str, DatedRecord]
    jobs: dict[str, ImportJob]
    proposals: dict[str, ParameterValue]
    cases: dict[str, Case] = field(default_factory=dict)
    changes: dict[str, StaffChangeRequest] = field(default_factory=dict)  # pending, by village
    documents: dict[str, Document] = field(default_factory=dict)
    plans: dict[str, CareVisitPlan] = field(default_factory=dict)  # visiting plans (探访照料)
    enrolments: dict[str, Enrolment] = field(default_factory=dict)
    reviews: dict[str, ReviewTask] = field(default_factory=dict)
    runs: dict[str, PayrollRun] = field(default_factory=dict)  # by county
    exports: dict[str, BankExport] = field(default_factory=dict)  # by county
    reports: dict[str, ReconciliationReport] = field(default_factory=dict)  # by county
    orders: dict[str, PaymentOrder] = field(default_factory=dict)  # one-off payment orders
    verifications: dict[str, VerificationRequest] = field(default_factory=dict)  # answered, by village
    findings: dict[str, Finding] = field(default_factory=dict)  # a pending discrepancy, by village
    verification_reports: dict[str, Report] = field(default_factory=dict)  # by village
    transfers: dict[str, Case] = field(default_factory=dict)  # an item transferred to 教育局, by village
    tickets: dict[str, Ticket] = field(default_factory=dict)  # a complaint being handled, by village
    grid_events: dict[str, GridEvent] = field(default_factory=dict)  # a reported grid event, by village
    receipts: dict[str, ServiceReceipt] = field(default_factory=dict)  # a service receipt, by village
    contracts: dict[str, ServiceContract] = field(default_factory=dict)  # purchased services, by village
    bulletins: dict[str, Bulletin] = field(default_factory=dict)  # a monthly bulletin, by village
    evidence: dict[str, Evidence] = field(default_factory=dict)  # a facility check's photo, by village
    rechecks: dict[str, RecheckBatch] = field(default_factory=dict)  # a monthly re-check, by county
    workers: dict[str, Worker] = field(default_factory=dict)  # a grassroots worker, by village
    posts: dict[str, StaffAssignment] = field(default_factory=dict)  # the worker's post, by village
    training: dict[str, TrainingEvent] = field(default_factory=dict)  # held by its township, by village
    samples: dict[str, SampledCase] = field(default_factory=dict)  # its case in a spot check, by village
    supervision_tasks: dict[str, SupervisionTask] = field(default_factory=dict)  # by village
    rectifications: dict[str, Rectification] = field(default_factory=dict)  # open, by village
    takeup_gaps: dict[str, TakeUpGap] = field(default_factory=dict)  # an open take-up row, by village
    warnings: dict[str, MonitoringWarning] = field(default_factory=dict)  # a new warning, by village
    warning_photos: dict[str, WarningPhoto] = field(default_factory=dict)  # its visit's photo, by village
    feeds: dict[str, Feed] = field(default_factory=dict)  # a department's feed, by county
    development_plans: dict[str, Plan] = field(default_factory=dict)  # the plan's indicators, by county
    plan_indicators: dict[str, Indicator] = field(default_factory=dict)  # its indicator 3, by county
    plan_entries: dict[str, IndicatorEntry] = field(default_factory=dict)  # a pending entry, by county
    feed_feedbacks: dict[str, FeedFeedback] = field(default_factory=dict)  # its feedback file, by county

    def foreign(self, prefix: str) -> list[str]:
        return [v for v in VILLAGES if not v.startswith(prefix)]

    def local(self, prefix: str) -> list[str]:
        return [v for v in VILLAGES if v.startswith(prefix)]


@pytest.fixture
def world(tree: dict[str, Division]) -> World:
    creator = make_staff("creator", "640000000000", [Role.TOWNSHIP_REVIEWER])
    households, staff, tokens, incomes, jobs = {}, {}, {}, {}, {}
    for village in VILLAGES:
        households[village] = make_household(creator, village, HEAD_NAMES[village], members=2)
        staff[village] = make_staff(f"staff_{village}", village, [Role.VILLAGE_ASSISTANT])
        tokens[village], _ = api_token_issue(actor=staff[village], name=f"token {village}")
        incomes[village] = circumstance_record(
            actor=creator,
            kind="income",
            subject=households[village].head,  # type: ignore[arg-type]
            valid_from=date(2026, 1, 1),
            values={"category": "wages", "monthly_amount": "1234.56"},
            note=f"income {village}",
        )
        jobs[village] = ImportJob.objects.create(
            uploaded_by=staff[village],
            division_id=village,
            file_name=f"job {village}.xlsx",
            status=ImportStatus.FAILED,
            error_workbook=excel._seal(excel.error_workbook([(2, (f"job {village}",) * 8, "错误")])),
        )
    proposals = {}
    for county in sorted({v[:6] for v in VILLAGES}):
        proposer = make_staff(f"proposer_{county}", f"{county}000000", [Role.COUNTY_ADMIN])
        proposals[county] = parameter_propose(
            actor=proposer,
            name="disability.living.amount",
            region=county,
            area="all",
            effective_from=date(2027, 1, 1),
            value="150",
            reference=f"依据{county}号",
            reason="测试",
        )
    make_service_item("dibao")  # the public catalogue, reached through SHARED_TARGETS
    world = World(households, staff, tokens, incomes, jobs, proposals)
    for village in VILLAGES:
        world.changes[village] = StaffChangeRequest.objects.create(
            staff=staff[village],
            kind=ChangeKind.SET_ACTIVE,
            active=False,
            reason=f"停用 {village}",
            confirmer_roles=[Role.SECURITY_ADMIN],
            requested_by=creator,
        )
    add_cases(world, creator)
    add_payments(world, creator)
    add_verifications(world, creator)
    add_transfers(world)
    add_tickets(world)
    add_grid_events(world)
    add_oversight(world)
    add_takeup(world)
    add_monitoring(world)
    add_plans(world)
    return world


def add_plans(world: World) -> None:
    """Per county the plan's 14 indicators (the seed's, loaded for each county), a value of indicator
    3 for 2024 and a pending entry with its evidence. Written directly: minzheng/plans/tests drive the
    services."""
    creator = Staff.objects.get(username="creator")
    for county in sorted({v[:6] for v in VILLAGES}):
        load_plan(Plan, Indicator, DAWUKOU_14TH, region=county)
        plan = Plan.objects.get(region=county)
        ind = Indicator.objects.get(plan=plan, number=3)
        world.development_plans[county], world.plan_indicators[county] = plan, ind
        IndicatorValue.objects.create(
            indicator=ind, year=2024, value=Decimal("41.5"), inputs={}, inputs_sha256="0" * 64
        )
        world.plan_entries[county] = IndicatorEntry.objects.create(
            indicator=ind, year=2025, kind="value", value=Decimal("47.5"), source=f"来源 {county}",
            evidence_name=f"佐证 {county}.pdf", evidence_type="application/pdf", evidence_size=len(PDF),
            evidence_sha256="0" * 64, evidence_content=PDF, entered_by=creator,
        )  # fmt: skip


def plans_state(world: World, foreign: list[str]) -> list[Any]:
    """Everything a plans endpoint could change about the foreign counties' plans."""
    counties = {v[:6] for v in foreign}
    return [
        sorted(
            IndicatorEntry.objects.filter(indicator__plan__region__in=counties).values_list(
                "pk", "status", "decided_by", "value"
            )
        ),
        sorted(
            IndicatorValue.objects.filter(indicator__plan__region__in=counties).values_list(
                "pk", "year", "value", "frozen", "computed_at"
            )
        ),
    ]


def add_monitoring(world: World) -> None:
    """Per county a feed; per village a warning on its household from it, with a visit and its photo.
    Written directly: minzheng/monitoring/tests drive the services."""
    today = timezone.localdate()
    creator = Staff.objects.get(username="creator")
    for county in sorted({v[:6] for v in VILLAGES}):
        world.feeds[county] = Feed.objects.create(
            county=county, department=f"医保局 {county}", event_type="medical_self_pay", period=date(2026, 11, 1),
            file_name=f"feed {county}.csv", sha256=county.ljust(64, "0"), rows=1, imported_by=creator,
        )  # fmt: skip
        world.feed_feedbacks[county] = FeedFeedback.objects.create(
            feed=world.feeds[county], rows=1, open_warnings=1, final=False, sha256="f" * 64,
            content=f"feedback {county}".encode(), issued_by=creator,
        )  # fmt: skip
    for village in VILLAGES:
        household = world.households[village]
        record = FeedRecord.objects.create(
            feed=world.feeds[village[:6]], row=2, id_digest="2" * 64, id_masked="640202********0000",
            person=household.head, event_on=today, amount=Decimal("20000.00"), detail=f"预警记录 {village}",
        )  # fmt: skip
        warning = MonitoringWarning.objects.create(  # type: ignore[misc]
            record=record, records=1, amount=Decimal("20000.00"), person=household.head, household=household,
            village_code=village, township_code=village[:9] + "000", direction="needs_help", severity=2,
            description=f"预警说明 {village}", clue_on=today, due_on=today,
        )  # fmt: skip
        visit = WarningVisit.objects.create(
            warning=warning,
            visited_on=today,
            workers=["甲", "乙"],
            findings=f"入户 {village}",
            recorded_by=creator,
        )
        world.warnings[village] = warning
        world.warning_photos[village] = WarningPhoto.objects.create(
            visit=visit, content_type="image/jpeg", size=4, sha256="0" * 64, content=b"\xff\xd8\xff\xe0"
        )


def add_takeup(world: World) -> None:
    """Per county a take-up scan, per village an open row of it for its household (应保尽保). Written
    directly: minzheng/rules/tests/test_takeup.py drives the scan."""
    scans = {
        county: TakeUpScan.objects.create(county=county, day=date(2026, 12, 1), programmes=["dibao"])
        for county in sorted({v[:6] for v in VILLAGES})
    }
    for village in VILLAGES:
        world.takeup_gaps[village] = TakeUpGap.objects.create(
            scan=scans[village[:6]],
            household=world.households[village],
            division_code=village,
            programme="dibao",
            amount_fen=10_000,
            members=2,
            income_fen=123_456,
            per_capita_income_fen=61_728,
            standard_fen=65_000,
        )


def add_oversight(world: World) -> None:
    """Per village: a purchased-service contract of its county, a bulletin, a facility check's
    photo, a worker, a training held by its township, its case sampled in its county's spot check,
    a weekly supervision task and an open rectification. Written directly: minzheng/oversight/tests
    drive the services."""
    today = timezone.localdate()
    for i, village in enumerate(VILLAGES):
        world.workers[village] = Worker.objects.create(full_name=f"协理员 {i}", division_id=village)
        world.posts[village] = StaffAssignment.objects.create(
            worker=world.workers[village],
            division_id=village,
            post="village_assistant",
            start_on=date(2026, 1, 1),
        )
        world.training[village] = TrainingEvent.objects.create(
            organiser_id=village[:9] + "000",
            kind="business",
            title=f"培训 {i}",
            start_on=date(2026, 3, 1),
            end_on=date(2026, 3, 2),
            days=Decimal("2"),
        )
        spot = SpotCheck.objects.create(
            county_id=village[:6] + "000000",
            checked_on=today,
            period_start=date(2026, 1, 1),
            period_end=today,
            sample_size=1,
            seed=i + 1,
        )
        world.samples[village] = SampledCase.objects.create(
            spot_check=spot, case=world.cases[village], division_id=village
        )
        world.supervision_tasks[village] = SupervisionTask.objects.create(
            division_id=village, title=f"督导 {i}", due_on=today + timedelta(days=7), created_on=today
        )
        world.rectifications[village] = Rectification.objects.create(
            division_id=village, source="supervision", issue=f"整改 {i}", opened_on=today, due_on=today
        )
        county = village[:6] + "000000"
        provider = ServiceProvider.objects.create(
            name=f"承接 {village}",
            uscc=f"5264020200000{i:04d}X",
            kind="social_organisation",
            county_id=county,
        )
        world.contracts[village] = ServiceContract.objects.create(
            county_id=county,
            provider=provider,
            number=f"GM{village}",
            title=f"购买 {village}",
            mode="project",
            category="service",
            items=["照料护理"],
            amount=Decimal("1000.00"),
            funding_source="local_budget",
            start_on=date(2026, 1, 1),
            end_on=date(2026, 12, 31),
        )
        world.bulletins[village] = Bulletin.objects.create(
            division_id=village,
            month=date(2026, 1, 1),
            as_of=date(2026, 1, 31),
            content={"ranking": []},
            sha256="0" * 64,
        )
        check = FacilityCheck.objects.create(
            division_id=village,
            checked_on=date(2026, 1, 5),
            office_area_m2=Decimal("40"),
            window_has_sign=True,
        )
        world.evidence[village] = Evidence.objects.create(
            facility_check=check,
            division_id=village,
            file_name=f"photo {village}.png",
            content_type="image/png",
            size=8,
            sha256="0" * 64,
            content=PNG_SIGNATURE,
        )


PNG_SIGNATURE = bytes([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])


def oversight_state(world: World, foreign: list[str]) -> list[Any]:
    """Everything an oversight endpoint could change about the foreign jurisdictions."""
    counties = {v[:6] + "000000" for v in foreign}
    contracts = [world.contracts[v].pk for v in foreign]
    workers = [world.workers[v].pk for v in foreign]
    return [
        CountyNormChoice.objects.filter(county_id__in=counties).count(),
        PreJobGateRule.objects.filter(county_id__in=counties).count(),
        PopulationRecord.objects.filter(division_id__in=foreign).count(),
        Worker.objects.filter(division_id__in=foreign).count(),
        StaffAssignment.objects.filter(worker_id__in=workers).count(),
        StaffAssignment.objects.filter(division_id__in=foreign).count(),
        sorted(StaffAssignment.objects.filter(division_id__in=foreign).values_list("pk", "end_on")),
        Qualification.objects.filter(worker_id__in=workers).count(),
        FundingRecord.objects.filter(division__code__in=foreign + [v[:9] + "000" for v in foreign]).count(),
        FacilityCheck.objects.filter(division_id__in=foreign).count(),
        Evidence.objects.filter(division_id__in=foreign).count(),
        TrainingPlan.objects.filter(division_id__in=counties | {v[:9] + "000" for v in foreign}).count(),
        TrainingEvent.objects.filter(organiser_id__in={v[:9] + "000" for v in foreign}).count(),
        TrainingAttendance.objects.filter(worker_id__in=workers).count(),
        ServiceProvider.objects.filter(county_id__in=counties).count(),
        ServiceDelivery.objects.filter(contract__in=contracts).count(),
        SpotCheck.objects.filter(county_id__in=counties).count(),
        sorted(SampledCase.objects.filter(division_id__in=foreign).values_list("pk", "compliant", "finding")),
        sorted(SupervisionTask.objects.filter(division_id__in=foreign).values_list("pk", "status", "result")),
        sorted(Rectification.objects.filter(division_id__in=foreign).values_list("pk", "status", "note")),
        Rectification.objects.filter(division__code__in=[v[:9] + "000" for v in foreign]).count(),
        sorted(ServiceContract.objects.filter(pk__in=contracts).values_list("pk", "status")),
        ProviderEvaluation.objects.filter(contract__in=contracts).count(),
        Bulletin.objects.filter(division__code__in=counties | set(foreign)).count(),
    ]


def add_grid_events(world: World) -> None:
    """Per village: a grid and an event reported in it, with a photo (网格事件)."""
    for i, village in enumerate(VILLAGES):
        cell = GridCell.objects.create(
            code=f"{village}01",
            name=f"网格 {village}",
            village_id=village,
            min_lat=Decimal(30 + i),
            max_lat=Decimal(30 + i) + Decimal("0.5"),
            min_lng=Decimal(100),
            max_lng=Decimal("100.5"),
        )
        event = GridEvent.objects.create(
            number=f"WG{village}",
            cell=cell,
            category_code="100801",
            description=f"网格事件 {village}",
            lat=Decimal(30 + i) + Decimal("0.1"),
            lng=Decimal("100.1"),
            reported_by=world.staff[village],
        )
        GridPhoto.objects.create(
            event=event, stage="before", content_type="image/jpeg", size=4, content=b"\xff\xd8\xff\xe0"
        )
        world.grid_events[village] = event


def add_tickets(world: World) -> None:
    """Per village: a complaint its township office is handling (群众诉求). Written directly:
    minzheng/feedback/tests drive the services."""
    today = timezone.localdate()
    for village in VILLAGES:
        world.tickets[village] = Ticket.objects.create(
            number=f"MZT-{village}",
            channel=TicketChannel.PHONE,
            kind="complaint",
            category_code="100701",
            title=f"诉求 {village}",
            content=f"诉求 {village}",
            division_id=village,
            office=Office.objects.get(division_id=village[:9] + "000"),
            state="processing",
            received_on=today,
            due_date=today + timedelta(days=20),
        )
        world.receipts[village] = ServiceReceipt.objects.create(
            code=f"R{village[-7:]}",
            office=Office.objects.get(division_id=village),
            service_name=f"回执 {village}",
            channel="window",
        )


def add_transfers(world: World) -> None:
    """Per village: an education-aid application transferred to the education bureau, awaiting its
    feedback. Written directly: test_departments drives the services."""
    item = make_service_item("education_aid", "教育救助")
    ServiceItem.objects.filter(pk=item.pk).update(department="education", intake_mode="transfer")
    today = timezone.localdate()
    for village in VILLAGES:
        head = world.households[village].head
        case = Case.objects.create(
            number=f"T{village}",
            item=item,
            workflow="transfer",
            division_id=village,
            household=world.households[village],
            applicant=head,
            applicant_name=HEAD_NAMES[village],
            applicant_id_digest=head.id_digest,  # type: ignore[union-attr]
            applicant_id_masked=head.id_masked,  # type: ignore[union-attr]
            channel="window",
            state="transferred",
        )
        Transfer.objects.create(
            case=case, department="education", sent_on=today, feedback_due=today + timedelta(days=14)
        )
        world.transfers[village] = case


PDF = b"%PDF-1.4\n%%EOF\n"


def add_cases(world: World, registrar: Staff) -> None:
    """Per village: a dibao case taken in by its assistant, with an uploaded document, a current
    village notice and a registered cadre, so that every case path has a foreign target."""
    materials = {m.pk: "provided" for m in MaterialRequirement.objects.filter(item__code="dibao")}
    today = timezone.localdate()
    for village in VILLAGES:
        household = world.households[village]
        case = case_intake(
            actor=world.staff[village],
            item_code="dibao",
            household=household,
            applicant=household.head,  # type: ignore[arg-type]
            channel="proxy",
            proxy_name=f"代办 {village}",
            mandate="书面委托",
            materials=materials,
        )
        world.cases[village] = case
        world.documents[village] = document_upload(
            actor=world.staff[village],
            case_id=case.pk,
            kind="申请书",
            file_name=f"doc {village}.pdf",
            content_type="application/pdf",
            content=PDF,
        )
        PublicNotice.objects.create(
            case=case,
            division_id=village,
            kind="preliminary",
            starts_on=today - timedelta(days=1),
            ends_on=today + timedelta(days=5),
            content={
                "applicant": HEAD_NAMES[village],
                "household_size": 2,
                "amount": "1300.00",
                "item": "低保",
            },
        )
        # A visiting plan of the applicant (written directly: test_care drives the services).
        world.plans[village] = CareVisitPlan.objects.create(
            case=case,
            person=household.head,  # type: ignore[misc]
            division_id=village,
            interval_days=30,
            next_due=today,
        )
        conflict_register(
            actor=registrar,
            division_code=village,
            name=f"cadre {village}",
            position="村委会主任",
            id_number=resident_id(village[:6], date(1966, 6, 6)),
        )


PAYROLL_MONTH = date(2026, 12, 1)


def add_payments(world: World, creator: Staff) -> None:
    """Per village: an enrolment (on its case, paid to a bank named after the village) with a line in
    its county's computed run and an open re-review task; per county: the run, its totals and a bank
    file. Written directly: the payments tests drive the services."""
    for village in VILLAGES:
        household = world.households[village]
        world.enrolments[village] = Enrolment.objects.create(
            programme="dibao",
            case=world.cases[village],
            household=household,
            payee=household.head,  # type: ignore[misc]
            division_id=village,
            monthly_amount=Decimal("1300.00"),
            start_month=PAYROLL_MONTH,
            bank_name=f"银行 {village}",
            account_encrypted="-",
            account_masked="6222***********3446",
            next_review=date(2027, 12, 1),
            created_by=creator,
        )
        world.reviews[village] = ReviewTask.objects.create(
            enrolment=world.enrolments[village],
            kind="periodic",
            due_date=PAYROLL_MONTH,
            office_code=village[:9] + "000",
        )
    for county in sorted({v[:6] for v in VILLAGES}):
        villages = [v for v in VILLAGES if v.startswith(county)]
        run = PayrollRun.objects.create(
            county=county,
            month=PAYROLL_MONTH,
            status=RunStatus.COMPUTED,
            line_count=len(villages),
            total_amount=Decimal("1300.00") * len(villages),
            created_by=creator,
        )
        world.runs[county] = run
        for village in villages:
            enrolment = world.enrolments[village]
            PayrollLine.objects.create(
                run=run,
                enrolment=enrolment,
                programme="dibao",
                month=PAYROLL_MONTH,
                payee_id=enrolment.payee_id,
                division_code=village,
                monthly_amount=enrolment.monthly_amount,
                amount=enrolment.monthly_amount,
            )
        for township in sorted({v[:9] for v in villages}):
            n = len([v for v in villages if v.startswith(township)])
            PayrollTotal.objects.create(
                run=run,
                township_code=f"{township}000",
                programme="dibao",
                line_count=n,
                amount=Decimal("1300.00") * n,
            )
        world.exports[county] = BankExport.objects.create(
            run=run,
            layout="csv",
            file_name=f"bank {county}.csv",
            content=f"银行 {county}".encode(),
            sha256="0" * 64,
            line_count=len(villages),
            total_amount=run.total_amount,
            created_by=creator,
        )
        for township in sorted({v[:9] for v in villages}):  # each township's funds, with money in
            for kind in ("assistance", "reserve"):
                fund = Fund.objects.create(
                    kind=kind, township_code=f"{township}000", balance=Decimal("5000.00")
                )
                FundEntry.objects.create(
                    fund=fund,
                    kind="budget",
                    month=PAYROLL_MONTH,
                    amount=Decimal("5000.00"),
                    balance_after=Decimal("5000.00"),
                    note=f"拨款 {township}",
                    created_by=creator,
                )
        world.reports[county] = ReconciliationReport.objects.create(
            run=run,
            file_name=f"回盘 {county}.csv",
            sha256="0" * 64,
            rows=len(villages),
            errors=[{"row": 2, "reference": "1", "message": f"银行 {v}"} for v in villages],
            created_by=creator,
        )
    for village in VILLAGES:  # a one-off payment order ready to pay, to the village's bank
        world.orders[village] = PaymentOrder.objects.create(
            county=village[:6],
            division_id=village,
            township_code=village[:9] + "000",
            programme="temporary_assistance",
            basis=OrderBasis.DECISION,
            case=world.cases[village],
            payee=world.households[village].head,  # type: ignore[misc]
            amount=Decimal("800.00"),
            reason=f"临时救助 {village}",
            status=OrderStatus.READY,
            method=PaymentMethod.BANK,
            bank_name=f"银行 {village}",
            account_encrypted="-",
            account_masked="6222***********3446",
            created_by=creator,
        )


def add_verifications(world: World, creator: Staff) -> None:
    """Per village: its case's earlier verification with its report, and one answered by the tax
    department with a discrepancy still to dispose of. Written directly: test_verification drives
    the services against the department simulator."""
    today = timezone.localdate()
    for village in VILLAGES:
        case = world.cases[village]
        reported, answered = (
            VerificationRequest.objects.create(
                case=case,
                household=world.households[village],
                county=village[:6],
                transaction_id=f"txn{village}{status}",
                as_of=today,
                status=status,
                requested_by=creator,
            )
            for status in (RequestStatus.REPORTED, RequestStatus.ANSWERED)
        )
        for request in (reported, answered):
            query = DepartmentQuery.objects.create(
                request=request, counterparty="tax", status=QueryStatus.ANSWERED, due_on=today
            )
            finding = Finding.objects.create(
                request=request,
                query=query,
                person=world.households[village].head,
                person_key="0" * 64,
                item="wage_income",
                description=f"核对发现 {village}",
                amount=Decimal("3000.00"),
                declared=Decimal("0.00"),
                discrepancy=True,
            )
        world.verifications[village] = answered
        world.findings[village] = finding
        batch = world.rechecks.get(village[:6]) or RecheckBatch.objects.create(
            county=village[:6],
            month=today.replace(day=1),
            transaction_id=f"recheck{village[:6]}",
            as_of=today,
            requested_by=creator,
        )
        world.rechecks[village[:6]] = batch
        batch_query, _ = DepartmentQuery.objects.get_or_create(
            batch=batch, counterparty="tax", defaults={"status": QueryStatus.ANSWERED, "due_on": today}
        )
        subject = RecheckSubject.objects.create(  # type: ignore[misc]
            batch=batch,
            household=world.households[village],
            person=world.households[village].head,
            person_key="1" * 64,
        )
        RecheckHit.objects.create(
            batch=batch,
            query=batch_query,
            subject=subject,
            item="wage_income",
            amount=Decimal("2000.00"),
            records=1,
            declared=Decimal("0.00"),
            source_ref=f"核对发现 {village}",
        )
        world.verification_reports[village] = Report.objects.create(
            request=reported,
            number=f"HD{village}",
            content={"findings": [{"description": f"核对发现 {village}"}]},
            sha256="0" * 64,
            issued_by=creator,
        )


def payments_state(world: World, foreign: list[str]) -> list[Any]:
    """Everything a payments endpoint could change about the foreign enrolments and runs."""
    rows: list[Any] = []
    for v in foreign:
        e = Enrolment.objects.get(pk=world.enrolments[v].pk)
        task = ReviewTask.objects.get(pk=world.reviews[v].pk)
        run = PayrollRun.objects.get(pk=world.runs[v[:6]].pk)
        rows.append(
            (
                e.status,
                e.monthly_amount,
                e.bank_name,
                e.account_encrypted,
                e.changes.count(),
                task.done_at,
                (run.status, run.approved_by_id, run.exports.count(), run.lines.count()),
                run.reconciliations.count(),
                sorted(PayrollLine.objects.filter(division_code=v).values_list("pk", "status")),
                PaymentOrder.objects.filter(pk=world.orders[v].pk).values_list(
                    "status", "method", "bank_name", "account_encrypted", "run_id"
                )[0],
                PaymentOrder.objects.filter(division_id=v).count(),
            )
        )
    townships = {v[:9] + "000" for v in foreign}
    rows.append(sorted(Fund.objects.filter(township_code__in=townships).values_list("pk", "balance")))
    rows.append(FundEntry.objects.filter(fund__township_code__in=townships).count())
    rows.append(PayrollRun.objects.filter(county__in={v[:6] for v in foreign}).count())
    rows.append(Enrolment.objects.filter(division_id__in=foreign).count())
    return rows


def markers(world: World, village: str) -> list[str]:
    household = world.households[village]
    division = Division.objects.get(code=village)
    return [
        household.number,
        HEAD_NAMES[village],
        f"staff_{village}",
        division.name,
        f"token {village}",
        f"income {village}",
        f"job {village}",
        f"依据{village[:6]}号",
        world.cases[village].number,
        f"doc {village}",
        f"cadre {village}",
        f"银行 {village}",
        f"临时救助 {village}",  # the reason of its payment order
        f"核对发现 {village}",  # a verification finding and its report
        f"T{village}",  # the number of its item transferred to the education bureau
        f"诉求 {village}",  # its complaint (群众诉求)
        f"网格事件 {village}",  # its grid event
    ]


def body_text(response: HttpResponseBase) -> str:
    """A response as text; an Excel download as the text of all its cells."""
    content = (
        b"".join(response.streaming_content)  # type: ignore[attr-defined]
        if response.streaming
        else response.content  # type: ignore[attr-defined]
    )
    if response.get("Content-Type", "").startswith("application/vnd.openxmlformats"):
        return "\n".join(excel.workbook_text(content))
    return content.decode()


def import_upload(village: str) -> dict[str, Any]:
    """A workbook registering a household in `village`, for the multipart import endpoint."""
    book = Workbook()
    book.worksheets[0].append(list(excel.HEADERS))
    book.worksheets[0].append(
        ["1", village, "越权地址", "城市", "", "越权登记", resident_id(village[:6]), "户主"]
    )
    buffer = io.BytesIO()
    book.save(buffer)
    content = buffer.getvalue()
    return {"__multipart__": {"file": SimpleUploadedFile("越权.xlsx", content), "mode": "valid_rows_only"}}


def results_upload(world: World, village: str) -> dict[str, Any]:
    """A bank results file marking the village's payment failed, for the multipart endpoint."""
    line = PayrollLine.objects.get(enrolment=world.enrolments[village])
    content = f"业务参考号,状态,失败原因\n{line.pk},失败,越权\n".encode()
    return {"__multipart__": {"file": SimpleUploadedFile("越权回盘.csv", content)}}


def assert_no_leak(body: str, world: World, foreign: list[str], where: str) -> None:
    for village in foreign:
        for marker in markers(world, village):
            assert marker not in body, f"{where} leaks {marker!r} of {village}"


def state_of(world: World, foreign: list[str]) -> list[Any]:
    """Everything a write could change about the foreign records."""
    rows: list[Any] = []
    for v in foreign:
        h = Household.objects.get(pk=world.households[v].pk)
        s = Staff.objects.get(pk=world.staff[v].pk)
        t = ApiToken.objects.get(pk=world.tokens[v].pk)
        i = IncomeItem.objects.get(pk=world.incomes[v].pk)
        c = StaffChangeRequest.objects.get(pk=world.changes[v].pk)
        rows.append(
            (h.address, h.phone, s.is_active, s.password, sorted(s.roles), t.revoked_at, i.valid_until)
        )
        rows.append((c.status, c.decided_by_id))
    rows.append(AuditEvent.objects.filter(scope_code__in=foreign).count())
    rows.append(Household.objects.filter(division_id__in=foreign).count())
    rows.append(IncomeItem.objects.filter(person__division_id__in=foreign).count())
    rows.append(
        sorted(Membership.objects.filter(household__division_id__in=foreign).values_list("pk", "end_date"))
    )
    rows.append(Staff.objects.filter(office__division_id__in=foreign).count())
    rows.extend(payments_state(world, foreign))
    rows.extend(oversight_state(world, foreign))
    rows.extend(plans_state(world, foreign))
    rows.append(
        sorted(
            TakeUpGap.objects.filter(division_code__in=foreign).values_list("pk", "taken_up_at", "case_id")
        )
    )
    rows.append(
        sorted(
            MonitoringWarning.objects.filter(village_code__in=foreign).values_list(
                "pk", "state", "outcome", "case_id", "accepted_at"
            )
        )
    )
    rows.append(WarningVisit.objects.filter(warning__village_code__in=foreign).count())
    counties = {v[:6] for v in foreign}
    rows.append(FeedFeedback.objects.filter(feed__county__in=counties).count())
    rows.append(
        CohortMembership.objects.filter(person__memberships__household__division_id__in=foreign).count()
    )
    rows.append(TakeUpScan.objects.filter(county__in=counties).count())
    rows.append(
        sorted(
            ParameterValue.objects.filter(region__in=counties).values_list("pk", "status", "superseded_by")
        )
    )
    return rows


# --- API -----------------------------------------------------------------------------------

PATH_PARAMS = {
    "gap_id": lambda w, v: w.takeup_gaps[v].pk,
    "plan_indicator_id": lambda w, v: w.plan_indicators[v[:6]].pk,
    "plan_entry_id": lambda w, v: w.plan_entries[v[:6]].pk,
    "development_plan_id": lambda w, v: w.development_plans[v[:6]].pk,
    "warning_id": lambda w, v: w.warnings[v].pk,
    "warning_photo_id": lambda w, v: w.warning_photos[v].pk,
    "feed_id": lambda w, v: w.feeds[v[:6]].pk,
    "feed_feedback_id": lambda w, v: w.feed_feedbacks[v[:6]].pk,
    "household_id": lambda w, v: w.households[v].pk,
    "person_id": lambda w, v: w.households[v].head_id,
    "staff_id": lambda w, v: w.staff[v].pk,
    "token_id": lambda w, v: w.tokens[v].pk,
    "request_id": lambda w, v: w.changes[v].pk,
    "code": lambda w, v: v,
    "kind": lambda w, v: "income",
    "record_id": lambda w, v: w.incomes[v].pk,
    "job_id": lambda w, v: w.jobs[v].pk,
    "value_id": lambda w, v: w.proposals[v[:6]].pk,
    "programme": lambda w, v: "dibao",
    "name": lambda w, v: "disability.living.amount",
    "case_id": lambda w, v: w.cases[v].pk,
    "action": lambda w, v: "start_investigation",  # the next step of an accepted dibao case
    "document_id": lambda w, v: w.documents[v].pk,
    "plan_id": lambda w, v: w.plans[v].pk,
    "document": lambda w, v: "decision",  # a written decision (审批决定书) of the case
    "village_code": lambda w, v: v,
    "enrolment_id": lambda w, v: w.enrolments[v].pk,
    "task_id": lambda w, v: w.reviews[v].pk,
    "run_id": lambda w, v: w.runs[v[:6]].pk,
    "line_id": lambda w, v: PayrollLine.objects.filter(run=w.runs[v[:6]]).order_by("pk").first().pk,  # type: ignore[union-attr]
    "export_id": lambda w, v: w.exports[v[:6]].pk,
    "report_id": lambda w, v: w.reports[v[:6]].pk,
    "order_id": lambda w, v: w.orders[v].pk,
    "verification_id": lambda w, v: w.verifications[v].pk,
    "finding_id": lambda w, v: w.findings[v].pk,
    "verification_report_id": lambda w, v: w.verification_reports[v].pk,
    "batch_id": lambda w, v: w.rechecks[v[:6]].pk,
    # A department's callback names a department, not a jurisdiction's record; no department is
    # registered here, so every call is refused (test_callback covers signed ones).
    "counterparty": lambda w, v: f"dept{v}",
    "ticket_id": lambda w, v: w.tickets[v].pk,
    "grid_event_id": lambda w, v: w.grid_events[v].pk,
    "contract_id": lambda w, v: w.contracts[v].pk,
    "bulletin_id": lambda w, v: w.bulletins[v].pk,
    "worker_id": lambda w, v: w.workers[v].pk,
    "assignment_id": lambda w, v: w.posts[v].pk,
    "event_id": lambda w, v: w.training[v].pk,
    "sample_id": lambda w, v: w.samples[v].pk,
    "supervision_task_id": lambda w, v: w.supervision_tasks[v].pk,
    "rectification_id": lambda w, v: w.rectifications[v].pk,
}
# Reads whose path parameter names no record (a parameter name): they answer 200, and must still
# show nothing of another jurisdiction.
OPEN_READS = {"/api/v1/parameters/{name}/values"}
# Reference data that belongs to no jurisdiction (the public service catalogue, the national
# working-day calendar): no village's record can be named through these paths, so each is called
# with one real target instead. It must answer 200 (403 without the permission) and show nothing of
# another jurisdiction; a calendar correction leaves every jurisdiction's records as they were.
SHARED_TARGETS: dict[tuple[str, str], tuple[str, dict[str, Any] | None]] = {
    ("get", "/api/v1/catalogue/items/{code}"): ("/api/v1/catalogue/items/dibao", None),
    ("post", "/api/v1/workdays/{date}"): (
        "/api/v1/workdays/2026-10-09",
        {"is_working_day": False, "name": "测试更正", "reason": "测试"},
    ),
}


def payload_for(method: str, path: str, world: World, village: str) -> dict[str, Any] | None:
    """A request body that would succeed if the target were in scope."""
    head = world.households[village].head
    head_number = protect.decrypt(head.id_encrypted) if head is not None else ""
    payloads: dict[tuple[str, str], dict[str, Any] | None] = {
        ("post", "/api/v1/me/password"): {
            "old_password": "wrong-Passw0rd!",
            "new_password": "Another-Passw0rd!",
        },
        ("post", "/api/v1/staff"): {
            "username": f"new_{village}",
            "full_name": "新人",
            "office_id": Staff.objects.get(pk=world.staff[village].pk).office_id,
            "password": "Strong-Passw0rd!",
            "roles": ["village_assistant"],
        },
        ("put", "/api/v1/staff/{staff_id}/roles"): {"roles": ["township_clerk"], "reason": "测试"},
        ("post", "/api/v1/staff/{staff_id}/active"): {"active": False, "reason": "测试"},
        ("post", "/api/v1/staff/{staff_id}/password"): {"new_password": "Reset-Passw0rd!", "reason": "测试"},
        ("post", "/api/v1/staff/{staff_id}/unlock"): {"reason": "测试"},
        ("post", "/api/v1/staff-change-requests/{request_id}/confirm"): {"note": "越权"},
        ("post", "/api/v1/staff-change-requests/{request_id}/reject"): {"note": "越权"},
        ("post", "/api/v1/tokens"): None,  # issues a token to the caller itself: nothing foreign to reach
        ("delete", "/api/v1/tokens/{token_id}"): {},
        ("post", "/api/v1/households"): {
            "division_code": village,
            "address": "越权地址",
            "area": "urban",
            "members": [{"name": "越权登记", "id_number": resident_id(village[:6]), "relationship": "head"}],
        },
        ("patch", "/api/v1/households/{household_id}"): {
            "address": "越权修改",
            "phone": "",
            "reason": "测试",
        },
        ("post", "/api/v1/persons/{person_id}/id-number"): {"reason": "测试"},
        ("post", "/api/v1/persons/{person_id}/circumstances"): {
            "kind": "disability",
            "valid_from": "2026-01-01",
            "values": {"certificate_number": "X1", "category": "physical", "grade": 2},
        },
        ("post", "/api/v1/households/{household_id}/circumstances"): {
            "kind": "asset",
            "valid_from": "2026-01-01",
            "values": {"kind": "deposit", "value": "1000.00"},
        },
        ("post", "/api/v1/circumstances/{kind}/{record_id}/end"): {
            "valid_until": "2026-06-30",
            "reason": "测试",
        },
        ("post", "/api/v1/persons/{person_id}/move"): {
            "target_household_id": world.households[village].pk,
            "relationship": "other",
            "on": "2030-01-01",
            "reason": "测试",
        },
        ("post", "/api/v1/households/{household_id}/split"): {
            "members": {str(world.households[village].head_id): "head"},
            "new_head": world.households[village].head_id,
            "address": "越权分户",
            "on": "2030-01-01",
            "reason": "测试",
        },
        ("post", "/api/v1/households/{household_id}/merge"): {
            "target_household_id": world.households[village].pk,
            "relationships": {},
            "on": "2030-01-01",
            "reason": "测试",
        },
        ("post", "/api/v1/households/{household_id}/head"): {
            "person_id": world.households[village].head_id,
            "reason": "测试",
        },
        ("post", "/api/v1/households/imports"): import_upload(village),
        ("post", "/api/v1/parameter-proposals"): {
            "name": "disability.living.amount",
            "region": village[:6],
            "effective_from": "2027-01-01",
            "value": "160",
            "reference": "越权",
            "reason": "测试",
        },
        ("post", "/api/v1/parameter-proposals/{value_id}/approve"): {"note": "越权"},
        ("post", "/api/v1/parameter-proposals/{value_id}/reject"): {"note": "越权"},
        ("post", "/api/v1/whatif"): {
            "programme": "dibao",
            "parameter": "dibao.standard",
            "value": "700",
            "effective_from": "2026-12-01",
            "place": village,
        },
        ("post", "/api/v1/takeup/scans"): {"county": village[:6], "day": "2026-12-01"},
        ("post", "/api/v1/plans/indicators/{plan_indicator_id}/entries"): {
            "__multipart__": {
                "year": "2024",
                "kind": "value",
                "value": "50",
                "source": "越权",
                "evidence": SimpleUploadedFile("越权.pdf", PDF, "application/pdf"),
            }
        },
        ("post", "/api/v1/plans/entries/{plan_entry_id}/approve"): {"note": "越权"},
        ("post", "/api/v1/plans/entries/{plan_entry_id}/reject"): {"note": "越权"},
        ("post", "/api/v1/plans/{development_plan_id}/refresh"): {"year": 2024},
        ("post", "/api/v1/plans/{development_plan_id}/publish"): {"year": 2024},
        ("post", "/api/v1/reports/periods/recompute"): {"county": village[:6], "month": "2026-11-01"},
        ("post", "/api/v1/reports/periods/freeze"): {"county": village[:6], "month": "2026-11-01"},
        ("post", "/api/v1/monitoring/warnings/{warning_id}/accept"): {},
        ("post", "/api/v1/monitoring/cohort-memberships"): {
            "id_number": protect.decrypt(world.households[village].head.id_encrypted),  # type: ignore[union-attr]
            "cohort": "return_risk",
            "since": "2026-01-01",
            "source": "越权",
        },
        ("post", "/api/v1/monitoring/warnings/{warning_id}/visit"): {
            "visited_on": "2026-12-01",
            "workers": ["越权甲", "越权乙"],
            "findings": "越权",
        },
        ("post", "/api/v1/monitoring/warnings/{warning_id}/verify"): {"true": True, "note": "越权"},
        ("post", "/api/v1/monitoring/warnings/{warning_id}/dispose"): {
            "outcome": "no_action",
            "reason": "越权",
        },
        ("post", "/api/v1/monitoring/emergencies"): {
            "household_id": world.households[village].pk,
            "person_id": world.households[village].head_id,
            "kind": "disaster",
            "description": "越权",
        },
        ("post", "/api/v1/monitoring/feeds"): {
            "__multipart__": {
                "file": SimpleUploadedFile("越权.csv", "身份证号,日期\n".encode(), "text/csv"),
                "county": village[:6],
                "department": "越权",
                "event_type": "medical_self_pay",
                "period": "2026-11-01",
            }
        },
        ("post", "/api/v1/monitoring/feeds/{feed_id}/feedback"): None,
        ("post", "/api/v1/monitoring/cohort-imports"): {
            "__multipart__": {
                "file": SimpleUploadedFile(
                    "越权.csv",
                    f"身份证号,监测类别,纳入日期\n{head_number},other,2026-11-01\n".encode(),
                    "text/csv",
                ),
                "county": village[:6],
                "source": "越权",
            }
        },
        ("post", "/api/v1/monitoring/rules"): {
            "code": "medical_self_pay",
            "name": "越权",
            "region": village[:6],
            "valid_from": "2027-01-01",
            "event_type": "medical_self_pay",
            "threshold": "1.00",
            "cohorts": ["dibao"],
            "direction": "needs_help",
            "severity": 1,
            "dedupe_days": 30,
        },
        ("post", "/api/v1/takeup/gaps/{gap_id}/take-up"): {"note": "越权"},
        ("post", "/api/v1/calculations/{programme}"): {
            "region": village,
            "area": "urban",
            "date": "2026-11-01",
            "members": [{"id": "甲", "birth_date": "1950-01-01"}],
        },
        ("post", "/api/v1/cases"): {
            "item_code": "dibao",
            "household_id": world.households[village].pk,
            "applicant_id": world.households[village].head_id,
            "materials": {
                str(m.pk): "provided" for m in MaterialRequirement.objects.filter(item__code="dibao")
            },
        },
        ("post", "/api/v1/cases/{case_id}/materials"): {"materials": {}},
        ("post", "/api/v1/cases/{case_id}/actions/{action}"): {"note": "越权", "data": {}},
        ("post", "/api/v1/cases/{case_id}/visits"): {
            "visited_on": "2026-01-05",
            "investigators": ["越权甲", "越权乙"],
            "findings": "越权",
            "signed_by_applicant": True,
        },
        ("post", "/api/v1/cases/{case_id}/calculation"): None,
        ("post", "/api/v1/cases/{case_id}/documents"): {
            "__multipart__": {"file": SimpleUploadedFile("越权.pdf", PDF, "application/pdf"), "kind": "越权"}
        },
        ("post", "/api/v1/cases/{case_id}/support-mode"): {"mode": "institutional", "institution": "越权"},
        ("post", "/api/v1/care/plans/{plan_id}/visits"): {
            "visited_on": "2026-01-05",
            "companions": ["越权"],
            "living_conditions": "越权",
            "health": "越权",
        },
        # Makes plans only for cases within the caller's own jurisdiction (test_care covers it).
        ("post", "/api/v1/care/plans/bring-in"): None,
        ("post", "/api/v1/conflict-registrations"): {
            "division_code": village,
            "name": "越权备案",
            "position": "越权",
            "id_number": resident_id(village[:6], date(1967, 7, 7)),
        },
        # A citizen may apply in any village without login: that is its purpose, not a leak; it
        # answers with the new number only (test_cases_api covers it).
        ("post", "/api/v1/public/applications"): None,
        # The applicant's token: a real number with someone else's ID number is a 404, as a wrong number.
        ("post", "/api/v1/public/applications/session"): {
            "number": world.cases[village].number,
            "id_number": resident_id(),
        },
        # Without the applicant's token: 403.
        ("post", "/api/v1/public/applications/mine/documents"): {
            "__multipart__": {
                "file": SimpleUploadedFile("越权.pdf", PDF, "application/pdf"),
                "requirement_id": "1",
            }
        },
        ("post", "/api/v1/cases/{case_id}/household"): {"household_id": world.households[village].pk},
        ("post", "/api/v1/cases/{case_id}/household/register"): {
            "id_number": resident_id(village[:6], date(1966, 6, 6)),
            "address": "越权",
            "area": "urban",
        },
        # The audit chain's checkpoints name no jurisdiction's record (a sequence number, a hash, a
        # count) and only the audit administrator may ask (test_audit_api covers it).
        ("post", "/api/v1/audit/checkpoints"): None,
        ("post", "/api/v1/audit/checkpoints/verify"): None,
        ("post", "/api/v1/payments/enrolments"): {
            "case_id": world.cases[village].pk,
            "bank_name": "越权",
            "account_number": "6222020200112233446",
        },
        ("post", "/api/v1/payments/enrolments/{enrolment_id}/amount"): {
            "new_amount": "1.00",
            "month": "2027-01-01",
            "reason": "越权",
        },
        ("post", "/api/v1/payments/enrolments/{enrolment_id}/suspend"): {
            "month": "2027-01-01",
            "reason": "越权",
        },
        ("post", "/api/v1/payments/enrolments/{enrolment_id}/resume"): {
            "month": "2027-01-01",
            "reason": "越权",
        },
        ("post", "/api/v1/payments/enrolments/{enrolment_id}/exit"): {
            "months": 1,
            "month": "2027-01-01",
            "reason": "越权",
        },
        ("post", "/api/v1/payments/enrolments/{enrolment_id}/terminate"): {
            "month": "2027-01-01",
            "reason": "越权",
            "notice": "越权",
        },
        ("post", "/api/v1/payments/enrolments/{enrolment_id}/one-off"): {
            "amount": "-1.00",
            "month": "2027-01-01",
            "reason": "越权",
        },
        ("post", "/api/v1/payments/runs"): {"county": village[:6], "month": "2027-01-01"},
        ("post", "/api/v1/payments/runs/{run_id}/approve"): {"note": "越权"},
        ("post", "/api/v1/payments/runs/{run_id}/resume"): None,
        ("post", "/api/v1/payments/runs/{run_id}/proposals/decide"): {
            "approve": True,
            "note": "越权",
            "notice": "越权",
        },
        ("post", "/api/v1/payments/enrolments/{enrolment_id}/bank-account"): {
            "bank_name": "越权",
            "account_number": "6222020200112233446",
            "reason": "越权",
        },
        ("post", "/api/v1/payments/runs/{run_id}/exports"): {"layout": "ningxia_bank_csv"},
        ("post", "/api/v1/payments/runs/{run_id}/reconciliations"): results_upload(world, village),
        ("post", "/api/v1/payments/runs/{run_id}/reissue"): None,
        ("post", "/api/v1/payments/reviews/{task_id}/complete"): {"outcome": "stop", "reason": "越权"},
        ("post", "/api/v1/payments/orders/batch"): {"county": village[:6]},
        ("post", "/api/v1/payments/orders/{order_id}/method"): {"method": "cash"},
        ("post", "/api/v1/payments/orders/{order_id}/cash"): {
            "receipt_number": f"越权{village}",
            "paid_on": "2026-01-05",
            "recipient_name": "越权",
            "recipient_signed": True,
        },
        ("post", "/api/v1/payments/orders/{order_id}/cancel"): {"reason": "越权"},
        ("post", "/api/v1/payments/orders/{order_id}/recover"): {"amount": "1.00", "reason": "越权"},
        ("post", "/api/v1/payments/enrolments/{enrolment_id}/back-pay-order"): {
            "amount": "1.00",
            "month": "2027-01-01",
            "reason": "越权",
        },
        ("post", "/api/v1/cases/{case_id}/authorisations"): {
            "person_id": world.households[village].head_id,
            "role": "member",
            "signer_name": "越权",
            "signed_on": "2026-01-05",
        },
        ("post", "/api/v1/cases/{case_id}/verification-requests"): None,
        ("post", "/api/v1/verification/requests/{verification_id}/resend"): None,
        ("post", "/api/v1/verification/requests/{verification_id}/report"): None,
        ("post", "/api/v1/verification/findings/{finding_id}/dispose"): {
            "disposition": "accepted",
            "note": "越权",
        },
        ("post", "/api/v1/verification/findings/{finding_id}/contest"): {
            "statement": "越权",
            "evidence": "越权",
        },
        ("post", "/api/v1/verification/requests/{verification_id}/recheck"): None,
        ("post", "/api/v1/verification/rechecks"): {"county": village[:6], "month": "2026-12-01"},
        # Sends the batch's files to the departments (none registered here): refused out of scope.
        ("post", "/api/v1/verification/rechecks/{batch_id}/send"): {},
        # Authenticated by the envelope's signature, not the session: unsigned, it is refused.
        ("post", "/api/v1/exchange/{counterparty}/callback"): None,
        ("post", "/api/v1/department/transfers/{case_id}/feedback"): {"feedback": "越权"},
        ("post", "/api/v1/feedback/tickets"): {
            "channel": "phone",
            "kind": "complaint",
            "category_code": "100701",
            "title": "越权",
            "content": "越权",
            "division_code": village,
            "about_case_id": world.cases[village].pk,
        },
        ("post", "/api/v1/feedback/tickets/{ticket_id}/actions"): {"action": "reply", "note": "越权"},
        ("post", "/api/v1/feedback/tickets/{ticket_id}/case-review"): {"outcome": "revoked", "note": "越权"},
        ("post", "/api/v1/feedback/grid/events"): {
            "category_code": "100801",
            "description": "越权上报",
            "lat": str(world.grid_events[village].lat),
            "lng": str(world.grid_events[village].lng),
        },
        ("post", "/api/v1/feedback/grid/events/{grid_event_id}/actions"): {"action": "verify"},
        # Takes the hotline platform's orders for the platform's own county; none is registered here.
        ("post", "/api/v1/feedback/hotline/pull"): None,
        ("post", "/api/v1/oversight/norm-choices"): {
            "county_code": village[:6] + "000000",
            "norm_set": "yinchuan_2018",
            "valid_from": "2026-01-01",
            "reason": "越权",
        },
        ("post", "/api/v1/oversight/population"): {
            "division_code": village,
            "year": 2026,
            "resident_population": 1000,
            "source": "越权",
        },
        ("post", "/api/v1/oversight/contracts/{contract_id}/evaluations"): {
            "stage": "final",
            "evaluator": "bureau",
            "evaluated_on": "2026-06-30",
            "score": "10",
            "outcome": "terminate",
        },
        ("post", "/api/v1/oversight/bulletins"): {
            "division_code": village[:6] + "000000",
            "month": "2026-02",
        },
        ("post", "/api/v1/oversight/workers"): {"division_code": village, "full_name": "越权"},
        ("post", "/api/v1/oversight/pre-job-gates"): {
            "county_code": village[:6] + "000000",
            "valid_from": "2026-01-01",
            "enabled": True,
            "reference": "越权",
        },
        ("post", "/api/v1/oversight/workers/{worker_id}/qualifications"): {
            "kind": "social_worker",
            "certificate_number": "越权",
            "obtained_on": "2026-01-01",
        },
        ("post", "/api/v1/oversight/assignments"): {
            "worker_id": world.workers[village].pk,
            "division_code": village,
            "post": "village_assistant",
            "start_on": "2026-01-01",
        },
        ("post", "/api/v1/oversight/assignments/{assignment_id}/end"): {
            "end_on": "2026-06-30",
            "reason": "越权",
        },
        ("post", "/api/v1/oversight/funding"): {
            "division_code": village[:9] + "000",
            "year": 2026,
            "budgeted": "1.00",
            "separately_listed": True,
            "source": "越权",
        },
        ("post", "/api/v1/oversight/facility-checks"): {
            "__multipart__": {
                "division_code": village,
                "checked_on": "2026-01-05",
                "office_area_m2": "40",
                "window_has_sign": "true",
                "items": "{}",
                "files": SimpleUploadedFile("越权.png", PNG_SIGNATURE, "image/png"),
            }
        },
        ("post", "/api/v1/oversight/training/plans"): {
            "division_code": village[:9] + "000",
            "year": 2026,
            "title": "越权",
            "planned_events": 1,
        },
        ("post", "/api/v1/oversight/training/events"): {
            "organiser_code": village[:9] + "000",
            "kind": "business",
            "title": "越权",
            "start_on": "2026-01-05",
            "end_on": "2026-01-05",
            "days": "1",
        },
        ("post", "/api/v1/oversight/training/events/{event_id}/attendance"): {
            "worker_id": world.workers[village].pk,
            "days_attended": "1",
        },
        ("post", "/api/v1/oversight/providers"): {
            "county_code": village[:6] + "000000",
            "name": "越权",
            "uscc": "91640202MA00000000",
            "kind": "enterprise",
        },
        ("post", "/api/v1/oversight/contracts"): {
            "county_code": village[:6] + "000000",
            "provider_id": world.contracts[village].provider_id,
            "number": f"越权{village}",
            "title": "越权",
            "mode": "project",
            "category": "service",
            "items": ["越权"],
            "amount": "1.00",
            "funding_source": "local_budget",
            "start_on": "2026-01-01",
            "end_on": "2026-12-31",
        },
        ("post", "/api/v1/oversight/contracts/{contract_id}/deliveries"): {
            "division_code": village,
            "delivered_on": "2026-03-01",
            "service_type": "越权",
            "recipient_name": "越权",
            "hours": "1",
            "recipient_confirmed": True,
        },
        ("post", "/api/v1/oversight/spot-checks"): {
            "county_code": village[:6] + "000000",
            "period_start": "2026-01-01",
            "period_end": "2026-12-31",
            "sample_size": 1,
        },
        ("post", "/api/v1/oversight/spot-checks/samples/{sample_id}/finding"): {
            "compliant": False,
            "finding": "越权",
        },
        ("post", "/api/v1/oversight/supervision-tasks"): {
            "division_code": village[:9] + "000",
            "title": "越权",
            "due_on": "2030-01-01",
        },
        ("post", "/api/v1/oversight/supervision-tasks/{supervision_task_id}/done"): {"result": "越权"},
        ("post", "/api/v1/oversight/rectifications"): {
            "division_code": village,
            "source": "supervision",
            "issue": "越权",
            "due_on": "2030-01-01",
        },
        ("post", "/api/v1/oversight/rectifications/{rectification_id}/submit"): {
            "__multipart__": {
                "note": "越权",
                "files": SimpleUploadedFile("越权.png", PNG_SIGNATURE, "image/png"),
            }
        },
        ("post", "/api/v1/oversight/rectifications/{rectification_id}/verify"): {
            "accepted": True,
            "note": "越权",
        },
        ("post", "/api/v1/payments/funds/allocate"): {
            "township_code": village[:9] + "000",
            "kind": "assistance",
            "amount": "100.00",
            "month": "2027-01-01",
            "note": "越权",
        },
    }
    key = (method, path)
    if key not in payloads:
        pytest.fail(f"API endpoint {method.upper()} {path} is not covered by the scope-leak test")
    return payloads[key]


# Public reads (no login) of case data: they must show one village's or one applicant's data and
# nothing of anyone else.
PUBLIC_READS = {"/api/v1/public/notices/{village_code}", "/api/v1/public/status"}
# Reads about a person named by ID number (a department's status inquiry): asked about each foreign
# village's head, they answer as for nobody at all (or 403 without the permission).
PERSON_READS = {"/api/v1/status-inquiries"}


def check_person_read(client: Client, path: str, world: World, foreign: list[str], where: str) -> None:
    for village in foreign:
        head = world.households[village].head
        number = protect.decrypt(head.id_encrypted)  # type: ignore[union-attr]
        response = client.get(path, {"id_number": number, "purpose": "越权查询救助身份"})
        assert response.status_code in (200, 403), (where, village, response.content)
        if response.status_code == 200:
            assert response.json()["statuses"] == []
            assert response.json()["message"] == "未查到该人员的救助身份"
        assert_no_leak(response.content.decode(), world, foreign, f"GET {path} for {village} {where}")


def check_public_read(client: Client, path: str, world: World, where: str) -> None:
    for village in VILLAGES:
        others = [v for v in VILLAGES if v != village]
        if path == "/api/v1/public/notices/{village_code}":
            response = client.get(f"/api/v1/public/notices/{village}")
            assert response.status_code == 200, (where, village, response.content)
            shown = response.json()
            assert [n["applicant"] for n in shown] == [HEAD_NAMES[village]]
            assert world.cases[village].number not in response.content.decode()
        else:
            # A real number with someone else's ID number: the same 404 as a number that does not exist.
            response = client.get(path, {"number": world.cases[village].number, "id_number": resident_id()})
            assert response.status_code == 404, (where, village, response.content)
            assert response.json()["message"] == "受理编号或身份证号不正确"
            others = list(VILLAGES)
        assert_no_leak(response.content.decode(), world, others, f"GET {path} for {village} {where}")


def cases_state(world: World, foreign: list[str]) -> list[Any]:
    """Everything a case endpoint could change about the foreign cases."""
    rows: list[Any] = []
    for v in foreign:
        case = Case.objects.get(pk=world.cases[v].pk)
        rows.append(
            (
                case.state,
                case.details,
                case.events.count(),
                case.documents.count(),
                case.visits.count(),
                sorted(case.materials.values_list("requirement_id", "status")),
            )
        )
    rows.append(Case.objects.filter(division_id__in=foreign).count())
    rows.append(
        sorted(CareVisitPlan.objects.filter(division_id__in=foreign).values_list("pk", "next_due", "active"))
    )
    rows.append(CareVisitPlan.objects.filter(division_id__in=foreign, visits__isnull=False).count())
    rows.append(
        sorted(
            VerificationRequest.objects.filter(case__division_id__in=foreign).values_list(
                "pk", "status", "case__authorisations"
            )
        )
    )
    rows.append(
        sorted(
            Finding.objects.filter(request__case__division_id__in=foreign).values_list(
                "pk", "disposition", "disposition_note"
            )
        )
    )
    rows.append(Report.objects.filter(request__case__division_id__in=foreign).count())
    rows.append(
        sorted(
            Transfer.objects.filter(case__division_id__in=foreign).values_list(
                "case_id", "case__state", "feedback", "feedback_on"
            )
        )
    )
    rows.append(
        sorted(
            Ticket.objects.filter(division_id__in=foreign).values_list(
                "pk", "state", "office_id", "reply", "decision", "case_review_outcome"
            )
        )
    )
    rows.append(Ticket.objects.filter(division_id__in=foreign).count())
    rows.append(
        sorted(
            GridEvent.objects.filter(cell__village_id__in=foreign).values_list(
                "pk", "state", "office_id", "handling", "reject_reason"
            )
        )
    )
    rows.append(GridEvent.objects.filter(cell__village_id__in=foreign).count())
    return rows


def api_operations() -> list[tuple[str, str]]:
    schema = api.get_openapi_schema()
    return [(method, path) for path, ops in schema["paths"].items() for method in ops]


def expand(path: str, world: World, village: str) -> str:
    def fill(match: re.Match[str]) -> str:
        name = match.group(1)
        if name not in PATH_PARAMS:
            pytest.fail(f"path parameter {name!r} in {path} is not covered by the scope-leak test")
        return str(PATH_PARAMS[name](world, village))

    return re.sub(r"\{(\w+)\}", fill, path)


def call(client: Client, method: str, url: str, body: dict[str, Any] | None) -> Any:
    kwargs: dict[str, Any] = {}
    if body is not None and "__multipart__" in body:
        kwargs = {"data": body["__multipart__"]}
    elif body is not None:
        kwargs = {"data": json.dumps(body), "content_type": "application/json"}
    return getattr(client, method)(url, **kwargs)


@pytest.mark.parametrize("role", list(Role))
def test_api_never_leaks_or_changes_other_jurisdictions(role: Role, world: World) -> None:
    me = make_staff(f"me_{role}", HOME_OF[role], [role], department=DEPARTMENT_OF.get(role, ""))
    prefix = Division.objects.get(code=HOME_OF[role]).prefix
    foreign, local = world.foreign(prefix), world.local(prefix)
    assert foreign, "every role must have records outside its jurisdiction in this test"
    client = Client()
    client.force_login(me)
    before = state_of(world, foreign)
    cases_before = cases_state(world, foreign)
    operations = api_operations()
    assert len(operations) >= 15
    for method, path in operations:
        if method == "get" and path in PUBLIC_READS:
            check_public_read(client, path, world, f"as {role}")
            continue
        if method == "get" and path in PERSON_READS:
            check_person_read(client, path, world, foreign, f"as {role}")
            continue
        if (method, path) in SHARED_TARGETS:
            url, body = SHARED_TARGETS[(method, path)]
            response = call(client, method, url, body)
            assert response.status_code in (200, 403), (method, url, role, response.content)
            assert_no_leak(response.content.decode(), world, foreign, f"{method} {url} as {role}")
            continue
        if "{" not in path:
            if method == "get":
                response = client.get(path)
                assert response.status_code in (200, 403), (path, response.status_code)
                assert_no_leak(body_text(response), world, foreign, f"GET {path} as {role}")
                continue
            for village in foreign:
                body = payload_for(method, path, world, village)
                if body is None:
                    continue
                response = call(client, method, path, body)
                assert response.status_code in (403, 404, 422), (method, path, role, response.content)
                assert_no_leak(response.content.decode(), world, foreign, f"{method} {path} as {role}")
            continue
        for village in foreign:
            body = None if method == "get" else payload_for(method, path, world, village)
            url = expand(path, world, village)
            response = call(client, method, url, body)
            if path in OPEN_READS and method == "get":
                assert response.status_code in (200, 403), (url, role, response.status_code)
                assert_no_leak(response.content.decode(), world, foreign, f"GET {url} as {role}")
                continue
            assert response.status_code in (403, 404), (
                method,
                url,
                role,
                response.status_code,
                response.content,
            )
            assert set(response.json()) == {"code", "message", "field_errors"}
            assert_no_leak(response.content.decode(), world, foreign, f"{method} {url} as {role}")
    assert state_of(world, foreign) == before
    assert cases_state(world, foreign) == cases_before

    # Counts: lists count only what is in scope.
    if me.can("registry.view_household"):  # type: ignore[arg-type]
        assert client.get("/api/v1/households").json()["count"] == len(local)
        assert client.get("/api/v1/persons").json()["count"] == 2 * len(local)
        for village in foreign:
            found = client.get("/api/v1/households", {"search": HEAD_NAMES[village]}).json()
            assert found["count"] == 0
    if me.can("cases.view"):  # type: ignore[arg-type]
        # Each village's dibao case and its item transferred to the education bureau.
        assert client.get("/api/v1/cases").json()["count"] == 2 * len(local)
        assert client.get("/api/v1/notices").json()["count"] == len(local)
        assert client.get("/api/v1/conflict-registrations").json()["count"] == len(local)
        assert client.get("/api/v1/care/plans").json()["count"] == len(local)
        assert client.get("/api/v1/verification/requests").json()["count"] == len(local)
        assert client.get("/api/v1/verification/requests", {"status": "reported"}).json()["count"] == len(
            local
        )
        for village in foreign:
            found = client.get("/api/v1/cases", {"search": world.cases[village].number}).json()
            assert found["count"] == 0
    if me.can("payments.view"):  # type: ignore[arg-type]
        assert client.get("/api/v1/payments/enrolments").json()["count"] == len(local)
        counties = {v[:6] for v in VILLAGES if v[:6].startswith(prefix)}
        assert client.get("/api/v1/payments/runs").json()["count"] == len(counties)
        assert client.get("/api/v1/payments/orders").json()["count"] == len(local)
        townships = {v[:9] for v in local} if len(prefix) <= 9 else {prefix[:9]}
        assert len(client.get("/api/v1/payments/funds").json()) == 2 * len(townships)
        for village in foreign:
            found = client.get("/api/v1/payments/enrolments", {"search": HEAD_NAMES[village]}).json()
            assert found["count"] == 0
    if me.can("cases.department_feedback"):  # type: ignore[arg-type]
        assert client.get("/api/v1/department/transfers").json()["count"] == len(local)
    if me.can("feedback.view"):  # type: ignore[arg-type]
        assert client.get("/api/v1/feedback/tickets", {"state": "all"}).json()["count"] == len(local)
    if me.can("monitoring.view"):  # type: ignore[arg-type]
        assert client.get("/api/v1/takeup/gaps").json()["count"] == len(local)
        for village in foreign:
            assert client.get("/api/v1/takeup/gaps", {"division": village}).status_code == 404
        assert client.get("/api/v1/feedback/grid/events").json()["count"] == len(local)
    # Without login, the public reads behave the same.
    for path in sorted(PUBLIC_READS):
        check_public_read(Client(), path, world, "without login")


# --- Web pages -----------------------------------------------------------------------------

PAGE_PARAMS = {
    "gap_id": lambda w, v: w.takeup_gaps[v].pk,
    "plan_indicator_id": lambda w, v: w.plan_indicators[v[:6]].pk,
    "plan_entry_id": lambda w, v: w.plan_entries[v[:6]].pk,
    "development_plan_id": lambda w, v: w.development_plans[v[:6]].pk,
    "warning_id": lambda w, v: w.warnings[v].pk,
    "warning_photo_id": lambda w, v: w.warning_photos[v].pk,
    "feed_id": lambda w, v: w.feeds[v[:6]].pk,
    "feed_feedback_id": lambda w, v: w.feed_feedbacks[v[:6]].pk,
    "kind": lambda w, v: "income",
    "record_id": lambda w, v: w.incomes[v].pk,
    "household_id": lambda w, v: w.households[v].pk,
    "person_id": lambda w, v: w.households[v].head_id,
    "staff_id": lambda w, v: w.staff[v].pk,
    "token_id": lambda w, v: w.tokens[v].pk,
    "request_id": lambda w, v: w.changes[v].pk,
    "job_id": lambda w, v: w.jobs[v].pk,
    "value_id": lambda w, v: w.proposals[v[:6]].pk,
    "name": lambda w, v: "disability.living.amount",
    "case_id": lambda w, v: w.cases[v].pk,
    "document_id": lambda w, v: w.documents[v].pk,
    "document": lambda w, v: "receipt",
    "plan_id": lambda w, v: w.plans[v].pk,
    "notice_id": lambda w, v: PublicNotice.objects.get(case=w.cases[v]).pk,
    "enrolment_id": lambda w, v: w.enrolments[v].pk,
    "change": lambda w, v: "suspend",
    "run_id": lambda w, v: w.runs[v[:6]].pk,
    "line_id": lambda w, v: PayrollLine.objects.filter(run=w.runs[v[:6]]).order_by("pk").first().pk,  # type: ignore[union-attr]
    "village_code": lambda w, v: v,
    "task_id": lambda w, v: w.reviews[v].pk,
    "export_id": lambda w, v: w.exports[v[:6]].pk,
    "report_id": lambda w, v: w.reports[v[:6]].pk,
    "order_id": lambda w, v: w.orders[v].pk,
    "verification_id": lambda w, v: w.verifications[v].pk,
    "finding_id": lambda w, v: w.findings[v].pk,
    "verification_report_id": lambda w, v: w.verification_reports[v].pk,
    "code": lambda w, v: v,
    "ticket_id": lambda w, v: w.tickets[v].pk,
    "grid_event_id": lambda w, v: w.grid_events[v].pk,
    "photo_id": lambda w, v: w.grid_events[v].photos.get().pk,
    "receipt_id": lambda w, v: w.receipts[v].pk,
    "contract_id": lambda w, v: w.contracts[v].pk,
    "bulletin_id": lambda w, v: w.bulletins[v].pk,
    "evidence_id": lambda w, v: w.evidence[v].pk,
    "assignment_id": lambda w, v: w.posts[v].pk,
    "event_id": lambda w, v: w.training[v].pk,
    "sample_id": lambda w, v: w.samples[v].pk,
    "supervision_task_id": lambda w, v: w.supervision_tasks[v].pk,
    "rectification_id": lambda w, v: w.rectifications[v].pk,
    "batch_id": lambda w, v: w.rechecks[v[:6]].pk,
}
# Pages whose path parameter names no record (a parameter name): they answer 200 and show nothing
# of another jurisdiction; a proposal posted there for a foreign region is refused.
OPEN_PAGES = {"web:parameter_detail"}
# Public guide pages (no jurisdiction): walked with a real item, they answer 200 to everyone.
SHARED_PAGES = {"web:guide_item": {"code": "dibao"}}

POST_ONLY = {
    "web:person_reveal",
    "web:token_revoke",
    "web:staff_change_decide",
    "web:logout",
    "web:circumstance_end",
    "web:parameter_decide",
    "web:case_action",
    "web:case_visit",
    "web:case_calculate",
    "web:case_materials",
    "web:case_link_household",
    "web:case_register_household",
    "web:case_document_upload",
    "web:case_support_mode",
    "web:care_visit_record",
    "web:payroll_approve",
    "web:payroll_resume",
    "web:payroll_proposals_decide",
    "web:payroll_export",
    "web:payroll_reconcile",
    "web:payroll_reissue",
    "web:order_method",
    "web:order_cash",
    "web:order_cancel",
    "web:order_recover",
    "web:case_authorisation",
    "web:case_verification_send",
    "web:verification_resend",
    "web:verification_report_issue",
    "web:verification_recheck",
    "web:recheck_send",
    "web:finding_contest",
    "web:finding_dispose",
    "web:department_transfer_feedback",
    "web:feedback_ticket_action",
    "web:grid_event_action",
    "web:oversight_norm_choose",
    "web:oversight_bulletin_freeze",
    "web:oversight_population",
    "web:oversight_prejob_gate",
    "web:oversight_worker",
    "web:oversight_assignment",
    "web:oversight_assignment_end",
    "web:oversight_qualification",
    "web:oversight_funding",
    "web:oversight_facility_check",
    "web:oversight_attendance",
    "web:oversight_contract_post",
    "web:oversight_delivery",
    "web:oversight_evaluation",
    "web:oversight_sample_finding",
    "web:oversight_task_done",
    "web:oversight_rectification_submit",
    "web:oversight_rectification_verify",
    "web:plans_entry_decide",
    "web:plans_year",
}
# Pages for everyone (no login); the case pages among them are walked by test_public_case_pages.
PUBLIC = {
    "web:login",
    "web:apply",
    "web:apply_done",
    "web:status",
    "web:status_upload",  # the applicant's upload, with the token in the session (cases/tests, web/tests)
    "web:status_leave",
    "web:notice_boards",
    "web:village_notices",
    "web:receipt_lookup",  # rating a service receipt by its code (minzheng/feedback/tests)
    "web:receipt_rate",
}


def web_routes() -> list[tuple[str, list[str]]]:
    routes = []
    for pattern in web_urls.urlpatterns:
        assert isinstance(pattern, URLPattern)
        routes.append((f"web:{pattern.name}", list(pattern.pattern.converters)))
    return routes


@pytest.mark.parametrize("role", list(Role))
def test_pages_never_leak_other_jurisdictions(role: Role, world: World) -> None:
    me = make_staff(f"me_{role}", HOME_OF[role], [role], department=DEPARTMENT_OF.get(role, ""))
    prefix = Division.objects.get(code=HOME_OF[role]).prefix
    foreign, local = world.foreign(prefix), world.local(prefix)
    client = Client()
    client.force_login(me)
    before = state_of(world, foreign)
    cases_before = cases_state(world, foreign)
    for name, params in web_routes():
        if name in PUBLIC or name == "web:logout":
            continue
        if name in SHARED_PAGES:
            response = client.get(reverse(name, kwargs=SHARED_PAGES[name]))
            assert response.status_code == 200, (name, role, response.status_code)
            assert_no_leak(body_text(response), world, foreign, f"{name} as {role}")
            continue
        if not params:
            response = client.get(reverse(name))
            assert response.status_code in (200, 403), (name, response.status_code)
            page = body_text(response)
            assert_no_leak(page, world, foreign, f"{name} as {role}")
            if name == "web:households" and response.status_code == 200:
                assert f"共 {len(local)} 条" in page
            continue
        for village in foreign:
            missing = [p for p in params if p not in PAGE_PARAMS]
            if missing:
                pytest.fail(f"page {name} has parameters {missing} not covered by the scope-leak test")
            url = reverse(name, kwargs={p: PAGE_PARAMS[p](world, village) for p in params})
            method = "post" if name in POST_ONLY else "get"
            response = getattr(client, method)(
                url, {"reason": "测试", "action": "deactivate", "valid_until": "2026-06-30"}
            )
            if name in OPEN_PAGES:
                assert response.status_code in (200, 403), (name, url, role, response.status_code)
                assert_no_leak(response.content.decode(), world, foreign, f"{name} {url} as {role}")
                posted = client.post(
                    url,
                    {
                        "region": village[:6],
                        "area": "all",
                        "effective_from": "2027-01-01",
                        "value": "170",
                        "reference": "越权",
                        "reason": "测试",
                    },
                )
                assert posted.status_code in (200, 403)
                continue
            if name == "web:token_revoke":
                # Revoking only ever looks at the caller's own tokens; a foreign id is ignored.
                assert response.status_code == 302
            else:
                assert response.status_code in (403, 404), (name, url, role, response.status_code)
                assert_no_leak(response.content.decode(), world, foreign, f"{name} {url} as {role}")
            # A POST to a detail page is an action: it must not reach a foreign record either.
            if method == "get" and name in (
                "web:staff_detail",
                "web:household_changes",
                "web:circumstance_create",
                "web:household_edit",
                "web:takeup_gap",
                "web:monitoring_warning",
            ):
                posted = client.post(url, {"action": "deactivate", "reason": "测试"})
                assert posted.status_code in (403, 404)
    # Browsing to a foreign branch of the division tree, and searching for foreign names.
    if me.can("org.view"):  # type: ignore[arg-type]
        for village in foreign:
            assert client.get(reverse("web:divisions"), {"parent": village}).status_code == 404
    if me.can("registry.view_household"):  # type: ignore[arg-type]
        for village in foreign:
            page = client.get(reverse("web:households"), {"q": HEAD_NAMES[village]}).content.decode()
            assert "共 0 条" in page
            page = client.get(reverse("web:persons"), {"q": HEAD_NAMES[village]}).content.decode()
            assert "共 0 条" in page
    # Case pages: the next step, a visit, an intake and a search aimed at another jurisdiction.
    for village in foreign:
        case = world.cases[village]
        posted = client.post(reverse("web:case_action", args=[case.pk]), {"action": "start_investigation"})
        assert posted.status_code in (403, 404), (role, posted.status_code)
        posted = client.post(
            reverse("web:case_visit", args=[case.pk]),
            {"visited_on": "2026-01-05", "investigator_1": "甲", "investigator_2": "乙", "findings": "越权"},
        )
        assert posted.status_code in (403, 404), (role, posted.status_code)
        intake = f"{reverse('web:case_intake')}?household={world.households[village].pk}&item=dibao"
        assert client.get(intake).status_code in (403, 404)
        posted = client.post(intake, {"applicant": world.households[village].head_id, "channel": "window"})
        assert posted.status_code in (403, 404)
        if me.can("cases.view"):  # type: ignore[arg-type]
            found = client.get(reverse("web:cases"), {"q": HEAD_NAMES[village]}).content.decode()
            assert "共 0 条" in found
            found = client.get(reverse("web:case_intake"), {"q": HEAD_NAMES[village]}).content.decode()
            assert world.households[village].number not in found
    # A department's feedback aimed at another jurisdiction's transferred item; its own are listed.
    for village in foreign:
        transfer = world.transfers[village]
        posted = client.post(
            reverse("web:department_transfer_feedback", args=[transfer.pk]),
            {f"t{transfer.pk}-feedback": "越权"},
        )
        assert posted.status_code in (403, 404), (role, posted.status_code)
    if me.can("cases.department_feedback"):  # type: ignore[arg-type]
        listed = client.get(reverse("web:department_transfers")).content.decode()
        assert all(f"T{village}" in listed for village in local)
    # Payments pages: a change, an enrolment, a review and a payroll aimed at another jurisdiction.
    for village in foreign:
        for url, data in (
            (
                reverse("web:enrolment_change", args=[world.enrolments[village].pk, "suspend"]),
                {"month": "2027-01", "reason": "越权"},
            ),
            (
                reverse("web:payment_enrol", args=[world.cases[village].pk]),
                {"bank_name": "越权", "account_number": "6222020200112233446"},
            ),
            (
                reverse("web:payment_review", args=[world.reviews[village].pk]),
                {"outcome": "stop", "reason": "越权"},
            ),
        ):
            posted = client.post(url, data)
            assert posted.status_code in (403, 404), (url, role, posted.status_code)
        posted = client.post(reverse("web:payroll_runs"), {"county": village[:6], "month": "2027-01"})
        assert posted.status_code in (200, 403), (role, posted.status_code)  # not a county it may choose
        if me.can("payments.view"):  # type: ignore[arg-type]
            found = client.get(reverse("web:enrolments"), {"q": HEAD_NAMES[village]}).content.decode()
            assert "共 0 条" in found
    assert not PayrollRun.objects.filter(month=date(2027, 1, 1)).exists()
    assert state_of(world, foreign) == before
    assert cases_state(world, foreign) == cases_before
    assert Person.objects.filter(name="越权登记").count() == 0


def test_public_case_pages_show_one_village_only(world: World) -> None:
    """Without login: a village's notice board shows that village's notices only; the status lookup
    with someone else's ID number shows nothing; the application form lists villages, not people."""
    client = Client()
    for village in VILLAGES:
        others = [v for v in VILLAGES if v != village]
        board = client.get(reverse("web:village_notices", args=[village]))
        assert board.status_code == 200
        body = body_text(board)
        assert HEAD_NAMES[village] in body
        assert world.cases[village].number not in body
        assert_no_leak(body, world, others, f"notice board of {village}")
        status = client.post(
            reverse("web:status"), {"number": world.cases[village].number, "id_number": resident_id()}
        )
        shown = status.content.decode().replace(f'value="{world.cases[village].number}"', "")  # as typed
        assert "受理编号或身份证号不正确" in shown
        assert_no_leak(shown, world, list(VILLAGES), f"status of {village}")
    for name in ("web:apply", "web:status", "web:notice_boards", "web:apply_done"):
        response = client.get(reverse(name))
        assert response.status_code in (200, 302)
        page = body_text(response)
        for village in VILLAGES:
            name_of_village = Division.objects.get(code=village).name  # listed to choose from, by design
            for marker in markers(world, village):
                assert marker == name_of_village or marker not in page, f"{name} shows {marker!r}"
    assert client.get(reverse("web:village_notices", args=["640202001000"])).status_code == 404
