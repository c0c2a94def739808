"""The web shell: login, lockout, idle timeout, menus per role, security headers."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse

from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.testing import TEST_PASSWORD, make_staff
from minzheng.registry.testing import make_household


def login(client: Client, username: str, password: str = TEST_PASSWORD) -> object:
    return client.post(reverse("web:login"), {"username": username, "password": password})


def test_login_page_renders_in_chinese(db: None) -> None:
    response = Client().get(reverse("web:login"))
    assert response.status_code == 200
    assert "工作人员登录" in response.content.decode()


def test_pages_need_login(db: None) -> None:
    response = Client().get(reverse("web:households"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("web:login"))


def test_login_lands_on_home_with_office_and_jurisdiction(village_assistant: Staff) -> None:
    client = Client()
    response = login(client, "assistant")
    assert response.status_code == 302  # type: ignore[attr-defined]
    page = client.get(reverse("web:home")).content.decode()
    assert "长胜社区民政工作站" in page
    assert "长胜社区（640202001001）" in page
    assert "村（社区）民政协理员" in page


def test_wrong_password_message_and_lockout(village_assistant: Staff) -> None:
    client = Client()
    first = login(client, "assistant", "wrong-password")
    assert "用户名或密码错误" in first.content.decode()  # type: ignore[attr-defined]
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        login(client, "assistant", "wrong-password")
    locked = login(client, "assistant", TEST_PASSWORD)
    assert locked.status_code == 429  # type: ignore[attr-defined]
    assert "账号已被临时锁定" in locked.content.decode()  # type: ignore[attr-defined]
    # Another account on the same machine is not affected: lockout is per account.
    make_staff("other", "640202001001", [Role.VILLAGE_ASSISTANT])
    assert login(Client(), "other").status_code == 302  # type: ignore[attr-defined]


def test_session_expires_when_idle() -> None:
    assert settings.SESSION_SAVE_EVERY_REQUEST is True
    assert settings.SESSION_COOKIE_AGE == 30 * 60


MENUS = {
    Role.VILLAGE_ASSISTANT: {"首页", "家庭档案", "人员查询", "我的待办", "受理申请", "全部申请", "超期预警"}
    | {"探访照料"}
    | {"群众诉求", "服务评价", "网格事件"}
    | {"监测预警", "应保尽保"}
    | {"行政区划", "工作人员", "标准参数"},
    Role.COUNTY_APPROVER: {"首页", "家庭档案", "人员查询", "我的待办", "全部申请", "超期预警", "探访照料"}
    | {"在保对象", "发放批次"}
    | {"群众诉求", "服务评价", "网格事件"}
    | {"监测预警", "应保尽保", "基层能力建设"}
    | {"统计报表"}
    | {"规划指标"}
    | {"行政区划", "工作人员", "标准参数", "政策测算"},
    Role.AUDIT_ADMIN: {"首页", "行政区划", "工作人员", "审计查询"},
    Role.SECURITY_ADMIN: {"首页", "行政区划", "工作人员"},
    Role.DEPARTMENT_STAFF: {"首页", "转办事项反馈", "救助身份查询"},
}


@pytest.mark.parametrize("role", list(MENUS))
def test_menu_follows_role(tree: dict[str, Division], role: Role) -> None:
    import re

    staff = make_staff("someone", "640202000000", [role])
    client = Client()
    client.force_login(staff)
    page = client.get(reverse("web:home")).content.decode()
    menu = page.split('data-testid="main-menu"')[1].split("</ul>")[0]
    labels = set(re.findall(r'class="nav-link[^"]*"[^>]*>([^<]+)</a>', menu))
    assert labels == MENUS[role]


def test_security_headers_and_csp(village_assistant: Staff) -> None:
    client = Client()
    client.force_login(village_assistant)
    response = client.get(reverse("web:home"))
    csp = response["Content-Security-Policy"]
    assert "default-src 'self'" in csp
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert "camera=()" in response["Permissions-Policy"]
    assert response["Cache-Control"] == "no-store"


def test_no_inline_scripts_or_styles_in_pages(village_assistant: Staff) -> None:
    make_household(village_assistant, "640202001001", "赵六")
    client = Client()
    client.force_login(village_assistant)
    for name in (
        "web:home",
        "web:households",
        "web:persons",
        "web:divisions",
        "web:staff",
        "web:password_change",
    ):
        page = client.get(reverse(name)).content.decode()
        assert "<script>" not in page, name
        assert " style=" not in page, name
        assert "https://" not in page, name


def test_forced_password_change_redirects_until_done(village_assistant: Staff) -> None:
    Staff.objects.filter(pk=village_assistant.pk).update(must_change_password=True)
    client = Client()
    login(client, "assistant")
    response = client.get(reverse("web:households"))
    assert response.status_code == 302
    assert response["Location"] == reverse("web:password_change")
    weak = client.post(
        reverse("web:password_change"),
        {"old_password": TEST_PASSWORD, "new_password": "weakweakweak", "new_password_again": "weakweakweak"},
    )
    assert "至少3类" in weak.content.decode()
    done = client.post(
        reverse("web:password_change"),
        {
            "old_password": TEST_PASSWORD,
            "new_password": "Better-Passw0rd",
            "new_password_again": "Better-Passw0rd",
        },
    )
    assert done.status_code == 302
    assert client.get(reverse("web:households")).status_code == 200


def test_english_is_available(village_assistant: Staff) -> None:
    client = Client()
    client.force_login(village_assistant)
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    page = client.get(reverse("web:home")).content.decode()
    assert "Households" in page
    assert 'lang="en"' in page


def test_demo_accounts_cannot_sign_in_in_production(village_assistant: Staff, settings: object) -> None:
    from config.env import Mode

    Staff.objects.filter(pk=village_assistant.pk).update(is_demo=True)
    settings.MODE = Mode.PRODUCTION  # type: ignore[attr-defined]
    response = login(Client(), "assistant")
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert "用户名或密码错误" in response.content.decode()  # type: ignore[attr-defined]
    settings.MODE = Mode.DEMO  # type: ignore[attr-defined]
    assert login(Client(), "assistant").status_code == 302  # type: ignore[attr-defined]
