"""Async generators that forward upstream streams to an OpenAI client as chunks arrive.

Two ways an answer reaches an OpenAI client: an OpenAI-format stream relayed byte for
byte (``routing.relays.core.relay_bytes`` with ``OpenAIUsageSniffer``), and an Anthropic
event stream translated chunk by chunk (``anthropic_to_openai_chunks``). Tool names a
provider restricts are put back by built-in middleware (``routing.middleware.tool_names``).
Each writes once per upstream network chunk, owns the upstream response and closes it
in ``finally`` (a client that goes away cancels the upstream read), and reports usage
and status once at the end. A failure after the stream started is sent as a
``data: {"error": …}`` chunk, which the openai SDK raises as an ``APIError``, and ends
the stream.
"""

import json
import logging
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any

from routing.errors import (
    GatewayError,
    map_upstream_status,
    openai_error_body,
    scrub_secrets,
    status_for_anthropic_type,
)
from routing.relays.core import (
    CLIENT_CLOSED,
    CUT_SHORT,
    UPSTREAM_BROKE,
    ByteSource,
    StreamDone,
    log_stream_failure,
    max_event_bytes,
    stream_failed,
    stream_failure_message,
    stream_failure_status,
)
from routing.sse import DONE_EVENT, SSEDecoder, SSEEvent, encode_data, split_events
from routing.translation import AnthropicToOpenAIStream, accounted_usage

logger = logging.getLogger(__name__)

# Only chunks with a usage object are parsed by the sniffer; with include_usage every
# other chunk says ``"usage":null``.
_USAGE_OBJECT = re.compile(r'"usage"\s*:\s*\{')


def openai_error_chunk(message: str, error_type: str = "server_error") -> bytes:
    return encode_data({"error": {"message": message, "type": error_type, "param": None, "code": None}})


def openai_stream_error(message: str, anthropic_type: object) -> bytes:
    """An upstream error event as OpenAI's error chunk, typed as the status its Anthropic
    type stands for (a throttle: ``rate_limit_exceeded``, as a 429 would be)."""
    status = map_upstream_status(status_for_anthropic_type(anthropic_type))
    return encode_data(openai_error_body(GatewayError(status, message)))


def _usage_of_chunk(data: str) -> dict[str, Any] | None:
    if not _USAGE_OBJECT.search(data):
        return None
    try:
        chunk = json.loads(data)
    except ValueError:
        return None
    usage = chunk.get("usage") if isinstance(chunk, dict) else None
    return accounted_usage(usage) if isinstance(usage, dict) else None


class OpenAIUsageSniffer:
    """Reads usage out of an OpenAI chunk stream without touching the bytes relayed.

    Fed whole events only (``relay_bytes`` frames them first), so a block without a
    usage object is skipped without decoding it."""

    def __init__(self) -> None:
        self._decoder = SSEDecoder()
        self.usage: dict[str, Any] = {}

    def feed(self, block: bytes) -> None:
        if not _USAGE_OBJECT_BYTES.search(block):
            return
        for event in self._decoder.feed(block):
            usage = _usage_of_chunk(event.data)
            if usage is not None:
                self.usage = usage


_USAGE_OBJECT_BYTES = re.compile(rb'"usage"\s*:\s*\{')
_FINISH_REASON = re.compile(rb'"finish_reason"\s*:\s*"')


def openai_finished(block: bytes) -> bool:
    """An OpenAI stream's answer is complete: ``[DONE]``, or a choice's ``finish_reason``
    (some OpenAI-compatible servers omit ``[DONE]``)."""
    return b"[DONE]" in block or _FINISH_REASON.search(block) is not None


_EMPTY_CHOICES = re.compile(rb'"choices"\s*:\s*\[\s*\]')


def _is_usage_only_chunk(event: bytes) -> bool:
    """``data: {"choices": [], "usage": {…}}``: the chunk ``include_usage`` adds."""
    _, _, data = event.partition(b"data:")
    try:
        chunk = json.loads(data)
    except ValueError:
        return False
    return isinstance(chunk, dict) and chunk.get("choices") == [] and isinstance(chunk.get("usage"), dict)


async def without_usage_chunk(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Drop the usage-only chunk from whole-event byte blocks, leaving every other byte.

    The gateway asks OpenAI-format upstreams for usage (``stream_options.include_usage``)
    even when the client did not, so that streams are accounted and token limits hold;
    a client that did not ask must not get the extra chunk. Only a block that mentions
    both a usage object and empty choices is looked into.
    """
    try:
        async for block in chunks:
            if _EMPTY_CHOICES.search(block) and _USAGE_OBJECT.search(block.decode("utf-8", "replace")):
                block = b"".join(e for e in split_events(block) if not _is_usage_only_chunk(e))
            if block:
                yield block
    finally:
        aclose = getattr(chunks, "aclose", None)
        if aclose is not None:
            await aclose()


class _UpstreamFailed(Exception):
    """An Anthropic ``error`` event: what was translated before it, its message (secrets
    removed) and its type."""

    def __init__(self, sent: bytes, message: str, error_type: object = None) -> None:
        super().__init__(message)
        self.sent = sent
        self.message = message
        self.error_type = error_type


def _translated(
    events: Iterable[SSEEvent], translator: AnthropicToOpenAIStream, secrets: tuple[str, ...]
) -> bytes:
    out: list[bytes] = []
    for event in events:
        if event.event == "ping" or not event.data.strip():
            continue
        data = json.loads(event.data)
        if event.event == "error":
            error = data.get("error") if isinstance(data, dict) else None
            message = error.get("message") if isinstance(error, dict) else None
            raise _UpstreamFailed(
                b"".join(out),
                scrub_secrets(str(message or "unknown error"), secrets),
                error.get("type") if isinstance(error, dict) else None,
            )
        out.extend(encode_data(chunk) for chunk in translator.feed(event.event, data))
        if translator.done:
            out.append(DONE_EVENT)
            break
    return b"".join(out)


async def anthropic_to_openai_chunks(
    response: ByteSource,
    translator: AnthropicToOpenAIStream,
    *,
    secrets: tuple[str, ...],
    on_complete: StreamDone,
) -> AsyncIterator[bytes]:
    """Translate an Anthropic event stream into OpenAI chunks, ending with ``[DONE]``."""
    decoder = SSEDecoder(max_event_bytes())
    status = CLIENT_CLOSED
    try:
        async for raw in response.aiter_raw():
            data = _translated(decoder.feed(raw), translator, secrets)
            if data:
                yield data
            if translator.done:
                break
        else:
            tail = _translated(decoder.flush(), translator, secrets)
            if not translator.done:
                status = UPSTREAM_BROKE
                yield tail + openai_error_chunk(stream_failed(CUT_SHORT))
                return
            if tail:
                yield tail
        status = 200
    except _UpstreamFailed as failure:
        status = UPSTREAM_BROKE
        message = stream_failed(f"upstream error: {failure.message}")
        yield failure.sent + openai_stream_error(message, failure.error_type)
    except Exception as exc:
        log_stream_failure(exc)
        status = stream_failure_status(exc)
        yield openai_error_chunk(stream_failed(stream_failure_message(exc)))
    finally:
        await response.aclose()
        on_complete(translator.usage or None, status)
