"""Upstreams and providers for the /v1/responses door tests: one provider per family
(OpenAI-format chat, a Responses-speaking one, Anthropic-format), the upstream streams each
dialect sends, and the door's own events read back from raw SSE bytes."""

import json
from typing import Any

import httpx
import pytest

from aliases.models import Alias
from providers.models import ApiFormat, Provider
from tests.gateway.conftest import make_provider
from tests.routing.translation.responses_checks import check_grammar, parse_sse

CHAT_BASE = "http://chat.upstream.test/v1"
NATIVE_BASE = "http://native.upstream.test/v1"
ANT_BASE = "http://ant.upstream.test"
CHAT_KEY = "sk-test-chat-key-aaaaaaaaaaaaaaaa"
NATIVE_KEY = "sk-test-native-key-bbbbbbbbbbbbbbbb"
ANT_KEY = "sk-ant-test-key-cccccccccccccccccc"
CHAT_URL = f"{CHAT_BASE}/chat/completions"
NATIVE_URL = f"{NATIVE_BASE}/responses"
ANT_URL = f"{ANT_BASE}/v1/messages"
SECRETS = (CHAT_KEY, NATIVE_KEY, ANT_KEY)
CLIENT_KEY = "client-key"  # the openai_sdk fixture's key

FUNCTION_TOOL: dict[str, Any] = {
    "type": "function",
    "name": "exec_command",
    "parameters": {"type": "object", "properties": {"cmd": {"type": "string"}}},
}
NAMESPACE_TOOL: dict[str, Any] = {
    "type": "namespace",
    "name": "multi_agent_v1",
    "description": "agents",
    "tools": [{"type": "function", "name": "spawn_agent", "parameters": {"type": "object"}}],
}


@pytest.fixture
def families(transactional_db: None) -> dict[str, Provider]:
    """One provider per family the door serves, no retries (errors show as they come)."""
    chat = make_provider("chatty", base_url=CHAT_BASE, keys=(CHAT_KEY,), is_default=True, max_retries=0)
    native = make_provider(
        "native", base_url=NATIVE_BASE, keys=(NATIVE_KEY,), responses_api=True, max_retries=0
    )
    ant = make_provider(
        "anty", base_url=ANT_BASE, api_format=ApiFormat.ANTHROPIC, keys=(ANT_KEY,), max_retries=0
    )
    Alias.objects.create(name="claude-alias", target="anty:claude-sonnet-4-5")
    return {"chat": chat, "native": native, "anthropic": ant}


# --- Chat Completions upstream ------------------------------------------------------------


def chat_chunk(
    delta: dict[str, Any] | None = None, finish: str | None = None, **extra: Any
) -> dict[str, Any]:
    choices = [] if delta is None else [{"index": 0, "delta": delta, "finish_reason": finish}]
    return {"id": "chatcmpl-1", "object": "chat.completion.chunk", "model": "up", "choices": choices, **extra}


CHAT_USAGE = {
    "prompt_tokens": 30,
    "completion_tokens": 12,
    "total_tokens": 42,
    "prompt_tokens_details": {"cached_tokens": 10},
    "completion_tokens_details": {"reasoning_tokens": 5},
}


def chat_sse(*chunks: dict[str, Any], done: bool = True) -> bytes:
    body = b"".join(f"data: {json.dumps(chunk)}\n\n".encode() for chunk in chunks)
    return body + (b"data: [DONE]\n\n" if done else b"")


def chat_text_stream(*pieces: str) -> bytes:
    return chat_sse(
        chat_chunk({"role": "assistant", "content": ""}),
        *(chat_chunk({"content": piece}) for piece in pieces),
        chat_chunk({}, "stop"),
        chat_chunk(None, usage=CHAT_USAGE),
    )


def chat_tool_stream(name: str, fragments: list[str], call_id: str = "call_1", **first: Any) -> bytes:
    """A tool call whose arguments arrive in ``fragments`` (tool_call deltas)."""
    head = {"index": 0, "id": call_id, "type": "function", "function": {"name": name, "arguments": ""}}
    return chat_sse(
        chat_chunk({"role": "assistant", **first, "tool_calls": [head]}),
        *(chat_chunk({"tool_calls": [{"index": 0, "function": {"arguments": f}}]}) for f in fragments),
        chat_chunk({}, "tool_calls"),
        chat_chunk(None, usage=CHAT_USAGE),
    )


def chat_completion(message: dict[str, Any], finish: str = "stop") -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "model": "up",
        "choices": [{"index": 0, "message": {"role": "assistant", **message}, "finish_reason": finish}],
        "usage": CHAT_USAGE,
    }


# --- Anthropic Messages upstream ----------------------------------------------------------

