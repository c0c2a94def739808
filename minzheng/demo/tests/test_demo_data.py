from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from config.env import Mode
from minzheng.core import protect
from minzheng.core.audit import verify_chain
from minzheng.core.identifiers import DivisionLevel, parse_resident_id
from minzheng.core.models import AuditEvent
from minzheng.demo.services import DEMO_ACCOUNTS, DEMO_PASSWORD
from minzheng.org.models import Staff
from minzheng.org.roles import Role
from minzheng.registry.circumstances import Disability, Illness, IncomeItem
from minzheng.registry.models import Household, Membership, Person

EXPECTED_LEVELS = {
    "dwk_village_assistant": ("640202001001", DivisionLevel.VILLAGE),
    "dwk_township_clerk": ("640202001000", DivisionLevel.TOWNSHIP),
    "dwk_township_reviewer": ("640202001000", DivisionLevel.TOWNSHIP),
    "dwk_township_head": ("640202001000", DivisionLevel.TOWNSHIP),
    "dwk_county_reviewer": ("640202000000", DivisionLevel.COUNTY),
    "dwk_county_approver": ("640202000000", DivisionLevel.COUNTY),
    "dwk_county_admin": ("640202000000", DivisionLevel.COUNTY),
    "dwk_auditor": ("640202000000", DivisionLevel.COUNTY),
    "dwk_system_admin": ("640202000000", DivisionLevel.COUNTY),
    "dwk_security_admin": ("640202000000", DivisionLevel.COUNTY),
    "dwk_audit_admin": ("640202000000", DivisionLevel.COUNTY),
    "szs_supervisor": ("640200000000", DivisionLevel.CITY),
    "nx_supervisor": ("640000000000", DivisionLevel.PROVINCE),
    "hn_township_clerk": ("640205001000", DivisionLevel.TOWNSHIP),
    "dwk_disability_federation": ("640202000000", DivisionLevel.COUNTY),
}


def run(*args: str) -> str:
    out = StringIO()
    call_command("demo_data", *args, stdout=out)
    return out.getvalue()


def counts() -> tuple[int, int, int, int, int]:
    return (
        Household.objects.count(),
        Person.objects.count(),
        Membership.objects.count(),
        Staff.objects.count(),
        AuditEvent.objects.filter(action="demo.build").count(),
    )


@pytest.mark.django_db
def test_demo_data_builds_accounts_for_every_role_and_a_valid_registry() -> None:
    run("--households", "50")

    staff = {s.username: s for s in Staff.objects.select_related("office__division")}
    assert set(EXPECTED_LEVELS) == {a.username for a in DEMO_ACCOUNTS} <= set(staff)
    for username, (code, level) in EXPECTED_LEVELS.items():
        account = staff[username]
        assert account.is_demo
        assert not account.must_change_password
        assert account.office.division_id == code
        assert account.office.division.level == level
        assert account.check_password(DEMO_PASSWORD)
    granted = {role for s in staff.values() if s.is_demo for role in s.roles}
    assert granted == set(Role.values)

    households = Household.objects.filter(division__code__startswith="640202")
    assert households.count() == 50 == Household.objects.count()
    numbers = set()
    for household in households.select_related("division"):
        assert household.number[:12] == household.division_id
        assert household.area == ("urban" if household.division.kind == "community" else "rural")
        assert household.address.strip()
        numbers.add(household.number)
        members = list(household.memberships.select_related("person"))
        assert 1 <= len(members) <= 5
        heads = [m for m in members if m.relationship == "head"]
        assert len(heads) == 1
        assert household.head_id == heads[0].person_id
        head = heads[0].person
        for m in members:
            assert m.end_date is None
            assert m.start_date >= m.person.birth_date
            assert m.person.division_id == household.division_id
            if m.relationship in ("child", "grandchild"):
                assert m.person.birth_date > head.birth_date
            if m.relationship == "parent":
                assert m.person.birth_date < head.birth_date
            if m.relationship == "spouse":
                assert m.person.sex != head.sex
    assert len(numbers) == 50

    ids = set()
    for person in Person.objects.all():
        number = protect.decrypt(person.id_encrypted)
        rid = parse_resident_id(number)
        assert rid.number == number
        assert rid.area_code.startswith("64")
        assert (rid.sex, rid.birth_date) == (person.sex, person.birth_date)
        assert person.id_digest == protect.lookup_digest(number)
        assert person.id_masked == rid.masked
        assert len(person.name) in (2, 3)
        ids.add(number)
    assert len(ids) == Person.objects.count() >= 50

    after = AuditEvent.objects.get(action="demo.build").after
    assert after is not None
    assert after["households"] == 50
    assert after["persons"] == Person.objects.count()
    assert verify_chain().ok


@pytest.mark.django_db
def test_a_second_run_adds_nothing_and_a_larger_one_tops_up() -> None:
    run("--households", "50")
    before = counts()
    output = run("--households", "50")
    assert counts() == before
    assert "无需补充" in output

    from minzheng.demo.services import _taken_resident_ids

    # A top-up avoids every registered number, known without decrypting anything.
    assert _taken_resident_ids() == {int(protect.decrypt(p.id_encrypted)[:17]) for p in Person.objects.all()}
    run("--households", "80")
    households, persons, _, staff, builds = counts()
    assert (households, staff, builds) == (80, before[3], 2)
    assert persons > before[1]
    numbers = list(Household.objects.values_list("number", flat=True))
    assert len(set(numbers)) == 80
    assert Person.objects.values("id_digest").distinct().count() == persons
    assert verify_chain().ok


