"""Anthropic Messages request → OpenAI Chat Completions request."""

import copy
import hashlib
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from routing.translation import (
    ToolNameMap,
    TranslationError,
    anthropic_to_openai_request,
    build_tool_name_map,
    is_reasoning_model,
    reasoning_effort_for_budget,
)

IDENTITY = ToolNameMap()
CLAUDE_CODE_USER_ID = json.dumps(
    {"device_id": "5f" * 32, "account_uuid": "", "session_id": "6b1c1c1e-3c5e-4b8e-9d0f-1a2b3c4d5e6f"},
    separators=(",", ":"),
)
CLAUDE_CODE_TOOLS = [
    "Agent", "Bash", "Glob", "Grep", "ExitPlanMode", "Read", "Edit", "Write", "NotebookEdit",
    "WebFetch", "TodoWrite", "WebSearch", "BashOutput", "KillShell", "SlashCommand", "Skill",
    "AskUserQuestion", "mcp__ide__getDiagnostics", "mcp__ide__executeCode", "ListMcpResourcesTool",
]  # fmt: skip


def translate(body: dict[str, Any], model: str = "gpt-4o", **kwargs: Any) -> dict[str, Any]:
    return anthropic_to_openai_request(
        body, upstream_model=model, tool_names=kwargs.pop("tool_names", IDENTITY), **kwargs
    )


def request(messages: list[dict[str, Any]], **fields: Any) -> dict[str, Any]:
    return {"model": "claude-sonnet-4-5", "max_tokens": 1024, "messages": messages, **fields}


def user(content: Any) -> dict[str, Any]:
    return {"role": "user", "content": content}


def assistant(content: Any) -> dict[str, Any]:
    return {"role": "assistant", "content": content}


def claude_code_tool(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "description": f"The {name} tool.",
        "input_schema": {
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {"command": {"type": "string", "description": "what to run"}},
            "required": ["command"],
            "additionalProperties": False,
        },
    }


