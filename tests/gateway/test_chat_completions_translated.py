"""/v1/chat/completions to an Anthropic-format provider: the official openai SDK → ASGI app →
respx upstream speaking Anthropic Messages. Requests and answers are translated."""

import json

import openai
import pytest
import respx
from openai.types.chat import ChatCompletionFunctionToolParam

from routing.usage import UsageEvent
from tests.gateway.chat_helpers import anthropic_message, anthropic_sse, anthropic_text_stream, post_chat
from tests.gateway.conftest import ANTHROPIC_BASE, ANTHROPIC_KEY

pytestmark = pytest.mark.usefixtures("providers")
MESSAGES_URL = f"{ANTHROPIC_BASE}/v1/messages"

BASH_SCHEMA: dict[str, object] = {
    "type": "object",
    "properties": {"command": {"type": "string"}},
    "required": ["command"],
}
BASH: ChatCompletionFunctionToolParam = {
    "type": "function",
    "function": {"name": "Bash", "description": "run a shell command", "parameters": BASH_SCHEMA},
}


@respx.mock(assert_all_mocked=False)
async def test_create_is_translated_both_ways(
    openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter, recorded_usage: list[UsageEvent]
) -> None:
    route = respx_mock.post(MESSAGES_URL).respond(
        json=anthropic_message([{"type": "text", "text": "Hi there"}])
    )
    raw = await openai_sdk.chat.completions.with_raw_response.create(
        model="mockant:claude-up",
        messages=[{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
        max_completion_tokens=300,
        temperature=0.5,
        stop=["END"],
        user="user-42",
    )
    completion = raw.parse()
    assert completion.id == "chatcmpl-01Q"
    assert completion.model == "mockant:claude-up"  # the name the client sent
    assert completion.choices[0].message.content == "Hi there"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None
    assert (completion.usage.prompt_tokens, completion.usage.completion_tokens) == (16, 4)
    assert completion.usage.prompt_tokens_details is not None
    assert completion.usage.prompt_tokens_details.cached_tokens == 5
    assert raw.headers["x-vandamme-provider"] == "mockant"
    request = route.calls.last.request
    assert json.loads(request.content) == {
        "model": "claude-up",
        "system": "Be brief.",
        "messages": [{"role": "user", "content": "Hello"}],
        "max_tokens": 300,
        "temperature": 0.5,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "user-42"},
    }
    assert request.headers["x-api-key"] == ANTHROPIC_KEY
    assert request.headers["anthropic-version"] == "2023-06-01"
    assert "client-key" not in request.headers.values()
    [event] = recorded_usage
    assert (event.input_tokens, event.output_tokens, event.cached_tokens, event.status) == (11, 4, 5, 200)


@respx.mock(assert_all_mocked=False)
async def test_default_max_tokens_is_the_setting(respx_mock: respx.MockRouter, settings: object) -> None:
    settings.VANDAMME_DEFAULT_MAX_TOKENS = 1234  # type: ignore[attr-defined]
    route = respx_mock.post(MESSAGES_URL).respond(json=anthropic_message([{"type": "text", "text": "ok"}]))
    response = await post_chat({"model": "mockant:claude-up", "messages": [{"role": "user", "content": "x"}]})
    assert response.status_code == 200
    assert json.loads(route.calls.last.request.content)["max_tokens"] == 1234


@respx.mock(assert_all_mocked=False)
async def test_sdk_stream_with_usage(
    openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter, recorded_usage: list[UsageEvent]
) -> None:
    route = respx_mock.post(MESSAGES_URL).respond(
        content=anthropic_text_stream(["Hel", "lo", " world"]), headers={"content-type": "text/event-stream"}
    )
    stream = await openai_sdk.chat.completions.create(
        model="mockant:claude-up",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Hello world"
    assert chunks[-2].choices[0].finish_reason == "stop"
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.prompt_tokens == 16
    assert json.loads(route.calls.last.request.content)["stream"] is True
    [event] = recorded_usage
    assert (event.input_tokens, event.output_tokens, event.streamed, event.status) == (11, 4, True, 200)


@respx.mock(assert_all_mocked=False)
async def test_stream_ends_with_done(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(MESSAGES_URL).respond(
        content=anthropic_text_stream(["x"]), headers={"content-type": "text/event-stream"}
    )
    response = await post_chat(
        {"model": "mockant:claude-up", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    )
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.headers["cache-control"] == "no-cache"
    assert response.text.endswith("data: [DONE]\n\n")
    assert '"usage"' not in response.text  # not asked for


@respx.mock(assert_all_mocked=False)
async def test_tool_call_round_trip(openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter) -> None:
    tool_use = {"type": "tool_use", "id": "toolu_1", "name": "Bash", "input": {"command": "ls"}}
    route = respx_mock.post(MESSAGES_URL).respond(
        json=anthropic_message([{"type": "text", "text": "Listing."}, tool_use], stop_reason="tool_use")
    )
    first = await openai_sdk.chat.completions.create(
        model="mockant:claude-up",
        tools=[BASH],
        tool_choice="required",
        parallel_tool_calls=False,
        messages=[{"role": "user", "content": "list files"}],
    )
    sent = json.loads(route.calls.last.request.content)
    assert sent["tools"] == [
        {"name": "Bash", "description": "run a shell command", "input_schema": BASH_SCHEMA}
    ]
    assert sent["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert (call.id, call.function.name, json.loads(call.function.arguments)) == (
        "toolu_1",
        "Bash",
        {"command": "ls"},
    )

    route.respond(json=anthropic_message([{"type": "text", "text": "a.txt"}]))
    second = await openai_sdk.chat.completions.create(
        model="mockant:claude-up",
        tools=[BASH],
        messages=[
            {"role": "user", "content": "list files"},
            {
                "role": "assistant",
                "content": choice.message.content,
                "tool_calls": [
                    {
                        "id": call.id,
                        "type": "function",
                        "function": {"name": call.function.name, "arguments": call.function.arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": call.id, "content": "a.txt"},
        ],
    )
    assert second.choices[0].message.content == "a.txt"
    sent = json.loads(route.calls.last.request.content)
    assert sent["messages"][1] == {
        "role": "assistant",
        "content": [{"type": "text", "text": "Listing."}, tool_use],
    }
    assert sent["messages"][2] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": "a.txt"}],
    }


@respx.mock(assert_all_mocked=False)
async def test_streamed_tool_call_accumulates_in_the_sdk(
    openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter
) -> None:
    start = {**anthropic_message([]), "stop_reason": None}
    events = anthropic_sse(
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Use Bash."}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "c2ln"}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("content_block_start", {"type": "content_block_start", "index": 1, "content_block": {"type": "tool_use", "id": "toolu_9", "name": "Bash", "input": {}}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": '{"comm'}}),
        ("content_block_delta", {"type": "content_block_delta", "index": 1, "delta": {"type": "input_json_delta", "partial_json": 'and": "pwd"}'}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": None}, "usage": {"output_tokens": 9}}),
        ("message_stop", {"type": "message_stop"}),
    )  # fmt: skip
    route = respx_mock.post(MESSAGES_URL).respond(
        content=events, headers={"content-type": "text/event-stream"}
    )
    async with openai_sdk.chat.completions.stream(
        model="mockant:claude-up",
        tools=[BASH],
        reasoning_effort="low",
        messages=[{"role": "user", "content": "where am I"}],
    ) as stream:
        final = await stream.get_final_completion()
    message = final.choices[0].message
    assert message.tool_calls is not None
    assert message.tool_calls[0].function.name == "Bash"
    assert json.loads(message.tool_calls[0].function.arguments) == {"command": "pwd"}
    assert getattr(message, "reasoning_content", None) == "Use Bash."
    assert final.choices[0].finish_reason == "tool_calls"
    sent = json.loads(route.calls.last.request.content)
    assert sent["thinking"] == {"type": "enabled", "budget_tokens": 2048}
    assert sent["max_tokens"] == 4096 + 2048


@respx.mock(assert_all_mocked=False)
async def test_image_parts_reach_the_provider(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(MESSAGES_URL).respond(json=anthropic_message([{"type": "text", "text": "a cat"}]))
    content = [
        {"type": "text", "text": "what is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBORw0KGgo="}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
    ]
    response = await post_chat(
        {"model": "mockant:claude-up", "messages": [{"role": "user", "content": content}]}
    )
    assert response.status_code == 200
    blocks = json.loads(route.calls.last.request.content)["messages"][0]["content"]
    assert blocks[1]["source"] == {"type": "base64", "media_type": "image/png", "data": "iVBORw0KGgo="}
    assert blocks[2]["source"] == {"type": "url", "url": "https://example.com/cat.png"}
