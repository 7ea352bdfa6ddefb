"""REST API: teams, team aliases, gateway keys, aliases."""

import pytest

from aliases.models import Alias
from audit.models import AuditEntry
from providers.models import Provider, Source
from teams.models import GatewayKey, Team, TeamAlias
from teams.services import gateway_key_hash
from tests.api.conftest import RecordingClient

pytestmark = pytest.mark.django_db


def test_team_crud_with_limits(api: RecordingClient) -> None:
    body = {
        "name": "core",
        "allowed_providers": ["openai"],
        "allowed_models": ["gpt-4o*"],
        "requests_per_minute": 60,
        "tokens_per_minute": 100_000,
        "token_budget": 5_000_000,
        "budget_period": "week",
    }
    created = api.post("/api/teams/", body, format="json")
    assert created.status_code == 201, created.content
    team_url = f"/api/teams/{created.json()['id']}/"
    assert {k: created.json()[k] for k in body} == body
    patched = api.patch(team_url, {"requests_per_minute": None, "enabled": False}, format="json")
    assert (patched.json()["requests_per_minute"], patched.json()["enabled"]) == (None, False)
    assert api.patch(team_url, {"budget_period": "year"}, format="json").status_code == 400
    assert api.patch(team_url, {"token_budget": -1}, format="json").status_code == 400
    assert api.post("/api/teams/", {"name": "core"}, format="json").status_code == 400  # unique
    assert api.get("/api/teams/").json()["count"] == 1
    assert api.delete(team_url).status_code == 204
    assert not Team.objects.exists()


def test_team_alias_crud(api: RecordingClient) -> None:
    team = Team.objects.create(name="core")
    created = api.post("/api/team-aliases/", {"team": team.pk, "name": "Fast", "target": "openai:gpt-4o"})
    assert created.status_code == 201, created.content
    assert created.json()["name"] == "fast"
    url = f"/api/team-aliases/{created.json()['id']}/"
    duplicate = api.post("/api/team-aliases/", {"team": team.pk, "name": "fast", "target": "x"})
    assert duplicate.status_code == 400
    assert (
        api.patch(url, {"target": "openai:gpt-4o-mini"}, format="json").json()["target"]
        == "openai:gpt-4o-mini"
    )
    assert api.get(f"/api/team-aliases/?team={team.pk}").json()["count"] == 1
    assert api.get("/api/team-aliases/?team=999").status_code == 400  # no such team
    assert api.delete(url).status_code == 204
    assert not TeamAlias.objects.exists()


def test_gateway_key_plaintext_only_in_the_creation_response(api: RecordingClient) -> None:
    team = Team.objects.create(name="core")
    created = api.post(
        "/api/gateway-keys/", {"team": team.pk, "label": "ci", "requests_per_minute": 10}, format="json"
    )
    assert created.status_code == 201, created.content
    plaintext = created.json()["key"]
    assert plaintext.startswith("vdm-")
    key = GatewayKey.objects.get()
    assert key.key_hash == gateway_key_hash(plaintext)
    assert (key.requests_per_minute, created.json()["prefix"]) == (10, plaintext[:10])
    url = f"/api/gateway-keys/{key.pk}/"
    later = [
        api.get(url),
        api.get("/api/gateway-keys/"),
        api.patch(url, {"enabled": False, "label": "renamed"}, format="json"),
        api.get(f"/api/gateway-keys/?team={team.pk}"),
    ]
    assert all(response.status_code == 200 for response in later)
    assert all("key" not in body for body in [later[0].json(), later[2].json()])
    assert later[0].json()["last4"] == plaintext[-4:]
    api.bodies = api.bodies[1:]  # everything after the creation response
    api.assert_never_sent(plaintext, key.key_hash)
    other = Team.objects.create(name="other")
    assert api.patch(url, {"team": other.pk}, format="json").status_code == 400
    assert api.delete(url).status_code == 204
    entries = AuditEntry.objects.filter(object_type="teams.gatewaykey")
    assert entries.count() == 3
    assert all(plaintext not in str(e.before) + str(e.after) for e in entries)
    assert all(key.key_hash not in str(e.before) + str(e.after) for e in entries)


def test_alias_crud_and_scopes(api: RecordingClient) -> None:
    Provider.objects.create(name="acme", base_url="https://acme/v1")
    glob = api.post("/api/aliases/", {"name": "Fast", "target": "acme:small"}, format="json")
    assert glob.status_code == 201, glob.content
    assert (glob.json()["name"], glob.json()["provider"], glob.json()["source"]) == ("fast", None, "admin")
    scoped = api.post("/api/aliases/", {"name": "fast", "target": "small", "provider": "acme"}, format="json")
    assert scoped.status_code == 201, scoped.content
    assert api.post("/api/aliases/", {"name": "fast", "target": "x"}, format="json").status_code == 400
    pattern_scoped = {"name": "*sonnet*", "target": "x", "provider": "acme", "is_pattern": True}
    assert api.post("/api/aliases/", pattern_scoped, format="json").status_code == 400
    assert api.get("/api/aliases/?provider=acme").json()["count"] == 1
    assert api.get("/api/aliases/?provider=").json()["count"] == 1
    url = f"/api/aliases/{glob.json()['id']}/"
    patched = api.patch(url, {"fallbacks": ["acme:big"], "target": "acme:tiny"}, format="json")
    assert patched.json()["fallbacks"] == ["acme:big"]
    assert api.delete(url).status_code == 204
    assert Alias.objects.count() == 1


def test_aliases_from_the_environment_are_read_only(api: RecordingClient) -> None:
    alias = Alias.objects.create(name="envy", target="acme:x", source=Source.ENV)
    url = f"/api/aliases/{alias.pk}/"
    response = api.patch(url, {"target": "acme:y"}, format="json")
    assert response.status_code == 409
    assert "environment" in response.json()["detail"]
    assert api.delete(url).status_code == 409
    assert api.patch(url, {"target": "acme:x"}, format="json").status_code == 200  # no change
    alias.refresh_from_db()
    assert alias.target == "acme:x"
