"""/v1/chat/completions failures: every one leaves as OpenAI error JSON with the right status
(or, once a stream has started, as a ``data: {"error": …}`` chunk), never with a secret."""

import json
from collections.abc import AsyncIterator

import httpx
import openai
import pytest
import respx

from routing.sse import SSEDecoder
from tests.gateway.chat_helpers import openai_sse, post_chat
from tests.gateway.conftest import ANTHROPIC_BASE, ANTHROPIC_KEY, OPENAI_BASE, OPENAI_KEYS
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")
HI = [{"role": "user", "content": "hi"}]


def assert_openai_error(
    response: httpx.Response, status: int, error_type: str, message_part: str = ""
) -> dict[str, object]:
    assert response.status_code == status
    assert response.headers["content-type"] == "application/json"
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == error_type
    assert message_part in error["message"]
    return error


@pytest.mark.parametrize(
    ("body", "message_part", "param"),
    [
        (b"{not json", "not valid JSON", None),
        ([1, 2], "JSON object", None),
        ({"messages": HI}, "model", None),
        ({"model": "gpt-4o"}, "messages", "messages"),
        ({"model": "gpt-4o", "messages": []}, "messages", "messages"),
        (
            {"model": "gpt-4o", "messages": [{"role": "robot", "content": "x"}]},
            "messages.0.role",
            "messages.0.role",
        ),
        ({"model": "gpt-4o", "messages": HI, "stream": "yes"}, "stream", "stream"),
        ({"model": "gpt-4o", "messages": HI, "stream_options": True}, "stream_options", "stream_options"),
        ({"model": "mockai:", "messages": HI}, "model", None),
        ({"model": "mockant:claude", "messages": HI, "n": 3}, "n:", "n"),
        ({"model": "mockant:claude", "messages": HI, "logit_bias": {"1": 5}}, "logit_bias", "logit_bias"),
        (
            {
                "model": "mockant:claude",
                "messages": [
                    *HI,
                    {
                        "role": "assistant",
                        "tool_calls": [
                            {"id": "c", "type": "function", "function": {"name": "f", "arguments": "{oops"}}
                        ],
                    },
                ],
            },
            "not valid JSON",
            "messages.1.tool_calls.0.function.arguments",
        ),
    ],
)
async def test_bad_requests_are_openai_400s_naming_the_field(
    body: object, message_part: str, param: str | None
) -> None:
    error = assert_openai_error(await post_chat(body), 400, "invalid_request_error", message_part)
    assert error["param"] == param


async def test_sdk_sees_a_bad_request_error_with_param(openai_sdk: openai.AsyncOpenAI) -> None:
    with pytest.raises(openai.BadRequestError) as caught:
        await openai_sdk.chat.completions.create(model="mockant:claude", messages=HI, n=2)
    assert caught.value.status_code == 400
    assert caught.value.param == "n"
    assert caught.value.type == "invalid_request_error"


async def test_wrong_method_body_size_and_gateway_key(settings: object) -> None:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        assert_openai_error(await http.get("/v1/chat/completions"), 405, "invalid_request_error", "POST")
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # type: ignore[attr-defined]
    too_big = await post_chat({"model": "gpt-4o", "messages": [{"role": "user", "content": "x" * 5000}]})
    assert assert_openai_error(too_big, 413, "invalid_request_error")["code"] == "request_too_large"
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000_000  # type: ignore[attr-defined]
    settings.PROXY_API_KEY = "gateway-secret-key"  # type: ignore[attr-defined]
    denied = await post_chat({"model": "gpt-4o", "messages": HI}, authorization="Bearer wrong")
    assert assert_openai_error(denied, 401, "invalid_request_error")["code"] == "invalid_api_key"
    assert "gateway-secret-key" not in denied.text


async def test_sdk_authentication_error(openai_sdk: openai.AsyncOpenAI, settings: object) -> None:
    settings.PROXY_API_KEY = "gateway-secret-key"  # type: ignore[attr-defined]
    with pytest.raises(openai.AuthenticationError) as caught:
        await openai_sdk.chat.completions.create(model="gpt-4o", messages=HI)
    assert caught.value.code == "invalid_api_key"