def claude_code_request() -> dict[str, Any]:
    """The shape Claude Code 2.1.x sends (see PROTOCOLS.md)."""
    cache = {"type": "ephemeral"}
    return {
        "model": "claude-sonnet-4-5-20250929",
        "max_tokens": 32000,
        "stream": True,
        "thinking": {"type": "adaptive"},
        "output_config": {"effort": "high"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "metadata": {"user_id": CLAUDE_CODE_USER_ID},
        "system": [
            {"type": "text", "text": "x-anthropic-billing-header: cc_version=2.1"},
            {"type": "text", "text": "You are Claude Code.", "cache_control": cache},
            {"type": "text", "text": "Be concise.", "cache_control": cache},
        ],
        "tools": [claude_code_tool(name) for name in CLAUDE_CODE_TOOLS],
        "messages": [
            user([{"type": "text", "text": "<system-reminder>ctx</system-reminder>"}, {"type": "text", "text": "list files"}]),
            {"role": "system", "content": "Mid-conversation system note."},
            assistant([
                {"type": "thinking", "thinking": "I should run ls.", "signature": "sig"},
                {"type": "text", "text": "Running ls."},
                {"type": "tool_use", "id": "toolu_01", "name": "Bash", "input": {"command": "ls"}},
            ]),
            user([
                {"type": "tool_result", "tool_use_id": "toolu_01", "content": "ls: permission denied",
                 "is_error": True, "cache_control": cache},
            ]),
        ],
    }  # fmt: skip


# -- Claude Code's real request -------------------------------------------------------


def test_claude_code_request_translates_field_by_field() -> None:
    out = translate(claude_code_request())
    assert out["model"] == "gpt-4o"
    assert out["max_tokens"] == 32000
    assert out["stream"] is True
    assert out["stream_options"] == {"include_usage": True}
    assert out["user"] == hashlib.sha256(CLAUDE_CODE_USER_ID.encode()).hexdigest()  # too long for OpenAI
    assert set(out) == {"model", "messages", "max_tokens", "stream", "stream_options", "user", "tools"}
    assert out["messages"] == [
        {"role": "system", "content": "x-anthropic-billing-header: cc_version=2.1\n\nYou are Claude Code.\n\nBe concise."},
        {"role": "user", "content": [
            {"type": "text", "text": "<system-reminder>ctx</system-reminder>"},
            {"type": "text", "text": "list files"},
        ]},
        {"role": "system", "content": "Mid-conversation system note."},
        {"role": "assistant", "content": "Running ls.", "tool_calls": [
            {"id": "toolu_01", "type": "function", "function": {"name": "Bash", "arguments": '{"command": "ls"}'}},
        ]},
        {"role": "tool", "tool_call_id": "toolu_01", "content": "Error: ls: permission denied"},
    ]  # fmt: skip


def test_claude_code_tools_become_functions_without_schema_annotation() -> None:
    tools = translate(claude_code_request())["tools"]
    assert [tool["function"]["name"] for tool in tools] == CLAUDE_CODE_TOOLS
    assert tools[1] == {
        "type": "function",
        "function": {
            "name": "Bash",
            "description": "The Bash tool.",
            "parameters": {
                "type": "object",
                "properties": {"command": {"type": "string", "description": "what to run"}},
                "required": ["command"],
                "additionalProperties": False,
            },
        },
    }
    assert "tool_choice" not in translate(claude_code_request())


def test_translation_does_not_mutate_the_client_body() -> None:
    body = claude_code_request()
    snapshot = json.dumps(body, sort_keys=True)
    translate(body)
    assert json.dumps(body, sort_keys=True) == snapshot


# -- system and messages --------------------------------------------------------------


@pytest.mark.parametrize(
    ("system", "expected"),
    [
        ("Be brief.", [{"role": "system", "content": "Be brief."}]),
        ([{"type": "text", "text": "A", "cache_control": {"type": "ephemeral"}}, {"type": "text", "text": "B"}],
         [{"role": "system", "content": "A\n\nB"}]),
        ("", []),
        ([], []),
        (None, []),
    ],
)  # fmt: skip
def test_system_becomes_the_first_message(system: Any, expected: list[dict[str, Any]]) -> None:
    out = translate(request([user("hi")], system=system))
    assert out["messages"] == [*expected, {"role": "user", "content": "hi"}]


def test_user_content_parts_text_and_images() -> None:
    blocks = [
        {"type": "text", "text": "what is this?"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBOR"}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.jpg"}},
    ]
    assert translate(request([user(blocks)]))["messages"] == [
        {"role": "user", "content": [
            {"type": "text", "text": "what is this?"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,iVBOR"}},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.jpg"}},
        ]},
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("document", "part"),
    [
        ({"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}},
         {"type": "file", "file": {"filename": "document.pdf", "file_data": "data:application/pdf;base64,JVBER"}}),
        ({"type": "document", "title": "spec.pdf", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBER"}},
         {"type": "file", "file": {"filename": "spec.pdf", "file_data": "data:application/pdf;base64,JVBER"}}),
        ({"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain words"}},
         {"type": "text", "text": "plain words"}),
        ({"type": "document", "title": "Notes", "source": {"type": "text", "media_type": "text/plain", "data": "body"}},
         {"type": "text", "text": "Notes\n\nbody"}),
        ({"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "chunk"}]}},
         {"type": "text", "text": "chunk"}),
    ],
)  # fmt: skip
def test_documents(document: dict[str, Any], part: dict[str, Any]) -> None:
    messages = translate(request([user([document, {"type": "text", "text": "summarize"}])]))["messages"]
    assert messages == [{"role": "user", "content": [part, {"type": "text", "text": "summarize"}]}]


def test_tool_results_come_first_then_the_rest_of_the_user_turn() -> None:
    turn = user([
        {"type": "text", "text": "here you go"},
        {"type": "tool_result", "tool_use_id": "t1", "content": "one"},
        {"type": "tool_result", "tool_use_id": "t2", "content": [{"type": "text", "text": "two"}, {"type": "text", "text": "lines"}]},
    ])  # fmt: skip
    assert translate(request([turn]))["messages"] == [
        {"role": "tool", "tool_call_id": "t1", "content": "one"},
        {"role": "tool", "tool_call_id": "t2", "content": "two\nlines"},
        {"role": "user", "content": "here you go"},
    ]


@pytest.mark.parametrize(
    ("result", "content"),
    [
        ({"content": "boom", "is_error": True}, "Error: boom"),
        ({"content": [{"type": "text", "text": "boom"}], "is_error": True}, "Error: boom"),
        ({"is_error": True}, "Error:"),
        ({"content": "fine", "is_error": False}, "fine"),
        ({}, ""),
        ({"content": []}, ""),
    ],
)
def test_tool_result_content_and_errors(result: dict[str, Any], content: str) -> None:
    turn = user([{"type": "tool_result", "tool_use_id": "t1", **result}])
    assert translate(request([turn]))["messages"] == [
        {"role": "tool", "tool_call_id": "t1", "content": content}
    ]


def test_images_inside_a_tool_result_travel_in_a_following_user_message() -> None:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}
    turn = user(
        [{"type": "tool_result", "tool_use_id": "t1", "content": [{"type": "text", "text": "shot"}, image]}]
    )
    assert translate(request([turn]))["messages"] == [
        {"role": "tool", "tool_call_id": "t1", "content": "shot"},
        {"role": "user", "content": [
            {"type": "text", "text": "Content returned by tool call t1:"},
            {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAA"}},
        ]},
    ]  # fmt: skip


def test_assistant_tool_use_and_thinking() -> None:
    turn = assistant([
        {"type": "redacted_thinking", "data": "xxx"},
        {"type": "thinking", "thinking": "hmm", "signature": "s"},
        {"type": "tool_use", "id": "a", "name": "Read", "input": {"path": "é.txt"}},
        {"type": "tool_use", "id": "b", "name": "Glob", "input": {}},
    ])  # fmt: skip
    assert translate(request([user("go"), turn]))["messages"][1] == {
        "role": "assistant",
        "content": None,
        "tool_calls": [
            {"id": "a", "type": "function", "function": {"name": "Read", "arguments": '{"path": "é.txt"}'}},
            {"id": "b", "type": "function", "function": {"name": "Glob", "arguments": "{}"}},
        ],
    }


def test_assistant_turn_with_only_thinking_is_dropped() -> None:
    turn = assistant([{"type": "thinking", "thinking": "hmm", "signature": "s"}])
    assert translate(request([user("go"), turn]))["messages"] == [{"role": "user", "content": "go"}]


def test_assistant_string_content_and_server_tool_blocks() -> None:
    turn = assistant([
        {"type": "server_tool_use", "id": "s", "name": "web_search", "input": {}},
        {"type": "web_search_tool_result", "tool_use_id": "s", "content": []},
        {"type": "text", "text": "found it"},
    ])  # fmt: skip
    assert translate(request([user("q"), turn, user("thanks"), assistant("ok")]))["messages"][1:] == [
        {"role": "assistant", "content": "found it"},
        {"role": "user", "content": "thanks"},
        {"role": "assistant", "content": "ok"},
    ]


def test_tool_names_are_mapped_everywhere() -> None:
    tools = [{"name": "mcp__srv__do.it", "input_schema": {"type": "object"}}]
    names = build_tool_name_map(tools, sanitize=True)
    body = request(
        [user("go"), assistant([{"type": "tool_use", "id": "x", "name": "mcp__srv__do.it", "input": {}}])],
        tools=tools,
        tool_choice={"type": "tool", "name": "mcp__srv__do.it"},
    )
    out = translate(body, tool_names=names)
    assert out["tools"][0]["function"]["name"] == "mcp__srv__do_it"
    assert out["tool_choice"] == {"type": "function", "function": {"name": "mcp__srv__do_it"}}
    assert out["messages"][1]["tool_calls"][0]["function"]["name"] == "mcp__srv__do_it"


# -- parameters -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool_choice", "expected"),
    [
        ({"type": "auto"}, {"tool_choice": "auto"}),
        ({"type": "any"}, {"tool_choice": "required"}),
        ({"type": "none"}, {"tool_choice": "none"}),
        (
            {"type": "tool", "name": "Bash"},
            {"tool_choice": {"type": "function", "function": {"name": "Bash"}}},
        ),
        (
            {"type": "auto", "disable_parallel_tool_use": True},
            {"tool_choice": "auto", "parallel_tool_calls": False},
        ),
        ({"type": "any", "disable_parallel_tool_use": False}, {"tool_choice": "required"}),
    ],
)
def test_tool_choice(tool_choice: dict[str, Any], expected: dict[str, Any]) -> None:
    out = translate(request([user("x")], tools=[claude_code_tool("Bash")], tool_choice=tool_choice))
    assert {key: out[key] for key in ("tool_choice", "parallel_tool_calls") if key in out} == expected


