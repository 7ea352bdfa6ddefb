"""An upstream that breaks at the connection level, on a raw asyncio socket.

``http.server`` and friends cannot send a garbage status line, reset a connection after
its headers or promise a body they never send; this server writes bytes by hand. The
model a request names picks the fault (from the JSON body, or the URL for Bedrock and
Vertex), so one server serves every scenario in a test. The format of the answer comes
from the path: OpenAI Chat Completions, Anthropic Messages, Bedrock Runtime (AWS
event-stream frames, ``tests.cloud_mocks``) or Vertex AI (with a ``/token`` endpoint that
grants any service-account assertion). A model that names no fault gets a normal answer.

A fault name ending in ``-once`` breaks only the first request that names it; later ones
are answered normally (retries, key rotation and fallback can then be seen to work).
``served`` lists every model asked for, in order.
"""

import asyncio
import json
import socket
import struct
import threading
from collections.abc import Awaitable, Callable
from typing import Any

from tests.cloud_mocks import anthropic_events, chunk_frame, exception_frame, sse_events
from tests.mock_upstream.replies import (
    anthropic_message,
    anthropic_stream_parts,
    openai_completion,
    openai_stream_parts,
)

EVENT_STREAM = "application/vnd.amazon.eventstream"
HUGE_HEADER_BYTES = 100 * 1024
RETRY_AFTER_HUGE = "1000000000000"  # 10^12 seconds: past any datetime
THROTTLE_MESSAGE = "Too many requests, please wait before trying again."
QUOTA_NAME = "aiplatform.googleapis.com/online_prediction_requests_per_base_model"
QUOTA_MESSAGE = (
    f"Quota exceeded for {QUOTA_NAME} with base model: anthropic-claude-sonnet. "
    "Please submit a quota increase request."
)
# Bodies that parse but carry no answer a client could use.
EMPTY_ANSWERS: dict[str, dict[str, Any]] = {
    "empty-choice": {"id": "chatcmpl-x", "object": "chat.completion", "choices": [{}]},
    "null-message": {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": None, "finish_reason": "stop"}],
    },
    "non-text-content": {
        "id": "chatcmpl-x",
        "object": "chat.completion",
        "choices": [
            {"index": 0, "message": {"role": "assistant", "content": {"bytes": 7}}, "finish_reason": "stop"}
        ],
    },
}
EMPTY_MESSAGES: dict[str, dict[str, Any]] = {
    "empty-choice": {"id": "msg_x", "type": "message", "role": "assistant", "stop_reason": "end_turn"},
    "null-message": {"id": "msg_x", "type": "message", "role": "assistant", "content": None},
    "non-text-content": {"id": "msg_x", "type": "message", "role": "assistant", "content": [{"bytes": 7}]},
}


