"""OpenAI Chat Completions request → Anthropic Messages request (the OpenAI door's mapping)."""

import base64
import itertools
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.translation import (
    ToolNameMap,
    TranslationError,
    anthropic_to_openai_request,
    build_tool_name_map,
    openai_to_anthropic_request,
    reasoning_effort_for_budget,
)
from routing.translation.openai_request import JSON_INSTRUCTION, THINKING_BUDGETS

IDENTITY = ToolNameMap()
DEFAULT_MAX = 4096
USER_HI = {"role": "user", "content": "hi"}
PNG = "iVBORw0KGgo="


def translate(body: dict[str, Any], tool_names: ToolNameMap = IDENTITY) -> dict[str, Any]:
    return openai_to_anthropic_request(
        {"model": "claude-x", **body},
        upstream_model="claude-up",
        tool_names=tool_names,
        default_max_tokens=DEFAULT_MAX,
    )


def translate_messages(*messages: dict[str, Any]) -> dict[str, Any]:
    return translate({"messages": list(messages)})


BASH_TOOL = {
    "type": "function",
    "function": {
        "name": "Bash",
        "description": "run a command",
        "parameters": {"type": "object", "properties": {"command": {"type": "string"}}},
    },
}


def test_minimal_request() -> None:
    assert translate({"messages": [USER_HI]}) == {
        "model": "claude-up",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": DEFAULT_MAX,
    }


@pytest.mark.parametrize(
    ("messages", "system"),
    [
        ([{"role": "system", "content": "Be brief."}, USER_HI], "Be brief."),
        ([{"role": "developer", "content": "Be brief."}, USER_HI], "Be brief."),
        (
            [{"role": "system", "content": "One."}, USER_HI, {"role": "developer", "content": "Two."}],
            "One.\n\nTwo.",
        ),
        (
            [
                {"role": "system", "content": [{"type": "text", "text": "A"}, {"type": "text", "text": "B"}]},
                USER_HI,
            ],
            "A\n\nB",
        ),
        ([{"role": "system", "content": ""}, USER_HI], None),
        (
            [
                {
                    "role": "system",
                    "content": [{"type": "text", "text": "Big", "cache_control": {"type": "ephemeral"}}],
                },
                USER_HI,
            ],
            [{"type": "text", "text": "Big", "cache_control": {"type": "ephemeral"}}],
        ),
    ],
)
def test_system_and_developer_messages_become_system(messages: list[dict[str, Any]], system: Any) -> None:
    out = translate({"messages": messages})
    assert out.get("system") == system
    assert all(turn["role"] in ("user", "assistant") for turn in out["messages"])


@pytest.mark.parametrize(
    ("part", "block"),
    [
        ({"type": "text", "text": "look"}, {"type": "text", "text": "look"}),
        (
            {"type": "image_url", "image_url": {"url": f"data:image/png;base64,{PNG}", "detail": "high"}},
            {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        ),
        (
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        ),
        (
            {"type": "image_url", "image_url": "https://example.com/cat.jpg"},
            {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
        ),
        (
            {
                "type": "file",
                "file": {"filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERg=="},
            },
            {
                "type": "document",
                "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERg=="},
                "title": "a.pdf",
            },
        ),
        (
            {
                "type": "file",
                "file": {"file_data": "data:text/plain;base64," + base64.b64encode(b"notes").decode()},
            },
            {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "notes"}},
        ),
        (
            {"type": "text", "text": "cached", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "cached", "cache_control": {"type": "ephemeral"}},
        ),
    ],
)
def test_user_content_parts(part: dict[str, Any], block: dict[str, Any]) -> None:
    out = translate_messages({"role": "user", "content": [{"type": "text", "text": "first"}, part]})
    assert out["messages"] == [{"role": "user", "content": [{"type": "text", "text": "first"}, block]}]


@pytest.mark.parametrize(
    ("part", "field"),
    [
        (
            {"type": "input_audio", "input_audio": {"data": "AAA", "format": "wav"}},
            "messages.0.content.0.type",
        ),
        ({"type": "image_url", "image_url": {"url": "ftp://x/y.png"}}, "messages.0.content.0.image_url.url"),
        (
            {"type": "image_url", "image_url": {"url": "data:image/png,notbase64"}},
            "messages.0.content.0.image_url.url",
        ),
        ({"type": "image_url", "image_url": 5}, "messages.0.content.0.image_url"),
        ({"type": "file", "file": {"file_id": "file-abc"}}, "messages.0.content.0.file.file_id"),
        (
            {"type": "file", "file": {"file_data": "data:audio/wav;base64,AAAA"}},
            "messages.0.content.0.file.file_data",
        ),
        ({"type": "video", "video": {}}, "messages.0.content.0.type"),
        ({"text": "no type"}, "messages.0.content.0.type"),
    ],
)
def test_untranslatable_user_parts_name_the_field(part: dict[str, Any], field: str) -> None:
    with pytest.raises(TranslationError) as caught:
        translate_messages({"role": "user", "content": [part]})
    assert caught.value.field == field


