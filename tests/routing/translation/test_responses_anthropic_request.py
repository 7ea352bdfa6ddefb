"""Responses request → Anthropic Messages request (the Responses door over Anthropic-format providers)."""

import json
from typing import Any

import pytest

from routing.translation.errors import TranslationError
from routing.translation.openai_request import JSON_INSTRUCTION, THINKING_BUDGETS
from routing.translation.responses_anthropic_request import responses_to_anthropic_request
from routing.translation.responses_input import TranslatedRequest
from routing.translation.tool_arguments import RAW_ARGUMENTS_KEY
from tests.routing.translation.responses_bodies import (
    EXEC_COMMAND,
    MULTI_AGENT,
    THINKING,
    WEB_SEARCH,
    assistant,
    call,
    codex_body,
    developer,
    output,
    reasoning,
    user,
)

DEFAULT_MAX = 4096
PNG = "iVBORw0KGgo="
REDACTED = {
    "type": "redacted_thinking",
    "data": "EmwKAhgBEgy3va3pzix/LafPsn4aDFIT2Xlxh0L5L8rLVyIwxtE3rAFBa8cr3qpP",
}


def translate(body: dict[str, Any], *, refuse: bool = False) -> TranslatedRequest:
    return responses_to_anthropic_request(
        {"model": "m", **body},
        upstream_model="claude-up",
        default_max_tokens=DEFAULT_MAX,
        refuse_hosted_tools=refuse,
    )


def anthropic(body: dict[str, Any]) -> dict[str, Any]:
    return translate(body).body


def turns(*items: dict[str, Any]) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = anthropic({"input": list(items)})["messages"]
    return result


def refused(body: dict[str, Any], **options: Any) -> TranslationError:
    with pytest.raises(TranslationError) as caught:
        translate(body, **options)
    return caught.value


# -- a Codex body -------------------------------------------------------------------------


def test_codex_body_becomes_a_streamed_messages_request() -> None:
    translated = translate(codex_body())
    body = translated.body
    assert body["model"] == "claude-up"
    assert body["system"] == (
        "You are Codex, a coding agent.\n\n<permissions instructions>sandbox: workspace-write</permissions instructions>"
    )
    assert body["messages"] == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "<environment_context><cwd>/tmp/x</cwd></environment_context>"},
                {"type": "text", "text": "list the files"},
            ],
        }
    ]
    assert [tool["name"] for tool in body["tools"]] == [
        "exec_command",
        "write_stdin",
        "multi_agent_v1__spawn_agent",
        "multi_agent_v1__wait",
    ]
    assert body["tools"][0] == {
        "name": "exec_command",
        "description": EXEC_COMMAND["description"],
        "input_schema": EXEC_COMMAND["parameters"],
    }
    assert body["tools"][2]["description"] == "Tools to run sub-agents.\n\nStart a sub-agent."
    assert body["tool_choice"] == {"type": "auto"}
    assert body["stream"] is True
    assert body["max_tokens"] == DEFAULT_MAX
    # reasoning.summary alone asks for no thinking; store/include/prompt_cache_key/client_metadata dropped.
    for absent in (
        "thinking",
        "store",
        "include",
        "prompt_cache_key",
        "client_metadata",
        "metadata",
        "reasoning",
    ):
        assert absent not in body
    assert translated.dropped_hosted_tools == ["web_search"]
    assert translated.tool_names.restore("multi_agent_v1__wait") == ("multi_agent_v1", "wait")


def test_hosted_tool_is_refused_naming_the_tool_when_asked() -> None:
    error = refused(codex_body(), refuse=True)
    assert error.field == "tools.3"
    assert "'web_search' cannot be run by this provider" in error.message


# -- the tool loop with signed thinking ----------------------------------------------------

SECOND_THINKING = {"type": "thinking", "thinking": "Now summarize.", "signature": "Sig2+/=="}


