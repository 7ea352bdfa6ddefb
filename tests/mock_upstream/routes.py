"""Which endpoint a request is for, and the default reply the mock gives it.

A reply is data (status, headers, a whole body or a list of paced stream parts); the server
module writes it. Pacing of default streams comes from the request headers ``x-mock-chunks``
and ``x-mock-delay-ms`` when present (a client talking to the mock directly), else from the
server-wide settings (the gateway does not forward arbitrary headers).
"""

import enum
import json
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from tests.mock_upstream import replies, responses_api, shell_round_trip
from tests.mock_upstream.wire import Request, whole_response

JSON_HEADERS = [("content-type", "application/json")]
SSE_HEADERS = [("content-type", "text/event-stream"), ("cache-control", "no-cache")]


class Endpoint(enum.Enum):
    CHAT_COMPLETIONS = "chat_completions"
    RESPONSES = "responses"
    MESSAGES = "messages"
    COUNT_TOKENS = "count_tokens"
    MODELS = "models"
    ROOT = "root"
    UNKNOWN = "unknown"


@dataclass(slots=True)
class Pacing:
    chunks: int = replies.DEFAULT_CHUNKS
    delay_ms: float = 0.0


@dataclass(slots=True)
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes = b""  # the whole body, when parts is None
    parts: list[tuple[float, bytes]] | None = None  # a chunked stream: (seconds to wait first, data)
    delay: float = 0.0  # seconds to wait before the status line
    drop_after: int | None = None  # stream: close after this many parts; whole: close unanswered
    reset: bool = False  # a stream dropped with a connection reset (RST), not a close
    encoded: bytes | None = None  # the whole response on the wire, when it is cached


@dataclass(frozen=True, slots=True)
class BodyShape:
    """What the default reply depends on in a request body."""

    model: str | None
    stream: bool
    include_usage: bool


@lru_cache(maxsize=64)
def _body_shape(body: bytes) -> BodyShape:
    # Cached on the body bytes: a benchmark sends the same body over and over, and parsing it
    # every time would make the mock, not the proxy, the thing measured.
    try:
        parsed = json.loads(body) if body else None
    except (ValueError, UnicodeDecodeError):
        parsed = None
    if not isinstance(parsed, dict):
        return BodyShape(None, False, False)
    model = parsed.get("model")
    options = parsed.get("stream_options")
    return BodyShape(
        model=model if isinstance(model, str) and model else None,
        stream=parsed.get("stream") is True,
        include_usage=isinstance(options, dict) and options.get("include_usage") is True,
    )


def body_shape(request: Request) -> BodyShape:
    return _body_shape(request.body)


def classify(request: Request) -> Endpoint:
    path = request.path.rstrip("/")
    method = request.method
    if method == "POST" and path.endswith("/chat/completions"):
        return Endpoint.CHAT_COMPLETIONS
    if method == "POST" and path.endswith("/responses"):
        return Endpoint.RESPONSES
    if method == "POST" and path.endswith("/messages/count_tokens"):
        return Endpoint.COUNT_TOKENS
    if method == "POST" and path.endswith("/messages"):
        return Endpoint.MESSAGES
    if method in ("GET", "HEAD") and path.endswith("/models"):
        return Endpoint.MODELS
    if method in ("GET", "HEAD") and path == "":
        return Endpoint.ROOT
    return Endpoint.UNKNOWN


def speaks_anthropic(request: Request, endpoint: Endpoint) -> bool:
    """Anthropic endpoints, and shared ones (models, errors) asked by an Anthropic client."""
    if endpoint in (Endpoint.MESSAGES, Endpoint.COUNT_TOKENS):
        return True
    openai_only = (Endpoint.CHAT_COMPLETIONS, Endpoint.RESPONSES)
    return endpoint not in openai_only and "anthropic-version" in request.headers


def requested_model(request: Request) -> str:
    model = body_shape(request).model
    if model:
        return model
    _, deployments, rest = request.path.partition("/openai/deployments/")
    return rest.split("/")[0] if deployments else replies.MODEL_IDS[0]


