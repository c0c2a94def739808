"""Pages refuse what they cannot read with a clear Chinese page or form error, never a 500."""

from __future__ import annotations

import pytest
from django.test import Client

from minzheng.org.models import Staff
from minzheng.registry.models import Household
from minzheng.registry.testing import make_household


@pytest.fixture
def household(village_assistant: Staff) -> Household:
    return make_household(village_assistant, "640202001001", "吴页面", members=1)


@pytest.fixture
def page(village_assistant: Staff) -> Client:
    client = Client()
    client.force_login(village_assistant)
    return client


def test_a_control_character_in_a_search_is_a_clear_400(page: Client, household: Household) -> None:
    response = page.get("/households/", {"q": "吴\x00"})
    assert response.status_code == 400
    assert "不能包含空字符或其他控制字符" in response.content.decode()


def test_an_id_beyond_64_bits_is_not_a_server_error(page: Client) -> None:
    response = page.get(f"/households/{10**30}/")
    assert response.status_code in (400, 404)


def test_a_bad_phone_is_a_form_error(page: Client, household: Household) -> None:
    response = page.post(
        f"/households/{household.pk}/edit/", {"address": "新址3号", "phone": "12345", "reason": "改"}
    )
    assert response.status_code == 200
    assert "电话号码格式不正确" in response.content.decode()
    household.refresh_from_db()
    assert household.phone == ""


def test_english_pages_get_english_refusals(page: Client) -> None:
    response = page.get("/households/", {"q": "\x07"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert "Must not contain NUL or other control characters" in response.content.decode()
