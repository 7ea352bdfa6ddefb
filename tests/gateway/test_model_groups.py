"""Model groups end to end through the real ASGI application, upstreams mocked by respx:
the weights hold, lowest-latency leaves a slow deployment and comes back, a breaker opens
on faults and closes after recovery, a conversation stays on its deployment."""

import asyncio
import json
import time
from collections import Counter
from collections.abc import Callable

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async

from aliases.models import Alias
from routing.groups.breaker import BreakerPolicy
from routing.groups.state import group_router
from tests.gateway.chat_helpers import post_chat
from tests.gateway.conftest import make_provider
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")

BASES = {"east": "http://east.upstream.test/v1", "west": "http://west.upstream.test/v1"}


def reply(cached: int = 0, prompt: int = 100) -> dict[str, object]:
    return {
        "id": "c",
        "object": "chat.completion",
        "model": "gpt-4o",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
        "usage": {
            "prompt_tokens": prompt,
            "completion_tokens": 1,
            "total_tokens": prompt + 1,
            "prompt_tokens_details": {"cached_tokens": cached},
        },
    }


async def make_group(strategy: str = "weighted-random", **weights: float) -> None:
    for name, base in BASES.items():
        await sync_to_async(make_provider)(
            name, base_url=base, keys=(f"sk-test-{name}-key-0123456789",), max_retries=0
        )
    targets = [{"target": f"{name}:gpt-4o", "weight": weights.get(name, 1)} for name in BASES]
    await sync_to_async(Alias.objects.create)(name="gpt", targets=targets, strategy=strategy)


def served(response: httpx.Response) -> str:
    assert response.status_code == 200, response.text
    return response.headers["x-vandamme-provider"]


async def ask(messages: list[dict[str, str]] | None = None, **headers: str) -> httpx.Response:
    body = {"model": "gpt", "max_tokens": 5, "messages": messages or [{"role": "user", "content": "x"}]}
    return await post_chat(body, **headers)


@respx.mock(assert_all_mocked=False)
async def test_the_weights_hold_through_the_gateway(respx_mock: respx.MockRouter) -> None:
    await make_group(east=3, west=1)
    for base in BASES.values():
        respx_mock.post(f"{base}/chat/completions").respond(json=reply())
    # Each call its own conversation (one opening would keep them all on one deployment).
    picks = Counter([served(await ask([{"role": "user", "content": f"q{i}"}])) for i in range(400)])
    # 400 calls: the share's standard deviation is 0.022; 0.1 is 4.6 of them.
    assert abs(picks["east"] / 400 - 0.75) < 0.1, picks


@respx.mock(assert_all_mocked=False)
async def test_lowest_latency_leaves_a_slow_deployment_and_comes_back(
    respx_mock: respx.MockRouter, settings: object
) -> None:
    await make_group("lowest-latency")
    delays = {"east": 0.0, "west": 0.0}

    def slow(name: str) -> Callable[[httpx.Request], object]:
        async def answer(request: httpx.Request) -> httpx.Response:
            await asyncio.sleep(delays[name])
            return httpx.Response(200, json=reply())

        return answer

    for name, base in BASES.items():
        respx_mock.post(f"{base}/chat/completions").mock(side_effect=slow(name))
    settings.VANDAMME_GROUP_AFFINITY = False  # type: ignore[attr-defined]  # latency alone decides
    for _ in range(6):  # both measured
        await ask()
    delays["east"] = 0.2
    picks = [served(await ask()) for _ in range(10)]
    # Within 3 requests traffic is off east (each east answer adds 30 % of 0.2 s to its EWMA).
    assert "east" not in picks[3:], picks
    delays["east"] = 0.0
    delays["west"] = 0.2
    back = [served(await ask()) for _ in range(10)]
    assert "west" not in back[3:], back
    assert "east" in back


