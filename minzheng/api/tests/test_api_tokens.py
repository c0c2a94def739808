"""API tokens fit for other systems: bearer writes without CSRF, expiry, revocation on reset,
deactivation and lockout, the forced password change, read-only tokens, hourly use audit; and the
account-change endpoints (202 when a second administrator must confirm)."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from minzheng.core.models import AuditEvent
from minzheng.org.models import ApiToken, Division, Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import TEST_PASSWORD, make_staff

COUNTY = "640202000000"


def bearer(raw: str) -> dict[str, Any]:
    return {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def send(client: Client, method: str, url: str, body: object, **extra: Any) -> Any:
    return getattr(client, method)(url, data=json.dumps(body), content_type="application/json", **extra)


def test_bearer_writes_work_with_csrf_enforced(county_admin: Staff) -> None:
    _, raw = api_token_issue(actor=county_admin, name="对接系统")
    client = Client(enforce_csrf_checks=True)
    created = send(client, "post", "/api/v1/tokens", {"name": "第二个"}, **bearer(raw))
    assert created.status_code == 201, created.content
    target = make_staff("assistant2", "640202001001", [Role.VILLAGE_ASSISTANT])
    changed = send(
        client,
        "put",
        f"/api/v1/staff/{target.pk}/roles",
        {"roles": ["township_clerk"], "reason": "调岗"},
        **bearer(raw),
    )
    assert changed.status_code == 200, changed.content
    assert Staff.objects.get(pk=target.pk).roles == {Role.TOWNSHIP_CLERK}
    revoked = client.delete(f"/api/v1/tokens/{created.json()['id']}", **bearer(raw))
    assert revoked.status_code == 204


def test_session_writes_without_csrf_token_are_still_refused(county_admin: Staff) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(county_admin)
    response = send(client, "post", "/api/v1/tokens", {"name": "x"})
    assert response.status_code == 403
    assert not ApiToken.objects.filter(staff=county_admin).exists()
    # A bearer header naming no valid token does not open the session's door either.
    response = send(client, "post", "/api/v1/tokens", {"name": "x"}, **bearer("mz_wrong"))
    assert response.status_code == 401
    assert not ApiToken.objects.filter(staff=county_admin).exists()


def test_anonymous_write_is_401_not_a_csrf_error(db: None) -> None:
    response = send(Client(enforce_csrf_checks=True), "post", "/api/v1/tokens", {"name": "x"})
    assert response.status_code == 401


def test_tokens_expire_after_the_configured_days(county_admin: Staff, settings: Any) -> None:
    token, raw = api_token_issue(actor=county_admin, name="默认")
    assert abs(token.expires_at - (timezone.now() + timedelta(days=90))) < timedelta(minutes=1)
    settings.MINZHENG_API_TOKEN_DAYS = 7
    short, _ = api_token_issue(actor=county_admin, name="七天")
    assert abs(short.expires_at - (timezone.now() + timedelta(days=7))) < timedelta(minutes=1)
    client = Client()
    too_long = send(
        client,
        "post",
        "/api/v1/tokens",
        {"name": "太长", "expires_at": (timezone.now() + timedelta(days=30)).isoformat()},
        **bearer(raw),
    )
    assert too_long.status_code == 422
    assert "expires_at" in too_long.json()["field_errors"]
    assert client.get("/api/v1/me", **bearer(raw)).status_code == 200
    ApiToken.objects.filter(pk=token.pk).update(
        created_at=timezone.now() - timedelta(days=91), expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert client.get("/api/v1/me", **bearer(raw)).status_code == 401


@pytest.fixture
def security_admin(tree: dict[str, Division]) -> Staff:
    return make_staff("sec", COUNTY, [Role.SECURITY_ADMIN])


def test_password_reset_revokes_tokens(security_admin: Staff, township_clerk: Staff) -> None:
    token, raw = api_token_issue(actor=township_clerk, name="脚本")
    _, admin_raw = api_token_issue(actor=security_admin, name="安全")
    client = Client(enforce_csrf_checks=True)
    response = send(
        client,
        "post",
        f"/api/v1/staff/{township_clerk.pk}/password",
        {"new_password": "Reset-Passw0rd!9", "reason": "遗忘密码"},
        **bearer(admin_raw),
    )
    assert response.status_code == 204, response.content
    assert client.get("/api/v1/me", **bearer(raw)).status_code == 401
    assert ApiToken.objects.get(pk=token.pk).revoked_reason == "password_reset"
    assert AuditEvent.objects.filter(action="api_token.revoke_all", object_id=str(township_clerk.pk)).exists()


def test_deactivation_revokes_tokens(county_admin: Staff, township_clerk: Staff) -> None:
    token, raw = api_token_issue(actor=township_clerk, name="脚本")
    client = Client()
    client.force_login(county_admin)
    response = send(
        client, "post", f"/api/v1/staff/{township_clerk.pk}/active", {"active": False, "reason": "离职"}
    )
    assert response.status_code == 200
    send(client, "post", f"/api/v1/staff/{township_clerk.pk}/active", {"active": True, "reason": "返岗"})
    # Reactivated, the old token stays revoked.
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 401
    assert ApiToken.objects.get(pk=token.pk).revoked_reason == "deactivated"


def test_lockout_revokes_tokens(township_clerk: Staff, settings: Any) -> None:
    token, raw = api_token_issue(actor=township_clerk, name="脚本")
    web = Client()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        web.post(reverse("web:login"), {"username": "clerk", "password": "wrong-Passw0rd!"})
    assert ApiToken.objects.get(pk=token.pk).revoked_reason == "lockout"
    assert Client().get("/api/v1/me", **bearer(raw)).status_code == 401


def test_forced_password_change_holds_on_the_api(township_clerk: Staff) -> None:
    _, raw = api_token_issue(actor=township_clerk, name="脚本")
    Staff.objects.filter(pk=township_clerk.pk).update(must_change_password=True)
    client = Client()
    response = client.get("/api/v1/households", **bearer(raw))
    assert response.status_code == 403
    assert response.json()["code"] == "password_change_required"
    assert "修改密码" in response.json()["message"]
    assert client.get("/api/v1/me", **bearer(raw)).json()["must_change_password"] is True
    # The session is held to it as well.
    session = Client()
    session.force_login(Staff.objects.get(pk=township_clerk.pk))
    assert session.get("/api/v1/households").json()["code"] == "password_change_required"
    changed = send(
        client,
        "post",
        "/api/v1/me/password",
        {"old_password": TEST_PASSWORD, "new_password": "Changed-Passw0rd!7"},
        **bearer(raw),
    )
    assert changed.status_code == 204
    assert client.get("/api/v1/households", **bearer(raw)).status_code == 200


def test_read_only_token_cannot_write(township_clerk: Staff) -> None:
    _, raw = api_token_issue(actor=township_clerk, name="只读", read_only=True)
    client = Client(enforce_csrf_checks=True)
    assert client.get("/api/v1/households", **bearer(raw)).status_code == 200
    response = send(client, "post", "/api/v1/tokens", {"name": "借只读签发"}, **bearer(raw))
    assert response.status_code == 403
    assert response.json()["code"] == "token_read_only"
    assert ApiToken.objects.filter(staff=township_clerk).count() == 1
    issued = send(client, "post", "/api/v1/tokens", {"name": "另一只读", "read_only": True}, **bearer(raw))
    assert issued.status_code == 403


def test_token_use_is_audited_once_an_hour(township_clerk: Staff) -> None:
    token, raw = api_token_issue(actor=township_clerk, name="脚本")
    client = Client()
    for _ in range(5):
        assert client.get("/api/v1/me", **bearer(raw)).status_code == 200
    uses = AuditEvent.objects.filter(action="auth.token_use", object_id=str(token.pk))
    assert uses.count() == 1
    assert uses.get().after["path"] == "/api/v1/me"  # type: ignore[index]
    ApiToken.objects.filter(pk=token.pk).update(last_audited_at=timezone.now() - timedelta(hours=2))
    client.get("/api/v1/me", **bearer(raw))
    assert uses.count() == 2
    assert ApiToken.objects.get(pk=token.pk).last_used_at is not None


def test_an_administrator_change_waits_for_confirmation_through_the_api(tree: dict[str, Division]) -> None:
    sys_admin = make_staff("sys", COUNTY, [Role.SYSTEM_ADMIN])
    sec_admin = make_staff("sec", COUNTY, [Role.SECURITY_ADMIN])
    audit_admin = make_staff("aud", COUNTY, [Role.AUDIT_ADMIN])
    county_admin = make_staff("ca", COUNTY, [Role.COUNTY_ADMIN])
    tokens = {
        s.username: api_token_issue(actor=s, name="t")[1]
        for s in (sys_admin, sec_admin, audit_admin, county_admin)
    }
    client = Client(enforce_csrf_checks=True)
    # The county business administrator: 403 on every administrator, whatever the change.
    for url, body in (
        (f"/api/v1/staff/{sys_admin.pk}/roles", {"roles": [], "reason": "x"}),
        (f"/api/v1/staff/{audit_admin.pk}/roles", {"roles": ["county_admin"], "reason": "x"}),
        (f"/api/v1/staff/{sec_admin.pk}/active", {"active": False, "reason": "x"}),
    ):
        method = "put" if url.endswith("roles") else "post"
        assert send(client, method, url, body, **bearer(tokens["ca"])).status_code == 403
    # The security administrator resetting the system administrator's password: only a proposal.
    proposed = send(
        client,
        "post",
        f"/api/v1/staff/{sys_admin.pk}/password",
        {"new_password": "Taken-Passw0rd!1", "reason": "试图接管"},
        **bearer(tokens["sec"]),
    )
    assert proposed.status_code == 202, proposed.content
    request = proposed.json()
    assert request["confirmer_roles"] == ["audit_admin"]
    assert Staff.objects.get(pk=sys_admin.pk).check_password(TEST_PASSWORD)
    listed = client.get("/api/v1/staff-change-requests", **bearer(tokens["aud"])).json()
    assert [r["id"] for r in listed["items"]] == [request["id"]]
    confirm = f"/api/v1/staff-change-requests/{request['id']}/confirm"
    assert send(client, "post", confirm, {"note": ""}, **bearer(tokens["sec"])).status_code == 403
    assert send(client, "post", confirm, {"note": ""}, **bearer(tokens["sys"])).status_code == 403
    done = send(client, "post", confirm, {"note": "已电话核实"}, **bearer(tokens["aud"]))
    assert done.status_code == 200, done.content
    assert done.json()["status"] == "applied"
    assert Staff.objects.get(pk=sys_admin.pk).check_password("Taken-Passw0rd!1")
    # The system administrator's own token went with the reset.
    assert client.get("/api/v1/me", **bearer(tokens["sys"])).status_code == 401