def test_assistant_tool_calls_and_tool_results() -> None:
    out = translate(
        {
            "tools": [BASH_TOOL],
            "messages": [
                {"role": "user", "content": "list files"},
                {
                    "role": "assistant",
                    "content": "Let me look.",
                    "tool_calls": [
                        {
                            "id": "call_1",
                            "type": "function",
                            "function": {"name": "Bash", "arguments": '{"command": "ls"}'},
                        },
                        {"id": "call_2", "type": "function", "function": {"name": "Bash", "arguments": ""}},
                    ],
                },
                {"role": "tool", "tool_call_id": "call_1", "content": "a.txt"},
                {"role": "tool", "tool_call_id": "call_2", "content": [{"type": "text", "text": "b.txt"}]},
                {"role": "user", "content": "thanks"},
            ],
        }
    )
    assert out["messages"] == [
        {"role": "user", "content": "list files"},
        {
            "role": "assistant",
            "content": [
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "call_1", "name": "Bash", "input": {"command": "ls"}},
                {"type": "tool_use", "id": "call_2", "name": "Bash", "input": {}},
            ],
        },
        {
            "role": "user",
            "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": "a.txt"},
                {"type": "tool_result", "tool_use_id": "call_2", "content": "b.txt"},
                {"type": "text", "text": "thanks"},
            ],
        },
    ]


def test_assistant_without_content_is_dropped_and_turns_merge() -> None:
    out = translate_messages(
        USER_HI,
        {"role": "assistant", "content": ""},
        {"role": "user", "content": "again"},
        {"role": "assistant", "content": None, "refusal": None},
        {"role": "assistant", "content": [{"type": "refusal", "refusal": "No."}]},
    )
    assert out["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "hi"}, {"type": "text", "text": "again"}]},
        {"role": "assistant", "content": "No."},
    ]


def test_empty_tool_result_has_no_content() -> None:
    out = translate_messages(
        USER_HI,
        {
            "role": "assistant",
            "tool_calls": [{"id": "c", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
        },
        {"role": "tool", "tool_call_id": "c", "content": ""},
    )
    assert out["messages"][-1] == {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "c"}]}


