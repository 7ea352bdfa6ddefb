"""/metrics after known traffic (upstream mocked by respx): the numbers match the calls."""

import asyncio
import time
from collections.abc import AsyncGenerator

import httpx
import pytest
import respx
from prometheus_client import REGISTRY

from routing.metrics import model_labels
from routing.stream_watch import live_streams, new_stream_watch
from tests.gateway.conftest import OPENAI_BASE, OPENAI_KEYS
from tests.observability.conftest import call_labels, delta, scrape, value
from tests.teams.test_usage import REPLY, STREAM


async def _ask(
    http: httpx.AsyncClient, model: str = "gpt-4o", *, stream: bool = False, **headers: str
) -> httpx.Response:
    body = {"model": model, "max_tokens": 5, "stream": stream, "messages": [{"role": "user", "content": "x"}]}
    return await http.post("/v1/messages", json=body, headers=headers)


@respx.mock(assert_all_mocked=False)
async def test_counters_histograms_and_tokens_follow_the_traffic(
    providers: object, gateway_http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions")
    before = await scrape(gateway_http)
    route.respond(json=REPLY)
    for _ in range(3):
        assert (await _ask(gateway_http)).status_code == 200
    route.respond(content=STREAM, headers={"content-type": "text/event-stream"})
    assert (await _ask(gateway_http, stream=True)).status_code == 200
    route.respond(400, json={"error": {"message": "bad request upstream"}})
    assert (await _ask(gateway_http)).status_code == 400
    assert (await gateway_http.post("/v1/messages", content=b"{not json")).status_code == 400
    after = await scrape(gateway_http)

    labels = call_labels()
    assert delta(before, after, "vandamme_requests_total", **labels, status="200") == 4
    assert delta(before, after, "vandamme_requests_total", **labels, status="400") == 1
    assert delta(before, after, "vandamme_errors_total", **labels, type="invalid_request") == 1
    # Refused before routing (invalid JSON): counted with empty labels.
    assert (
        delta(before, after, "vandamme_errors_total", **call_labels("", "", ""), type="invalid_request") == 1
    )
    # Anthropic's input_tokens exclude the cached part: 12 - 2 per call, 7 for the stream.
    assert delta(before, after, "vandamme_tokens_total", **labels, kind="input") == 3 * 10 + 7
    assert delta(before, after, "vandamme_tokens_total", **labels, kind="output") == 3 * 3 + 4
    assert delta(before, after, "vandamme_tokens_total", **labels, kind="cached") == 3 * 2
    assert delta(before, after, "vandamme_request_duration_seconds_count", **labels) == 5
    assert delta(before, after, "vandamme_request_duration_seconds_bucket", **labels, le="+Inf") == 5
    assert delta(before, after, "vandamme_time_to_first_token_seconds_count", **labels) == 1
    assert value(after, "vandamme_active_streams", **labels) == 0
    assert value(after, "vandamme_upstream_keys", provider="mockai", state="healthy") == 2


@respx.mock(assert_all_mocked=False)
async def test_key_state_shows_a_cooling_key(
    providers: object, gateway_http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    def by_key(request: httpx.Request) -> httpx.Response:
        if request.headers["authorization"] == f"Bearer {OPENAI_KEYS[0]}":
            return httpx.Response(
                429, json={"error": {"message": "slow down"}}, headers={"retry-after": "30"}
            )
        return httpx.Response(200, json=REPLY)

    respx_mock.post(f"{OPENAI_BASE}/chat/completions").mock(side_effect=by_key)
    for _ in range(2):  # round robin: one of the two requests starts on the first key
        assert (await _ask(gateway_http)).status_code == 200
    samples = await scrape(gateway_http)
    assert value(samples, "vandamme_upstream_keys", provider="mockai", state="cooling") == 1
    assert value(samples, "vandamme_upstream_keys", provider="mockai", state="healthy") == 1


def _active(provider: str, model: str, team: str) -> float | None:
    labels = {"provider": provider, "model": model, "team": team}
    return REGISTRY.get_sample_value("vandamme_active_streams", labels)


async def test_a_stream_is_active_while_relayed_and_timed_to_its_first_chunk() -> None:
    gate = asyncio.Event()
    accounted: list[tuple[int, int | None]] = []

    async def events() -> AsyncGenerator[bytes, None]:
        yield b""  # nothing for the client yet: not the first token
        await gate.wait()
        yield b"event: message_start\n\n"
        yield b"event: message_stop\n\n"

    watch = new_stream_watch(
        provider="watched",
        model="m",
        team="t",
        started=time.perf_counter(),
        account=lambda usage, status, ttft: accounted.append((status, ttft)),
    )
    relay = watch.relay(events())
    assert await relay.__anext__() == b""
    assert _active("watched", "m", "t") == 1
    assert watch in live_streams
    assert watch.first_chunk_at is None
    gate.set()
    assert [chunk async for chunk in relay] == [b"event: message_start\n\n", b"event: message_stop\n\n"]
    assert watch.ttft_ms is not None
    assert _active("watched", "m", "t") == 0
    assert watch not in live_streams
    watch({"output_tokens": 1}, 200)
    assert accounted == [(200, watch.ttft_ms)]


async def test_a_client_that_leaves_mid_stream_closes_the_generator_and_the_gauge() -> None:
    closed = []

    async def events() -> AsyncGenerator[bytes, None]:
        try:
            yield b"data: 1\n\n"
            await asyncio.sleep(3600)
            yield b"never"
        finally:
            closed.append(True)

    watch = new_stream_watch(provider="left", model="m", team="", started=0.0, account=lambda *args: None)
    relay = watch.relay(events())
    assert await relay.__anext__() == b"data: 1\n\n"
    await relay.aclose()  # what Django does when the client disconnects
    assert closed == [True]
    assert _active("left", "m", "") == 0


@pytest.mark.usefixtures("providers")
@respx.mock(assert_all_mocked=False)
async def test_model_label_cardinality_is_capped(
    gateway_http: httpx.AsyncClient, respx_mock: respx.MockRouter, settings: object
) -> None:
    settings.VANDAMME_METRICS_MAX_MODELS = 2  # type: ignore[attr-defined]
    model_labels._seen.pop("mockai", None)
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=REPLY)
    before = await scrape(gateway_http)
    for name in ("made-up-1", "made-up-2", "made-up-3", "made-up-4"):
        assert (await _ask(gateway_http, name)).status_code == 200
    after = await scrape(gateway_http)
    model_labels._seen.pop("mockai", None)
    assert (
        delta(before, after, "vandamme_requests_total", **call_labels(model="made-up-2"), status="200") == 1
    )
    assert value(after, "vandamme_requests_total", **call_labels(model="made-up-3"), status="200") == 0
    assert delta(before, after, "vandamme_requests_total", **call_labels(model="other"), status="200") == 2


@respx.mock(assert_all_mocked=False)
async def test_the_openai_door_feeds_the_same_metrics(
    providers: object, gateway_http: httpx.AsyncClient, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions")
    before = await scrape(gateway_http)
    route.respond(json=REPLY)
    body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "x"}]}
    assert (await gateway_http.post("/v1/chat/completions", json=body)).status_code == 200
    route.respond(content=STREAM, headers={"content-type": "text/event-stream"})
    streamed = await gateway_http.post(
        "/v1/chat/completions", json={**body, "stream": True, "stream_options": {"include_usage": True}}
    )
    assert streamed.status_code == 200
    assert streamed.headers["x-request-id"]
    after = await scrape(gateway_http)
    labels = call_labels()
    assert delta(before, after, "vandamme_requests_total", **labels, status="200") == 2
    assert delta(before, after, "vandamme_time_to_first_token_seconds_count", **labels) == 1
    assert delta(before, after, "vandamme_tokens_total", **labels, kind="output") == 3 + 4
    assert value(after, "vandamme_active_streams", **labels) == 0
