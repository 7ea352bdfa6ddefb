"""A team is named by its id or its name wherever the API takes one (a gateway key's or a
team alias's ``team``, ``?team=``), and a team that does not exist is a 400 naming it,
never an empty 200 that reads as "this team has nothing"."""

from datetime import UTC, datetime

import pytest

from teams.models import GatewayKey, Team, UsageRecord
from tests.api.conftest import RecordingClient


@pytest.fixture
def research(db: None) -> Team:
    return Team.objects.create(name="research")


def test_a_gateway_key_is_created_for_a_team_named_by_name(api: RecordingClient, research: Team) -> None:
    created = api.post("/api/gateway-keys/", {"team": "research", "label": "laptop"}, format="json")
    assert created.status_code == 201, created.content
    assert created.json()["team"] == research.pk
    assert GatewayKey.objects.get().team == research
    by_id = api.post("/api/gateway-keys/", {"team": research.pk}, format="json")
    assert by_id.status_code == 201, by_id.content


def test_a_team_alias_takes_the_team_by_name(api: RecordingClient, research: Team) -> None:
    created = api.post(
        "/api/team-aliases/", {"team": "research", "name": "fast", "target": "openai:gpt-4o"}, format="json"
    )
    assert created.status_code == 201, created.content
    assert created.json()["team"] == research.pk


@pytest.mark.parametrize("team", ["nosuchteam", 999, "999"])
def test_creating_a_key_for_an_unknown_team_is_a_400_naming_it(
    api: RecordingClient, research: Team, team: object
) -> None:
    response = api.post("/api/gateway-keys/", {"team": team}, format="json")
    assert response.status_code == 400
    assert response.json() == {"team": [f'No team with the id or name "{team}".']}


@pytest.mark.parametrize("team", [True, [1], {"id": 1}])
def test_a_team_of_the_wrong_type_is_a_400(api: RecordingClient, research: Team, team: object) -> None:
    response = api.post("/api/gateway-keys/", {"team": team}, format="json")
    assert response.status_code == 400
    assert "team" in response.json()


def test_a_team_named_with_digits_is_found_by_its_name_first(api: RecordingClient, research: Team) -> None:
    digits = Team.objects.create(name=str(research.pk + 100))
    created = api.post("/api/gateway-keys/", {"team": digits.name}, format="json")
    assert created.json()["team"] == digits.pk


@pytest.mark.parametrize("path", ["/api/gateway-keys/", "/api/team-aliases/"])
def test_the_team_filter_takes_a_name_and_refuses_an_unknown_team(
    api: RecordingClient, research: Team, path: str
) -> None:
    other = Team.objects.create(name="other")
    api.post("/api/gateway-keys/", {"team": "research"}, format="json")
    api.post("/api/gateway-keys/", {"team": "other"}, format="json")
    api.post("/api/team-aliases/", {"team": "research", "name": "a", "target": "x:y"}, format="json")
    api.post("/api/team-aliases/", {"team": "other", "name": "a", "target": "x:y"}, format="json")
    by_name = api.get(f"{path}?team=research").json()
    assert [row["team"] for row in by_name["results"]] == [research.pk]
    assert api.get(f"{path}?team={other.pk}").json()["results"][0]["team"] == other.pk
    unknown = api.get(f"{path}?team=nosuchteam")
    assert unknown.status_code == 400
    assert unknown.json() == {"team": ['No team with the id or name "nosuchteam".']}


@pytest.mark.parametrize("path", ["/api/usage/", "/api/usage/aggregate/"])
def test_usage_refuses_an_unknown_team_but_keeps_a_deleted_ones_records(
    api: RecordingClient, research: Team, path: str
) -> None:
    now = datetime.now(tz=UTC)
    fields = {"provider": "openai", "model_requested": "m", "model_served": "m", "status": 200}
    UsageRecord.objects.create(created_at=now, team=research, team_name="research", **fields)
    UsageRecord.objects.create(created_at=now, team=None, team_name="gone", **fields)
    assert api.get(f"{path}?team=research").status_code == 200
    assert api.get(f"{path}?team=gone").status_code == 200  # the team was deleted; its usage stays
    unknown = api.get(f"{path}?team=nosuchteam")
    assert unknown.status_code == 400
    assert unknown.json() == {"team": ['No team with the id or name "nosuchteam".']}
