"""State providers need back across turns: Gemini thought signatures (inside tool_use ids)
and DeepSeek reasoning_content (only on tool-call turns)."""

import pytest

from routing.translation import (
    PLAIN_OPENAI,
    OpenAIToAnthropicStream,
    ProviderQuirks,
    anthropic_to_openai_request,
    build_tool_name_map,
    openai_to_anthropic_response,
)
from routing.translation.provider_state import (
    SKIP_SIGNATURE_VALIDATION,
    VALID_ID,
    split_tool_id,
    tool_id_with_signature,
)

GEMINI = ProviderQuirks(thought_signatures=True)
DEEPSEEK = ProviderQuirks(reasoning_on_tool_turns=True)
NAMES = build_tool_name_map([], sanitize=False)
SIGNATURE = "CiQBcsjafH0k8Lm+/w==Zx" * 20  # opaque, base64-ish, long


def gemini_call(call_id: str, signature: str | None = SIGNATURE) -> dict[str, object]:
    call: dict[str, object] = {
        "id": call_id,
        "type": "function",
        "function": {"name": "Bash", "arguments": '{"command": "ls"}'},
    }
    if signature:
        call["extra_content"] = {"google": {"thought_signature": signature}}
    return call


def completion(message: dict[str, object], finish: str = "tool_calls") -> dict[str, object]:
    return {"id": "c1", "choices": [{"index": 0, "message": message, "finish_reason": finish}]}


@pytest.mark.parametrize("signature", [SIGNATURE, "x", "ü-🙂", "a" * 5000])
def test_signature_round_trips_through_an_id_anthropic_accepts(signature: str) -> None:
    tool_id = tool_id_with_signature("function-call-123", signature)
    assert VALID_ID.match(tool_id)
    assert split_tool_id(tool_id) == ("function-call-123", signature)


def test_plain_ids_are_left_alone() -> None:
    assert tool_id_with_signature("call_1", None) == "call_1"
    assert split_tool_id("toolu_01ABC") == ("toolu_01ABC", None)
    assert split_tool_id("weird_vdmts_!!") == ("weird_vdmts_!!", None)


def _next_turn(tool_use: dict[str, object]) -> dict[str, object]:
    return {
        "max_tokens": 100,
        "messages": [
            {"role": "user", "content": "list files"},
            {"role": "assistant", "content": [tool_use]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_use["id"], "content": "a b"}],
            },
        ],
    }


def test_gemini_signature_goes_back_where_gemini_put_it() -> None:
    message = openai_to_anthropic_response(
        completion({"role": "assistant", "content": None, "tool_calls": [gemini_call("fc-1")]}),
        client_model="gemini",
        tool_names=NAMES,
        stop_sequences=None,
    )
    tool_use = message["content"][0]
    assert tool_use["type"] == "tool_use"
    assert tool_use["id"] != "fc-1"
    sent = anthropic_to_openai_request(
        _next_turn(tool_use), upstream_model="g", tool_names=NAMES, quirks=GEMINI
    )
    assistant, tool = sent["messages"][1], sent["messages"][2]
    assert assistant["tool_calls"] == [gemini_call("fc-1")]
    assert tool == {"role": "tool", "tool_call_id": "fc-1", "content": "a b"}


def test_other_providers_get_the_original_id_and_no_google_field() -> None:
    tool_use = {
        "type": "tool_use",
        "id": tool_id_with_signature("fc-1", SIGNATURE),
        "name": "Bash",
        "input": {},
    }
    sent = anthropic_to_openai_request(
        _next_turn(tool_use), upstream_model="m", tool_names=NAMES, quirks=PLAIN_OPENAI
    )
    assert sent["messages"][1]["tool_calls"][0] == {
        "id": "fc-1",
        "type": "function",
        "function": {"name": "Bash", "arguments": "{}"},
    }
    assert sent["messages"][2]["tool_call_id"] == "fc-1"


