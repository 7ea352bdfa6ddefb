"""The Anthropic front door's orchestration: resolve → open upstream → translate → respond.

The only module that ties routing, failover and translation together for
``/v1/messages`` and ``/v1/messages/count_tokens``.
"""

import json
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse
from django.http.response import HttpResponseBase

from routing.access import check_team_access
from routing.adapters.http import (
    anthropic_count_tokens_url,
    anthropic_messages_url,
    base_headers,
    openai_chat_url,
)
from routing.auth import ClientAuth
from routing.errors import GatewayError, invalid_request
from routing.failover import OpenedUpstream, UpstreamRequest, open_upstream
from routing.resolution import Resolution, resolve_model
from routing.streams import StreamDone, anthropic_error_event, openai_to_anthropic_events, relay_bytes
from routing.table import RoutingTable
from routing.token_count import count_request_tokens
from routing.translation import (
    OpenAIToAnthropicStream,
    TranslationError,
    anthropic_to_openai_request,
    build_tool_name_map,
    openai_to_anthropic_response,
)
from routing.usage import UsageEvent, usage_recorder

logger = logging.getLogger(__name__)

SSE_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}


@dataclass
class MessagesCall:
    body: dict[str, Any]
    client_headers: Mapping[str, str]
    auth: ClientAuth = field(repr=False)
    table: RoutingTable = field(repr=False)
    started: float = field(default_factory=time.perf_counter)

    def record(
        self, resolution: Resolution | None, status: int, usage: Mapping[str, Any] | None, *, streamed: bool
    ) -> None:
        """Account for this request once it has an outcome (buffered; no I/O here)."""
        usage = usage or {}
        team = self.auth.team
        usage_recorder.record(
            UsageEvent(
                provider=resolution.provider.name if resolution else "",
                model_requested=str(self.body.get("model", ""))[:300],
                model_served=resolution.upstream_model[:300] if resolution else "",
                status=status,
                latency_ms=int((time.perf_counter() - self.started) * 1000),
                streamed=streamed,
                input_tokens=int(usage.get("input_tokens") or 0),
                output_tokens=int(usage.get("output_tokens") or 0),
                cached_tokens=int(usage.get("cache_read_input_tokens") or 0),
                team_id=team.team_id if team else None,
                team_name=team.name if team else "",
                key_prefix=self.auth.key_prefix or "",
                key_id=self.auth.key_id,
            )
        )

    def stream_recorder(self, resolution: Resolution) -> StreamDone:
        return lambda usage, status: self.record(resolution, status, usage, streamed=True)

    def resolve(self, name: str) -> Resolution:
        """Resolve with the team's aliases, then check the team may use the result."""
        team = self.auth.team
        resolution = resolve_model(name, self.table, team.aliases if team else None)
        check_team_access(team, name, resolution)
        return resolution


def json_response(
    payload: object, status: int = 200, headers: Mapping[str, str] | None = None
) -> HttpResponse:
    return HttpResponse(
        _compact_json(payload), status=status, content_type="application/json", headers=headers
    )


def _require_model(body: dict[str, Any]) -> str:
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise invalid_request("model: field required (a non-empty string)")
    return model


def validate_messages_body(body: dict[str, Any], *, count_only: bool = False) -> None:
    _require_model(body)
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
            raise invalid_request(f"messages.{index}.role: must be 'user' or 'assistant'")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise invalid_request("stream: must be a boolean")


def _served_by(resolution: Resolution) -> dict[str, str]:
    return {"x-vandamme-provider": resolution.provider.name, "x-vandamme-model": resolution.upstream_model}


def _compact_json(payload: object) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


async def _post_upstream(
    call: MessagesCall, resolution: Resolution, *, url: str, body: object, stream: bool
) -> OpenedUpstream:
    provider = resolution.provider
    return await open_upstream(
        UpstreamRequest(
            provider=provider,
            method="POST",
            url=url,
            body=_compact_json(body),
            headers=base_headers(provider, call.client_headers, stream=stream),
            client_key=call.auth.forwardable_key,
        )
    )


# Failures worth trying a fallback target for: the target, not the request, is at fault.
FALLBACK_STATUSES = frozenset({408, 429, 500, 502, 503, 504, 529})


async def proxy_messages(call: MessagesCall) -> HttpResponseBase:
    resolution: Resolution | None = None
    streamed = call.body.get("stream") is True
    try:
        validate_messages_body(call.body)
        resolution = call.resolve(_require_model(call.body))
        fallbacks = list(resolution.fallbacks)
        while True:
            try:
                return await _messages_dispatch(call, resolution)
            except GatewayError as error:
                if error.status not in FALLBACK_STATUSES or not fallbacks:
                    raise
                next_target = fallbacks.pop(0)
                logger.warning(
                    "%s:%s failed with %s; falling back to %s",
                    resolution.provider.name,
                    resolution.upstream_model,
                    error.status,
                    next_target,
                )
                resolution = call.resolve(next_target)
    except GatewayError as error:
        call.record(resolution, error.status, None, streamed=streamed)
        raise


