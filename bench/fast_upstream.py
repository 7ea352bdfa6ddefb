"""An upstream that costs next to nothing: one canned Chat Completions answer to every request.

``bench.workers`` asks how the gateway's requests/s grow with its worker count on this
machine's cores. The mock upstream (``tests.mock_upstream``) is a full HTTP server in one
Python process: at a few hundred requests/s it fills a core of its own and becomes the
ceiling, so two workers were measured against the mock, not against one worker. This
server parses only what keep-alive needs (the header block and ``content-length``) and
writes prebuilt bytes: tens of microseconds per request, so nearly all the machine's CPU
is left to the gateway.

Usage: python -m bench.fast_upstream --port 0 --port-file PATH
"""

import argparse
import asyncio
import json
import os
import signal
from pathlib import Path
from typing import cast

import uvloop

ANSWER = json.dumps(
    {
        "id": "chatcmpl-bench",
        "object": "chat.completion",
        "created": 0,
        "model": "bench",
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Hello from bench"},
                "finish_reason": "stop",
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 3, "total_tokens": 12},
    },
    separators=(",", ":"),
).encode()
RESPONSE = (
    b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
    + f"content-length: {len(ANSWER)}\r\n\r\n".encode()
    + ANSWER
)
HEADER_END = b"\r\n\r\n"


def body_length(head: bytes) -> int:
    """The ``content-length`` of a request head (0 when absent)."""
    for line in head.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            return int(value.strip())
    return 0


class CannedAnswer(asyncio.Protocol):
    """Answers each whole request on the connection with ``RESPONSE``, pipelined or not."""

    def __init__(self) -> None:
        self.buffer = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # uvloop's is not a subclass

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        while (end := self.buffer.find(HEADER_END)) >= 0:
            size = end + len(HEADER_END) + body_length(self.buffer[:end])
            if len(self.buffer) < size:
                return  # the rest of the body is still on its way
            self.buffer = self.buffer[size:]
            assert self.transport is not None
            self.transport.write(RESPONSE)


async def serve(host: str, port: int, port_file: Path | None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(CannedAnswer, host, port, backlog=1024)
    if port_file is not None:
        bound = server.sockets[0].getsockname()[1]
        partial = port_file.with_name(port_file.name + ".partial")
        partial.write_text(f"{bound}\n")
        os.replace(partial, port_file)
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    await stop.wait()
    server.close()


def main(argv: list[str] | None = None) -> None:
    description = __doc__.split("\n\n")[0]
    parser = argparse.ArgumentParser(prog="python -m bench.fast_upstream", description=description)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file", type=Path)
    args = parser.parse_args(argv)
    uvloop.run(serve(args.host, args.port, args.port_file))


if __name__ == "__main__":
    main()
