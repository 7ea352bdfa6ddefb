"""The cost of every call: on its usage record, in ``x-vandamme-cost-usd`` on whole answers
of all three doors, in the access line and in the metrics; cache writes and reasoning
counted, overrides winning, unknown models unpriced (never 0), failures with no usage 0."""

import json
import logging
from decimal import Decimal

import httpx
import pytest
import respx
from asgiref.sync import sync_to_async
from genai_prices import Usage, calc_price

from pricing.models import PriceOverride
from routing.call_cost import COST_HEADER
from routing.usage import UsageEvent
from tests.gateway.conftest import ANTHROPIC_BASE, OPENAI_BASE
from tests.observability.conftest import delta, scrape

pytestmark = pytest.mark.usefixtures("providers")

OPENAI_REPLY = {
    "id": "c",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o",
    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}],
    "usage": {
        "prompt_tokens": 5_000,
        "completion_tokens": 900,
        "total_tokens": 5_900,
        "prompt_tokens_details": {"cached_tokens": 3_000},
        "completion_tokens_details": {"reasoning_tokens": 600},
    },
}
ANTHROPIC_REPLY = {
    "id": "msg_1",
    "type": "message",
    "role": "assistant",
    "model": "claude-sonnet-4-5",
    "content": [{"type": "text", "text": "ok"}],
    "stop_reason": "end_turn",
    "stop_sequence": None,
    "usage": {
        "input_tokens": 40,
        "output_tokens": 250,
        "cache_read_input_tokens": 8_000,
        "cache_creation_input_tokens": 2_000,
    },
}


def expected(model: str, provider_id: str, *, plain: int, cached: int, written: int, output: int) -> Decimal:
    usage = Usage(
        input_tokens=plain + cached + written,
        output_tokens=output,
        cache_read_tokens=cached,
        cache_write_tokens=written,
    )
    return calc_price(usage, model, provider_id=provider_id).total_price


def messages_body(model: str, *, stream: bool = False) -> dict[str, object]:
    return {
        "model": model,
        "max_tokens": 50,
        "stream": stream,
        "messages": [{"role": "user", "content": "x"}],
    }


def chat_body(model: str) -> dict[str, object]:
    return {"model": model, "messages": [{"role": "user", "content": "x"}]}


@respx.mock
async def test_messages_passthrough_costs_cache_reads_and_writes(
    gateway_http: httpx.AsyncClient, recorded_usage: list[UsageEvent]
) -> None:
    respx.post(f"{ANTHROPIC_BASE}/v1/messages").respond(json=ANTHROPIC_REPLY)

    response = await gateway_http.post("/v1/messages", json=messages_body("mockant:claude-sonnet-4-5"))

    assert response.status_code == 200
    cost = expected("claude-sonnet-4-5", "anthropic", plain=40, cached=8_000, written=2_000, output=250)
    assert Decimal(response.headers[COST_HEADER]) == cost
    [event] = recorded_usage
    assert (event.cached_tokens, event.cache_write_tokens) == (8_000, 2_000)
    assert event.cost_usd == cost
    assert not event.unpriced
    assert event.price_version.startswith("genai-prices ")


@respx.mock
async def test_chat_passthrough_counts_reasoning_and_prices_by_model_name(
    gateway_http: httpx.AsyncClient, recorded_usage: list[UsageEvent]
) -> None:
    """mockai is an OpenAI-compatible API of unknown family: priced by the model name."""
    respx.post(f"{OPENAI_BASE}/chat/completions").respond(json=OPENAI_REPLY)

    response = await gateway_http.post("/v1/chat/completions", json=chat_body("gpt-4o"))

    assert response.status_code == 200
    cost = expected("gpt-4o", "openai", plain=2_000, cached=3_000, written=0, output=900)
    assert Decimal(response.headers[COST_HEADER]) == cost
    [event] = recorded_usage
    assert (event.input_tokens, event.cached_tokens, event.reasoning_tokens) == (2_000, 3_000, 600)
    assert event.cost_usd == cost


