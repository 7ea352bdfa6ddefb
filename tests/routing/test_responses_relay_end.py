"""``translated_to_responses`` over a Chat stream: the answer ends where the upstream says
it ends (``[DONE]``), not a read later when its body closes."""

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Any

from routing.relays.responses import translated_to_responses
from routing.sse import SSEDecoder
from routing.translation.responses_events import ResponsesEventWriter
from routing.translation.responses_from_chat import ChatToResponsesStream
from routing.translation.tool_names import ToolNameMap


def _data(chunk: dict[str, Any] | str) -> bytes:
    return f"data: {chunk if isinstance(chunk, str) else json.dumps(chunk)}\n\n".encode()


def _chunk(delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "object": "chat.completion.chunk",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


class HeldOpenSource:
    """Network chunks, then a body that stays open until ``release`` is set: an upstream
    that wrote ``[DONE]`` but has not closed its body yet."""

    def __init__(self, parts: list[bytes]) -> None:
        self.parts = parts
        self.release = asyncio.Event()
        self.read_to_end = False
        self.closed = False

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        for part in self.parts:
            yield part
        await self.release.wait()
        self.read_to_end = True

    async def aread(self) -> bytes:
        return b"".join(self.parts)

    async def aclose(self) -> None:
        self.closed = True


async def test_the_completion_goes_out_with_done_before_the_upstream_body_ends() -> None:
    usage = {"prompt_tokens": 5, "completion_tokens": 2, "total_tokens": 7}
    source = HeldOpenSource(
        [
            _data(_chunk({"role": "assistant", "content": "Hi"})),
            _data(_chunk({}, "stop"))
            + _data({"object": "chat.completion.chunk", "choices": [], "usage": usage})
            + _data("[DONE]"),
        ]
    )
    writer = ResponsesEventWriter(request={}, client_model="m")
    translator = ChatToResponsesStream(writer=writer, tool_names=ToolNameMap(), upstream_names=ToolNameMap())
    outcome: list[Any] = []
    stream = translated_to_responses(
        source, translator, secrets=(), on_complete=lambda *args: outcome.extend(args)
    ).__aiter__()

    await anext(stream)  # the first delta's write
    last_write = await asyncio.wait_for(anext(stream), timeout=2)  # not held by the open body
    events = [json.loads(event.data) for event in SSEDecoder().feed(last_write)]
    assert events[-1]["type"] == "response.completed"
    assert events[-1]["response"]["usage"]["total_tokens"] == 7
    assert not source.read_to_end  # the answer went out while the upstream body was still open

    source.release.set()
    remaining = [write async for write in stream]
    assert remaining == []  # nothing more written: no empty write, no second terminal event
    assert source.read_to_end  # read to its end: the connection can be reused
    assert source.closed
    assert outcome[1] == 200