@pytest.mark.django_db
def test_print_logins_lists_every_demo_account_with_the_public_password() -> None:
    run("--households", "5")
    households = Household.objects.count()
    output = run("--print-logins")
    assert Household.objects.count() == households
    assert "演示模式：以下账号密码公开，仅供演示" in output
    assert DEMO_PASSWORD in output
    for account in DEMO_ACCOUNTS:
        assert account.username in output
    assert "县级审批人" in output
    assert "大武口区民政局" in output


@pytest.mark.django_db
def test_refused_outside_demo_and_test_mode(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_MODE = False
    settings.MODE = Mode.PRODUCTION
    with pytest.raises(CommandError, match="演示模式"):
        run("--households", "5")
    with pytest.raises(CommandError, match="演示模式"):
        run("--print-logins")
    assert counts() == (0, 0, 0, 0, 0)


@pytest.mark.django_db
def test_allowed_in_demo_mode(settings) -> None:  # type: ignore[no-untyped-def]
    settings.DEMO_MODE = True
    settings.MODE = Mode.DEMO
    run("--households", "3")
    assert Household.objects.count() == 3


def test_the_generator_writes_every_column_of_the_registry_tables() -> None:
    """A new column on these tables must be filled by the demo build (COPY names its columns)."""
    from minzheng.demo import services

    for model, columns in (
        (Household, services.HOUSEHOLD_COLUMNS),
        (Person, services.PERSON_COLUMNS),
        (Membership, services.MEMBERSHIP_COLUMNS),
    ):
        assert {f.name for f in model._meta.concrete_fields} == set(columns), model.__name__


def _registry_schema() -> set[tuple[str, str]]:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename LIKE 'registry\\_%'"
            " UNION ALL SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid::regclass::text LIKE 'registry\\_%'"
        )
        return set(cursor.fetchall())


@pytest.mark.postgresql
@pytest.mark.django_db
def test_bulk_load_on_postgresql_rebuilds_every_index_and_foreign_key(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from minzheng.demo import services

    run("--households", "20")
    schema = _registry_schema()
    assert any("id_digest" in d for _, d in schema)
    monkeypatch.setattr(services, "BULK_LOAD_MIN_HOUSEHOLDS", 30)
    result = services.build_households(target=60, chunk_size=15)
    assert result.households == 40
    assert result.index_seconds > 0
    assert _registry_schema() == schema
    assert Household.objects.count() == 60
    assert Household.objects.filter(head__isnull=True).count() == 0
    assert Person.objects.values("id_digest").distinct().count() == Person.objects.count()
    assert verify_chain().ok


@pytest.mark.django_db
def test_demo_persons_have_incomes_disabilities_and_illnesses_once() -> None:
    run("--households", "300")
    incomes, disabilities, illnesses = (
        IncomeItem.objects.count(),
        Disability.objects.count(),
        Illness.objects.count(),
    )
    persons = Person.objects.count()
    assert incomes > persons * 0.5
    assert 0 < disabilities < persons * 0.1
    assert 0 < illnesses < persons * 0.05
    assert not IncomeItem.objects.filter(category="resident_basic_pension", counted=True).exists()
    run("--households", "300")
    assert IncomeItem.objects.count() == incomes


@pytest.mark.django_db
def test_demo_has_applications_at_every_stage_and_enrolled_households() -> None:
    from minzheng.cases.models import Case
    from minzheng.payments.models import Enrolment, PayrollRun

    run("--households", "2000")
    states = set(Case.objects.values_list("state", flat=True))
    assert {"accepted", "investigating", "notice", "approved", "incomplete", "aided", "transferred"} <= states
    assert Enrolment.objects.count() == 3
    payroll = PayrollRun.objects.get()
    assert (payroll.status, payroll.line_count, payroll.month) == (
        "computed",
        3,
        Enrolment.objects.values_list("start_month", flat=True).first(),
    )
    run("--households", "2000")
    assert Enrolment.objects.count() == 3
    assert PayrollRun.objects.count() == 1


@pytest.mark.django_db
def test_demo_has_monitoring_warnings_in_several_states() -> None:
    from minzheng.cases.models import Case
    from minzheng.monitoring.models import CohortMembership, Feed, Warning

    run("--households", "2000")
    feed = Feed.objects.get()
    assert feed.warnings >= 2
    states = set(Warning.objects.values_list("state", flat=True))
    assert {"disposed", "accepted", "new"} <= states
    assert Case.objects.filter(channel="discovery").count() == 1
    assert Warning.objects.filter(rule__isnull=True, severity=3).count() == 1  # the emergency
    assert CohortMembership.objects.filter(cohort="return_risk").count() == 1
    run("--households", "2000")
    assert Feed.objects.count() == 1
