"""The mock upstream's asyncio server: keep-alive connections, paced chunked streams.

``MockServer`` runs on whatever event loop starts it; ``harness.MockUpstream`` gives it a
thread of its own for tests, ``__main__`` a process of its own for the benchmark.
"""

import asyncio
import contextlib
import socket
import struct

from tests.mock_upstream.control import control_reply, is_control
from tests.mock_upstream.routes import Pacing, Reply, json_reply
from tests.mock_upstream.scripts import MockState
from tests.mock_upstream.wire import LAST_CHUNK, BadRequest, chunk, chunked_head, read_request, whole_response

POLL_SECONDS = 0.05  # how often a long wait looks for a client that went away
STREAM_READER_LIMIT = 1 << 20


def _client_gone(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    return reader.at_eof() or writer.transport.is_closing()


async def _wait(seconds: float, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> bool:
    """Sleep, in short slices so a departed client is noticed; False when it went away."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (left := deadline - loop.time()) > 0:
        await asyncio.sleep(min(left, POLL_SECONDS))
        if _client_gone(reader, writer):
            return False
    return True


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP reset: zero linger makes the kernel send RST instead of FIN."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()


class MockServer:
    def __init__(self, *, pacing: Pacing | None = None, record: bool = True) -> None:
        self.state = MockState(initial=pacing or Pacing(), record=record)
        self._server: asyncio.Server | None = None
        self._connections: dict[asyncio.Task[None], asyncio.StreamWriter] = {}

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> int:
        """Listen; returns the bound port."""
        self._server = await asyncio.start_server(
            self._serve_connection, host, port, backlog=4096, limit=STREAM_READER_LIMIT
        )
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self) -> None:
        """Stop listening and close every open connection.

        Connections are aborted rather than their tasks cancelled: each handler then ends on
        its own (Python 3.11's stream callback logs a cancelled handler task as an error)."""
        if self._server is not None:
            self._server.close()
        for writer in self._connections.values():
            writer.transport.abort()
        if self._connections:
            await asyncio.wait(list(self._connections), timeout=5)
        if self._server is not None:
            await self._server.wait_closed()

    async def _serve_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._connections[task] = writer
        self.state.connections += 1
        try:
            await self._serve_requests(reader, writer)
        except BadRequest as exc:
            writer.write(whole_response(400, *self._error_body(str(exc)), keep_alive=False))
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._connections.pop(task, None)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    @staticmethod
    def _error_body(message: str) -> tuple[list[tuple[str, str]], bytes]:
        reply = json_reply(400, {"error": message})
        return reply.headers, reply.body

    async def _serve_requests(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while (request := await read_request(reader)) is not None:
            if is_control(request):
                reply = control_reply(self.state, request)
            else:
                try:
                    reply = self.state.reply_for(request)
                except ValueError as exc:  # a malformed x-mock-* header
                    reply = json_reply(400, {"error": str(exc)})
            if not await self._send(reply, reader, writer, keep_alive=request.keep_alive):
                return
            await writer.drain()
            if not request.keep_alive:
                return

    async def _send(
        self, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, keep_alive: bool
    ) -> bool:
        """Write one reply; False when the connection must close (dropped on purpose, or gone)."""
        if reply.delay and not await _wait(reply.delay, reader, writer):
            return False
        if reply.parts is None:
            if reply.drop_after is not None:
                return False
            encoded = reply.encoded  # cached default answers already carry keep_alive's header
            writer.write(
                encoded or whole_response(reply.status, reply.headers, reply.body, keep_alive=keep_alive)
            )
            return True
        return await self._send_stream(reply, reader, writer, keep_alive=keep_alive)

    async def _send_stream(
        self, reply: Reply, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, *, keep_alive: bool
    ) -> bool:
        assert reply.parts is not None
        streams = self.state.streams
        streams.active += 1
        try:
            writer.write(chunked_head(reply.status, reply.headers, keep_alive=keep_alive))
            for index, (wait, data) in enumerate(reply.parts):
                if reply.drop_after is not None and index >= reply.drop_after:
                    break
                if wait:
                    await writer.drain()
                    if not await _wait(wait, reader, writer):
                        streams.aborted += 1
                        return False
                writer.write(chunk(data))
            if reply.drop_after is not None:
                await writer.drain()
                streams.dropped += 1
                if reply.reset:
                    _reset(writer)
                return False
            writer.write(LAST_CHUNK)
            await writer.drain()
        except ConnectionError:
            streams.aborted += 1
            raise
        finally:
            streams.active -= 1
        streams.completed += 1
        return True
