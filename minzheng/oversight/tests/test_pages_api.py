"""Pages and API: a city supervisor drills from the city to a village; the API with a bearer token;
the demo county's data."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone

from minzheng.core.models import AuditEvent
from minzheng.demo.oversight import build_demo_oversight
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue, divisions_load
from minzheng.org.testing import make_staff
from minzheng.oversight import services
from minzheng.oversight.models import (
    Bulletin,
    CountyNormChoice,
    Evidence,
    PopulationRecord,
    Qualification,
    Rectification,
    TrainingPlan,
)

COUNTY = "640202000000"
TOWNSHIP = "640202001000"
VILLAGE = "640202001001"


@pytest.fixture
def supervisor(tree: dict[str, Division]) -> Staff:
    services.normsets_load(actor=None)
    services.county_norm_choose(
        actor=None,
        county_code=COUNTY,
        norm_set_code="xinzheng_2017",
        valid_from=date(2020, 1, 1),
        reason="测试",
    )
    services.population_record(
        actor=None,
        division_code=TOWNSHIP,
        year=timezone.localdate().year,
        resident_population=31000,
        source="统计",
    )
    return make_staff("city_supervisor", "640200000000", [Role.SUPERVISOR])


def test_a_city_supervisor_drills_from_the_city_to_a_village(supervisor: Staff) -> None:
    client = Client()
    client.force_login(supervisor)
    city = client.get("/oversight/")
    assert city.status_code == 200
    page = city.content.decode()
    assert 'data-testid="county-640202000000"' in page
    assert 'data-testid="county-640205000000"' in page
    assert "兴庆区" not in page  # another city
    county = client.get(f"/oversight/d/{COUNTY}/").content.decode()
    assert 'data-testid="township-640202001000"' in county
    assert "新郑2017" in county
    assert 'data-metric="township_staff" data-short="1"' in county  # 0 of 4 at 31,000 people
    township = client.get(f"/oversight/d/{TOWNSHIP}/").content.decode()
    assert f'data-testid="village-{VILLAGE}"' in township
    assert client.get(f"/oversight/d/{VILLAGE}/").status_code == 200
    assert client.get("/oversight/d/640104001001/").status_code == 404  # 银川 is not its city


def test_a_township_head_cannot_look_at_another_township(supervisor: Staff) -> None:
    client = Client()
    client.force_login(make_staff("head", TOWNSHIP, [Role.TOWNSHIP_HEAD]))
    assert client.get(f"/oversight/d/{TOWNSHIP}/").status_code == 200
    assert client.get("/oversight/d/640202100000/").status_code == 404
    assert client.get(f"/oversight/d/{COUNTY}/").status_code == 404


def test_the_api_with_a_bearer_token(supervisor: Staff) -> None:
    admin = make_staff("county_admin2", COUNTY, [Role.COUNTY_ADMIN])
    _, raw = api_token_issue(actor=admin, name="oversight")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    body = api.get("/api/v1/oversight/compliance").json()
    assert [t["code"] for t in body["townships"]][:1] == [TOWNSHIP]
    staff_cell = next(c for c in body["townships"][0]["cells"] if c["metric"] == "township_staff")
    assert staff_cell["required"] == "4.00"
    assert staff_cell["short"] is True
    events = AuditEvent.objects.count()
    missing_year = api.post(
        "/api/v1/oversight/population",
        {"division_code": TOWNSHIP, "year": None, "resident_population": 100, "source": "普查"},
        content_type="application/json",
    )
    assert missing_year.status_code == 422
    assert missing_year.json()["field_errors"]["year"] == ["请填写人口数据的年度"]
    assert AuditEvent.objects.count() == events
    switched = api.post(
        "/api/v1/oversight/norm-choices",
        {
            "county_code": COUNTY,
            "norm_set": "yinchuan_2018",
            "valid_from": "2021-01-01",
            "reason": "改用银川标准",
        },
        content_type="application/json",
    )
    assert switched.status_code == 201
    body = api.get("/api/v1/oversight/compliance").json()
    staff_cell = next(c for c in body["townships"][0]["cells"] if c["metric"] == "township_staff")
    assert staff_cell["required"] == "3.00"
    sets = api.get("/api/v1/oversight/norm-sets").json()
    assert {s["code"] for s in sets} == {"yinchuan_2018", "xinzheng_2017", "zhangjiakou_2018"}
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    frozen = api.post(
        "/api/v1/oversight/bulletins",
        {"division_code": COUNTY, "month": last_month},
        content_type="application/json",
    )
    assert frozen.status_code == 201, frozen.content
    again = api.post(
        "/api/v1/oversight/bulletins",
        {"division_code": COUNTY, "month": last_month},
        content_type="application/json",
    )
    assert again.status_code == 409
    bulletin = Bulletin.objects.get()
    assert api.get(f"/api/v1/oversight/bulletins/{bulletin.pk}").json()["sha256"] == bulletin.sha256
    # A read-only village assistant has no oversight permission.
    _, raw = api_token_issue(actor=make_staff("va", VILLAGE, [Role.VILLAGE_ASSISTANT]), name="va")
    assert Client(HTTP_AUTHORIZATION=f"Bearer {raw}").get("/api/v1/oversight/compliance").status_code == 403


def test_bulletin_print_and_excel(supervisor: Staff) -> None:
    client = Client()
    admin = make_staff("county_admin3", COUNTY, [Role.COUNTY_ADMIN])
    client.force_login(admin)
    last_month = (timezone.localdate().replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    response = client.post(f"/oversight/d/{COUNTY}/bulletin/", {"month": last_month})
    assert response.status_code == 302
    bulletin = Bulletin.objects.get()
    page = client.get(f"/oversight/bulletins/{bulletin.pk}/").content.decode()
    assert "长胜街道" in page
    assert 'data-testid="ranking"' in page
    xlsx = client.get(f"/oversight/bulletins/{bulletin.pk}/bulletin.xlsx")
    assert xlsx.status_code == 200
    assert xlsx.content[:2] == b"PK"


@pytest.mark.django_db
def test_the_demo_county_gets_its_townships_data() -> None:
    divisions_load(actor=None, prefix="640202")
    townships = build_demo_oversight()
    assert townships == 11
    assert CountyNormChoice.objects.filter(county_id=COUNTY).exists()
    assert PopulationRecord.objects.filter(division__level=4).count() == 11
    assert TrainingPlan.objects.filter(division_id=COUNTY).count() == 1
    assert Qualification.objects.count() == 1
    assert list(Rectification.objects.order_by("pk").values_list("status", flat=True)) == [
        "open",
        "submitted",
    ]
    assert Evidence.objects.filter(rectification__isnull=False).count() == 1
    assert build_demo_oversight() == 0  # a second run adds nothing