def test_server_tools_are_dropped_and_tool_choice_goes_with_an_empty_list() -> None:
    body = request(
        [user("x")],
        tools=[{"type": "web_search_20250305", "name": "web_search", "max_uses": 3}],
        tool_choice={"type": "auto"},
    )
    out = translate(body)
    assert "tools" not in out
    assert "tool_choice" not in out


def test_custom_typed_tool_and_missing_schema() -> None:
    out = translate(request([user("x")], tools=[{"type": "custom", "name": "t"}]))
    assert out["tools"] == [
        {"type": "function", "function": {"name": "t", "parameters": {"type": "object", "properties": {}}}}
    ]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"temperature": 0.2, "top_p": 0.9}, {"temperature": 0.2, "top_p": 0.9}),
        ({"temperature": 0}, {"temperature": 0}),
        ({"top_k": 5}, {}),
        ({"stop_sequences": ["END", "\n\nHuman:"]}, {"stop": ["END", "\n\nHuman:"]}),
        ({"stop_sequences": []}, {}),
        ({"metadata": {"user_id": "u-1"}}, {"user": "u-1"}),
        ({"metadata": {}}, {}),
        ({"stream": False}, {}),
        ({"output_config": {"effort": "low"}, "context_management": {}, "container": "c", "mcp_servers": [],
          "service_tier": "auto", "thinking": {"type": "disabled"}}, {}),
    ],
)  # fmt: skip
def test_optional_parameters(fields: dict[str, Any], expected: dict[str, Any]) -> None:
    out = translate(request([user("x")], **fields))
    extra = {key: value for key, value in out.items() if key not in ("model", "messages", "max_tokens")}
    assert extra == expected


