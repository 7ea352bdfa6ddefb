"""A change made through the REST API reaches the data plane within a second: the same
ASGI application serves /api/ (control plane) and /v1/messages (data plane)."""

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User

from apitokens.services import api_token_create
from providers.generation import config_generation_get
from vandamme.asgi import application

UPSTREAM = "http://acme.upstream.test/v1"
SECRET = "sk-acme-upstream-key-9999999999"
REPLY = {
    "id": "c",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1, "completion_tokens": 1},
}
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def gateway(settings: object) -> AsyncIterator[httpx.AsyncClient]:
    settings.VANDAMME_SNAPSHOT_TTL = 0.2  # type: ignore[attr-defined]
    user = await sync_to_async(User.objects.create_user)("ops", is_staff=True)
    _, token = await sync_to_async(api_token_create)(user=user)
    transport = httpx.ASGITransport(app=application)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", headers=headers) as client:
        yield client


async def _ask(gateway: httpx.AsyncClient, model: str) -> httpx.Response:
    body = {"model": model, "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    return await gateway.post("/v1/messages", json=body)


async def _eventually(gateway: httpx.AsyncClient, model: str, status: int) -> float:
    """Seconds until /v1/messages answers ``status`` (fails after 1.5 s)."""
    started = time.monotonic()
    while True:
        response = await _ask(gateway, model)
        if response.status_code == status:
            return time.monotonic() - started
        assert time.monotonic() - started < 1.5, response.text
        await asyncio.sleep(0.05)


@respx.mock(assert_all_mocked=False)
async def test_a_provider_and_key_created_through_the_api_serve_requests(
    gateway: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{UPSTREAM}/chat/completions").respond(json=REPLY)
    assert (await _ask(gateway, "acme:gpt-4o")).status_code != 200  # snapshot warm, no acme yet
    created = await gateway.post("/api/providers/", json={"name": "acme", "base_url": UPSTREAM})
    assert created.status_code == 201, created.text
    key = await gateway.post("/api/api-keys/", json={"provider": "acme", "secret": SECRET})
    assert key.status_code == 201, key.text
    assert await _eventually(gateway, "acme:gpt-4o", 200) < 1.0
    assert route.calls.last.request.headers["authorization"] == f"Bearer {SECRET}"
    assert (await _ask(gateway, "acme:gpt-4o")).headers["x-vandamme-provider"] == "acme"
    # An alias made through the API is resolved too.
    await gateway.post("/api/aliases/", json={"name": "quick", "target": "acme:gpt-4o-mini"})
    await _eventually(gateway, "quick", 200)
    assert route.calls.last.request.content.count(b"gpt-4o-mini") == 1
    # Disabling the provider and deleting the key are seen as well.
    await gateway.patch("/api/providers/acme/", json={"enabled": False})
    await _eventually(gateway, "acme:gpt-4o", 400)
    await gateway.patch("/api/providers/acme/", json={"enabled": True})
    await _eventually(gateway, "acme:gpt-4o", 200)
    key_id = key.json()["id"]
    assert (await gateway.delete(f"/api/api-keys/{key_id}/")).status_code == 204
    await _eventually(gateway, "acme:gpt-4o", 400)


async def test_every_write_bumps_the_generation(gateway: httpx.AsyncClient) -> None:
    generation = sync_to_async(config_generation_get)
    writes = [
        ("post", "/api/providers/", {"name": "acme", "base_url": UPSTREAM, "is_default": True}),
        ("patch", "/api/providers/acme/", {"is_default": False}),  # clears the default with update()
        ("post", "/api/teams/", {"name": "core"}),
        ("delete", "/api/providers/acme/", None),
    ]
    for method, url, body in writes:
        before = await generation()
        response = await gateway.request(method, url, json=body)
        assert response.status_code < 300, response.text
        assert await generation() > before, (method, url)
