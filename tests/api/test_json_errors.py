"""The management API answers JSON for every error: a database failure while writing is
a 503, anything unexpected a 500, an unknown path a 404; never Django's HTML page."""

import pytest
from django.db import OperationalError

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
