"""Bad Responses request bodies: each is a TranslationError naming the field (a 400, never a 500)."""

from typing import Any

import pytest

from routing.translation.errors import TranslationError
from routing.translation.responses_validation import validate_responses_body
from tests.routing.translation.responses_bodies import WEB_SEARCH, codex_body, user

MINIMAL = {"model": "m", "input": "hi"}


def error_field(body: Any) -> str:
    with pytest.raises(TranslationError) as caught:
        validate_responses_body(body)
    return caught.value.field


def with_input(*items: Any) -> dict[str, Any]:
    return {"model": "m", "input": list(items)}


def test_codex_body_and_minimal_bodies_are_valid() -> None:
    validate_responses_body(codex_body())
    validate_responses_body(MINIMAL)
    validate_responses_body({"model": "m", "input": [{"role": "user", "content": "easy input"}]})


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ([], "body"),
        ({"input": "hi"}, "model"),
        ({"model": "", "input": "hi"}, "model"),
        ({"model": 3, "input": "hi"}, "model"),
        ({"model": "m"}, "input"),
        ({"model": "m", "input": {"role": "user"}}, "input"),
        ({**MINIMAL, "stream": "yes"}, "stream"),
        ({**MINIMAL, "store": 1}, "store"),
        ({**MINIMAL, "parallel_tool_calls": "true"}, "parallel_tool_calls"),
        ({**MINIMAL, "instructions": ["x"]}, "instructions"),
        ({**MINIMAL, "max_output_tokens": 0}, "max_output_tokens"),
        ({**MINIMAL, "max_output_tokens": -5}, "max_output_tokens"),
        ({**MINIMAL, "max_output_tokens": 10.5}, "max_output_tokens"),
        ({**MINIMAL, "max_output_tokens": True}, "max_output_tokens"),
        ({**MINIMAL, "temperature": "hot"}, "temperature"),
        ({**MINIMAL, "top_p": True}, "top_p"),
        ({**MINIMAL, "include": ["a", 3]}, "include.1"),
        ({**MINIMAL, "text": "json"}, "text"),
        ({**MINIMAL, "text": {"format": {"type": "yaml"}}}, "text.format.type"),
        ({**MINIMAL, "text": {"format": {"type": "json_schema", "schema": {}}}}, "text.format.name"),
        ({**MINIMAL, "text": {"format": {"type": "json_schema", "name": "x"}}}, "text.format.schema"),
        ({**MINIMAL, "reasoning": {"effort": "max"}}, "reasoning.effort"),
        ({**MINIMAL, "reasoning": {"effort": "HIGH"}}, "reasoning.effort"),
        ({**MINIMAL, "reasoning": "high"}, "reasoning"),
    ],
)
def test_bad_top_level_fields_are_named(body: Any, field: str) -> None:
    assert error_field(body) == field


@pytest.mark.parametrize(
    ("item", "field"),
    [
        ("hello", "input.1"),
        ({"type": "telepathy"}, "input.1.type"),
        ({"type": 7}, "input.1.type"),
        ({"content": "no role, no type"}, "input.1.type"),
        ({"type": "message", "content": "x"}, "input.1.role"),
        ({"type": "message", "role": "tool", "content": "x"}, "input.1.role"),
        ({"type": "message", "role": "user"}, "input.1.content"),
        ({"type": "message", "role": "user", "content": 5}, "input.1.content"),
        (
            {
                "type": "message",
                "role": "user",
                "content": [{"type": "input_text", "text": "a"}, {"type": "input_video"}],
            },
            "input.1.content.1.type",
        ),
        ({"type": "message", "role": "user", "content": ["text"]}, "input.1.content.0"),
        ({"type": "message", "role": "user", "content": [{"type": "input_text"}]}, "input.1.content.0.text"),
        ({"type": "message", "role": "user", "content": [{"type": "input_image"}]}, "input.1.content.0"),
        ({"type": "message", "role": "user", "content": [{"type": "input_file"}]}, "input.1.content.0"),
        (
            {"type": "message", "role": "assistant", "content": [{"type": "refusal"}]},
            "input.1.content.0.refusal",
        ),
        ({"type": "function_call", "name": "f", "arguments": "{}"}, "input.1.call_id"),
        ({"type": "function_call", "call_id": "c", "arguments": "{}"}, "input.1.name"),
        ({"type": "function_call", "call_id": "c", "name": "f"}, "input.1.arguments"),
        ({"type": "function_call", "call_id": "c", "name": "f", "arguments": {"a": 1}}, "input.1.arguments"),
        (
            {"type": "function_call", "call_id": "c", "name": "f", "arguments": "{}", "namespace": 3},
            "input.1.namespace",
        ),
        ({"type": "function_call_output", "output": "x"}, "input.1.call_id"),
        ({"type": "function_call_output", "call_id": "c"}, "input.1.output"),
        ({"type": "function_call_output", "call_id": "c", "output": 42}, "input.1.output"),
        (
            {
                "type": "function_call_output",
                "call_id": "c",
                "output": [{"type": "output_text", "text": "x"}],
            },
            "input.1.output.0.type",
        ),
        ({"type": "custom_tool_call", "call_id": "c", "name": "apply_patch"}, "input.1.input"),
        ({"type": "reasoning", "summary": [], "encrypted_content": {"x": 1}}, "input.1.encrypted_content"),
        ({"type": "item_reference"}, "input.1.id"),
    ],
)
def test_malformed_items_are_named(item: Any, field: str) -> None:
    assert error_field(with_input(user("hi"), item)) == field


