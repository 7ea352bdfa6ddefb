import json
from typing import Any

import httpx
from openai import OpenAI
from openai.types.responses import Response

from routing.translation.reasoning_details import merged
from routing.translation.responses_events import ResponsesEventWriter, sse
from routing.translation.responses_from_chat import ChatToResponsesStream, chat_to_responses_response
from routing.translation.responses_reasoning import decode_reasoning
from routing.translation.responses_tools import FlatToolNames
from routing.translation.tool_names import ToolNameMap
from tests.routing.translation.responses_checks import TOOLS, check_grammar, flat_names, run, sdk_replay


def _stream(upstream_names: ToolNameMap | None = None) -> ChatToResponsesStream:
    writer = ResponsesEventWriter(request={"tools": TOOLS}, client_model="gw-model")
    return ChatToResponsesStream(writer=writer, tool_names=flat_names(), upstream_names=upstream_names)


def _chunk(delta: dict[str, Any] | None = None, finish: str | None = None) -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta or {}, "finish_reason": finish}],
    }


def _usage_chunk(**usage: Any) -> dict[str, Any]:
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "choices": [], "usage": usage}


def _call(index: int, arguments: str, call_id: str | None = None, name: str | None = None) -> dict[str, Any]:
    call: dict[str, Any] = {"index": index, "function": {"arguments": arguments}}
    if call_id is not None:
        call.update(id=call_id, type="function")
        call["function"]["name"] = name
    return call


def test_text_deltas_and_usage_with_cached_and_reasoning_tokens() -> None:
    events = run(
        _stream(),
        [
            _chunk({"role": "assistant", "content": ""}),
            _chunk({"content": "Hel"}),
            _chunk({"content": "lo"}),
            _chunk(finish="stop"),
            _usage_chunk(
                prompt_tokens=100,
                completion_tokens=20,
                total_tokens=120,
                prompt_tokens_details={"cached_tokens": 64},
                completion_tokens_details={"reasoning_tokens": 8},
            ),
        ],
    )
    response = check_grammar(events)
    assert response["status"] == "completed"
    assert [event["delta"] for event in events if event["type"] == "response.output_text.delta"] == [
        "Hel",
        "lo",
    ]
    final = sdk_replay(events, TOOLS)
    assert final.output_text == "Hello"
    assert final.model == "gw-model"
    assert final.usage.input_tokens == 100
    assert final.usage.input_tokens_details.cached_tokens == 64
    assert final.usage.output_tokens_details.reasoning_tokens == 8


def test_parallel_calls_with_fragmented_arguments_and_a_namespace_restored() -> None:
    events = run(
        _stream(),
        [
            _chunk({"role": "assistant", "tool_calls": [_call(0, "", "call_a", "exec_command")]}),
            _chunk({"tool_calls": [_call(0, '{"cmd": ')]}),
            _chunk({"tool_calls": [_call(1, '{"task"', "call_b", "multi_agent_v1__spawn_agent")]}),
            _chunk({"tool_calls": [_call(0, '"ls"}')]}),  # interleaved: call 0 goes on after call 1 began
            _chunk({"tool_calls": [_call(1, ': "x"}')]}),
            _chunk(finish="tool_calls"),
        ],
    )
    response = check_grammar(events)
    calls = response["output"]
    assert [(call["call_id"], call["name"], call.get("namespace")) for call in calls] == [
        ("call_a", "exec_command", None),
        ("call_b", "spawn_agent", "multi_agent_v1"),
    ]
    assert [call["arguments"] for call in calls] == ['{"cmd": "ls"}', '{"task": "x"}']
    deltas = [event["delta"] for event in events if event["type"] == "response.function_call_arguments.delta"]
    assert deltas == ['{"cmd": ', '{"task"', '"ls"}', ': "x"}']
    final = sdk_replay(events, TOOLS)
    assert final.output[1].namespace == "multi_agent_v1"
    assert final.output[1].parsed_arguments == {"task": "x"}  # the SDK found the namespaced tool


def test_reasoning_content_then_a_tool_call_carries_the_reasoning_back() -> None:
    events = run(
        _stream(),
        [
            _chunk({"role": "assistant", "reasoning_content": "I should "}),
            _chunk({"reasoning_content": "list files."}),
            _chunk({"tool_calls": [_call(0, "{}", "call_1", "exec_command")]}),
            _chunk(finish="tool_calls"),
        ],
    )
    response = check_grammar(events)
    reasoning, call = response["output"]
    assert reasoning["summary"] == [{"type": "summary_text", "text": "I should list files."}]
    assert decode_reasoning(reasoning["encrypted_content"]) == {"reasoning_content": "I should list files."}
    assert call["type"] == "function_call"
    summary_deltas = [
        event["delta"] for event in events if event["type"] == "response.reasoning_summary_text.delta"
    ]
    assert summary_deltas == ["I should ", "list files."]
    sdk_replay(events, TOOLS)


