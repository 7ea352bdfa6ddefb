"""A group over two real mock upstreams on 127.0.0.1: a breaker opens on the mock's real
503s, and closes after the deployment recovers; streams count in flight until they end."""

import asyncio
import json
from collections.abc import Iterator

import pytest
from asgiref.sync import sync_to_async
from pytest_django.fixtures import Settings

from aliases.models import Alias
from routing.groups.breaker import BreakerPolicy
from routing.groups.state import group_router
from tests.gateway.chat_helpers import post_chat
from tests.gateway.conftest import make_provider
from tests.mock_upstream import MockUpstream

pytestmark = pytest.mark.django_db(transaction=True)

COOLDOWN = 0.3


@pytest.fixture
def mocks(settings: Settings) -> Iterator[dict[str, MockUpstream]]:
    settings.VANDAMME_GROUP_AFFINITY = False  # each call chosen afresh
    with MockUpstream() as east, MockUpstream() as west:
        yield {"east": east, "west": west}


async def make_group(mocks: dict[str, MockUpstream]) -> None:
    for name, mock in mocks.items():
        await sync_to_async(make_provider)(
            name, base_url=mock.base_url, keys=(f"sk-test-live-{name}-0123456789",), max_retries=0
        )
    targets = [{"target": "east:gpt-4o", "weight": 1000}, {"target": "west:gpt-4o", "weight": 1}]
    await sync_to_async(Alias.objects.create)(name="gpt", targets=targets)


async def ask(*, stream: bool = False) -> str:
    body = {"model": "gpt", "max_tokens": 5, "stream": stream, "messages": [{"role": "user", "content": "x"}]}
    response = await post_chat(body)
    assert response.status_code == 200, response.text
    if stream:
        assert b"[DONE]" in response.content
    return response.headers["x-vandamme-provider"]


async def test_a_breaker_opens_on_real_503s_and_closes_after_recovery(mocks: dict[str, MockUpstream]) -> None:
    group_router.reset(BreakerPolicy(failures=3, window=60, cooldown=COOLDOWN))
    await make_group(mocks)
    mocks["east"].add_rule({"status": 503})
    assert [await ask() for _ in range(3)] == ["west"] * 3  # each east 503 fell over to west
    assert group_router.breaker_state("east:gpt-4o") == "open"
    before = len(mocks["east"].requests())
    assert [await ask(stream=True) for _ in range(4)] == ["west"] * 4
    assert len(mocks["east"].requests()) == before  # open: east is not even asked
    mocks["east"].reset()  # east recovers
    await asyncio.sleep(COOLDOWN)
    assert await ask(stream=True) == "east"  # the half-open probe, streamed
    assert group_router.breaker_state("east:gpt-4o") == "closed"
    assert group_router.in_flight == {}  # every stream ended, every count released
    assert "east:gpt-4o" in group_router.latency


async def test_a_stream_that_fails_mid_way_does_not_switch(mocks: dict[str, MockUpstream]) -> None:
    await make_group(mocks)
    mocks["east"].add_rule({"cut_after_bytes": 200})
    body = {"model": "gpt", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "x"}]}
    response = await post_chat(body)
    assert response.headers["x-vandamme-provider"] == "east"  # chosen before the first byte
    events = [line for line in response.content.decode().splitlines() if line.startswith("data: {")]
    assert any("error" in json.loads(line.removeprefix("data: ")) for line in events)
    assert not mocks["west"].requests()  # no second target once bytes had left
    assert group_router.in_flight == {}