@respx.mock(assert_all_mocked=False)
async def test_a_breaker_opens_on_faults_skips_the_deployment_and_closes_after_recovery(
    respx_mock: respx.MockRouter,
) -> None:
    group_router.reset(BreakerPolicy(failures=3, window=60, cooldown=0.3))
    await make_group(east=1000, west=1)  # east first whenever it is available
    east = respx_mock.post(f"{BASES['east']}/chat/completions").respond(
        503, json={"error": {"message": "down"}}
    )
    west = respx_mock.post(f"{BASES['west']}/chat/completions").respond(json=reply())
    fresh = iter(range(100))  # each call a new conversation: no affinity pin keeps it on west

    async def ask_fresh() -> httpx.Response:
        return await ask([{"role": "user", "content": f"q{next(fresh)}"}])

    assert [served(await ask_fresh()) for _ in range(3)] == ["west"] * 3  # east failed, west served
    assert group_router.breaker_states()["east:gpt-4o"] == "open"
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        metrics = (await http.get("/metrics")).text
    assert 'vandamme_group_breaker_state{deployment="east:gpt-4o"} 3.0' in metrics
    assert 'vandamme_group_ttft_ewma_seconds{deployment="west:gpt-4o"}' in metrics
    calls = east.call_count
    for _ in range(5):
        assert served(await ask_fresh()) == "west"
    assert east.call_count == calls  # open: not even tried
    east.respond(json=reply())  # east recovers
    await asyncio.sleep(0.35)  # the cooldown: half-open, one probe
    assert served(await ask_fresh()) == "east"
    assert group_router.breaker_states()["east:gpt-4o"] == "closed"
    assert west.call_count == 8


@respx.mock(assert_all_mocked=False)
async def test_every_target_open_is_a_503_with_retry_after(respx_mock: respx.MockRouter) -> None:
    group_router.reset(BreakerPolicy(failures=1, window=60, cooldown=30))
    await make_group()
    for base in BASES.values():
        respx_mock.post(f"{base}/chat/completions").respond(502, json={"error": {"message": "down"}})
    await ask()
    response = await ask()
    assert response.status_code == 503
    assert "every target of model group 'gpt' is unavailable" in response.json()["error"]["message"]
    assert 1 <= int(response.headers["retry-after"]) <= 30


def caching_upstream(respx_mock: respx.MockRouter, down: set[str]) -> Counter[str]:
    """Each deployment caches the prefixes it has seen: a turn's prompt is cached as far
    as this deployment saw the conversation before (what prompt caching does)."""
    seen: dict[str, set[str]] = {name: set() for name in BASES}
    calls: Counter[str] = Counter()

    def deployment(name: str) -> Callable[[httpx.Request], httpx.Response]:
        def answer(request: httpx.Request) -> httpx.Response:
            calls[name] += 1
            if name in down:
                return httpx.Response(503, json={"error": {"message": "down"}})
            messages = json.loads(request.content)["messages"]
            earlier = messages[:-2]  # the previous turn's prompt (before its answer and this message)
            cached = 100 * len(earlier) if earlier and json.dumps(earlier) in seen[name] else 0
            seen[name].add(json.dumps(messages))
            return httpx.Response(200, json=reply(cached=cached, prompt=100 * len(messages)))

        return answer

    for name, base in BASES.items():
        respx_mock.post(f"{base}/chat/completions").mock(side_effect=deployment(name))
    return calls


async def conversation(turns: int, tag: str = "", **headers: str) -> tuple[list[str], float]:
    """A conversation of ``turns`` turns (``tag`` in every message: conversations with
    different tags share no prefix): who served each, and the cached share of its prompts."""
    messages: list[dict[str, str]] = []
    servers, cached, prompt = [], 0, 0
    for turn in range(turns):
        messages = [*messages, {"role": "user", "content": f"{tag} turn {turn}"}]
        response = await ask(messages, **headers)
        servers.append(served(response))
        usage = response.json()["usage"]
        cached += usage["prompt_tokens_details"]["cached_tokens"]
        prompt += usage["prompt_tokens"]
        messages = [*messages, {"role": "assistant", "content": "ok"}]
    return servers, cached / prompt