def codex_tool_loop() -> dict[str, Any]:
    return codex_body(
        reasoning({"anthropic": THINKING}, summary="Listing the directory"),
        assistant("Let me look."),
        call("toolu_01", "exec_command", '{"cmd":"ls"}'),
        call("toolu_02", "spawn_agent", '{"message":"count lines"}', namespace="multi_agent_v1"),
        output("toolu_01", "a.txt\nb.txt"),
        output("toolu_02", "agent 7 started"),
        reasoning({"anthropic": SECOND_THINKING}),
        call("toolu_03", "exec_command", '{"cmd":"wc -l a.txt"}'),
        output("toolu_03", "3 a.txt"),
    )


def test_thinking_and_signature_reappear_byte_identical_before_the_tool_use() -> None:
    loop = codex_tool_loop()
    sent = json.dumps(loop)
    raw = json.dumps(THINKING, ensure_ascii=False)
    messages = anthropic(loop)["messages"]
    assert [turn["role"] for turn in messages] == ["user", "assistant", "user", "assistant", "user"]
    first = messages[1]["content"]
    assert json.dumps(first[0], ensure_ascii=False) == raw
    assert first[0]["signature"] == THINKING["signature"]
    assert first[1:] == [
        {"type": "text", "text": "Let me look."},
        {"type": "tool_use", "id": "toolu_01", "name": "exec_command", "input": {"cmd": "ls"}},
        {
            "type": "tool_use",
            "id": "toolu_02",
            "name": "multi_agent_v1__spawn_agent",
            "input": {"message": "count lines"},
        },
    ]
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "toolu_01", "content": "a.txt\nb.txt"},
        {"type": "tool_result", "tool_use_id": "toolu_02", "content": "agent 7 started"},
    ]
    assert messages[3]["content"] == [
        SECOND_THINKING,
        {"type": "tool_use", "id": "toolu_03", "name": "exec_command", "input": {"cmd": "wc -l a.txt"}},
    ]
    assert json.dumps(loop) == sent  # the client's body is not modified


def test_redacted_thinking_is_carried_back_as_is() -> None:
    messages = turns(
        user("go"), reasoning({"anthropic": REDACTED}), call("t1", "exec_command", "{}"), output("t1", "ok")
    )
    assert messages[1]["content"][0] == REDACTED


@pytest.mark.parametrize(
    "state",
    [
        {"reasoning_content": "deepseek text"},
        {"reasoning_details": [{"type": "reasoning.text", "text": "x"}]},
        {"anthropic": {"type": "text", "text": "not a thinking block"}},
        {"anthropic": "a string"},
        {"anthropic": {"type": "thinking", "thinking": "cut before its signature", "signature": ""}},
        {"anthropic": {"type": "thinking", "thinking": "no signature at all"}},
    ],
)
def test_reasoning_state_anthropic_cannot_verify_is_left_out(state: dict[str, Any]) -> None:
    messages = turns(user("go"), reasoning(state), call("t1", "exec_command", "{}"), output("t1", "ok"))
    assert messages[1]["content"] == [{"type": "tool_use", "id": "t1", "name": "exec_command", "input": {}}]


def test_openai_encrypted_reasoning_is_dropped() -> None:
    item = {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": "gAAAAABopenai"}
    assert turns(user("go"), item, assistant("ok")) == [
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": "ok"},
    ]


# -- messages ------------------------------------------------------------------------------


def test_instructions_and_system_items_join_the_system_prompt_in_order() -> None:
    body = anthropic(
        {
            "instructions": "First.",
            "input": [user("a"), developer("Second."), {"role": "system", "content": "Third."}, user("b")],
        }
    )
    assert body["system"] == "First.\n\nSecond.\n\nThird."
    assert body["messages"] == [
        {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]}
    ]


def test_string_input() -> None:
    assert anthropic({"input": "hi"})["messages"] == [{"role": "user", "content": "hi"}]


