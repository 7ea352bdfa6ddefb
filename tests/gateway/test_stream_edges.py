"""Stream edges: an upstream that breaks mid-event, and a last event without its blank line."""

import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx

from routing.sse import SSEDecoder
from tests.gateway.conftest import ANTHROPIC_BASE, OPENAI_BASE
from tests.gateway.test_messages_endpoint import _post, openai_chunk
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")

MESSAGE_START = (
    b'event: message_start\ndata: {"type":"message_start","message":{"id":"msg_1","type":"message",'
    b'"role":"assistant","model":"claude-x","content":[],"stop_reason":null,"stop_sequence":null,'
    b'"usage":{"input_tokens":3,"output_tokens":1}}}\n\n'
)
BLOCK_START = (
    b'event: content_block_start\ndata: {"type":"content_block_start","index":0,'
    b'"content_block":{"type":"text","text":""}}\n\n'
)
HALF_A_DELTA = b'event: content_block_delta\ndata: {"type":"content_block_delta","index":0,"delta":{"ty'


class Chunks(httpx.AsyncByteStream):
    """Yields ``chunks``; then, with ``then_break``, fails like a dropped connection."""

    def __init__(self, *chunks: bytes, then_break: bool = False) -> None:
        self.chunks, self.then_break = chunks, then_break

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for chunk in self.chunks:
            yield chunk
        if self.then_break:
            raise httpx.ReadError("connection reset by peer")


def _stream_body(model: str) -> dict[str, object]:
    return {"model": model, "max_tokens": 5, "stream": True, "messages": [{"role": "user", "content": "x"}]}


@respx.mock(assert_all_mocked=False)
async def test_a_relay_broken_mid_event_sends_only_whole_events_then_the_error(
    respx_mock: respx.MockRouter,
) -> None:
    respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages").mock(
        return_value=httpx.Response(
            200,
            headers={"content-type": "text/event-stream"},
            stream=Chunks(MESSAGE_START + BLOCK_START[:40], BLOCK_START[40:] + HALF_A_DELTA, then_break=True),
        )
    )
    response = await _post(_stream_body("mockant:claude-x"))
    assert response.status_code == 200
    assert HALF_A_DELTA not in response.content
    assert response.content.startswith(MESSAGE_START + BLOCK_START)
    events = SSEDecoder().feed(response.content)
    assert [e.event for e in events] == ["message_start", "content_block_start", "error"]
    for event in events:  # every event the client gets parses
        json.loads(event.data)


@respx.mock(assert_all_mocked=False)
async def test_a_relay_passes_events_split_across_chunks_unchanged(respx_mock: respx.MockRouter) -> None:
    whole = MESSAGE_START + BLOCK_START + b'event: message_stop\ndata: {"type":"message_stop"}\n\n'
    pieces = [whole[i : i + 7] for i in range(0, len(whole), 7)]
    respx_mock.post(f"{ANTHROPIC_BASE}/v1/messages").mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Chunks(*pieces)
        )
    )
    response = await _post(_stream_body("mockant:claude-x"))
    assert response.content == whole


@respx.mock(assert_all_mocked=False)
async def test_a_last_openai_event_without_its_blank_line_is_not_lost(respx_mock: respx.MockRouter) -> None:
    first = f"data: {json.dumps(openai_chunk({'content': 'A'}))}\n\n".encode()
    last = f"data: {json.dumps(openai_chunk({'content': 'B'}, finish='stop'))}".encode()
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").mock(
        return_value=httpx.Response(
            200, headers={"content-type": "text/event-stream"}, stream=Chunks(first, last)
        )
    )
    response = await _post(_stream_body("gpt-4o"))
    events = SSEDecoder().feed(response.content)
    texts = [json.loads(e.data)["delta"].get("text") for e in events if e.event == "content_block_delta"]
    assert texts == ["A", "B"]
    deltas = [json.loads(e.data) for e in events if e.event == "message_delta"]
    assert deltas[0]["delta"]["stop_reason"] == "end_turn"
    assert events[-1].event == "message_stop"


@pytest.mark.parametrize(
    ("path", "headers", "dialect"),
    [
        ("/v1/messages/batches", {"anthropic-version": "2023-06-01"}, "anthropic"),
        ("/v1/messages/", {"anthropic-version": "2023-06-01"}, "anthropic"),
        ("/v1/completions", {}, "openai"),
    ],
)
async def test_unknown_v1_paths_get_a_404_in_the_clients_dialect(
    path: str, headers: dict[str, str], dialect: str
) -> None:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        response = await http.post(path, json={}, headers=headers)
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    if dialect == "anthropic":
        assert body["type"] == "error"
        assert body["error"]["type"] == "not_found_error"
    else:
        assert body["error"]["message"].startswith("no such endpoint")