def test_openrouter_reasoning_details_fragments_are_merged_into_encrypted_content() -> None:
    first = {"type": "reasoning.text", "text": "Think", "index": 0, "format": "anthropic-claude-v1"}
    second = {"type": "reasoning.text", "text": "ing.", "index": 0, "format": "anthropic-claude-v1"}
    signature = {"type": "reasoning.text", "signature": "sig-1", "index": 0, "format": "anthropic-claude-v1"}
    encrypted = {"type": "reasoning.encrypted", "data": "opaque", "index": 1, "format": "anthropic-claude-v1"}
    events = run(
        _stream(),
        [
            # OpenRouter repeats the text in ``reasoning``: the entries are the source, no double text.
            _chunk({"reasoning": "Think", "reasoning_details": [first]}),
            _chunk({"reasoning": "ing.", "reasoning_details": [second]}),
            _chunk({"reasoning_details": [signature, encrypted]}),
            _chunk({"content": "Done."}),
            _chunk(finish="stop"),
        ],
    )
    response = check_grammar(events)
    reasoning, message = response["output"]
    assert reasoning["summary"][0]["text"] == "Thinking."
    expected = [merged(merged(first, second), signature), encrypted]
    assert decode_reasoning(reasoning["encrypted_content"]) == {"reasoning_details": expected}
    assert expected[0]["signature"] == "sig-1"
    assert message["content"][0]["text"] == "Done."
    sdk_replay(events, TOOLS)


def test_gemini_call_ids_with_thought_signatures_are_kept_unchanged() -> None:
    call_id = "call_9f__thought__CiQBVKhc7wX-signature=="
    events = run(
        _stream(),
        [
            _chunk({"tool_calls": [_call(0, '{"cmd":"pwd"}', call_id, "exec_command")]}),
            _chunk(finish="tool_calls"),
        ],
    )
    assert check_grammar(events)["output"][0]["call_id"] == call_id


def test_a_sanitized_name_is_restored_before_the_namespace() -> None:
    upstream = ToolNameMap(
        sanitized_to_original={"multi_agent_v1__spawn_agent_ab12": "multi_agent_v1__spawn_agent"}
    )
    events = run(
        _stream(upstream),
        [
            _chunk({"tool_calls": [_call(0, "{}", "c1", "multi_agent_v1__spawn_agent_ab12")]}),
            _chunk(finish="tool_calls"),
        ],
    )
    call = check_grammar(events)["output"][0]
    assert (call["namespace"], call["name"]) == ("multi_agent_v1", "spawn_agent")


def test_a_call_without_arguments_gets_an_empty_object() -> None:
    events = run(
        _stream(), [_chunk({"tool_calls": [_call(0, "", "c1", "exec_command")]}), _chunk(finish="tool_calls")]
    )
    assert check_grammar(events)["output"][0]["arguments"] == "{}"


def test_finish_reason_length_is_incomplete_for_max_output_tokens() -> None:
    events = run(_stream(), [_chunk({"content": "a long ans"}), _chunk(finish="length")])
    response = check_grammar(events)
    assert events[-1]["type"] == "response.incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete"
    assert sdk_replay(events, TOOLS).incomplete_details.reason == "max_output_tokens"


def test_content_filter_is_incomplete_for_content_filter() -> None:
    events = run(_stream(), [_chunk({"content": "x"}), _chunk(finish="content_filter")])
    assert check_grammar(events)["incomplete_details"] == {"reason": "content_filter"}


def test_an_upstream_break_mid_stream_fails_the_response_with_items_closed() -> None:
    stream = _stream()
    events = run(
        stream,
        [
            _chunk({"reasoning_content": "hmm"}),
            _chunk({"tool_calls": [_call(0, '{"cmd"', "c1", "exec_command")]}),
        ],
        end=False,
    )
    events += stream.fail("upstream connection reset")
    response = check_grammar(events)
    assert events[-1]["type"] == "response.failed"
    assert response["error"] == {"code": "server_error", "message": "upstream connection reset"}
    assert response["output"][1]["status"] == "incomplete"
    assert stream.finish() == []  # one terminal event, whatever the door calls after
    assert sdk_replay(events, TOOLS).error.code == "server_error"


def test_a_stream_that_ends_without_finish_reason_failed() -> None:
    events = run(_stream(), [_chunk({"content": "cut of"})])
    response = check_grammar(events)
    assert response["status"] == "failed"
    assert "ended before" in response["error"]["message"]


