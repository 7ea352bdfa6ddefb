"""Money budgets at the front doors and in the Limiter: the official SDKs → ASGI app →
respx upstream. A team or gateway key over its spend budget gets a 429 in its client's
dialect naming the budget and its reset, before any upstream call; the counter is seeded
from the usage rows' ``cost_usd`` (the team's, or the key's by ``key_id``); admission
reserves the estimated cost from the snapshot's prices (a fake ``PriceTable`` here)."""

import asyncio
import dataclasses
import logging
import time
from collections.abc import AsyncIterator, Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, cast

import anthropic
import httpx
import httpx2
import openai
import pytest
import respx
from asgiref.sync import sync_to_async

from pricing.costs import Cost, TokenUsage, UnitPrices
from routing import snapshot
from routing.auth import ClientAuth
from routing.errors import GatewayError
from routing.limits.service import limiter
from routing.limits.windows import budget_period
from routing.table import ProviderConfig, RoutingTable, SpendBudget, TeamConfig
from teams.models import GatewayKey, Team, UsageRecord
from teams.services import gateway_key_create
from tests.gateway.conftest import OPENAI_BASE
from tests.integration.gateway import free_port
from tests.redis_server import RedisServer
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")
logger = logging.getLogger(__name__)

REPLY = {
    "id": "c",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3},
}
MESSAGES: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hi"}]
UNPRICED_MODEL = "house-model-7b"  # in no price table: genai-prices prices gpt-4o on any provider


class FakePrices:
    """$1 per million input tokens and $2 per million output, for every model."""

    def __init__(self, input_usd: str = "0.000001", output_usd: str = "0.000002") -> None:
        self.units = UnitPrices(Decimal(input_usd), Decimal(output_usd))

    def unit_prices(self, provider: ProviderConfig, model: str, at: datetime) -> UnitPrices:
        return self.units

    def cost(self, provider: ProviderConfig, model: str, usage: TokenUsage, at: datetime) -> Cost:
        usd = usage.input_tokens * self.units.input_usd + usage.output_tokens * self.units.output_usd
        return Cost(usd, "fake")


@pytest.fixture
def prices(monkeypatch: pytest.MonkeyPatch) -> Callable[..., FakePrices]:
    """The snapshot carries the fake price table (as helper A's loader will a real one)."""
    real_build = snapshot.build_routing_table

    def install(**units: str) -> FakePrices:
        table = FakePrices(**units)

        def build() -> RoutingTable:
            return dataclasses.replace(real_build(), prices=table)

        monkeypatch.setattr(snapshot, "build_routing_table", build)
        snapshot.routing_snapshot.clear()
        return table

    return install


@pytest.fixture
def upstream(respx_mock: respx.MockRouter) -> respx.Route:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions")
    route.side_effect = lambda request: httpx.Response(200, json=REPLY)
    return route


@pytest.fixture
def respx_mock() -> AsyncIterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
        yield router


def _anthropic(key: str) -> anthropic.AsyncAnthropic:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application))
    return anthropic.AsyncAnthropic(api_key=key, base_url="http://gw", http_client=http, max_retries=0)


def _openai(key: str) -> openai.AsyncOpenAI:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application))
    return openai.AsyncOpenAI(api_key=key, base_url="http://gw/v1", http_client=http, max_retries=0)


def _team_with_spend(cost: str, **fields: Any) -> tuple[Team, str]:
    """A team and a key whose usage this period already cost ``cost`` dollars."""
    team = Team.objects.create(name="core", **fields)
    key = gateway_key_create(team=team)[1]
    UsageRecord.objects.create(
        team=team, team_name="core", provider="p", model_requested="m", model_served="m", status=200,
        cost_usd=Decimal(cost), key_id=team.keys.get().pk, created_at=datetime.now(UTC),
    )  # fmt: skip
    return team, key


def _reset_at(period: str) -> str:
    end = budget_period(time.time(), period).end
    return datetime.fromtimestamp(end, tz=UTC).strftime("%Y-%m-%d %H:%M UTC")


async def test_a_spent_team_gets_an_anthropic_429_naming_its_budget_and_reset(upstream: respx.Route) -> None:
    _, key = await sync_to_async(_team_with_spend)(
        "10.02", spend_budget_usd=Decimal(10), spend_budget_period="month"
    )
    async with _anthropic(key) as sdk:
        with pytest.raises(anthropic.RateLimitError) as caught:
            await sdk.messages.create(model="gpt-4o", max_tokens=5, messages=MESSAGES)
    body = cast(dict[str, Any], caught.value.body)
    assert body["error"]["type"] == "rate_limit_error"
    assert body["error"]["message"].startswith(
        "rate limit exceeded: team 'core' has spent $10.02 of its $10.00 budget per month "
        f"(the budget resets at {_reset_at('month')})"
    )
    end = budget_period(time.time(), "month").end
    assert abs(int(caught.value.response.headers["retry-after"]) - (end - time.time())) <= 2
    assert upstream.call_count == 0


