"""Async generators that forward upstream streams to the client as chunks arrive.

Each generator owns the upstream response and closes it in ``finally``: when the
client disconnects, Django cancels the task consuming the generator, the pending
upstream read is cancelled with it, and the connection is released at once.
"""

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, Protocol

import httpx

from routing.errors import scrub_secrets
from routing.sse import SSEDecoder, SSEEvent, encode_event
from routing.translation import OpenAIToAnthropicStream

logger = logging.getLogger(__name__)


class ByteSource(Protocol):
    """What a relay reads from: an ``httpx.Response``, or an adapter that decodes a
    provider's own stream framing into the dialect's bytes."""

    def aiter_raw(self) -> AsyncIterator[bytes]: ...  # a stream, chunk by chunk as it arrives

    async def aread(self) -> bytes: ...  # a whole (decoded) non-streamed answer

    async def aclose(self) -> None: ...


# Called once when a stream ends: (usage seen in Anthropic form, or None; status).
StreamDone = Callable[[dict[str, Any] | None, int], None]
CLIENT_CLOSED = 499  # nginx's code for a client that went away mid-response
UPSTREAM_BROKE = 502


def stream_failure_message(exc: Exception) -> str:
    if isinstance(exc, httpx.TimeoutException):
        return "upstream stream timed out"
    return f"upstream stream failed ({type(exc).__name__})"


class UsageSniffer(Protocol):
    """Reads usage (in Anthropic's shape) out of relayed bytes without altering them."""

    usage: dict[str, Any]

    def feed(self, chunk: bytes) -> None: ...


class AnthropicUsageSniffer:
    """Reads usage out of an Anthropic event stream without touching the bytes relayed."""

    def __init__(self) -> None:
        self._decoder = SSEDecoder()
        self.usage: dict[str, Any] = {}

    def feed(self, chunk: bytes) -> None:
        for event in self._decoder.feed(chunk):
            if event.event not in ("message_start", "message_delta"):
                continue
            try:
                data = json.loads(event.data)
            except ValueError:
                continue
            usage = (
                data.get("message", {}).get("usage") if event.event == "message_start" else data.get("usage")
            )
            if isinstance(usage, dict):
                self.usage.update({k: v for k, v in usage.items() if isinstance(v, int)})


def _end_of_last_event(data: bytes) -> int:
    """Where the last complete SSE event in ``data`` ends (0: none completes in it)."""
    return max(data.rfind(b"\n\n") + 2, data.rfind(b"\n\r\n") + 3, data.rfind(b"\r\r") + 2, 0) if data else 0


async def relay_bytes(
    response: ByteSource,
    *,
    error_event: Callable[[str], bytes],
    on_complete: StreamDone | None = None,
    sniffer: UsageSniffer | None = None,
) -> AsyncGenerator[bytes, None]:
    """Byte-for-byte relay (same dialect on both sides); ``sniffer`` reads the usage
    (default: from Anthropic events).

    Bytes are passed on up to the last complete event of what has arrived; the rest of a
    split event waits for its end. Upstreams write whole events, so this costs nothing
    in practice, and a stream that breaks mid-event leaves the client only whole events
    followed by the error event, never a half-written one spliced onto it.
    """
    sniffer = sniffer or AnthropicUsageSniffer()
    status = CLIENT_CLOSED
    pending = b""
    try:
        async for chunk in response.aiter_raw():
            sniffer.feed(chunk)
            data = pending + chunk if pending else chunk
            end = _end_of_last_event(data)
            pending = data[end:]
            if end:
                yield data[:end]
        if pending:
            yield pending
        status = 200
    except httpx.HTTPError as exc:
        logger.warning("upstream stream broke: %s", type(exc).__name__)
        status = UPSTREAM_BROKE
        yield error_event(stream_failure_message(exc))
    finally:
        await response.aclose()
        if on_complete is not None:
            on_complete(sniffer.usage or None, status)


def anthropic_error_event(message: str, error_type: str = "api_error") -> bytes:
    return encode_event("error", {"type": "error", "error": {"type": error_type, "message": message}})


def _upstream_error_in_chunk(chunk: dict[str, object], secrets: tuple[str, ...]) -> str | None:
    error = chunk.get("error")
    if error is None:
        return None
    message = error.get("message") if isinstance(error, dict) else error
    return scrub_secrets(str(message), secrets)


class _ChunkTranslation:
    """OpenAI chunk events in, Anthropic event bytes out; remembers the final usage."""

    def __init__(self, translator: OpenAIToAnthropicStream, secrets: tuple[str, ...]) -> None:
        self.translator, self.secrets = translator, secrets
        self.usage: dict[str, Any] | None = None

    def _encode(self, events: list[tuple[str, dict[str, Any]]]) -> list[bytes]:
        for name, payload in events:
            if name == "message_delta":
                self.usage = payload.get("usage")
        return [encode_event(name, payload) for name, payload in events]

    def translate(self, events: list[SSEEvent]) -> tuple[bytes, str | None]:
        """The Anthropic bytes for ``events``, and an upstream error found among them."""
        out: list[bytes] = []
        for event in events:
            data = event.data.strip()
            if not data or data == "[DONE]":
                continue
            chunk = json.loads(data)
            failure = _upstream_error_in_chunk(chunk, self.secrets) if isinstance(chunk, dict) else None
            if failure is not None:
                return b"".join(out), failure
            out.extend(self._encode(self.translator.feed(chunk)))
        return b"".join(out), None

    def finish(self) -> bytes:
        return b"".join(self._encode(self.translator.finish()))


async def openai_to_anthropic_events(
    response: ByteSource,
    translator: OpenAIToAnthropicStream,
    *,
    secrets: tuple[str, ...] = (),
    on_complete: StreamDone | None = None,
) -> AsyncGenerator[bytes, None]:
    """Translate an OpenAI chunk stream into Anthropic events, one write per upstream chunk."""
    decoder = SSEDecoder()
    translation = _ChunkTranslation(translator, secrets)
    status = CLIENT_CLOSED
    try:
        async for raw in response.aiter_raw():
            translated, failure = translation.translate(decoder.feed(raw))
            if failure is not None:
                status = UPSTREAM_BROKE
                yield translated + anthropic_error_event(f"upstream error: {failure}")
                return
            if translated:
                yield translated
        # Lenient at the end: a last event that lacks its blank line is still translated.
        translated, failure = translation.translate(decoder.flush())
        if failure is not None:
            status = UPSTREAM_BROKE
            yield translated + anthropic_error_event(f"upstream error: {failure}")
            return
        yield translated + translation.finish()
        status = 200
    except (httpx.HTTPError, ValueError) as exc:
        logger.warning("upstream stream broke: %s", type(exc).__name__)
        status = UPSTREAM_BROKE
        yield anthropic_error_event(stream_failure_message(exc))
    finally:
        await response.aclose()
        if on_complete is not None:
            on_complete(translation.usage, status)
