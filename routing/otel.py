"""The spans themselves: OpenTelemetry's SDK, imported only when tracing is on
(``routing.tracing`` imports this module from ``configure_tracing``; nothing else may).

A request to a front door is one SERVER span, the child of the client's ``traceparent``
when it sends one (W3C trace context, or whatever ``OTEL_PROPAGATORS`` names), named
``chat {model}`` and carrying the OpenTelemetry GenAI attributes. Its children:
``vandamme.resolution`` (the model name to a provider and model), one CLIENT span
``upstream {provider}`` per upstream attempt (retry number, key fingerprint, fallback
target) and ``time_to_first_token`` (the request's start to the first streamed chunk;
also an event on the request span). Spans go through a batch processor to the OTLP/HTTP
exporter, both configured by the standard ``OTEL_*`` variables (endpoint, headers,
timeout, sampler, resource, batch sizes), and are exported from the processor's thread,
never on the event loop.

No prompt or completion text is recorded unless ``VANDAMME_OTEL_CAPTURE_CONTENT`` is on;
even then it is scrubbed of anything key-shaped and cut at ``CONTENT_MAX_CHARS``.
"""

import asyncio
import contextlib
import json
import logging
import time
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Iterator, Mapping
from contextvars import ContextVar, Token
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http import HttpResponse
from opentelemetry import context, propagate, trace
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter, SpanProcessor
from opentelemetry.trace import SpanKind, Status, StatusCode

from providers.families import ProviderFamily
from routing.errors import scrub_secrets
from routing.failover import OpenedUpstream

if TYPE_CHECKING:
    from routing.request_context import RequestScope
    from routing.resolution import Resolution
    from routing.table import KeyConfig, ProviderConfig
    from routing.usage import UsageEvent

logger = logging.getLogger(__name__)

# The front doors: a request to one of them is a model call, and gets a span.
DOOR_PATHS = frozenset({"/v1/messages", "/v1/chat/completions", "/v1/responses"})
DEFAULT_SERVICE_NAME = "vandamme"
CONTENT_MAX_CHARS = 16_384  # of each recorded text: attributes are not a transcript store
SHUTDOWN_FLUSH_MILLIS = 5_000
# gen_ai.system by provider family: the OpenTelemetry GenAI registry's values where it
# has one, the family's own name otherwise.
GEN_AI_SYSTEMS = {
    ProviderFamily.OPENAI: "openai",
    ProviderFamily.AZURE: "az.ai.openai",
    ProviderFamily.GEMINI: "gcp.gemini",
    ProviderFamily.ANTHROPIC: "anthropic",
    ProviderFamily.BEDROCK: "aws.bedrock",
    ProviderFamily.VERTEX: "gcp.vertex_ai",
    ProviderFamily.DEEPSEEK: "deepseek",
}


@dataclass(slots=True)
class _State:
    tracer: trace.Tracer
    provider: TracerProvider
    capture_content: bool


_state: _State | None = None


def start(environ: Mapping[str, str], exporter: SpanExporter | None = None) -> None:
    """A tracer provider with the OTLP/HTTP exporter behind a batch processor (the
    exporter and the processor read their own ``OTEL_*`` variables; tests hand in
    another exporter)."""
    global _state
    attributes = {} if _names_service(environ) else {"service.name": DEFAULT_SERVICE_NAME}
    # The sampler comes from OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG.
    provider = TracerProvider(resource=Resource.create(attributes))
    processor: SpanProcessor = BatchSpanProcessor(exporter or OTLPSpanExporter())
    provider.add_span_processor(processor)
    _state = _State(
        tracer=provider.get_tracer("vandamme"),
        provider=provider,
        capture_content=bool(settings.VANDAMME_OTEL_CAPTURE_CONTENT),
    )
    protocol = environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
    if protocol and protocol != "http/protobuf":
        logger.warning("OTLP protocol %r is not supported: traces are exported over http/protobuf", protocol)


def _names_service(environ: Mapping[str, str]) -> bool:
    attributes = environ.get("OTEL_RESOURCE_ATTRIBUTES", "")
    return bool(environ.get("OTEL_SERVICE_NAME")) or any(
        part.strip().startswith("service.name=") for part in attributes.split(",")
    )


async def stop() -> None:
    """Export what is queued and stop (the exporter's HTTP calls block: off the loop)."""
    global _state
    state, _state = _state, None
    if state is not None:
        await asyncio.to_thread(state.provider.force_flush, SHUTDOWN_FLUSH_MILLIS)
        await asyncio.to_thread(state.provider.shutdown)


