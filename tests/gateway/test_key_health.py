"""Key failures are persisted for the admin; a key is disabled only after repeated
classified failures; when every key is rejected the client is told so, without secrets."""

import json

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async
from pytest_django.fixtures import Settings

from providers.models import ApiKey
from routing import failover
from tests.gateway.conftest import OPENAI_BASE, OPENAI_KEYS
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")

BODY = {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
REPLY = {
    "id": "c",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
}


async def _post() -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        return await http.post("/v1/messages", json=BODY)


def _by_key(rejected_key: str) -> respx.MockRouter:
    def answer(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == f"Bearer {rejected_key}":
            return httpx.Response(
                401, json={"error": {"message": f"Incorrect API key provided: {rejected_key}"}}
            )
        return httpx.Response(200, json=REPLY)

    router = respx.mock(assert_all_mocked=False)
    router.post(f"{OPENAI_BASE}/chat/completions").mock(side_effect=answer)
    return router


async def test_a_rejected_key_is_recorded_for_the_admin() -> None:
    with _by_key(OPENAI_KEYS[0]):
        for _ in range(2):
            assert (await _post()).status_code == 200
        await failover.key_state_writes_done()
    rejected = await ApiKey.objects.aget(last4=OPENAI_KEYS[0][-4:])
    assert rejected.last_failure_status == 401
    assert rejected.last_failure_at is not None
    assert rejected.consecutive_failures >= 1
    assert rejected.enabled  # one failure does not disable a key


async def test_a_key_is_disabled_after_repeated_rejections(settings: Settings) -> None:
    settings.VANDAMME_KEY_COOLDOWN_SECONDS = 0  # no cooldown: the bad key is tried on every request
    with _by_key(OPENAI_KEYS[0]):
        for _ in range(failover.KEY_DISABLE_AFTER * 2):
            assert (await _post()).status_code == 200
        await failover.key_state_writes_done()
    rejected = await ApiKey.objects.aget(last4=OPENAI_KEYS[0][-4:])
    assert rejected.enabled is False
    healthy = await ApiKey.objects.aget(last4=OPENAI_KEYS[1][-4:])
    assert healthy.enabled is True


@respx.mock(assert_all_mocked=False)
async def test_all_keys_rejected_says_so_without_secrets(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").mock(
        side_effect=lambda request: httpx.Response(
            401,
            json={
                "error": {"message": f"Incorrect API key provided: {request.headers['authorization'][7:]}"}
            },
        )
    )
    response = await _post()
    await failover.key_state_writes_done()
    assert response.status_code == 401
    message = response.json()["error"]["message"]
    assert "all 2 API keys" in message
    for key in OPENAI_KEYS:
        assert key not in response.text
    count = await sync_to_async(ApiKey.objects.filter(last_failure_status=401).count)()
    assert count == 2
    assert json.loads(response.content)["type"] == "error"
