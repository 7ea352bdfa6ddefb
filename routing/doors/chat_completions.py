"""The OpenAI front door: ``/v1/chat/completions``.

Validates the body, then dispatches by the wire format the serving provider speaks
(``CHAT_COMPLETIONS_TABLE``): a true passthrough to Chat Completions providers (only
``model`` changes; tool names too where the provider restricts them), translation to
Anthropic Messages ones.
"""

import json
import time
from collections.abc import AsyncIterator
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from routing.adapters.http import openai_chat_url
from routing.adapters.openai_answers import is_json_media_type
from routing.calls import (
    SSE_HEADERS,
    ProxyCall,
    json_response,
    post_upstream,
    provider_secrets,
    require_model,
    serve_with_fallbacks,
    served_by,
)
from routing.doors.dispatch import DoorTable, table_dispatch
from routing.errors import invalid_request
from routing.formats import Door, WireFormat
from routing.relays.chat_completions import (
    OpenAIUsageSniffer,
    anthropic_to_openai_chunks,
    openai_error_chunk,
    openai_finished,
    without_usage_chunk,
)
from routing.relays.core import ByteSource, relay_bytes
from routing.resolution import Resolution
from routing.stream_watch import StreamWatch
from routing.translation import (
    AnthropicToOpenAIStream,
    ToolNameMap,
    TranslationError,
    accounted_usage,
    anthropic_to_openai_response,
    openai_to_anthropic_request,
)
from routing.upstreams.anthropic_messages import open_anthropic_messages, stream_outcome
from routing.upstreams.chat_completions import (
    CompletionAsStream,
    anthropic_message_from,
    completion_from,
    read_completion,
)

CHAT_ROLES = frozenset({"system", "developer", "user", "assistant", "tool", "function"})


def validate_chat_body(body: dict[str, Any]) -> None:
    """What every provider needs; the rest is the provider's (or the translation's) to judge."""
    require_model(body)
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid_request("messages: field required (a non-empty list)", param="messages")
    for index, message in enumerate(messages):
        role = message.get("role") if isinstance(message, dict) else None
        if not isinstance(role, str) or role not in CHAT_ROLES:
            raise invalid_request(
                f"messages.{index}.role: must be one of {', '.join(sorted(CHAT_ROLES))}",
                param=f"messages.{index}.role",
            )
    if "stream" in body and not isinstance(body["stream"], bool | None):
        raise invalid_request("stream: must be a boolean", param="stream")
    options = body.get("stream_options")
    if options is not None and not isinstance(options, dict):
        raise invalid_request("stream_options: must be an object", param="stream_options")


async def proxy_chat_completions(call: ProxyCall) -> HttpResponseBase:
    return await serve_with_fallbacks(call, _dispatch, validate=validate_chat_body)


def _stream_response(watch: StreamWatch, chunks: Any, resolution: Resolution) -> StreamingHttpResponse:
    return StreamingHttpResponse(
        watch.relay(chunks),
        content_type="text/event-stream",
        headers={**SSE_HEADERS, **served_by(resolution)},
    )


def _wants_usage(body: dict[str, Any]) -> bool:
    options = body.get("stream_options")
    return isinstance(options, dict) and options.get("include_usage") is True


async def _chat_to_openai(call: ProxyCall, resolution: Resolution) -> HttpResponseBase:
    """A true passthrough: the body unchanged but for the model, the answer relayed as is
    (tool names a provider restricts: built-in middleware, ``routing.middleware.tool_names``)."""
    provider = resolution.provider
    body = {**call.body, "model": resolution.upstream_model}
    client_wants_usage = _wants_usage(call.body)
    if call.streamed and not client_wants_usage:
        # Ask for usage anyway (accounting, token limits); the chunk is dropped on the way back.
        body["stream_options"] = {**(body.get("stream_options") or {}), "include_usage": True}
    url = openai_chat_url(provider, resolution.upstream_model)
    opened = await post_upstream(call, resolution, url=url, body=body, stream=call.streamed)
    upstream: ByteSource = opened.response
    if call.streamed:
        if is_json_media_type(opened.response.headers.get("content-type", "")):
            # JSON where a stream was asked for: an error (raised), or a whole completion
            # replayed as a one-chunk stream.
            upstream = CompletionAsStream(await read_completion(upstream, resolution))
        watch = call.watch_stream(resolution)
        chunks: AsyncIterator[bytes] = relay_bytes(
            upstream,
            error_event=openai_error_chunk,
            on_complete=watch,
            sniffer=OpenAIUsageSniffer(),
            secrets=provider_secrets(resolution),
            finished=openai_finished,
        )
        if not client_wants_usage:
            chunks = without_usage_chunk(chunks)
        return _stream_response(watch, chunks, resolution)
    content = await _read_whole(upstream)
    status = opened.response.status_code
    # A 200 that carries an error instead of a completion is answered as that error.
    payload = completion_from(content, resolution) if status == HTTPStatus.OK else _json_object(content)
    usage = payload.get("usage") if payload is not None else None
    call.record(
        resolution, status, accounted_usage(usage) if isinstance(usage, dict) else None, streamed=False
    )
    content_type = opened.response.headers.get("content-type", "application/json")
    return HttpResponse(content, status=status, content_type=content_type, headers=served_by(resolution))


async def _read_whole(source: ByteSource) -> bytes:
    try:
        return await source.aread()
    finally:
        await source.aclose()


def _json_object(content: bytes) -> dict[str, Any] | None:
    try:
        parsed = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None
    return parsed if isinstance(parsed, dict) else None


async def _chat_to_anthropic(call: ProxyCall, resolution: Resolution) -> HttpResponseBase:
    tool_names = ToolNameMap()  # restricted names: built-in middleware (routing.middleware.tool_names)
    try:
        body = openai_to_anthropic_request(
            call.body,
            upstream_model=resolution.upstream_model,
            tool_names=tool_names,
            default_max_tokens=settings.VANDAMME_DEFAULT_MAX_TOKENS,
        )
    except TranslationError as exc:
        raise invalid_request(str(exc), param=exc.field) from exc
    source, status, _ = await open_anthropic_messages(call, resolution, body, stream=call.streamed)
    client_model = call.body["model"]
    created = int(time.time())
    if call.streamed:
        translator = AnthropicToOpenAIStream(
            client_model=client_model,
            tool_names=tool_names,
            created=created,
            include_usage=_wants_usage(call.body),
        )
        watch = call.watch_stream(resolution)
        chunks = anthropic_to_openai_chunks(
            source,
            translator,
            secrets=provider_secrets(resolution),
            on_complete=lambda usage, ended: watch(usage, *stream_outcome(source, ended)),
        )
        return _stream_response(watch, chunks, resolution)
    message = anthropic_message_from(await _read_whole(source), resolution)
    completion = anthropic_to_openai_response(
        message, client_model=client_model, tool_names=tool_names, created=created
    )
    call.record(resolution, status, message.get("usage"), streamed=False)
    return json_response(completion, headers=served_by(resolution))


# THE TABLE of this door: the wire format the serving provider speaks -> its handler.
CHAT_COMPLETIONS_TABLE: DoorTable = {
    WireFormat.ANTHROPIC_MESSAGES: _chat_to_anthropic,
    WireFormat.CHAT_COMPLETIONS: _chat_to_openai,
}
_dispatch = table_dispatch(Door.CHAT_COMPLETIONS, CHAT_COMPLETIONS_TABLE)