def _live() -> _State:
    assert _state is not None, "routing.otel used before start()"  # noqa: S101  (tracing.py's guard)
    return _state


@dataclass(slots=True, eq=False)
class RequestTrace:
    """One front-door request's span and what its children need to know."""

    span: trace.Span
    started_ns: int
    context_token: Token[context.Context]
    fallback: str = ""  # the fallback target being served, once one is
    target_attempts: int = 0  # attempts on the current target: the next one's retry number
    first_token_ns: int = 0  # when the first chunk of a streamed answer went out
    state_token: "Token[RequestTrace | None] | None" = None


_current: ContextVar[RequestTrace | None] = ContextVar("vandamme_request_trace", default=None)


def begin_request(scope: Mapping[str, Any], request: "RequestScope") -> RequestTrace | None:
    if request.path not in DOOR_PATHS:
        return None
    carrier = {name.decode("latin-1"): value.decode("latin-1") for name, value in scope.get("headers", ())}
    parent = propagate.extract(carrier)  # an incoming traceparent, if any
    started_ns = time.time_ns()
    span = _live().tracer.start_span(
        f"{request.method} {request.path}",
        context=parent,
        kind=SpanKind.SERVER,
        start_time=started_ns,
        attributes={
            "http.request.method": request.method,
            "url.path": request.path,
            "gen_ai.operation.name": "chat",
            "vandamme.request_id": request.request_id,
        },
    )
    token = context.attach(trace.set_span_in_context(span, parent))
    traced = RequestTrace(span=span, started_ns=started_ns, context_token=token)
    traced.state_token = _current.set(traced)
    return traced


def end_request(traced: object, request: "RequestScope") -> None:
    assert isinstance(traced, RequestTrace)  # noqa: S101  (begin_request made it)
    span = traced.span
    usage = request.usage
    status = request.status
    span.set_attribute("http.response.status_code", status)
    failed = status
    if usage is not None:
        span.update_name(f"chat {usage.model_requested}")
        span.set_attributes(
            {
                "gen_ai.request.model": usage.model_requested,
                "gen_ai.response.model": usage.model_served,
                # All input, the cached part included (as the GenAI conventions count it);
                # usage records keep Anthropic's split, the uncached part alone.
                "gen_ai.usage.input_tokens": usage.input_tokens
                + usage.cached_tokens
                + usage.cache_write_tokens,
                "gen_ai.usage.output_tokens": usage.output_tokens,
                "gen_ai.usage.cache_read.input_tokens": usage.cached_tokens,
                "gen_ai.usage.cache_creation.input_tokens": usage.cache_write_tokens,
                "vandamme.provider": usage.provider,
                "vandamme.team": usage.team_name,
                "vandamme.streamed": usage.streamed,
            }
        )
        if usage.cost_usd is not None:
            span.set_attribute("vandamme.cost_usd", float(usage.cost_usd))
        if usage.status >= 400:  # a stream that failed after its 200 says so here
            failed = usage.status
    if traced.first_token_ns:
        _time_to_first_token(traced, traced.first_token_ns)
    if failed >= 400:
        span.set_attribute("error.type", str(failed))
    if failed >= 500:  # HTTP server spans: a 4xx is the client's error, not ours
        span.set_status(Status(StatusCode.ERROR, request.error or None))
    span.end()
    context.detach(traced.context_token)
    if traced.state_token is not None:
        _current.reset(traced.state_token)


def _all_input_tokens(usage: "UsageEvent") -> int:
    return usage.input_tokens + usage.cached_tokens + usage.cache_write_tokens


def note_first_token() -> None:
    traced = _current.get()
    if traced is not None and not traced.first_token_ns:
        traced.first_token_ns = time.time_ns()


def _time_to_first_token(traced: RequestTrace, first_token_ns: int) -> None:
    """A child span from the request's start to its first streamed chunk, and the same
    moment as an event on the request span (trace views show one or the other)."""
    seconds = (first_token_ns - traced.started_ns) / 1e9
    traced.span.set_attribute("gen_ai.server.time_to_first_token", seconds)
    attributes = {"gen_ai.server.time_to_first_token": seconds}
    traced.span.add_event("gen_ai.first_token", attributes, first_token_ns)
    child = _live().tracer.start_span(
        "time_to_first_token",
        context=trace.set_span_in_context(traced.span),
        start_time=traced.started_ns,
        attributes={"gen_ai.server.time_to_first_token": seconds},
    )
    child.end(end_time=first_token_ns)


def _ignore(_: object) -> None:
    """What a span's body tells its outcome to when no span was made."""


def gen_ai_system(provider: "ProviderConfig") -> str:
    return GEN_AI_SYSTEMS.get(provider.family, str(provider.family))