def test_long_user_ids_become_a_stable_64_character_digest() -> None:
    out = translate(request([user("x")], metadata={"user_id": CLAUDE_CODE_USER_ID}))
    assert out["user"] == translate(request([user("y")], metadata={"user_id": CLAUDE_CODE_USER_ID}))["user"]
    assert len(out["user"]) == 64
    assert translate(request([user("x")], metadata={"user_id": "u" * 64}))["user"] == "u" * 64


@pytest.mark.parametrize(
    ("model", "reasoning"),
    [
        ("o1", True), ("o1-mini", True), ("o3", True), ("o3-mini-2025-01-31", True), ("o4-mini", True),
        ("gpt-5", True), ("gpt-5-mini", True), ("gpt-5.1", True), ("openai/gpt-5-nano", True), ("GPT-5", True),
        ("gpt-5-chat-latest", False), ("gpt-4o", False), ("gpt-4.1", False), ("deepseek-chat", False),
        ("claude-opus-4", False), ("llama-3-o1", False), ("gpt-4o-mini", False),
    ],
)  # fmt: skip
def test_is_reasoning_model(model: str, reasoning: bool) -> None:
    assert is_reasoning_model(model) is reasoning


@pytest.mark.parametrize(
    ("model", "override", "key"),
    [
        ("gpt-4o", None, "max_tokens"),
        ("o3-mini", None, "max_completion_tokens"),
        ("my-azure-deployment", True, "max_completion_tokens"),
        ("o3-mini", False, "max_tokens"),
    ],
)
def test_max_tokens_key_follows_the_model_and_is_never_clamped(
    model: str, override: bool | None, key: str
) -> None:
    out = translate(request([user("x")], max_tokens=128000), model=model, reasoning_model=override)
    assert out[key] == 128000
    assert {"max_tokens", "max_completion_tokens"} & set(out) == {key}


