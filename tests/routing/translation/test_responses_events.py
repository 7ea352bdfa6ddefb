import json

from openai.types.responses import Response, ResponseUsage

from routing.translation.responses_events import (
    ResponsesEventWriter,
    request_echo,
    sse,
    usage_from_anthropic,
    usage_from_chat,
)
from routing.translation.responses_output import ResponsesOutput
from tests.routing.translation.responses_checks import TOOLS, check_grammar, parse_sse, sdk_replay


def test_chat_usage_counts_the_whole_prompt_with_cached_and_reasoning_tokens() -> None:
    usage = usage_from_chat(
        {
            "prompt_tokens": 120,
            "completion_tokens": 30,
            "total_tokens": 150,
            "prompt_tokens_details": {"cached_tokens": 100},
            "completion_tokens_details": {"reasoning_tokens": 12},
        }
    )
    assert usage == {
        "input_tokens": 120,
        "input_tokens_details": {"cached_tokens": 100, "cache_write_tokens": 0},
        "output_tokens": 30,
        "output_tokens_details": {"reasoning_tokens": 12},
        "total_tokens": 150,
    }
    ResponseUsage.model_validate(usage)


def test_deepseek_cache_hits_count_as_cached_tokens() -> None:
    usage = usage_from_chat({"prompt_tokens": 50, "completion_tokens": 5, "prompt_cache_hit_tokens": 40})
    assert usage["input_tokens_details"]["cached_tokens"] == 40
    assert usage["total_tokens"] == 55


def test_anthropic_usage_adds_cache_reads_and_writes_to_the_input() -> None:
    usage = usage_from_anthropic(
        {
            "input_tokens": 10,
            "cache_read_input_tokens": 200,
            "cache_creation_input_tokens": 30,
            "output_tokens": 7,
        }
    )
    assert usage["input_tokens"] == 240
    assert usage["input_tokens_details"] == {"cached_tokens": 200, "cache_write_tokens": 30}
    assert usage["output_tokens"] == 7
    assert usage["total_tokens"] == 247
    ResponseUsage.model_validate(usage)


def test_missing_or_mistyped_usage_counts_zero() -> None:
    assert usage_from_chat(None)["total_tokens"] == 0
    assert usage_from_anthropic({"input_tokens": "many", "output_tokens": True})["total_tokens"] == 0


def test_sse_names_the_event_and_sends_compact_json() -> None:
    body = sse({"type": "response.output_text.delta", "sequence_number": 3, "delta": "é"})
    assert (
        body
        == 'event: response.output_text.delta\ndata: {"type":"response.output_text.delta","sequence_number":3,"delta":"é"}\n\n'.encode()
    )
    assert parse_sse(body) == [json.loads(body.split(b"data: ")[1])]


def test_the_response_echoes_the_request_as_the_client_sent_it() -> None:
    request = {
        "model": "fast",
        "tools": TOOLS,
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "instructions": "be brief",
        "max_output_tokens": 500,
        "temperature": 0.2,
        "top_p": 0.9,
        "text": {"format": {"type": "json_object"}},
        "reasoning": {"effort": "low", "summary": "auto"},
        "metadata": {"k": "v"},
        "store": True,
    }
    echo = request_echo(request)
    assert echo["tools"] is TOOLS
    assert echo["store"] is False
    assert {key: echo[key] for key in ("tool_choice", "parallel_tool_calls", "instructions")} == {
        "tool_choice": "auto",
        "parallel_tool_calls": False,
        "instructions": "be brief",
    }
    assert echo["max_output_tokens"] == 500
    assert echo["temperature"] == 0.2
    assert echo["top_p"] == 0.9
    assert echo["text"] == {"format": {"type": "json_object"}}
    assert echo["reasoning"]["effort"] == "low"
    assert echo["metadata"] == {"k": "v"}
    writer = ResponsesEventWriter(request=request, client_model="fast")
    response = writer.response(status="completed", output=[])
    Response.model_validate(response)
    assert response["model"] == "fast"
    assert response["id"].startswith("resp_")


def test_defaults_when_the_request_sets_nothing() -> None:
    echo = request_echo({"model": "m", "input": "hi"})
    assert echo["tools"] == []
    assert echo["tool_choice"] == "auto"
    assert echo["parallel_tool_calls"] is True
    assert echo["text"] == {"format": {"type": "text"}}
    assert echo["metadata"] == {}


def test_writer_numbers_events_from_zero_and_makes_prefixed_ids() -> None:
    writer = ResponsesEventWriter(request={}, client_model="m", created_at=1700000000, response_id="resp_x")
    opening = writer.opening()
    assert [event["sequence_number"] for event in opening] == [0, 1]
    assert opening[0]["response"]["created_at"] == 1700000000
    assert writer.event("response.output_text.delta")["sequence_number"] == 2
    assert writer.item_id("message").startswith("msg_")
    assert writer.item_id("function_call").startswith("fc_")
    assert writer.item_id("reasoning").startswith("rs_")


def test_an_answer_with_nothing_in_it_is_still_a_whole_stream() -> None:
    output = ResponsesOutput(ResponsesEventWriter(request={"tools": TOOLS}, client_model="m"))
    events = output.finish(usage=None)
    assert check_grammar(events)["output"] == []
    assert sdk_replay(events, TOOLS).status == "completed"


def test_every_item_type_in_one_stream_satisfies_the_sdk() -> None:
    output = ResponsesOutput(ResponsesEventWriter(request={"tools": TOOLS}, client_model="m"))
    events = output.start()
    reasoning, opened = output.open_reasoning()
    events += opened + output.add_text(reasoning, "thinking")
    events += output.close(reasoning, encrypted_content="vdmrs1.e30")
    message, opened = output.open_message()
    events += opened + output.add_text(message, "Hel") + output.add_text(message, "lo")
    call, opened = output.open_call(call_id="call_1", name="spawn_agent", namespace="multi_agent_v1")
    events += opened + output.add_text(call, '{"a"') + output.add_text(call, ":1}")
    events += output.finish(usage=usage_from_chat({"prompt_tokens": 3, "completion_tokens": 4}))
    response = check_grammar(events)
    assert [item["type"] for item in response["output"]] == ["reasoning", "message", "function_call"]
    final = sdk_replay(events, TOOLS)
    assert final.output_text == "Hello"
    assert final.output[2].namespace == "multi_agent_v1"
    assert final.usage.total_tokens == 7


def test_finish_and_fail_write_one_terminal_event_only() -> None:
    output = ResponsesOutput(ResponsesEventWriter(request={}, client_model="m"))
    events = output.finish(usage=None)
    assert output.fail("late") == []
    assert output.finish(usage=None) == []
    check_grammar(events)
