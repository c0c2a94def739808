"""The grid loop: reported from a phone with a photo and the location (which finds the grid),
verified, registered with its limit or rejected with a reason, dispatched, handled, fed back,
checked on site — returned when the check fails, closed when it passes — and on-time closure per grid."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from minzheng.core.errors import InvalidInput, PermissionDenied, TransitionNotAllowed
from minzheng.feedback import grid
from minzheng.feedback.models import GridCell, GridEvent, GridPhoto
from minzheng.org.models import Division, Office, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff

VILLAGE = "640202001001"
TOWNSHIP = "640202001000"
JPEG = b"\xff\xd8\xff\xe0" + b"0" * 100


@pytest.fixture
def people(tree: dict[str, Division]) -> dict[str, Staff]:
    worker = make_staff("g_worker", VILLAGE, [Role.VILLAGE_ASSISTANT])
    GridCell.objects.create(
        code="6402020010010001",
        name="长胜社区第1网格",
        village_id=VILLAGE,
        worker=worker,
        min_lat=Decimal("39.010000"),
        max_lat=Decimal("39.020000"),
        min_lng=Decimal("106.370000"),
        max_lng=Decimal("106.380000"),
    )
    return {
        "worker": worker,
        "head": make_staff("g_head", TOWNSHIP, [Role.TOWNSHIP_HEAD]),
        "clerk": make_staff("g_clerk", TOWNSHIP, [Role.TOWNSHIP_CLERK]),
    }


def report(worker: Staff, **kw: object) -> GridEvent:
    fields: dict[str, object] = {
        "category_code": "100801",
        "description": "独居老人家中水管破裂，需要协调维修",
        "lat": "39.015",
        "lng": "106.375",
        "photos": [grid.Photo("image/jpeg", JPEG)],
    }
    fields.update(kw)
    return grid.grid_event_report(actor=worker, **fields)  # type: ignore[arg-type]


def test_an_event_goes_round_the_loop_and_back_when_the_check_fails(people: dict[str, Staff]) -> None:
    worker, head, clerk = people["worker"], people["head"], people["clerk"]
    event = report(worker)
    assert (event.state, event.cell.code) == ("reported", "6402020010010001")
    assert GridPhoto.objects.filter(event=event, stage="before").count() == 1
    grid.grid_event_act(actor=head, event_id=event.pk, action="verify")
    grid.grid_event_act(actor=head, event_id=event.pk, action="register")
    event.refresh_from_db()
    assert event.due_date is not None
    office = Office.objects.get(division_id=TOWNSHIP)
    with pytest.raises(PermissionDenied):  # the clerk handles; the head dispatches
        grid.grid_event_act(actor=clerk, event_id=event.pk, action="dispatch", office_id=office.pk)
    grid.grid_event_act(actor=head, event_id=event.pk, action="dispatch", office_id=office.pk)
    grid.grid_event_act(actor=clerk, event_id=event.pk, action="handle", note="联系物业关闭总阀")
    grid.grid_event_act(actor=clerk, event_id=event.pk, action="feed_back", note="已更换水管")
    with pytest.raises(InvalidInput):  # a failed check says why
        grid.grid_event_act(actor=worker, event_id=event.pk, action="check", passed=False)
    grid.grid_event_act(actor=worker, event_id=event.pk, action="check", passed=False, note="仍在渗水")
    assert GridEvent.objects.get(pk=event.pk).state == "returned"
    grid.grid_event_act(actor=clerk, event_id=event.pk, action="handle", note="重新更换接头")
    grid.grid_event_act(actor=clerk, event_id=event.pk, action="feed_back", note="已修好")
    grid.grid_event_act(
        actor=worker, event_id=event.pk, action="check", passed=True, photos=[grid.Photo("image/jpeg", JPEG)]
    )
    event.refresh_from_db()
    assert (event.state, event.closed_on) == ("closed", event.registered_on)
    steps = list(event.steps.values_list("action", flat=True))
    assert steps == [
        "report",
        "verify",
        "register",
        "dispatch",
        "handle",
        "feed_back",
        "check",
        "handle",
        "feed_back",
        "check",
    ]
    [rate] = grid.grid_rates(actor=head)
    assert (rate.registered, rate.closed, rate.closed_on_time, rate.on_time_rate) == (1, 1, 1, 1.0)


def test_rejected_with_a_reason_and_bad_reports_change_nothing(people: dict[str, Staff]) -> None:
    worker, head = people["worker"], people["head"]
    with pytest.raises(InvalidInput) as outside:
        report(worker, lat="38.0", lng="106.0")
    assert "不在" in outside.value.message
    with pytest.raises(InvalidInput):
        report(worker, category_code="999999")
    with pytest.raises(InvalidInput):
        report(worker, photos=[grid.Photo("application/pdf", b"%PDF")])
    assert GridEvent.objects.count() == 0
    event = report(worker)
    with pytest.raises(InvalidInput):
        grid.grid_event_act(actor=head, event_id=event.pk, action="reject", note="")
    grid.grid_event_act(actor=head, event_id=event.pk, action="reject", note="属物业管理范围，已告知物业")
    with pytest.raises(TransitionNotAllowed):
        grid.grid_event_act(actor=head, event_id=event.pk, action="register")
    assert GridEvent.objects.get(pk=event.pk).reject_reason.startswith("属物业")


def test_phone_report_page(people: dict[str, Staff]) -> None:
    client = Client()
    client.force_login(people["worker"])
    page = client.get(reverse("web:grid_report"))
    assert page.status_code == 200
    assert 'name="lat"' in page.content.decode()
    assert "geolocation=(self)" in page["Permissions-Policy"]  # the phone may give its position here
    outside = client.post(
        reverse("web:grid_report"),
        {"category_code": "100801", "description": "路灯损坏无人修", "lat": "1", "lng": "1"},
    )
    assert outside.status_code == 422
    done = client.post(
        reverse("web:grid_report"),
        {
            "category_code": "100801",
            "description": "路灯损坏无人修",
            "lat": "39.011",
            "lng": "106.371",
            "photos": SimpleUploadedFile("a.jpg", JPEG, "image/jpeg"),
        },
    )
    assert done.status_code == 302
    event = GridEvent.objects.get()
    assert event.photos.count() == 1
    detail = client.get(reverse("web:grid_event", args=[event.pk]))
    assert event.number in detail.content.decode()
    history = detail.content.decode().split('data-testid="grid-steps"')[1].split("</ol>")[0]
    assert "：上报" in history
    assert "report" not in history  # the step's name, not its code
    photo = client.get(reverse("web:grid_photo", args=[event.pk, event.photos.get().pk]))
    assert photo.content == JPEG
    other = Client()
    other.force_login(make_staff("x", "640202100000", [Role.TOWNSHIP_HEAD]))
    assert other.get(reverse("web:grid_event", args=[event.pk])).status_code == 404
    assert client.get(reverse("web:grid_events")).status_code == 200


def test_per_grid_and_per_village_counts_reported_closed_on_time_and_open(people: dict[str, Staff]) -> None:
    worker, head, clerk = people["worker"], people["head"], people["clerk"]
    office = Office.objects.get(division_id=TOWNSHIP)
    done = report(worker)
    for action in ("verify", "register"):
        grid.grid_event_act(actor=head, event_id=done.pk, action=action)
    grid.grid_event_act(actor=head, event_id=done.pk, action="dispatch", office_id=office.pk)
    grid.grid_event_act(actor=clerk, event_id=done.pk, action="handle", note="已处置")
    grid.grid_event_act(actor=clerk, event_id=done.pk, action="feed_back", note="已反馈")
    grid.grid_event_act(actor=worker, event_id=done.pk, action="check", passed=True)
    late = report(worker)
    for action in ("verify", "register"):
        grid.grid_event_act(actor=head, event_id=late.pk, action=action)
    GridEvent.objects.filter(pk=late.pk).update(due_date="2020-01-01")
    rejected = report(worker)
    grid.grid_event_act(actor=head, event_id=rejected.pk, action="reject", note="不属于民政事项")
    report(worker)  # reported, not yet verified
    [rate] = grid.grid_rates(actor=head)
    assert (rate.reported, rate.registered, rate.closed, rate.closed_on_time) == (4, 2, 1, 1)
    assert (rate.still_open, rate.open_overdue, rate.on_time_rate) == (2, 1, 1.0)
    [village] = grid.grid_village_rates(actor=head)
    assert (village.code, village.cells, village.reported, village.still_open) == (VILLAGE, 1, 4, 2)
    # Another county sees none of it; a malformed village code is refused.
    other = make_staff("g_other", "640205001000", [Role.TOWNSHIP_HEAD])
    assert grid.grid_rates(actor=other) == []
    with pytest.raises(InvalidInput):
        grid.grid_rate_rows(actor=head, village_code="x")


def test_the_rates_page_pages_through_337_grids_in_a_few_queries(
    people: dict[str, Staff], django_assert_max_num_queries: Any
) -> None:
    GridCell.objects.bulk_create(
        GridCell(
            code=f"{VILLAGE}{n:04d}",
            name=f"长胜社区第{n}网格",
            village_id=VILLAGE if n % 2 else "640202001002",
            min_lat=Decimal(40) + Decimal(n) / 100,
            max_lat=Decimal(40) + Decimal(n + 1) / 100,
            min_lng=Decimal(106),
            max_lng=Decimal("106.01"),
        )
        for n in range(2, 338)
    )
    assert GridCell.objects.count() == 337
    client = Client()
    client.force_login(people["head"])
    with django_assert_max_num_queries(12):
        page = client.get(reverse("web:grid_rates"))
    html = page.content.decode()
    assert page.status_code == 200
    assert "共 337 条" in html
    assert html.count("社区第") == 50
    assert client.get(reverse("web:grid_rates"), {"village": "640202001002", "page": "4"}).status_code == 200
    wrong = client.get(reverse("web:grid_rates"), {"village": "640205001001"})
    assert wrong.status_code == 422
    assert "没有该村（社区）的网格" in wrong.content.decode()
    events = client.get(reverse("web:grid_events"))
    assert reverse("web:grid_rates") in events.content.decode()
    # The API: a page of cells with their counts; by village.
    api = client.get("/api/v1/feedback/grid/rates", {"village_code": VILLAGE, "page_size": "500"}).json()
    assert api["count"] == 169
    assert {"reported", "closed", "closed_on_time", "still_open"} <= set(api["items"][0])
    assert client.get("/api/v1/feedback/grid/rates", {"village_code": "abc"}).status_code == 422
    villages = client.get("/api/v1/feedback/grid/village-rates").json()
    assert [(v["code"], v["cells"]) for v in villages] == [(VILLAGE, 169), ("640202001002", 168)]