def test_a_whole_completion_becomes_a_whole_response() -> None:
    completion = {
        "id": "chatcmpl-9",
        "object": "chat.completion",
        "choices": [
            {
                "index": 0,
                "finish_reason": "tool_calls",
                "message": {
                    "role": "assistant",
                    "reasoning_content": "plan",
                    "content": "Calling.",
                    "tool_calls": [
                        {
                            "id": "call_x",
                            "type": "function",
                            "function": {"name": "multi_agent_v1__spawn_agent", "arguments": '{"task":"t"}'},
                        }
                    ],
                },
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 4, "total_tokens": 13},
    }
    writer = ResponsesEventWriter(request={"tools": TOOLS}, client_model="gw-model")
    response = chat_to_responses_response(completion, writer=writer, tool_names=flat_names())
    parsed = Response.model_validate(response)
    assert parsed.status == "completed"
    assert [item.type for item in parsed.output] == ["reasoning", "message", "function_call"]
    assert parsed.output_text == "Calling."
    assert parsed.output[2].namespace == "multi_agent_v1"
    assert parsed.output[2].arguments == '{"task":"t"}'
    assert parsed.usage.total_tokens == 13


def test_a_whole_completion_cut_by_length_is_incomplete() -> None:
    completion = {"choices": [{"index": 0, "finish_reason": "length", "message": {"content": "trunc"}}]}
    writer = ResponsesEventWriter(request={}, client_model="m")
    response = chat_to_responses_response(completion, writer=writer, tool_names=FlatToolNames())
    assert Response.model_validate(response).status == "incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}


def test_the_openai_client_streams_and_creates_from_these_answers() -> None:
    """The SDK's own ``responses.stream()`` and ``responses.create()`` over HTTP (an
    in-process transport) read the SSE bytes and the JSON this module writes."""
    chunks = [
        _chunk({"reasoning_content": "plan"}),
        _chunk({"content": "Hi"}),
        _chunk({"tool_calls": [_call(0, '{"task":', "call_1", "multi_agent_v1__spawn_agent")]}),
        _chunk({"tool_calls": [_call(0, '"t"}')]}),
        _chunk(finish="tool_calls"),
        _usage_chunk(prompt_tokens=4, completion_tokens=6),
    ]

    def answer(request: httpx.Request) -> httpx.Response:
        body = json.loads(request.content)
        writer = ResponsesEventWriter(request=body, client_model=body["model"])
        if body.get("stream"):
            stream = ChatToResponsesStream(writer=writer, tool_names=flat_names())
            events = run(stream, chunks)
            return httpx.Response(
                200,
                content=b"".join(sse(event) for event in events),
                headers={"content-type": "text/event-stream"},
            )
        completion = {
            "choices": [{"index": 0, "finish_reason": "stop", "message": {"content": "Hi"}}],
            "usage": {"prompt_tokens": 4, "completion_tokens": 1},
        }
        return httpx.Response(
            200, json=chat_to_responses_response(completion, writer=writer, tool_names=flat_names())
        )

    client = OpenAI(
        base_url="http://127.0.0.1/v1",
        api_key="k",
        http_client=httpx.Client(transport=httpx.MockTransport(answer)),
    )
    with client.responses.stream(model="gw-model", input="hi", tools=TOOLS) as stream:
        kinds = [event.type for event in stream]
        final = stream.get_final_response()
    assert kinds[0] == "response.created"
    assert kinds[-1] == "response.completed"
    assert final.output_text == "Hi"
    assert final.output[2].parsed_arguments == {"task": "t"}
    assert final.usage is not None
    assert final.usage.total_tokens == 10
    created = client.responses.create(model="gw-model", input="hi")
    assert created.output_text == "Hi"
    assert created.status == "completed"


def test_whole_calls_all_at_index_zero_are_separate_calls() -> None:
    events = run(
        _stream(),
        [
            _chunk({"tool_calls": [_call(0, '{"cmd":"a"}', "call_1", "exec_command")]}),
            _chunk({"tool_calls": [_call(0, '{"cmd":"b"}', "call_2", "exec_command")]}),
            _chunk({"tool_calls": [_call(0, "", "call_2")]}),  # the same id again is the same call
            _chunk(finish="tool_calls"),
        ],
    )
    calls = check_grammar(events)["output"]
    assert [(call["call_id"], call["arguments"]) for call in calls] == [
        ("call_1", '{"cmd":"a"}'),
        ("call_2", '{"cmd":"b"}'),
    ]


def test_an_error_chunk_mid_stream_fails_the_response() -> None:
    stream = _stream()
    events = run(
        stream, [_chunk({"content": "par"}), {"error": {"code": 502, "message": "provider went away"}}]
    )
    response = check_grammar(events)
    assert response["status"] == "failed"
    assert response["error"]["message"] == "provider went away"
    assert stream.feed(_chunk({"content": "more"})) == []


def test_a_call_whose_name_comes_after_its_id_keeps_its_id_and_arguments() -> None:
    first = {"index": 0, "id": "call_late", "type": "function", "function": {"arguments": '{"cmd"'}}
    events = run(
        _stream(),
        [
            _chunk({"tool_calls": [first]}),
            _chunk(
                {"tool_calls": [{"index": 0, "function": {"name": "exec_command", "arguments": ':"x"}'}}]}
            ),
            _chunk(finish="tool_calls"),
        ],
    )
    call = check_grammar(events)["output"][0]
    assert (call["call_id"], call["name"], call["arguments"]) == ("call_late", "exec_command", '{"cmd":"x"}')
