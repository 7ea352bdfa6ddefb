"""OpenAI Chat Completions response → Anthropic Messages response."""

from typing import Any

import anthropic
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.translation import (
    ToolNameMap,
    build_tool_name_map,
    openai_to_anthropic_response,
    parse_tool_arguments,
)

IDENTITY = ToolNameMap()


def completion(message: dict[str, Any], finish_reason: str | None = "stop", **choice: Any) -> dict[str, Any]:
    return {
        "id": "chatcmpl-abc123",
        "object": "chat.completion",
        "model": "gpt-4o-2024-08-06",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", **message},
                "finish_reason": finish_reason,
                **choice,
            }
        ],
        "usage": {"prompt_tokens": 100, "completion_tokens": 20, "total_tokens": 120},
    }


def translate(
    resp: Any, stop_sequences: list[str] | None = None, tool_names: ToolNameMap = IDENTITY
) -> dict[str, Any]:
    return openai_to_anthropic_response(
        resp, client_model="claude-sonnet-4-5", tool_names=tool_names, stop_sequences=stop_sequences
    )


def test_text_answer() -> None:
    out = translate(completion({"content": "Hello!"}))
    assert out == {
        "id": "msg_chatcmpl-abc123",
        "type": "message",
        "role": "assistant",
        "model": "claude-sonnet-4-5",
        "content": [{"type": "text", "text": "Hello!"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 100, "output_tokens": 20},
    }
    anthropic.types.Message.model_validate(out)


def test_reasoning_then_text_then_tool_calls() -> None:
    names = build_tool_name_map([{"name": "mcp__srv__do.it"}], sanitize=True)
    message = {
        "content": "Let me check.",
        "reasoning_content": "User wants a listing.",
        "tool_calls": [
            {
                "id": "call_1",
                "type": "function",
                "function": {"name": "Bash", "arguments": '{"command": "ls"}'},
            },
            {"id": "call_2", "type": "function", "function": {"name": "mcp__srv__do_it", "arguments": ""}},
        ],
    }
    out = translate(completion(message, "tool_calls"), tool_names=names)
    assert out["content"] == [
        {"type": "thinking", "thinking": "User wants a listing.", "signature": ""},
        {"type": "text", "text": "Let me check."},
        {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "ls"}},
        {"type": "tool_use", "id": "call_2", "name": "mcp__srv__do.it", "input": {}},
    ]
    assert out["stop_reason"] == "tool_use"
    anthropic.types.Message.model_validate(out)


def test_reasoning_under_the_openrouter_name() -> None:
    out = translate(completion({"content": "4", "reasoning": "2+2"}))
    assert out["content"][0] == {"type": "thinking", "thinking": "2+2", "signature": ""}


def test_missing_tool_call_id_is_generated() -> None:
    call = {"type": "function", "function": {"name": "Read", "arguments": "{}"}}
    block = translate(completion({"content": None, "tool_calls": [call]}, "tool_calls"))["content"][0]
    assert block["id"].startswith("toolu_")
    assert len(block["id"]) > len("toolu_")


def test_legacy_function_call() -> None:
    message = {"content": None, "function_call": {"name": "Read", "arguments": '{"p": 1}'}}
    out = translate(completion(message, "function_call"))
    assert out["content"][0]["name"] == "Read"
    assert out["content"][0]["input"] == {"p": 1}
    assert out["stop_reason"] == "tool_use"


@pytest.mark.parametrize(
    ("finish_reason", "has_tools", "stop_reason"),
    [
        ("stop", False, "end_turn"),
        ("length", False, "max_tokens"),
        ("tool_calls", True, "tool_use"),
        ("function_call", True, "tool_use"),
        ("content_filter", False, "refusal"),
        (None, False, "end_turn"),
        ("something_new", False, "end_turn"),
        ("stop", True, "tool_use"),  # some providers say "stop" after tool calls
        ("length", True, "max_tokens"),  # truncated tool arguments stay visible as such
    ],
)
def test_finish_reason_mapping(finish_reason: str | None, has_tools: bool, stop_reason: str) -> None:
    calls = [{"id": "c", "type": "function", "function": {"name": "Bash", "arguments": "{}"}}]
    message = {"content": "x", **({"tool_calls": calls} if has_tools else {})}
    assert translate(completion(message, finish_reason))["stop_reason"] == stop_reason


@pytest.mark.parametrize(
    ("choice", "stop_sequences", "stop_reason", "stop_sequence"),
    [
        ({}, ["END"], "end_turn", None),  # OpenAI itself never says which stop matched
        ({"stop_reason": "END"}, ["END"], "stop_sequence", "END"),  # vLLM
        ({"matched_stop": "END"}, ["END"], "stop_sequence", "END"),  # SGLang
        ({"stop_reason": "OTHER"}, ["END"], "end_turn", None),  # not one the client asked for
        ({"stop_reason": "END"}, None, "stop_sequence", "END"),
        ({"stop_reason": 128001}, ["END"], "end_turn", None),  # vLLM: a stop token id
        ({"matched_stop": 2}, None, "end_turn", None),
    ],
)
def test_stop_sequence_only_when_the_provider_names_it(
    choice: dict[str, Any], stop_sequences: list[str] | None, stop_reason: str, stop_sequence: str | None
) -> None:
    out = translate(completion({"content": "a"}, "stop", **choice), stop_sequences=stop_sequences)
    assert (out["stop_reason"], out["stop_sequence"]) == (stop_reason, stop_sequence)