async def test_a_spent_key_gets_an_openai_429_and_the_teams_other_key_still_goes(
    upstream: respx.Route,
) -> None:
    team, key = await sync_to_async(_team_with_spend)("1.5")  # the team has no budget of its own
    await GatewayKey.objects.filter(team=team).aupdate(spend_budget_usd=Decimal(1), spend_budget_period="day")
    prefix = (await GatewayKey.objects.aget(team=team)).prefix
    _, other = await sync_to_async(gateway_key_create)(team=team)
    snapshot.routing_snapshot.clear()  # update() sends no signal
    async with _openai(key) as sdk:
        with pytest.raises(openai.RateLimitError) as caught:
            await sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    error = cast(dict[str, Any], caught.value.body)
    assert error["code"] == "rate_limit_exceeded"
    assert error["message"].startswith(
        f"rate limit exceeded: gateway key {prefix}… has spent $1.50 of its $1.00 budget per day "
        f"(the budget resets at {_reset_at('day')})"
    )
    assert 1 <= int(caught.value.response.headers["retry-after"]) <= 86_400
    async with _openai(other) as sdk:  # seeded from its own rows (key_id): none
        await sdk.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": "hi"}])
    assert upstream.call_count == 1


async def test_only_this_periods_priced_rows_seed_the_budget(upstream: respx.Route) -> None:
    team, key = await sync_to_async(_team_with_spend)(
        "0.5", spend_budget_usd=Decimal(1), spend_budget_period="month"
    )
    start = datetime.fromtimestamp(budget_period(time.time(), "month").start, tz=UTC)
    rows = [(start - timedelta(seconds=1), Decimal(100)), (start + timedelta(seconds=1), None)]
    for created_at, cost in rows:  # last month's, and an unpriced call's (nothing to charge)
        await UsageRecord.objects.acreate(
            created_at=created_at, team=team, provider="p", model_requested="m", model_served="m",
            status=200, cost_usd=cost, unpriced=cost is None,
        )  # fmt: skip
    async with _anthropic(key) as sdk:
        await sdk.messages.create(model="gpt-4o", max_tokens=5, messages=MESSAGES)  # $0.50 < $1
    assert upstream.call_count == 1


async def test_a_reservation_holds_the_budget_while_a_call_is_in_flight(
    respx_mock: respx.MockRouter, prices: Callable[..., FakePrices]
) -> None:
    """Admission reserves the estimate at the resolved model's prices: with one slow call
    in flight whose estimate fills the budget, the next is refused before its upstream."""
    prices(input_usd="0.01", output_usd="0.01")  # ~$0.30: ~25 tokens of body, 5 of answer

    async def slow(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0.3)
        return httpx.Response(200, json=REPLY)

    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions")
    route.side_effect = slow
    _, key = await sync_to_async(_team_with_spend)("0", spend_budget_usd=Decimal("0.05"))
    async with _anthropic(key) as sdk:

        async def ask() -> int:
            try:
                await sdk.messages.create(model="gpt-4o", max_tokens=5, messages=MESSAGES)
            except anthropic.RateLimitError:
                return 429
            return 200

        first = asyncio.ensure_future(ask())
        await asyncio.sleep(0.1)  # admitted, upstream in flight
        assert await ask() == 429
        assert await first == 200
    assert route.call_count == 1


async def test_an_unpriced_model_reserves_nothing(upstream: respx.Route) -> None:
    """No price table (or no price for the model): nothing is reserved or charged, so
    calls go while the budget has room."""
    _, key = await sync_to_async(_team_with_spend)("0", spend_budget_usd=Decimal("0.0001"))
    async with _anthropic(key) as sdk:
        await asyncio.gather(
            *(sdk.messages.create(model=UNPRICED_MODEL, max_tokens=5, messages=MESSAGES) for _ in range(5))
        )
    assert upstream.call_count == 5


