"""Responses request → Chat Completions request (the Responses door over OpenAI-format providers)."""

import json
from typing import Any

import pytest

from routing.translation.errors import TranslationError
from routing.translation.provider_state import (
    PLAIN_OPENAI,
    SKIP_SIGNATURE_VALIDATION,
    ProviderQuirks,
    tool_id_with_signature,
)
from routing.translation.responses_request import TranslatedRequest, responses_to_chat_request
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

DEEPSEEK = ProviderQuirks(reasoning_on_tool_turns=True)
OPENROUTER = ProviderQuirks(reasoning_details=True)
GEMINI = ProviderQuirks(thought_signatures=True)
PNG_URL = "data:image/png;base64,iVBORw0KGgo="


def translate(
    body: dict[str, Any],
    *,
    quirks: ProviderQuirks = PLAIN_OPENAI,
    upstream_model: str = "up-model",
    refuse: bool = False,
) -> TranslatedRequest:
    return responses_to_chat_request(
        {"model": "m", **body}, upstream_model=upstream_model, quirks=quirks, refuse_hosted_tools=refuse
    )


def chat(body: dict[str, Any], **options: Any) -> dict[str, Any]:
    return translate(body, **options).body


def messages(*items: dict[str, Any], quirks: ProviderQuirks = PLAIN_OPENAI) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = chat({"input": list(items)}, quirks=quirks)["messages"]
    return result


def refused(body: dict[str, Any], **options: Any) -> TranslationError:
    with pytest.raises(TranslationError) as caught:
        translate(body, **options)
    return caught.value


# -- a Codex body -------------------------------------------------------------------------


def test_codex_body_becomes_a_streamed_chat_request() -> None:
    translated = translate(codex_body(), upstream_model="deepseek-chat")
    body = translated.body
    assert body["model"] == "deepseek-chat"
    assert body["messages"] == [
        {"role": "system", "content": "You are Codex, a coding agent."},
        {
            "role": "system",
            "content": "<permissions instructions>sandbox: workspace-write</permissions instructions>",
        },
        {"role": "user", "content": "<environment_context><cwd>/tmp/x</cwd></environment_context>"},
        {"role": "user", "content": "list the files"},
    ]
    names = [tool["function"]["name"] for tool in body["tools"]]
    assert names == ["exec_command", "write_stdin", "multi_agent_v1__spawn_agent", "multi_agent_v1__wait"]
    assert body["tools"][0] == {
        "type": "function",
        "function": {
            "name": "exec_command",
            "description": EXEC_COMMAND["description"],
            "parameters": EXEC_COMMAND["parameters"],
            "strict": False,
        },
    }
    spawn = body["tools"][2]["function"]
    assert spawn["description"] == "Tools to run sub-agents.\n\nStart a sub-agent."
    assert body["tool_choice"] == "auto"
    assert "parallel_tool_calls" not in body  # true is the default; only false is sent
    assert body["stream"] is True
    assert body["stream_options"] == {"include_usage": True}
    # store, include, reasoning.summary, prompt_cache_key, client_metadata: nothing to map.
    for absent in (
        "store",
        "include",
        "reasoning",
        "reasoning_effort",
        "prompt_cache_key",
        "client_metadata",
        "input",
    ):
        assert absent not in body
    assert translated.dropped_hosted_tools == ["web_search"]
    assert translated.tool_names.restore("multi_agent_v1__spawn_agent") == ("multi_agent_v1", "spawn_agent")
    assert translated.tool_names.restore("exec_command") == (None, "exec_command")


def test_hosted_tool_is_refused_naming_the_tool_when_asked() -> None:
    error = refused(codex_body(), refuse=True)
    assert error.field == "tools.3"
    assert "web_search" in error.message
    assert "cannot be run by this provider" in error.message


