"""The provider quirks that are built-in middleware: on by default for their family, and
what their request hooks do to a translated body (the round trips through the Anthropic
door with a real upstream are in tests/upstreams/test_openai_compatible.py)."""

from typing import Any

import pytest

from routing.middleware.base import MiddlewareSpec
from routing.middleware.builtins import builtin_specs
from routing.middleware.chain import Hook, build_chain
from routing.middleware.quirks import DeepSeekReasoningContent, GeminiThoughtSignatures
from routing.middleware.run import HookRun
from routing.translation import ToolNameMap, anthropic_to_openai_request
from routing.translation.provider_state import tool_id_with_signature

BASH = {"name": "bash", "input_schema": {"type": "object"}}


def _call(call_id: str) -> dict[str, Any]:
    return {"type": "tool_use", "id": call_id, "name": "bash", "input": {"cmd": "ls"}}


def _client_body(*assistant_turns: list[dict[str, Any]]) -> dict[str, Any]:
    messages: list[dict[str, Any]] = [{"role": "user", "content": "hi"}]
    for blocks in assistant_turns:
        messages.append({"role": "assistant", "content": blocks})
        results = [
            {"type": "tool_result", "tool_use_id": b["id"], "content": "ok"}
            for b in blocks
            if b["type"] == "tool_use"
        ]
        messages.append({"role": "user", "content": results or "go on"})
    return {"model": "m", "max_tokens": 10, "tools": [BASH], "messages": messages}


async def _sent(middleware: Any, client_body: dict[str, Any], door: str = "messages") -> list[dict[str, Any]]:
    body = anthropic_to_openai_request(client_body, upstream_model="m", tool_names=ToolNameMap())
    run = HookRun(door, "chat_completions", "p", "m", "", streamed=False, client_body=client_body)
    context = run.context(Hook(MiddlewareSpec("x.Y"), middleware))
    out = await middleware.on_request(body, context)
    return [m for m in out["messages"] if m["role"] == "assistant"]


@pytest.mark.parametrize(
    ("family", "expected"),
    [
        ("gemini", ["routing.middleware.quirks.GeminiThoughtSignatures"]),
        ("deepseek", ["routing.middleware.quirks.DeepSeekReasoningContent"]),
        ("openai", []),
        ("openrouter", []),
    ],
)
def test_a_quirk_is_on_by_default_for_its_family(family: str, expected: list[str]) -> None:
    assert [spec.path for spec in builtin_specs(family)] == expected
    chain = build_chain(builtin_specs(family))
    assert (chain is not None) == bool(expected)
    sanitizing = [spec.path for spec in builtin_specs(family, tool_name_sanitization=True)]
    assert sanitizing == ["routing.middleware.tool_names.ToolNameSanitization", *expected]


async def test_gemini_gets_each_signature_back_where_it_was_and_the_stand_in_for_unsigned_history() -> None:
    signed = tool_id_with_signature("call-1", "c2lnbmF0dXJl")
    client_body = _client_body([_call(signed), _call("call-2")], [_call("toolu_other_model")])
    first, second = await _sent(GeminiThoughtSignatures({}), client_body)
    assert first["tool_calls"][0]["id"] == "call-1"
    assert first["tool_calls"][0]["extra_content"] == {"google": {"thought_signature": "c2lnbmF0dXJl"}}
    assert "extra_content" not in first["tool_calls"][1]  # Gemini signs the first of parallel calls
    assert second["tool_calls"][0]["extra_content"] == {
        "google": {"thought_signature": "skip_thought_signature_validator"}
    }


async def test_gemini_signatures_are_left_to_an_openai_client() -> None:
    client_body = _client_body([_call(tool_id_with_signature("call-1", "sig"))])
    (message,) = await _sent(GeminiThoughtSignatures({}), client_body, door="chat_completions")
    assert "extra_content" not in message["tool_calls"][0]


async def test_deepseek_gets_its_reasoning_back_on_tool_turns_only_even_empty() -> None:
    thinking = {"type": "thinking", "thinking": "Need the file list.", "signature": ""}
    client_body = _client_body(
        [thinking, {"type": "text", "text": "Listing."}, _call("call-1")],
        [{"type": "text", "text": "Done."}],
        [_call("call-2")],
    )
    tool_turn, plain_turn, bare_tool_turn = await _sent(DeepSeekReasoningContent({}), client_body)
    assert tool_turn["reasoning_content"] == "Need the file list."
    assert "reasoning_content" not in plain_turn
    assert bare_tool_turn["reasoning_content"] == ""