@respx.mock(assert_all_mocked=False)
async def test_a_conversation_stays_on_its_deployment_and_moves_only_when_it_fails(
    respx_mock: respx.MockRouter,
) -> None:
    await make_group()
    down: set[str] = set()
    caching_upstream(respx_mock, down)
    servers, _ = await conversation(20, **{"x-claude-code-session-id": "session-a"})
    assert len(set(servers)) == 1, servers
    home = servers[0]
    other = next(name for name in BASES if name != home)
    down.add(home)
    moved, _ = await conversation(3, **{"x-claude-code-session-id": "session-a"})
    assert moved == [other] * 3
    down.clear()  # the old home recovers: the conversation stays where it moved
    stayed, _ = await conversation(3, **{"x-claude-code-session-id": "session-a"})
    assert stayed == [other] * 3


@pytest.mark.parametrize("affinity", [True, False])
@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_cached_token_share_with_affinity_on_and_off(
    respx_mock: respx.MockRouter, settings: object, affinity: bool
) -> None:
    """Measured: 20 turns over two equal deployments, 100 tokens a message. With affinity
    every turn after the first reads the previous turn's prompt from cache: 361 of 400
    prompt tokens (0.9025); without, only turns that land where the previous one went do
    (about half: 0.45 expected; 0.6 leaves room for chance over 10 conversations)."""
    settings.VANDAMME_GROUP_AFFINITY = affinity  # type: ignore[attr-defined]
    await make_group()
    caching_upstream(respx_mock, set())
    shares = [
        (await conversation(20, f"c{n}"))[1] for n in range(10)
    ]  # no session header: the opening's hash
    mean = sum(shares) / len(shares)
    if affinity:
        assert mean == pytest.approx(361 / 400)
    else:
        assert mean < 0.6, shares  # measured 0.40 (0.30–0.50 per conversation)


@respx.mock(assert_all_mocked=False)
async def test_capacity_aware_keeps_a_deployment_under_its_rpm(respx_mock: respx.MockRouter) -> None:
    if time.time() % 60 > 55:  # the counts are per calendar minute: do not straddle one
        await asyncio.sleep(60 - time.time() % 60)
    for name, base in BASES.items():
        await sync_to_async(make_provider)(
            name, base_url=base, keys=(f"sk-test-{name}-key-0123456789",), max_retries=0
        )
    targets = [{"target": "east:gpt-4o", "weight": 1000, "rpm": 5}, {"target": "west:gpt-4o", "weight": 1}]
    await sync_to_async(Alias.objects.create)(name="gpt", targets=targets, strategy="capacity-aware")
    for base in BASES.values():
        respx_mock.post(f"{base}/chat/completions").respond(json=reply())
    picks = [served(await ask([{"role": "user", "content": f"q{i}"}])) for i in range(8)]
    assert picks == ["east"] * 5 + ["west"] * 3


@pytest.mark.parametrize("checks", [0.0, 0.05])
@respx.mock(assert_all_mocked=False, assert_all_called=False)
async def test_active_health_checks_bring_a_target_back_only_when_on(
    respx_mock: respx.MockRouter, settings: object, checks: float
) -> None:
    settings.VANDAMME_GROUP_HEALTH_CHECK_SECONDS = checks  # type: ignore[attr-defined]
    group_router.reset(BreakerPolicy(failures=1, window=60, cooldown=0.1))
    await make_group(east=1000, west=1)
    east = respx_mock.post(f"{BASES['east']}/chat/completions").respond(
        502, json={"error": {"message": "down"}}
    )
    respx_mock.post(f"{BASES['west']}/chat/completions").respond(json=reply())
    assert served(await ask()) == "west"  # east failed once: open
    east.respond(json=reply())  # recovered; no client asks for a while
    await asyncio.sleep(0.4)
    if checks:
        assert group_router.breaker_state("east:gpt-4o") == "closed"
        assert json.loads(east.calls.last.request.content)["max_tokens"] == 1  # the cheap check
    else:
        assert group_router.breaker_state("east:gpt-4o") == "half-open"  # waits for a client's probe
        assert east.call_count == 1
