"""The first frame of a streamed answer: an error in it, before any byte reached the
client, is an upstream failure like an HTTP error status. Pure.

Bedrock answers a throttled stream with a 200 whose first event-stream frame is a
``throttlingException``; Vertex and Anthropic can open a 200 stream with an ``error``
event; OpenAI-compatible gateways with ``data: {"error": …}``. Found in the first frame,
such an error gets the same retry, key rotation and fallback as the status it stands for.
"""

import json
import struct
from dataclasses import dataclass
from typing import Any

from providers.families import ApiFormat
from routing.adapters import bedrock
from routing.adapters.openai_answers import embedded_error_status
from routing.errors import status_for_anthropic_type
from routing.sse import SSEDecoder

# Past this many bytes without a whole first frame, the stream is relayed unexamined.
PEEK_LIMIT = 64 * 1024
_SSE_FRAME_ENDS = (b"\n\n", b"\r\n\r\n", b"\r\r")


@dataclass(frozen=True)
class FrameError:
    status: int  # the upstream HTTP status the error stands for
    message: str


def first_frame_complete(api_format: ApiFormat, data: bytes) -> bool:
    """Whether ``data`` holds the whole first frame (or all the peek may read)."""
    if len(data) >= PEEK_LIMIT:
        return True
    if api_format == ApiFormat.BEDROCK:
        return len(data) >= 4 and struct.unpack(">I", data[:4])[0] <= len(data)
    return any(end in data for end in _SSE_FRAME_ENDS)


def first_frame_error(api_format: ApiFormat, data: bytes) -> FrameError | None:
    """The error the stream's first frame carries, if it carries one."""
    if api_format == ApiFormat.BEDROCK:
        transcoder = bedrock.EventStreamTranscoder()
        data = transcoder.feed(data)
        if not transcoder.ended:
            return None
    try:
        events = SSEDecoder().feed(data)
    except UnicodeDecodeError:
        return None
    event = next((event for event in events if event.data.strip()), None)
    if event is None:
        return None
    try:
        payload: Any = json.loads(event.data)
    except ValueError:
        return None
    return _error_in(event.event, payload)


def _error_in(name: str, payload: Any) -> FrameError | None:
    if not isinstance(payload, dict) or (name != "error" and payload.get("error") is None):
        return None
    error = payload.get("error")
    message = error.get("message") if isinstance(error, dict) else error
    text = str(message) if message is not None else json.dumps(payload)[:300]
    if name == "error" or (isinstance(error, dict) and "type" in error and payload.get("type") == "error"):
        kind = error.get("type") if isinstance(error, dict) else None
        return FrameError(status_for_anthropic_type(kind), text)
    return FrameError(embedded_error_status(payload) or 500, text)  # OpenAI's {"error": …}
