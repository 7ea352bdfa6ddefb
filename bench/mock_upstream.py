"""A minimal, fast HTTP/1.1 upstream for the benchmark (raw asyncio, keep-alive).

POST /v1/chat/completions  OpenAI JSON, or SSE when the body asks for a stream
POST /v1/messages          Anthropic JSON, or SSE (the "hit directly" reference)
POST /v1/messages/count_tokens  {"input_tokens": 42}
Streams send CHUNKS deltas DELAY_MS apart. Answers in microseconds otherwise.
Usage: python bench/mock_upstream.py PORT [CHUNKS] [DELAY_MS]

The benchmark itself (``python -m bench.run``) runs ``tests.mock_upstream`` instead: its
pacing can be changed while it runs, and it streams about three times faster. This one stays
for tests/integration/test_anthropic_upstream_live.py, which relies on its fixed replies.
"""

import asyncio
import json
import sys

CHUNKS = int(sys.argv[2]) if len(sys.argv) > 2 else 10
DELAY = (float(sys.argv[3]) if len(sys.argv) > 3 else 20.0) / 1000

OPENAI_JSON = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "model": "bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from the bench"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5},
    }
).encode()
ANTHROPIC_JSON = json.dumps(
    {
        "id": "msg_bench",
        "type": "message",
        "role": "assistant",
        "model": "bench",
        "content": [{"type": "text", "text": "Hello from the bench"}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 5},
    }
).encode()


def _openai_chunk(delta: dict[str, object], finish: str | None = None) -> bytes:
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _anthropic_event(name: str, data: dict[str, object]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data)}\n\n".encode()


def openai_stream() -> list[bytes]:
    parts = [_openai_chunk({"role": "assistant", "content": ""})]
    parts += [_openai_chunk({"content": f"tok{i} "}) for i in range(CHUNKS)]
    parts.append(_openai_chunk({}, "stop"))
    parts.append(b'data: {"id":"c","choices":[],"usage":{"prompt_tokens":10,"completion_tokens":5}}\n\n')
    parts.append(b"data: [DONE]\n\n")
    return parts


def anthropic_stream() -> list[bytes]:
    message: dict[str, object] = {
        "id": "msg_b",
        "type": "message",
        "role": "assistant",
        "model": "bench",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 10, "output_tokens": 0},
    }
    parts = [
        _anthropic_event("message_start", {"type": "message_start", "message": message}),
        _anthropic_event(
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    parts += [
        _anthropic_event(
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": f"tok{i} "}},
        )
        for i in range(CHUNKS)
    ]
    parts += [
        _anthropic_event("content_block_stop", {"type": "content_block_stop", "index": 0}),
        _anthropic_event(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": 5},
            },
        ),
        _anthropic_event("message_stop", {"type": "message_stop"}),
    ]
    return parts


async def _send_stream(writer: asyncio.StreamWriter, parts: list[bytes]) -> None:
    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n")
    for index, part in enumerate(parts):
        writer.write(b"%x\r\n%s\r\n" % (len(part), part))
        await writer.drain()
        if 0 < index < len(parts) - 2 and DELAY:
            await asyncio.sleep(DELAY)
    writer.write(b"0\r\n\r\n")


async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while True:
            head = await reader.readuntil(b"\r\n\r\n")
            request_line, *header_lines = head.decode("latin1").split("\r\n")
            headers = {
                k.lower(): v.strip() for k, _, v in (line.partition(":") for line in header_lines if line)
            }
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            path = request_line.split(" ")[1]
            stream = b'"stream":true' in body.replace(b" ", b"")
            anthropic = path.startswith("/v1/messages")
            if path.startswith("/v1/messages/count_tokens"):
                payload = b'{"input_tokens":42}'
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                    % (len(payload), payload)
                )
            elif stream:
                await _send_stream(writer, anthropic_stream() if anthropic else openai_stream())
            else:
                payload = ANTHROPIC_JSON if anthropic else OPENAI_JSON
                writer.write(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: %d\r\n\r\n%s"
                    % (len(payload), payload)
                )
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError):
        pass
    finally:
        writer.close()


async def main(port: int) -> None:
    server = await asyncio.start_server(handle, "127.0.0.1", port, backlog=2048)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1])))