ANT_USAGE = {"input_tokens": 20, "cache_read_input_tokens": 10, "output_tokens": 12}


def ant_sse(*events: dict[str, Any]) -> bytes:
    return b"".join(f"event: {e['type']}\ndata: {json.dumps(e)}\n\n".encode() for e in events)


def ant_start() -> dict[str, Any]:
    message: dict[str, Any] = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-up",
        "content": [],
        "stop_reason": None,
        "usage": {"input_tokens": 20, "cache_read_input_tokens": 10, "output_tokens": 1},
    }
    return {"type": "message_start", "message": message}


def ant_block(index: int, block: dict[str, Any], *deltas: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"type": "content_block_start", "index": index, "content_block": block},
        *({"type": "content_block_delta", "index": index, "delta": delta} for delta in deltas),
        {"type": "content_block_stop", "index": index},
    ]


def ant_end(stop: str) -> list[dict[str, Any]]:
    return [
        {"type": "message_delta", "delta": {"stop_reason": stop}, "usage": {"output_tokens": 12}},
        {"type": "message_stop"},
    ]


def ant_text_stream(*pieces: str) -> bytes:
    text = ant_block(0, {"type": "text", "text": ""}, *({"type": "text_delta", "text": p} for p in pieces))
    return ant_sse(ant_start(), *text, *ant_end("end_turn"))


def ant_message(content: list[dict[str, Any]], stop: str = "end_turn") -> dict[str, Any]:
    return {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": "claude-up",
        "content": content,
        "stop_reason": stop,
        "usage": ANT_USAGE,
    }


# --- Responses upstream (passthrough) -----------------------------------------------------


def native_response(status: str = "completed", text: str = "Hello") -> dict[str, Any]:
    item = {
        "type": "message",
        "id": "msg_1",
        "status": "completed",
        "role": "assistant",
        "content": [{"type": "output_text", "text": text, "annotations": []}],
    }
    usage = {
        "input_tokens": 30,
        "input_tokens_details": {"cached_tokens": 10},
        "output_tokens": 12,
        "output_tokens_details": {"reasoning_tokens": 5},
        "total_tokens": 42,
    }
    return {
        "id": "resp_up1",
        "object": "response",
        "created_at": 1,
        "status": status,
        "model": "gpt-5",
        "output": [item] if status == "completed" else [],
        "parallel_tool_calls": True,
        "tool_choice": "auto",
        "tools": [],
        "usage": usage if status == "completed" else None,
        "error": None,
    }


def native_text_stream(text: str = "Hello") -> bytes:
    """A strict Responses stream for one message."""
    item = native_response()["output"][0]
    empty_part = {"type": "output_text", "text": "", "annotations": []}
    where = {"item_id": "msg_1", "output_index": 0, "content_index": 0}
    events: list[dict[str, Any]] = [
        {"type": "response.created", "response": native_response("in_progress")},
        {"type": "response.in_progress", "response": native_response("in_progress")},
        {"type": "response.output_item.added", "output_index": 0, "item": {**item, "content": []}},
        {"type": "response.content_part.added", **where, "part": empty_part},
        {"type": "response.output_text.delta", **where, "delta": text[:2], "logprobs": []},
        {"type": "response.output_text.delta", **where, "delta": text[2:], "logprobs": []},
        {"type": "response.output_text.done", **where, "text": text, "logprobs": []},
        {"type": "response.content_part.done", **where, "part": {**empty_part, "text": text}},
        {"type": "response.output_item.done", "output_index": 0, "item": item},
        {"type": "response.completed", "response": native_response()},
    ]
    return b"".join(
        f"event: {e['type']}\ndata: {json.dumps({**e, 'sequence_number': n})}\n\n".encode()
        for n, e in enumerate(events)
    )


# --- the door -----------------------------------------------------------------------------


async def door_stream(gateway: httpx.AsyncClient, body: dict[str, Any], **headers: str) -> httpx.Response:
    return await gateway.post(
        "/v1/responses",
        json={**body, "stream": True},
        headers={"authorization": f"Bearer {CLIENT_KEY}", **headers},
    )


def door_events(answer: httpx.Response) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The door's events, held to the strict grammar; and the terminal response."""
    assert answer.status_code == 200, answer.text
    assert answer.headers["content-type"].startswith("text/event-stream")
    events = parse_sse(answer.content)
    return events, check_grammar(events)


def sent_body(route: Any, call: int = -1) -> dict[str, Any]:
    return dict(json.loads(route.calls[call].request.content))


def assert_no_client_key(route: Any) -> None:
    for sent in route.calls:
        assert CLIENT_KEY not in json.dumps(dict(sent.request.headers))
        assert CLIENT_KEY.encode() not in sent.request.content
