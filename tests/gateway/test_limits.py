"""Team and key limits at the front door: the official anthropic SDK → ASGI app → respx
upstream. Over a limit is a 429 in the client's dialect with ``retry-after``, before
any upstream call; a budget survives a restart through the usage table."""

import asyncio
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import anthropic
import httpx
import httpx2
import pytest
import respx
from asgiref.sync import sync_to_async

from routing.auth import authenticate
from routing.calls import ProxyCall, json_response, serve_with_fallbacks
from routing.errors import GatewayError, anthropic_error_body, openai_error_body
from routing.limits.service import limiter
from routing.limits.windows import budget_period
from routing.resolution import Resolution
from routing.snapshot import routing_snapshot
from routing.usage import usage_recorder
from teams.models import GatewayKey, Team, UsageRecord
from teams.services import gateway_key_create
from tests.gateway.conftest import OPENAI_BASE
from tests.redis_server import RedisServer
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")

REPLY = {
    "id": "c",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3},
}
STREAM = (
    b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":"stop"}]}\n\n'
    b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":4}}\n\n'
    b"data: [DONE]\n\n"
)
MESSAGES: list[anthropic.types.MessageParam] = [{"role": "user", "content": "hi"}]


def _reply(request: httpx.Request) -> httpx.Response:
    if json.loads(request.content).get("stream"):
        return httpx.Response(200, content=STREAM, headers={"content-type": "text/event-stream"})
    return httpx.Response(200, json=REPLY)


@pytest.fixture
def upstream(respx_mock: respx.MockRouter) -> respx.Route:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions")
    route.side_effect = _reply
    return route


@pytest.fixture
def respx_mock() -> AsyncIterator[respx.MockRouter]:
    with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
        yield router


def _sdk(key: str) -> anthropic.AsyncAnthropic:
    http = httpx2.AsyncClient(transport=httpx2.ASGITransport(app=application))
    return anthropic.AsyncAnthropic(api_key=key, base_url="http://gw", http_client=http, max_retries=0)


def _team(**limits: Any) -> tuple[Team, str]:
    team = Team.objects.create(name="core", **limits)
    return team, gateway_key_create(team=team)[1]


async def _ask(sdk: anthropic.AsyncAnthropic, *, stream: bool = False) -> None:
    if stream:
        async with sdk.messages.stream(model="gpt-4o", max_tokens=5, messages=MESSAGES) as events:
            await events.get_final_message()
        return
    await sdk.messages.create(model="gpt-4o", max_tokens=5, messages=MESSAGES)


async def _refused(sdk: anthropic.AsyncAnthropic) -> anthropic.RateLimitError:
    with pytest.raises(anthropic.RateLimitError) as caught:
        await _ask(sdk)
    return caught.value


def _message(refused: anthropic.RateLimitError) -> str:
    body = cast(dict[str, Any], refused.body)
    assert body["type"] == "error"
    assert body["error"]["type"] == "rate_limit_error"
    return str(body["error"]["message"])


async def test_a_team_over_its_requests_per_minute_gets_429_in_anthropic_format(
    upstream: respx.Route,
) -> None:
    _, key = await sync_to_async(_team)(requests_per_minute=3)
    async with _sdk(key) as sdk:
        for _ in range(3):
            await _ask(sdk)
        refused = await _refused(sdk)
    assert refused.status_code == 429
    assert set(cast(dict[str, Any], refused.body)) == {"type", "error"}
    assert "team 'core' allows 3 requests per minute" in _message(refused)
    assert 1 <= int(refused.response.headers["retry-after"]) <= 60
    assert upstream.call_count == 3  # the refused call never reached the upstream


async def test_a_keys_own_limit_applies_in_addition_to_its_teams(upstream: respx.Route) -> None:
    team, limited = await sync_to_async(_team)(requests_per_minute=10)
    await GatewayKey.objects.filter(team=team).aupdate(requests_per_minute=1)
    _, other = await sync_to_async(gateway_key_create)(team=team)
    routing_snapshot.clear()  # update() sends no signal
    async with _sdk(limited) as sdk:
        await _ask(sdk)
        refused = await _refused(sdk)
    assert "gateway key vdm-" in _message(refused)
    assert "allows 1 requests per minute" in _message(refused)
    async with _sdk(other) as sdk:
        await _ask(sdk)  # the team has room; only the first key is full


async def test_tokens_per_minute_count_streamed_and_whole_answers(upstream: respx.Route) -> None:
    _, key = await sync_to_async(_team)(tokens_per_minute=20)
    async with _sdk(key) as sdk:
        await _ask(sdk)  # 12 + 3 = 15 tokens, counted after the answer
        await _ask(sdk, stream=True)  # 15 < 20: may go; 7 + 4 more
        refused = await _refused(sdk)  # 26 ≥ 20
    assert "allows 20 tokens per minute" in _message(refused)
    assert upstream.call_count == 2


