"""The mock upstream's Responses route (``POST /v1/responses``) and its scripted Codex shell
round trip in all three dialects, read by hand and by the official SDKs."""

import json
from collections.abc import Iterator
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.mock_upstream import INPUT_TOKENS, REPLY_TEXT, MockUpstream, stream_text
from tests.mock_upstream import shell_round_trip as shell

COMMAND = "echo vdm-$((6*7))-$(printf '%s' shell)"
TOOL_OUTPUT = "Process exited with code 0\nOutput:\nvdm-42-shell\n"
TERMINAL = {"response.completed", "response.incomplete", "response.failed"}


@pytest.fixture(scope="module")
def shared_mock() -> Iterator[MockUpstream]:
    with MockUpstream() as mock:
        yield mock


@pytest.fixture
def mock(shared_mock: MockUpstream) -> Iterator[MockUpstream]:
    shared_mock.reset()
    yield shared_mock
    shared_mock.reset()


@pytest.fixture
def client(mock: MockUpstream) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=mock.origin, timeout=10) as http:
        yield http


def named_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def assert_responses_grammar(events: list[tuple[str, dict[str, Any]]]) -> list[dict[str, Any]]:
    """Named like their type, numbered 0…n-1, created → in_progress → … → one terminal event."""
    assert all(name == data["type"] for name, data in events)
    payloads = [data for _, data in events]
    assert [p["sequence_number"] for p in payloads] == list(range(len(payloads)))
    types = [p["type"] for p in payloads]
    assert types[:2] == ["response.created", "response.in_progress"]
    assert [t for t in types if t in TERMINAL] == ["response.completed"] == types[-1:]
    added = [p["output_index"] for p in payloads if p["type"] == "response.output_item.added"]
    done = [p["output_index"] for p in payloads if p["type"] == "response.output_item.done"]
    assert added == done == list(range(len(added)))
    return payloads


# --- the Responses route -----------------------------------------------------------------


def test_responses_json(client: httpx.Client) -> None:
    body = client.post("/v1/responses", json={"model": "gpt-r", "input": "hi"}).json()
    assert body["object"] == "response"
    assert body["status"] == "completed"
    assert body["model"] == "gpt-r"
    assert body["output"][0]["content"][0] == {"type": "output_text", "text": REPLY_TEXT, "annotations": []}
    assert body["usage"]["input_tokens"] == INPUT_TOKENS
    assert body["usage"]["output_tokens_details"] == {"reasoning_tokens": 0}


def test_responses_stream_grammar_and_pacing(client: httpx.Client) -> None:
    response = client.post(
        "/v1/responses",
        json={"model": "gpt-r", "input": "hi", "stream": True},
        headers={"x-mock-chunks": "5"},
    )
    assert response.headers["content-type"] == "text/event-stream"
    payloads = assert_responses_grammar(named_events(response.text))
    assert [p["type"] for p in payloads] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        *["response.output_text.delta"] * 5,
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    deltas = "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")
    assert deltas == stream_text(5)
    completed = payloads[-1]["response"]
    assert completed["output"][0]["content"][0]["text"] == stream_text(5)
    assert completed["usage"]["output_tokens"] == 5


def test_openai_sdk_reads_responses_json_and_stream(mock: MockUpstream) -> None:
    sdk = openai.OpenAI(api_key="k", base_url=mock.base_url, max_retries=0)
    assert sdk.responses.create(model="gpt-r", input="hi").output_text == REPLY_TEXT
    with sdk.responses.stream(model="gpt-r", input="hi") as stream:
        texts = [event.delta for event in stream if event.type == "response.output_text.delta"]
        final = stream.get_final_response()
    assert "".join(texts) == REPLY_TEXT == final.output_text
    assert final.usage is not None
    assert final.usage.input_tokens == INPUT_TOKENS


def test_responses_requests_are_recorded_and_errors_use_openais_envelope(
    mock: MockUpstream, client: httpx.Client
) -> None:
    mock.script([{"status": 429}])
    reply = client.post(
        "/v1/responses", json={"model": "gpt-r", "input": "hi"}, headers={"anthropic-version": "x"}
    )
    assert reply.status_code == 429
    assert reply.json()["error"]["message"] == "scripted failure 429"
    (recorded,) = mock.requests()
    assert (recorded["path"], recorded["json"]["input"]) == ("/v1/responses", "hi")


# --- the shell round trip ----------------------------------------------------------------


