"""Multi-turn tool loops through /v1/responses, as Codex runs them (``store: false``, the
conversation sent back in ``input``): a namespace tool flattened upstream and restored on the
way back, and the provider's reasoning carried across a tool turn in ``reasoning`` items'
``encrypted_content`` (Anthropic thinking blocks with their signatures, DeepSeek's
reasoning_content)."""

import json
from typing import Any

import httpx
import openai
import pytest
import respx

from providers.models import Provider
from tests.gateway.conftest import make_provider
from tests.gateway.responses_door_helpers import (
    ANT_URL,
    CHAT_URL,
    FUNCTION_TOOL,
    NAMESPACE_TOOL,
    ant_block,
    ant_end,
    ant_sse,
    ant_start,
    ant_text_stream,
    chat_chunk,
    chat_sse,
    chat_text_stream,
    chat_tool_stream,
    door_events,
    door_stream,
    families,
    sent_body,
)

__all__ = ["families"]

SSE = {"content-type": "text/event-stream"}
DEEPSEEK_BASE = "http://deepseek.upstream.test/v1"
THINKING = {"type": "thinking", "thinking": "The user wants a shell: run echo.", "signature": "sig/+==ABC123"}


@pytest.fixture
def respx_mock() -> Any:
    with respx.mock(assert_all_mocked=False, assert_all_called=False) as router:
        yield router


def _next_input(first_input: list[dict[str, Any]], response: dict[str, Any], output: str) -> list[Any]:
    """Turn 2's input as a store:false client builds it: turn 1's output items back as they
    came, then the call's output."""
    [call] = [item for item in response["output"] if item["type"] == "function_call"]
    items = [
        {k: v for k, v in item.items() if k != "status" or item["type"] != "reasoning"}
        for item in response["output"]
    ]
    return [
        *first_input,
        *items,
        {"type": "function_call_output", "call_id": call["call_id"], "output": output},
    ]


@pytest.mark.parametrize("family", ["chat", "anthropic"])
async def test_a_namespace_tool_round_trip(
    family: str,
    families: dict[str, Provider],
    respx_mock: respx.MockRouter,
    gateway_http: httpx.AsyncClient,
    openai_sdk: openai.AsyncOpenAI,
) -> None:
    if family == "chat":
        model, url = "chatty:up-model", CHAT_URL
        route = respx_mock.post(url)
        flat_name = None
        first = chat_tool_stream("multi_agent_v1__spawn_agent", ['{"ta', 'sk": 1}'])
        second = chat_text_stream("spawned")
    else:
        model, url = "anty:claude-sonnet-4-5", ANT_URL
        route = respx_mock.post(url)
        flat_name = None
        tool = ant_block(
            0,
            {"type": "tool_use", "id": "toolu_9", "name": "multi_agent_v1__spawn_agent", "input": {}},
            {"type": "input_json_delta", "partial_json": '{"ta'},
            {"type": "input_json_delta", "partial_json": 'sk": 1}'},
        )
        first = ant_sse(ant_start(), *tool, *ant_end("tool_use"))
        second = ant_text_stream("spawned")
    route.side_effect = [
        httpx.Response(200, content=first, headers=SSE),
        httpx.Response(200, content=second, headers=SSE),
    ]
    first_input: list[Any] = [{"role": "user", "content": "spawn"}]
    body = {"model": model, "input": first_input, "tools": [FUNCTION_TOOL, NAMESPACE_TOOL]}
    _, response = door_events(await door_stream(gateway_http, body))
    # Upstream: the namespace's function under one flat name.
    sent = sent_body(route, 0)
    names = [t["function"]["name"] if family == "chat" else t["name"] for t in sent["tools"]]
    assert "exec_command" in names
    [flat_name] = [name for name in names if name != "exec_command"]
    assert "spawn_agent" in flat_name
    # Back: name and namespace as the client declared them.
    [call] = response["output"]
    assert (call["type"], call["name"], call.get("namespace")) == (
        "function_call",
        "spawn_agent",
        "multi_agent_v1",
    )
    assert json.loads(call["arguments"]) == {"task": 1}
    # Turn 2 (through the SDK): the call and its output flattened again upstream.
    async with openai_sdk.responses.stream(
        model=model,
        input=_next_input(first_input, response, "agent-7"),
        tools=[FUNCTION_TOOL, NAMESPACE_TOOL],
    ) as stream:
        final = await stream.get_final_response()
    assert final.output_text == "spawned"
    upstream = json.dumps(sent_body(route, 1))
    assert f'"{flat_name}"' in upstream
    assert "agent-7" in upstream
    if family == "chat":
        messages = sent_body(route, 1)["messages"]
        assert messages[-2]["tool_calls"][0]["function"]["name"] == flat_name
        assert messages[-1] == {"role": "tool", "tool_call_id": call["call_id"], "content": "agent-7"}
    else:
        messages = sent_body(route, 1)["messages"]
        assert messages[-2]["content"][-1]["name"] == flat_name
        assert messages[-1]["content"][0]["tool_use_id"] == call["call_id"]


