"""Teams: hashed gateway keys shown once, authentication, allow lists, team aliases."""

from datetime import timedelta

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from teams.models import GatewayKey, Team, TeamAlias
from teams.services import gateway_key_create, gateway_key_hash
from tests.gateway.conftest import ANTHROPIC_BASE, OPENAI_BASE
from vandamme.asgi import application

REPLY = {
    "id": "c",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
}


@pytest.mark.django_db
def test_keys_are_stored_only_as_hashes() -> None:
    key, plaintext = gateway_key_create(team=Team.objects.create(name="core"), label="ci")
    assert plaintext.startswith("vdm-")
    assert len(plaintext) > 40
    assert key.key_hash == gateway_key_hash(plaintext)
    assert key.masked == f"{plaintext[:10]}…{plaintext[-4:]}"
    with connection.cursor() as cursor:
        cursor.execute("SELECT * FROM teams_gatewaykey")
        rows = cursor.fetchall()
    assert all(plaintext not in str(value) for row in rows for value in row)


async def _ask(model: str, key: str | None, **headers: str) -> httpx.Response:
    if key is not None:
        headers["x-api-key"] = key
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
        return await http.post("/v1/messages", json=body, headers=headers)


@pytest.fixture
def team_key(providers: object) -> str:
    team = Team.objects.create(name="core", allowed_providers=["mockai"], allowed_models=["gpt-4o*", "fast"])
    TeamAlias.objects.create(team=team, name="fast", target="mockai:gpt-4o-team")
    return gateway_key_create(team=team)[1]


@respx.mock(assert_all_mocked=False)
async def test_team_key_authenticates_and_team_alias_wins(
    team_key: str, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    response = await _ask("fast", team_key)
    assert response.status_code == 200
    assert response.headers["x-vandamme-model"] == "gpt-4o-team"  # team alias beats the global 'fast'
    assert route.called


async def test_missing_or_wrong_key_is_refused_once_teams_exist(team_key: str) -> None:
    for key in (None, "vdm-not-a-real-key"):
        response = await _ask("gpt-4o", key)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"


async def test_allow_lists_refuse_other_providers_and_models(team_key: str) -> None:
    other_provider = await _ask("mockant:claude-x", team_key)
    assert other_provider.status_code == 403
    assert other_provider.json()["error"]["type"] == "permission_error"
    assert "mockant" in other_provider.json()["error"]["message"]
    other_model = await _ask("o3-mini", team_key)
    assert other_model.status_code == 403


@respx.mock(assert_all_mocked=False)
async def test_glob_allow_list(team_key: str, respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    assert (await _ask("gpt-4o-mini", team_key)).status_code == 200


async def test_expired_and_disabled_keys_are_refused(team_key: str, settings: object) -> None:
    settings.VANDAMME_SNAPSHOT_TTL = 0  # type: ignore[attr-defined]
    key = await GatewayKey.objects.aget(key_hash=gateway_key_hash(team_key))
    key.expires_at = timezone.now() - timedelta(minutes=1)
    await sync_to_async(key.save)()
    expired = await _ask("gpt-4o", team_key)
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]
    key.expires_at = None
    key.enabled = False
    await sync_to_async(key.save)()
    assert (await _ask("gpt-4o", team_key)).status_code == 401


@respx.mock(assert_all_mocked=False)
async def test_proxy_api_key_still_works_beside_team_keys(
    team_key: str, settings: object, respx_mock: respx.MockRouter
) -> None:
    settings.PROXY_API_KEY = "single-user-key"  # type: ignore[attr-defined]
    respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages").respond(
        json={
            "id": "m",
            "type": "message",
            "role": "assistant",
            "model": "x",
            "content": [],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": {"input_tokens": 1, "output_tokens": 1},
        }
    )
    assert (await _ask("mockant:claude-x", "single-user-key")).status_code == 200  # no team, no allow list


@pytest.mark.django_db
def test_admin_shows_a_new_key_once(admin_client: Client) -> None:
    team = Team.objects.create(name="ops")
    response = admin_client.post(
        reverse("admin:teams_team_changelist"),
        {"action": "create_key", "_selected_action": [team.pk]},
        follow=True,
    )
    page = response.content.decode()
    key = GatewayKey.objects.get(team=team)
    shown = [word for word in page.split() if word.startswith("vdm-") and len(word) > 40]
    assert len(shown) == 1
    assert gateway_key_hash(shown[0]) == key.key_hash
    for url in (
        reverse("admin:teams_team_change", args=[team.pk]),
        reverse("admin:teams_gatewaykey_changelist"),
        reverse("admin:teams_gatewaykey_change", args=[key.pk]),
        reverse("admin:teams_team_changelist"),
    ):
        later = admin_client.get(url)
        assert later.status_code == 200
        assert shown[0] not in later.content.decode()