@respx.mock
async def test_translated_answer_keeps_anthropic_usage_keys_while_records_get_more(
    gateway_http: httpx.AsyncClient, recorded_usage: list[UsageEvent]
) -> None:
    """OpenRouter-style cache writes and reasoning are accounted; the Anthropic client's
    usage object carries only Anthropic's own keys."""
    reply = json.loads(json.dumps(OPENAI_REPLY))
    reply["usage"]["prompt_tokens_details"]["cache_write_tokens"] = 1_000
    respx.post(f"{OPENAI_BASE}/chat/completions").respond(json=reply)

    response = await gateway_http.post("/v1/messages", json=messages_body("gpt-4o"))

    assert response.status_code == 200
    assert set(response.json()["usage"]) <= {
        "input_tokens",
        "output_tokens",
        "cache_read_input_tokens",
        "cache_creation_input_tokens",
    }
    [event] = recorded_usage
    assert (event.input_tokens, event.cached_tokens, event.cache_write_tokens) == (1_000, 3_000, 1_000)
    assert event.reasoning_tokens == 600
    cost = expected("gpt-4o", "openai", plain=1_000, cached=3_000, written=1_000, output=900)
    assert event.cost_usd == cost
    assert Decimal(response.headers[COST_HEADER]) == cost


@respx.mock
async def test_responses_door_answer_carries_its_cost(
    gateway_http: httpx.AsyncClient, recorded_usage: list[UsageEvent]
) -> None:
    respx.post(f"{OPENAI_BASE}/chat/completions").respond(json=OPENAI_REPLY)

    response = await gateway_http.post("/v1/responses", json={"model": "gpt-4o", "input": "hi"})

    assert response.status_code == 200
    cost = expected("gpt-4o", "openai", plain=2_000, cached=3_000, written=0, output=900)
    assert Decimal(response.headers[COST_HEADER]) == cost
    [event] = recorded_usage
    assert event.reasoning_tokens == 600
    assert event.cost_usd == cost


@respx.mock
async def test_responses_door_to_anthropic_counts_cache_writes(
    gateway_http: httpx.AsyncClient, recorded_usage: list[UsageEvent]
) -> None:
    respx.post(f"{ANTHROPIC_BASE}/v1/messages").respond(json=ANTHROPIC_REPLY)

    response = await gateway_http.post(
        "/v1/responses", json={"model": "mockant:claude-sonnet-4-5", "input": "hi"}
    )

    assert response.status_code == 200
    cost = expected("claude-sonnet-4-5", "anthropic", plain=40, cached=8_000, written=2_000, output=250)
    assert Decimal(response.headers[COST_HEADER]) == cost
    assert recorded_usage[0].cache_write_tokens == 2_000


@respx.mock
async def test_a_stream_is_priced_at_its_end(
    gateway_http: httpx.AsyncClient, recorded_usage: list[UsageEvent]
) -> None:
    stream = (
        b'data: {"id":"c","choices":[{"index":0,"delta":{"content":"ok"},"finish_reason":null}]}\n\n'
        b'data: {"id":"c","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n'
        b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":700,"completion_tokens":40,'
        b'"completion_tokens_details":{"reasoning_tokens":30}}}\n\n'
        b"data: [DONE]\n\n"
    )
    respx.post(f"{OPENAI_BASE}/chat/completions").respond(
        content=stream, headers={"content-type": "text/event-stream"}
    )

    response = await gateway_http.post("/v1/messages", json=messages_body("gpt-4o", stream=True))

    assert response.status_code == 200
    assert COST_HEADER not in response.headers  # known only once the stream has ended
    [event] = recorded_usage
    assert event.reasoning_tokens == 30
    assert event.cost_usd == expected("gpt-4o", "openai", plain=700, cached=0, written=0, output=40)


