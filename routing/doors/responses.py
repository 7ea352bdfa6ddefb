"""The OpenAI Responses front door: ``/v1/responses``.

Validates the body, then dispatches by the wire format the serving provider speaks
(``RESPONSES_TABLE``). To a provider that speaks the Responses API natively (OpenAI,
Azure's v1 API): a true passthrough, the body unchanged but for ``model`` and the answer
relayed as it comes, its usage read for accounting. To Chat Completions providers and
Anthropic-family ones: the request translated (``routing.translation.responses_request``,
``responses_anthropic_request``), the answer translated back event by event
(``responses_from_chat``, ``responses_from_anthropic``). Stored state is not kept:
``previous_response_id`` is a 400 there (the conversation goes in ``input``), ``store``
is answered as false.
"""

import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from providers.families import HostedTools
from routing.adapters.http import openai_chat_url, provider_quirks
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
from routing.formats import Door, WireFormat, hosted_tools_policy
from routing.relays.core import ByteSource, relay_bytes
from routing.relays.responses import (
    ResponsesTranslator,
    ResponsesUsageSniffer,
    responses_error_event,
    responses_finished,
    responses_usage,
    translated_to_responses,
)
from routing.resolution import Resolution
from routing.translation import ToolNameMap, TranslationError
from routing.translation.openai_tool_names import openai_tool_name_map, sanitized_request
from routing.translation.responses_anthropic_request import responses_to_anthropic_request
from routing.translation.responses_events import ResponsesEventWriter
from routing.translation.responses_from_anthropic import (
    AnthropicToResponsesStream,
    anthropic_to_responses_response,
)
from routing.translation.responses_from_chat import ChatToResponsesStream, chat_to_responses_response
from routing.translation.responses_input import TranslatedRequest
from routing.translation.responses_request import responses_to_chat_request
from routing.upstreams.anthropic_messages import open_anthropic_messages
from routing.upstreams.chat_completions import CompletionAsStream, anthropic_message_from, read_completion
from routing.upstreams.responses import open_responses, response_object_from

logger = logging.getLogger(__name__)

# Names the hosted tools (web_search …) left out because the serving provider cannot run them.
DROPPED_TOOLS_HEADER = "x-vandamme-dropped-tools"
# The request in one provider dialect: (the client's body, the resolution, refuse hosted tools).
Translate = Callable[[dict[str, Any], Resolution, bool], TranslatedRequest]


def validate_responses_body(body: dict[str, Any]) -> None:
    """What every provider needs; the items themselves are the provider's (or the
    translation's) to judge."""
    require_model(body)
    items = body.get("input")
    if not isinstance(items, str | list):
        raise invalid_request("input: field required (a string or a list of items)", param="input")
    if isinstance(items, list):
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                raise invalid_request(f"input.{index}: must be an object", param=f"input.{index}")
    instructions = body.get("instructions")
    if instructions is not None and not isinstance(instructions, str):
        raise invalid_request("instructions: must be a string", param="instructions")
    if "stream" in body and not isinstance(body["stream"], bool | None):
        raise invalid_request("stream: must be a boolean", param="stream")


async def proxy_responses(call: ProxyCall) -> HttpResponseBase:
    return await serve_with_fallbacks(call, _dispatch, validate=validate_responses_body)


async def _responses_passthrough(call: ProxyCall, resolution: Resolution) -> HttpResponseBase:
    """A true passthrough: the body unchanged but for the model, the answer relayed as is."""
    body = {**call.body, "model": resolution.upstream_model}
    source, status, content_type = await open_responses(call, resolution, body, stream=call.streamed)
    headers = served_by(resolution)
    if call.streamed:
        watch = call.watch_stream(resolution)
        sniffer = ResponsesUsageSniffer()
        relay = relay_bytes(
            source,
            error_event=responses_error_event,
            sniffer=sniffer,
            finished=responses_finished,
            on_complete=lambda usage, ended: watch(usage, *sniffer.outcome(ended)),
            secrets=provider_secrets(resolution),
        )
        return StreamingHttpResponse(
            watch.relay(relay), content_type="text/event-stream", headers={**SSE_HEADERS, **headers}
        )
    try:
        content = await source.aread()
    finally:
        await source.aclose()
    response = response_object_from(content, resolution)  # never an error relayed as a 200
    call.record(resolution, status, responses_usage(response.get("usage")), streamed=False)
    return HttpResponse(content, status=status, content_type=content_type, headers=headers)


def _translated(call: ProxyCall, resolution: Resolution, translate: Translate) -> TranslatedRequest:
    """The request in the provider's dialect; hosted tools it cannot run dropped (logged,
    and named in the answer's headers) or refused with a 400, as the team or provider says."""
    refuse = hosted_tools_policy(resolution.provider, call.auth.team) == HostedTools.REFUSE
    try:
        translated = translate(call.body, resolution, refuse)
    except TranslationError as exc:
        raise invalid_request(str(exc), param=exc.field) from exc
    if translated.dropped_hosted_tools:
        logger.info(
            "responses: dropped hosted tools %s that provider '%s' cannot run",
            ", ".join(translated.dropped_hosted_tools),
            resolution.provider.name,
        )
    return translated


