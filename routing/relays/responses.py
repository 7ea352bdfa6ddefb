"""The relay that emits OpenAI Responses events: a Responses-API upstream's stream
relayed byte for byte (``relay_bytes`` with ``ResponsesUsageSniffer`` and
``responses_finished``). Usage is read from the terminal event's response."""

import json
import re
from typing import Any

from routing.relays.core import CLIENT_CLOSED
from routing.sse import SSEDecoder, encode_event

# The events that end a Responses stream; each carries the whole response, usage included.
TERMINAL_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
_TERMINAL = re.compile(rb'"type"\s*:\s*"response\.(?:completed|incomplete|failed)"')


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def responses_usage(usage: Any) -> dict[str, int] | None:
    """Responses usage in the Anthropic shape calls are accounted in: ``input_tokens``
    without the cached ones, which go to ``cache_read_input_tokens``; ``output_tokens``
    (reasoning tokens included, as the provider bills them)."""
    if not isinstance(usage, dict):
        return None
    details = usage.get("input_tokens_details")
    cached = _int(details.get("cached_tokens")) if isinstance(details, dict) else 0
    result = {
        "input_tokens": max(_int(usage.get("input_tokens")) - cached, 0),
        "output_tokens": _int(usage.get("output_tokens")),
    }
    if cached:
        result["cache_read_input_tokens"] = cached
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
