"""/v1/messages end to end in process: the official anthropic SDK → ASGI app → respx upstream."""

import json

import anthropic
import httpx
import pytest
import respx
from anthropic._constants import ANTHROPIC_API_VERSION

from routing.sse import SSEDecoder
from tests.gateway.conftest import ANTHROPIC_BASE, ANTHROPIC_KEY, OPENAI_BASE, OPENAI_KEYS
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")

OPENAI_REPLY = {
    "id": "chatcmpl-1",
    "object": "chat.completion",
    "model": "gpt-4o",
    "choices": [
        {"index": 0, "message": {"role": "assistant", "content": "Hi there"}, "finish_reason": "stop"}
    ],
    "usage": {"prompt_tokens": 12, "completion_tokens": 3, "prompt_tokens_details": {"cached_tokens": 2}},
}


def sse(*chunks: dict[str, object], done: bool = True) -> bytes:
    body = b"".join(f"data: {json.dumps(c)}\n\n".encode() for c in chunks)
    return body + (b"data: [DONE]\n\n" if done else b"")


def openai_chunk(delta: dict[str, object], finish: str | None = None) -> dict[str, object]:
    return {
        "id": "c1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


@respx.mock(assert_all_mocked=False)
async def test_create_through_openai_provider(
    client: anthropic.AsyncAnthropic, respx_mock: respx.MockRouter
) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=OPENAI_REPLY)
    message = await client.messages.create(
        model="gpt-4o",
        max_tokens=32000,
        timeout=60,  # the SDK insists on streaming for large max_tokens unless told a timeout
        system="Be brief.",
        messages=[{"role": "user", "content": "Hello"}],
    )
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hi there"
    assert message.model == "gpt-4o"
    assert message.stop_reason == "end_turn"
    assert message.usage.input_tokens == 10
    assert message.usage.output_tokens == 3
    assert message.usage.cache_read_input_tokens == 2
    sent = json.loads(route.calls.last.request.content)
    assert sent["max_tokens"] == 32000  # never clamped
    assert sent["messages"][0] == {"role": "system", "content": "Be brief."}
    assert route.calls.last.request.headers["authorization"] in {f"Bearer {k}" for k in OPENAI_KEYS}


@respx.mock(assert_all_mocked=False)
async def test_stream_through_openai_provider(
    client: anthropic.AsyncAnthropic, respx_mock: respx.MockRouter
) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        content=sse(
            openai_chunk({"role": "assistant", "content": ""}),
            openai_chunk({"content": "Hel"}),
            openai_chunk({"content": "lo"}),
            openai_chunk({}, finish="stop"),
            {"id": "c1", "choices": [], "usage": {"prompt_tokens": 7, "completion_tokens": 2}},
        ),
        headers={"content-type": "text/event-stream"},
    )
    async with client.messages.stream(
        model="mockai:gpt-4o", max_tokens=100, messages=[{"role": "user", "content": "Hi"}]
    ) as stream:
        final = await stream.get_final_message()
    assert final.content[0].type == "text"
    assert final.content[0].text == "Hello"
    assert final.usage.output_tokens == 2
    assert final.usage.input_tokens == 7
    assert final.stop_reason == "end_turn"


@respx.mock(assert_all_mocked=False)
async def test_tool_round_trip_through_openai_provider(
    client: anthropic.AsyncAnthropic, respx_mock: respx.MockRouter
) -> None:
    tool_call = {
        "id": "call_1",
        "type": "function",
        "function": {"name": "Bash", "arguments": '{"command": "ls"}'},
    }
    reply = {
        **OPENAI_REPLY,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [tool_call]},
                "finish_reason": "tool_calls",
            }
        ],
    }
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(json=reply)
    tools = [
        {
            "name": "Bash",
            "description": "run",
            "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
        }
    ]
    first = await client.messages.create(
        model="gpt-4o", max_tokens=50, tools=tools, messages=[{"role": "user", "content": "list files"}]
    )
    assert first.stop_reason == "tool_use"
    tool_use = first.content[-1]
    assert tool_use.type == "tool_use"
    assert tool_use.name == "Bash"
    assert tool_use.input == {"command": "ls"}
    route.respond(json=OPENAI_REPLY)
    await client.messages.create(
        model="gpt-4o",
        max_tokens=50,
        tools=tools,
        messages=[
            {"role": "user", "content": "list files"},
            {"role": "assistant", "content": [b.model_dump() for b in first.content]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_use.id, "content": "a.txt"}],
            },
        ],
    )
    sent = json.loads(route.calls.last.request.content)
    assert sent["messages"][-2]["tool_calls"][0]["function"]["name"] == "Bash"
    assert sent["messages"][-1] == {"role": "tool", "tool_call_id": tool_use.id, "content": "a.txt"}


@respx.mock(assert_all_mocked=False)
async def test_anthropic_provider_is_a_passthrough(
    client: anthropic.AsyncAnthropic, respx_mock: respx.MockRouter
) -> None:
    upstream_reply = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-x",
        "content": [{"type": "text", "text": "ok"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 1, "output_tokens": 1},
    }
    route = respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages").respond(json=upstream_reply)
    body_extras = {
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "context_management": {"edits": []},
    }
    message = await client.messages.create(
        model="mockant:claude-x",
        max_tokens=4096,
        messages=[
            {
                "role": "user",
                "content": [{"type": "text", "text": "hi", "cache_control": {"type": "ephemeral"}}],
            }
        ],
        extra_body=body_extras,
        extra_headers={"anthropic-beta": "interleaved-thinking-2025-05-14"},
    )
    assert message.content[0].text == "ok"
    request = route.calls.last.request
    sent = json.loads(request.content)
    assert sent["model"] == "claude-x"
    assert sent["thinking"] == body_extras["thinking"]
    assert sent["context_management"] == {"edits": []}
    assert sent["messages"][0]["content"][0]["cache_control"] == {"type": "ephemeral"}
    assert request.headers["x-api-key"] == ANTHROPIC_KEY
    assert request.headers["anthropic-beta"] == "interleaved-thinking-2025-05-14"
    assert request.headers["anthropic-version"] == ANTHROPIC_API_VERSION  # the client's, forwarded
    assert "client-key" not in request.headers.values()


