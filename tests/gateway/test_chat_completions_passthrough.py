"""/v1/chat/completions to OpenAI-format providers: the official openai SDK → ASGI app →
respx upstream. A true passthrough: only ``model`` changes going up, bytes come back as sent
(re-encoded only where tool names must be restored)."""

import json
from typing import Any

import openai
import pytest
import respx

from providers.models import Provider
from routing.usage import UsageEvent
from tests.gateway.chat_helpers import openai_sse, post_chat
from tests.gateway.conftest import OPENAI_BASE, OPENAI_KEYS, make_provider

pytestmark = pytest.mark.usefixtures("providers")

COMPLETION = {
    "id": "chatcmpl-up",
    "object": "chat.completion",
    "created": 1,
    "model": "gpt-4o-2024-08-06",
    "choices": [
        {
            "index": 0,
            "message": {"role": "assistant", "content": "Hi"},
            "finish_reason": "stop",
            "logprobs": None,
        }
    ],
    "usage": {
        "prompt_tokens": 20,
        "completion_tokens": 2,
        "total_tokens": 22,
        "prompt_tokens_details": {"cached_tokens": 8},
    },
    "x_provider_extra": {"kept": True},
}


def chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


STREAM = openai_sse(
    chunk({"role": "assistant", "content": ""}),
    chunk({"content": "Hel"}),
    chunk({"content": "lo"}),
    chunk({}, "stop"),
    {
        "id": "c1",
        "object": "chat.completion.chunk",
        "created": 1,
        "model": "gpt-4o",
        "choices": [],
        "usage": {"prompt_tokens": 7, "completion_tokens": 2, "total_tokens": 9},
    },
    "[DONE]",
)


@respx.mock(assert_all_mocked=False)
async def test_create_is_a_passthrough(
    openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter, recorded_usage: list[UsageEvent]
) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=COMPLETION)
    raw = await openai_sdk.chat.completions.with_raw_response.create(
        model="fast",
        messages=[{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
        temperature=0.3,
        seed=7,
        logprobs=False,
        extra_body={"custom_field": {"nested": [1, 2.5, None]}},
    )
    completion = raw.parse()
    assert completion.choices[0].message.content == "Hi"
    assert completion.model == "gpt-4o-2024-08-06"  # relayed as the provider answered
    assert json.loads(raw.content) == COMPLETION
    assert raw.headers["x-vandamme-provider"] == "mockai"
    assert raw.headers["x-vandamme-model"] == "gpt-4o-mini"
    sent = json.loads(route.calls.last.request.content)
    assert sent == {
        "model": "gpt-4o-mini",
        "messages": [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": "Hello"}],
        "temperature": 0.3,
        "seed": 7,
        "logprobs": False,
        "custom_field": {"nested": [1, 2.5, None]},
    }
    assert route.calls.last.request.headers["authorization"] in {f"Bearer {k}" for k in OPENAI_KEYS}
    [event] = recorded_usage
    assert (event.provider, event.model_requested, event.model_served) == ("mockai", "fast", "gpt-4o-mini")
    assert (event.input_tokens, event.output_tokens, event.cached_tokens, event.streamed) == (12, 2, 8, False)


@respx.mock(assert_all_mocked=False)
async def test_stream_is_relayed_byte_for_byte_and_usage_sniffed(
    respx_mock: respx.MockRouter, recorded_usage: list[UsageEvent]
) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        content=STREAM, headers={"content-type": "text/event-stream"}
    )
    body = {
        "model": "mockai:gpt-4o",
        "stream": True,
        "stream_options": {"include_usage": True},
        "messages": [{"role": "user", "content": "hi"}],
    }
    response = await post_chat(body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == STREAM
    assert json.loads(route.calls.last.request.content) == {**body, "model": "gpt-4o"}
    [event] = recorded_usage
    assert (event.input_tokens, event.output_tokens, event.streamed, event.status) == (7, 2, True, 200)


@respx.mock(assert_all_mocked=False)
async def test_a_stream_is_accounted_even_when_the_client_asks_for_no_usage(
    respx_mock: respx.MockRouter, recorded_usage: list[UsageEvent]
) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        content=STREAM, headers={"content-type": "text/event-stream"}
    )
    body = {"model": "mockai:gpt-4o", "stream": True, "messages": [{"role": "user", "content": "hi"}]}
    response = await post_chat(body)
    sent = json.loads(route.calls.last.request.content)
    assert sent["stream_options"] == {"include_usage": True}
    usage_chunk = STREAM.split(b"\n\n")[4] + b"\n\n"
    assert b'"choices": []' in usage_chunk or b'"choices":[]' in usage_chunk
    assert response.content == STREAM.replace(usage_chunk, b"")  # every other byte as sent
    [event] = recorded_usage
    assert (event.input_tokens, event.output_tokens) == (7, 2)


@respx.mock(assert_all_mocked=False)
async def test_sdk_stream_through_openai_provider(
    openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        content=STREAM, headers={"content-type": "text/event-stream"}
    )
    stream = await openai_sdk.chat.completions.create(
        model="gpt-4o",
        messages=[{"role": "user", "content": "hi"}],
        stream=True,
        stream_options={"include_usage": True},
    )
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    assert text == "Hello"


@pytest.fixture
def strict_names(transactional_db: None) -> Provider:
    return make_provider(
        "strict",
        base_url="http://strict.upstream.test/v1",
        keys=("sk-strict-key-000000000",),
        tool_name_sanitization=True,
    )


TOOL: dict[str, Any] = {
    "type": "function",
    "function": {"name": "mcp.fs.read", "parameters": {"type": "object", "properties": {}}},
}


def _tool_reply(name: str) -> dict[str, object]:
    call = {"id": "call_1", "type": "function", "function": {"name": name, "arguments": '{"path": "/a"}'}}
    message = {"role": "assistant", "content": None, "tool_calls": [call]}
    return {**COMPLETION, "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls"}]}


