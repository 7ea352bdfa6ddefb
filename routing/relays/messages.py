"""Relays that emit Anthropic Messages events: the usage and the end of an Anthropic
stream relayed as it is (``relay_bytes`` with ``AnthropicUsageSniffer``), and an OpenAI
chunk stream translated into Anthropic events (``openai_to_anthropic_events``)."""

import json
from collections.abc import AsyncGenerator
from typing import Any

from routing.errors import scrub_secrets
from routing.relays.core import (
    CLIENT_CLOSED,
    CUT_SHORT,
    UPSTREAM_BROKE,
    ByteSource,
    StreamDone,
    has_finish_reason,
    log_stream_failure,
    max_event_bytes,
    stream_failed,
    stream_failure_message,
    stream_failure_status,
)
from routing.sse import SSEDecoder, SSEEvent, encode_event
from routing.translation import OpenAIToAnthropicStream


class AnthropicUsageSniffer:
    """Reads usage out of an Anthropic event stream without touching the bytes relayed.

    Fed whole events only (``relay_bytes`` frames them first), so a block that does not
    mention usage is skipped without decoding it."""

    def __init__(self) -> None:
        self._decoder = SSEDecoder()
        self.usage: dict[str, Any] = {}

    def feed(self, block: bytes) -> None:
        if b'"usage"' not in block:
            return
        for event in self._decoder.feed(block):
            if event.event not in ("message_start", "message_delta"):
                continue
            try:
                data = json.loads(event.data)
            except ValueError:
                continue
            if not isinstance(data, dict):
                continue
            message = data.get("message")
            usage = (
                (message.get("usage") if isinstance(message, dict) else None)
                if event.event == "message_start"
                else data.get("usage")
            )
            if isinstance(usage, dict):
                self.usage.update({k: v for k, v in usage.items() if isinstance(v, int)})


def anthropic_finished(block: bytes) -> bool:
    """An Anthropic stream's last event went by."""
    return b"message_stop" in block


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
        self.finished = False  # ``[DONE]`` or a ``finish_reason`` went by

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
                self.finished = self.finished or bool(data)
                continue
            chunk = json.loads(data)
            failure = _upstream_error_in_chunk(chunk, self.secrets) if isinstance(chunk, dict) else None
            if failure is not None:
                return b"".join(out), failure
            self.finished = self.finished or has_finish_reason(chunk)
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
    """Translate an OpenAI chunk stream into Anthropic events, one write per upstream chunk.

    A stream that breaks, or ends before the upstream finished its answer, ends with an
    Anthropic ``error`` event after the last whole event translated."""
    decoder = SSEDecoder(max_event_bytes())
    translation = _ChunkTranslation(translator, secrets)
    status = CLIENT_CLOSED
    try:
        async for raw in response.aiter_raw():
            translated, failure = translation.translate(decoder.feed(raw))
            if failure is not None:
                status = UPSTREAM_BROKE
                yield translated + anthropic_error_event(stream_failed(f"upstream error: {failure}"))
                return
            if translated:
                yield translated
        # Lenient at the end: a last event that lacks its blank line is still translated.
        translated, failure = translation.translate(decoder.flush())
        if failure is not None or not translation.finished:
            status = UPSTREAM_BROKE
            message = f"upstream error: {failure}" if failure else CUT_SHORT
            yield translated + anthropic_error_event(stream_failed(message))
            return
        yield translated + translation.finish()
        status = 200
    except Exception as exc:
        log_stream_failure(exc)
        status = stream_failure_status(exc)
        yield anthropic_error_event(stream_failed(stream_failure_message(exc)))
    finally:
        await response.aclose()
        if on_complete is not None:
            # Accounted from the upstream's own usage (cache writes, reasoning), which the
            # client's Anthropic events do not carry.
            accounted = translator.accounted_usage
            on_complete(accounted if accounted is not None else translation.usage, status)