def _request(dialect: str, *, with_output: bool, stream: bool, tool: str = shell.TOOL_NAME) -> dict[str, Any]:
    """A first (user asks) or second (tool output present) request, as each client sends it."""
    ask = f"RUN:{COMMAND}"
    if dialect == "responses":
        items: list[dict[str, Any]] = [
            {"type": "message", "role": "user", "content": [{"type": "input_text", "text": ask}]}
        ]
        if with_output:
            items += [
                {"type": "function_call", "call_id": "c1", "name": tool, "arguments": "{}"},
                {"type": "function_call_output", "call_id": "c1", "output": TOOL_OUTPUT},
            ]
        return {"model": "m", "input": items, "tools": [{"type": "function", "name": tool}], "stream": stream}
    if dialect == "chat_completions":
        messages: list[dict[str, Any]] = [{"role": "user", "content": ask}]
        if with_output:
            call = {"id": "c1", "type": "function", "function": {"name": tool, "arguments": "{}"}}
            messages += [
                {"role": "assistant", "content": None, "tool_calls": [call]},
                {"role": "tool", "tool_call_id": "c1", "content": TOOL_OUTPUT},
            ]
        return {
            "model": "m",
            "messages": messages,
            "tools": [{"type": "function", "function": {"name": tool}}],
            "stream": stream,
        }
    messages = [{"role": "user", "content": [{"type": "text", "text": ask}]}]
    if with_output:
        messages += [
            {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": tool, "input": {}}]},
            {
                "role": "user",
                "content": [
                    {
                        "type": "tool_result",
                        "tool_use_id": "t1",
                        "content": [{"type": "text", "text": TOOL_OUTPUT}],
                    }
                ],
            },
        ]
    return {
        "model": "m",
        "max_tokens": 100,
        "messages": messages,
        "tools": [{"name": tool}],
        "stream": stream,
    }


PATHS = {"responses": "/v1/responses", "chat_completions": "/v1/chat/completions", "messages": "/v1/messages"}


def _call_and_text(dialect: str, text: str) -> tuple[dict[str, Any] | None, str]:
    """From a streamed answer: the tool call's (name, arguments), or None, and the text."""
    if dialect == "responses":
        payloads = assert_responses_grammar(named_events(text))
        arguments = "".join(
            p["delta"] for p in payloads if p["type"] == "response.function_call_arguments.delta"
        )
        calls = [
            p["item"]
            for p in payloads
            if p["type"] == "response.output_item.done" and p["item"]["type"] == "function_call"
        ]
        said = "".join(p["delta"] for p in payloads if p["type"] == "response.output_text.delta")
        if calls:
            assert calls[0]["arguments"] == arguments  # the fragments add up to the whole
            return {"name": calls[0]["name"], "arguments": json.loads(arguments)}, said
        return None, said
    if dialect == "chat_completions":
        chunks = [json.loads(line[6:]) for line in text.split("\n") if line.startswith("data: {")]
        deltas = [c["choices"][0]["delta"] for c in chunks if c["choices"]]
        parts = [call for d in deltas for call in d.get("tool_calls", [])]
        said = "".join(d.get("content") or "" for d in deltas)
        if parts:
            arguments = "".join(p["function"]["arguments"] for p in parts)
            return {"name": parts[0]["function"]["name"], "arguments": json.loads(arguments)}, said
        return None, said
    events = named_events(text)
    blocks = [d["content_block"] for n, d in events if n == "content_block_start"]
    deltas = [d["delta"] for n, d in events if n == "content_block_delta"]
    said = "".join(d.get("text", "") for d in deltas)
    if blocks[0]["type"] == "tool_use":
        arguments = "".join(d["partial_json"] for d in deltas)
        return {"name": blocks[0]["name"], "arguments": json.loads(arguments)}, said
    return None, said


@pytest.mark.parametrize("dialect", ["responses", "chat_completions", "messages"])
def test_shell_round_trip_streams_the_call_then_quotes_the_output(client: httpx.Client, dialect: str) -> None:
    first = client.post(PATHS[dialect], json=_request(dialect, with_output=False, stream=True))
    assert first.headers["content-type"] == "text/event-stream"
    assert _call_and_text(dialect, first.text) == (
        {"name": "exec_command", "arguments": {"cmd": COMMAND}},
        "",
    )
    second = client.post(PATHS[dialect], json=_request(dialect, with_output=True, stream=True))
    call, said = _call_and_text(dialect, second.text)
    assert call is None
    assert said == shell.ANSWER_PREFIX + TOOL_OUTPUT.strip()
    assert "vdm-42-shell" in said


def test_shell_round_trip_in_responses_sends_reasoning_before_the_call(client: httpx.Client) -> None:
    text = client.post("/v1/responses", json=_request("responses", with_output=False, stream=True)).text
    output = named_events(text)[-1][1]["response"]["output"]
    assert [item["type"] for item in output] == ["reasoning", "function_call"]
    assert output[0]["encrypted_content"] == shell.ENCRYPTED_REASONING
    assert output[1]["call_id"] == shell.CALL_ID


def test_shell_round_trip_answers_whole_when_not_streamed(client: httpx.Client) -> None:
    responses = client.post(
        "/v1/responses", json=_request("responses", with_output=False, stream=False)
    ).json()
    assert json.loads(responses["output"][1]["arguments"]) == {"cmd": COMMAND}
    chat = client.post(
        "/v1/chat/completions", json=_request("chat_completions", with_output=True, stream=False)
    ).json()
    assert "vdm-42-shell" in chat["choices"][0]["message"]["content"]
    message = client.post("/v1/messages", json=_request("messages", with_output=False, stream=False)).json()
    assert message["stop_reason"] == "tool_use"
    assert message["content"][0]["input"] == {"cmd": COMMAND}


def test_sdks_read_the_shell_round_trip_streams(mock: MockUpstream) -> None:
    sdk = openai.OpenAI(api_key="k", base_url=mock.base_url, max_retries=0)
    body = _request("responses", with_output=False, stream=False)
    with sdk.responses.stream(model="m", input=body["input"], tools=body["tools"]) as stream:
        final = stream.get_final_response()
    assert [item.type for item in final.output] == ["reasoning", "function_call"]
    claude = anthropic.Anthropic(api_key="k", base_url=mock.origin, max_retries=0)
    body = _request("messages", with_output=False, stream=False)
    with claude.messages.stream(
        model="m", max_tokens=100, messages=body["messages"], tools=body["tools"]
    ) as events:
        message = events.get_final_message()
    assert message.content[0].type == "tool_use"
    assert message.content[0].input == {"cmd": COMMAND}


def test_shell_round_trip_needs_codexs_tool(client: httpx.Client) -> None:
    """Without ``exec_command`` offered (other agents, the benchmark) the default answer stands."""
    body = _request("chat_completions", with_output=False, stream=False, tool="Bash")
    assert (
        client.post("/v1/chat/completions", json=body).json()["choices"][0]["message"]["content"]
        == REPLY_TEXT
    )