def test_user_images_become_image_blocks() -> None:
    content = [
        {"type": "input_text", "text": "compare"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
        {"type": "input_image", "image_url": "https://example.invalid/b.png"},
    ]
    assert turns({"type": "message", "role": "user", "content": content})[0]["content"] == [
        {"type": "text", "text": "compare"},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
        {"type": "image", "source": {"type": "url", "url": "https://example.invalid/b.png"}},
    ]


def test_image_file_id_is_a_clear_error() -> None:
    item = {"type": "message", "role": "user", "content": [{"type": "input_image", "file_id": "file-1"}]}
    assert refused({"input": [item]}).field == "input.0.content.0.file_id"


@pytest.mark.parametrize(
    ("part", "field"),
    [
        ({"type": "input_image", "image_url": "ftp://example.invalid/a.png"}, "input.0.content.0.image_url"),
        ({"type": "input_image", "image_url": "data:image/png,notbase64"}, "input.0.content.0.image_url"),
        ({"type": "input_file", "file_data": "data:image/gif;base64,R0lG"}, "input.0.content.0.file_data"),
    ],
)
def test_parts_anthropic_cannot_take_are_named_as_responses_fields(part: dict[str, Any], field: str) -> None:
    assert refused({"input": [{"type": "message", "role": "user", "content": [part]}]}).field == field


def test_pdf_and_text_files_become_documents() -> None:
    content = [
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
        {"type": "input_file", "file_data": "data:text/plain;base64,aGk="},
    ]
    assert turns({"type": "message", "role": "user", "content": content})[0]["content"] == [
        {
            "type": "document",
            "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBERi0="},
            "title": "a.pdf",
        },
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "hi"}},
    ]


def test_tool_output_parts_become_tool_result_blocks() -> None:
    parts = [
        {"type": "input_text", "text": "the image:"},
        {"type": "input_image", "image_url": f"data:image/png;base64,{PNG}"},
    ]
    messages = turns(user("look"), call("t1", "view_image", "{}"), output("t1", parts))
    assert messages[2]["content"] == [
        {
            "type": "tool_result",
            "tool_use_id": "t1",
            "content": [
                {"type": "text", "text": "the image:"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PNG}},
            ],
        }
    ]


def test_empty_tool_output_sends_no_content() -> None:
    messages = turns(user("go"), call("t1", "exec_command", "{}"), output("t1", ""))
    assert messages[2]["content"] == [{"type": "tool_result", "tool_use_id": "t1"}]


def test_user_message_after_tool_outputs_shares_their_turn_results_first() -> None:
    messages = turns(user("go"), call("t1", "exec_command", "{}"), output("t1", "ok"), user("and now?"))
    assert messages[2]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": "ok"},
        {"type": "text", "text": "and now?"},
    ]


def test_malformed_arguments_from_the_model_are_carried_not_refused() -> None:
    messages = turns(
        user("go"), call("t1", "exec_command", '{"cmd": "ls",}'), call("t2", "exec_command", "not json")
    )
    assert messages[1]["content"][0]["input"] == {"cmd": "ls"}
    assert messages[1]["content"][1]["input"] == {RAW_ARGUMENTS_KEY: "not json"}


def test_hosted_tool_items_are_left_out() -> None:
    messages = turns(
        user("search"), {"type": "web_search_call", "id": "ws", "status": "completed"}, assistant("Found.")
    )
    assert messages == [{"role": "user", "content": "search"}, {"role": "assistant", "content": "Found."}]


def test_input_with_only_system_items_is_refused() -> None:
    assert refused({"input": [developer("rules")]}).field == "input"


# -- fields -----------------------------------------------------------------------------------

TOOLS = [EXEC_COMMAND, MULTI_AGENT, WEB_SEARCH]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", {"type": "auto"}),
        ("required", {"type": "any"}),
        ("none", {"type": "none"}),
        ({"type": "function", "name": "exec_command"}, {"type": "tool", "name": "exec_command"}),
        (
            {"type": "function", "name": "wait", "namespace": "multi_agent_v1"},
            {"type": "tool", "name": "multi_agent_v1__wait"},
        ),
        ({"type": "allowed_tools", "mode": "auto", "tools": []}, {"type": "auto"}),
    ],
)
def test_tool_choice(choice: Any, expected: Any) -> None:
    assert anthropic({"input": "hi", "tools": TOOLS, "tool_choice": choice})["tool_choice"] == expected


