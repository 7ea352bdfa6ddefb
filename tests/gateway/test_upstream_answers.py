"""A 200 that carries no completion: an ``{"error": …}`` body, or JSON where a stream was
asked for. The client gets the error in its dialect (502, or the status the error names,
secrets scrubbed), or the completion as a proper stream; never an empty ``end_turn``."""

import json

import anthropic
import httpx
import pytest
import respx

from routing.adapters.openai_answers import (
    carries_error,
    completion_as_chunk,
    embedded_error_status,
    is_json_media_type,
)
from tests.gateway.conftest import ANTHROPIC_BASE, OPENAI_BASE, OPENAI_KEYS
from tests.gateway.test_messages_endpoint import OPENAI_REPLY
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")

HELLO = [{"role": "user", "content": "hi"}]
LEAKED = OPENAI_KEYS[0]


async def _post(body: dict[str, object]) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=application), base_url="http://gw"
    ) as http:
        return await http.post("/v1/messages", json=body)


@pytest.mark.parametrize("stream", [False, True])
@pytest.mark.parametrize(
    ("error", "status", "error_type"),
    [
        ({"message": f"Provider returned error for key {LEAKED}", "code": 429}, 429, "rate_limit_error"),
        ({"message": f"upstream {LEAKED} overloaded", "code": 503}, 529, "overloaded_error"),
        ({"message": f"no such key {LEAKED}", "code": "invalid_api_key"}, 502, "api_error"),
        (f"bare string with {LEAKED}", 502, "api_error"),
    ],
    ids=["code-429", "code-503", "code-not-a-status", "bare-string"],
)
@respx.mock(assert_all_mocked=False)
async def test_an_error_body_with_status_200_is_an_error(
    respx_mock: respx.MockRouter, stream: bool, error: object, status: int, error_type: str
) -> None:
    # JSON either way: to a streamed request too (no event stream at all).
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(200, json={"error": error})
    response = await _post({"model": "gpt-4o", "max_tokens": 5, "stream": stream, "messages": HELLO})
    assert response.status_code == status
    payload = response.json()
    assert payload["type"] == "error"
    assert payload["error"]["type"] == error_type
    assert "answered 200 with an error" in payload["error"]["message"]
    assert LEAKED not in response.text
    assert "[redacted]" in payload["error"]["message"]


@pytest.mark.parametrize("stream", [False, True])
@respx.mock(assert_all_mocked=False)
async def test_a_body_without_choices_is_a_502(respx_mock: respx.MockRouter, stream: bool) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(
        200, json={"id": "x", "object": "chat.completion"}
    )
    response = await _post({"model": "gpt-4o", "max_tokens": 5, "stream": stream, "messages": HELLO})
    assert response.status_code == 502
    assert "no 'choices'" in response.json()["error"]["message"]


@respx.mock(assert_all_mocked=False)
async def test_a_whole_completion_to_a_stream_request_is_streamed(
    respx_mock: respx.MockRouter, client: anthropic.AsyncAnthropic
) -> None:
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(200, json=OPENAI_REPLY)
    async with client.messages.stream(model="gpt-4o", max_tokens=5, messages=HELLO) as stream:
        message = await stream.get_final_message()
    assert message.content[0].type == "text"
    assert message.content[0].text == "Hi there"
    assert message.stop_reason == "end_turn"
    assert message.usage.output_tokens == 3


@respx.mock(assert_all_mocked=False)
async def test_a_whole_tool_call_completion_to_a_stream_request_is_streamed(
    respx_mock: respx.MockRouter, client: anthropic.AsyncAnthropic
) -> None:
    call = {"id": "call_1", "type": "function", "function": {"name": "Bash", "arguments": '{"command":"ls"}'}}
    completion = {
        "id": "c",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": None, "tool_calls": [call]},
                "finish_reason": "tool_calls",
            }
        ],
    }
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").respond(200, json=completion)
    tool = {"name": "Bash", "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}}}
    async with client.messages.stream(model="gpt-4o", max_tokens=5, messages=HELLO, tools=[tool]) as stream:
        message = await stream.get_final_message()
    assert message.stop_reason == "tool_use"
    block = message.content[0]
    assert block.type == "tool_use"
    assert (block.name, block.input) == ("Bash", {"command": "ls"})


@respx.mock(assert_all_mocked=False)
async def test_json_to_a_stream_request_from_an_anthropic_provider_is_an_error(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages").respond(
        200, json={"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    )
    response = await _post({"model": "mockant:claude-x", "max_tokens": 5, "stream": True, "messages": HELLO})
    assert response.status_code == 502
    assert "not an event stream: Overloaded" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("content_type", "json_type"),
    [
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("application/problem+json", True),
        ("text/event-stream", False),
        ("text/event-stream; charset=utf-8", False),
        ("", False),
    ],
)
def test_json_media_types(content_type: str, json_type: bool) -> None:
    assert is_json_media_type(content_type) is json_type


@pytest.mark.parametrize(
    ("payload", "status", "is_error"),
    [
        ({"error": {"code": 429}}, 429, True),
        ({"error": {"status": "503"}}, 503, True),
        ({"error": {"code": 200}}, None, True),  # not an error status
        ({"error": {"code": True}}, None, True),
        ([{"error": {"code": 429, "status": "RESOURCE_EXHAUSTED"}}], 429, True),  # Gemini's list
        ({"error": "boom"}, None, True),
        ({"error": None, "choices": []}, None, False),
        ({"error": {"code": 500}, "choices": []}, 500, False),  # a completion wins
        ({"choices": []}, None, False),
    ],
)
def test_embedded_errors(payload: object, status: int | None, is_error: bool) -> None:
    assert embedded_error_status(payload) == status
    assert carries_error(payload) is is_error


def test_a_completion_as_one_chunk() -> None:
    chunk = completion_as_chunk(
        {
            "id": "c9",
            "choices": [
                {
                    "message": {
                        "role": "assistant",
                        "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}],
                        "reasoning_content": "thought",
                        "tool_calls": [{"id": "t1", "function": {"name": "f", "arguments": "{}"}}],
                    },
                    "finish_reason": "tool_calls",
                }
            ],
            "usage": {"prompt_tokens": 3, "completion_tokens": 1},
        }
    )
    assert json.loads(json.dumps(chunk)) == {
        "id": "c9",
        "object": "chat.completion.chunk",
        "choices": [
            {
                "index": 0,
                "delta": {
                    "role": "assistant",
                    "content": "ab",
                    "reasoning_content": "thought",
                    "tool_calls": [{"index": 0, "id": "t1", "function": {"name": "f", "arguments": "{}"}}],
                },
                "finish_reason": "tool_calls",
            }
        ],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1},
    }