async def _messages_dispatch(call: MessagesCall, resolution: Resolution) -> HttpResponseBase:
    api_format = resolution.provider.api_format
    if api_format == "anthropic":
        return await _messages_to_anthropic(call, resolution)
    if api_format == "openai":
        return await _messages_to_openai(call, resolution)
    raise GatewayError(
        400, f"provider '{resolution.provider.name}' has api_format '{api_format}', not served here"
    )


async def _messages_to_anthropic(call: MessagesCall, resolution: Resolution) -> HttpResponseBase:
    provider = resolution.provider
    stream = bool(call.body.get("stream"))
    body = {**call.body, "model": resolution.upstream_model}
    opened = await _post_upstream(
        call, resolution, url=anthropic_messages_url(provider), body=body, stream=stream
    )
    response = opened.response
    headers = _served_by(resolution)
    if stream:
        relay = relay_bytes(
            response, error_event=anthropic_error_event, on_complete=call.stream_recorder(resolution)
        )
        return StreamingHttpResponse(
            relay, content_type="text/event-stream", headers={**SSE_HEADERS, **headers}
        )
    content = await response.aread()
    await response.aclose()
    call.record(resolution, response.status_code, _usage_of(content), streamed=False)
    content_type = response.headers.get("content-type", "application/json")
    return HttpResponse(content, status=response.status_code, content_type=content_type, headers=headers)


async def _messages_to_openai(call: MessagesCall, resolution: Resolution) -> HttpResponseBase:
    provider = resolution.provider
    stream = bool(call.body.get("stream"))
    tool_names = build_tool_name_map(call.body.get("tools") or [], sanitize=provider.tool_name_sanitization)
    try:
        openai_body = anthropic_to_openai_request(
            call.body, upstream_model=resolution.upstream_model, tool_names=tool_names
        )
    except TranslationError as exc:
        raise invalid_request(str(exc)) from exc
    opened = await _post_upstream(
        call,
        resolution,
        url=openai_chat_url(provider, resolution.upstream_model),
        body=openai_body,
        stream=stream,
    )
    headers = _served_by(resolution)
    client_model = call.body["model"]
    if stream:
        requested_stops = call.body.get("stop_sequences")
        translator = OpenAIToAnthropicStream(
            client_model=client_model,
            tool_names=tool_names,
            stop_sequences=requested_stops if isinstance(requested_stops, list) else None,
        )
        events = openai_to_anthropic_events(
            opened.response,
            translator,
            secrets=provider_secrets(resolution),
            on_complete=call.stream_recorder(resolution),
        )
        return StreamingHttpResponse(
            events, content_type="text/event-stream", headers={**SSE_HEADERS, **headers}
        )
    raw = await opened.response.aread()
    await opened.response.aclose()
    try:
        upstream_json = json.loads(raw)
    except ValueError as exc:
        raise GatewayError(502, f"upstream provider '{provider.name}' returned invalid JSON") from exc
    stop_sequences = call.body.get("stop_sequences")
    message = openai_to_anthropic_response(
        upstream_json,
        client_model=client_model,
        tool_names=tool_names,
        stop_sequences=stop_sequences if isinstance(stop_sequences, list) else None,
    )
    call.record(resolution, 200, message.get("usage"), streamed=False)
    return json_response(message, headers=headers)


def _usage_of(content: bytes) -> dict[str, Any] | None:
    try:
        usage = json.loads(content).get("usage")
    except (ValueError, AttributeError):
        return None
    return usage if isinstance(usage, dict) else None


def provider_secrets(resolution: Resolution) -> tuple[str, ...]:
    return tuple(key.secret for key in resolution.provider.keys)


async def proxy_count_tokens(call: MessagesCall) -> HttpResponseBase:
    validate_messages_body(call.body, count_only=True)
    resolution = call.resolve(_require_model(call.body))
    provider = resolution.provider
    if provider.api_format != "anthropic":
        # A local estimate: OpenAI-format APIs have no count endpoint, and a completion
        # call to learn the count would be billed.
        return json_response(
            {"input_tokens": count_request_tokens(call.body)}, headers=_served_by(resolution)
        )
    body = {**call.body, "model": resolution.upstream_model}
    body.pop("max_tokens", None)
    body.pop("stream", None)
    opened = await _post_upstream(
        call, resolution, url=anthropic_count_tokens_url(provider), body=body, stream=False
    )
    content = await opened.response.aread()
    await opened.response.aclose()
    return HttpResponse(content, content_type="application/json", headers=_served_by(resolution))
