"""The mock upstream: both dialects as the official SDKs read them, paced streams, scripting,
rules, the request record, the control API, and the standalone process."""

import itertools
import json
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest

from tests.mock_upstream import INPUT_TOKENS, REPLY_TEXT, MockUpstream, stream_text

REPO_ROOT = Path(__file__).resolve().parents[1]
ANTHROPIC_ORDER_3 = [
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_delta",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
]


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


def sse_data(text: str) -> list[Any]:
    """The ``data:`` payloads of an OpenAI-style stream, JSON-decoded except ``[DONE]``."""
    payloads = [line[len("data: ") :] for line in text.split("\n") if line.startswith("data: ")]
    return [p if p == "[DONE]" else json.loads(p) for p in payloads]


def sse_events(text: str) -> list[tuple[str, dict[str, Any]]]:
    events = []
    for block in text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.split("\n"))
        events.append((lines["event"], json.loads(lines["data"])))
    return events


# --- OpenAI dialect ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body_model", "expected_model"),
    [
        ("/v1/chat/completions", "gpt-x", "gpt-x"),
        ("/chat/completions", "gpt-y", "gpt-y"),
        ("/openai/deployments/my-deploy/chat/completions?api-version=2024-06-01", None, "my-deploy"),
    ],
)
def test_openai_chat_completion_json(
    client: httpx.Client, path: str, body_model: str | None, expected_model: str
) -> None:
    body: dict[str, Any] = {"messages": [{"role": "user", "content": "hi"}]}
    if body_model:
        body["model"] = body_model
    response = client.post(path, json=body)
    assert response.status_code == 200
    payload = response.json()
    assert payload["model"] == expected_model
    assert payload["choices"][0]["message"] == {"role": "assistant", "content": REPLY_TEXT}
    assert payload["choices"][0]["finish_reason"] == "stop"
    assert payload["usage"] == {"prompt_tokens": INPUT_TOKENS, "completion_tokens": 3, "total_tokens": 15}


