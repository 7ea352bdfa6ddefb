"""Stream-level faults: how a streamed reply is bent before the server writes it.

Keys of a response spec (see ``scripts``), all optional, applied in this order:

``raw_b64``          a stream of raw bytes, each item base64 and written as one HTTP chunk
                     (invalid UTF-8, stray bytes): a body key, like ``raw``
``pad_bytes``        a default answer gets one extra content delta of this many ``x`` right
                     after its head: one huge single event, in the endpoint's dialect
``reset_after``      after this many items, reset the connection (RST, no terminating chunk)
``cut_after_bytes``  write only the first N bytes of the stream, then close the connection
                     without the terminating chunk (a cut mid-event when N falls inside one)
``end_after_bytes``  write only the first N bytes of the stream, then end the body cleanly
                     (a short body: the upstream closes mid-answer as if it were done)
``split``            write every item in this many pieces, each its own chunk, with a short
                     pause between them so they reach the reader as separate reads

``drop_after`` (close after N items) is applied here too, so the keys combine.
"""

import base64
import binascii
import json
from typing import Any

from tests.mock_upstream.routes import Reply

STREAM_FAULT_KEYS = ("pad_bytes", "reset_after", "cut_after_bytes", "end_after_bytes", "split")
SPLIT_PAUSE_SECONDS = 0.003  # long enough for the pieces to arrive as separate reads

Parts = list[tuple[float, bytes]]


def validate_faults(spec: dict[str, Any]) -> str | None:
    """The first problem with the fault keys of ``spec``, or None."""
    for key in STREAM_FAULT_KEYS:
        value = spec.get(key, 1)
        if not isinstance(value, int) or isinstance(value, bool) or value < (1 if key == "split" else 0):
            return f"{key} must be an int ≥ {1 if key == 'split' else 0}"
    items = spec.get("raw_b64", [])
    if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
        return "raw_b64 must be a list of base64 strings"
    try:
        for item in items:
            base64.b64decode(item, validate=True)
    except (binascii.Error, ValueError):
        return "raw_b64 items must be base64"
    return None


def raw_b64_items(spec: dict[str, Any]) -> list[bytes]:
    return [base64.b64decode(item) for item in spec["raw_b64"]]


def _padding_event(anthropic: bool, size: int) -> bytes:
    text = "x" * size
    if anthropic:
        delta = {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": text}}
        return b"event: content_block_delta\ndata: " + json.dumps(delta).encode() + b"\n\n"
    chunk = {
        "id": "chatcmpl-mock",
        "object": "chat.completion.chunk",
        "created": 1_700_000_000,
        "model": "mock-model",
        "choices": [{"index": 0, "delta": {"content": text}, "finish_reason": None}],
    }
    return b"data: " + json.dumps(chunk).encode() + b"\n\n"


def _first_bytes(parts: Parts, size: int) -> Parts:
    kept: Parts = []
    for wait, data in parts:
        if size <= 0:
            break
        kept.append((wait, data[:size]))
        size -= len(data)
    return kept


def _split(parts: Parts, pieces: int) -> Parts:
    out: Parts = []
    for wait, data in parts:
        step = max(1, -(-len(data) // pieces))
        chunks = [data[i : i + step] for i in range(0, len(data), step)] or [data]
        out += [(wait if i == 0 else SPLIT_PAUSE_SECONDS, piece) for i, piece in enumerate(chunks)]
    return out


def apply_stream_faults(reply: Reply, spec: dict[str, Any], *, anthropic: bool) -> None:
    """Bend a streamed reply as the spec's fault keys say (no-op for a whole reply)."""
    if reply.parts is None:
        return
    parts = list(reply.parts)
    if spec.get("pad_bytes") and not any(key in spec for key in ("sse", "events", "raw", "raw_b64")):
        parts.insert(1, (0.0, _padding_event(anthropic, spec["pad_bytes"])))
    cut: str | None = None
    if spec.get("drop_after") is not None:
        parts, cut = parts[: spec["drop_after"]], "close"
    if spec.get("reset_after") is not None:
        parts, cut = parts[: spec["reset_after"]], "reset"
    if spec.get("cut_after_bytes") is not None:
        parts, cut = _first_bytes(parts, spec["cut_after_bytes"]), "close"
    if spec.get("end_after_bytes") is not None:
        parts = _first_bytes(parts, spec["end_after_bytes"])
    if spec.get("split", 1) > 1:
        parts = _split(parts, spec["split"])
    reply.parts = parts
    reply.drop_after = len(parts) if cut else None
    reply.reset = cut == "reset"
