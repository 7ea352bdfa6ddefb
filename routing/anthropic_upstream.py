"""Sending an Anthropic Messages body to a provider that speaks Anthropic's dialect.

Both front doors come here when the serving provider is Anthropic-family: Anthropic
itself, AWS Bedrock or Google Vertex AI. The Anthropic door relays the answer as it
is, the OpenAI door translates it. What the caller gets back is a byte source
(``routing.streams.ByteSource``): ``aiter_raw()`` yields a streamed answer as
Anthropic SSE bytes and ``aread()`` a whole answer as Anthropic JSON, whatever the
provider's own wire format (Bedrock streams AWS event-stream frames, decoded here as
they arrive); ``aclose()`` releases the upstream connection.

Per format: the URL, the body (``routing.adapters.bedrock`` / ``vertex``), and the
authentication (``routing.authorizers``, applied per attempt by ``routing.failover``).
"""

import json
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx

from providers.endpoints import BEDROCK, VERTEX
from routing.adapters import bedrock, vertex
from routing.adapters.http import anthropic_count_tokens_url, anthropic_messages_url
from routing.calls import ProxyCall, compact_json, post_upstream
from routing.errors import GatewayError
from routing.resolution import Resolution
from routing.streams import ByteSource

logger = logging.getLogger(__name__)

ANTHROPIC = "anthropic"
ANTHROPIC_FAMILY = frozenset({ANTHROPIC, BEDROCK, VERTEX})
SSE = "text/event-stream"
# A count the provider cannot make (Bedrock rejects models without counting support
# with a 400): the caller falls back to the local estimate instead of failing.
COUNT_UNSUPPORTED_STATUSES = frozenset({400, 404})


def is_anthropic_family(api_format: str) -> bool:
    """Providers that take Anthropic Messages bodies (possibly on another wire)."""
    return api_format in ANTHROPIC_FAMILY


class BedrockEventStream:
    """A byte source over Bedrock's event-stream answer that yields Anthropic SSE."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        transcoder = bedrock.EventStreamTranscoder()
        async for chunk in self._response.aiter_raw():
            decoded = transcoder.feed(chunk)
            if decoded:
                yield decoded
            if transcoder.ended:  # an exception frame ended the answer
                return

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_raw()])

    async def aclose(self) -> None:
        await self._response.aclose()


def _messages_request(
    call: ProxyCall, resolution: Resolution, body: Mapping[str, Any], *, stream: bool
) -> tuple[str, dict[str, Any]]:
    """URL and body for this provider's format."""
    provider, model = resolution.provider, resolution.upstream_model
    if provider.api_format == BEDROCK:
        beta = call.client_headers.get("anthropic-beta")
        return bedrock.invoke_url(provider, model, stream=stream), bedrock.invoke_body(body, beta_header=beta)
    if provider.api_format == VERTEX:
        return vertex.predict_url(provider, model, stream=stream), vertex.predict_body(body)
    return anthropic_messages_url(provider), {**body, "model": model}


async def open_anthropic_messages(
    call: ProxyCall, resolution: Resolution, body: dict[str, object], *, stream: bool
) -> tuple[ByteSource, int, str]:
    """Open the upstream answer to ``body`` (its ``model`` replaced by the upstream id).

    Returns the byte source, the upstream status and its content type. Errors before
    the first byte (after key rotation and retries) raise ``GatewayError``.
    """
    url, outgoing = _messages_request(call, resolution, body, stream=stream)
    opened = await post_upstream(call, resolution, url=url, body=outgoing, stream=stream)
    response = opened.response
    if stream and resolution.provider.api_format == BEDROCK:
        return BedrockEventStream(response), response.status_code, SSE
    return response, response.status_code, response.headers.get("content-type", "application/json")


def _count_request(
    call: ProxyCall, resolution: Resolution, body: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    provider, model = resolution.provider, resolution.upstream_model
    if provider.api_format == BEDROCK:
        beta = call.client_headers.get("anthropic-beta")
        return bedrock.count_tokens_url(provider, model), bedrock.count_tokens_body(body, beta_header=beta)
    if provider.api_format == VERTEX:
        return vertex.count_tokens_url(provider), vertex.count_tokens_body(body, model=model)
    return anthropic_count_tokens_url(provider), {**body, "model": model}


async def count_anthropic_tokens(call: ProxyCall, resolution: Resolution) -> bytes | None:
    """The provider's own count as Anthropic JSON (``{"input_tokens": N}``), or None when
    it cannot count this request (the caller then estimates locally)."""
    body = {key: value for key, value in call.body.items() if key not in ("max_tokens", "stream")}
    url, outgoing = _count_request(call, resolution, body)
    try:
        opened = await post_upstream(call, resolution, url=url, body=outgoing, stream=False)
    except GatewayError as error:
        if resolution.provider.api_format == BEDROCK and error.status in COUNT_UNSUPPORTED_STATUSES:
            logger.info("bedrock cannot count tokens for %s: %s", resolution.upstream_model, error.message)
            return None
        raise
    try:
        content = await opened.response.aread()
    finally:
        await opened.response.aclose()
    if resolution.provider.api_format != BEDROCK:
        return content
    try:
        count = bedrock.anthropic_count(json.loads(content))
    except ValueError:
        count = None
    if count is None:
        provider = resolution.provider.name
        raise GatewayError(502, f"upstream provider '{provider}' returned an unreadable count")
    return compact_json(count)
