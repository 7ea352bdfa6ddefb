"""Fallbacks that cannot be resolved are skipped, the rest are tried, and when none serves
the client gets the original error; a mistyped provider prefix is named in the 400/404
the default provider answers."""

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async

from providers.models import Provider
from tests.gateway.conftest import OPENAI_BASE, make_provider
from tests.gateway.test_key_health import REPLY
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")

PRIMARY_BASE = "http://primary.upstream.test/v1"
BACKUP_BASE = "http://backup.upstream.test/v1"


@pytest.fixture
async def primary(providers: object) -> None:
    """``primary`` falls back to a disabled provider, an unknown one, then ``backup``."""
    await sync_to_async(make_provider)("poe", base_url="http://poe.upstream.test/v1", enabled=False)
    await sync_to_async(make_provider)(
        "primary",
        base_url=PRIMARY_BASE,
        keys=("sk-test-primary-key-ffffffffffff",),
        max_retries=0,
        fallbacks=["poe:some-bot", "nowhere", "backup"],
    )
    await sync_to_async(make_provider)(
        "backup", base_url=BACKUP_BASE, keys=("sk-test-backup-key-gggggggggggg",), max_retries=0
    )


async def _ask(model: str) -> httpx.Response:
    body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        return await http.post("/v1/messages", json=body)


def _overloaded(respx_mock: respx.MockRouter) -> respx.Route:
    return respx_mock.post(f"{PRIMARY_BASE}/chat/completions").respond(
        503, json={"error": {"message": "primary is overloaded"}}
    )


@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_unresolvable_fallbacks_are_skipped_and_the_next_one_serves(
    respx_mock: respx.MockRouter, primary: None
) -> None:
    _overloaded(respx_mock)
    backup = respx_mock.post(f"{BACKUP_BASE}/chat/completions").respond(json=REPLY)
    default = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    response = await _ask("primary:gpt-4o")
    assert response.status_code == 200
    assert response.headers["x-vandamme-provider"] == "backup"
    assert backup.call_count == 1
    assert default.call_count == 0  # 'nowhere:gpt-4o' is no model of the default provider


@respx.mock(assert_all_mocked=False)
async def test_when_no_fallback_serves_the_original_error_is_returned(
    respx_mock: respx.MockRouter, primary: None
) -> None:
    _overloaded(respx_mock)
    respx_mock.post(f"{BACKUP_BASE}/chat/completions").respond(
        500, json={"error": {"message": "backup broke"}}
    )
    response = await _ask("primary:gpt-4o")
    assert response.status_code == 529  # the primary's 503, as the Anthropic dialect says it
    message = response.json()["error"]["message"]
    assert "primary is overloaded" in message
    assert "backup broke" not in message


@respx.mock(assert_all_mocked=False)
async def test_only_unresolvable_fallbacks_keep_the_original_error(
    respx_mock: respx.MockRouter, primary: None
) -> None:
    _overloaded(respx_mock)
    backup = await Provider.objects.aget(name="backup")
    backup.enabled = False
    await sync_to_async(backup.save)()
    response = await _ask("primary:gpt-4o")
    assert response.status_code == 529
    assert "primary is overloaded" in response.json()["error"]["message"]


@pytest.mark.parametrize("status", [400, 404])
@respx.mock(assert_all_mocked=False)
async def test_a_mistyped_prefix_is_named_when_the_default_provider_refuses(
    respx_mock: respx.MockRouter, status: int
) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        status, json={"error": {"message": "The model `opnai:gpt-4o` does not exist"}}
    )
    response = await _ask("opnai:gpt-4o")
    assert response.status_code == status
    message = response.json()["error"]["message"]
    assert "does not exist" in message
    assert "'opnai' is not a configured provider" in message
    assert "mockai" in message
    assert "mockant" in message


@respx.mock(assert_all_mocked=False)
async def test_a_colon_model_id_the_default_provider_serves_gets_no_note(
    respx_mock: respx.MockRouter,
) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    response = await _ask("llama3:8b")
    assert response.status_code == 200
    assert route.calls.last.request.content.count(b'"llama3:8b"') == 1  # the colon stays in the id


async def test_the_resolve_endpoint_shows_the_unconfigured_prefix() -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        resolved = (await http.get("/v1/vandamme/resolve", params={"model": "opnai:gpt-4o"})).json()
    assert resolved["provider"] == "mockai"
    assert resolved["upstream_model"] == "opnai:gpt-4o"
    assert any("'opnai' is not a configured provider" in step for step in resolved["steps"])


async def test_the_resolve_endpoint_shows_the_family_and_each_doors_wire_format() -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        to_anthropic = (await http.get("/v1/vandamme/resolve", params={"model": "mockant:claude"})).json()
    assert to_anthropic["provider"] == "mockant"
    assert to_anthropic["wire"] == {
        "messages": "anthropic_messages",
        "chat_completions": "anthropic_messages",
        "responses": "anthropic_messages",
    }
    assert to_anthropic["family"]
