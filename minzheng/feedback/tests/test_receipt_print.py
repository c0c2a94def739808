"""The receipt slip (服务质量回执): the short code and the QR code of the absolute rating address,
as inline SVG without inline styles; the QR read back from the SVG is the rating address."""

from __future__ import annotations

import re

import pytest
import segno
from django.test import Client
from django.urls import reverse

from minzheng.core.errors import InvalidInput
from minzheng.feedback import receipts
from minzheng.feedback.models import ServiceReceipt
from minzheng.feedback.tests.test_receipts import closed_window_case
from minzheng.org.models import Division, Office, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import make_staff

TOWNSHIP = "640202001000"


def svg_modules(svg: str) -> list[tuple[bool, ...]]:
    """The dark modules drawn by segno's SVG path (runs "M x y.5 h n m dx dy …"), without the quiet zone,
    as a matrix like segno's own: what a scanner would read from the printed slip."""
    size = int(re.search(r'viewBox="0 0 (\d+) \1"', svg).group(1))  # type: ignore[union-attr]
    path = re.search(r' d="([^"]+)"', svg).group(1)  # type: ignore[union-attr]
    dark = [[False] * size for _ in range(size)]
    x = y = 0.0
    for op, args in re.findall(r"([MmHhVv])([^MmHhVv]*)", path):
        nums = [float(n) for n in re.findall(r"-?\d+(?:\.\d+)?", args)]
        if op == "M":
            x, y = nums
        elif op == "m":
            x, y = x + nums[0], y + nums[1]
        elif op in "hH":
            length = nums[0] if op == "h" else nums[0] - x
            for col in range(int(x), int(x + length)):
                dark[int(y)][col] = True
            x += length
        else:
            raise AssertionError(f"unexpected path command {op}")
    border = 4
    return [tuple(row[border : size - border]) for row in dark[border : size - border]]


def as_bools(matrix: tuple[bytearray, ...]) -> list[tuple[bool, ...]]:
    return [tuple(bool(v) for v in row) for row in matrix]


@pytest.fixture
def receipt(tree: dict[str, Division]) -> ServiceReceipt:
    return receipts.receipt_issue(
        actor=None,
        office=Office.objects.get(division_id=TOWNSHIP),
        service_name="临时救助",
        channel="window",
    )


@pytest.fixture
def head(tree: dict[str, Division]) -> Staff:
    return make_staff("p_head", TOWNSHIP, [Role.TOWNSHIP_HEAD])


def test_the_slip_shows_the_code_and_a_qr_of_the_absolute_rating_address(
    receipt: ServiceReceipt, head: Staff
) -> None:
    client = Client()
    client.force_login(head)
    page = client.get(reverse("web:feedback_receipt_print", args=[receipt.pk]))
    assert page.status_code == 200
    html = page.content.decode()
    url = f"http://testserver/rate/{receipt.code}/"
    assert f'data-testid="receipt-code">{receipt.code}<' in html
    assert url in html
    svg = re.search(r"<svg.*?</svg>", html, re.S).group(0)  # type: ignore[union-attr]
    assert "style=" not in svg  # the CSP forbids inline styles
    assert 'class="receipt-qr"' in svg
    # Read back: the modules drawn are those of the rating address, and not of another one.
    drawn = svg_modules(svg)
    assert drawn == as_bools(segno.make(url, error="m", micro=False).matrix)
    assert drawn != as_bools(segno.make(f"/rate/{receipt.code}/", error="m", micro=False).matrix)
    # Linked from the receipt list.
    listed = client.get(reverse("web:feedback_receipts")).content.decode()
    assert reverse("web:feedback_receipt_print", args=[receipt.pk]) in listed


def test_a_relative_address_is_refused_and_another_office_s_receipt_is_not_found(
    receipt: ServiceReceipt, tree: dict[str, Division]
) -> None:
    with pytest.raises(InvalidInput):
        receipts.rating_qr_svg("/rate/ABC/")
    other = make_staff("p_other", "640205001000", [Role.TOWNSHIP_HEAD])
    client = Client()
    client.force_login(other)
    assert client.get(reverse("web:feedback_receipt_print", args=[receipt.pk])).status_code == 404
    assert client.get(reverse("web:feedback_receipt_print", args=[999999])).status_code == 404


def test_the_case_that_issued_a_receipt_links_to_its_slip(tree: dict[str, Division]) -> None:
    clerk = make_staff("p_clerk", TOWNSHIP, [Role.TOWNSHIP_CLERK])
    issued = closed_window_case(clerk)
    client = Client()
    client.force_login(clerk)
    page = client.get(reverse("web:case", args=[issued.case_id])).content.decode()
    assert reverse("web:feedback_receipt_print", args=[issued.pk]) in page