@pytest.mark.parametrize(
    ("budget", "effort"),
    [(1024, "low"), (4095, "low"), (4096, "medium"), (16383, "medium"), (16384, "high"), (31999, "high")],
)
def test_thinking_budget_maps_to_reasoning_effort(budget: int, effort: str) -> None:
    assert reasoning_effort_for_budget(budget) == effort
    thinking = {"type": "enabled", "budget_tokens": budget}
    assert translate(request([user("x")], thinking=thinking), model="o3")["reasoning_effort"] == effort
    assert "reasoning_effort" not in translate(request([user("x")], thinking=thinking), model="gpt-4o")


def test_adaptive_thinking_sets_no_effort_even_for_reasoning_models() -> None:
    assert "reasoning_effort" not in translate(
        request([user("x")], thinking={"type": "adaptive"}), model="o3"
    )


# -- validation -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("not an object", "body"),
        ({"messages": "hi"}, "messages"),
        ({}, "messages"),
        ({"messages": ["hi"]}, "messages.0"),
        ({"messages": [{"role": "robot", "content": "x"}]}, "messages.0.role"),
        ({"messages": [user([{"text": "no type"}])]}, "messages.0.content.0.type"),
        ({"messages": [user([{"type": "thinking", "thinking": "x"}])]}, "messages.0.content.0.type"),
        ({"messages": [user([{"type": "text"}])]}, "messages.0.content.0.text"),
        ({"messages": [user(7)]}, "messages.0.content"),
        ({"messages": [user([{"type": "image", "source": {"type": "file", "file_id": "f"}}])]}, "messages.0.content.0.source.type"),
        ({"messages": [user([{"type": "image", "source": {"type": "base64", "data": "x"}}])]}, "messages.0.content.0.source.media_type"),
        ({"messages": [user([{"type": "document", "source": {"type": "url", "url": "https://x/y.pdf"}}])]}, "messages.0.content.0.source.type"),
        ({"messages": [user([{"type": "tool_result", "content": "x"}])]}, "messages.0.content.0.tool_use_id"),
        ({"messages": [user([{"type": "tool_result", "tool_use_id": "t", "content": [{"type": "tool_use"}]}])]}, "messages.0.content.0.content.0.type"),
        ({"messages": [assistant([{"type": "tool_use", "id": "a", "name": "n", "input": []}])]}, "messages.0.content.0.input"),
        ({"messages": [assistant([{"type": "image", "source": {}}])]}, "messages.0.content.0.type"),
        ({"messages": [{"role": "system", "content": [{"type": "image"}]}]}, "messages.0.content.0.type"),
        ({"messages": [], "system": 5}, "system"),
        ({"messages": [], "max_tokens": "lots"}, "max_tokens"),
        ({"messages": [], "max_tokens": True}, "max_tokens"),
        ({"messages": [], "temperature": "hot"}, "temperature"),
        ({"messages": [], "stop_sequences": "END"}, "stop_sequences"),
        ({"messages": [], "stop_sequences": [1]}, "stop_sequences.0"),
        ({"messages": [], "metadata": {"user_id": 5}}, "metadata.user_id"),
        ({"messages": [], "tools": {"name": "x"}}, "tools"),
        ({"messages": [], "tools": [{"description": "no name"}]}, "tools.0.name"),
        ({"messages": [], "tools": [{"name": "x", "input_schema": "schema"}]}, "tools.0.input_schema"),
        ({"messages": [], "tool_choice": {"type": "sometimes"}}, "tool_choice.type"),
        ({"messages": [], "tool_choice": {"type": "tool"}}, "tool_choice.name"),
        ({"messages": [], "thinking": {"type": "enabled"}}, "thinking.budget_tokens"),
    ],
)  # fmt: skip
def test_bad_shapes_raise_translation_error_naming_the_field(body: Any, field: str) -> None:
    with pytest.raises(TranslationError) as caught:
        translate(body)
    assert caught.value.field == field
    assert str(caught.value).startswith(f"{field}: ")


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)
BLOCK_TYPES = st.sampled_from(
    ["text", "image", "document", "tool_use", "tool_result", "thinking", "redacted_thinking"]
)
KEYS = st.sampled_from(["type", "text", "source", "id", "name", "input", "content", "tool_use_id", "is_error", "data",
                        "media_type", "url", "role", "messages", "system", "tools", "tool_choice", "thinking",
                        "budget_tokens", "max_tokens", "stop_sequences", "metadata", "user_id", "input_schema"])  # fmt: skip