def pacing_for(request: Request, default: Pacing) -> Pacing:
    chunks = request.headers.get("x-mock-chunks")
    delay_ms = request.headers.get("x-mock-delay-ms")
    return Pacing(
        chunks=max(0, int(chunks)) if chunks else default.chunks,
        delay_ms=max(0.0, float(delay_ms)) if delay_ms else default.delay_ms,
    )


def json_reply(status: int, payload: Any, headers: list[tuple[str, str]] | None = None) -> Reply:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return Reply(status, [*JSON_HEADERS, *(headers or [])], body)


def error_reply(request: Request, status: int, message: str) -> Reply:
    """An error body in the dialect of the endpoint that was asked."""
    if speaks_anthropic(request, classify(request)):
        return json_reply(status, replies.anthropic_error(status, message))
    return json_reply(status, replies.openai_error(status, message))


def paced_parts(
    head: bytes, deltas: tuple[bytes, ...], tail: bytes, delay_ms: float
) -> list[tuple[float, bytes]]:
    """Head and first delta at once, then one delta every delay_ms, then the tail at once."""
    wait = delay_ms / 1000
    parts = [(0.0, head)]
    parts += [(wait if index else 0.0, delta) for index, delta in enumerate(deltas)]
    parts.append((0.0, tail))
    return parts


@lru_cache(maxsize=256)
def _encoded_answer(endpoint: Endpoint, model: str, keep_alive: bool) -> bytes:
    if endpoint is Endpoint.RESPONSES:
        body = responses_api.default_json(model)
    elif endpoint is Endpoint.CHAT_COMPLETIONS:
        body = json.dumps(replies.openai_completion(model), separators=(",", ":")).encode()
    else:
        body = json.dumps(replies.anthropic_message(model), separators=(",", ":")).encode()
    return whole_response(200, JSON_HEADERS, body, keep_alive=keep_alive)


def _answer(request: Request, endpoint: Endpoint, pacing: Pacing) -> Reply:
    """A chat completion, a message or a response, whole or streamed, for the model asked."""
    model = requested_model(request)
    shape = body_shape(request)
    if not shape.stream:
        return Reply(200, JSON_HEADERS, encoded=_encoded_answer(endpoint, model, request.keep_alive))
    if endpoint is Endpoint.RESPONSES:
        parts = responses_api.default_stream_parts(model, pacing.chunks)
    elif endpoint is Endpoint.CHAT_COMPLETIONS:
        parts = replies.openai_stream_parts(model, pacing.chunks, shape.include_usage)
    else:
        parts = replies.anthropic_stream_parts(model, pacing.chunks)
    return Reply(200, list(SSE_HEADERS), parts=paced_parts(*parts, pacing.delay_ms))


def _shell_round_trip_turn(request: Request, endpoint: Endpoint) -> Reply | None:
    """The scripted agent turn (see ``shell_round_trip``) when the request is part of one."""
    if b"exec_command" not in request.body:  # cheap test first: the benchmark's hot path
        return None
    body = request.json()
    turn = shell_round_trip.turn(body, endpoint.value) if isinstance(body, dict) else None
    if turn is None:
        return None
    if isinstance(turn, bytes):
        return Reply(200, list(JSON_HEADERS), turn)
    return Reply(200, list(SSE_HEADERS), parts=[(0.0, event) for event in turn])


def default_reply(request: Request, pacing: Pacing) -> Reply:
    """What the mock answers when no script entry or rule applies."""
    endpoint = classify(request)
    if endpoint in (Endpoint.CHAT_COMPLETIONS, Endpoint.MESSAGES, Endpoint.RESPONSES):
        agent_turn = _shell_round_trip_turn(request, endpoint)
        return agent_turn or _answer(request, endpoint, pacing_for(request, pacing))
    if endpoint is Endpoint.COUNT_TOKENS:
        return json_reply(200, replies.anthropic_count_tokens())
    if endpoint is Endpoint.MODELS:
        anthropic = speaks_anthropic(request, endpoint)
        return json_reply(200, replies.anthropic_models() if anthropic else replies.openai_models())
    if endpoint is Endpoint.ROOT:
        return json_reply(200, {"mock": "upstream"})
    return error_reply(request, 404, f"no route for {request.method} {request.path}")
