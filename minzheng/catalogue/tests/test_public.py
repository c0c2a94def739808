"""The public guide pages and the public catalogue API: no login needed."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.test import Client
from django.urls import reverse

from minzheng.catalogue.services import catalogue_load
from minzheng.catalogue.testing import SHIPPED_CODES as CODES


@pytest.fixture
def catalogue(db: None) -> None:
    catalogue_load(actor=None)


def test_public_guide_list_renders_without_login(catalogue: None) -> None:
    response = Client().get(reverse("web:guide"))
    assert response.status_code == 200
    page = response.content.decode()
    assert "最低生活保障" in page
    assert "教育资助" in page
    assert page.index("民政局") < page.index("教育局")
    assert "以本系统公布为准" in page


def test_public_guide_page_shows_the_whole_guide_without_login(catalogue: None) -> None:
    response = Client().get(reverse("web:guide_item", args=["dibao"]))
    assert response.status_code == 200
    page = response.content.decode()
    for text in (
        "最低生活保障办事指南",
        "民发〔2021〕57号",
        "家庭经济状况核对授权书",  # a material
        "可免提交",
        "可承诺",
        "初审与公示",
        "7 天（自然日）",
        "30 个工作日",
        "不收费",
        "以本系统公布为准",
        "web/guide.css",
    ):
        assert text in page, text
    assert "style=" not in page  # the Content Security Policy forbids inline styles


def test_unknown_guide_page_is_404(catalogue: None) -> None:
    assert Client().get(reverse("web:guide_item", args=["no_such_item"])).status_code == 404


def test_print_stylesheet_exists_for_a4() -> None:
    css = (Path(__file__).resolve().parents[2] / "web/static/web/guide.css").read_text(encoding="utf-8")
    assert "@media print" in css
    assert "A4" in css


def test_login_page_links_to_the_guides(db: None) -> None:
    page = Client().get(reverse("web:login")).content.decode()
    assert f'href="{reverse("web:guide")}"' in page


def test_public_api_lists_items_without_login(catalogue: None) -> None:
    response = Client().get("/api/v1/catalogue/items")
    assert response.status_code == 200
    items = response.json()
    assert {i["code"] for i in items} == CODES
    dibao = next(i for i in items if i["code"] == "dibao")
    assert dibao["department_label"] == "民政局"
    assert dibao["time_limit_working_days"] == 30
    filtered = Client().get("/api/v1/catalogue/items", {"department": "education"}).json()
    assert [i["code"] for i in filtered] == ["education_aid"]


def test_public_api_returns_the_guide_without_login(catalogue: None) -> None:
    response = Client().get("/api/v1/catalogue/items/dibao")
    assert response.status_code == 200
    body = response.json()
    assert body["name"] == "最低生活保障"
    assert body["materials"][0] == {
        "order": 1,
        "name": "最低生活保障申请书",
        "required": True,
        "fetchable_by_office": False,
        "pledge_allowed": False,
        "note": "申请人签字；窗口提供格式文本，可现场填写",
    }
    assert any(m["fetchable_by_office"] for m in body["materials"])
    assert body["steps"][3]["calendar_days"] == 7


def test_public_api_unknown_code_is_a_404_json_error(catalogue: None) -> None:
    response = Client().get("/api/v1/catalogue/items/no_such_item")
    assert response.status_code == 404
    assert response.json() == {
        "code": "not_found",
        "message": "没有编码为“no_such_item”的服务事项",
        "field_errors": {},
    }


def test_public_api_bad_department_is_a_422_json_error(catalogue: None) -> None:
    response = Client().get("/api/v1/catalogue/items", {"department": "nowhere"})
    assert response.status_code == 422
    assert set(response.json()) == {"code", "message", "field_errors"}


def test_guide_page_in_english(catalogue: None) -> None:
    page = Client(HTTP_ACCEPT_LANGUAGE="en").get(reverse("web:guide_item", args=["dibao"])).content.decode()
    assert "3. Materials" in page
    assert "Service guide: 最低生活保障" in page
    assert "30 working days" in page
    assert "最低生活保障" in page  # the guide itself is published in Chinese
