"""A client that disconnects mid-stream cancels the upstream request at once."""

import asyncio
import json
from collections.abc import AsyncIterator

import httpx
import pytest
import respx
from asgiref.testing import ApplicationCommunicator

from tests.gateway.conftest import OPENAI_BASE
from vandamme.asgi import application

pytestmark = pytest.mark.usefixtures("providers")


class EndlessUpstream(httpx.AsyncByteStream):
    """An upstream stream that never ends on its own and records when it is closed."""

    def __init__(self) -> None:
        self.chunks_sent = 0
        self.closed = asyncio.Event()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            while True:
                delta = {
                    "id": "c",
                    "choices": [{"index": 0, "delta": {"content": "tick "}, "finish_reason": None}],
                }
                yield f"data: {json.dumps(delta)}\n\n".encode()
                self.chunks_sent += 1
                await asyncio.sleep(0.02)
        finally:
            self.closed.set()

    async def aclose(self) -> None:
        self.closed.set()


def _scope(body: bytes, path: str) -> dict[str, object]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8082),
    }


@pytest.mark.parametrize(
    ("path", "first_bytes"),
    [("/v1/messages", b"message_start"), ("/v1/chat/completions", b"tick")],  # both front doors
)
@respx.mock(assert_all_mocked=False)
async def test_client_disconnect_closes_the_upstream_stream(
    respx_mock: respx.MockRouter, path: str, first_bytes: bytes
) -> None:
    upstream = EndlessUpstream()
    respx_mock.post(f"{OPENAI_BASE}/chat/completions").mock(
        return_value=httpx.Response(200, headers={"content-type": "text/event-stream"}, stream=upstream)
    )
    body = json.dumps(
        {"model": "gpt-4o", "max_tokens": 100, "stream": True, "messages": [{"role": "user", "content": "x"}]}
    ).encode()
    communicator = ApplicationCommunicator(application, _scope(body, path))
    await communicator.send_input({"type": "http.request", "body": body, "more_body": False})
    start = await communicator.receive_output(timeout=5)
    assert start["type"] == "http.response.start"
    assert start["status"] == 200
    first = await communicator.receive_output(timeout=5)
    assert first_bytes in first["body"]
    await communicator.send_input({"type": "http.disconnect"})
    await asyncio.wait_for(upstream.closed.wait(), timeout=1.0)
    sent_at_close = upstream.chunks_sent
    await asyncio.sleep(0.1)
    assert upstream.chunks_sent == sent_at_close  # nothing more is read from upstream
    await communicator.wait(timeout=2)
