"""/v1/responses to a provider that speaks the Responses API natively: the official openai
SDK's Responses client → ASGI app → respx upstream. A true passthrough: only ``model``
changes going up, bytes come back as sent, usage is read for accounting; the client's
key never goes upstream. A provider the door has no cell for is refused with a 400."""

import json
from typing import Any

import openai
import pytest
import respx

from providers.models import Provider
from routing.doors.responses import RESPONSES_TABLE
from routing.formats import WireFormat
from routing.usage import UsageEvent
from tests.gateway.conftest import make_provider

RESPONSES_BASE = "http://responses.upstream.test/v1"
RESPONSES_KEY = "sk-test-responses-key-dddddddddddd"
USAGE = {
    "input_tokens": 30,
    "input_tokens_details": {"cached_tokens": 10},
    "output_tokens": 12,
    "output_tokens_details": {"reasoning_tokens": 5},
    "total_tokens": 42,
}


def response_object(status: str = "completed", usage: dict[str, Any] | None = USAGE) -> dict[str, Any]:
    return {
        "id": "resp_up1",
        "object": "response",
        "created_at": 1,
        "status": status,
        "model": "gpt-5-2025-08-07",
        "output": [
            {
                "type": "message",
                "id": "msg_1",
                "status": "completed",
                "role": "assistant",
                "content": [{"type": "output_text", "text": "Hello", "annotations": []}],
            }
        ],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage,
        "error": None,
        "x_provider_extra": {"kept": True},
    }


def responses_sse(*events: dict[str, Any]) -> bytes:
    return b"".join(
        f"event: {event['type']}\ndata: {json.dumps({**event, 'sequence_number': index})}\n\n".encode()
        for index, event in enumerate(events)
    )


STREAM = responses_sse(
    {"type": "response.created", "response": response_object("in_progress", None)},
    {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "Hel",
    },
    {
        "type": "response.output_text.delta",
        "item_id": "msg_1",
        "output_index": 0,
        "content_index": 0,
        "delta": "lo",
    },
    {"type": "response.completed", "response": response_object()},
)


@pytest.fixture
def responses_provider(transactional_db: None) -> Provider:
    return make_provider(
        "native", base_url=RESPONSES_BASE, keys=(RESPONSES_KEY,), responses_api=True, is_default=True
    )


def _sent(route: respx.Route) -> tuple[dict[str, Any], dict[str, str]]:
    request = route.calls.last.request
    return json.loads(request.content), dict(request.headers)


@respx.mock(assert_all_mocked=False)
async def test_create_is_a_passthrough_with_usage_recorded(
    openai_sdk: openai.AsyncOpenAI,
    respx_mock: respx.MockRouter,
    recorded_usage: list[UsageEvent],
    responses_provider: Provider,
) -> None:
    upstream_body = json.dumps(response_object()).encode()
    route = respx_mock.post(f"{RESPONSES_BASE}/responses").respond(
        content=upstream_body, headers={"content-type": "application/json"}
    )
    raw = await openai_sdk.responses.with_raw_response.create(
        model="native:gpt-5",
        input=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
        store=False,
        include=["reasoning.encrypted_content"],
        tools=[{"type": "web_search"}],
        extra_body={"custom_field": {"nested": [1, 2.5, None]}},
    )
    assert raw.http_response.content == upstream_body  # relayed byte for byte
    assert raw.parse().output_text == "Hello"
    assert raw.headers["x-vandamme-provider"] == "native"
    sent, headers = _sent(route)
    assert sent["model"] == "gpt-5"
    assert sent["store"] is False
    assert sent["tools"] == [{"type": "web_search"}]
    assert sent["custom_field"] == {"nested": [1, 2.5, None]}
    assert headers["authorization"] == f"Bearer {RESPONSES_KEY}"
    assert "client-key" not in json.dumps(headers)
    [event] = recorded_usage
    assert (event.provider, event.status, event.streamed) == ("native", 200, False)
    assert (event.input_tokens, event.cached_tokens, event.output_tokens) == (20, 10, 12)


