"""Sending an Anthropic Messages body to a provider that speaks Anthropic's dialect.

Both front doors come here when the serving provider is Anthropic-family: Anthropic
itself, AWS Bedrock or Google Vertex AI. The Anthropic door relays the answer as it
is, the OpenAI door translates it. What the caller gets back is a byte source
(``routing.relays.core.ByteSource``): ``aiter_raw()`` yields a streamed answer as
Anthropic SSE bytes and ``aread()`` a whole answer as Anthropic JSON, whatever the
provider's own wire format (Bedrock streams AWS event-stream frames, decoded here as
they arrive); ``aclose()`` releases the upstream connection.

A stream that ends in an error (a Bedrock exception frame, an ``error`` event) is
relayed as the error event it is; the byte source also keeps it as ``failure``, so the
call is accounted with the status the error stands for (429 for a throttle), not 200.

Per format: the URL, the body (``routing.adapters.bedrock`` / ``vertex``), and the
authentication (``routing.authorizers``, applied per attempt by ``routing.failover``).
"""

import json
import logging
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import Any

import httpx

from providers.families import ApiFormat
from routing.adapters import bedrock, vertex
from routing.adapters.http import anthropic_count_tokens_url, anthropic_messages_url
from routing.adapters.openai_answers import is_json_media_type
from routing.calls import ProxyCall, compact_json, post_upstream, provider_secrets
from routing.errors import (
    GatewayError,
    map_upstream_status,
    scrub_secrets,
    status_for_anthropic_type,
    upstream_error_message,
)
from routing.relays.core import CLIENT_CLOSED, ByteSource
from routing.resolution import Resolution
from routing.sse import SSEDecoder

logger = logging.getLogger(__name__)

SSE = "text/event-stream"
# A count the provider cannot make (Bedrock rejects models without counting support
# with a 400): the caller falls back to the local estimate instead of failing.
COUNT_UNSUPPORTED_STATUSES = frozenset({400, 404})


@dataclass(frozen=True)
class StreamFailure:
    """The error event a stream ended with: the status it stands for, and its message."""

    status: int
    message: str


_ERROR_MARKERS = (b"event: error", b"event:error")
_MARKER_TAIL = len(_ERROR_MARKERS[0])


class ErrorWatch:
    """Finds the ``error`` event in Anthropic SSE bytes as they pass, without decoding the
    rest: bytes are only searched for the event name (a tail is kept across chunks), and
    decoded from there on."""

    def __init__(self) -> None:
        self.failure: StreamFailure | None = None
        self._tail = b""
        self._decoder: SSEDecoder | None = None

    def feed(self, chunk: bytes) -> None:
        if self.failure is not None:
            return
        if self._decoder is None:
            data = self._tail + chunk
            start = min((i for i in (data.find(m) for m in _ERROR_MARKERS) if i >= 0), default=-1)
            if start < 0:
                self._tail = data[-_MARKER_TAIL:]
                return
            self._decoder, chunk = SSEDecoder(), data[start:]
        for event in self._decoder.feed(chunk):
            if event.event == "error":
                self.failure = _failure_of(event.data)
                return


def _failure_of(data: str) -> StreamFailure:
    try:
        payload = json.loads(data)
    except ValueError:
        payload = None
    error = payload.get("error") if isinstance(payload, dict) else None
    error = error if isinstance(error, dict) else {}
    status = map_upstream_status(status_for_anthropic_type(error.get("type")))
    return StreamFailure(status, str(error.get("message") or "upstream error event"))


class AnthropicEventStream:
    """A byte source over an Anthropic SSE answer (Anthropic, Vertex), relayed as it is,
    that notes the error event it may end with (``failure``)."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self._watch = ErrorWatch()

    @property
    def failure(self) -> StreamFailure | None:
        return self._watch.failure

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        async for chunk in self._response.aiter_raw():
            self._watch.feed(chunk)
            yield chunk

    async def aread(self) -> bytes:
        return await self._response.aread()

    async def aclose(self) -> None:
        await self._response.aclose()


class BedrockEventStream:
    """A byte source over Bedrock's event-stream answer that yields Anthropic SSE, and
    notes the exception it may end with (``failure``)."""

    def __init__(self, response: httpx.Response) -> None:
        self._response = response
        self.failure: StreamFailure | None = None

    async def aiter_raw(self) -> AsyncIterator[bytes]:
        transcoder = bedrock.EventStreamTranscoder()
        async for chunk in self._response.aiter_raw():
            decoded = transcoder.feed(chunk)
            if transcoder.ended:  # an exception frame ended the answer
                watch = ErrorWatch()
                watch.feed(decoded)
                self.failure = watch.failure
            if decoded:
                yield decoded
            if transcoder.ended:
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
    if provider.api_format == ApiFormat.BEDROCK:
        beta = call.client_headers.get("anthropic-beta")
        return bedrock.invoke_url(provider, model, stream=stream), bedrock.invoke_body(body, beta_header=beta)
    if provider.api_format == ApiFormat.VERTEX:
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
    content_type = response.headers.get("content-type", "application/json")
    if stream and is_json_media_type(content_type):
        await _refuse_json_stream(response, resolution)
    if stream and resolution.provider.api_format == ApiFormat.BEDROCK:
        return BedrockEventStream(response), response.status_code, SSE
    if stream:
        return AnthropicEventStream(response), response.status_code, content_type
    return response, response.status_code, content_type


async def _refuse_json_stream(response: httpx.Response, resolution: Resolution) -> None:
    """JSON where a stream was asked for: relayed, the client would read an empty stream.
    Raised as the error it carries (502)."""
    try:
        raw = await response.aread()
    except httpx.HTTPError:
        raw = b""
    finally:
        await response.aclose()
    detail = scrub_secrets(upstream_error_message(raw), provider_secrets(resolution))
    raise GatewayError(
        502,
        f"upstream provider '{resolution.provider.name}' answered a streamed request with JSON, "
        f"not an event stream: {detail[:300]}",
    )


def stream_outcome(source: ByteSource, status: int) -> tuple[int, str]:
    """The status and error a finished stream is accounted with: the relay's, unless the
    stream ended in an error event (``failure`` of the byte sources above)."""
    failure: StreamFailure | None = getattr(source, "failure", None)
    if failure is None or status == CLIENT_CLOSED:
        return status, ""
    return failure.status, failure.message


def _count_request(
    call: ProxyCall, resolution: Resolution, body: Mapping[str, Any]
) -> tuple[str, dict[str, Any]]:
    provider, model = resolution.provider, resolution.upstream_model
    if provider.api_format == ApiFormat.BEDROCK:
        beta = call.client_headers.get("anthropic-beta")
        return bedrock.count_tokens_url(provider, model), bedrock.count_tokens_body(body, beta_header=beta)
    if provider.api_format == ApiFormat.VERTEX:
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
        if resolution.provider.api_format == ApiFormat.BEDROCK and error.status in COUNT_UNSUPPORTED_STATUSES:
            logger.info(
                "bedrock cannot count tokens for %s: %s",
                call.shown_model(resolution.upstream_model),
                error.message,
            )
            return None
        raise
    try:
        content = await opened.response.aread()
    finally:
        await opened.response.aclose()
    if resolution.provider.api_format != ApiFormat.BEDROCK:
        return content
    try:
        count = bedrock.anthropic_count(json.loads(content))
    except ValueError:
        count = None
    if count is None:
        provider = resolution.provider.name
        raise GatewayError(502, f"upstream provider '{provider}' returned an unreadable count")
    return compact_json(count)