@respx.mock(assert_all_mocked=False)
async def test_anthropic_stream_relayed_byte_for_byte(respx_mock: respx.MockRouter) -> None:
    events = (
        b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
        b'event: content_block_start\ndata: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}\n\n'
        b'event: ping\ndata: {"type": "ping"}\n\n'
        b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"yo"}}\n\n'
        b'event: content_block_stop\ndata: {"type":"content_block_stop","index":0}\n\n'
        b'event: message_delta\ndata: {"type":"message_delta","delta":{"stop_reason":"end_turn","stop_sequence":null},"usage":{"output_tokens":2}}\n\n'
        b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    )
    respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages").respond(
        content=events, headers={"content-type": "text/event-stream"}
    )
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        response = await http.post(
            "/v1/messages?beta=true",
            json={
                "model": "mockant:claude-x",
                "max_tokens": 5,
                "stream": True,
                "messages": [{"role": "user", "content": "x"}],
            },
        )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.content == events


async def _post(body: object, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await http.post(
            "/v1/messages", content=content, headers={"content-type": "application/json", **headers}
        )


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "not valid JSON"),
        ([1, 2], "JSON object"),
        ({"max_tokens": 5, "messages": []}, "model"),
        ({"model": "gpt-4o", "messages": []}, "max_tokens"),
        ({"model": "gpt-4o", "max_tokens": "5", "messages": []}, "max_tokens"),
        ({"model": "gpt-4o", "max_tokens": 5}, "messages"),
        (
            {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "robot", "content": "x"}]},
            "messages.0.role",
        ),
    ],
)
async def test_invalid_requests_get_anthropic_400_naming_the_field(body: object, field: str) -> None:
    response = await _post(body)
    assert response.status_code == 400
    payload = response.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == "invalid_request_error"
    assert field in payload["error"]["message"]


async def test_unavailable_provider_prefix_names_configured_providers() -> None:
    from providers.models import Provider

    await Provider.objects.acreate(name="poe", base_url="https://api.poe.com/v1", enabled=False)
    response = await _post({"model": "poe:some-bot", "max_tokens": 5, "messages": []})
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "poe" in message
    assert "mockai" in message
    assert "mockant" in message


async def test_body_over_the_limit_is_413(settings: object) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000  # type: ignore[attr-defined]
    response = await _post(
        {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "x" * 5000}]}
    )
    assert response.status_code == 413
    assert response.json()["error"]["type"] == "request_too_large"


async def test_gateway_key_required_when_configured(settings: object) -> None:
    settings.PROXY_API_KEY = "gateway-secret-key"  # type: ignore[attr-defined]
    denied = await _post({"model": "gpt-4o", "max_tokens": 5, "messages": []}, **{"x-api-key": "wrong"})
    assert denied.status_code == 401
    assert denied.json()["error"]["type"] == "authentication_error"
    assert "gateway-secret-key" not in denied.text


@respx.mock(assert_all_mocked=False)
async def test_upstream_429_keeps_retry_after(respx_mock: respx.MockRouter) -> None:
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        429, json={"error": {"message": "slow down"}}, headers={"retry-after": "30"}
    )
    response = await _post(
        {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    )
    assert route.call_count == 2  # each key once; a 30 s wait is not waited out
    assert response.status_code == 429
    assert response.headers["retry-after"] == "30"
    assert response.json()["error"]["type"] == "rate_limit_error"
    for key in OPENAI_KEYS:
        assert key not in response.text


@respx.mock(assert_all_mocked=False)
async def test_upstream_500_is_retried_then_mapped(
    respx_mock: respx.MockRouter, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("routing.failover._backoff_delay", lambda attempt: 0)
    route = respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        500, json={"error": {"message": "boom"}}
    )
    response = await _post(
        {"model": "gpt-4o", "max_tokens": 5, "messages": [{"role": "user", "content": "x"}]}
    )
    assert route.call_count == 2  # max_retries=1
    assert response.status_code == 502
    assert response.json()["error"]["type"] == "api_error"


@respx.mock(assert_all_mocked=False)
async def test_mid_stream_failure_becomes_error_event(respx_mock: respx.MockRouter) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        content=sse(openai_chunk({"content": "par"}), {"error": {"message": "overloaded"}}, done=False),
        headers={"content-type": "text/event-stream"},
    )
    response = await _post(
        {"model": "gpt-4o", "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "x"}]}
    )
    assert response.status_code == 200
    events = SSEDecoder().feed(response.content)
    assert events[0].event == "message_start"
    assert events[-1].event == "error"
    assert json.loads(events[-1].data)["error"]["message"].endswith("overloaded")


async def test_probe_and_health() -> None:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        assert (await http.head("/")).status_code == 200
        assert (await http.get("/")).status_code == 200
        assert (await http.get("/health")).json() == {"status": "ok"}


async def test_models_lists_aliases_in_both_formats() -> None:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        anthropic_list = (await http.get("/v1/models", headers={"anthropic-version": "2023-06-01"})).json()
        openai_list = (await http.get("/v1/models")).json()
    assert "fast" in [m["id"] for m in anthropic_list["data"]]
    assert anthropic_list["data"][0]["type"] == "model"
    assert openai_list["object"] == "list"
    assert "fast" in [m["id"] for m in openai_list["data"]]