@respx.mock(assert_all_mocked=False)
async def test_stream_is_relayed_as_it_comes_with_usage_from_the_completed_event(
    openai_sdk: openai.AsyncOpenAI,
    respx_mock: respx.MockRouter,
    recorded_usage: list[UsageEvent],
    responses_provider: Provider,
) -> None:
    route = respx_mock.post(f"{RESPONSES_BASE}/responses").respond(
        content=STREAM, headers={"content-type": "text/event-stream"}
    )
    async with openai_sdk.responses.stream(model="native:gpt-5", input="Hello") as stream:
        types = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert types == [
        "response.created",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.completed",
    ]
    assert final.output_text == "Hello"
    sent, headers = _sent(route)
    assert (sent["model"], sent["stream"]) == ("gpt-5", True)
    assert headers["authorization"] == f"Bearer {RESPONSES_KEY}"
    assert "client-key" not in json.dumps(headers)
    [event] = recorded_usage
    assert (event.provider, event.status, event.streamed) == ("native", 200, True)
    assert (event.input_tokens, event.cached_tokens, event.output_tokens) == (20, 10, 12)


@respx.mock(assert_all_mocked=False)
async def test_stream_bytes_are_unchanged(
    respx_mock: respx.MockRouter, responses_provider: Provider, gateway_http: Any
) -> None:
    respx_mock.post(f"{RESPONSES_BASE}/responses").respond(
        content=STREAM, headers={"content-type": "text/event-stream"}
    )
    answer = await gateway_http.post(
        "/v1/responses", json={"model": "native:gpt-5", "input": "Hello", "stream": True}
    )
    assert answer.status_code == 200
    assert answer.content == STREAM


@respx.mock(assert_all_mocked=False)
async def test_an_upstream_error_comes_back_in_the_openai_envelope(
    openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter, responses_provider: Provider
) -> None:
    respx_mock.post(f"{RESPONSES_BASE}/responses").respond(
        400, json={"error": {"message": "bad input item", "type": "invalid_request_error", "param": "input"}}
    )
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_sdk.responses.create(model="native:gpt-5", input="Hello")
    assert "bad input item" in str(caught.value)


@pytest.mark.usefixtures("providers")  # mockant: Anthropic format, no Responses cell yet
async def test_a_provider_the_door_has_no_cell_for_is_refused_naming_it(
    openai_sdk: openai.AsyncOpenAI, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The table's rule, for a door and wire format that have no cell (every cell is
    # filled today, so one is taken out).
    monkeypatch.delitem(RESPONSES_TABLE, WireFormat.ANTHROPIC_MESSAGES)
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_sdk.responses.create(model="mockant:claude-sonnet-4-5", input="Hello")
    assert caught.value.status_code == 400
    message = caught.value.body["message"] if isinstance(caught.value.body, dict) else str(caught.value)
    assert "mockant" in message
    assert "responses door" in message


async def test_input_is_required_in_the_openai_envelope(
    gateway_http: Any, responses_provider: Provider
) -> None:
    answer = await gateway_http.post("/v1/responses", json={"model": "native:gpt-5"})
    assert answer.status_code == 400
    assert answer.json()["error"]["param"] == "input"


@respx.mock(assert_all_mocked=False)
async def test_a_stream_cut_short_ends_with_an_error_event_and_is_accounted_as_failed(
    respx_mock: respx.MockRouter,
    responses_provider: Provider,
    gateway_http: Any,
    recorded_usage: list[UsageEvent],
) -> None:
    cut = STREAM[: STREAM.index(b"event: response.completed")]
    respx_mock.post(f"{RESPONSES_BASE}/responses").respond(
        content=cut, headers={"content-type": "text/event-stream"}
    )
    answer = await gateway_http.post(
        "/v1/responses", json={"model": "native:gpt-5", "input": "Hello", "stream": True}
    )
    assert answer.content.startswith(cut)
    tail = answer.content[len(cut) :]
    assert tail.startswith(b"event: error\n")
    assert json.loads(tail.split(b"data: ", 1)[1])["type"] == "error"
    [event] = recorded_usage
    assert event.status == 502
