"""A price override saved through the REST API prices the next calls of every process
within the snapshot TTL: the save bumps the configuration generation, the snapshot (and
its price table) is rebuilt."""

import asyncio
import time
from collections.abc import AsyncIterator
from decimal import Decimal

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async
from django.contrib.auth.models import User

from apitokens.services import api_token_create
from routing.call_cost import COST_HEADER
from tests.gateway.conftest import OPENAI_BASE, make_provider
from vandamme.asgi import application

REPLY = {
    "id": "c",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 1_000_000, "completion_tokens": 1_000_000},
}
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
async def gateway(settings: object) -> AsyncIterator[httpx.AsyncClient]:
    settings.VANDAMME_SNAPSHOT_TTL = 0.2  # type: ignore[attr-defined]
    await sync_to_async(make_provider)("house", base_url=OPENAI_BASE, keys=("sk-house-key-000000000000",))
    user = await sync_to_async(User.objects.create_user)("ops", is_staff=True)
    _, token = await sync_to_async(api_token_create)(user=user)
    transport = httpx.ASGITransport(app=application)
    headers = {"authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(transport=transport, base_url="http://gw", headers=headers) as client:
        yield client


async def _cost(gateway: httpx.AsyncClient) -> str | None:
    body = {"model": "house:house-model", "messages": [{"role": "user", "content": "x"}]}
    response = await gateway.post("/v1/chat/completions", json=body)
    assert response.status_code == 200, response.text
    return response.headers.get(COST_HEADER)


@respx.mock(assert_all_mocked=False)
async def test_an_override_made_over_rest_prices_the_next_calls(
    gateway: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    assert await _cost(gateway) is None  # unpriced: no list knows house-model

    price = {"provider": "house", "model": "house-model", "input": "0.5", "output": "1.5"}
    created = await gateway.post("/api/prices/", json=price)
    assert created.status_code == 201, created.text

    started = time.monotonic()
    while (cost := await _cost(gateway)) is None:
        assert time.monotonic() - started < 1.5
        await asyncio.sleep(0.05)
    assert Decimal(cost) == Decimal(2)  # a million tokens each way: $0.5 + $1.5