@respx.mock(assert_all_mocked=False)
async def test_upstream_429_keeps_retry_after_and_hides_keys(
    openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        429, json={"error": {"message": f"slow down, {OPENAI_KEYS[0]}"}}, headers={"retry-after": "7"}
    )
    with pytest.raises(openai.RateLimitError) as caught:
        await openai_sdk.chat.completions.create(model="gpt-4o", messages=HI)
    assert caught.value.response.headers["retry-after"] == "7"
    assert caught.value.code == "rate_limit_exceeded"
    assert caught.value.type == "requests"
    for key in OPENAI_KEYS:
        assert key not in caught.value.response.text


@respx.mock(assert_all_mocked=False)
async def test_upstream_key_echo_is_scrubbed(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages").respond(
        401,
        json={
            "type": "error",
            "error": {"type": "authentication_error", "message": f"invalid x-api-key {ANTHROPIC_KEY}"},
        },
    )
    response = await post_chat({"model": "mockant:claude", "messages": HI})
    assert_openai_error(response, 401, "invalid_request_error", "invalid x-api-key")
    assert ANTHROPIC_KEY not in response.text


@respx.mock(assert_all_mocked=False)
async def test_anthropic_overloaded_is_openai_503(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("routing.failover._backoff_delay", lambda attempt: 0)
    respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages").respond(
        529, json={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    response = await post_chat({"model": "mockant:claude", "messages": HI})
    assert assert_openai_error(response, 503, "server_error", "Overloaded")["code"] == "service_unavailable"


class BreakingStream(httpx.AsyncByteStream):
    def __init__(self, first: bytes) -> None:
        self.first = first

    async def __aiter__(self) -> AsyncIterator[bytes]:
        yield self.first
        raise httpx.ReadError("connection reset")


@respx.mock(assert_all_mocked=False)
async def test_passthrough_stream_broken_midway_ends_with_an_error_chunk(
    respx_mock: respx.MockRouter,
) -> None:
    first = openai_sse(
        {"id": "c", "object": "chat.completion.chunk", "choices": [{"index": 0, "delta": {"content": "par"}}]}
    )
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=BreakingStream(first)
        )
    )
    response = await post_chat({"model": "gpt-4o", "stream": True, "messages": HI})
    assert response.status_code == 200
    assert response.content.startswith(first)
    events = SSEDecoder().feed(response.content)
    assert json.loads(events[-1].data)["error"]["message"] == "upstream stream failed (ReadError)"


@respx.mock(assert_all_mocked=False)
async def test_sdk_raises_on_an_upstream_error_event(
    openai_sdk: openai.AsyncOpenAI, respx_mock: respx.MockRouter
) -> None:
    start = {
        "type": "message_start",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "content": [],
            "usage": {"input_tokens": 1, "output_tokens": 0},
        },
    }
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    body = f"event: message_start\ndata: {json.dumps(start)}\n\nevent: error\ndata: {json.dumps(error)}\n\n"
    respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages").respond(
        content=body.encode(), headers={"content-type": "text/event-stream"}
    )
    stream = await openai_sdk.chat.completions.create(model="mockant:claude", messages=HI, stream=True)
    with pytest.raises(openai.APIError, match="upstream error: Overloaded"):
        async for _ in stream:
            pass


async def test_models_list_with_the_sdk_and_errors_in_the_callers_dialect(
    openai_sdk: openai.AsyncOpenAI, settings: object
) -> None:
    models = [model.id async for model in openai_sdk.models.list()]
    assert "fast" in models
    settings.PROXY_API_KEY = "gateway-secret-key"  # type: ignore[attr-defined]
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        as_openai = await http.get("/v1/models")
        as_anthropic = await http.get("/v1/models", headers={"anthropic-version": "2023-06-01"})
    assert_openai_error(as_openai, 401, "invalid_request_error")
    assert as_anthropic.json()["error"]["type"] == "authentication_error"