def test_openai_sdk_reads_json_and_stream(mock: MockUpstream) -> None:
    sdk = openai.OpenAI(api_key="k", base_url=mock.base_url, max_retries=0)
    messages: list[Any] = [{"role": "user", "content": "hi"}]
    completion = sdk.chat.completions.create(model="gpt-x", messages=messages)
    assert completion.choices[0].message.content == REPLY_TEXT
    chunks = list(
        sdk.chat.completions.create(
            model="gpt-x", messages=messages, stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == REPLY_TEXT
    assert chunks[-1].usage is not None
    assert chunks[-1].usage.completion_tokens == 3


@pytest.mark.parametrize("include_usage", [False, True])
def test_openai_stream_shape(client: httpx.Client, include_usage: bool) -> None:
    body: dict[str, Any] = {"model": "m", "messages": [], "stream": True}
    if include_usage:
        body["stream_options"] = {"include_usage": True}
    response = client.post("/v1/chat/completions", json=body)
    assert response.headers["content-type"] == "text/event-stream"
    assert response.headers["transfer-encoding"] == "chunked"
    data = sse_data(response.text)
    assert data[-1] == "[DONE]"
    chunks = data[:-1]
    assert chunks[0]["choices"][0]["delta"]["role"] == "assistant"
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks if c["choices"])
    assert text == REPLY_TEXT
    finishes = [c["choices"][0]["finish_reason"] for c in chunks if c["choices"]]
    assert finishes[-1] == "stop"
    assert set(finishes[:-1]) == {None}
    usage_chunks = [c for c in chunks if "usage" in c]
    if include_usage:
        assert usage_chunks == [chunks[-1]]
        assert chunks[-1]["choices"] == []
        assert chunks[-1]["usage"]["prompt_tokens"] == INPUT_TOKENS
    else:
        assert usage_chunks == []


def test_openai_models(client: httpx.Client) -> None:
    payload = client.get("/v1/models").json()
    assert payload["object"] == "list"
    assert [m["object"] for m in payload["data"]] == ["model", "model"]


# --- Anthropic dialect -------------------------------------------------------------------


def test_anthropic_message_json(client: httpx.Client) -> None:
    payload = client.post("/v1/messages", json={"model": "claude-x", "max_tokens": 5, "messages": []}).json()
    assert payload["type"] == "message"
    assert payload["model"] == "claude-x"
    assert payload["content"] == [{"type": "text", "text": REPLY_TEXT}]
    assert payload["stop_reason"] == "end_turn"
    assert payload["usage"] == {"input_tokens": INPUT_TOKENS, "output_tokens": 3}


def test_anthropic_stream_event_order(client: httpx.Client) -> None:
    response = client.post("/v1/messages", json={"model": "c", "messages": [], "stream": True})
    events = sse_events(response.text)
    assert [name for name, _ in events] == ANTHROPIC_ORDER_3
    assert all(data["type"] == name for name, data in events)
    assert "".join(d["delta"]["text"] for n, d in events if n == "content_block_delta") == REPLY_TEXT
    assert events[-2][1]["delta"]["stop_reason"] == "end_turn"
    assert events[-2][1]["usage"]["output_tokens"] == 3


def test_anthropic_sdk_reads_json_and_stream(mock: MockUpstream) -> None:
    sdk = anthropic.Anthropic(api_key="k", base_url=mock.origin, max_retries=0)
    messages: list[Any] = [{"role": "user", "content": "hi"}]
    message = sdk.messages.create(model="claude-x", max_tokens=5, messages=messages)
    assert message.content[0].text == REPLY_TEXT
    with sdk.messages.stream(model="claude-x", max_tokens=5, messages=messages) as stream:
        final = stream.get_final_message()
    assert final.content[0].text == REPLY_TEXT
    assert final.usage.input_tokens == INPUT_TOKENS
    assert final.usage.output_tokens == 3
    assert sdk.messages.count_tokens(model="claude-x", messages=messages).input_tokens == INPUT_TOKENS


def test_models_list_follows_the_asking_dialect(client: httpx.Client) -> None:
    payload = client.get("/v1/models", headers={"anthropic-version": "2023-06-01"}).json()
    assert payload["has_more"] is False
    assert payload["first_id"] == payload["data"][0]["id"]
    assert {m["type"] for m in payload["data"]} == {"model"}


# --- pacing ------------------------------------------------------------------------------


def _delta_arrival_times(client: httpx.Client, headers: dict[str, str]) -> list[float]:
    """Seconds from the request to the arrival of each text delta of an Anthropic stream."""
    started = time.perf_counter()
    arrivals: list[float] = []
    with client.stream("POST", "/v1/messages", json={"stream": True}, headers=headers) as response:
        for line in response.iter_lines():
            if line.startswith("data: ") and '"text_delta"' in line:
                arrivals.append(time.perf_counter() - started)
    return arrivals


def test_stream_pacing_per_request_headers(client: httpx.Client) -> None:
    arrivals = _delta_arrival_times(client, {"x-mock-chunks": "6", "x-mock-delay-ms": "40"})
    assert len(arrivals) == 6
    # Load-tolerant (CI runs this beside whole gateways): the first token comes well before
    # the last, and the deltas are spread over the 5 x 40 ms, not delivered in one burst.
    assert arrivals[0] < arrivals[-1] - 0.1
    gaps = sorted(later - earlier for earlier, later in itertools.pairwise(arrivals))
    assert gaps[len(gaps) // 2] > 0.02, gaps


def test_stream_pacing_server_wide(mock: MockUpstream, client: httpx.Client) -> None:
    mock.configure(chunks=4, delay_ms=30)
    started = time.perf_counter()
    response = client.post("/v1/chat/completions", json={"model": "m", "messages": [], "stream": True})
    elapsed = time.perf_counter() - started
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in sse_data(response.text)[:-1])
    assert text == stream_text(4) == "Hello from mock Hello"
    assert elapsed >= 0.09  # three gaps of 30 ms
    mock.reset()
    assert client.post("/v1/chat/completions", json={"stream": True}).elapsed.total_seconds() < elapsed


def test_config_over_http(client: httpx.Client) -> None:
    assert client.post("/_mock/config", json={"chunks": 7}).json() == {
        "chunks": 7,
        "delay_ms": 0.0,
        "record": True,
    }
    events = sse_events(client.post("/v1/messages", json={"stream": True}).text)
    assert [n for n, _ in events].count("content_block_delta") == 7
    assert client.post("/_mock/config", json={"chunks": -1}).status_code == 400


# --- scripting ---------------------------------------------------------------------------


def test_script_is_consumed_in_order_then_defaults(mock: MockUpstream, client: httpx.Client) -> None:
    mock.script(
        [
            {"status": 429, "headers": {"retry-after": "7"}},
            {"json": {"custom": 1}, "headers": {"x-extra": "yes"}},
        ]
    )
    first = client.post("/v1/chat/completions", json={})
    assert first.status_code == 429
    assert first.headers["retry-after"] == "7"
    assert first.json()["error"]["message"] == "scripted failure 429"
    second = client.post("/v1/messages", json={})
    assert second.json() == {"custom": 1}
    assert second.headers["x-extra"] == "yes"
    assert client.post("/v1/messages", json={}).json()["content"][0]["text"] == REPLY_TEXT
    assert mock.pending_script() == []


def test_scripted_error_body_speaks_the_endpoint_dialect(mock: MockUpstream, client: httpx.Client) -> None:
    mock.script([{"status": 529}])
    assert client.post("/v1/messages", json={}).json() == {
        "type": "error",
        "error": {"type": "overloaded_error", "message": "scripted failure 529"},
    }


def test_scripted_streams(mock: MockUpstream, client: httpx.Client) -> None:
    mock.script(
        [
            {"sse": [{"a": 1}, "[DONE]"]},
            {"events": [{"event": "ping", "data": {"type": "ping"}}]},
            {"raw": ['data: {"sp', 'lit": true}\n\n']},
        ]
    )
    assert client.post("/v1/chat/completions", json={}).text == 'data: {"a":1}\n\ndata: [DONE]\n\n'
    assert client.post("/v1/messages", json={}).text == 'event: ping\ndata: {"type":"ping"}\n\n'
    assert sse_data(client.post("/v1/chat/completions", json={}).text) == [{"split": True}]


def test_script_drop_after_cuts_the_stream(mock: MockUpstream, client: httpx.Client) -> None:
    mock.script([{"drop_after": 2}])
    received: list[str] = []

    def read_stream() -> None:
        with client.stream("POST", "/v1/messages", json={"stream": True}) as response:
            received.extend(response.iter_lines())

    with pytest.raises(httpx.RemoteProtocolError):
        read_stream()
    names = [line.removeprefix("event: ") for line in received if line.startswith("event: ")]
    assert names == ["message_start", "content_block_start", "content_block_delta"]
    assert mock.stats()["streams"]["dropped"] == 1


def test_script_drop_without_answer_and_delay(mock: MockUpstream, client: httpx.Client) -> None:
    mock.script([{"drop_after": 0}, {"delay_ms": 150}])
    with pytest.raises(httpx.RemoteProtocolError):
        client.post("/v1/chat/completions", json={})
    started = time.perf_counter()
    assert (
        client.post("/v1/chat/completions", json={}).json()["choices"][0]["message"]["content"] == REPLY_TEXT
    )
    assert time.perf_counter() - started >= 0.15


def test_script_entry_with_match_waits_for_its_request(mock: MockUpstream, client: httpx.Client) -> None:
    mock.script([{"match": {"model": "special"}, "status": 500}])
    assert client.post("/v1/chat/completions", json={"model": "other"}).status_code == 200
    assert len(mock.pending_script()) == 1
    assert client.post("/v1/chat/completions", json={"model": "special"}).status_code == 500
    assert mock.pending_script() == []


def test_invalid_spec_is_refused(mock: MockUpstream, client: httpx.Client) -> None:
    with pytest.raises(ValueError, match="unknown keys"):
        mock.script([{"stauts": 500}])
    response = client.post("/_mock/script", json=[{"json": {}, "sse": []}])
    assert response.status_code == 400
    assert "at most one" in response.json()["error"]


# --- rules -------------------------------------------------------------------------------


def test_rule_fails_one_key_always_and_beats_the_script(mock: MockUpstream, client: httpx.Client) -> None:
    mock.add_rule({"match": {"header": "authorization", "equals": "Bearer bad-key"}, "status": 401})
    mock.script([{"json": {"scripted": True}}])
    for _ in range(3):
        assert (
            client.post(
                "/v1/chat/completions", json={}, headers={"authorization": "Bearer bad-key"}
            ).status_code
            == 401
        )
    good = client.post("/v1/chat/completions", json={}, headers={"authorization": "Bearer good-key"})
    assert good.json() == {"scripted": True}


def test_rule_times_and_over_http(client: httpx.Client) -> None:
    rule = {"match": {"header": "x-api-key", "contains": "flaky"}, "status": 503, "times": 2}
    assert client.post("/_mock/rules", json=rule).json() == {"rules": 1}
    statuses = [
        client.post("/v1/messages", json={}, headers={"x-api-key": "k-flaky"}).status_code for _ in range(3)
    ]
    assert statuses == [503, 503, 200]
    assert client.get("/_mock/rules").json() == []


# --- recording and the control API -------------------------------------------------------


def test_requests_are_recorded_until_reset(mock: MockUpstream, client: httpx.Client) -> None:
    client.post("/v1/messages?beta=true", json={"model": "m", "n": 1}, headers={"x-api-key": "secret-1"})
    client.get("/v1/models")
    client.get("/_mock/stats")  # control calls are not recorded
    records = client.get("/_mock/requests").json()
    assert [(r["method"], r["path"]) for r in records] == [("POST", "/v1/messages"), ("GET", "/v1/models")]
    assert records[0]["query"] == {"beta": "true"}
    assert records[0]["json"] == {"model": "m", "n": 1}
    assert records[0]["headers"]["x-api-key"] == "secret-1"
    assert mock.requests() == records
    mock.reset()
    assert mock.requests() == []


def test_keep_alive_serves_many_requests_on_one_connection(mock: MockUpstream, client: httpx.Client) -> None:
    for _ in range(20):
        client.post("/v1/messages", json={})
    client.post("/v1/messages", json={"stream": True})
    assert mock.stats()["connections"] == 1
    assert mock.stats()["served"] == 21


def test_client_disconnect_mid_stream_is_seen(mock: MockUpstream, client: httpx.Client) -> None:
    headers = {"x-mock-chunks": "50", "x-mock-delay-ms": "100"}
    with client.stream("POST", "/v1/messages", json={"stream": True}, headers=headers) as response:
        next(response.iter_raw())
        assert mock.stats()["streams"]["active"] == 1
    deadline = time.monotonic() + 2
    while mock.stats()["streams"]["aborted"] == 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    assert mock.stats()["streams"] == {"active": 0, "completed": 0, "dropped": 0, "aborted": 1}


def test_chunked_request_body_and_malformed_request(client: httpx.Client, mock: MockUpstream) -> None:
    body = iter([b'{"model": ', b'"chunky"}'])
    assert client.post("/v1/messages", content=body).json()["model"] == "chunky"
    with socket.create_connection(("127.0.0.1", mock.port)) as raw:
        raw.sendall(b"NONSENSE\r\n\r\n")
        assert raw.recv(100).startswith(b"HTTP/1.1 400")


def test_unknown_routes_answer_404(client: httpx.Client) -> None:
    assert client.post("/v1/nowhere", json={}).status_code == 404
    assert client.get("/_mock/nowhere").status_code == 404


# --- the standalone process --------------------------------------------------------------


def test_standalone_process_writes_its_port_and_stops_on_sigterm(tmp_path: Path) -> None:
    port_file = tmp_path / "port"
    command = [sys.executable, "-m", "tests.mock_upstream", "--port", "0", "--port-file", str(port_file)]
    command += ["--chunks", "5", "--delay-ms", "1"]
    process = subprocess.Popen(command, cwd=REPO_ROOT, stdout=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while not port_file.exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        port = int(port_file.read_text())
        response = httpx.post(f"http://127.0.0.1:{port}/v1/messages", json={"stream": True})
        assert [n for n, _ in sse_events(response.text)].count("content_block_delta") == 5
    finally:
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 0