@respx.mock(assert_all_mocked=False)
async def test_tool_names_are_sanitized_up_and_restored_down(
    openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter, strict_names: Provider
) -> None:
    route = respx_mock.post("http://strict.upstream.test/v1/chat/completions").respond(
        json=_tool_reply("mcp_fs_read")
    )
    completion = await openai_sdk.chat.completions.create(
        model="strict:gpt-x",
        tools=[{"type": "function", "function": {"name": "mcp.fs.read"}}],
        tool_choice={"type": "function", "function": {"name": "mcp.fs.read"}},
        messages=[
            {"role": "user", "content": "read"},
            {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {
                        "id": "call_0",
                        "type": "function",
                        "function": {"name": "mcp.fs.read", "arguments": "{}"},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": "call_0", "content": "old"},
        ],
    )
    sent = json.loads(route.calls.last.request.content)
    assert sent["tools"][0]["function"]["name"] == "mcp_fs_read"
    assert sent["tool_choice"]["function"]["name"] == "mcp_fs_read"
    assert sent["messages"][1]["tool_calls"][0]["function"]["name"] == "mcp_fs_read"
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "mcp.fs.read"


@respx.mock(assert_all_mocked=False)
async def test_sanitized_stream_is_re_encoded_with_names_restored(
    respx_mock: respx.MockRouter, strict_names: Provider, recorded_usage: list[UsageEvent]
) -> None:
    call = {
        "index": 0,
        "id": "call_1",
        "type": "function",
        "function": {"name": "mcp_fs_read", "arguments": ""},
    }
    respx_mock.post("http://strict.upstream.test/v1/chat/completions").respond(
        content=openai_sse(
            chunk({"role": "assistant", "tool_calls": [call]}),
            chunk({"tool_calls": [{"index": 0, "function": {"arguments": "{}"}}]}),
            chunk({}, "tool_calls"),
            {"id": "c1", "choices": [], "usage": {"prompt_tokens": 3, "completion_tokens": 1}},
            "[DONE]",
        ),
        headers={"content-type": "text/event-stream"},
    )
    response = await post_chat(
        {
            "model": "strict:gpt-x",
            "stream": True,
            "tools": [TOOL],
            "messages": [{"role": "user", "content": "x"}],
        }
    )
    text = response.text
    assert '"name":"mcp.fs.read"' in text
    assert "mcp_fs_read" not in text
    assert text.endswith("data: [DONE]\n\n")
    assert (recorded_usage[0].input_tokens, recorded_usage[0].output_tokens) == (3, 1)


@respx.mock(assert_all_mocked=False)
async def test_valid_names_on_a_sanitizing_provider_stay_a_byte_relay(
    respx_mock: respx.MockRouter, strict_names: Provider
) -> None:
    respx_mock.post("http://strict.upstream.test/v1/chat/completions").respond(
        content=STREAM, headers={"content-type": "text/event-stream"}
    )
    tool = {"type": "function", "function": {"name": "Bash"}}
    response = await post_chat(
        {
            "model": "strict:gpt-x",
            "stream": True,
            "stream_options": {"include_usage": True},
            "tools": [tool],
            "messages": [{"role": "user", "content": "x"}],
        }
    )
    assert response.content == STREAM


@pytest.fixture
def azure(transactional_db: None) -> Provider:
    return make_provider(
        "azure",
        base_url="https://res.openai.azure.com",
        keys=("azure-key-1234567890",),
        api_version="2024-10-21",
    )


@pytest.fixture
def primary(transactional_db: None) -> Provider:
    return make_provider(
        "primary",
        base_url="http://primary.test/v1",
        keys=("sk-primary-0000000000",),
        max_retries=0,
        fallbacks=["mockai:gpt-4o"],
    )


@respx.mock(assert_all_mocked=False)
async def test_azure_deployment_url_and_key_header(
    openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter, azure: Provider
) -> None:
    route = respx_mock.post(
        "https://res.openai.azure.com/openai/deployments/my-deploy/chat/completions",
        params={"api-version": "2024-10-21"},
    ).respond(json=COMPLETION)
    await openai_sdk.chat.completions.create(
        model="azure:my-deploy", messages=[{"role": "user", "content": "hi"}]
    )
    assert route.calls.last.request.headers["api-key"] == "azure-key-1234567890"
    assert "authorization" not in route.calls.last.request.headers


@respx.mock(assert_all_mocked=False)
async def test_fallback_to_the_next_target_on_503(
    openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter, primary: Provider
) -> None:
    respx_mock.post("http://primary.test/v1/chat/completions").respond(
        503, json={"error": {"message": "down"}}
    )
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=COMPLETION)
    raw = await openai_sdk.chat.completions.with_raw_response.create(
        model="primary:gpt-4o", messages=[{"role": "user", "content": "hi"}]
    )
    assert raw.headers["x-vandamme-provider"] == "mockai"
    assert raw.parse().choices[0].message.content == "Hi"


@respx.mock(assert_all_mocked=False)
async def test_a_200_that_carries_an_error_is_answered_as_that_error(respx_mock: respx.MockRouter) -> None:
    leaked = f"provider said: bad key {OPENAI_KEYS[0]}"
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        json={"error": {"code": 429, "message": leaked}}
    )
    response = await post_chat({"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}]})
    assert response.status_code == 429
    assert response.json()["error"]["type"] == "requests"
    assert OPENAI_KEYS[0] not in response.text


@pytest.mark.parametrize("wants_usage", [True, False])
@respx.mock(assert_all_mocked=False)
async def test_json_to_a_stream_request_is_replayed_as_a_stream(
    respx_mock: respx.MockRouter, recorded_usage: list[UsageEvent], wants_usage: bool
) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=COMPLETION)
    body: dict[str, Any] = {
        "model": "gpt-4o",
        "stream": True,
        "messages": [{"role": "user", "content": "hi"}],
    }
    if wants_usage:
        body["stream_options"] = {"include_usage": True}
    response = await post_chat(body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line.removeprefix("data: ") for line in response.text.split("\n\n") if line]
    assert events[-1] == "[DONE]"
    [chunk] = [json.loads(e) for e in events[:-1]]
    assert chunk["object"] == "chat.completion.chunk"
    assert chunk["choices"][0]["delta"]["content"] == "Hi"
    assert chunk["choices"][0]["finish_reason"] == "stop"
    assert recorded_usage[0].input_tokens == 12  # 20 prompt tokens, 8 of them cached


@respx.mock(assert_all_mocked=False)
async def test_a_json_error_to_a_stream_request_is_an_error_response(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json={"error": {"message": "quota exhausted"}})
    response = await post_chat(
        {"model": "gpt-4o", "stream": True, "messages": [{"role": "user", "content": "x"}]}
    )
    assert response.status_code == 502
    assert "quota exhausted" in response.json()["error"]["message"]