def test_parallel_calls_keep_the_signature_on_the_first_only() -> None:
    content = [
        {"type": "tool_use", "id": tool_id_with_signature("a", SIGNATURE), "name": "Bash", "input": {}},
        {"type": "tool_use", "id": "b", "name": "Bash", "input": {}},
    ]
    body = {"messages": [{"role": "user", "content": "go"}, {"role": "assistant", "content": content}]}
    calls = anthropic_to_openai_request(body, upstream_model="g", tool_names=NAMES, quirks=GEMINI)[
        "messages"
    ][1]["tool_calls"]
    assert calls[0]["extra_content"] == {"google": {"thought_signature": SIGNATURE}}
    assert "extra_content" not in calls[1]


def test_unsigned_history_gets_googles_validator_stand_in() -> None:
    content = [{"type": "tool_use", "id": "toolu_from_claude", "name": "Bash", "input": {}}]
    body = {"messages": [{"role": "user", "content": "go"}, {"role": "assistant", "content": content}]}
    call = anthropic_to_openai_request(body, upstream_model="g", tool_names=NAMES, quirks=GEMINI)["messages"][
        1
    ]["tool_calls"][0]
    assert call["extra_content"] == {"google": {"thought_signature": SKIP_SIGNATURE_VALIDATION}}


def test_streamed_tool_calls_carry_the_signature_too() -> None:
    translator = OpenAIToAnthropicStream(client_model="g", tool_names=NAMES)
    call = {"index": 0, **gemini_call("fc-9")}
    events = translator.feed({"id": "c", "choices": [{"index": 0, "delta": {"tool_calls": [call]}}]})
    start = next(payload for name, payload in events if name == "content_block_start")
    assert split_tool_id(start["content_block"]["id"]) == ("fc-9", SIGNATURE)


def _turn(*blocks: dict[str, object]) -> dict[str, object]:
    return {"role": "assistant", "content": list(blocks)}


THINK = {"type": "thinking", "thinking": "Let me think.", "signature": ""}


def test_deepseek_gets_reasoning_back_only_on_tool_call_turns() -> None:
    tool_use = {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {}}
    body = {
        "messages": [
            {"role": "user", "content": "hi"},
            _turn(THINK, {"type": "text", "text": "Hello."}),
            {"role": "user", "content": "list files"},
            _turn(THINK, tool_use),
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "a"}]},
            _turn({"type": "tool_use", "id": "call_2", "name": "Bash", "input": {}}),
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_2", "content": "b"}]},
        ]
    }
    messages = anthropic_to_openai_request(
        body, upstream_model="deepseek-reasoner", tool_names=NAMES, quirks=DEEPSEEK
    )["messages"]
    assistants = [m for m in messages if m["role"] == "assistant"]
    assert "reasoning_content" not in assistants[0]
    assert assistants[1]["reasoning_content"] == "Let me think."
    assert assistants[2]["reasoning_content"] == ""
    plain = anthropic_to_openai_request(body, upstream_model="gpt-4o", tool_names=NAMES)["messages"]
    assert not any("reasoning_content" in m for m in plain)


def test_deepseek_reasoning_becomes_thinking_whole_and_streamed() -> None:
    message = openai_to_anthropic_response(
        completion({"role": "assistant", "content": "42", "reasoning_content": "6 times 7"}, finish="stop"),
        client_model="deepseek-reasoner",
        tool_names=NAMES,
        stop_sequences=None,
    )
    assert message["content"] == [
        {"type": "thinking", "thinking": "6 times 7", "signature": ""},
        {"type": "text", "text": "42"},
    ]
    translator = OpenAIToAnthropicStream(client_model="deepseek-reasoner", tool_names=NAMES)
    events = []
    for delta in ({"reasoning_content": "6 times"}, {"reasoning_content": " 7"}, {"content": "42"}):
        events += translator.feed({"id": "c", "choices": [{"index": 0, "delta": delta}]})
    events += translator.finish()
    deltas = [p["delta"] for name, p in events if name == "content_block_delta"]
    assert deltas[:2] == [
        {"type": "thinking_delta", "thinking": "6 times"},
        {"type": "thinking_delta", "thinking": " 7"},
    ]
    assert {"type": "text_delta", "text": "42"} in deltas