def test_every_hosted_tool_type_is_dropped_and_listed_once() -> None:
    tools = [WEB_SEARCH, {"type": "file_search", "vector_store_ids": []}, WEB_SEARCH, EXEC_COMMAND]
    translated = translate({"input": "hi", "tools": tools})
    assert translated.dropped_hosted_tools == ["web_search", "file_search"]
    assert [tool["function"]["name"] for tool in translated.body["tools"]] == ["exec_command"]


def test_only_hosted_tools_leave_no_tools_and_no_tool_choice() -> None:
    body = chat({"input": "hi", "tools": [WEB_SEARCH], "tool_choice": "auto", "parallel_tool_calls": True})
    assert "tools" not in body
    assert "tool_choice" not in body
    assert "parallel_tool_calls" not in body


def test_custom_tool_inside_a_namespace_is_dropped() -> None:
    namespace = {**MULTI_AGENT, "tools": [*MULTI_AGENT["tools"], {"type": "custom", "name": "patch"}]}
    translated = translate({"input": "hi", "tools": [namespace]})
    assert translated.dropped_hosted_tools == ["custom"]
    assert len(translated.body["tools"]) == 2
    error = refused({"input": "hi", "tools": [namespace]}, refuse=True)
    assert error.field == "tools.0.tools.2"
    assert "'custom' cannot be run by this provider" in error.message


# -- messages ------------------------------------------------------------------------------


