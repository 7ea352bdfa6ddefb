"""What every stream relay shares: the byte source, the byte-for-byte relay, failure
accounting and the scrubbing of relayed error events. The relays named after a dialect
(``routing.relays.messages``, ``chat_completions``, ``responses``) emit that dialect.

Each generator owns the upstream response and closes it in ``finally``: when the
client disconnects, Django cancels the task consuming the generator, the pending
upstream read is cancelled with it, and the connection is released at once.
"""

import json
import logging
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from typing import Any, Protocol

import httpx
from django.conf import settings

from routing.errors import scrub_secrets
from routing.request_context import note_error
from routing.sse import (
    EventFramer,
    SSEDecoder,
    SSEEventTooLarge,
    encode_data,
    encode_event,
    split_events,
    valid_utf8,
)
from routing.upstream import DeadlineExceeded

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
UPSTREAM_TIMED_OUT = 504  # the stream ran past its deadline or its gap timeout
CUT_SHORT = "upstream stream ended before the answer was complete"


def stream_failure_message(exc: Exception) -> str:
    if isinstance(exc, DeadlineExceeded):
        return "upstream stream ran past its deadline"
    if isinstance(exc, httpx.TimeoutException):
        return "upstream stream timed out"
    if isinstance(exc, SSEEventTooLarge):
        return str(exc)
    return f"upstream stream failed ({type(exc).__name__})"


def stream_failure_status(exc: Exception) -> int:
    """The status a stream broken by ``exc`` is recorded with: 504 for a timeout (the
    total deadline included), as a call that timed out before its answer began; else 502."""
    return UPSTREAM_TIMED_OUT if isinstance(exc, httpx.TimeoutException) else UPSTREAM_BROKE


def stream_failed(message: str) -> str:
    """Note a stream's failure for its access line (``routing.request_context``); returns
    the message, for the error event that tells the client."""
    note_error(message)
    return message


def log_stream_failure(exc: Exception) -> None:
    """A broken upstream is a warning; anything else is a gateway bug, logged as an error
    (the type and a scrubbed message: an exception may quote the stream's content)."""
    if isinstance(exc, httpx.HTTPError | SSEEventTooLarge):
        logger.warning("upstream stream broke: %s", type(exc).__name__)
    else:
        logger.error("stream relay failed: %s: %s", type(exc).__name__, scrub_secrets(str(exc))[:200])


def max_event_bytes() -> int:
    return int(settings.VANDAMME_MAX_SSE_EVENT_BYTES)


class UsageSniffer(Protocol):
    """Reads usage (in Anthropic's shape) out of relayed whole-event blocks."""

    usage: dict[str, Any]

    def feed(self, block: bytes) -> None: ...


def _scrubbed(value: Any, secrets: tuple[str, ...]) -> Any:
    if isinstance(value, str):
        return scrub_secrets(value, secrets)
    if isinstance(value, dict):
        return {key: _scrubbed(item, secrets) for key, item in value.items()}
    if isinstance(value, list):
        return [_scrubbed(item, secrets) for item in value]
    return value


def scrub_error_events(block: bytes, secrets: tuple[str, ...]) -> tuple[bytes, bool]:
    """``block`` (whole events) with every error event's strings scrubbed of secrets, and
    whether it held an error event: an ``error`` event, or data with an ``error`` key.
    Events are re-encoded only when they are errors; the others pass as they came."""
    out: list[bytes] = []
    failed = False
    decoder = SSEDecoder()
    for raw in split_events(block):
        if b'"error"' not in raw:
            out.append(raw)
            continue
        events = decoder.feed(raw) + decoder.flush()
        try:
            payloads = [(event.event, json.loads(event.data)) for event in events]
        except ValueError:
            payloads = [(event.event, {"error": {"message": event.data}}) for event in events]
        errors = [(name, data) for name, data in payloads if _is_error(name, data)]
        if not errors:
            out.append(raw)
            continue
        failed = True
        for name, data in errors:
            clean = _scrubbed(data, secrets)
            out.append(encode_data(clean) if name == "message" else encode_event(name, clean))
        break  # the stream ends with its error
    return b"".join(out), failed


def _is_error(name: str, data: Any) -> bool:
    return name == "error" or (isinstance(data, dict) and "error" in data)


async def relay_bytes(
    response: ByteSource,
    *,
    error_event: Callable[[str], bytes],
    on_complete: StreamDone | None = None,
    sniffer: UsageSniffer,
    finished: Callable[[bytes], bool],
    secrets: tuple[str, ...] = (),
) -> AsyncGenerator[bytes, None]:
    """Byte-for-byte relay (same dialect on both sides); ``sniffer`` reads the usage
    (in the dialect's events), ``finished`` tells the block that ends an answer.

    Only whole events are passed on: a split event waits for its end (upstreams write
    whole events, so this costs nothing in practice). The happy path is a few byte
    scans per block. An error event from the upstream is passed on scrubbed of secrets
    and ends the stream; a stream that breaks, ends mid-event or ends before its answer
    is finished gets an error event in the client's dialect after its last whole event,
    and is accounted as failed; nothing raised inside escapes as a cut connection.
    """
    framer = EventFramer(max_event_bytes())
    status, done = CLIENT_CLOSED, False
    try:
        async for chunk in response.aiter_raw():
            block = valid_utf8(framer.feed(chunk))  # whole events: no character is cut
            if not block:
                continue
            if b'"error"' in block:
                block, failed = scrub_error_events(block, secrets)
                if failed:
                    stream_failed("upstream sent an error event")
                    status = UPSTREAM_BROKE
                    yield block
                    return
            sniffer.feed(block)
            done = done or finished(block)
            yield block
        last = valid_utf8(framer.pending)
        if last.strip() and finished(last):  # a last event without its blank line
            sniffer.feed(last)
            yield last + b"\n\n"
        elif not done or last.strip():
            status = UPSTREAM_BROKE
            yield error_event(stream_failed(CUT_SHORT))
            return
        status = 200
    except Exception as exc:
        log_stream_failure(exc)
        status = stream_failure_status(exc)
        yield error_event(stream_failed(stream_failure_message(exc)))
    finally:
        await response.aclose()
        if on_complete is not None:
            on_complete(sniffer.usage or None, status)


def has_finish_reason(chunk: Any) -> bool:
    choices = chunk.get("choices") if isinstance(chunk, dict) else None
    return isinstance(choices, list) and any(isinstance(c, dict) and c.get("finish_reason") for c in choices)
