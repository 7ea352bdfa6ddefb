"""Server-sent events: an incremental decoder and the encoder. Pure, sans-I/O.

Follows the WHATWG event-stream parsing rules: lines end with CRLF, LF or CR (a CRLF
split across two network chunks counts once), ``data`` lines of one event are joined
with newlines, comments (``:``) are ignored, and an event is dispatched on a blank line.
"""

import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str
    data: str


class SSEDecoder:
    """Feed bytes as they arrive; get back the events completed so far."""

    def __init__(self) -> None:
        self._buffer = ""
        self._pending_cr = False
        self._event = ""
        self._data: list[str] = []
        self._decoder_tail = b""

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        text = self._decode(chunk)
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]
        self._pending_cr = text.endswith("\r")
        self._buffer += text
        lines = self._buffer.replace("\r\n", "\n").replace("\r", "\n").split("\n")
        self._buffer = lines.pop()
        events: list[SSEEvent] = []
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        return events

    def flush(self) -> list[SSEEvent]:
        """End of stream: a final event without its blank line still counts."""
        events = self.feed(b"\n") if self._buffer else []
        event = self._line("")
        return [*events, event] if event is not None else events

    def _decode(self, chunk: bytes) -> str:
        data = self._decoder_tail + chunk
        try:
            text = data.decode("utf-8")
            self._decoder_tail = b""
        except UnicodeDecodeError as exc:  # a multi-byte character split across chunks
            if exc.start < len(data) - 3:
                raise
            text = data[: exc.start].decode("utf-8")
            self._decoder_tail = data[exc.start :]
        return text

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            if not self._data and not self._event:
                return None
            event = SSEEvent(self._event or "message", "\n".join(self._data))
            self._event, self._data = "", []
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
        elif name == "event":
            self._event = value
        return None


def encode_event(name: str, data: dict[str, Any]) -> bytes:
    """An Anthropic-style named event."""
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\n\n".encode()


def encode_data(data: dict[str, Any]) -> bytes:
    """An OpenAI-style anonymous ``data:`` event."""
    return f"data: {json.dumps(data, separators=(',', ':'), ensure_ascii=False)}\n\n".encode()


DONE_EVENT = b"data: [DONE]\n\n"
