"""Middleware through the REST API: set on a provider and a team, checked before it is saved."""

from tests.api.conftest import RecordingClient

GUARDRAIL = "routing.middleware.guardrail.Guardrail"


def test_the_api_sets_a_providers_and_a_teams_middleware_and_refuses_a_bad_one(api: RecordingClient) -> None:
    body = {"name": "acme", "base_url": "https://acme.example/v1", "middleware": [{"path": GUARDRAIL}]}
    created = api.post("/api/providers/", body, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["middleware"] == [{"path": GUARDRAIL}]
    refused = api.patch("/api/providers/acme/", {"middleware": [{"path": "nowhere.Missing"}]}, format="json")
    assert refused.status_code == 400
    assert "cannot be imported" in refused.content.decode()
    team = api.post(
        "/api/teams/", {"name": "t", "middleware": "routing.middleware.redactor.Redactor"}, format="json"
    )
    assert team.status_code == 201, team.content
    bad_team = api.patch(
        f"/api/teams/{team.json()['id']}/", {"middleware": [{"path": "x.Y", "on_error": "no"}]}, format="json"
    )
    assert bad_team.status_code == 400