class _Request:
    def __init__(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        self.method, self.path, self.headers, self.body = method, path, headers, body

    @property
    def dialect(self) -> str:
        if self.path.startswith("/model/"):
            return "bedrock"
        if ":rawPredict" in self.path or ":streamRawPredict" in self.path:
            return "vertex"
        return "anthropic" if self.path.endswith("/messages") else "openai"

    @property
    def model(self) -> str:
        if self.path.startswith("/model/"):
            return self.path.split("/")[2]
        if self.dialect == "vertex":
            return self.path.rsplit("/", 1)[-1].split(":")[0]
        try:
            return str(json.loads(self.body).get("model", ""))
        except (ValueError, AttributeError):
            return ""

    @property
    def streamed(self) -> bool:
        if self.dialect in ("bedrock", "vertex"):
            return "stream" in self.path.lower()
        try:
            return json.loads(self.body).get("stream") is True
        except (ValueError, AttributeError):
            return False


def _head(status: int, headers: dict[str, str]) -> bytes:
    lines = [f"HTTP/1.1 {status} {'OK' if status < 400 else 'Error'}"]
    lines += [f"{name}: {value}" for name, value in headers.items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _whole(status: int, body: bytes, content_type: str = "application/json", **extra: str) -> bytes:
    return _head(status, {"content-type": content_type, "content-length": str(len(body)), **extra}) + body


def _chunked(pieces: list[bytes]) -> bytes:
    return b"".join(f"{len(piece):x}\r\n".encode() + piece + b"\r\n" for piece in pieces if piece)


STREAMED_HEAD = {"transfer-encoding": "chunked", "cache-control": "no-cache"}


def _stream_pieces(request: _Request, model: str) -> tuple[str, list[bytes]]:
    """A healthy streamed answer in the request's dialect, as (content type, pieces)."""
    if request.dialect == "bedrock":
        return EVENT_STREAM, [chunk_frame(event) for event in anthropic_events(model)]
    if request.dialect == "vertex":
        return "text/event-stream", [sse_events([event]) for event in anthropic_events(model)]
    if request.dialect == "anthropic":
        head, parts, tail = anthropic_stream_parts(model, 3)
    else:
        head, parts, tail = openai_stream_parts(model, 3, True)
    return "text/event-stream", [head, *parts, tail]


def healthy_answer(request: _Request, model: str) -> bytes:
    if request.path == "/token":
        token = {"access_token": "ya29.fault-token", "expires_in": 3600, "token_type": "Bearer"}
        return _whole(200, json.dumps(token).encode())
    if request.streamed:
        content_type, pieces = _stream_pieces(request, model)
        head = _head(200, {"content-type": content_type, **STREAMED_HEAD})
        return head + _chunked(pieces) + b"0\r\n\r\n"
    if request.dialect == "openai":
        return _whole(200, json.dumps(openai_completion(model)).encode())
    return _whole(200, json.dumps(anthropic_message(model)).encode())


def _cloud_error_stream(request: _Request, fault: str) -> bytes:
    """A 200 stream whose first frame, or a frame after some text, is a throttle."""
    healthy = anthropic_events(request.model)[:3] if fault.endswith("-mid") else []
    if request.dialect == "bedrock":
        pieces = [chunk_frame(event) for event in healthy]
        pieces.append(exception_frame("throttlingException", THROTTLE_MESSAGE))
        content_type = EVENT_STREAM
    else:
        pieces = [sse_events([event]) for event in healthy]
        error = {"type": "error", "error": {"type": "rate_limit_error", "message": QUOTA_MESSAGE}}
        pieces.append(b"event: error\ndata: " + json.dumps(error).encode() + b"\n\n")
        content_type = "text/event-stream"
    return _head(200, {"content-type": content_type, **STREAMED_HEAD}) + _chunked(pieces) + b"0\r\n\r\n"


def _empty_answer(request: _Request, fault: str) -> bytes:
    table = EMPTY_ANSWERS if request.dialect == "openai" else EMPTY_MESSAGES
    return _whole(200, json.dumps(table[fault]).encode())


Writer = asyncio.StreamWriter


async def _reset(writer: Writer) -> None:
    """Close with a TCP RST (SO_LINGER 0), not a FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


async def _forever() -> None:
    await asyncio.Event().wait()


class FaultServer:
    """``with FaultServer() as server:`` ``server.base_url`` (``/v1``) and ``server.origin``.

    ``drip_seconds``: the pause between the pieces of a ``drip`` answer (a byte of JSON
    whitespace; in a stream, after a first event, an SSE comment)."""

    def __init__(self, *, drip_seconds: float = 0.25) -> None:
        self.drip_seconds = drip_seconds
        self.served: list[str] = []
        self._seen: set[str] = set()
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._server: asyncio.Server | None = None
        self.port = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def base_url(self) -> str:
        return f"{self.origin}/v1"

    def __enter__(self) -> "FaultServer":
        self._thread.start()
        self._ready.wait(5)
        return self

    def __exit__(self, *exc: object) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(asyncio.start_server(self._handle, "127.0.0.1", 0))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        self._loop.run_forever()
        self._server.close()
        for task in asyncio.all_tasks(self._loop):
            task.cancel()
        self._loop.run_until_complete(asyncio.sleep(0))
        self._loop.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: Writer) -> None:
        try:
            while True:
                request = await _read_request(reader)
                if request is None:
                    break
                if not await self._answer(request, writer):
                    break
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            if not writer.transport.is_closing():
                writer.close()

    async def _answer(self, request: _Request, writer: Writer) -> bool:
        """Write the answer; False once the connection must not be reused."""
        model = request.model
        if request.path != "/token":
            self.served.append(model)
        fault = model
        if fault.endswith("-once"):
            fault = "" if model in self._seen else fault.removesuffix("-once")
            self._seen.add(model)
        action = _FAULTS.get(fault)
        if action is None:
            writer.write(healthy_answer(request, model))
            await writer.drain()
            return True
        await action(self, request, writer)
        return False

    async def drip(self, request: _Request, writer: Writer) -> None:
        if request.streamed:  # a first event, then comment bytes
            _, pieces = _stream_pieces(request, request.model)
            writer.write(_head(200, {"content-type": "text/event-stream", **STREAMED_HEAD}))
            writer.write(_chunked(pieces[:1]))
            piece = lambda byte: _chunked([byte])  # noqa: E731
        else:
            writer.write(_head(200, {"content-type": "application/json", "content-length": "100000"}))
            piece = lambda byte: byte  # noqa: E731
        await writer.drain()
        # Whole SSE comments (keep-alives that never end), or JSON whitespace: never an answer.
        tick = b":\n\n" if request.streamed else b" "
        while True:
            await asyncio.sleep(self.drip_seconds)
            writer.write(piece(tick))
            await writer.drain()


async def _read_request(reader: asyncio.StreamReader) -> _Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, path, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
    body = await reader.readexactly(int(headers.get("content-length") or 0))
    return _Request(method, path, headers, body)


async def _reset_after_headers(server: FaultServer, request: _Request, writer: Writer) -> None:
    writer.write(_head(200, {"content-type": "application/json", "content-length": "500"}) + b'{"id": "x",')
    await writer.drain()
    await asyncio.sleep(0.05)
    await _reset(writer)


async def _short_body(server: FaultServer, request: _Request, writer: Writer) -> None:
    writer.write(_head(200, {"content-type": "application/json", "content-length": "500"}) + b'{"id": "x",')
    await writer.drain()
    writer.close()


async def _stall_headers(server: FaultServer, request: _Request, writer: Writer) -> None:
    await _forever()


async def _stall_body(server: FaultServer, request: _Request, writer: Writer) -> None:
    writer.write(_head(200, {"content-type": "application/json", "content-length": "500"}) + b"{")
    await writer.drain()
    await _forever()


async def _stall_mid_stream(server: FaultServer, request: _Request, writer: Writer) -> None:
    """A first event, then silence: the gap timeout ends the stream."""
    _, pieces = _stream_pieces(request, request.model)
    writer.write(_head(200, {"content-type": "text/event-stream", **STREAMED_HEAD}) + _chunked(pieces[:1]))
    await writer.drain()
    await _forever()


async def _garbage_status(server: FaultServer, request: _Request, writer: Writer) -> None:
    writer.write(b"HELLO THERE, THIS IS NOT HTTP\r\n\r\n")
    await writer.drain()
    writer.close()


async def _huge_header(server: FaultServer, request: _Request, writer: Writer) -> None:
    filler = "a" * HUGE_HEADER_BYTES
    body = json.dumps(openai_completion(request.model)).encode()
    writer.write(_whole(200, body, **{"x-filler": filler}))
    await writer.drain()
    writer.close()


async def _retry_after_huge(server: FaultServer, request: _Request, writer: Writer) -> None:
    error = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
    writer.write(_whole(429, json.dumps(error).encode(), **{"retry-after": RETRY_AFTER_HUGE}))
    await writer.drain()


async def _throttled_stream(server: FaultServer, request: _Request, writer: Writer) -> None:
    writer.write(_cloud_error_stream(request, _fault_of(request)))
    await writer.drain()


async def _empty(server: FaultServer, request: _Request, writer: Writer) -> None:
    writer.write(_empty_answer(request, _fault_of(request)))
    await writer.drain()


def _fault_of(request: _Request) -> str:
    return request.model.removesuffix("-once")


Fault = Callable[[FaultServer, _Request, Writer], Awaitable[None]]
_FAULTS: dict[str, Fault] = {
    "reset-after-headers": _reset_after_headers,
    "short-body": _short_body,
    "stall-headers": _stall_headers,
    "stall-body": _stall_body,
    "stall-mid-stream": _stall_mid_stream,
    "drip": FaultServer.drip,
    "garbage-status": _garbage_status,
    "huge-header": _huge_header,
    "retry-after-huge": _retry_after_huge,
    "throttle-first": _throttled_stream,
    "throttle-mid": _throttled_stream,
    "empty-choice": _empty,
    "null-message": _empty,
    "non-text-content": _empty,
}
FAULTS = tuple(_FAULTS)
