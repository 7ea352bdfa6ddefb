"""The mock's answers in OpenAI's Responses dialect (``POST /v1/responses``).

A response is built from a list of output items (message, function_call, reasoning); the
stream of one is derived from the same items, in the order OpenAI documents:
``response.created``, ``response.in_progress``, then per item ``response.output_item.added``,
its part / delta / done events, ``response.output_item.done``, and one terminal
``response.completed`` carrying the whole response and its usage. Every event has ``type``
and a ``sequence_number`` counting from 0, and goes out as ``event: TYPE`` + ``data: …``.
"""

import json
from functools import lru_cache
from typing import Any

from tests.mock_upstream.replies import (
    CREATED,
    INPUT_TOKENS,
    REPLY_PIECES,
    REPLY_TEXT,
    sse_event,
    stream_pieces,
)

RESPONSE_ID = "resp_mock"
MESSAGE_ID = "msg_mock_output"
FUNCTION_CALL_ID = "fc_mock"
REASONING_ID = "rs_mock"

Event = dict[str, Any]


def usage(output_tokens: int, input_tokens: int = INPUT_TOKENS) -> dict[str, Any]:
    return {
        "input_tokens": input_tokens,
        "input_tokens_details": {"cached_tokens": 0},
        "output_tokens": output_tokens,
        "output_tokens_details": {"reasoning_tokens": 0},
        "total_tokens": input_tokens + output_tokens,
    }


def message_item(text: str, item_id: str = MESSAGE_ID) -> dict[str, Any]:
    part = {"type": "output_text", "text": text, "annotations": []}
    return {"id": item_id, "type": "message", "status": "completed", "role": "assistant", "content": [part]}


def function_call_item(name: str, arguments: str, call_id: str) -> dict[str, Any]:
    return {
        "id": FUNCTION_CALL_ID,
        "type": "function_call",
        "status": "completed",
        "name": name,
        "arguments": arguments,
        "call_id": call_id,
    }


def reasoning_item(summary: str, encrypted_content: str) -> dict[str, Any]:
    return {
        "id": REASONING_ID,
        "type": "reasoning",
        "summary": [{"type": "summary_text", "text": summary}],
        "encrypted_content": encrypted_content,
    }


def response_object(
    model: str, output: list[dict[str, Any]], output_tokens: int, *, status: str = "completed"
) -> dict[str, Any]:
    done = status == "completed"
    return {
        "id": RESPONSE_ID,
        "object": "response",
        "created_at": CREATED,
        "status": status,
        "error": None,
        "incomplete_details": None,
        "model": model,
        "output": output,
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage(output_tokens) if done else None,
    }


def default_response(model: str) -> dict[str, Any]:
    return response_object(model, [message_item(REPLY_TEXT)], len(REPLY_PIECES))


def _item_events(index: int, item: dict[str, Any], pieces: list[str]) -> list[Event]:
    """The events of one output item; ``pieces`` are its text or arguments deltas."""
    item_id = item["id"]
    at = {"item_id": item_id, "output_index": index}
    kind = item["type"]
    if kind == "message":
        added = {**item, "status": "in_progress", "content": []}
        part = {"type": "output_text", "text": "", "annotations": []}
        text = "".join(pieces)
        middle = [
            {"type": "response.content_part.added", **at, "content_index": 0, "part": part},
            *(
                {"type": "response.output_text.delta", **at, "content_index": 0, "delta": p, "logprobs": []}
                for p in pieces
            ),
            {"type": "response.output_text.done", **at, "content_index": 0, "text": text, "logprobs": []},
            {"type": "response.content_part.done", **at, "content_index": 0, "part": {**part, "text": text}},
        ]
    elif kind == "function_call":
        added = {**item, "status": "in_progress", "arguments": ""}
        middle = [
            *({"type": "response.function_call_arguments.delta", **at, "delta": p} for p in pieces),
            {
                "type": "response.function_call_arguments.done",
                **at,
                "name": item["name"],
                "arguments": item["arguments"],
            },
        ]
    else:  # reasoning: its summary streamed as one part
        added = {**item, "summary": []}
        summary = item["summary"][0]["text"]
        part = {"type": "summary_text", "text": ""}
        middle = [
            {"type": "response.reasoning_summary_part.added", **at, "summary_index": 0, "part": part},
            *(
                {"type": "response.reasoning_summary_text.delta", **at, "summary_index": 0, "delta": p}
                for p in pieces
            ),
            {"type": "response.reasoning_summary_text.done", **at, "summary_index": 0, "text": summary},
            {
                "type": "response.reasoning_summary_part.done",
                **at,
                "summary_index": 0,
                "part": {**part, "text": summary},
            },
        ]
    return [
        {"type": "response.output_item.added", "output_index": index, "item": added},
        *middle,
        {"type": "response.output_item.done", "output_index": index, "item": item},
    ]


def split(text: str, size: int = 12) -> list[str]:
    """A text in fragments of ``size`` characters (arguments arrive cut mid-token)."""
    return [text[start : start + size] for start in range(0, len(text), size)] or [""]


def item_pieces(item: dict[str, Any]) -> list[str]:
    """How an item's text streams when nobody chose: words for text, fragments otherwise."""
    if item["type"] == "message":
        words = item["content"][0]["text"].split(" ")
        return [("" if i == 0 else " ") + word for i, word in enumerate(words)]
    if item["type"] == "function_call":
        return split(item["arguments"])
    return split(item["summary"][0]["text"])


def stream_events(
    model: str, output: list[dict[str, Any]], output_tokens: int, pieces: list[list[str]] | None = None
) -> list[Event]:
    """The whole stream for these output items, numbered. ``pieces`` (one list per item)
    overrides how each item's text is cut into deltas."""
    cuts = pieces if pieces is not None else [item_pieces(item) for item in output]
    pending = response_object(model, [], 0, status="in_progress")
    events: list[Event] = [
        {"type": "response.created", "response": pending},
        {"type": "response.in_progress", "response": pending},
    ]
    for index, (item, item_cuts) in enumerate(zip(output, cuts, strict=True)):
        events += _item_events(index, item, item_cuts)
    events.append({"type": "response.completed", "response": response_object(model, output, output_tokens)})
    return [{**event, "sequence_number": number} for number, event in enumerate(events)]


def encode(events: list[Event]) -> list[bytes]:
    return [sse_event(event["type"], event) for event in events]


@lru_cache(maxsize=256)
def default_stream_parts(model: str, chunks: int) -> tuple[bytes, tuple[bytes, ...], bytes]:
    """The default text answer streamed in ``chunks`` deltas, as (head, one part per delta,
    tail) so the pacing delay falls between deltas. Head: created, in_progress, item added,
    part added (4 events)."""
    pieces = stream_pieces(chunks)
    item = message_item("".join(pieces))
    encoded = encode(stream_events(model, [item], chunks, [pieces]))
    return b"".join(encoded[:4]), tuple(encoded[4 : 4 + chunks]), b"".join(encoded[4 + chunks :])


def default_json(model: str) -> bytes:
    return json.dumps(default_response(model), separators=(",", ":")).encode()
