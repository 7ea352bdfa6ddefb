from typing import Any

from openai.types.responses import Response

from routing.translation.responses_events import ResponsesEventWriter
from routing.translation.responses_from_anthropic import (
    AnthropicToResponsesStream,
    anthropic_to_responses_response,
)
from routing.translation.responses_reasoning import decode_reasoning
from routing.translation.responses_tools import FlatToolNames
from tests.routing.translation.responses_checks import TOOLS, check_grammar, flat_names, run, sdk_replay


def _stream() -> AnthropicToResponsesStream:
    writer = ResponsesEventWriter(request={"tools": TOOLS}, client_model="claude-alias")
    return AnthropicToResponsesStream(writer=writer, tool_names=flat_names())


def _start(**usage: int) -> dict[str, Any]:
    message = {"id": "msg_01", "type": "message", "role": "assistant", "content": [], "usage": usage}
    return {"type": "message_start", "message": message}


def _block(index: int, block: dict[str, Any]) -> dict[str, Any]:
    return {"type": "content_block_start", "index": index, "content_block": block}


def _delta(index: int, **delta: Any) -> dict[str, Any]:
    return {"type": "content_block_delta", "index": index, "delta": delta}


def _stop(index: int) -> dict[str, Any]:
    return {"type": "content_block_stop", "index": index}


def _end(stop_reason: str, output_tokens: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "type": "message_delta",
            "delta": {"stop_reason": stop_reason},
            "usage": {"output_tokens": output_tokens},
        },
        {"type": "message_stop"},
    ]


def test_signed_thinking_then_a_fragmented_tool_call_with_usage() -> None:
    events = run(
        _stream(),
        [
            _start(
                input_tokens=12, cache_read_input_tokens=300, cache_creation_input_tokens=40, output_tokens=1
            ),
            {"type": "ping"},
            _block(0, {"type": "thinking", "thinking": "", "signature": ""}),
            _delta(0, type="thinking_delta", thinking="Need to "),
            _delta(0, type="thinking_delta", thinking="look."),
            _delta(0, type="signature_delta", signature="EqQBsig=="),
            _stop(0),
            _block(1, {"type": "tool_use", "id": "toolu_01", "name": "exec_command", "input": {}}),
            _delta(1, type="input_json_delta", partial_json=""),
            _delta(1, type="input_json_delta", partial_json='{"cmd": "l'),
            _delta(1, type="input_json_delta", partial_json='s"}'),
            _stop(1),
            *_end("tool_use", output_tokens=55),
        ],
    )
    response = check_grammar(events)
    reasoning, call = response["output"]
    assert reasoning["summary"] == [{"type": "summary_text", "text": "Need to look."}]
    signed = {"type": "thinking", "thinking": "Need to look.", "signature": "EqQBsig=="}
    assert decode_reasoning(reasoning["encrypted_content"]) == {"anthropic": signed}
    added = next(event for event in events if event["type"] == "response.output_item.added")
    assert "encrypted_content" not in added["item"]  # the signature is known only at the block's end
    assert (call["call_id"], call["name"], call["arguments"]) == ("toolu_01", "exec_command", '{"cmd": "ls"}')
    assert response["usage"]["input_tokens"] == 352
    assert response["usage"]["input_tokens_details"]["cached_tokens"] == 300
    assert response["usage"]["output_tokens"] == 55
    final = sdk_replay(events, TOOLS)
    assert final.output[1].parsed_arguments == {"cmd": "ls"}
    assert final.usage.total_tokens == 407


def test_text_and_a_namespace_call_restored() -> None:
    events = run(
        _stream(),
        [
            _start(input_tokens=5),
            _block(0, {"type": "text", "text": ""}),
            _delta(0, type="text_delta", text="On "),
            _delta(0, type="text_delta", text="it."),
            _stop(0),
            _block(
                1, {"type": "tool_use", "id": "toolu_02", "name": "multi_agent_v1__spawn_agent", "input": {}}
            ),
            _delta(1, type="input_json_delta", partial_json='{"task": "t"}'),
            _stop(1),
            *_end("tool_use", 9),
        ],
    )
    response = check_grammar(events)
    message, call = response["output"]
    assert message["content"][0]["text"] == "On it."
    assert (call["namespace"], call["name"]) == ("multi_agent_v1", "spawn_agent")
    final = sdk_replay(events, TOOLS)
    assert final.output_text == "On it."
    assert final.output[1].parsed_arguments == {"task": "t"}


def test_redacted_thinking_is_a_reasoning_item_without_summary() -> None:
    block = {"type": "redacted_thinking", "data": "EmwKAhgBEgy3va"}
    events = run(_stream(), [_start(), _block(0, block), _stop(0), *_end("end_turn")])
    reasoning = check_grammar(events)["output"][0]
    assert reasoning["summary"] == []
    assert decode_reasoning(reasoning["encrypted_content"]) == {"anthropic": block}
    sdk_replay(events, TOOLS)


