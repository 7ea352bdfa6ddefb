"""Shared pieces of the /v1/chat/completions endpoint tests: raw posts and SSE bodies
(the ``openai_sdk`` and ``recorded_usage`` fixtures are in conftest)."""

import json
from typing import Any

import httpx

from vandamme.asgi import application


async def post_chat(body: object, **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=application)
    async with httpx.AsyncClient(transport=transport, base_url="http://gateway.test") as http:
        content = body if isinstance(body, bytes) else json.dumps(body).encode()
        return await http.post(
            "/v1/chat/completions", content=content, headers={"content-type": "application/json", **headers}
        )


def openai_sse(*chunks: object) -> bytes:
    """An OpenAI stream: each chunk as ``data:`` (a str verbatim, e.g. ``[DONE]``)."""
    return b"".join(f"data: {c if isinstance(c, str) else json.dumps(c)}\n\n".encode() for c in chunks)


def anthropic_sse(*events: tuple[str, dict[str, Any]]) -> bytes:
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)


def anthropic_message(content: list[dict[str, Any]], stop_reason: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_01Q",
        "type": "message",
        "role": "assistant",
        "model": "claude-up",
        "content": content,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": 11, "output_tokens": 4, "cache_read_input_tokens": 5},
    }


def anthropic_text_stream(text_pieces: list[str], stop_reason: str = "end_turn") -> bytes:
    start = {**anthropic_message([]), "stop_reason": None}
    start["usage"] = {"input_tokens": 11, "output_tokens": 1, "cache_read_input_tokens": 5}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        (
            "content_block_start",
            {"type": "content_block_start", "index": 0, "content_block": {"type": "text", "text": ""}},
        ),
    ]
    events += [
        (
            "content_block_delta",
            {"type": "content_block_delta", "index": 0, "delta": {"type": "text_delta", "text": p}},
        )
        for p in text_pieces
    ]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        (
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": stop_reason, "stop_sequence": None},
                "usage": {"output_tokens": 4},
            },
        ),
        ("message_stop", {"type": "message_stop"}),
    ]
    return anthropic_sse(*events)