@respx.mock
async def test_an_unknown_model_is_unpriced_not_free(
    gateway_http: httpx.AsyncClient, recorded_usage: list[UsageEvent]
) -> None:
    respx.post(f"{OPENAI_BASE}/chat/completions").respond(json=OPENAI_REPLY)
    before = await scrape(gateway_http)
    response = await gateway_http.post("/v1/chat/completions", json=chat_body("house-model-7"))
    after = await scrape(gateway_http)

    assert response.status_code == 200
    assert COST_HEADER not in response.headers
    [event] = recorded_usage
    assert event.cost_usd is None
    assert event.unpriced
    labels = {"provider": "mockai", "model": "house-model-7"}
    assert delta(before, after, "vandamme_unpriced_requests_total", **labels) == 1


@respx.mock
async def test_cost_counter_follows_priced_calls(gateway_http: httpx.AsyncClient) -> None:
    respx.post(f"{OPENAI_BASE}/chat/completions").respond(json=OPENAI_REPLY)
    before = await scrape(gateway_http)
    await gateway_http.post("/v1/chat/completions", json=chat_body("gpt-4o"))
    await gateway_http.post("/v1/chat/completions", json=chat_body("gpt-4o"))
    after = await scrape(gateway_http)

    cost = expected("gpt-4o", "openai", plain=2_000, cached=3_000, written=0, output=900)
    labels = {"provider": "mockai", "model": "gpt-4o", "team": ""}
    assert delta(before, after, "vandamme_cost_usd_total", **labels) == pytest.approx(float(cost * 2))
    assert delta(before, after, "vandamme_unpriced_requests_total", provider="mockai", model="gpt-4o") == 0


@respx.mock
async def test_a_failed_call_with_no_usage_costs_nothing(
    gateway_http: httpx.AsyncClient, recorded_usage: list[UsageEvent]
) -> None:
    respx.post(f"{OPENAI_BASE}/chat/completions").respond(400, json={"error": {"message": "bad"}})

    response = await gateway_http.post("/v1/chat/completions", json=chat_body("house-model-7"))

    assert response.status_code == 400
    [event] = recorded_usage
    assert event.cost_usd == 0
    assert not event.unpriced


@respx.mock
async def test_an_override_wins_and_is_named_as_the_price_version(
    gateway_http: httpx.AsyncClient, recorded_usage: list[UsageEvent]
) -> None:
    override = await sync_to_async(PriceOverride.objects.create)(
        provider="mockai", model="gpt-4o", input=Decimal(1), output=Decimal(10), cache_read=Decimal("0.5")
    )
    respx.post(f"{OPENAI_BASE}/chat/completions").respond(json=OPENAI_REPLY)

    response = await gateway_http.post("/v1/chat/completions", json=chat_body("gpt-4o"))

    # 2,000 × $1 + 3,000 × $0.5 + 900 × $10, per million tokens
    assert Decimal(response.headers[COST_HEADER]) == Decimal("0.0125")
    [event] = recorded_usage
    assert event.price_version.startswith(f"override #{override.pk} ")


@respx.mock
async def test_the_access_line_shows_the_cost(
    gateway_http: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="vandamme.access")
    respx.post(f"{OPENAI_BASE}/chat/completions").respond(json=OPENAI_REPLY)

    await gateway_http.post("/v1/chat/completions", json=chat_body("gpt-4o"))
    await gateway_http.post("/v1/chat/completions", json=chat_body("house-model-7"))

    priced, unpriced = [r for r in caplog.records if r.name == "vandamme.access"]
    cost = expected("gpt-4o", "openai", plain=2_000, cached=3_000, written=0, output=900)
    assert priced.fields["cost_usd"] == format(cost.normalize(), "f")  # type: ignore[attr-defined]
    assert f"cost={format(cost.normalize(), 'f')}" in priced.getMessage()
    assert unpriced.fields["unpriced"] is True  # type: ignore[attr-defined]
    assert "cost=unpriced" in unpriced.getMessage()