def test_refusal_becomes_text_with_refusal_stop_reason() -> None:
    out = translate(completion({"content": None, "refusal": "I can't help with that."}))
    assert out["content"] == [{"type": "text", "text": "I can't help with that."}]
    assert out["stop_reason"] == "refusal"


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"prompt_tokens": 100, "completion_tokens": 20}, {"input_tokens": 100, "output_tokens": 20}),
        (
            {"prompt_tokens": 100, "completion_tokens": 20, "prompt_tokens_details": {"cached_tokens": 80}},
            {"input_tokens": 20, "output_tokens": 20, "cache_read_input_tokens": 80},
        ),
        (
            {"prompt_tokens": 100, "completion_tokens": 5, "prompt_tokens_details": {"cached_tokens": 0}},
            {"input_tokens": 100, "output_tokens": 5, "cache_read_input_tokens": 0},
        ),
        (
            {"prompt_tokens": 50, "completion_tokens": 1, "prompt_cache_hit_tokens": 32, "prompt_cache_miss_tokens": 18},
            {"input_tokens": 18, "output_tokens": 1, "cache_read_input_tokens": 32},
        ),
        ({"prompt_tokens": 10, "completion_tokens": 1, "prompt_tokens_details": None}, {"input_tokens": 10, "output_tokens": 1}),
        ({"prompt_tokens": "10"}, {"input_tokens": 0, "output_tokens": 0}),
        (None, {"input_tokens": 0, "output_tokens": 0}),
    ],
)  # fmt: skip
def test_usage(usage: Any, expected: dict[str, int]) -> None:
    resp = completion({"content": "x"})
    resp["usage"] = usage
    assert translate(resp)["usage"] == expected


@pytest.mark.parametrize(
    "resp",
    [
        completion({"content": None}),
        completion({"content": ""}),
        {"choices": []},
        {},
        {"choices": [{"index": 0, "message": None, "finish_reason": None}]},
        "not a dict",
    ],
)
def test_empty_answers_give_a_valid_empty_message(resp: Any) -> None:
    out = translate(resp)
    assert out["content"] == []
    assert out["stop_reason"] == "end_turn"
    assert out["id"].startswith("msg_")
    anthropic.types.Message.model_validate(out)


def test_content_given_as_parts() -> None:
    content = [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}, {"type": "other"}]
    assert translate(completion({"content": content}))["content"] == [{"type": "text", "text": "ab"}]


def test_message_id_is_derived_and_cleaned() -> None:
    resp = completion({"content": "x"})
    resp["id"] = "gen/123:abc"
    assert translate(resp)["id"] == "msg_gen123abc"


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [
        ('{"a": 1}', {"a": 1}),
        ("", {}),
        ("   ", {}),
        (None, {}),
        ({"already": "object"}, {"already": "object"}),
        ('```json\n{"a": 1}\n```', {"a": 1}),
        ('{"a": 1,}', {"a": 1}),
        ('{"a": [1, 2,],}', {"a": [1, 2]}),
        ('{"command": "ls -la', {"command": "ls -la"}),  # cut off by max_tokens
        ('{"a": {"b": [1, 2', {"a": {"b": [1, 2]}}),
        ('{"a": "x\\"', {"a": 'x"'}),
        ('Sure! {"a": 1}', {"a": 1}),
        ("not json", {"_raw_arguments": "not json"}),
        ("[1, 2]", {"_raw_arguments": "[1, 2]"}),
        ('{"a": tru', {"_raw_arguments": '{"a": tru'}),
        (42, {"_raw_arguments": "42"}),
    ],
)
def test_parse_tool_arguments(raw: Any, parsed: dict[str, Any]) -> None:
    assert parse_tool_arguments(raw) == parsed


def test_unparseable_arguments_do_not_crash_the_response() -> None:
    call = {"id": "c", "type": "function", "function": {"name": "Bash", "arguments": "{{{oops"}}
    out = translate(completion({"content": None, "tool_calls": [call]}, "tool_calls"))
    assert out["content"][0]["input"] == {"_raw_arguments": "{{{oops"}


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=60))
def test_parse_tool_arguments_never_raises(raw: str) -> None:
    assert isinstance(parse_tool_arguments(raw), dict)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3)
    | st.dictionaries(
        st.sampled_from(["choices", "message", "content", "tool_calls", "function", "arguments", "name", "id",
                         "usage", "finish_reason", "reasoning_content", "index", "prompt_tokens_details"]),
        children,
        max_size=5,
    ),
    max_leaves=25,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_any_upstream_json_gives_a_valid_message(resp: Any) -> None:
    anthropic.types.Message.model_validate(translate(resp))