def _headers(resolution: Resolution, translated: TranslatedRequest) -> dict[str, str]:
    headers = served_by(resolution)
    if translated.dropped_hosted_tools:
        headers[DROPPED_TOOLS_HEADER] = ", ".join(translated.dropped_hosted_tools)
    return headers


def _translated_stream(
    call: ProxyCall,
    resolution: Resolution,
    source: ByteSource,
    translator: ResponsesTranslator,
    headers: dict[str, str],
) -> StreamingHttpResponse:
    watch = call.watch_stream(resolution)
    events = translated_to_responses(
        source, translator, secrets=provider_secrets(resolution), on_complete=watch
    )
    return StreamingHttpResponse(
        watch.relay(events), content_type="text/event-stream", headers={**SSE_HEADERS, **headers}
    )


def _to_chat(body: dict[str, Any], resolution: Resolution, refuse: bool) -> TranslatedRequest:
    return responses_to_chat_request(
        body,
        upstream_model=resolution.upstream_model,
        quirks=provider_quirks(resolution.provider),
        refuse_hosted_tools=refuse,
    )


def _to_anthropic(body: dict[str, Any], resolution: Resolution, refuse: bool) -> TranslatedRequest:
    return responses_to_anthropic_request(
        body,
        upstream_model=resolution.upstream_model,
        default_max_tokens=settings.VANDAMME_DEFAULT_MAX_TOKENS,
        refuse_hosted_tools=refuse,
    )


async def _responses_to_chat(call: ProxyCall, resolution: Resolution) -> HttpResponseBase:
    """Translated to Chat Completions and back (DeepSeek, Ollama, Gemini, OpenRouter …)."""
    provider = resolution.provider
    translated = _translated(call, resolution, _to_chat)
    body, upstream_names = translated.body, ToolNameMap()
    if provider.tool_name_sanitization:
        upstream_names = openai_tool_name_map(body, sanitize=True)
        body, _ = sanitized_request(body, upstream_names)
    url = openai_chat_url(provider, resolution.upstream_model)
    opened = await post_upstream(call, resolution, url=url, body=body, stream=call.streamed)
    source: ByteSource = opened.response
    writer = ResponsesEventWriter(request=call.body, client_model=call.body["model"])
    headers = _headers(resolution, translated)
    translator = ChatToResponsesStream(
        writer=writer, tool_names=translated.tool_names, upstream_names=upstream_names
    )
    if call.streamed and not is_json_media_type(opened.response.headers.get("content-type", "")):
        return _translated_stream(call, resolution, source, translator, headers)
    # A whole answer, or JSON where a stream was asked for: an error (raised), or a completion.
    completion = await read_completion(source, resolution)
    if call.streamed:
        return _translated_stream(call, resolution, CompletionAsStream(completion), translator, headers)
    response = chat_to_responses_response(
        completion, writer=writer, tool_names=translated.tool_names, upstream_names=upstream_names
    )
    call.record(resolution, 200, responses_usage(response.get("usage")), streamed=False)
    return json_response(response, headers=headers)


async def _responses_to_anthropic(call: ProxyCall, resolution: Resolution) -> HttpResponseBase:
    """Translated to Anthropic Messages and back (Anthropic, Bedrock, Vertex); thinking
    blocks and their signatures ride in ``reasoning`` items' ``encrypted_content``."""
    translated = _translated(call, resolution, _to_anthropic)
    source, status, _ = await open_anthropic_messages(call, resolution, translated.body, stream=call.streamed)
    writer = ResponsesEventWriter(request=call.body, client_model=call.body["model"])
    headers = _headers(resolution, translated)
    if call.streamed:
        translator = AnthropicToResponsesStream(writer=writer, tool_names=translated.tool_names)
        return _translated_stream(call, resolution, source, translator, headers)
    try:
        message = anthropic_message_from(await source.aread(), resolution)
    finally:
        await source.aclose()
    response = anthropic_to_responses_response(message, writer=writer, tool_names=translated.tool_names)
    call.record(resolution, status, message.get("usage"), streamed=False)
    return json_response(response, headers=headers)


# THE TABLE of this door: the wire format the serving provider speaks -> its handler.
RESPONSES_TABLE: DoorTable = {
    WireFormat.RESPONSES: _responses_passthrough,
    WireFormat.CHAT_COMPLETIONS: _responses_to_chat,
    WireFormat.ANTHROPIC_MESSAGES: _responses_to_anthropic,
}
_dispatch = table_dispatch(Door.RESPONSES, RESPONSES_TABLE)
