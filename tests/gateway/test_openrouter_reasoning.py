"""OpenRouter's reasoning_details across a tool-calling conversation, through the gateway:
the official SDKs → the ASGI app in process → OpenRouter mocked by respx.

Behind the Anthropic door the entries travel in thinking blocks and must come back to
OpenRouter exactly as it gave them; behind the OpenAI door the body is a passthrough."""

import json
from typing import Any

import anthropic
import httpx
import openai
import pytest
import respx

from providers.models import Provider
from tests.gateway.chat_helpers import openai_sse, post_chat
from tests.gateway.conftest import OPENAI_BASE, make_provider

OPENROUTER_BASE = "http://openrouter.upstream.test/api/v1"
MODEL = "openrouter:anthropic/claude-sonnet-4.5"
CLAUDE = "anthropic-claude-v1"

BASH = {
    "name": "Bash",
    "description": "Run a command",
    "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
}
USER = {"role": "user", "content": "What is in this directory?"}
TOOL_CALL = {
    "id": "toolu_vrtx_01Abc",
    "type": "function",
    "function": {"name": "Bash", "arguments": '{"command": "ls"}'},
}
REASONING_TEXT = "The user wants the directory listing.\nI should run ls."
DETAILS: list[dict[str, Any]] = [
    {
        "type": "reasoning.text",
        "text": REASONING_TEXT,
        "signature": "EqQBCkYIBxgCKkDsignature/with+base64==",
        "id": None,
        "format": CLAUDE,
        "index": 0,
    },
    {
        "type": "reasoning.encrypted",
        "data": "EmwKAhgBEgyRedactedThinkingPayload==",
        "id": None,
        "format": CLAUDE,
        "index": 1,
    },
]
USAGE = {"prompt_tokens": 30, "completion_tokens": 12, "total_tokens": 42}


def completion(message: dict[str, Any], finish: str) -> dict[str, Any]:
    return {
        "id": "gen-1",
        "provider": "Anthropic",
        "model": "anthropic/claude-sonnet-4.5",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": USAGE,
    }


FIRST = completion(
    {"content": None, "reasoning": REASONING_TEXT, "reasoning_details": DETAILS, "tool_calls": [TOOL_CALL]},
    "tool_calls",
)
SECOND = completion({"content": "There is one file, a.txt."}, "stop")


def chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "gen-1",
        "provider": "Anthropic",
        "model": "anthropic/claude-sonnet-4.5",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def _text_fragment(text: str, signature: str | None = None) -> dict[str, Any]:
    return {
        "type": "reasoning.text",
        "text": text,
        "signature": signature,
        "id": None,
        "format": CLAUDE,
        "index": 0,
    }


def first_stream() -> bytes:
    """FIRST as OpenRouter streams it: the text in pieces, the signature in a last fragment."""
    pieces = ["The user wants ", "the directory listing.\n", "I should run ls."]
    return openai_sse(
        chunk({"role": "assistant", "content": ""}),
        *(chunk({"reasoning": piece, "reasoning_details": [_text_fragment(piece)]}) for piece in pieces),
        chunk({"reasoning_details": [_text_fragment("", DETAILS[0]["signature"]), DETAILS[1]]}),
        chunk({"tool_calls": [{"index": 0, **TOOL_CALL, "function": {"name": "Bash", "arguments": ""}}]}),
        chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"command": "ls"}'}}]}),
        chunk({}, "tool_calls"),
        {**chunk({}), "choices": [], "usage": USAGE},
        "[DONE]",
    )


def second_stream() -> bytes:
    return openai_sse(
        chunk({"role": "assistant", "content": "There is one file, a.txt."}),
        chunk({}, "stop"),
        {**chunk({}), "choices": [], "usage": USAGE},
        "[DONE]",
    )


def sse_response(body: bytes) -> httpx.Response:
    return httpx.Response(200, content=body, headers={"content-type": "text/event-stream"})


@pytest.fixture
def openrouter(transactional_db: None) -> Provider:
    return make_provider("openrouter", base_url=OPENROUTER_BASE, keys=("sk-or-v1-test-0123456789abcdef",))


def with_tool_result(first: anthropic.types.Message) -> list[Any]:
    tool_use = next(block for block in first.content if block.type == "tool_use")
    return [
        USER,
        {"role": "assistant", "content": first.content},  # the SDK's own blocks, as a client keeps them
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "a.txt"}],
        },
    ]


