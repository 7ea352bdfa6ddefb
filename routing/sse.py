"""Server-sent events: an incremental decoder and the encoder. Pure, sans-I/O.

Follows the WHATWG event-stream parsing rules: lines end with CRLF, LF or CR (a CRLF
split across two network chunks counts once), ``data`` lines of one event are joined
with newlines, comments (``:``) are ignored, and an event is dispatched on a blank line.
Bytes that are not UTF-8 become U+FFFD, as the standard says, rather than an error.

Linear in the bytes fed: each chunk's new text alone is scanned for line ends, and an
unfinished line is kept as a list of pieces joined once it ends (re-scanning a growing
buffer on every chunk made one 32 MiB event cost seconds of CPU). An optional cap on
the size of one event bounds the memory a stream can hold.
"""

import codecs
import json
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class SSEEvent:
    event: str
    data: str


class SSEEventTooLarge(Exception):
    """One event grew past the decoder's cap before it ended."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"upstream sent an event larger than the gateway's limit of {limit} bytes")
        self.limit = limit


class SSEDecoder:
    """Feed bytes as they arrive; get back the events completed so far.

    ``max_event_bytes`` caps one event's size (its data lines plus an unfinished line, in
    decoded characters); past it ``feed`` raises ``SSEEventTooLarge``."""

    def __init__(self, max_event_bytes: int | None = None) -> None:
        self._text = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self._line_parts: list[str] = []  # the unfinished line, in pieces
        self._line_size = 0
        self._pending_cr = False
        self._event = ""
        self._data: list[str] = []
        self._event_size = 0  # characters of data lines in the current event
        self._max = max_event_bytes

    def feed(self, chunk: bytes) -> list[SSEEvent]:
        return self._feed_text(self._text.decode(chunk))

    def flush(self) -> list[SSEEvent]:
        """End of stream: a final event without its blank line still counts."""
        text = self._text.decode(b"", final=True)
        events = self._feed_text(text + "\n") if (self._line_parts or text) else []
        event = self._line("")
        return [*events, event] if event is not None else events

    def _feed_text(self, text: str) -> list[SSEEvent]:
        if self._pending_cr and text.startswith("\n"):
            text = text[1:]
        self._pending_cr = text.endswith("\r")
        if not text:
            return []
        if "\r" in text:
            text = text.replace("\r\n", "\n").replace("\r", "\n")
        lines = text.split("\n")
        tail = lines.pop()
        events: list[SSEEvent] = []
        if lines and self._line_parts:
            lines[0] = "".join(self._line_parts) + lines[0]
            self._line_parts, self._line_size = [], 0
        for line in lines:
            event = self._line(line)
            if event is not None:
                events.append(event)
        if tail:
            self._line_parts.append(tail)
            self._line_size += len(tail)
            self._check_size(self._line_size)
        return events

    def _check_size(self, extra: int = 0) -> None:
        if self._max is not None and self._event_size + extra > self._max:
            raise SSEEventTooLarge(self._max)

    def _line(self, line: str) -> SSEEvent | None:
        if not line:
            if not self._data and not self._event:
                return None
            event = SSEEvent(self._event or "message", "\n".join(self._data))
            self._event, self._data, self._event_size = "", [], 0
            return event
        if line.startswith(":"):
            return None
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "data":
            self._data.append(value)
            self._event_size += len(value) + 1
            self._check_size()
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


def valid_utf8(block: bytes) -> bytes:
    """``block`` as valid UTF-8: a byte that is not becomes U+FFFD, as a decoder would
    read it; a clean block (the usual case) is returned as is, after one fast check."""
    if block.isascii():
        return block
    try:
        block.decode("utf-8")
    except UnicodeDecodeError:
        return block.decode("utf-8", errors="replace").encode()
    return block


_EVENT_ENDS = (b"\n\n", b"\n\r\n", b"\r\r")


def _end_of_last_event(data: bytes) -> int:
    """Where the last complete SSE event in ``data`` ends (0: none completes in it).

    (A not-found ``rfind`` is -1: adding the marker's length to it must not count as an
    end, or the first bytes of an unfinished event would slip out.)"""
    end = 0
    for marker in _EVENT_ENDS:
        found = data.rfind(marker)
        if found >= 0:
            end = max(end, found + len(marker))
    return end


def split_events(block: bytes) -> list[bytes]:
    """The events of ``block`` (whole events, as ``EventFramer`` gives them), each with
    its blank line. Each marker is searched for once per event it ends: linear, where
    a regex split with look-behinds took a second on one 8 MiB event."""
    markers = _EVENT_ENDS if b"\r" in block else (b"\n\n",)
    found = {marker: block.find(marker) for marker in markers}
    events: list[bytes] = []
    start = 0
    while ends := [at + len(marker) for marker, at in found.items() if at >= 0]:
        end = min(ends)
        events.append(block[start:end])
        start = end
        for marker, at in found.items():
            if 0 <= at < end:
                found[marker] = block.find(marker, end)
    if start < len(block):
        events.append(block[start:])
    return events


class EventFramer:
    """Cuts a byte stream after its last complete event, for relays that pass bytes on
    as they are: ``feed`` returns the whole events a chunk completes (often the chunk
    itself, not copied), and keeps an unfinished event's bytes for later.

    Linear: only the new chunk (and the three bytes before it, where an event end may
    straddle two chunks) is searched, and an unfinished event is kept in pieces joined
    once, when it ends. ``max_event_bytes`` caps what one unfinished event may hold."""

    def __init__(self, max_event_bytes: int | None = None) -> None:
        self._pieces: list[bytes] = []
        self._tail = b""  # the last three bytes kept, where an event end may begin
        self._size = 0
        self._max = max_event_bytes

    @property
    def pending(self) -> bytes:
        """The bytes of the unfinished event."""
        return b"".join(self._pieces)

    def feed(self, chunk: bytes) -> bytes:
        if not self._pieces:
            end = _end_of_last_event(chunk)
            whole = chunk if end == len(chunk) else chunk[:end]
        else:
            end = max(_end_of_last_event(self._tail + chunk) - len(self._tail), 0)
            whole = b"".join([*self._pieces, chunk[:end]]) if end else b""
            if end:
                self._pieces, self._tail, self._size = [], b"", 0
        rest = chunk[end:] if end else chunk
        if rest:
            self._pieces.append(rest)
            self._tail = (self._tail + rest)[-3:]
            self._size += len(rest)
            if self._max is not None and self._size > self._max:
                raise SSEEventTooLarge(self._max)
        return whole
