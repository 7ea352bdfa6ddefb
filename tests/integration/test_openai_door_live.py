"""The OpenAI door against real servers: a daphne-served gateway and the mock upstream on
127.0.0.1 speaking OpenAI (passthrough) and Anthropic (translation), driven by the official
openai SDK. Create, stream, a tool call round trip each way, and errors without secrets."""

import json
from collections.abc import Iterator
from typing import Any

import httpx
import openai
import pytest

from tests.integration.gateway import GatewayProcess
from tests.mock_upstream import INPUT_TOKENS, REPLY_TEXT, MockUpstream, stream_text

pytestmark = pytest.mark.integration

OPENAI_KEY = "sk-live-openai-upstream-key-0123456789"
ANTHROPIC_KEY = "sk-ant-live-upstream-key-0123456789"
GATEWAY_KEY = "vdm-live-gateway-key"
SECRETS = (OPENAI_KEY, ANTHROPIC_KEY)
HI: list[Any] = [{"role": "user", "content": "hi"}]
TOOLS: list[Any] = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}},
        },
    }
]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[GatewayProcess, MockUpstream]]:
    with MockUpstream() as upstream:
        env = {
            "PROXY_API_KEY": GATEWAY_KEY,
            "VDM_DEFAULT_PROVIDER": "oai",
            "OAI_API_KEY": OPENAI_KEY,
            "OAI_BASE_URL": upstream.base_url,
            "OAI_MAX_RETRIES": "0",
            "ANT_API_KEY": ANTHROPIC_KEY,
            "ANT_BASE_URL": upstream.origin,
            "ANT_API_FORMAT": "anthropic",
            "ANT_MAX_RETRIES": "0",
        }
        with GatewayProcess(tmp_path_factory.mktemp("openai-door"), env) as gateway:
            yield gateway, upstream


@pytest.fixture
def mock(live: tuple[GatewayProcess, MockUpstream]) -> Iterator[MockUpstream]:
    live[1].reset()
    yield live[1]
    live[1].reset()


@pytest.fixture
def client(live: tuple[GatewayProcess, MockUpstream]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(api_key=GATEWAY_KEY, base_url=f"{live[0].base_url}/v1", max_retries=0) as sdk:
        yield sdk


@pytest.mark.parametrize("model", ["gpt-4o", "ant:claude-x"])
def test_create(client: openai.OpenAI, mock: MockUpstream, model: str) -> None:
    completion = client.chat.completions.create(model=model, messages=HI)
    assert completion.choices[0].message.content == REPLY_TEXT
    assert completion.usage is not None
    assert completion.usage.prompt_tokens == INPUT_TOKENS
    [request] = mock.requests()
    assert request["path"] == ("/v1/chat/completions" if model == "gpt-4o" else "/v1/messages")
    assert request["json"]["model"] == model.removeprefix("ant:")


@pytest.mark.parametrize("model", ["gpt-4o", "ant:claude-x"])
def test_stream_with_usage(client: openai.OpenAI, mock: MockUpstream, model: str) -> None:
    mock.configure(chunks=5)
    stream = client.chat.completions.create(
        model=model, messages=HI, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == stream_text(5)
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 5


def test_openai_stream_is_relayed_byte_for_byte(
    live: tuple[GatewayProcess, MockUpstream], mock: MockUpstream
) -> None:
    gateway, _ = live
    body = {"messages": HI, "stream": True, "stream_options": {"include_usage": True}, "unknown_field": [1]}
    direct = httpx.post(f"{mock.base_url}/chat/completions", json={**body, "model": "gpt-4o"}).content
    relayed = httpx.post(
        f"{gateway.base_url}/v1/chat/completions",
        json={**body, "model": "oai:gpt-4o"},
        headers={"authorization": f"Bearer {GATEWAY_KEY}"},
    )
    assert relayed.status_code == 200
    assert relayed.content == direct
    assert mock.requests()[-1]["json"] == {**body, "model": "gpt-4o"}


def test_tool_round_trip_through_anthropic(client: openai.OpenAI, mock: MockUpstream) -> None:
    tool_use = {"type": "tool_use", "id": "toolu_7", "name": "get_weather", "input": {"city": "Oslo"}}
    message = {
        "id": "msg_7",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [tool_use],
        "stop_reason": "tool_use",
        "stop_sequence": None,
        "usage": {"input_tokens": 20, "output_tokens": 9},
    }
    mock.script([{"match": {"path": "/v1/messages"}, "json": message}])
    first = client.chat.completions.create(model="ant:claude-x", tools=TOOLS, messages=HI)
    calls = first.choices[0].message.tool_calls
    assert first.choices[0].finish_reason == "tool_calls"
    assert calls is not None
    assert calls[0].type == "function"
    assert json.loads(calls[0].function.arguments) == {"city": "Oslo"}
    second = client.chat.completions.create(
        model="ant:claude-x",
        tools=TOOLS,
        messages=[
            *HI,
            {
                "role": "assistant",
                "tool_calls": [
                    {
                        "id": calls[0].id,
                        "type": "function",
                        "function": {"name": "get_weather", "arguments": calls[0].function.arguments},
                    }
                ],
            },
            {"role": "tool", "tool_call_id": calls[0].id, "content": "sunny"},
        ],
    )
    assert second.choices[0].message.content == REPLY_TEXT
    sent = mock.requests()[-1]["json"]
    assert sent["tools"][0]["name"] == "get_weather"
    assert sent["messages"][1]["content"] == [tool_use]
    assert sent["messages"][2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_7", "content": "sunny"}
    ]


def test_streamed_tool_call_through_anthropic(client: openai.OpenAI, mock: MockUpstream) -> None:
    start = {
        "id": "msg_8",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [],
        "usage": {"input_tokens": 3, "output_tokens": 0},
    }
    block = {"type": "tool_use", "id": "toolu_8", "name": "get_weather", "input": {}}
    events = [
        {"event": "message_start", "data": {"type": "message_start", "message": start}},
        {"event": "content_block_start", "data": {"type": "content_block_start", "index": 0, "content_block": block}},
        {"event": "content_block_delta", "data": {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '{"city": '}}},
        {"event": "content_block_delta", "data": {"type": "content_block_delta", "index": 0, "delta": {"type": "input_json_delta", "partial_json": '"Rome"}'}}},
        {"event": "content_block_stop", "data": {"type": "content_block_stop", "index": 0}},
        {"event": "message_delta", "data": {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {"output_tokens": 6}}},
        {"event": "message_stop", "data": {"type": "message_stop"}},
    ]  # fmt: skip
    mock.script([{"events": events, "chunk_delay_ms": 5}])
    with client.chat.completions.stream(model="ant:claude-x", tools=TOOLS, messages=HI) as stream:
        final = stream.get_final_completion()
    calls = final.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.name == "get_weather"
    assert json.loads(calls[0].function.arguments) == {"city": "Rome"}


def test_tool_call_through_openai_passthrough(client: openai.OpenAI, mock: MockUpstream) -> None:
    call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "get_weather", "arguments": '{"city": "Lima"}'},
    }
    reply = {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "created": 1,
        "model": "gpt-4o",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
    }
    mock.script([{"json": reply}])
    completion = client.chat.completions.create(
        model="gpt-4o", tools=TOOLS, tool_choice="required", messages=HI
    )
    calls = completion.choices[0].message.tool_calls
    assert calls is not None
    assert calls[0].function.arguments == '{"city": "Lima"}'
    assert mock.requests()[-1]["json"]["tool_choice"] == "required"