@contextlib.contextmanager
def resolution_span(model: str, shown: Callable[[str], str]) -> Iterator[Callable[["Resolution"], None]]:
    if _current.get() is None:  # count_tokens, say: no request span, no orphan children
        yield _ignore
        return
    attributes = {"gen_ai.request.model": shown(model)}
    with _live().tracer.start_as_current_span("vandamme.resolution", attributes=attributes) as span:

        def resolved(resolution: "Resolution") -> None:
            span.set_attributes(
                {
                    "gen_ai.system": gen_ai_system(resolution.provider),
                    "vandamme.provider": resolution.provider.name,
                    "vandamme.upstream_model": shown(resolution.upstream_model),
                    "vandamme.resolution.steps": len(resolution.steps),
                    "vandamme.fallbacks": list(resolution.fallbacks),
                }
            )

        yield resolved


@contextlib.contextmanager
def attempt_span(provider: "ProviderConfig", key: "KeyConfig") -> Iterator[Callable[[Any], None]]:
    """One upstream attempt: which key (its fingerprint, never the key), which retry of
    the target it serves, and for a fallback, which target."""
    traced = _current.get()
    if traced is None:
        yield _ignore
        return
    attributes: dict[str, Any] = {
        "gen_ai.system": gen_ai_system(provider),
        "vandamme.provider": provider.name,
        "vandamme.key.fingerprint": key.fingerprint,
        "server.address": urlsplit(provider.base_url).hostname or "",
    }
    retry = traced.target_attempts
    traced.target_attempts += 1
    attributes["vandamme.retry"] = retry
    if retry:
        attributes["http.request.resend_count"] = retry
    if traced.fallback:
        attributes["vandamme.fallback_target"] = traced.fallback
    name = f"upstream {provider.name}"
    with _live().tracer.start_as_current_span(name, kind=SpanKind.CLIENT, attributes=attributes) as span:
        yield lambda outcome: _attempt_outcome(span, outcome)


def _attempt_outcome(span: trace.Span, outcome: Any) -> None:
    """An opened response (its status), or a failure (``routing.failover._Failure``:
    the gateway's status for it, the client-safe message, and what came next)."""
    if isinstance(outcome, OpenedUpstream):
        span.set_attribute("http.response.status_code", outcome.response.status_code)
        return
    error = outcome.error
    span.set_attributes({"error.type": str(error.status), "vandamme.attempt.next": outcome.decision})
    span.set_status(Status(StatusCode.ERROR, error.message))  # scrubbed: a client may see it


def note_fallback(target: str) -> None:
    traced = _current.get()
    if traced is not None:
        traced.fallback = target
        traced.target_attempts = 0


def note_call(resolution: "Resolution | None", body: Mapping[str, Any]) -> None:
    traced = _current.get()
    if traced is None:
        return
    if resolution is not None:
        system = gen_ai_system(resolution.provider)
        traced.span.set_attributes({"gen_ai.system": system, "gen_ai.provider.name": system})
    if _live().capture_content:
        prompt = body.get("messages", body.get("input"))
        instructions = body.get("system", body.get("instructions"))
        texts = {"gen_ai.input.messages": prompt, "gen_ai.system_instructions": instructions}
        recorded = {key: _content_text(value) for key, value in texts.items() if value is not None}
        traced.span.set_attributes(recorded)


def note_answer(response: object) -> None:
    traced = _current.get()
    if traced is not None and _live().capture_content and isinstance(response, HttpResponse):
        text = response.content.decode("utf-8", "replace")
        traced.span.set_attribute("gen_ai.output.messages", _content_text(text))


def captured_stream(events: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    traced = _current.get()
    if traced is None or not _live().capture_content:
        return events
    return _recorded_stream(events, traced.span)


async def _recorded_stream(events: AsyncIterator[bytes], span: trace.Span) -> AsyncGenerator[bytes, None]:
    """The events passed on as they come; what was sent (the client's dialect, as
    server-sent events, up to ``CONTENT_MAX_CHARS``) is recorded when the stream ends."""
    kept: list[bytes] = []
    size = 0
    try:
        async for chunk in events:
            if size < CONTENT_MAX_CHARS:
                kept.append(chunk)
                size += len(chunk)
            yield chunk
    finally:
        span.set_attribute("gen_ai.output.messages", _content_text(b"".join(kept).decode("utf-8", "replace")))
        close = getattr(events, "aclose", None)
        if close is not None:
            await close()


def _content_text(value: object) -> str:
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    return scrub_secrets(text[:CONTENT_MAX_CHARS])