def assert_details_went_back(route: respx.Route) -> None:
    assert route.call_count == 2
    assert "reasoning_details" not in route.calls[0].request.content.decode()
    sent = json.loads(route.calls[1].request.content)
    user, assistant, tool = sent["messages"]
    assert user == {"role": "user", "content": USER["content"]}
    assert assistant["reasoning_details"] == DETAILS
    assert assistant["tool_calls"] == [TOOL_CALL]
    assert tool == {"role": "tool", "tool_call_id": TOOL_CALL["id"], "content": "a.txt"}


def assert_shown_as_thinking(first: anthropic.types.Message) -> None:
    assert [block.type for block in first.content] == ["thinking", "redacted_thinking", "tool_use"]
    thinking = first.content[0]
    assert thinking.type == "thinking"
    assert thinking.thinking == REASONING_TEXT
    assert first.stop_reason == "tool_use"


@respx.mock(assert_all_mocked=False)
async def test_reasoning_details_come_back_exactly(
    openrouter: Provider, client: anthropic.AsyncAnthropic, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{OPENROUTER_BASE}/chat/completions")
    route.side_effect = [httpx.Response(200, json=FIRST), httpx.Response(200, json=SECOND)]
    first = await client.messages.create(model=MODEL, max_tokens=1024, tools=[BASH], messages=[USER])
    assert_shown_as_thinking(first)
    second = await client.messages.create(
        model=MODEL, max_tokens=1024, tools=[BASH], messages=with_tool_result(first)
    )
    assert second.content[0].type == "text"
    assert_details_went_back(route)


@respx.mock(assert_all_mocked=False)
async def test_streamed_reasoning_details_come_back_exactly(
    openrouter: Provider, client: anthropic.AsyncAnthropic, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{OPENROUTER_BASE}/chat/completions")
    route.side_effect = [sse_response(first_stream()), sse_response(second_stream())]
    async with client.messages.stream(model=MODEL, max_tokens=1024, tools=[BASH], messages=[USER]) as stream:
        first = await stream.get_final_message()
    assert_shown_as_thinking(first)
    async with client.messages.stream(
        model=MODEL, max_tokens=1024, tools=[BASH], messages=with_tool_result(first)
    ) as stream:
        second = await stream.get_final_message()
    assert second.content[0].type == "text"
    assert_details_went_back(route)


@respx.mock(assert_all_mocked=False)
async def test_other_providers_show_plain_reasoning_and_send_no_details(
    providers: dict[str, Provider], client: anthropic.AsyncAnthropic, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions")
    route.side_effect = [httpx.Response(200, json=FIRST), httpx.Response(200, json=SECOND)]
    first = await client.messages.create(model="mockai:m", max_tokens=1024, tools=[BASH], messages=[USER])
    assert [block.type for block in first.content] == ["thinking", "tool_use"]
    assert first.content[0].type == "thinking"
    assert first.content[0].signature == ""
    await client.messages.create(
        model="mockai:m", max_tokens=1024, tools=[BASH], messages=with_tool_result(first)
    )
    assert "reasoning_details" not in route.calls[1].request.content.decode()


# -- the OpenAI door: a passthrough ---------------------------------------------------------

OPENAI_HISTORY: list[dict[str, Any]] = [
    USER,
    {"role": "assistant", "content": None, "tool_calls": [TOOL_CALL], "reasoning_details": DETAILS},
    {"role": "tool", "tool_call_id": TOOL_CALL["id"], "content": "a.txt"},
]
OPENAI_TOOLS = [{"type": "function", "function": {"name": "Bash", "parameters": BASH["input_schema"]}}]


@respx.mock(assert_all_mocked=False)
async def test_openai_door_passes_reasoning_details_through_untouched(
    openrouter: Provider, openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{OPENROUTER_BASE}/chat/completions").respond(json=FIRST)
    raw = await openai_sdk.chat.completions.with_raw_response.create(
        model=MODEL,
        messages=OPENAI_HISTORY,  # reasoning_details is OpenRouter's: not in the SDK's types
        tools=OPENAI_TOOLS,
    )
    assert json.loads(raw.content) == FIRST
    sent = json.loads(route.calls.last.request.content)
    assert sent["messages"] == OPENAI_HISTORY


@respx.mock(assert_all_mocked=False)
async def test_openai_door_streams_reasoning_details_byte_for_byte(
    openrouter: Provider, respx_mock: respx.MockRouter
) -> None:
    stream = first_stream()
    route = respx_mock.post(f"{OPENROUTER_BASE}/chat/completions").mock(return_value=sse_response(stream))
    body = {
        "model": MODEL,
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": OPENAI_HISTORY,
        "tools": OPENAI_TOOLS,
    }
    response = await post_chat(body)
    assert response.status_code == 200
    assert response.content == stream
    assert json.loads(route.calls.last.request.content) == {**body, "model": "anthropic/claude-sonnet-4.5"}