@pytest.mark.parametrize(
    ("model", "status", "error"),
    [
        ("gpt-4o", 429, openai.RateLimitError),
        ("ant:claude-x", 401, openai.AuthenticationError),
        ("ant:claude-x", 500, openai.InternalServerError),
    ],
)
def test_upstream_errors_reach_the_sdk_without_secrets(
    client: openai.OpenAI, mock: MockUpstream, model: str, status: int, error: type[openai.APIStatusError]
) -> None:
    mock.script(
        [
            {
                "status": status,
                "json": {"error": {"message": f"bad key {OPENAI_KEY} {ANTHROPIC_KEY}"}},
                "headers": {"retry-after": "3"},
            }
        ]
    )
    with pytest.raises(error) as caught:
        client.chat.completions.create(model=model, messages=HI)
    text = caught.value.response.text
    assert "bad key" in text
    assert all(secret not in text for secret in SECRETS)


def test_untranslatable_request_is_a_400(client: openai.OpenAI, mock: MockUpstream) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="ant:claude-x", messages=HI, n=2)
    assert caught.value.param == "n"
    assert mock.requests() == []


def test_stream_cut_midway_raises_in_the_sdk(client: openai.OpenAI, mock: MockUpstream) -> None:
    mock.script([{"match": {"path": "/v1/messages"}, "drop_after": 3}])
    stream = client.chat.completions.create(model="ant:claude-x", messages=HI, stream=True)
    with pytest.raises(openai.APIError) as caught:
        for _ in stream:
            pass
    assert caught.value.message.startswith("upstream stream"), caught.value.message
    assert all(secret not in caught.value.message for secret in SECRETS)


def test_gateway_key_is_required(live: tuple[GatewayProcess, MockUpstream]) -> None:
    sdk = openai.OpenAI(api_key="wrong", base_url=f"{live[0].base_url}/v1", max_retries=0)
    with sdk, pytest.raises(openai.AuthenticationError) as caught:
        sdk.chat.completions.create(model="gpt-4o", messages=HI)
    assert caught.value.code == "invalid_api_key"
    assert GATEWAY_KEY not in caught.value.response.text