@pytest.mark.parametrize(
    ("arguments", "message"),
    [("{not json", "not valid JSON"), ("[1, 2]", "JSON object"), ("7", "JSON object")],
)
def test_bad_tool_call_arguments_are_a_clear_error(arguments: str, message: str) -> None:
    with pytest.raises(TranslationError) as caught:
        translate_messages(
            USER_HI,
            {
                "role": "assistant",
                "tool_calls": [
                    {"id": "c", "type": "function", "function": {"name": "f", "arguments": arguments}}
                ],
            },
        )
    assert caught.value.field == "messages.1.tool_calls.0.function.arguments"
    assert message in caught.value.message


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"messages": [{"role": "system", "content": "only system"}]}, "messages"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({"messages": [{"role": "function", "name": "f", "content": "x"}]}, "messages.0.role"),
        (
            {"messages": [USER_HI, {"role": "assistant", "function_call": {"name": "f"}}]},
            "messages.1.function_call",
        ),
        ({"messages": [USER_HI, {"role": "tool", "content": "x"}]}, "messages.1.tool_call_id"),
        (
            {"messages": [{"role": "system", "content": [{"type": "image_url"}]}, USER_HI]},
            "messages.0.content.0.type",
        ),
        ({"messages": [USER_HI], "n": 2}, "n"),
        ({"messages": [USER_HI], "logprobs": True}, "logprobs"),
        ({"messages": [USER_HI], "top_logprobs": 3}, "top_logprobs"),
        ({"messages": [USER_HI], "logit_bias": {"50256": -100}}, "logit_bias"),
        ({"messages": [USER_HI], "presence_penalty": 0.5}, "presence_penalty"),
        ({"messages": [USER_HI], "frequency_penalty": -1}, "frequency_penalty"),
        ({"messages": [USER_HI], "audio": {"voice": "alloy", "format": "wav"}}, "audio"),
        ({"messages": [USER_HI], "modalities": ["text", "audio"]}, "modalities"),
        ({"messages": [USER_HI], "web_search_options": {}}, "web_search_options"),
        ({"messages": [USER_HI], "functions": [{"name": "f"}]}, "functions"),
        ({"messages": [USER_HI], "tools": [{"type": "custom", "custom": {"name": "x"}}]}, "tools.0.type"),
        ({"messages": [USER_HI], "tools": [BASH_TOOL], "tool_choice": "sometimes"}, "tool_choice"),
        (
            {"messages": [USER_HI], "tools": [BASH_TOOL], "tool_choice": {"type": "custom"}},
            "tool_choice.type",
        ),
        ({"messages": [USER_HI], "max_tokens": 0}, "max_tokens"),
        ({"messages": [USER_HI], "max_completion_tokens": "10"}, "max_completion_tokens"),
        ({"messages": [USER_HI], "reasoning_effort": "maximal"}, "reasoning_effort"),
        ({"messages": [USER_HI], "reasoning_effort": "high", "max_tokens": 1024}, "max_tokens"),
        ({"messages": [USER_HI], "temperature": "hot"}, "temperature"),
        ({"messages": [USER_HI], "stop": [1]}, "stop.0"),
        ({"messages": [USER_HI], "response_format": {"type": "yaml"}}, "response_format.type"),
        ({"messages": [USER_HI], "user": 5}, "user"),
    ],
)
def test_bad_or_untranslatable_requests_name_the_field(body: dict[str, Any], field: str) -> None:
    with pytest.raises(TranslationError) as caught:
        translate(body)
    assert caught.value.field == field


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        ({"n": 1, "logprobs": False, "presence_penalty": 0, "frequency_penalty": 0.0}, {}),
        ({"seed": 7, "store": True, "metadata": {"k": "v"}, "service_tier": "auto", "verbosity": "low"}, {}),
        ({"temperature": 0.2, "top_p": 0.9}, {"temperature": 0.2, "top_p": 0.9}),
        ({"temperature": 1.5}, {"temperature": 1.5}),  # as sent: the provider's 400 says its range
        ({"top_k": 40}, {"top_k": 40}),
        ({"stop": "END"}, {"stop_sequences": ["END"]}),
        ({"stop": ["A", "B"]}, {"stop_sequences": ["A", "B"]}),
        ({"stop": []}, {}),
        ({"user": "u-1"}, {"metadata": {"user_id": "u-1"}}),
        ({"safety_identifier": "s-1"}, {"metadata": {"user_id": "s-1"}}),
        ({"max_tokens": 100}, {"max_tokens": 100}),
        ({"max_completion_tokens": 200, "max_tokens": 100}, {"max_tokens": 200}),
        ({"stream": True, "stream_options": {"include_usage": True}}, {"stream": True}),
        ({"stream": False}, {}),
        ({"reasoning_effort": "minimal"}, {}),
        ({"reasoning_effort": "none"}, {}),
        (
            {"reasoning_effort": "low"},
            {"max_tokens": DEFAULT_MAX + 2048, "thinking": {"type": "enabled", "budget_tokens": 2048}},
        ),
        (
            {"reasoning_effort": "high", "max_completion_tokens": 10000},
            {"max_tokens": 10000, "thinking": {"type": "enabled", "budget_tokens": 9999}},
        ),
        (
            {"reasoning_effort": "medium", "max_completion_tokens": 50000},
            {"max_tokens": 50000, "thinking": {"type": "enabled", "budget_tokens": 8192}},
        ),
        ({"response_format": {"type": "text"}}, {}),
    ],
)
def test_top_level_fields(extra: dict[str, Any], expected: dict[str, Any]) -> None:
    out = translate({"messages": [USER_HI], **extra})
    base = {"model": "claude-up", "messages": [{"role": "user", "content": "hi"}], "max_tokens": DEFAULT_MAX}
    assert out == {**base, **expected}