def test_string_input_is_one_user_message_after_instructions() -> None:
    body = chat({"instructions": "Be brief.", "input": "hi"})
    assert body["messages"] == [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hi"}]


def test_system_and_developer_items_stay_in_place() -> None:
    result = messages(user("a"), developer("dev note"), {"role": "system", "content": "sys note"}, user("b"))
    assert [message["role"] for message in result] == ["user", "system", "system", "user"]
    assert result[1]["content"] == "dev note"
    assert result[2]["content"] == "sys note"


def test_user_images_and_files_become_chat_parts() -> None:
    content = [
        {"type": "input_text", "text": "what is this?"},
        {"type": "input_image", "image_url": "https://example.invalid/cat.png", "detail": "low"},
        {"type": "input_image", "image_url": PNG_URL},
        {"type": "input_file", "file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
    ]
    result = messages({"type": "message", "role": "user", "content": content})
    assert result == [
        {
            "role": "user",
            "content": [
                {"type": "text", "text": "what is this?"},
                {
                    "type": "image_url",
                    "image_url": {"url": "https://example.invalid/cat.png", "detail": "low"},
                },
                {"type": "image_url", "image_url": {"url": PNG_URL}},
                {
                    "type": "file",
                    "file": {"file_data": "data:application/pdf;base64,JVBERi0=", "filename": "a.pdf"},
                },
            ],
        }
    ]


def test_uploaded_file_ids_are_a_clear_error() -> None:
    image = {
        "type": "message",
        "role": "user",
        "content": [{"type": "input_text", "text": "x"}, {"type": "input_image", "file_id": "file-1"}],
    }
    error = refused({"input": [image]})
    assert error.field == "input.0.content.1.file_id"
    assert "file ids" in error.message
    document = {"type": "message", "role": "user", "content": [{"type": "input_file", "file_id": "file-2"}]}
    assert refused({"input": [document]}).field == "input.0.content.0.file_id"


def test_image_in_an_assistant_message_is_refused() -> None:
    item = {
        "type": "message",
        "role": "assistant",
        "content": [{"type": "input_image", "image_url": PNG_URL}],
    }
    assert refused({"input": [user("hi"), item]}).field == "input.1.content.0.type"


def test_a_tool_loop_merges_consecutive_calls_into_one_assistant_message() -> None:
    result = messages(
        user("run two things"),
        reasoning(None, summary="thinking about it"),
        assistant("Running both."),
        call("call_1", "exec_command", '{"cmd":"ls"}'),
        call("call_2", "spawn_agent", '{"message":"go"}', namespace="multi_agent_v1"),
        output("call_1", "a.txt\nb.txt"),
        output("call_2", "agent started"),
        assistant("Done."),
    )
    assert result == [
        {"role": "user", "content": "run two things"},
        {
            "role": "assistant",
            "content": "Running both.",
            "tool_calls": [
                {
                    "id": "call_1",
                    "type": "function",
                    "function": {"name": "exec_command", "arguments": '{"cmd":"ls"}'},
                },
                {
                    "id": "call_2",
                    "type": "function",
                    "function": {"name": "multi_agent_v1__spawn_agent", "arguments": '{"message":"go"}'},
                },
            ],
        },
        {"role": "tool", "tool_call_id": "call_1", "content": "a.txt\nb.txt"},
        {"role": "tool", "tool_call_id": "call_2", "content": "agent started"},
        {"role": "assistant", "content": "Done."},
    ]


def test_calls_without_text_have_null_content() -> None:
    result = messages(user("go"), call("c1", "exec_command", "{}"), output("c1", "ok"))
    assert result[1]["content"] is None
    assert len(result[1]["tool_calls"]) == 1


def test_tool_output_parts_keep_text_in_the_tool_message_and_images_after_it() -> None:
    parts = [
        {"type": "input_text", "text": "screenshot taken"},
        {"type": "input_image", "image_url": PNG_URL},
    ]
    result = messages(user("look"), call("c1", "view_image", '{"path":"a.png"}'), output("c1", parts))
    assert result[2] == {"role": "tool", "tool_call_id": "c1", "content": "screenshot taken"}
    assert result[3] == {
        "role": "user",
        "content": [
            {"type": "text", "text": "Content returned by tool call c1:"},
            {"type": "image_url", "image_url": {"url": PNG_URL}},
        ],
    }


def test_hosted_tool_items_in_history_are_left_out() -> None:
    result = messages(
        user("search"),
        {"type": "web_search_call", "id": "ws_1", "status": "completed", "action": {"type": "search"}},
        assistant("Found it."),
    )
    assert result == [{"role": "user", "content": "search"}, {"role": "assistant", "content": "Found it."}]


def test_custom_tool_call_history_becomes_a_json_tool_call() -> None:
    result = messages(
        user("patch it"),
        {"type": "custom_tool_call", "call_id": "c9", "name": "apply_patch", "input": "*** Begin Patch"},
        {"type": "custom_tool_call_output", "call_id": "c9", "output": "applied"},
    )
    assert result[1]["tool_calls"][0]["function"] == {
        "name": "apply_patch",
        "arguments": json.dumps({"input": "*** Begin Patch"}),
    }
    assert result[2] == {"role": "tool", "tool_call_id": "c9", "content": "applied"}


# -- reasoning state -------------------------------------------------------------------------


def loop_with(state: dict[str, Any] | None) -> list[dict[str, Any]]:
    return [user("go"), reasoning(state), call("c1", "exec_command", '{"cmd":"ls"}'), output("c1", "ok")]


def test_deepseek_gets_its_reasoning_content_back_on_the_tool_turn() -> None:
    result = messages(*loop_with({"reasoning_content": "list first"}), quirks=DEEPSEEK)
    assert result[1]["reasoning_content"] == "list first"


def test_deepseek_tool_turn_without_reasoning_still_carries_the_field() -> None:
    result = messages(*loop_with(None), quirks=DEEPSEEK)
    assert result[1]["reasoning_content"] == ""


def test_deepseek_plain_answer_turn_gets_no_reasoning_content() -> None:
    result = messages(
        user("hi"),
        reasoning({"reasoning_content": "greet"}),
        assistant("Hello"),
        user("again"),
        quirks=DEEPSEEK,
    )
    assert result[1] == {"role": "assistant", "content": "Hello"}


def test_openrouter_gets_its_reasoning_details_back() -> None:
    details = [
        {
            "type": "reasoning.encrypted",
            "data": "opaque",
            "id": "r1",
            "format": "anthropic-claude-v1",
            "index": 0,
        }
    ]
    result = messages(*loop_with({"reasoning_details": details}), quirks=OPENROUTER)
    assert result[1]["reasoning_details"] == details


@pytest.mark.parametrize(
    ("state", "quirks"),
    [
        ({"reasoning_content": "x"}, PLAIN_OPENAI),
        ({"reasoning_details": [{"type": "reasoning.text", "text": "x"}]}, PLAIN_OPENAI),
        ({"anthropic": THINKING}, DEEPSEEK),
        ({"anthropic": THINKING}, OPENROUTER),
    ],
)
def test_reasoning_state_the_provider_does_not_take_is_left_out(
    state: dict[str, Any], quirks: ProviderQuirks
) -> None:
    assistant_message = messages(*loop_with(state), quirks=quirks)[1]
    assert "reasoning_details" not in assistant_message
    assert assistant_message.get("reasoning_content", "") == ""


def test_undecodable_encrypted_content_is_dropped() -> None:
    item = {"type": "reasoning", "id": "rs_9", "summary": [], "encrypted_content": "gAAAAABopenai-own-blob"}
    result = messages(user("go"), item, assistant("ok"), quirks=DEEPSEEK)
    assert result == [{"role": "user", "content": "go"}, {"role": "assistant", "content": "ok"}]


def test_gemini_thought_signature_travels_in_the_call_id() -> None:
    signed_id = tool_id_with_signature("call_1", "sig-abc")
    items = [user("go"), call(signed_id, "exec_command", "{}"), output(signed_id, "ok")]
    result = messages(*items, quirks=GEMINI)
    tool_call = result[1]["tool_calls"][0]
    assert tool_call["id"] == "call_1"
    assert tool_call["extra_content"] == {"google": {"thought_signature": "sig-abc"}}
    assert result[2]["tool_call_id"] == "call_1"


def test_gemini_unsigned_first_call_gets_the_validator_stand_in() -> None:
    result = messages(user("go"), call("c1", "exec_command", "{}"), output("c1", "ok"), quirks=GEMINI)
    assert (
        result[1]["tool_calls"][0]["extra_content"]["google"]["thought_signature"]
        == SKIP_SIGNATURE_VALIDATION
    )


# -- fields -----------------------------------------------------------------------------------

TOOLS = [EXEC_COMMAND, MULTI_AGENT]


@pytest.mark.parametrize(
    ("choice", "expected"),
    [
        ("auto", "auto"),
        ("none", "none"),
        ("required", "required"),
        (
            {"type": "function", "name": "exec_command"},
            {"type": "function", "function": {"name": "exec_command"}},
        ),
        (
            {"type": "function", "name": "spawn_agent", "namespace": "multi_agent_v1"},
            {"type": "function", "function": {"name": "multi_agent_v1__spawn_agent"}},
        ),
        (
            {"type": "function", "name": "multi_agent_v1__wait"},
            {"type": "function", "function": {"name": "multi_agent_v1__wait"}},
        ),
        (
            {
                "type": "allowed_tools",
                "mode": "required",
                "tools": [{"type": "function", "name": "exec_command"}],
            },
            "required",
        ),
    ],
)
def test_tool_choice(choice: Any, expected: Any) -> None:
    assert chat({"input": "hi", "tools": TOOLS, "tool_choice": choice})["tool_choice"] == expected


def test_tool_choice_of_a_dropped_hosted_tool_is_left_out() -> None:
    body = chat({"input": "hi", "tools": [*TOOLS, WEB_SEARCH], "tool_choice": {"type": "web_search_preview"}})
    assert "tool_choice" not in body


def test_parallel_tool_calls_false_is_passed() -> None:
    assert chat({"input": "hi", "tools": TOOLS, "parallel_tool_calls": False})["parallel_tool_calls"] is False


@pytest.mark.parametrize(
    ("upstream_model", "field"),
    [
        ("deepseek-chat", "max_tokens"),
        ("gpt-4o", "max_tokens"),
        ("gpt-5-mini", "max_completion_tokens"),
        ("openai/o3", "max_completion_tokens"),
    ],
)
def test_max_output_tokens_uses_the_field_the_model_takes(upstream_model: str, field: str) -> None:
    body = chat({"input": "hi", "max_output_tokens": 900}, upstream_model=upstream_model)
    assert body[field] == 900
    other = "max_tokens" if field == "max_completion_tokens" else "max_completion_tokens"
    assert other not in body


def test_no_limit_no_stream_no_effort_nothing_invented() -> None:
    body = chat({"input": "hi"})
    assert body == {"model": "up-model", "messages": [{"role": "user", "content": "hi"}]}


def test_sampling_and_effort_are_passed() -> None:
    body = chat(
        {"input": "hi", "temperature": 0.2, "top_p": 0.9, "reasoning": {"effort": "high", "summary": "auto"}}
    )
    assert body["temperature"] == 0.2
    assert body["top_p"] == 0.9
    assert body["reasoning_effort"] == "high"


def test_json_schema_format_becomes_response_format() -> None:
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    text = {
        "format": {"type": "json_schema", "name": "answer", "schema": schema, "strict": True},
        "verbosity": "low",
    }
    body = chat({"input": "hi", "text": text})
    assert body["response_format"] == {
        "type": "json_schema",
        "json_schema": {"name": "answer", "schema": schema, "strict": True},
    }
    assert "verbosity" not in body


def test_json_object_and_text_formats() -> None:
    assert chat({"input": "hi", "text": {"format": {"type": "json_object"}}})["response_format"] == {
        "type": "json_object"
    }
    assert "response_format" not in chat({"input": "hi", "text": {"format": {"type": "text"}}})


def test_user_and_safety_identifier_become_user() -> None:
    assert chat({"input": "hi", "user": "u-1"})["user"] == "u-1"
    assert chat({"input": "hi", "safety_identifier": "s-1"})["user"] == "s-1"
    assert len(chat({"input": "hi", "safety_identifier": "x" * 200})["user"]) == 64


def test_metadata_and_hints_are_dropped() -> None:
    body = chat(
        {
            "input": "hi",
            "metadata": {"a": "b"},
            "truncation": "auto",
            "service_tier": "flex",
            "store": True,
            "max_tool_calls": 3,
        }
    )
    assert body == {"model": "up-model", "messages": [{"role": "user", "content": "hi"}]}


# -- state the gateway does not keep ----------------------------------------------------------


def test_previous_response_id_is_refused_with_the_way_out() -> None:
    error = refused({"input": "next", "previous_response_id": "resp_123"})
    assert error.field == "previous_response_id"
    assert "'openai'" in error.message
    assert "store: false" in error.message


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ({"conversation": "conv_1"}, "conversation"),
        ({"prompt": {"id": "pmpt_1"}}, "prompt"),
        ({"background": True}, "background"),
        ({"input": [user("hi"), {"type": "item_reference", "id": "msg_1"}]}, "input.1"),
    ],
)
def test_other_stored_state_is_refused(extra: dict[str, Any], field: str) -> None:
    assert refused({"input": "hi", **extra}).field == field


def test_the_translator_validates_first() -> None:
    assert refused({"input": [user("a"), {"type": "hologram"}]}).field == "input.1.type"


def test_input_with_nothing_to_send_is_refused() -> None:
    assert (
        refused({"input": [{"type": "web_search_call", "id": "ws_1", "status": "completed"}]}).field
        == "input"
    )
    assert refused({"input": []}).field == "input"


def test_previous_response_id_without_input_is_refused_as_stored_state() -> None:
    assert refused({"previous_response_id": "resp_1"}).field == "previous_response_id"