def test_a_tool_use_with_its_whole_input_in_the_start_and_no_deltas() -> None:
    tool_use = {"type": "tool_use", "id": "toolu_3", "name": "exec_command", "input": {"cmd": "pwd"}}
    events = run(_stream(), [_start(), _block(0, tool_use), _stop(0), *_end("tool_use")])
    assert check_grammar(events)["output"][0]["arguments"] == '{"cmd":"pwd"}'


def test_server_tool_blocks_are_dropped() -> None:
    events = run(
        _stream(),
        [
            _start(),
            _block(0, {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {}}),
            _delta(0, type="input_json_delta", partial_json='{"query": "x"}'),
            _stop(0),
            _block(1, {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": []}),
            _stop(1),
            _block(2, {"type": "text", "text": "Found it."}),
            _stop(2),
            *_end("end_turn"),
        ],
    )
    response = check_grammar(events)
    assert [item["type"] for item in response["output"]] == ["message"]
    assert response["output"][0]["content"][0]["text"] == "Found it."


def test_max_tokens_is_incomplete_with_the_open_items_incomplete() -> None:
    stream = _stream()
    events = run(
        stream,
        [
            _start(),
            _block(0, {"type": "text", "text": ""}),
            _delta(0, type="text_delta", text="trunc"),
            *_end("max_tokens"),
        ],
    )
    response = check_grammar(events)
    assert events[-1]["type"] == "response.incomplete"
    assert response["incomplete_details"] == {"reason": "max_output_tokens"}
    assert response["output"][0]["status"] == "incomplete"
    assert sdk_replay(events, TOOLS).status == "incomplete"


def test_an_error_event_fails_the_response() -> None:
    stream = _stream()
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    events = run(
        stream,
        [
            _start(input_tokens=3),
            _block(0, {"type": "text", "text": ""}),
            _delta(0, type="text_delta", text="par"),
            error,
        ],
    )
    response = check_grammar(events)
    assert events[-1]["type"] == "response.failed"
    assert response["error"] == {"code": "rate_limit_exceeded", "message": "slow down"}
    assert response["output"][0]["status"] == "incomplete"
    assert stream.feed({"type": "message_stop"}) == []
    assert sdk_replay(events, TOOLS).error.message == "slow down"


def test_a_stream_cut_before_message_stop_fails() -> None:
    stream = _stream()
    events = run(
        stream,
        [
            _start(),
            _block(0, {"type": "thinking", "thinking": ""}),
            _delta(0, type="thinking_delta", thinking="hm"),
        ],
    )
    response = check_grammar(events)
    assert response["status"] == "failed"
    assert response["output"][0]["type"] == "reasoning"


def test_fail_mid_stream_from_the_door() -> None:
    stream = _stream()
    events = run(stream, [_start(), _block(0, {"type": "text", "text": "a"})], end=False)
    events += stream.fail("upstream read timeout")
    assert check_grammar(events)["error"]["message"] == "upstream read timeout"
    assert stream.finish() == []


def test_a_whole_message_becomes_a_whole_response() -> None:
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "content": [
            {"type": "thinking", "thinking": "plan", "signature": "sig"},
            {"type": "text", "text": "Running."},
            {
                "type": "tool_use",
                "id": "toolu_9",
                "name": "multi_agent_v1__spawn_agent",
                "input": {"task": "t"},
            },
        ],
        "stop_reason": "tool_use",
        "usage": {"input_tokens": 10, "cache_read_input_tokens": 5, "output_tokens": 7},
    }
    writer = ResponsesEventWriter(request={"tools": TOOLS}, client_model="claude-alias")
    response = anthropic_to_responses_response(message, writer=writer, tool_names=flat_names())
    parsed = Response.model_validate(response)
    assert parsed.status == "completed"
    assert [item.type for item in parsed.output] == ["reasoning", "message", "function_call"]
    assert decode_reasoning(parsed.output[0].encrypted_content) == {
        "anthropic": {"type": "thinking", "thinking": "plan", "signature": "sig"}
    }
    assert parsed.output_text == "Running."
    assert parsed.output[2].namespace == "multi_agent_v1"
    assert parsed.output[2].arguments == '{"task":"t"}'
    assert parsed.usage.input_tokens == 15
    assert parsed.usage.total_tokens == 22


def test_a_whole_message_cut_by_max_tokens_is_incomplete() -> None:
    message = {"content": [{"type": "text", "text": "tr"}], "stop_reason": "max_tokens", "usage": {}}
    writer = ResponsesEventWriter(request={}, client_model="m")
    response = anthropic_to_responses_response(message, writer=writer, tool_names=FlatToolNames())
    assert Response.model_validate(response).incomplete_details.reason == "max_output_tokens"