SHAPED = st.recursive(
    st.none()
    | st.integers()
    | st.text(max_size=5)
    | BLOCK_TYPES
    | st.sampled_from(["user", "assistant", "system", "base64", "url"]),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=6),
    max_leaves=30,
)


def _valid_bodies() -> list[dict[str, Any]]:
    image = {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAA"}}
    pdf = {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JV"}}
    rich = request(
        [
            user([{"type": "text", "text": "look"}, image, pdf]),
            assistant([{"type": "tool_use", "id": "a", "name": "Read", "input": {"p": 1}}]),
            user(
                [
                    {
                        "type": "tool_result",
                        "tool_use_id": "a",
                        "content": [{"type": "text", "text": "r"}, image],
                    }
                ]
            ),
        ],
        tools=[claude_code_tool("Read")],
        tool_choice={"type": "tool", "name": "Read", "disable_parallel_tool_use": True},
        thinking={"type": "enabled", "budget_tokens": 2048},
        stop_sequences=["END"],
        temperature=0.5,
    )
    return [claude_code_request(), rich]


def _check_translation(body: Any) -> None:
    """Either a JSON-serializable request or a TranslationError naming a field; nothing else."""
    try:
        out = translate(body, model="o3")
    except TranslationError as exc:
        failure: TranslationError | None = exc
    else:
        failure = None
        json.dumps(out)
        assert isinstance(out["messages"], list)
    assert failure is None or failure.field


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every path to a value inside ``node`` (dict keys and list indexes)."""
    children = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    found = []
    for key, child in children:
        found.append((*prefix, key))
        found.extend(_paths(child, (*prefix, key)))
    return found


def _mutate(body: dict[str, Any], data: st.DataObject) -> None:
    """Replace or delete one value, chosen uniformly among all of them, with arbitrary JSON."""
    *parents, key = data.draw(st.sampled_from(_paths(body)))
    node: Any = body
    for step in parents:
        node = node[step]
    if isinstance(node, dict) and data.draw(st.booleans()):
        del node[key]
    else:
        node[key] = data.draw(JSON_VALUES | SHAPED)


@settings(max_examples=300, deadline=None)
@given(body=JSON_VALUES | SHAPED)
def test_any_json_gives_a_request_or_a_translation_error(body: Any) -> None:
    _check_translation(body)


@settings(max_examples=500, deadline=None)
@given(data=st.data())
def test_mutated_real_requests_give_a_request_or_a_translation_error(data: st.DataObject) -> None:
    body = copy.deepcopy(data.draw(st.sampled_from(_valid_bodies())))
    for _ in range(data.draw(st.integers(min_value=1, max_value=2))):
        if _paths(body):
            _mutate(body, data)
    _check_translation(body)
