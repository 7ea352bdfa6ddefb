"""REST API access (staff only: token or session) and the OpenAPI schema."""

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import CommandError
from drf_spectacular.validation import validate_schema
from rest_framework.test import APIClient

from apitokens.models import ApiToken
from routing.asgi import is_data_plane
from tests.api.conftest import RecordingClient

pytestmark = pytest.mark.django_db

ENDPOINTS = [
    "/api/providers/",
    "/api/api-keys/",
    "/api/load-summary/",
    "/api/aliases/",
    "/api/teams/",
    "/api/team-aliases/",
    "/api/gateway-keys/",
    "/api/usage/",
    "/api/usage/aggregate/",
    "/api/audit/",
    "/api/schema/",
]


@pytest.mark.parametrize("url", ENDPOINTS)
def test_anonymous_gets_401_and_non_staff_403(url: str, non_staff_api: APIClient) -> None:
    anonymous = APIClient().get(url)
    assert anonymous.status_code == 401
    assert anonymous["WWW-Authenticate"].startswith("Bearer")
    assert non_staff_api.get(url).status_code == 403
    assert APIClient().post(url, {}).status_code == 401
    assert non_staff_api.post(url, {}).status_code == 403


@pytest.mark.parametrize("url", ENDPOINTS)
def test_staff_may_read_every_endpoint(url: str, api: RecordingClient) -> None:
    assert api.get(url).status_code == 200


def test_a_wrong_or_revoked_token_is_401(api: RecordingClient, staff_user: User) -> None:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Bearer vdmapi-not-a-token")
    assert client.get("/api/teams/").status_code == 401
    ApiToken.objects.all().delete()
    assert api.get("/api/teams/").status_code == 401


def test_an_inactive_users_token_is_refused(api: RecordingClient, staff_user: User) -> None:
    staff_user.is_active = False
    staff_user.save()
    assert api.get("/api/teams/").status_code == 401


def test_staff_session_works_with_csrf(staff_user: User) -> None:
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(staff_user)
    assert client.get("/api/teams/").status_code == 200
    assert client.post("/api/teams/", {"name": "x"}).status_code == 403  # no CSRF token


def test_create_api_token_command(staff_user: User, capsys: pytest.CaptureFixture[str]) -> None:
    call_command("create_api_token", "ops", "--label", "ci")
    token = capsys.readouterr().out.strip()
    assert token.startswith("vdmapi-")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert client.get("/api/teams/").status_code == 200
    stored = ApiToken.objects.get(label="ci")
    assert token not in (stored.token_hash, stored.prefix)
    assert stored.last_used_at is not None
    User.objects.create_user("plain")
    with pytest.raises(CommandError, match="not an active staff user"):
        call_command("create_api_token", "plain")


def test_the_api_is_on_the_control_plane() -> None:
    assert not is_data_plane("/api/providers/")
    assert not is_data_plane("/api/schema/")


def test_the_openapi_schema_is_valid_and_complete(api: RecordingClient) -> None:
    response = api.get("/api/schema/?format=json")
    assert response.status_code == 200
    schema = response.json()
    validate_schema(schema)  # raises on an invalid OpenAPI 3 document
    paths = set(schema["paths"])
    assert {url for url in ENDPOINTS if url != "/api/schema/"} <= paths
    assert "/api/providers/{name}/" in paths
    assert schema["components"]["securitySchemes"]["apiToken"]["scheme"] == "bearer"
    key_request = schema["components"]["schemas"]["ApiKeyRequest"]["properties"]
    key_response = schema["components"]["schemas"]["ApiKey"]["properties"]
    assert "secret" in key_request
    assert "secret" not in key_response
    assert "key" in schema["components"]["schemas"]["GatewayKeyCreated"]["properties"]
    assert "key" not in schema["components"]["schemas"]["GatewayKey"]["properties"]


def test_the_schema_command_reports_no_warnings() -> None:
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")
