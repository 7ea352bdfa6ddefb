"""The mock's default answers in both dialects, deterministic so tests can check every number.

A non-streamed answer is always ``REPLY_TEXT`` with ``INPUT_TOKENS`` in and ``len(REPLY_PIECES)``
out. A stream of N content deltas carries ``stream_text(N)`` and reports N output tokens; with
the default N (3) that is ``REPLY_TEXT`` again. Encoded streams are cached per (model, N), so
the hot path of a benchmark does no JSON work beyond reading the request.
"""

import json
from functools import lru_cache
from typing import Any

REPLY_TEXT = "Hello from mock"
REPLY_WORDS = ("Hello", "from", "mock")
DEFAULT_CHUNKS = len(REPLY_WORDS)
INPUT_TOKENS = 12
CREATED = 1_700_000_000
OPENAI_ID = "chatcmpl-mock"
ANTHROPIC_ID = "msg_mock"
MODEL_IDS = ("mock-model", "mock-model-large")

# An encoded stream: the events before the first content delta, one part per content delta
# (the pacing delay goes between these), and the events after the last.
StreamParts = tuple[bytes, tuple[bytes, ...], bytes]


def stream_pieces(chunks: int) -> list[str]:
    """The text of each content delta: the reply's words, cycled, space-separated."""
    return [("" if i == 0 else " ") + REPLY_WORDS[i % len(REPLY_WORDS)] for i in range(chunks)]


def stream_text(chunks: int) -> str:
    return "".join(stream_pieces(chunks))


REPLY_PIECES = stream_pieces(DEFAULT_CHUNKS)


def sse_data(payload: Any) -> bytes:
    """``data: …`` for one OpenAI-style event; a str is sent verbatim (``[DONE]``)."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return b"data: " + text.encode() + b"\n\n"


def sse_event(name: str, payload: Any) -> bytes:
    """``event: NAME`` + ``data: …`` for one Anthropic-style event."""
    text = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"event: {name}\ndata: {text}\n\n".encode()


# --- OpenAI Chat Completions -------------------------------------------------------------


def openai_usage(output_tokens: int) -> dict[str, int]:
    return {
        "prompt_tokens": INPUT_TOKENS,
        "completion_tokens": output_tokens,
        "total_tokens": INPUT_TOKENS + output_tokens,
    }


def openai_completion(model: str) -> dict[str, Any]:
    message = {"role": "assistant", "content": REPLY_TEXT}
    return {
        "id": OPENAI_ID,
        "object": "chat.completion",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        "usage": openai_usage(len(REPLY_PIECES)),
    }


def _openai_chunk(model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {
        "id": OPENAI_ID,
        "object": "chat.completion.chunk",
        "created": CREATED,
        "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }


def openai_stream_chunks(model: str, chunks: int, *, include_usage: bool) -> list[Any]:
    """Role chunk, one chunk per content delta, finish chunk, [usage chunk], ``[DONE]``."""
    events: list[Any] = [_openai_chunk(model, {"role": "assistant", "content": ""})]
    events += [_openai_chunk(model, {"content": piece}) for piece in stream_pieces(chunks)]
    events.append(_openai_chunk(model, {}, "stop"))
    if include_usage:
        usage_chunk = {**_openai_chunk(model, {}), "choices": [], "usage": openai_usage(chunks)}
        events.append(usage_chunk)
    events.append("[DONE]")
    return events


@lru_cache(maxsize=256)
def openai_stream_parts(model: str, chunks: int, include_usage: bool) -> StreamParts:
    """The encoded stream as (head, one part per content delta, tail)."""
    events = [sse_data(event) for event in openai_stream_chunks(model, chunks, include_usage=include_usage)]
    return events[0], tuple(events[1 : 1 + chunks]), b"".join(events[1 + chunks :])


def openai_models() -> dict[str, Any]:
    data = [{"id": name, "object": "model", "created": CREATED, "owned_by": "mock"} for name in MODEL_IDS]
    return {"object": "list", "data": data}


def openai_error(status: int, message: str) -> dict[str, Any]:
    kind = "invalid_request_error" if status < 500 else "server_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": str(status)}}


# --- Anthropic Messages ------------------------------------------------------------------


def anthropic_message(model: str) -> dict[str, Any]:
    return {
        "id": ANTHROPIC_ID,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": [{"type": "text", "text": REPLY_TEXT}],
        "stop_reason": "end_turn",
        "stop_sequence": None,
        "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": len(REPLY_PIECES)},
    }


def anthropic_stream_events(model: str, chunks: int) -> list[tuple[str, dict[str, Any]]]:
    """message_start, content_block_start, content_block_delta × chunks, content_block_stop,
    message_delta, message_stop: the order the Messages API guarantees."""
    start = {
        **anthropic_message(model),
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": INPUT_TOKENS, "output_tokens": 1},
    }
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    for piece in stream_pieces(chunks):
        delta = {"type": "text_delta", "text": piece}
        events.append(("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": delta}))
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": chunks},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return events


@lru_cache(maxsize=256)
def anthropic_stream_parts(model: str, chunks: int) -> StreamParts:
    """The encoded stream as (head, one part per content delta, tail)."""
    events = [sse_event(name, payload) for name, payload in anthropic_stream_events(model, chunks)]
    return b"".join(events[:2]), tuple(events[2 : 2 + chunks]), b"".join(events[2 + chunks :])


def anthropic_models() -> dict[str, Any]:
    data = [
        {"id": name, "type": "model", "display_name": name, "created_at": "2023-11-14T22:13:20Z"}
        for name in MODEL_IDS
    ]
    return {"data": data, "has_more": False, "first_id": MODEL_IDS[0], "last_id": MODEL_IDS[-1]}


def anthropic_count_tokens() -> dict[str, int]:
    return {"input_tokens": INPUT_TOKENS}


ANTHROPIC_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    413: "request_too_large",
    429: "rate_limit_error",
    529: "overloaded_error",
}


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = ANTHROPIC_ERROR_TYPES.get(status, "api_error" if status >= 500 else "invalid_request_error")
    return {"type": "error", "error": {"type": kind, "message": message}}