async def test_a_budget_survives_a_restart_through_the_usage_table(upstream: respx.Route) -> None:
    _, key = await sync_to_async(_team)(token_budget=40, budget_period="day")
    async with _sdk(key) as sdk:
        await _ask(sdk)
        await _ask(sdk)  # 30 tokens spent
        await usage_recorder.flush()
        limiter.reset()  # a restarted gateway: no counter in memory
        await _ask(sdk)  # seeded with 30 from the usage table: 30 < 40
        refused = await _refused(sdk)  # 45 ≥ 40
    message = _message(refused)
    assert "team 'core' has used 45 of its 40 tokens per day" in message
    end = budget_period(time.time(), "day").end
    assert abs(int(refused.response.headers["retry-after"]) - (end - time.time())) <= 2
    assert upstream.call_count == 3


async def test_only_the_current_period_counts_toward_the_budget(upstream: respx.Route) -> None:
    team, key = await sync_to_async(_team)(token_budget=100, budget_period="month")
    start = datetime.fromtimestamp(budget_period(time.time(), "month").start, tz=UTC)
    rows = [(start - timedelta(seconds=1), 5000), (start + timedelta(seconds=1), 99)]
    for created_at, tokens in rows:
        await UsageRecord.objects.acreate(
            created_at=created_at, team=team, provider="p", model_requested="m", model_served="m",
            input_tokens=tokens, status=200,
        )  # fmt: skip
    async with _sdk(key) as sdk:
        await _ask(sdk)  # last month's 5000 do not count: 99 < 100
        await _refused(sdk)


async def test_the_gateways_own_key_is_not_limited(upstream: respx.Route, settings: object) -> None:
    settings.PROXY_API_KEY = "single-user-key"  # type: ignore[attr-defined]
    await sync_to_async(_team)(requests_per_minute=1, token_budget=1)
    async with _sdk("single-user-key") as sdk:
        for _ in range(5):
            await _ask(sdk)


async def test_refused_calls_are_recorded_as_429(upstream: respx.Route) -> None:
    team, key = await sync_to_async(_team)(requests_per_minute=1)
    async with _sdk(key) as sdk:
        await _ask(sdk)
        await _refused(sdk)
    await usage_recorder.flush()
    statuses = [r.status async for r in UsageRecord.objects.filter(team=team).order_by("created_at")]
    assert statuses == [200, 429]


async def test_no_query_per_request_once_the_budget_is_seeded(
    upstream: respx.Route, query_log: list[str], settings: object
) -> None:
    settings.VANDAMME_SNAPSHOT_TTL = 3600  # type: ignore[attr-defined]
    _, key = await sync_to_async(_team)(requests_per_minute=100, tokens_per_minute=10_000, token_budget=10**6)
    async with _sdk(key) as sdk:
        await _ask(sdk)  # warms the snapshot and seeds the budget (one query)
        assert any("SUM" in statement.upper() for statement in query_log)
        query_log.clear()
        for stream in (False, True) * 5:
            await _ask(sdk, stream=stream)
    assert query_log == []


async def test_concurrent_first_calls_share_one_seed_query(
    upstream: respx.Route, query_log: list[str]
) -> None:
    _, key = await sync_to_async(_team)(token_budget=10**6)
    async with _sdk(key) as sdk:
        await sdk.models.list()  # warms the snapshot
        query_log.clear()
        await asyncio.gather(*(_ask(sdk) for _ in range(10)))
    assert sum("SUM" in statement.upper() for statement in query_log) == 1


async def test_limits_hold_in_redis(upstream: respx.Route, limits_in_redis: RedisServer) -> None:
    team, key = await sync_to_async(_team)(requests_per_minute=2, token_budget=10**6)
    async with _sdk(key) as sdk:
        await _ask(sdk)
        await _ask(sdk)
        refused = await _refused(sdk)
    assert 1 <= int(refused.response.headers["retry-after"]) <= 60
    await limiter.store().flush()
    with limits_in_redis.client() as client:
        requests = client.hgetall(f"vdm:limits:{{t{team.pk}}}:rpm")
        assert sum(int(count) for count in requests.values()) == 2  # the refused call is not counted
        budget_key = next(iter(client.scan_iter(f"vdm:limits:{{t{team.pk}}}:budget:*")))
        assert client.hget(budget_key, "spent") == "30"


async def test_the_refusal_comes_from_the_shared_call_path_in_either_dialect() -> None:
    """The OpenAI door calls ``serve_with_fallbacks`` too: the same 429 ``GatewayError``
    leaves there as OpenAI error JSON with the same ``retry-after``."""
    _, key = await sync_to_async(_team)(requests_per_minute=1)
    table = await routing_snapshot.get()
    auth = authenticate({"authorization": f"Bearer {key}"}, table)

    async def dispatch(call: ProxyCall, resolution: Resolution) -> Any:
        return json_response({"served": resolution.provider.name})

    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]}
    assert (await serve_with_fallbacks(ProxyCall(body, {}, auth, table), dispatch)).status_code == 200
    with pytest.raises(GatewayError) as caught:
        await serve_with_fallbacks(ProxyCall(body, {}, auth, table), dispatch)
    error = caught.value
    assert error.status == 429
    assert 1 <= int(error.headers["retry-after"]) <= 60
    assert anthropic_error_body(error)["error"]["type"] == "rate_limit_error"
    # OpenAI's own shape: the limited resource as the type, rate_limit_exceeded as the code.
    assert openai_error_body(error)["error"]["type"] == "requests"
    assert openai_error_body(error)["error"]["code"] == "rate_limit_exceeded"
