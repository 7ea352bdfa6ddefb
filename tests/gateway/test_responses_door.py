"""/v1/responses through every family, with the official openai SDK's Responses client and
raw SSE held to the strict event grammar: an OpenAI-format chat provider (translated), a
Responses-speaking one (passthrough) and an Anthropic-format one (translated). Text,
function calls whose arguments arrive in fragments, usage with cached and reasoning
tokens, and the client's key never upstream."""

import json
from typing import Any

import httpx
import openai
import pytest
import respx

from providers.models import Provider
from routing.usage import UsageEvent
from tests.gateway.responses_door_helpers import (
    ANT_URL,
    CHAT_KEY,
    CHAT_URL,
    FUNCTION_TOOL,
    NATIVE_URL,
    ant_block,
    ant_end,
    ant_sse,
    ant_start,
    ant_text_stream,
    assert_no_client_key,
    chat_text_stream,
    chat_tool_stream,
    door_events,
    door_stream,
    families,
    native_text_stream,
    sent_body,
)

__all__ = ["families"]  # the fixture, used by name

SSE = {"content-type": "text/event-stream"}
# family -> (model the client names, upstream URL, upstream text stream of "Hello")
FAMILIES = {
    "chat": ("chatty:up-model", CHAT_URL, chat_text_stream("Hel", "lo")),
    "native": ("native:gpt-5", NATIVE_URL, native_text_stream("Hello")),
    "anthropic": ("anty:claude-sonnet-4-5", ANT_URL, ant_text_stream("Hel", "lo")),
}


@pytest.fixture
def respx_mock() -> Any:
    with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
        yield router


@pytest.mark.parametrize("family", FAMILIES)
async def test_text_stream_keeps_the_grammar_and_the_sdk_reads_it(
    family: str,
    families: dict[str, Provider],
    respx_mock: respx.MockRouter,
    openai_sdk: openai.AsyncOpenAI,
    gateway_http: httpx.AsyncClient,
    recorded_usage: list[UsageEvent],
) -> None:
    model, url, upstream = FAMILIES[family]
    route = respx_mock.post(url).respond(content=upstream, headers=SSE)
    events, response = door_events(await door_stream(gateway_http, {"model": model, "input": "Hi"}))
    assert response["output"][-1]["content"][0]["text"] == "Hello"
    async with openai_sdk.responses.stream(model=model, input="Hi") as stream:
        types = [event.type async for event in stream]
        final = await stream.get_final_response()
    assert types == [event["type"] for event in events]
    assert final.status == "completed"
    assert final.output_text == "Hello"
    assert final.usage is not None
    assert final.usage.output_tokens == 12
    assert all(sent_body(route, n)["stream"] is True for n in range(2))
    assert_no_client_key(route)
    assert [(u.status, u.streamed, u.output_tokens, u.cached_tokens) for u in recorded_usage] == [
        (200, True, 12, 10)
    ] * 2


@pytest.mark.parametrize("family", FAMILIES)
async def test_create_answers_a_completed_response_with_usage(
    family: str,
    families: dict[str, Provider],
    respx_mock: respx.MockRouter,
    openai_sdk: openai.AsyncOpenAI,
    recorded_usage: list[UsageEvent],
) -> None:
    from tests.gateway.responses_door_helpers import ant_message, chat_completion, native_response

    model, url, _ = FAMILIES[family]
    answers = {
        "chat": chat_completion({"content": "Hello"}),
        "native": native_response(),
        "anthropic": ant_message([{"type": "text", "text": "Hello"}]),
    }
    route = respx_mock.post(url).respond(json=answers[family])
    response = await openai_sdk.responses.create(model=model, input="Hi", store=False)
    assert response.status == "completed"
    assert response.output_text == "Hello"
    assert response.usage is not None
    assert response.usage.input_tokens_details.cached_tokens == 10
    assert response.usage.output_tokens == 12
    if family != "anthropic":  # Anthropic reports no reasoning tokens
        assert response.usage.output_tokens_details.reasoning_tokens == 5
    assert_no_client_key(route)
    [event] = recorded_usage
    assert (event.status, event.streamed, event.input_tokens, event.cached_tokens) == (200, False, 20, 10)
    assert event.output_tokens == 12


async def test_chat_tool_call_arguments_in_fragments(
    families: dict[str, Provider],
    respx_mock: respx.MockRouter,
    openai_sdk: openai.AsyncOpenAI,
    gateway_http: httpx.AsyncClient,
) -> None:
    fragments = ['{"cm', 'd": "ec', 'ho hi"', "}"]
    respx_mock.post(CHAT_URL).respond(content=chat_tool_stream("exec_command", fragments), headers=SSE)
    body: dict[str, Any] = {"model": "chatty:up-model", "input": "run it", "tools": [FUNCTION_TOOL]}
    events, response = door_events(await door_stream(gateway_http, body))
    deltas = [e["delta"] for e in events if e["type"] == "response.function_call_arguments.delta"]
    assert "".join(deltas) == '{"cmd": "echo hi"}'
    [call] = response["output"]
    assert (call["type"], call["name"], call["call_id"]) == ("function_call", "exec_command", "call_1")
    async with openai_sdk.responses.stream(**body) as stream:
        final = await stream.get_final_response()
    [item] = final.output
    assert item.type == "function_call"
    assert json.loads(item.arguments) == {"cmd": "echo hi"}


async def test_anthropic_input_json_delta_fragments(
    families: dict[str, Provider],
    respx_mock: respx.MockRouter,
    openai_sdk: openai.AsyncOpenAI,
    gateway_http: httpx.AsyncClient,
) -> None:
    fragments = ['{"cm', 'd": "ec', 'ho hi"', "}"]
    tool = ant_block(
        0,
        {"type": "tool_use", "id": "toolu_1", "name": "exec_command", "input": {}},
        *({"type": "input_json_delta", "partial_json": f} for f in fragments),
    )
    respx_mock.post(ANT_URL).respond(content=ant_sse(ant_start(), *tool, *ant_end("tool_use")), headers=SSE)
    body: dict[str, Any] = {"model": "anty:claude-sonnet-4-5", "input": "run it", "tools": [FUNCTION_TOOL]}
    events, response = door_events(await door_stream(gateway_http, body))
    [call] = response["output"]
    assert (call["name"], call["call_id"], json.loads(call["arguments"])) == (
        "exec_command",
        "toolu_1",
        {"cmd": "echo hi"},
    )
    assert len([e for e in events if e["type"] == "response.function_call_arguments.delta"]) >= 2
    async with openai_sdk.responses.stream(**body) as stream:
        final = await stream.get_final_response()
    assert final.output[0].type == "function_call"


async def test_the_provider_key_goes_upstream_and_the_client_key_never(
    families: dict[str, Provider], respx_mock: respx.MockRouter, openai_sdk: openai.AsyncOpenAI
) -> None:
    route = respx_mock.post(CHAT_URL).respond(content=chat_text_stream("ok"), headers=SSE)
    async with openai_sdk.responses.stream(model="chatty:up-model", input="Hi") as stream:
        await stream.get_final_response()
    assert route.calls.last.request.headers["authorization"] == f"Bearer {CHAT_KEY}"
    assert_no_client_key(route)
