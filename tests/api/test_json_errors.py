"""The management API answers JSON for every error: a database failure while writing is
a 503, anything unexpected a 500, an unknown path a 404, a write missing its trailing
slash a 404 naming the path, a wrong method a 405, a CSRF failure a 403; never Django's
HTML page."""

import pytest
from django.contrib.auth.models import User
from django.db import OperationalError
from django.test import Client, RequestFactory
from django.utils.module_loading import import_string

from tests.api.conftest import RecordingClient


@pytest.mark.parametrize(
    ("error", "status", "detail"),
    [
        (OperationalError("could not connect to server at db.internal as vandamme:hunter2"), 503, "database"),
        (RuntimeError("boom with sk-secret-in-message"), 500, "Internal server error."),
    ],
)
def test_a_failing_write_answers_json(
    api: RecordingClient, monkeypatch: pytest.MonkeyPatch, error: Exception, status: int, detail: str
) -> None:
    def failing(**_: object) -> None:
        raise error

    monkeypatch.setattr("providers.api.views.provider_create", failing)
    response = api.post("/api/providers/", {"name": "acme", "base_url": "http://x.test/v1"}, format="json")
    assert response.status_code == status
    assert response["content-type"] == "application/json"
    assert detail in response.json()["detail"]
    api.assert_never_sent("hunter2", "sk-secret-in-message")


def test_an_unknown_api_path_answers_json(api: RecordingClient) -> None:
    response = api.get("/api/no-such-thing/")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize("debug", [False, True])
def test_a_write_without_the_trailing_slash_answers_json_naming_the_path(
    api: RecordingClient, settings: object, debug: bool
) -> None:
    settings.DEBUG = debug  # type: ignore[attr-defined]
    response = api.post("/api/teams", {"name": "research"}, format="json")
    assert response.status_code == 404
    assert response["content-type"] == "application/json"
    assert response.json() == {"detail": "Not found. API paths end with a slash: /api/teams/"}


def test_the_api_root_without_its_slash_answers_json(api: RecordingClient) -> None:
    response = api.get("/api")
    assert response.status_code == 404
    assert response.json() == {"detail": "Not found."}


@pytest.mark.parametrize(("method", "path"), [("delete", "/api/teams/"), ("put", "/api/schema/")])
def test_a_method_not_allowed_answers_json(api: RecordingClient, method: str, path: str) -> None:
    response = getattr(api, method)(path)
    assert response.status_code == 405
    assert response["content-type"] == "application/json"
    assert "not allowed" in response.json()["detail"]


def test_a_session_write_without_csrf_token_answers_json(staff_user: User) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(staff_user)
    response = browser.post("/api/teams/", {"name": "research"})
    assert response.status_code == 403
    assert response["content-type"] == "application/json"
    assert response.json()["detail"].startswith("CSRF Failed")


@pytest.mark.parametrize(
    ("handler", "status"),
    [
        ("vandamme.api_errors.bad_request", 400),
        ("vandamme.api_errors.permission_denied", 403),
        ("vandamme.api_errors.csrf_failure", 403),
    ],
)
def test_django_level_errors_under_the_api_answer_json(handler: str, status: int) -> None:
    view = import_string(handler)
    api_answer = view(RequestFactory().post("/api/teams/"), Exception("why"))
    assert (api_answer.status_code, api_answer["content-type"]) == (status, "application/json")
    page = view(RequestFactory().post("/admin/login/"), Exception("why"))
    assert page.status_code == status
    assert page["content-type"].startswith("text/html")
