"""The Anthropic front door: ``/v1/messages`` and ``/v1/messages/count_tokens``.

Validates the body, then dispatches by the wire format the serving provider speaks
(``MESSAGES_TABLE``): a true passthrough to Anthropic Messages providers (Anthropic,
Bedrock, Vertex), translation to Chat Completions ones.
"""

import logging
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from routing.adapters.http import messages_door_quirks, openai_chat_url
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
from routing.errors import (
    GatewayError,
    invalid_request,
)
from routing.formats import Door, WireFormat, upstream_wire
from routing.relays.core import ByteSource, relay_bytes
from routing.relays.messages import (
    AnthropicUsageSniffer,
    anthropic_error_event,
    anthropic_finished,
    openai_to_anthropic_events,
)
from routing.resolution import Resolution
from routing.token_count import TooLongToCount
from routing.token_worker import token_worker
from routing.translation import (
    OpenAIToAnthropicStream,
    ProviderQuirks,
    ToolNameMap,
    TranslationError,
    accounted_usage,
    anthropic_to_openai_request,
    openai_to_anthropic_response,
)
from routing.upstreams.anthropic_messages import (
    count_anthropic_tokens,
    open_anthropic_messages,
    stream_outcome,
)
from routing.upstreams.chat_completions import CompletionAsStream, anthropic_message_from, read_completion

logger = logging.getLogger(__name__)


def validate_messages_body(body: dict[str, Any], *, count_only: bool = False) -> None:
    require_model(body)
    if not count_only:
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
            raise invalid_request("max_tokens: field required (an integer)")
        if max_tokens < 1:
            raise invalid_request("max_tokens: must be at least 1")
    messages = body.get("messages")
    if not isinstance(messages, list):
        raise invalid_request("messages: field required (a list)")
    for index, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ("user", "assistant", "system"):
            raise invalid_request(f"messages.{index}.role: must be 'user', 'assistant' or 'system'")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid_request("stream: must be a boolean")


async def proxy_messages(call: ProxyCall) -> HttpResponseBase:
    return await serve_with_fallbacks(call, _dispatch, validate=validate_messages_body)


async def _messages_to_anthropic(call: ProxyCall, resolution: Resolution) -> HttpResponseBase:
    """A true passthrough: the body unchanged but for the model, the answer relayed as is."""
    stream = call.streamed
    source, status, content_type = await open_anthropic_messages(call, resolution, call.body, stream=stream)
    headers = served_by(resolution)
    if stream:
        watch = call.watch_stream(resolution)
        relay = relay_bytes(
            source,
            error_event=anthropic_error_event,
            sniffer=AnthropicUsageSniffer(),
            finished=anthropic_finished,
            on_complete=lambda usage, ended: watch(usage, *stream_outcome(source, ended)),
            secrets=provider_secrets(resolution),
        )
        return StreamingHttpResponse(
            watch.relay(relay), content_type="text/event-stream", headers={**SSE_HEADERS, **headers}
        )
    try:
        content = await source.aread()
    finally:
        await source.aclose()
    message = anthropic_message_from(content, resolution)  # never an empty answer relayed
    usage = message.get("usage")
    call.record(resolution, status, usage if isinstance(usage, dict) else None, streamed=False)
    return HttpResponse(content, status=status, content_type=content_type, headers=headers)


async def _messages_to_openai(call: ProxyCall, resolution: Resolution) -> HttpResponseBase:
    provider = resolution.provider
    stream = bool(call.body.get("stream"))
    tool_names = ToolNameMap()  # restricted names: built-in middleware (routing.middleware.tool_names)
    quirks = messages_door_quirks(provider)
    try:
        openai_body = anthropic_to_openai_request(
            call.body,
            upstream_model=resolution.upstream_model,
            tool_names=tool_names,
            quirks=quirks,
        )
    except TranslationError as exc:
        raise invalid_request(str(exc)) from exc
    opened = await post_upstream(
        call,
        resolution,
        url=openai_chat_url(provider, resolution.upstream_model),
        body=openai_body,
        stream=stream,
    )
    response = opened.response
    if stream and not is_json_media_type(response.headers.get("content-type", "")):
        return _anthropic_stream(call, resolution, response, tool_names, quirks)
    # A whole answer, or JSON where a stream was asked for: an error, or a completion.
    completion = await read_completion(response, resolution)
    if stream:
        return _anthropic_stream(call, resolution, CompletionAsStream(completion), tool_names, quirks)
    stop_sequences = call.body.get("stop_sequences")
    message = openai_to_anthropic_response(
        completion,
        client_model=call.body["model"],
        tool_names=tool_names,
        stop_sequences=stop_sequences if isinstance(stop_sequences, list) else None,
        quirks=quirks,
    )
    # Accounted from the upstream's usage (cache writes, reasoning the message omits).
    call.record(resolution, 200, accounted_usage(completion.get("usage")), streamed=False)
    return json_response(message, headers=served_by(resolution))


def _anthropic_stream(
    call: ProxyCall,
    resolution: Resolution,
    source: ByteSource,
    tool_names: ToolNameMap,
    quirks: ProviderQuirks,
) -> StreamingHttpResponse:
    requested_stops = call.body.get("stop_sequences")
    translator = OpenAIToAnthropicStream(
        client_model=call.body["model"],
        tool_names=tool_names,
        stop_sequences=requested_stops if isinstance(requested_stops, list) else None,
        quirks=quirks,
    )
    watch = call.watch_stream(resolution)
    events = openai_to_anthropic_events(
        source, translator, secrets=provider_secrets(resolution), on_complete=watch
    )
    return StreamingHttpResponse(
        watch.relay(events),
        content_type="text/event-stream",
        headers={**SSE_HEADERS, **served_by(resolution)},
    )


async def proxy_count_tokens(call: ProxyCall) -> HttpResponseBase:
    validate_messages_body(call.body, count_only=True)
    resolution = call.resolve(require_model(call.body))
    provider = resolution.provider
    # OpenAI-format APIs have no count endpoint, and a completion call to learn the
    # count would be billed; Anthropic-family ones count, where the model allows it.
    content = None
    if upstream_wire(Door.MESSAGES, provider) == WireFormat.ANTHROPIC_MESSAGES:
        content = await count_anthropic_tokens(call, resolution)
    if content is None:
        try:
            tokens = await token_worker.count(call.body)
        except TooLongToCount as exc:
            raise GatewayError(413, f"{exc} (provider '{provider.name}' has no count endpoint)") from exc
        return json_response({"input_tokens": tokens}, headers=served_by(resolution))
    return HttpResponse(content, content_type="application/json", headers=served_by(resolution))


# THE TABLE of this door: the wire format the serving provider speaks -> its handler.
MESSAGES_TABLE: DoorTable = {
    WireFormat.ANTHROPIC_MESSAGES: _messages_to_anthropic,
    WireFormat.CHAT_COMPLETIONS: _messages_to_openai,
}
_dispatch = table_dispatch(Door.MESSAGES, MESSAGES_TABLE)