@pytest.mark.parametrize(
    ("extra", "tools", "tool_choice"),
    [
        ({}, True, None),
        ({"tool_choice": "auto"}, True, {"type": "auto"}),
        ({"tool_choice": "none"}, True, {"type": "none"}),
        ({"tool_choice": "required"}, True, {"type": "any"}),
        (
            {"tool_choice": {"type": "function", "function": {"name": "Bash"}}},
            True,
            {"type": "tool", "name": "Bash"},
        ),
        ({"parallel_tool_calls": False}, True, {"type": "auto", "disable_parallel_tool_use": True}),
        (
            {"parallel_tool_calls": False, "tool_choice": "required"},
            True,
            {"type": "any", "disable_parallel_tool_use": True},
        ),
        ({"parallel_tool_calls": False, "tool_choice": "none"}, True, {"type": "none"}),
        ({"parallel_tool_calls": True}, True, None),
        ({"tools": [], "tool_choice": "auto"}, False, None),
    ],
)
def test_tools_and_tool_choice(
    extra: dict[str, Any], tools: bool, tool_choice: dict[str, Any] | None
) -> None:
    out = translate({"messages": [USER_HI], "tools": [BASH_TOOL], **extra})
    if tools:
        assert out["tools"] == [
            {
                "name": "Bash",
                "description": "run a command",
                "input_schema": {"type": "object", "properties": {"command": {"type": "string"}}},
            }
        ]
    else:
        assert "tools" not in out
    assert out.get("tool_choice") == tool_choice


def test_tool_without_parameters_gets_an_empty_object_schema() -> None:
    out = translate(
        {"messages": [USER_HI], "tools": [{"type": "function", "function": {"name": "now", "strict": True}}]}
    )
    assert out["tools"] == [{"name": "now", "input_schema": {"type": "object", "properties": {}}}]


def test_tool_names_are_sanitized_going_up() -> None:
    names = build_tool_name_map([{"name": "mcp.fs.read"}], sanitize=True)
    out = translate(
        {
            "messages": [
                USER_HI,
                {
                    "role": "assistant",
                    "tool_calls": [
                        {
                            "id": "c",
                            "type": "function",
                            "function": {"name": "mcp.fs.read", "arguments": "{}"},
                        }
                    ],
                },
                {"role": "tool", "tool_call_id": "c", "content": "ok"},
            ],
            "tools": [{"type": "function", "function": {"name": "mcp.fs.read"}}],
            "tool_choice": {"type": "function", "function": {"name": "mcp.fs.read"}},
        },
        names,
    )
    assert out["tools"][0]["name"] == "mcp_fs_read"
    assert out["tool_choice"] == {"type": "tool", "name": "mcp_fs_read"}
    assert out["messages"][1]["content"][0]["name"] == "mcp_fs_read"


@pytest.mark.parametrize("kind", ["json_object", "json_schema"])
def test_response_format_becomes_a_system_instruction(kind: str) -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "integer"}}}
    response_format: dict[str, Any] = {"type": kind}
    if kind == "json_schema":
        response_format["json_schema"] = {"name": "result", "schema": schema}
    out = translate(
        {
            "messages": [{"role": "system", "content": "Be exact."}, USER_HI],
            "response_format": response_format,
        }
    )
    assert out["system"].startswith("Be exact.\n\n" + JSON_INSTRUCTION)
    assert ('"answer"' in out["system"]) == (kind == "json_schema")


@pytest.mark.parametrize("effort", sorted(THINKING_BUDGETS))
def test_effort_survives_a_round_trip_through_the_other_door(effort: str) -> None:
    budget = translate({"messages": [USER_HI], "reasoning_effort": effort})["thinking"]["budget_tokens"]
    assert budget >= 1024
    assert reasoning_effort_for_budget(budget) == ("high" if effort in ("xhigh", "max") else effort)


_text = st.text(
    st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)), min_size=1, max_size=20
)
_user = st.builds(lambda t: {"role": "user", "content": t}, _text)
_assistant = st.builds(lambda t: {"role": "assistant", "content": t}, _text)
_system = st.builds(lambda t: {"role": "system", "content": t}, _text)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.one_of(_user, _assistant, _system), min_size=1, max_size=8).filter(
        lambda ms: any(m["role"] != "system" for m in ms)
    )
)
def test_turns_always_alternate_and_text_survives_the_round_trip(messages: list[dict[str, Any]]) -> None:
    out = translate({"messages": messages})
    roles = [turn["role"] for turn in out["messages"]]
    assert all(a != b for a, b in itertools.pairwise(roles))
    # Back through the Anthropic door's translation: every non-system text is still there, in order.
    back = anthropic_to_openai_request({**out, "max_tokens": 5}, upstream_model="m", tool_names=IDENTITY)

    def texts(msgs: list[dict[str, Any]]) -> list[str]:
        found = []
        for message in msgs:
            if message["role"] == "system":
                continue
            content = message["content"]
            found.extend([content] if isinstance(content, str) else [p["text"] for p in content])
        return found

    original = [m["content"] for m in messages if m["role"] != "system"]
    assert "".join(texts(back["messages"])).replace("\n\n", "") == "".join(original).replace("\n\n", "")
