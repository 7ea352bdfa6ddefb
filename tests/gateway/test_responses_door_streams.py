"""Awkward upstream streams through the translated cells of /v1/responses, each held to the
strict event grammar and read by the openai SDK: parallel tool calls whose fragments
interleave, reasoning then text then a call, text after a tool call, a stop for length
(``response.incomplete``), pings, and a stream without a usage chunk."""

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
    CHAT_URL,
    FUNCTION_TOOL,
    NAMESPACE_TOOL,
    ant_block,
    ant_end,
    ant_message,
    ant_sse,
    ant_start,
    chat_chunk,
    chat_completion,
    chat_sse,
    door_events,
    door_stream,
    families,
)

__all__ = ["families"]

SSE = {"content-type": "text/event-stream"}
TOOLS = [FUNCTION_TOOL, NAMESPACE_TOOL]


def _call(index: int, call_id: str | None = None, name: str | None = None, args: str = "") -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": args}}
    if call_id:
        call |= {"id": call_id, "type": "function"}
        call["function"]["name"] = name
    return call


CHAT_STREAMS: dict[str, tuple[bytes, list[str], str]] = {
    # (upstream, output item types, terminal event)
    "interleaved parallel calls": (
        chat_sse(
            chat_chunk({"role": "assistant", "tool_calls": [_call(0, "call_a", "exec_command")]}),
            chat_chunk({"tool_calls": [_call(1, "call_b", "multi_agent_v1__spawn_agent")]}),
            chat_chunk({"tool_calls": [_call(0, args='{"cmd": ')]}),
            chat_chunk({"tool_calls": [_call(1, args='{"task": 2}')]}),
            chat_chunk({"tool_calls": [_call(0, args='"ls"}')]}),
            chat_chunk({}, "tool_calls"),
        ),
        ["function_call", "function_call"],
        "response.completed",
    ),
    "reasoning, text, then a call": (
        chat_sse(
            chat_chunk({"role": "assistant", "reasoning_content": "think"}),
            chat_chunk({"content": "Let me look."}),
            chat_chunk({"tool_calls": [_call(0, "call_a", "exec_command", '{"cmd": "ls"}')]}),
            chat_chunk({}, "tool_calls"),
            chat_chunk(None, usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}),
        ),
        ["reasoning", "message", "function_call"],
        "response.completed",
    ),
    "stopped for length, usage in the finishing chunk": (
        chat_sse(
            chat_chunk({"role": "assistant", "content": "Once upon"}),
            chat_chunk({}, "length", usage={"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}),
        ),
        ["message"],
        "response.incomplete",
    ),
    "no usage chunk, no [DONE]": (
        chat_sse(chat_chunk({"role": "assistant", "content": "Hi"}), chat_chunk({}, "stop"), done=False),
        ["message"],
        "response.completed",
    ),
}


@pytest.fixture
def respx_mock() -> Any:
    with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
        yield router


async def _both_ways(
    gateway_http: httpx.AsyncClient, openai_sdk: openai.AsyncOpenAI, model: str
) -> tuple[list[dict[str, Any]], dict[str, Any], Any]:
    events, response = door_events(
        await door_stream(gateway_http, {"model": model, "input": "go", "tools": TOOLS})
    )
    async with openai_sdk.responses.stream(model=model, input="go", tools=TOOLS) as stream:
        sdk_events = [event async for event in stream]
    final = getattr(sdk_events[-1], "response", None)  # the terminal event's, completed or not
    assert final is not None, sdk_events[-1]
    return events, response, final


@pytest.mark.parametrize("case", CHAT_STREAMS)
async def test_awkward_chat_streams(
    case: str,
    families: dict[str, Provider],
    respx_mock: respx.MockRouter,
    gateway_http: httpx.AsyncClient,
    openai_sdk: openai.AsyncOpenAI,
    recorded_usage: list[UsageEvent],
) -> None:
    upstream, kinds, terminal = CHAT_STREAMS[case]
    respx_mock.post(CHAT_URL).respond(content=upstream, headers=SSE)
    events, response, final = await _both_ways(gateway_http, openai_sdk, "chatty:up-model")
    assert events[-1]["type"] == terminal
    assert [item["type"] for item in response["output"]] == kinds
    assert [item.type for item in final.output] == kinds
    calls = [item for item in response["output"] if item["type"] == "function_call"]
    for call in calls:
        json.loads(call["arguments"])
    if case == "interleaved parallel calls":
        assert [(c["call_id"], c["name"], c.get("namespace")) for c in calls] == [
            ("call_a", "exec_command", None),
            ("call_b", "spawn_agent", "multi_agent_v1"),
        ]
        assert json.loads(calls[0]["arguments"]) == {"cmd": "ls"}
    assert all(event.status == 200 for event in recorded_usage)


async def test_anthropic_text_tool_text_with_pings_and_a_max_tokens_stop(
    families: dict[str, Provider],
    respx_mock: respx.MockRouter,
    gateway_http: httpx.AsyncClient,
    openai_sdk: openai.AsyncOpenAI,
) -> None:
    ping = {"type": "ping"}
    upstream = ant_sse(
        ant_start(),
        ping,
        *ant_block(0, {"type": "text", "text": ""}, {"type": "text_delta", "text": "Looking."}),
        *ant_block(
            1,
            {"type": "tool_use", "id": "toolu_2", "name": "multi_agent_v1__spawn_agent", "input": {}},
            {"type": "input_json_delta", "partial_json": '{"task"'},
            {"type": "input_json_delta", "partial_json": ": 3}"},
        ),
        ping,
        *ant_block(2, {"type": "text", "text": ""}, {"type": "text_delta", "text": "And"}),
        *ant_end("max_tokens"),
    )
    respx_mock.post(ANT_URL).respond(content=upstream, headers=SSE)
    events, response, final = await _both_ways(gateway_http, openai_sdk, "anty:claude-sonnet-4-5")
    assert events[-1]["type"] == "response.incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert [item["type"] for item in response["output"]] == ["message", "function_call", "message"]
    call = response["output"][1]
    assert (call["name"], call["namespace"], call["arguments"]) == (
        "spawn_agent",
        "multi_agent_v1",
        '{"task": 3}',
    )
    assert [item.type for item in final.output] == ["message", "function_call", "message"]


@pytest.mark.parametrize("family", ["chat", "anthropic"])
async def test_create_restores_a_namespace_call(
    family: str, families: dict[str, Provider], respx_mock: respx.MockRouter, openai_sdk: openai.AsyncOpenAI
) -> None:
    if family == "chat":
        call = {
            "id": "call_n",
            "type": "function",
            "function": {"name": "multi_agent_v1__spawn_agent", "arguments": "{}"},
        }
        respx_mock.post(CHAT_URL).respond(
            json=chat_completion({"content": None, "tool_calls": [call]}, "tool_calls")
        )
        model = "chatty:up-model"
    else:
        block = {"type": "tool_use", "id": "toolu_n", "name": "multi_agent_v1__spawn_agent", "input": {}}
        respx_mock.post(ANT_URL).respond(json=ant_message([block], "tool_use"))
        model = "anty:claude-sonnet-4-5"
    response = await openai_sdk.responses.create(model=model, input="go", tools=TOOLS)
    [item] = response.output
    dumped = item.model_dump()
    assert (dumped["type"], dumped["name"], dumped.get("namespace")) == (
        "function_call",
        "spawn_agent",
        "multi_agent_v1",
    )


async def test_json_where_a_stream_was_asked_is_still_a_stream(
    families: dict[str, Provider], respx_mock: respx.MockRouter, gateway_http: httpx.AsyncClient
) -> None:
    """A chat provider that ignores ``stream: true`` and answers a whole completion."""
    respx_mock.post(CHAT_URL).respond(json=chat_completion({"content": "whole"}))
    _events, response = door_events(
        await door_stream(gateway_http, {"model": "chatty:up-model", "input": "go"})
    )
    assert response["output"][0]["content"][0]["text"] == "whole"
    assert response["usage"]["output_tokens"] == 12


@pytest.mark.parametrize("family", ["chat", "anthropic"])
async def test_a_reasoning_item_from_another_provider_is_left_out(
    family: str, families: dict[str, Provider], respx_mock: respx.MockRouter, gateway_http: httpx.AsyncClient
) -> None:
    """An OpenAI-encrypted reasoning item (an earlier turn served by OpenAI) means nothing
    to this provider: it is not sent, and the request still succeeds."""
    url, model = (CHAT_URL, "chatty:up-model") if family == "chat" else (ANT_URL, "anty:claude-sonnet-4-5")
    answer = (
        chat_completion({"content": "ok"})
        if family == "chat"
        else ant_message([{"type": "text", "text": "ok"}])
    )
    route = respx_mock.post(url).respond(json=answer)
    foreign = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAABfOREIGNblob"}
    items = [
        {"role": "user", "content": "go"},
        foreign,
        {"type": "function_call", "call_id": "call_1", "name": "exec_command", "arguments": "{}"},
        {"type": "function_call_output", "call_id": "call_1", "output": "done"},
    ]
    reply = await gateway_http.post("/v1/responses", json={"model": model, "input": items, "tools": TOOLS})
    assert reply.status_code == 200, reply.text
    sent = route.calls.last.request.content
    assert b"gAAAAABfOREIGNblob" not in sent
    assert b"thinking" not in sent


async def test_json_schema_output_reaches_the_chat_provider(
    families: dict[str, Provider], respx_mock: respx.MockRouter, openai_sdk: openai.AsyncOpenAI
) -> None:
    route = respx_mock.post(CHAT_URL).respond(json=chat_completion({"content": '{"n": 1}'}))
    schema: dict[str, object] = {
        "type": "object",
        "properties": {"n": {"type": "integer"}},
        "required": ["n"],
    }
    response = await openai_sdk.responses.create(
        model="chatty:up-model",
        input="count",
        text={"format": {"type": "json_schema", "name": "count", "schema": schema, "strict": True}},
        max_output_tokens=50,
    )
    assert json.loads(response.output_text) == {"n": 1}
    sent = json.loads(route.calls.last.request.content)
    assert sent["response_format"]["type"] == "json_schema"
    assert sent["response_format"]["json_schema"]["schema"] == schema
    assert 50 in (sent.get("max_tokens"), sent.get("max_completion_tokens"))
