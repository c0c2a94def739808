"""API conventions: authentication, CSRF, structured errors, status codes, OpenAPI."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from minzheng.core.models import AuditEvent
from minzheng.org.models import Division, Staff
from minzheng.org.roles import Role
from minzheng.org.services import api_token_issue
from minzheng.org.testing import make_staff
from minzheng.registry.models import Household
from minzheng.registry.testing import resident_id


def post_json(client: Client, url: str, body: object, **extra: str) -> object:
    return client.post(url, data=json.dumps(body), content_type="application/json", **extra)  # type: ignore[arg-type]


def test_openapi_schema_and_docs_are_published(db: None) -> None:
    client = Client()
    schema = client.get("/api/v1/openapi.json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/api/v1/households" in paths
    assert "/api/v1/audit/events" in paths
    assert client.get("/api/v1/docs").status_code == 200


def test_anonymous_request_gets_401_with_structured_error(db: None) -> None:
    response = Client().get("/api/v1/households")
    assert response.status_code == 401
    assert response.json() == {
        "code": "unauthenticated",
        "message": "请先登录或提供有效的访问令牌",
        "field_errors": {},
    }


def test_bearer_token_authenticates_and_revoked_token_does_not(township_clerk: Staff) -> None:
    token, raw = api_token_issue(actor=township_clerk, name="脚本")
    client = Client()
    me = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert me.status_code == 200
    assert me.json()["username"] == "clerk"
    assert me.json()["jurisdiction_prefix"] == "640202001"
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION="Bearer mz_wrong").status_code == 401
    revoke = client.delete(f"/api/v1/tokens/{token.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert revoke.status_code == 204
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_token_of_deactivated_account_is_refused(township_clerk: Staff) -> None:
    _, raw = api_token_issue(actor=township_clerk, name="脚本")
    Staff.objects.filter(pk=township_clerk.pk).update(is_active=False)
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_session_writes_need_csrf_token(township_clerk: Staff) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(township_clerk)
    response = post_json(client, "/api/v1/tokens", {"name": "x"})
    assert response.status_code == 403  # type: ignore[attr-defined]
    client.get("/login/")
    csrf = client.cookies["csrftoken"].value
    response = post_json(client, "/api/v1/tokens", {"name": "x"}, HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 201  # type: ignore[attr-defined]


def test_validation_errors_name_each_field(township_clerk: Staff) -> None:
    client = Client()
    client.force_login(township_clerk)
    response = post_json(
        client,
        "/api/v1/households",
        {
            "division_code": "640202001001",
            "address": "长胜社区1号",
            "area": "urban",
            "members": [{"name": "张三", "id_number": "640202198001010010", "relationship": "head"}],
        },
    )
    assert response.status_code == 422  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == "invalid"
    assert list(body["field_errors"]) == ["members[0].id_number"]
    assert "校验位" in body["field_errors"]["members[0].id_number"][0]
    assert Household.objects.count() == 0


def test_schema_errors_are_structured_too(township_clerk: Staff) -> None:
    client = Client()
    client.force_login(township_clerk)
    response = post_json(client, "/api/v1/households", {"address": ""})
    assert response.status_code == 422  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["code"] == "invalid"
    assert "division_code" in body["field_errors"]
    assert "members" in body["field_errors"]


def test_household_created_through_api_is_stored_and_audited(township_clerk: Staff) -> None:
    client = Client()
    client.force_login(township_clerk)
    number = resident_id("640202")
    response = post_json(
        client,
        "/api/v1/households",
        {
            "division_code": "640202001002",
            "address": "康乐社区3号楼",
            "area": "urban",
            "members": [{"name": "李四", "id_number": number, "relationship": "head"}],
        },
    )
    assert response.status_code == 201, response.content  # type: ignore[attr-defined]
    body = response.json()  # type: ignore[attr-defined]
    assert body["number"] == "640202001002000001"
    assert body["members"][0]["id_number_masked"] == number[:6] + "********" + number[-4:]
    assert number not in response.content.decode()  # type: ignore[attr-defined]
    event = AuditEvent.objects.get(action="household.create")
    assert event.actor_username == "clerk"
    assert event.scope_code == "640202001002"


def test_role_without_permission_gets_403(tree: dict[str, Division]) -> None:
    auditor = make_staff("aud", "640202000000", [Role.AUDIT_ADMIN])
    client = Client()
    client.force_login(auditor)
    response = client.get("/api/v1/households")
    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


def test_reveal_full_id_number_is_audited(township_clerk: Staff) -> None:
    from minzheng.registry.testing import make_household

    household = make_household(township_clerk, "640202001001", "王五")
    client = Client()
    client.force_login(township_clerk)
    url = f"/api/v1/persons/{household.head_id}/id-number"
    assert post_json(client, url, {"reason": ""}).status_code == 422  # type: ignore[attr-defined]
    response = post_json(client, url, {"reason": "核对低保申请材料"})
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert len(response.json()["id_number"]) == 18  # type: ignore[attr-defined]
    event = AuditEvent.objects.get(action="person.reveal_id_number")
    assert event.reason == "核对低保申请材料"
    assert event.object_id == str(household.head_id)


def test_unknown_route_is_structured_404(township_clerk: Staff) -> None:
    client = Client()
    client.force_login(township_clerk)
    response = client.get("/api/v1/households/999999")
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"


@pytest.mark.parametrize("bad", ["abc", "-1"])
def test_bad_path_parameter_is_422_not_500(township_clerk: Staff, bad: str) -> None:
    client = Client()
    client.force_login(township_clerk)
    response = client.get(f"/api/v1/households/{bad}")
    assert response.status_code in (404, 422)
    assert "code" in response.json()