def test_unknown_item_type_names_its_index() -> None:
    body = with_input(user("a"), user("b"), user("c"), {"type": "hologram"})
    with pytest.raises(TranslationError) as caught:
        validate_responses_body(body)
    assert caught.value.field == "input.3.type"
    assert "hologram" in caught.value.message


@pytest.mark.parametrize(
    ("tool", "field"),
    [
        ("exec", "tools.0"),
        ({"name": "f"}, "tools.0.type"),
        ({"type": "plugin", "name": "f"}, "tools.0.type"),
        ({"type": "function"}, "tools.0.name"),
        ({"type": "function", "name": ""}, "tools.0.name"),
        ({"type": "function", "name": "f", "parameters": "{}"}, "tools.0.parameters"),
        ({"type": "function", "name": "f", "description": 1}, "tools.0.description"),
        ({"type": "function", "name": "f", "strict": "no"}, "tools.0.strict"),
        ({"type": "namespace", "tools": []}, "tools.0.name"),
        ({"type": "namespace", "name": "ns"}, "tools.0.tools"),
        ({"type": "namespace", "name": "ns", "tools": [{"type": "function"}]}, "tools.0.tools.0.name"),
        ({"type": "namespace", "name": "ns", "tools": [{"type": "web_search"}]}, "tools.0.tools.0.type"),
    ],
)
def test_malformed_tools_are_named(tool: Any, field: str) -> None:
    assert error_field({**MINIMAL, "tools": [tool]}) == field


@pytest.mark.parametrize(
    "tool",
    [
        WEB_SEARCH,
        {"type": "web_search_preview"},
        {"type": "file_search", "vector_store_ids": ["vs_1"]},
        {"type": "code_interpreter", "container": {"type": "auto"}},
        {"type": "computer_use_preview", "display_width": 1, "display_height": 1, "environment": "linux"},
        {"type": "image_generation"},
        {"type": "mcp", "server_label": "x", "server_url": "https://example.invalid"},
        {"type": "local_shell"},
        {"type": "custom", "name": "apply_patch", "format": {"type": "grammar"}},
    ],
)
def test_hosted_tools_are_not_validation_errors(tool: dict[str, Any]) -> None:
    validate_responses_body({**MINIMAL, "tools": [tool]})


@pytest.mark.parametrize(
    ("choice", "field"),
    [
        ("always", "tool_choice"),
        (3, "tool_choice"),
        ({"type": "function"}, "tool_choice.name"),
        ({"type": "wish"}, "tool_choice.type"),
        ({"type": "allowed_tools", "mode": "any", "tools": []}, "tool_choice.mode"),
        ({"type": "allowed_tools", "mode": "auto"}, "tool_choice.tools"),
    ],
)
def test_bad_tool_choice_is_named(choice: Any, field: str) -> None:
    assert error_field({**MINIMAL, "tool_choice": choice}) == field


@pytest.mark.parametrize(
    "choice", ["auto", "none", "required", {"type": "function", "name": "f"}, {"type": "web_search_preview"}]
)
def test_good_tool_choices_pass(choice: Any) -> None:
    validate_responses_body({**MINIMAL, "tool_choice": choice})


def test_stateful_fields_pass_validation_for_native_passthrough() -> None:
    validate_responses_body({"model": "m", "previous_response_id": "resp_1", "input": "next"})
    validate_responses_body({"model": "m", "previous_response_id": "resp_1"})
    validate_responses_body(with_input({"type": "item_reference", "id": "msg_1"}))
    validate_responses_body(with_input({"type": "web_search_call", "id": "ws_1", "status": "completed"}))
