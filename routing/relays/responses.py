"""The relays that emit OpenAI Responses events: a Responses-API upstream's stream
relayed byte for byte (``relay_bytes`` with ``ResponsesUsageSniffer`` and
``responses_finished``), or a Chat Completions or Anthropic stream translated event by
event (``translated_to_responses``). Usage is read from the terminal event's response."""

import json
import re
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any, Protocol

from routing.errors import scrub_secrets
from routing.relays.core import (
    CLIENT_CLOSED,
    ByteSource,
    log_stream_failure,
    max_event_bytes,
    stream_failed,
    stream_failure_message,
    stream_failure_status,
)
from routing.sse import SSEDecoder, SSEEvent, encode_event
from routing.translation.responses_events import sse

# The events that end a Responses stream; each carries the whole response, usage included.
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_TERMINAL = re.compile(rb'"type"\s*:\s*"response\.(?:completed|incomplete|failed)"')


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def responses_usage(usage: Any) -> dict[str, int] | None:
    """Responses usage in the Anthropic shape calls are accounted in: ``input_tokens``
    without the cached ones, which go to ``cache_read_input_tokens``, nor the ones written
    to the cache (``cache_creation_input_tokens``: translated answers report them);
    ``output_tokens`` (reasoning tokens included, as the provider bills them, and counted
    again in ``reasoning_output_tokens``)."""
    if not isinstance(usage, dict):
        return None
    details = usage.get("input_tokens_details")
    details = details if isinstance(details, dict) else {}
    cached, written = _int(details.get("cached_tokens")), _int(details.get("cache_write_tokens"))
    output_details = usage.get("output_tokens_details")
    reasoning = _int(output_details.get("reasoning_tokens")) if isinstance(output_details, dict) else 0
    result = {
        "input_tokens": max(_int(usage.get("input_tokens")) - cached - written, 0),
        "output_tokens": _int(usage.get("output_tokens")),
    }
    if cached:
        result["cache_read_input_tokens"] = cached
    if written:
        result["cache_creation_input_tokens"] = written
    if reasoning:
        result["reasoning_output_tokens"] = reasoning
    return result


class ResponsesUsageSniffer:
    """Reads usage out of a Responses event stream without touching the bytes relayed:
    only a block holding a terminal event is decoded."""

    def __init__(self) -> None:
        self._decoder = SSEDecoder()
        self.usage: dict[str, Any] = {}
        # A ``response.failed`` terminal event: the answer ended in an error (status, message).
        self.failure: tuple[int, str] | None = None

    def feed(self, block: bytes) -> None:
        if not _TERMINAL.search(block):
            return
        for event in self._decoder.feed(block):
            try:
                data = json.loads(event.data)
            except ValueError:
                continue
            if not isinstance(data, dict) or data.get("type") not in TERMINAL_EVENTS:
                continue
            response = data.get("response")
            response = response if isinstance(response, dict) else {}
            usage = responses_usage(response.get("usage"))
            if usage is not None:
                self.usage = usage
            if data.get("type") == "response.failed":
                self.failure = _failure_of(response.get("error"))

    def outcome(self, status: int) -> tuple[int, str]:
        """The status and error a finished stream is accounted with: the relay's, unless
        the answer ended in ``response.failed`` (a stream the client left stays 499)."""
        if self.failure is None or status == CLIENT_CLOSED:
            return status, ""
        return self.failure


def _failure_of(error: Any) -> tuple[int, str]:
    error = error if isinstance(error, dict) else {}
    status = 429 if error.get("code") == "rate_limit_exceeded" else 502
    return status, str(error.get("message") or "upstream response failed")


def responses_finished(block: bytes) -> bool:
    """A Responses stream's terminal event went by."""
    return _TERMINAL.search(block) is not None


def responses_error_event(message: str, error_type: str = "server_error") -> bytes:
    """The ``error`` event a Responses stream ends with when the gateway cuts it."""
    return encode_event("error", {"type": "error", "code": error_type, "message": message, "param": None})


class ResponsesTranslator(Protocol):
    """A stream translation to Responses events (``routing.translation.responses_from_*``):
    fed each upstream event's parsed data, it answers the Responses events to send."""

    @property
    def done(self) -> bool: ...

    def feed(self, data: dict[str, Any]) -> list[dict[str, Any]]: ...

    def finish(self) -> list[dict[str, Any]]: ...

    def fail(self, message: str) -> list[dict[str, Any]]: ...


class _Translation:
    """Runs upstream SSE events through a translator and keeps the terminal event it wrote."""

    def __init__(self, translator: ResponsesTranslator, secrets: tuple[str, ...]) -> None:
        self.translator = translator
        self.secrets = secrets
        self.terminal: dict[str, Any] | None = None
        # The upstream's own end marker (Chat's ``[DONE]``) went by: the answer is finished
        # there, in the same write, not when the upstream's body ends a read later.
        self.upstream_said_done = False

    def encoded(self, events: list[dict[str, Any]]) -> bytes:
        for event in events:
            if event.get("type") in TERMINAL_EVENTS:
                self.terminal = event
        return b"".join(sse(event) for event in events)

    def fed(self, upstream: Iterable[SSEEvent]) -> bytes:
        out: list[bytes] = []
        for event in upstream:
            data = event.data
            if data.strip() == "[DONE]":
                self.upstream_said_done = True
                out.append(self.encoded(self.translator.finish()))
                break
            if event.event == "ping" or not data.strip():
                continue
            if '"error"' in data:  # an upstream error's message goes to the client: no secrets
                data = scrub_secrets(data, self.secrets)
            parsed = json.loads(data)
            if isinstance(parsed, dict):
                out.append(self.encoded(self.translator.feed(parsed)))
            if self.translator.done:
                break
        return b"".join(out)

    def outcome(self, status: int) -> tuple[dict[str, Any] | None, int, str]:
        """Usage (accounting shape), status and error the stream is accounted with."""
        response = self.terminal.get("response") if self.terminal else None
        response = response if isinstance(response, dict) else {}
        usage = responses_usage(response.get("usage"))
        if status == CLIENT_CLOSED or response.get("status") != "failed":
            return usage, status, ""
        failed_status, message = _failure_of(response.get("error"))
        return usage, failed_status, message


async def translated_to_responses(
    source: ByteSource,
    translator: ResponsesTranslator,
    *,
    secrets: tuple[str, ...],
    on_complete: Callable[[dict[str, Any] | None, int, str], None],
) -> AsyncIterator[bytes]:
    """An upstream stream (Chat chunks or Anthropic events) translated into Responses
    events as it arrives, one write per upstream network chunk, always ending with one
    terminal event: ``response.failed`` when the upstream errs, breaks or stops short.
    Owns ``source`` and closes it; reports usage, status and error once at the end."""
    decoder = SSEDecoder(max_event_bytes())
    translation = _Translation(translator, secrets)
    status = CLIENT_CLOSED
    try:
        async for raw in source.aiter_raw():
            data = translation.fed(decoder.feed(raw))
            if data:
                yield data
            if translator.done and not translation.upstream_said_done:
                break  # a terminal event of the upstream's, or its error: nothing more to relay
        else:  # read to the end, so the upstream connection goes back to the pool
            last = translation.fed(decoder.flush()) + translation.encoded(translator.finish())
            if last:
                yield last
        status = 200
    except Exception as exc:
        log_stream_failure(exc)
        status = stream_failure_status(exc)
        yield translation.encoded(translator.fail(stream_failed(stream_failure_message(exc))))
    finally:
        await source.aclose()
        on_complete(*translation.outcome(status))
