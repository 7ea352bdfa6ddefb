"""Anthropic Messages response → OpenAI chat completion (the OpenAI door's answers)."""

import json
from typing import Any

import openai
import pytest

from routing.translation import ToolNameMap, anthropic_to_openai_response, build_tool_name_map
from routing.translation.anthropic_fields import completion_id, finish_reason, merged_usage, openai_usage

IDENTITY = ToolNameMap()


def message(
    content: list[dict[str, Any]], stop_reason: str | None = "end_turn", **usage: int
) -> dict[str, Any]:
    return {
        "id": "msg_01AbC",
        "type": "message",
        "role": "assistant",
        "model": "claude-up",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5, **usage},
    }


def translate(payload: Any, tool_names: ToolNameMap = IDENTITY) -> dict[str, Any]:
    return anthropic_to_openai_response(
        payload, client_model="my-alias", tool_names=tool_names, created=1_700_000_000
    )


def test_text_answer() -> None:
    completion = translate(message([{"type": "text", "text": "Hello"}, {"type": "text", "text": " there"}]))
    assert completion == {
        "id": "chatcmpl-01AbC",
        "object": "chat.completion",
        "created": 1_700_000_000,
        "model": "my-alias",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello there", "refusal": None},
                "logprobs": None,
                "finish_reason": "stop",
            }
        ],
        "usage": {
            "prompt_tokens": 10,
            "completion_tokens": 5,
            "total_tokens": 15,
            "prompt_tokens_details": {"cached_tokens": 0},
        },
    }
    parsed = openai.types.chat.ChatCompletion.model_validate(completion)  # the SDK's own model accepts it
    assert parsed.choices[0].message.content == "Hello there"


def test_tool_use_thinking_and_server_blocks() -> None:
    names = build_tool_name_map([{"name": "mcp.fs.read"}], sanitize=True)
    completion = translate(
        message(
            [
                {"type": "thinking", "thinking": "Let me think.", "signature": "sig"},
                {"type": "redacted_thinking", "data": "xyz"},
                {"type": "text", "text": "Reading."},
                {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"q": "x"}},
                {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []},
                {"type": "tool_use", "id": "toolu_1", "name": "mcp_fs_read", "input": {"path": "/tmp/ä"}},
                {"type": "tool_use", "id": "toolu_2", "name": "Other", "input": {}},
            ],
            stop_reason="tool_use",
        ),
        names,
    )
    choice = completion["choices"][0]
    assert choice["finish_reason"] == "tool_calls"
    assert choice["message"]["content"] == "Reading."
    assert choice["message"]["reasoning_content"] == "Let me think."
    assert choice["message"]["tool_calls"] == [
        {
            "id": "toolu_1",
            "type": "function",
            "function": {"name": "mcp.fs.read", "arguments": '{"path": "/tmp/ä"}'},
        },
        {"id": "toolu_2", "type": "function", "function": {"name": "Other", "arguments": "{}"}},
    ]
    assert json.loads(choice["message"]["tool_calls"][0]["function"]["arguments"]) == {"path": "/tmp/ä"}


def test_only_tool_calls_means_null_content() -> None:
    completion = translate(
        message([{"type": "tool_use", "id": "t", "name": "f", "input": {}}], stop_reason="tool_use")
    )
    assert completion["choices"][0]["message"]["content"] is None


@pytest.mark.parametrize(
    ("stop_reason", "finish"),
    [
        ("end_turn", "stop"),
        ("stop_sequence", "stop"),
        ("max_tokens", "length"),
        ("model_context_window_exceeded", "length"),
        ("tool_use", "tool_calls"),
        ("refusal", "content_filter"),
        ("pause_turn", "stop"),
        (None, "stop"),
        ("something_new", "stop"),
        (7, "stop"),
    ],
)
def test_finish_reason(stop_reason: Any, finish: str) -> None:
    assert finish_reason(stop_reason) == finish


@pytest.mark.parametrize(
    ("usage", "expected"),
    [
        ({"input_tokens": 10, "output_tokens": 5}, (10, 5, 0)),
        ({"input_tokens": 10, "output_tokens": 5, "cache_read_input_tokens": 90}, (100, 5, 90)),
        (
            {
                "input_tokens": 10,
                "output_tokens": 5,
                "cache_read_input_tokens": 90,
                "cache_creation_input_tokens": 50,
            },
            (150, 5, 90),
        ),
        ({"input_tokens": "10", "output_tokens": -1, "cache_read_input_tokens": None}, (0, 0, 0)),
        (None, (0, 0, 0)),
    ],
)
def test_usage(usage: Any, expected: tuple[int, int, int]) -> None:
    prompt, completion, cached = expected
    assert openai_usage(usage) == {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
        "prompt_tokens_details": {"cached_tokens": cached},
    }


def test_merged_usage_keeps_later_counts_and_ignores_junk() -> None:
    start = merged_usage({}, {"input_tokens": 10, "output_tokens": 1, "cache_read_input_tokens": 3})
    assert merged_usage(
        start, {"output_tokens": 40, "server_tool_use": {"web_search_requests": 1}, "input_tokens": None}
    ) == {
        "input_tokens": 10,
        "output_tokens": 40,
        "cache_read_input_tokens": 3,
    }
    assert merged_usage(start, "junk") == start


@pytest.mark.parametrize(
    ("upstream_id", "prefix_kept"),
    [
        ("msg_01AbC", "chatcmpl-01AbC"),
        ("weird id/with*chars", "chatcmpl-weirdidwithchars"),
        (None, None),
        ("msg_", None),
    ],
)
def test_completion_id(upstream_id: Any, prefix_kept: str | None) -> None:
    value = completion_id(upstream_id)
    assert value.startswith("chatcmpl-")
    if prefix_kept is not None:
        assert value == prefix_kept
    else:
        assert len(value) > len("chatcmpl-")


@pytest.mark.parametrize(
    "payload", [None, [], {}, {"content": "text?"}, {"content": [None, 5, {"type": "text"}]}]
)
def test_junk_from_upstream_gives_an_empty_valid_completion(payload: Any) -> None:
    completion = translate(payload)
    assert completion["choices"][0]["message"]["content"] is None
    openai.types.chat.ChatCompletion.model_validate(completion)