async def test_anthropic_thinking_and_signature_survive_a_tool_turn(
    families: dict[str, Provider], respx_mock: respx.MockRouter, gateway_http: httpx.AsyncClient
) -> None:
    thinking = ant_block(
        0,
        {"type": "thinking", "thinking": "", "signature": ""},
        {"type": "thinking_delta", "thinking": THINKING["thinking"][:10]},
        {"type": "thinking_delta", "thinking": THINKING["thinking"][10:]},
        {"type": "signature_delta", "signature": THINKING["signature"]},
    )
    tool = ant_block(
        1,
        {"type": "tool_use", "id": "toolu_1", "name": "exec_command", "input": {}},
        {"type": "input_json_delta", "partial_json": '{"cmd": "echo hi"}'},
    )
    route = respx_mock.post(ANT_URL)
    route.side_effect = [
        httpx.Response(
            200, content=ant_sse(ant_start(), *thinking, *tool, *ant_end("tool_use")), headers=SSE
        ),
        httpx.Response(200, content=ant_text_stream("done"), headers=SSE),
    ]
    first_input: list[Any] = [{"role": "user", "content": "run"}]
    body = {
        "model": "anty:claude-sonnet-4-5",
        "input": first_input,
        "tools": [FUNCTION_TOOL],
        "reasoning": {"effort": "high"},
        "include": ["reasoning.encrypted_content"],
        "store": False,
    }
    _, response = door_events(await door_stream(gateway_http, body))
    reasoning, call = response["output"]
    assert reasoning["type"] == "reasoning"
    assert reasoning["encrypted_content"]
    assert call["type"] == "function_call"
    _, final = door_events(
        await door_stream(gateway_http, {**body, "input": _next_input(first_input, response, "hi")})
    )
    assert final["status"] == "completed"
    assistant = sent_body(route, 1)["messages"][-2]
    assert assistant["role"] == "assistant"
    # Byte-identical: the signed thinking block first, then the tool_use.
    assert assistant["content"][0] == THINKING
    assert json.dumps(assistant["content"][0]) == json.dumps(THINKING)
    assert assistant["content"][1]["type"] == "tool_use"
    assert assistant["content"][1]["id"] == "toolu_1"


@pytest.fixture
def deepseek(transactional_db: None) -> Provider:
    return make_provider(
        "deep",
        base_url=DEEPSEEK_BASE,
        keys=("sk-test-deepseek-key-eeeeeeeeeeee",),
        family="deepseek",
        max_retries=0,
    )


async def test_deepseek_reasoning_content_survives_a_tool_turn(
    deepseek: Provider, respx_mock: respx.MockRouter, gateway_http: httpx.AsyncClient
) -> None:
    url = f"{DEEPSEEK_BASE}/chat/completions"
    head = {
        "index": 0,
        "id": "call_7",
        "type": "function",
        "function": {"name": "exec_command", "arguments": ""},
    }
    first = chat_sse(
        chat_chunk({"role": "assistant", "reasoning_content": "Need a "}),
        chat_chunk({"reasoning_content": "shell."}),
        chat_chunk({"tool_calls": [head]}),
        chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": '{"cmd": "ls"}'}}]}),
        chat_chunk({}, "tool_calls"),
    )
    route = respx_mock.post(url)
    route.side_effect = [
        httpx.Response(200, content=first, headers=SSE),
        httpx.Response(200, content=chat_text_stream("ok"), headers=SSE),
    ]
    first_input: list[Any] = [{"role": "user", "content": "list"}]
    body = {"model": "deep:deepseek-reasoner", "input": first_input, "tools": [FUNCTION_TOOL]}
    _, response = door_events(await door_stream(gateway_http, body))
    reasoning, _call = response["output"]
    assert reasoning["type"] == "reasoning"
    assert reasoning["encrypted_content"]
    assert "".join(part["text"] for part in reasoning["summary"]) in ("", "Need a shell.")
    door_events(await door_stream(gateway_http, {**body, "input": _next_input(first_input, response, "a b")}))
    assistant = sent_body(route, 1)["messages"][-2]
    assert assistant["reasoning_content"] == "Need a shell."
    assert assistant["tool_calls"][0]["id"] == "call_7"