async def test_no_query_per_request_once_the_spend_budgets_are_seeded(
    upstream: respx.Route, prices: Callable[..., FakePrices], query_log: list[str], settings: object
) -> None:
    settings.VANDAMME_SNAPSHOT_TTL = 3600  # type: ignore[attr-defined]
    prices()
    team, key = await sync_to_async(_team_with_spend)("0", spend_budget_usd=Decimal(100))
    await GatewayKey.objects.filter(team=team).aupdate(spend_budget_usd=Decimal(50))
    snapshot.routing_snapshot.clear()
    async with _anthropic(key) as sdk:
        await sdk.messages.create(model="gpt-4o", max_tokens=5, messages=MESSAGES)  # seeds both budgets
        assert sum("SUM" in statement.upper() for statement in query_log) == 2
        query_log.clear()
        for _ in range(5):
            await sdk.messages.create(model="gpt-4o", max_tokens=5, messages=MESSAGES)
    assert query_log == []


# The Limiter alone, as the proxy drives it: admit with the estimate, answer later, settle
# with the recorded cost. Many calls at once against a $1 budget, memory and Redis.
BUDGET = Decimal(1)
ESTIMATE_NANOS = 40_000_000  # $0.04 reserved per call


@pytest.fixture(params=["memory", "redis"])
async def store(request: pytest.FixtureRequest, settings: Any) -> AsyncIterator[str]:
    if request.param == "redis":
        server: RedisServer = request.getfixturevalue("redis_server")
        with server.client() as client:
            client.flushall()
        settings.VANDAMME_LIMITS_REDIS_URL = server.url
        settings.VANDAMME_LIMITS_REDIS_TIMEOUT = settings.VANDAMME_REDIS_TIMEOUT = 2.0
    yield str(request.param)
    await limiter.aclose()


async def _spend_burst(auth: ClientAuth, clients: int, cost: Decimal) -> tuple[int, Decimal]:
    """``clients`` calls at once, each costing ``cost``: (calls admitted, what they cost)."""

    async def one() -> Decimal:
        try:
            reservation = await limiter.admit(auth, reserve=100, spend=lambda: ESTIMATE_NANOS)
        except GatewayError as refused:
            return Decimal(-refused.status)
        await asyncio.sleep(0.05)  # the upstream answering
        limiter.count(auth, 100, time.time(), reservation, cost_usd=cost)
        return cost

    costs = await asyncio.gather(*(one() for _ in range(clients)))
    await limiter.store().flush()
    assert all(c >= 0 or c == -429 for c in costs)
    admitted = [c for c in costs if c >= 0]
    return len(admitted), sum(admitted, Decimal(0))


@pytest.mark.parametrize(("clients", "cost"), [(50, "0.03"), (200, "0.03"), (200, "0.05")])
async def test_a_spend_budget_is_overshot_by_about_one_call_at_concurrency(
    store: str, clients: int, cost: str
) -> None:
    """Waves of ``clients`` calls at once until the budget refuses a whole wave. A cost at
    or under the estimate: at most the budget plus one call, and all of it usable. Over
    it (0.05 > 0.04): plus what the estimates of the calls in flight fell short."""
    team = await Team.objects.acreate(name="burst", spend_budget_usd=BUDGET, spend_budget_period="day")
    config = TeamConfig("burst", team_id=team.pk, spend_budget=SpendBudget(BUDGET, "day"))
    auth = ClientAuth(team=config, key_id=None)
    admitted, spent, waves = 0, Decimal(0), 0
    while waves < 20:
        count, used = await _spend_burst(auth, clients, Decimal(cost))
        admitted, spent, waves = admitted + count, spent + used, waves + 1
        if not count:
            break
    logger.warning(
        f"{store}, {clients} clients a wave, ${cost} a call, $1 budget: "
        f"{admitted} admitted in {waves} waves, ${spent}"
    )
    per_call, estimate = Decimal(cost), Decimal(ESTIMATE_NANOS) / 10**9
    in_flight = -(-BUDGET // estimate)  # the most estimates the budget holds at once
    assert BUDGET - per_call <= spent <= BUDGET + per_call + in_flight * max(per_call - estimate, Decimal(0))


async def test_with_redis_away_the_budget_is_held_in_process_seeded_from_the_usage_rows(
    upstream: respx.Route, settings: Any
) -> None:
    settings.VANDAMME_LIMITS_REDIS_URL = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens
    settings.VANDAMME_LIMITS_REDIS_TIMEOUT = 0.2
    _, key = await sync_to_async(_team_with_spend)("1.5", spend_budget_usd=Decimal(1))
    async with _anthropic(key) as sdk:
        with pytest.raises(anthropic.RateLimitError) as caught:
            await sdk.messages.create(model="gpt-4o", max_tokens=5, messages=MESSAGES)
    assert "team 'core' has spent $1.50 of its $1.00 budget per month" in str(caught.value.body)
    assert upstream.call_count == 0
    await limiter.aclose()
