"""Token limits and budgets hold under concurrency (issue 11 item 5): N clients at once
against a 500 tokens/min limit and a 400-token budget, through the ASGI app to the mock
upstream on 127.0.0.1 (which takes 100 ms to answer, so every call is in flight at the
same time), with the counters in process memory and in a real redis-server.

Admission reserves each call's estimated tokens; the answer settles them. What gets
through is at most the limit plus about one call, whatever the concurrency."""

import asyncio
import logging
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx2
import pytest
from asgiref.sync import sync_to_async

from routing.limits.service import limiter
from teams.models import Team
from teams.services import gateway_key_create
from tests.gateway.conftest import make_provider
from tests.mock_upstream import MockUpstream
from tests.mock_upstream.replies import openai_completion
from tests.redis_server import RedisServer
from vandamme.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)
logger = logging.getLogger(__name__)

# ~250 bytes of body: the gateway reserves ~62 + max_tokens 5; the upstream reports 50.
PROMPT: list[anthropic.types.MessageParam] = [{"role": "user", "content": "Tell me more. " * 12}]
PER_CALL = {"prompt_tokens": 45, "completion_tokens": 5, "total_tokens": 50}
LIMIT = 500
BUDGET = 400


@pytest.fixture(scope="module")
def slow_upstream() -> Iterator[MockUpstream]:
    with MockUpstream(delay_ms=100) as upstream:
        yield upstream


@pytest.fixture
def upstream(slow_upstream: MockUpstream) -> Iterator[MockUpstream]:
    slow_upstream.reset()
    slow_upstream.add_rule({"json": {**openai_completion("gpt-4o"), "usage": PER_CALL}})
    yield slow_upstream
    slow_upstream.reset()


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, settings: Any) -> str:
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        with server.client() as client:
            client.flushall()
        settings.VANDAMME_LIMITS_REDIS_URL = server.url
        # This is about the reservation arithmetic, not Redis outages: a loaded machine
        # must not trip the 0.1 s breaker mid-burst (each process would then count alone).
        settings.VANDAMME_LIMITS_REDIS_TIMEOUT = settings.VANDAMME_REDIS_TIMEOUT = 2.0
    return str(request.param)


def _team_key(upstream: MockUpstream, **limits: Any) -> str:
    make_provider(
        "mock", base_url=upstream.base_url, keys=("sk-test-limits-aaaaaaaaaaaaaaaa",), is_default=True
    )
    team = Team.objects.create(name="burst", **limits)
    return gateway_key_create(team=team)[1]


async def _burst(key: str, clients: int) -> tuple[int, int]:
    """``clients`` calls at once: (calls answered, tokens they used)."""
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application), timeout=60)
    async with anthropic.AsyncAnthropic(
        api_key=key, base_url="http://gw", http_client=http, max_retries=0
    ) as sdk:

        async def one() -> int:
            try:
                message = await sdk.messages.create(model="gpt-4o", max_tokens=5, messages=PROMPT)
            except anthropic.APIStatusError:  # 429 over the limit (or a scripted failure)
                return -1
            return message.usage.input_tokens + message.usage.output_tokens

        used = await asyncio.gather(*(one() for _ in range(clients)))
    await limiter.store().flush()
    answered = [tokens for tokens in used if tokens >= 0]
    return len(answered), sum(answered)


@pytest.mark.parametrize("clients", [32, 200])
async def test_a_tokens_per_minute_limit_is_overshot_by_at_most_one_call(
    upstream: MockUpstream, store: str, clients: int
) -> None:
    key = await sync_to_async(_team_key)(upstream, tokens_per_minute=LIMIT)
    answered, tokens = await _burst(key, clients)
    per_call = tokens // max(answered, 1)
    logger.warning(f"{store} store, {clients} clients, {LIMIT} tokens/min: {answered} calls, {tokens} tokens")
    assert 0 < tokens <= LIMIT + per_call
    assert answered < clients
    await limiter.aclose()


@pytest.mark.parametrize("clients", [32, 200])
async def test_a_token_budget_is_overshot_by_at_most_one_call(
    upstream: MockUpstream, store: str, clients: int
) -> None:
    key = await sync_to_async(_team_key)(upstream, token_budget=BUDGET, budget_period="day")
    answered, tokens = await _burst(key, clients)
    per_call = tokens // max(answered, 1)
    logger.warning(
        f"{store} store, {clients} clients, {BUDGET}-token budget: {answered} calls, {tokens} tokens"
    )
    assert 0 < tokens <= BUDGET + per_call
    await limiter.aclose()


async def test_settled_reservations_free_the_limit_for_the_next_calls(
    upstream: MockUpstream, store: str
) -> None:
    """A reservation larger than the call's usage is given back: sequential calls use the
    whole limit, and a failed call gives back everything it reserved."""
    key = await sync_to_async(_team_key)(upstream, tokens_per_minute=LIMIT)
    upstream.reset()  # rules are checked in order: the failures first
    upstream.add_rule({"status": 400, "times": 3})
    upstream.add_rule({"json": {**openai_completion("gpt-4o"), "usage": PER_CALL}})
    for _ in range(3):
        assert await _burst(key, 1) == (0, 0)  # answered 400: nothing used, nothing kept
    answered, tokens = 0, 0
    for _ in range(60):
        count, used = await _burst(key, 1)
        if not count:
            break
        answered, tokens = answered + count, tokens + used
    per_call = tokens // answered
    assert LIMIT <= tokens <= LIMIT + per_call  # every token of the limit was usable
    await limiter.aclose()