def test_parallel_tool_calls_false_disables_parallel_tool_use() -> None:
    body = anthropic({"input": "hi", "tools": TOOLS, "tool_choice": "required", "parallel_tool_calls": False})
    assert body["tool_choice"] == {"type": "any", "disable_parallel_tool_use": True}
    body = anthropic({"input": "hi", "tools": TOOLS, "parallel_tool_calls": False})
    assert body["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}
    body = anthropic({"input": "hi", "tools": TOOLS, "tool_choice": "none", "parallel_tool_calls": False})
    assert body["tool_choice"] == {"type": "none"}


def test_no_tools_no_tool_choice() -> None:
    body = anthropic({"input": "hi", "tools": [WEB_SEARCH], "tool_choice": "required"})
    assert "tools" not in body
    assert "tool_choice" not in body


def test_max_output_tokens_is_max_tokens() -> None:
    assert anthropic({"input": "hi", "max_output_tokens": 300})["max_tokens"] == 300


@pytest.mark.parametrize("effort", ["low", "medium", "high", "xhigh"])
def test_effort_becomes_a_thinking_budget_on_top_of_the_default(effort: str) -> None:
    body = anthropic({"input": "hi", "reasoning": {"effort": effort, "summary": "auto"}})
    assert body["thinking"] == {"type": "enabled", "budget_tokens": THINKING_BUDGETS[effort]}
    assert body["max_tokens"] == DEFAULT_MAX + THINKING_BUDGETS[effort]


@pytest.mark.parametrize("effort", ["none", "minimal"])
def test_no_thinking_efforts(effort: str) -> None:
    body = anthropic({"input": "hi", "reasoning": {"effort": effort}})
    assert "thinking" not in body
    assert body["max_tokens"] == DEFAULT_MAX


def test_thinking_budget_fits_under_the_clients_limit() -> None:
    body = anthropic({"input": "hi", "max_output_tokens": 8000, "reasoning": {"effort": "high"}})
    assert body["max_tokens"] == 8000
    assert body["thinking"] == {"type": "enabled", "budget_tokens": 7999}


def test_a_limit_too_small_for_thinking_names_max_output_tokens() -> None:
    assert (
        refused({"input": "hi", "max_output_tokens": 1000, "reasoning": {"effort": "low"}}).field
        == "max_output_tokens"
    )


def test_json_schema_format_is_a_system_instruction() -> None:
    schema = {"type": "object", "properties": {"n": {"type": "integer"}}}
    body = anthropic(
        {
            "instructions": "Count.",
            "input": "hi",
            "text": {"format": {"type": "json_schema", "name": "n", "schema": schema}},
        }
    )
    assert (
        body["system"]
        == f"Count.\n\n{JSON_INSTRUCTION} It must conform to this JSON Schema:\n{json.dumps(schema)}"
    )
    assert (
        anthropic({"input": "hi", "text": {"format": {"type": "json_object"}}})["system"] == JSON_INSTRUCTION
    )


def test_sampling_user_and_dropped_fields() -> None:
    body = anthropic(
        {
            "input": "hi",
            "temperature": 0.5,
            "top_p": 0.8,
            "user": "u-9",
            "metadata": {"k": "v"},
            "truncation": "auto",
            "store": True,
        }
    )
    assert body == {
        "model": "claude-up",
        "messages": [{"role": "user", "content": "hi"}],
        "max_tokens": DEFAULT_MAX,
        "temperature": 0.5,
        "top_p": 0.8,
        "metadata": {"user_id": "u-9"},
    }


def test_previous_response_id_is_refused_for_anthropic() -> None:
    error = refused({"input": "more", "previous_response_id": "resp_1"})
    assert error.field == "previous_response_id"
    assert "'anthropic'" in error.message
    assert "send the conversation in `input`" in error.message
