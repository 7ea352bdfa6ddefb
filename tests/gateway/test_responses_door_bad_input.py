"""Bad input through /v1/responses: each a 400 in OpenAI's envelope (``invalid_request_error``,
``param`` naming the field), never a 500, and nothing sent upstream. Then random JSON bodies
to the chat-provider door (Hypothesis): whatever comes, the status is below 500."""

import asyncio
from typing import Any

import httpx
import pytest
import respx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from providers.models import Provider
from tests.gateway.responses_door_helpers import (
    CHAT_URL,
    FUNCTION_TOOL,
    chat_completion,
    families,
)
from vandamme.asgi import application

__all__ = ["families"]

MODEL = "chatty:up-model"
USER = {"role": "user", "content": "Hi"}
# (body fields over a valid request to the chat provider, the param the 400 must name)
BAD_INPUT: dict[str, tuple[dict[str, Any], str]] = {
    "unknown item type": ({"input": [USER, {"type": "telepathy", "thought": "x"}]}, "input.1.type"),
    "item not an object": ({"input": [USER, "loose"]}, "input.1"),
    "function_call without call_id": (
        {"input": [USER, {"type": "function_call", "name": "exec_command", "arguments": "{}"}]},
        "input.1.call_id",
    ),
    "function_call_output without output": (
        {"input": [USER, {"type": "function_call_output", "call_id": "c1"}]},
        "input.1.output",
    ),
    "message without content": ({"input": [{"role": "user"}]}, "input.0.content"),
    "message with a bad role": ({"input": [{"role": "wizard", "content": "x"}]}, "input.0.role"),
    "bad content part type": (
        {"input": [{"role": "user", "content": [{"type": "input_video", "url": "x"}]}]},
        "input.0.content.0.type",
    ),
    "input missing": ({"input": None}, "input"),
    "unknown tool type": ({"tools": [FUNCTION_TOOL, {"type": "teleporter"}]}, "tools.1.type"),
    "function tool without name": ({"tools": [{"type": "function", "parameters": {}}]}, "tools.0.name"),
    "function tool with bad parameters": (
        {"tools": [{"type": "function", "name": "f", "parameters": "object"}]},
        "tools.0.parameters",
    ),
    "bad tool_choice mode": ({"tools": [FUNCTION_TOOL], "tool_choice": "sometimes"}, "tool_choice"),
    "tool_choice naming an undeclared tool": (
        {"tools": [FUNCTION_TOOL], "tool_choice": {"type": "function", "name": "nope"}},
        "tool_choice.name",
    ),
    "stream not a bool": ({"stream": "yes"}, "stream"),
    "max_output_tokens 0": ({"max_output_tokens": 0}, "max_output_tokens"),
    "max_output_tokens not a number": ({"max_output_tokens": "many"}, "max_output_tokens"),
    "json_schema without schema": (
        {"text": {"format": {"type": "json_schema", "name": "out"}}},
        "text.format.schema",
    ),
    "bad reasoning effort": ({"reasoning": {"effort": "maximal"}}, "reasoning.effort"),
    "instructions not a string": ({"instructions": ["be", "brief"]}, "instructions"),
    "previous_response_id to a chat provider": ({"previous_response_id": "resp_123"}, "previous_response_id"),
}


@pytest.fixture
def upstream() -> Any:
    with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
        yield router.post(CHAT_URL).respond(json=chat_completion({"content": "fine"}))


@pytest.mark.parametrize("case", BAD_INPUT)
@pytest.mark.parametrize("model", [MODEL, "anty:claude-sonnet-4-5"])
async def test_bad_input_is_a_400_naming_the_field(
    case: str,
    model: str,
    families: dict[str, Provider],
    upstream: respx.Route,
    gateway_http: httpx.AsyncClient,
) -> None:
    fields, param = BAD_INPUT[case]
    body = {"model": model, "input": [USER], **fields}
    answer = await gateway_http.post("/v1/responses", json={k: v for k, v in body.items() if v is not None})
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param, error
    assert error["message"]
    assert not upstream.called


async def test_a_good_body_reaches_the_upstream(
    families: dict[str, Provider], upstream: respx.Route, gateway_http: httpx.AsyncClient
) -> None:
    """The control: the same valid base request the cases above spoil."""
    answer = await gateway_http.post("/v1/responses", json={"model": MODEL, "input": [USER]})
    assert answer.status_code == 200, answer.text
    assert upstream.called


async def test_previous_response_id_passes_to_a_responses_provider(
    families: dict[str, Provider], gateway_http: httpx.AsyncClient
) -> None:
    with respx.mock(assert_all_mocked=False) as router:
        from tests.gateway.responses_door_helpers import NATIVE_URL, native_response

        route = router.post(NATIVE_URL).respond(json=native_response())
        answer = await gateway_http.post(
            "/v1/responses", json={"model": "native:gpt-5", "input": "Hi", "previous_response_id": "resp_1"}
        )
    assert answer.status_code == 200
    assert b"resp_1" in route.calls.last.request.content


# --- fuzz ---------------------------------------------------------------------------------

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 10**6)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=8,
)
_words = st.sampled_from(
    [
        "message",
        "function_call",
        "function_call_output",
        "reasoning",
        "input_text",
        "input_image",
        "output_text",
        "function",
        "namespace",
        "web_search",
        "json_schema",
        "user",
        "assistant",
        "developer",
        "system",
        "auto",
        "none",
        "required",
        "",
        "custom",
        "tool_search",
    ]
)
_keys = st.sampled_from(
    [
        "type",
        "role",
        "content",
        "name",
        "call_id",
        "arguments",
        "output",
        "text",
        "tools",
        "parameters",
        "summary",
        "encrypted_content",
        "image_url",
        "id",
        "namespace",
        "schema",
        "format",
        "effort",
    ]
)
_value: st.SearchStrategy[Any] = st.deferred(lambda: _words | _json | st.lists(_object, max_size=3) | _object)
_object: st.SearchStrategy[dict[str, Any]] = st.dictionaries(_keys, _value, max_size=4)
_body = st.fixed_dictionaries(
    {"model": st.just(MODEL)},
    optional={
        "input": st.text(max_size=5) | st.lists(_object | _json, max_size=4),
        "instructions": _json,
        "tools": st.lists(_object, max_size=3) | _json,
        "tool_choice": _words | _object | _json,
        "stream": st.booleans() | _json,
        "max_output_tokens": st.integers(-2, 10**7) | _json,
        "text": st.fixed_dictionaries({"format": _object}) | _json,
        "reasoning": _object | _json,
        "parallel_tool_calls": _json,
        "temperature": _json,
        "previous_response_id": _json,
        "store": _json,
        "include": _json,
        "metadata": _json,
    },
)


async def _status(body: dict[str, Any]) -> int:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=application), base_url="http://gw") as gw:
        answer = await gw.post("/v1/responses", json=body)
    return answer.status_code


@pytest.mark.usefixtures("families")
@settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
@given(body=_body)
def test_random_bodies_never_make_a_500(body: dict[str, Any]) -> None:
    with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
        router.post(CHAT_URL).respond(json=chat_completion({"content": "fine"}))
        status = asyncio.run(_status(body))
    assert status < 500, body
